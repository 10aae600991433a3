"""Shadow variant, locally: the production answer is returned, the shadow's captured, and the
report's agreement and confusion match the two models' own predictions (computed here with
xgboost directly, not through labctl)."""

from __future__ import annotations

import http.client
import random
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from lab.endpoint import EndpointSettings
from lab.endpoint.fixtures import train_xgboost
from lab.endpoint.shadow import ShadowEndpoint
from labctl.shadow import render
from ops.shadow_report import local_report

ROWS = 120


def _predict(archive: Path, x: np.ndarray) -> list[int]:
    import xgboost as xgb

    with tarfile.open(archive) as tar:
        handle = tar.extractfile("xgboost-model")
        assert handle is not None
        raw = handle.read()
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    return [int(p) for p in booster.predict(xgb.DMatrix(x))]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, np.ndarray]:
    """A strong champion and a one-round challenger: they disagree on some rows."""
    folder = tmp_path_factory.mktemp("models")
    x, y = load_digits(return_X_y=True)
    champion = train_xgboost(x[:1000], y[:1000], folder / "v1" / "model.tar.gz", rounds=20)
    challenger = train_xgboost(x[:200], y[:200], folder / "v2" / "model.tar.gz", rounds=1)
    return champion, challenger, x[1000 : 1000 + ROWS]


def _send(url: str, row: np.ndarray, inference_id: str | None = None) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=10)
    headers = {"Content-Type": "text/csv", "Accept": "text/csv"}
    if inference_id:
        headers["X-Amzn-SageMaker-Inference-Id"] = inference_id
    conn.request("POST", "/invocations", body=",".join(f"{v:g}" for v in row), headers=headers)
    response = conn.getresponse()
    body = response.read().decode().strip()
    conn.close()
    assert response.status == 200, body
    return body


def test_report_counts_disagreements_and_latency(
    models: tuple[Path, Path, np.ndarray], tmp_path: Path
) -> None:
    champion, challenger, rows = models
    prod, shad = _predict(champion, rows), _predict(challenger, rows)
    expected = Counter(zip(prod, shad, strict=True))
    disagreements = sum(n for (a, b), n in expected.items() if a != b)
    assert 0 < disagreements < ROWS  # the fixture is meaningful: they differ on some rows
    settings = EndpointSettings(
        kind="real_time", endpoint_name="lab-digits", model=champion, capture_dir=tmp_path / "cap"
    )
    with ShadowEndpoint(settings, challenger, metrics_dir=tmp_path / "metrics") as endpoint:
        answers = [
            _send(endpoint.url, row, f"ev-{i}" if i % 2 else None) for i, row in enumerate(rows)
        ]
    assert [int(a) for a in answers] == prod  # the client only ever sees production
    report = local_report(tmp_path / "cap", tmp_path / "metrics", "lab-digits")
    assert report["rows"] == ROWS and report["paired_requests"] == ROWS
    assert report["disagreements"] == disagreements
    assert report["agreement"] == round((ROWS - disagreements) / ROWS, 4)
    got = Counter(
        {(int(a), int(b)): n for a, row in report["confusion"].items() for b, n in row.items()}
    )
    assert got == expected
    assert report["latency"]["AllTraffic"]["count"] == ROWS
    assert report["latency"]["Shadow"]["count"] == ROWS
    assert report["latency"]["Shadow"]["p50_ms"] > 0
    text = render("lab-digits", report)
    assert f"{disagreements} disagreements" in text and "latency Shadow: p50" in text


def test_sampling_sends_a_share_to_the_shadow(
    models: tuple[Path, Path, np.ndarray], tmp_path: Path
) -> None:
    """30 % sampling: the unsampled requests are production-only, never lost or paired."""
    champion, challenger, rows = models
    settings = EndpointSettings(
        kind="real_time", endpoint_name="e", model=champion, capture_dir=tmp_path / "cap"
    )
    endpoint = ShadowEndpoint(settings, challenger, 30, rng=random.Random(7))
    with endpoint:
        for row in rows:
            _send(endpoint.url, row)
    report = local_report(tmp_path / "cap", tmp_path / "cap" / "metrics", "e")
    assert report["paired_requests"] == endpoint.shadow_invocations
    assert report["paired_requests"] + report["production_only"] == ROWS
    assert 0.15 * ROWS < endpoint.shadow_invocations < 0.45 * ROWS


def test_shadow_needs_real_time_and_capture(models: tuple[Path, Path, np.ndarray]) -> None:
    champion, challenger, _ = models
    with pytest.raises(ValueError, match="needs data capture"):
        ShadowEndpoint(EndpointSettings(kind="real_time", model=champion), challenger)


def test_serve_shadow_version_from_the_registry(tmp_path: Path) -> None:
    """`labctl serve --local --shadow-version N`: refusals are usage errors; version 1
    shadows version 2 and the report pairs every request."""
    from lab.endpoint.fixtures import build_registry
    from lab.endpoint.shadow import local_shadow_endpoint
    from lab.registry import settings_from_registry
    from ops.errors import UsageError

    build_registry(tmp_path, xgboost_versions=2)
    settings = settings_from_registry(
        tmp_path, "real_time", endpoint_name="lab-digits", capture_dir=tmp_path / "capture"
    )
    with pytest.raises(UsageError, match="no Approved version 9"):
        local_shadow_endpoint(tmp_path, settings, 9, 100)
    with pytest.raises(UsageError, match="--shadow-percent must be 1-100"):
        local_shadow_endpoint(tmp_path, settings, 1, 0)
    x, _ = load_digits(return_X_y=True)
    with local_shadow_endpoint(tmp_path, settings, 1, 100) as endpoint:
        for row in x[:10]:
            _send(endpoint.url, row)
    report = local_report(tmp_path / "capture", tmp_path / "metrics", "lab-digits")
    assert report["paired_requests"] == 10
