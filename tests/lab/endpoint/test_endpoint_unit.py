"""The local endpoint without a socket: ``LocalEndpoint.invoke`` and its parts, in-process.

Seconds-fast and thread-free, so mutation testing (``make mutation``, module ``endpoint``) can
fork a worker per mutant. Oracles are independent of ``lab.endpoint``: the held-out
Digits labels (the fixture models train on the other 80 %), an XGBoost Booster loaded with
xgboost's own loader, and the literal status codes, error codes and record fields of the
SageMaker documentation (InvokeEndpoint errors, data capture records). The HTTP layer itself
is covered by test_serve_endpoint.py.
"""

from __future__ import annotations

import json
import os
import random
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lab.endpoint import (
    CaptureWriter,
    EndpointSettings,
    EndpointSetupError,
    LocalEndpoint,
    ModelCache,
    load_archive,
)
from lab.endpoint.fixtures import build_registry, copy_of_shared_registry
from lab.endpoint.models import ArchiveError
from lab.endpoint.server import (
    INFERENCE_ID,
    TARGET_CONTAINER,
    TARGET_MODEL,
)
from lab.registry import (
    mme_name,
    pick_version,
    populate_model_folder,
    read_registry,
    served_versions,
    settings_from_registry,
)
from ops.invoke import digits_test_rows
from ops.payload import (
    format_predictions,
    media_type,
    parse,
    parse_predictions,
    response_type,
)
from tests.lab.endpoint.oracles import booster_predictions

NAME = "unit-digits"
CSV = {"Content-Type": "text/csv"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lab registry of freshly trained models; its own copy for every test session.

    A mutation run (``ENDPOINT_FIXTURE_DIR``, set by tests/mutation/run.py inside its
    throwaway tree) trains once and copies, so no mutant pays ~10 s of training; the code
    that trains (fixtures.py, model_code) is never mutated there."""
    path = tmp_path_factory.mktemp("lab")
    shared = os.environ.get("ENDPOINT_FIXTURE_DIR")
    if shared:
        copy_of_shared_registry(path, Path(shared))
    else:
        build_registry(path)
    return path


@pytest.fixture(scope="module")
def held_out() -> tuple[np.ndarray, np.ndarray]:
    return digits_test_rows(360)


def csv_of(rows: np.ndarray) -> bytes:
    return "".join(",".join(str(int(v)) for v in row) + "\n" for row in rows).encode()


def endpoint_of(workdir: Path, kind: str, **overrides: Any) -> LocalEndpoint:
    """Never started: invoke() is called directly, no server thread, no socket."""
    return LocalEndpoint(settings_from_registry(workdir, kind, endpoint_name=NAME, **overrides))


def error(reply: Any) -> dict[str, Any]:
    body = json.loads(reply.body)
    return {"status": reply.status, "type": reply.headers.get("x-amzn-ErrorType"), **body}


# --- predictions against independent oracles ------------------------------------------------


def test_real_time_answers_the_held_out_labels_like_xgboosts_own_booster(
    workdir: Path, held_out: tuple[np.ndarray, np.ndarray]
) -> None:
    x, y = held_out
    endpoint = endpoint_of(workdir, "real_time")
    reply = endpoint.invoke(CSV, csv_of(x))
    assert reply.status == 200 and reply.content_type == "text/csv"
    predicted = [int(v) for v in reply.body.decode().split()]
    assert len(predicted) == len(y)
    assert np.mean(np.asarray(predicted) == y) >= 0.85  # a 10-round model on Digits
    # the newest Approved XGBoost version (v2), read without labctl
    registry = json.loads((workdir / "registry" / "registry.json").read_text())
    newest = max(registry["groups"]["digits-xgboost"]["versions"], key=lambda v: v["version"])
    assert predicted == booster_predictions(Path(newest["artifact"]), x).tolist()
    assert reply.headers == {"x-Amzn-Invoked-Production-Variant": "AllTraffic"}
    assert (endpoint.invocations, endpoint.errors) == (1, 0)


def test_json_in_json_out_and_accept_wins(workdir: Path, held_out) -> None:
    x, _ = held_out
    endpoint = endpoint_of(workdir, "serverless")
    body = json.dumps({"instances": x[:3].tolist()}).encode()
    reply = endpoint.invoke({"Content-Type": "application/json"}, body)
    assert reply.content_type == "application/json"
    expected = booster_predictions(endpoint.settings.model, x[:3]).tolist()  # type: ignore[arg-type]
    assert json.loads(reply.body) == {"predictions": expected}
    reply = endpoint.invoke({"Content-Type": "application/json", "Accept": "text/csv"}, body)
    assert reply.content_type == "text/csv"
    assert reply.body == "".join(f"{v}\n" for v in expected).encode()


def test_multi_container_routes_to_the_named_container(workdir: Path, held_out) -> None:
    x, y = held_out
    endpoint = endpoint_of(workdir, "multi_container")
    try:
        answers = {}
        for host in ("xgboost", "baseline"):
            reply = endpoint.invoke({**CSV, TARGET_CONTAINER: host}, csv_of(x))
            assert reply.status == 200, reply.body
            answers[host] = np.asarray([int(float(v)) for v in reply.body.decode().split()])
            assert np.mean(answers[host] == y) >= 0.75, host
        registry = json.loads((workdir / "registry" / "registry.json").read_text())
        newest = max(registry["groups"]["digits-xgboost"]["versions"], key=lambda v: v["version"])
        assert (
            answers["xgboost"].tolist() == booster_predictions(Path(newest["artifact"]), x).tolist()
        )
        assert (answers["xgboost"] != answers["baseline"]).sum() >= 3  # two different models
    finally:
        endpoint.stop()


def test_multi_model_serves_the_target_model_version(workdir: Path, held_out) -> None:
    x, _ = held_out
    endpoint = endpoint_of(workdir, "multi_model", max_models=2)
    registry = json.loads((workdir / "registry" / "registry.json").read_text())
    for version in registry["groups"]["digits-xgboost"]["versions"]:
        target = f"xgboost-v{version['version']}.tar.gz"  # the cloud release's names
        reply = endpoint.invoke({**CSV, TARGET_MODEL: target}, csv_of(x))
        assert reply.status == 200
        expected = booster_predictions(Path(version["artifact"]), x).tolist()
        assert [int(v) for v in reply.body.decode().split()] == expected, target
    assert endpoint.cache is not None and endpoint.cache.stats.loads == 2


# --- refusals: InvokeEndpoint's documented statuses and error codes -------------------------


def test_routing_headers_are_refused_where_the_kind_has_no_such_routing(workdir: Path) -> None:
    endpoint = endpoint_of(workdir, "real_time")
    body = csv_of(digits_test_rows(1)[0])
    model = error(endpoint.invoke({**CSV, TARGET_MODEL: "xgboost-v1.tar.gz"}, body))
    assert model["status"] == 400 and model["type"] == "ValidationError"
    assert model["ErrorCode"] == "TARGET_MODEL_HEADER_NOT_SUPPORTED"
    container = error(endpoint.invoke({**CSV, TARGET_CONTAINER: "xgboost"}, body))
    assert container["status"] == 400
    assert container["ErrorCode"] == "TARGET_CONTAINER_HOSTNAME_HEADER_NOT_SUPPORTED"
    assert (endpoint.invocations, endpoint.errors) == (0, 2)


def test_multi_model_and_multi_container_need_their_header(workdir: Path) -> None:
    body = csv_of(digits_test_rows(1)[0])
    mme = endpoint_of(workdir, "multi_model")
    missing = error(mme.invoke(CSV, body))
    assert (missing["status"], missing["ErrorCode"]) == (400, "MISSING_TARGET_MODEL_HEADER")
    unknown = error(mme.invoke({**CSV, TARGET_MODEL: "xgboost-v9.tar.gz"}, body))
    assert (unknown["status"], unknown["ErrorCode"]) == (404, "MODEL_NOT_FOUND")
    outside = error(mme.invoke({**CSV, TARGET_MODEL: "../registry/registry.json"}, body))
    assert (outside["status"], outside["ErrorCode"]) == (400, "INVALID_TARGET_MODEL")
    mce = endpoint_of(workdir, "multi_container")
    try:
        none = error(mce.invoke(CSV, body))
        assert none["ErrorCode"] == "MISSING_TARGET_CONTAINER_HOSTNAME_HEADER"
        assert "baseline, xgboost" in none["Message"]
        wrong = error(mce.invoke({**CSV, TARGET_CONTAINER: "champion"}, body))
        assert (wrong["status"], wrong["ErrorCode"]) == (404, "CONTAINER_NOT_FOUND")
        assert mce.model is None
    finally:
        mce.stop()


def test_endpoint_name_header_and_body_limits(workdir: Path) -> None:
    endpoint = endpoint_of(workdir, "real_time")
    body = csv_of(digits_test_rows(1)[0])
    assert endpoint.invoke(CSV, body, NAME).status == 200
    other = error(endpoint.invoke(CSV, body, "other"))
    assert (other["status"], other["ErrorCode"]) == (404, "ENDPOINT_NOT_FOUND")
    # Limits from the sagemaker-runtime API model: TargetModel 1024, hostname 63,
    # InferenceId 64 characters, a 6 MB real-time payload.
    assert endpoint.invoke({**CSV, INFERENCE_ID: "i" * 64}, body).status == 200
    long = error(endpoint.invoke({**CSV, INFERENCE_ID: "i" * 65}, body))
    assert (long["status"], long["ErrorCode"]) == (400, "HEADER_TOO_LONG")
    assert error(endpoint.invoke({**CSV, "Accept": "a" * 1025}, body))["status"] == 400
    big = error(endpoint.invoke(CSV, b" " * (6 * 1024 * 1024 + 1)))
    assert (big["status"], big["ErrorCode"]) == (413, "PAYLOAD_TOO_LARGE")
    at_limit = endpoint.invoke(CSV, body + b" " * (6 * 1024 * 1024 - len(body)))
    assert at_limit.status == 200
    assert (endpoint.invocations, endpoint.errors) == (3, 4)


def test_long_endpoint_names_are_refused_by_length(workdir: Path) -> None:
    endpoint = LocalEndpoint(settings_from_registry(workdir, "real_time", endpoint_name="e" * 64))
    body = csv_of(digits_test_rows(1)[0])
    refused = error(endpoint.invoke(CSV, body, "e" * 64))
    assert (refused["status"], refused["ErrorCode"]) == (400, "INVALID_ENDPOINT_NAME")


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({"Content-Type": "text/plain"}, b"1", 415, "CLIENT_ERROR_FROM_MODEL"),
        ({}, b"1", 415, "CLIENT_ERROR_FROM_MODEL"),
        ({**CSV, "Accept": "image/png"}, b"1", 406, "CLIENT_ERROR_FROM_MODEL"),
        (CSV, b"1,2,3\n", 400, "CLIENT_ERROR_FROM_MODEL"),
        (CSV, b"", 400, "CLIENT_ERROR_FROM_MODEL"),
        ({"Content-Type": "application/json"}, b'{"rows": []}', 400, "CLIENT_ERROR_FROM_MODEL"),
    ],
)
def test_payloads_the_container_refuses_are_model_errors(
    workdir: Path, headers: dict[str, str], body: bytes, status: int, code: str
) -> None:
    """SageMaker wraps a container's 4xx as ModelError with the container's status."""
    refused = error(endpoint_of(workdir, "real_time").invoke(headers, body))
    assert refused["type"] == "ModelError"
    assert refused["status"] == refused["OriginalStatusCode"] == status
    assert refused["ErrorCode"] == code
    assert refused["Message"].startswith(f"Received client error ({status}) from model")


def test_a_model_that_raises_is_a_424_model_error(workdir: Path) -> None:
    endpoint = endpoint_of(workdir, "real_time")
    assert endpoint.model is not None

    class Broken:
        def inplace_predict(self, rows: np.ndarray) -> None:
            raise RuntimeError("boom")

    endpoint.model.predictor = Broken()
    refused = error(endpoint.invoke(CSV, csv_of(digits_test_rows(1)[0])))
    assert (refused["status"], refused["type"]) == (424, "ModelError")
    assert refused["OriginalStatusCode"] == 500
    assert refused["ErrorCode"] == "SERVER_ERROR_FROM_MODEL"
    assert refused["OriginalMessage"] == "RuntimeError: boom"
    assert refused["Message"] == (
        'Received server error (500) from primary with message "RuntimeError: boom"'
    )


def test_a_container_5xx_is_a_server_error_from_model() -> None:
    """InvokeEndpoint's ModelError names the container's status class in its ErrorCode."""
    from ops.payload import payload_error

    for status, kind in ((499, "client"), (500, "server"), (503, "server")):
        err = payload_error("busy", status)
        assert err.status == err.body()["OriginalStatusCode"] == status
        assert err.error_code == f"{kind.upper()}_ERROR_FROM_MODEL"
        assert err.message == f'Received {kind} error ({status}) from model with message "busy"'


# --- capture through invoke -------------------------------------------------------------------


def test_invoke_captures_answered_requests_only(workdir: Path, tmp_path: Path) -> None:
    endpoint = endpoint_of(workdir, "real_time", capture_dir=tmp_path)
    row = csv_of(digits_test_rows(1)[0])
    assert endpoint.invoke({**CSV, INFERENCE_ID: "req-7"}, row).status == 200
    assert endpoint.invoke(CSV, b"not numbers").status == 400
    endpoint.stop()
    (path,) = tmp_path.rglob("*.jsonl")
    assert path.relative_to(tmp_path).parts[:2] == (NAME, "AllTraffic")
    (line,) = path.read_text().splitlines()
    record = json.loads(line)
    assert record["captureData"]["endpointInput"]["data"] == row.decode()
    assert record["captureData"]["endpointOutput"] == {
        "observedContentType": "text/csv",
        "mode": "OUTPUT",
        "data": "6\n",  # the first held-out row is a 6
        "encoding": "CSV",
    }
    assert record["eventMetadata"]["inferenceId"] == "req-7"


def test_capture_writer_rejects_bad_percent_and_names_files_by_first_record(
    tmp_path: Path,
) -> None:
    for bad in (-1, 101):
        with pytest.raises(ValueError, match="0-100"):
            CaptureWriter(tmp_path, NAME, sampling_percent=bad)
    everything = CaptureWriter(tmp_path, NAME, sampling_percent=100, rng=random.Random(1))
    assert all(everything.sampled() for _ in range(200))
    when = datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)
    assert everything.capture("text/csv", b"\xff", "text/csv", b"6\n", when=when)
    everything.capture("text/csv", b"1", "text/csv", b"6\n", when=when.replace(minute=59))
    everything.close()
    assert len(everything.files) == 1 and everything.records == 2
    assert everything.files[0].name.startswith("06-07-891-")
    lines = everything.files[0].read_text().splitlines()
    first = json.loads(lines[0])["captureData"]["endpointInput"]
    assert (first["encoding"], first["data"]) == ("BASE64", "/w==")  # not UTF-8: base64
    assert '", "' not in lines[0] and '": ' not in lines[0]  # compact: one short line each


# --- payload parsing and formatting --------------------------------------------------------


def test_media_type_and_response_type() -> None:
    assert media_type(" Text/CSV ; charset=utf-8") == "text/csv"
    assert media_type(None) == ""
    assert response_type(None, "application/json") == "application/json"
    assert response_type(None, "text/plain") == "text/csv"
    assert response_type("*/*", "application/json") == "application/json"
    assert response_type("text/*", "image/png") == "text/csv"
    assert response_type("image/png, application/json", "text/csv") == "application/json"


def test_json_refusals_name_the_row_and_column() -> None:
    from ops.payload import InvocationError

    rows = [[1] * 64, [1] * 63 + [True]]
    with pytest.raises(InvocationError) as err:
        parse("application/json", json.dumps({"instances": rows}).encode())
    assert err.value.detail == "row 2, column 64: true is not a number"


def test_parse_accepts_the_documented_shapes_and_nan() -> None:
    row = [float(i) for i in range(64)]
    for body in (
        {"instances": [row]},
        {"instances": [{"features": row}]},
        {"features": row},
    ):
        parsed = parse("application/json", json.dumps(body).encode())
        assert parsed.shape == (1, 64) and parsed[0].tolist() == row
    csv = ",".join(["nan", *map(str, row[1:])]).encode() + b"\n\n"
    parsed = parse("text/csv; charset=utf-8", csv)
    assert parsed.shape == (1, 64) and np.isnan(parsed[0, 0]) and parsed[0, 63] == 63.0


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("text/csv", b"\xff\xfe", "not UTF-8"),
        ("text/csv", ",".join(["1"] * 63 + ["x"]).encode(), "row 1, column 64: 'x' is not"),
        ("text/csv", ",".join(["1"] * 63 + ["inf"]).encode(), "infinite"),
        ("application/json", b"  ", "empty body"),
        ("application/json", b"{", "not valid JSON"),
        ("application/json", b"[" * 100000, "nested too deeply"),
        ("application/json", b'{"instances": []}', "non-empty list"),
        ("application/json", b'{"instances": [{"x": 1}]}', "without 'features'"),
        ("application/json", b'{"instances": ["row"]}', "not a list of 64"),
        ("application/json", b'{"instances": [[1, 2]]}', "row 1 has 2 values"),
        ("application/json", json.dumps({"features": [True] * 64}).encode(), "is not a number"),
        ("application/json", json.dumps({"features": [1e999] * 64}).encode(), "infinite"),
        (
            "application/json",
            ('{"features": [' + ",".join(["1" * 400] * 64) + "]}").encode(),
            "out of range",
        ),
    ],
)
def test_parse_refusals_say_what_is_wrong(content_type: str, body: bytes, message: str) -> None:
    from ops.payload import InvocationError

    with pytest.raises(InvocationError) as err:
        parse(content_type, body)
    assert message in err.value.detail
    assert err.value.status == 400 and err.value.code == "ModelError"


def test_predictions_round_trip_through_both_formats() -> None:
    values = [6.0, 9.0, 0.25]
    assert format_predictions(values, "text/csv") == b"6\n9\n0.25\n"
    assert format_predictions(values, "application/json") == b'{"predictions": [6, 9, 0.25]}'
    # and the SageMaker XGBoost container's own shapes
    assert parse_predictions(b"6.0,9.0\n", "text/csv") == [6, 9]
    assert parse_predictions(b"6\n9\n0.25\n", "text/csv") == [6, 9, 0.25]  # one per line
    assert parse_predictions(b'{"predictions": [{"score": 6.0}]}', None) == [6]
    assert parse_predictions(b'{"predictions": [{"predicted_label": 3}]}', None) == [3]
    assert parse_predictions(b"[1.5]", "application/json") == [1.5]


# --- archives and the multi-model cache -----------------------------------------------------


def test_archives_load_by_framework_and_bad_ones_are_refused(workdir: Path, tmp_path: Path) -> None:
    registry = json.loads((workdir / "registry" / "registry.json").read_text())
    xgb_path = Path(registry["groups"]["digits-xgboost"]["versions"][0]["artifact"])
    model = load_archive(xgb_path)
    assert (model.framework, model.name) == ("xgboost", "model.tar.gz")
    with tarfile.open(xgb_path) as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        assert model.size_bytes == len(member.read())
    baseline = load_archive(
        Path(registry["groups"]["digits-baseline"]["versions"][0]["artifact"]), "b"
    )
    assert (baseline.framework, baseline.name) == ("sklearn", "b")
    empty = tmp_path / "empty.tar.gz"
    with tarfile.open(empty, "w:gz"):
        pass
    with pytest.raises(ArchiveError, match="holds neither xgboost-model nor model.joblib"):
        load_archive(empty)
    (tmp_path / "junk.tar.gz").write_bytes(b"junk")
    with pytest.raises(ArchiveError, match="not a readable model.tar.gz"):
        load_archive(tmp_path / "junk.tar.gz")


def _folder(workdir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    registry = read_registry(workdir)
    populate_model_folder(registry, folder)
    return folder


def test_cache_evicts_the_least_recently_used(workdir: Path, tmp_path: Path) -> None:
    folder = _folder(workdir, tmp_path)
    cache = ModelCache(folder, max_models=2)
    assert cache.get("xgboost-v1.tar.gz")[1] is True
    assert cache.get("xgboost-v2.tar.gz")[1] is True
    assert cache.get("xgboost-v1.tar.gz")[1] is False  # a hit: v1 is now the newest used
    cache.get("baseline-v1.tar.gz")
    assert cache.loaded() == ["xgboost-v1.tar.gz", "baseline-v1.tar.gz"]
    assert cache.stats.evicted == ["xgboost-v2.tar.gz"]
    assert (cache.stats.loads, cache.stats.hits) == (3, 1)
    assert set(cache.stats.load_seconds) == {
        "xgboost-v1.tar.gz",
        "xgboost-v2.tar.gz",
        "baseline-v1.tar.gz",
    }
    assert cache.available() == ["baseline-v1.tar.gz", "xgboost-v1.tar.gz", "xgboost-v2.tar.gz"]


def test_cache_byte_budget_keeps_at_least_the_newest(workdir: Path, tmp_path: Path) -> None:
    folder = _folder(workdir, tmp_path)
    one = ModelCache(folder, max_bytes=1)  # smaller than any model: each served, alone
    one.get("xgboost-v1.tar.gz")
    one.get("xgboost-v2.tar.gz")
    assert one.loaded() == ["xgboost-v2.tar.gz"]
    sizes = {name: load_archive(folder / name).size_bytes for name in one.available()}
    both = sizes["xgboost-v1.tar.gz"] + sizes["xgboost-v2.tar.gz"]
    exact = ModelCache(folder, max_bytes=both)  # exactly at the budget: both stay
    exact.get("xgboost-v1.tar.gz")
    exact.get("xgboost-v2.tar.gz")
    assert exact.loaded() == ["xgboost-v1.tar.gz", "xgboost-v2.tar.gz"]
    unlimited = ModelCache(folder)
    for name in sizes:
        unlimited.get(name)
    assert len(unlimited.loaded()) == 3


def test_cache_refuses_a_corrupt_archive_as_a_validation_error(tmp_path: Path) -> None:
    from ops.payload import InvocationError

    (tmp_path / "bad.tar.gz").write_bytes(b"junk")
    with pytest.raises(InvocationError) as err:
        ModelCache(tmp_path).get("bad.tar.gz")
    assert (err.value.status, err.value.error_code) == (400, "INVALID_MODEL_ARCHIVE")
    with pytest.raises(InvocationError) as err:
        ModelCache(tmp_path).get(" ")
    assert (err.value.status, err.value.code, err.value.error_code) == (
        400,
        "ValidationError",
        "INVALID_TARGET_MODEL",
    )
    assert "must be a path inside the model folder" in err.value.message
    with pytest.raises(InvocationError) as err:
        ModelCache(tmp_path).get("/etc/passwd")
    assert err.value.error_code == "INVALID_TARGET_MODEL"


# --- the registry decides what is served ----------------------------------------------------


def _versions(*statuses: str) -> dict[str, Any]:
    return {
        "groups": {
            "g": {
                "versions": [
                    {"version": i, "approval_status": s} for i, s in enumerate(statuses, start=1)
                ]
            }
        }
    }


def test_pick_version_is_the_newest_approved_then_pending_never_rejected() -> None:
    registry = _versions("Approved", "Approved", "PendingManualApproval", "Rejected")
    assert pick_version(registry, "g")["version"] == 2
    assert pick_version(registry, "g", allow_pending=True)["version"] == 2
    pending = _versions("Rejected", "PendingManualApproval", "PendingManualApproval", "Rejected")
    assert pick_version(pending, "g", allow_pending=True)["version"] == 3
    with pytest.raises(EndpointSetupError, match="no Approved version of g .*v4 Rejected"):
        pick_version(pending, "g")
    with pytest.raises(EndpointSetupError, match="no Approved version"):
        pick_version(_versions("Rejected"), "g", allow_pending=True)
    with pytest.raises(EndpointSetupError, match="no versions of h"):
        pick_version(pending, "h")


def test_served_versions_by_kind(workdir: Path) -> None:
    registry = read_registry(workdir)
    assert [(g, v["version"]) for g, v in served_versions(registry, "real_time")] == [
        ("digits-xgboost", 2)
    ]
    assert [(g, v["version"]) for g, v in served_versions(registry, "multi_container")] == [
        ("digits-xgboost", 2),
        ("digits-baseline", 1),
    ]
    assert [(g, v["version"]) for g, v in served_versions(registry, "multi_model")] == [
        ("digits-baseline", 1),
        ("digits-xgboost", 1),
        ("digits-xgboost", 2),
    ]
    with pytest.raises(EndpointSetupError, match="unknown serving kind 'batch'"):
        served_versions(registry, "batch")
    with pytest.raises(EndpointSetupError, match="unknown serving kind 'batch'"):
        settings_from_registry(workdir, "batch")


def test_pending_versions_are_served_only_when_asked() -> None:
    def version(n: int, status: str) -> dict[str, Any]:
        return {"version": n, "approval_status": status}

    registry = {
        "groups": {
            "digits-xgboost": {
                "versions": [version(1, "Approved"), version(2, "PendingManualApproval")]
            },
            "digits-baseline": {"versions": [version(1, "PendingManualApproval")]},
        }
    }

    def served(kind: str, **pending: bool) -> list[tuple[str, int]]:
        return [(g, v["version"]) for g, v in served_versions(registry, kind, **pending)]

    for kind in ("real_time", "serverless"):
        assert served(kind) == served(kind, allow_pending=True) == [("digits-xgboost", 1)]
    assert served("multi_model") == [("digits-xgboost", 1)]
    assert served("multi_model", allow_pending=True) == [
        ("digits-baseline", 1),
        ("digits-xgboost", 1),
        ("digits-xgboost", 2),
    ]
    with pytest.raises(EndpointSetupError, match="no Approved version of digits-baseline"):
        served("multi_container")
    assert served("multi_container", allow_pending=True) == [
        ("digits-xgboost", 1),
        ("digits-baseline", 1),
    ]


def test_model_folder_follows_approvals(workdir: Path, tmp_path: Path) -> None:
    registry = read_registry(workdir)
    folder = tmp_path / "models"
    names = populate_model_folder(registry, folder)
    assert names == ["baseline-v1.tar.gz", "xgboost-v1.tar.gz", "xgboost-v2.tar.gz"]
    assert mme_name("digits-xgboost", 2) == "xgboost-v2.tar.gz"
    assert mme_name("other", "3") == "other-v3.tar.gz"
    source = Path(registry["groups"]["digits-xgboost"]["versions"][0]["artifact"])
    assert (folder / "xgboost-v1.tar.gz").read_bytes() == source.read_bytes()
    registry["groups"]["digits-xgboost"]["versions"][0]["approval_status"] = "Rejected"
    assert populate_model_folder(registry, folder) == ["baseline-v1.tar.gz", "xgboost-v2.tar.gz"]
    assert not (folder / "xgboost-v1.tar.gz").exists()
    for group in registry["groups"].values():
        for version in group["versions"]:
            version["approval_status"] = "PendingManualApproval"
    with pytest.raises(EndpointSetupError, match="holds no Approved model versions"):
        populate_model_folder(registry, tmp_path / "none")
    assert len(populate_model_folder(registry, tmp_path / "pending", allow_pending=True)) == 3


def test_settings_name_the_registered_artifacts(workdir: Path, tmp_path: Path) -> None:
    registry = json.loads((workdir / "registry" / "registry.json").read_text())
    artifact = {
        g: {v["version"]: Path(v["artifact"]) for v in e["versions"]}
        for g, e in registry["groups"].items()
    }
    real_time = settings_from_registry(workdir, "real_time", endpoint_name="x", port=5)
    assert (real_time.model, real_time.endpoint_name, real_time.port) == (
        artifact["digits-xgboost"][2],
        "x",
        5,
    )
    mce = settings_from_registry(workdir, "multi_container")
    assert mce.containers == {
        "xgboost": artifact["digits-xgboost"][2],
        "baseline": artifact["digits-baseline"][1],
    }
    assert mce.container_env["baseline"]["SAGEMAKER_PROGRAM"] == "baseline_inference.py"
    assert mce.container_env["xgboost"] == {}
    mme = settings_from_registry(workdir, "multi_model")
    assert mme.model_folder == workdir / "serving" / "models"
    with pytest.raises(EndpointSetupError, match="no local registry at"):
        read_registry(tmp_path)
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "registry.json").write_text("[]")
    with pytest.raises(EndpointSetupError, match="not a model registry"):
        read_registry(tmp_path)
    missing = _versions("Approved")
    missing["groups"]["digits-xgboost"] = missing["groups"].pop("g")
    (tmp_path / "registry" / "registry.json").write_text(json.dumps(missing))
    with pytest.raises(EndpointSetupError, match="artifact .* is missing"):
        settings_from_registry(tmp_path, "real_time")


def test_setup_refuses_what_cannot_be_served(tmp_path: Path) -> None:
    with pytest.raises(EndpointSetupError, match="kind must be one of"):
        LocalEndpoint(EndpointSettings(kind="batch"))
    with pytest.raises(EndpointSetupError, match="needs a model archive"):
        LocalEndpoint(EndpointSettings(kind="serverless"))
    with pytest.raises(EndpointSetupError, match="needs containers"):
        LocalEndpoint(EndpointSettings(kind="multi_container"))
    with pytest.raises(EndpointSetupError, match="needs a model folder"):
        LocalEndpoint(EndpointSettings(kind="multi_model", model_folder=tmp_path / "none"))
    (tmp_path / "junk.tar.gz").write_bytes(b"junk")
    with pytest.raises(EndpointSetupError, match="not a readable model.tar.gz"):
        LocalEndpoint(EndpointSettings(kind="real_time", model=tmp_path / "junk.tar.gz"))


def test_describe_names_what_is_served(workdir: Path) -> None:
    assert endpoint_of(workdir, "real_time").describe().startswith("model: xgboost from ")
    mme = endpoint_of(workdir, "multi_model", max_models=2, max_bytes=10)
    assert mme.describe() == (
        "target models (max 2 models, max 10 bytes): "
        "baseline-v1.tar.gz, xgboost-v1.tar.gz, xgboost-v2.tar.gz"
    )
    assert (
        endpoint_of(workdir, "multi_model", max_models=None)
        .describe()
        .startswith("target models (no cache limit): ")
    )
    bytes_only = endpoint_of(workdir, "multi_model", max_models=None, max_bytes=9)
    assert bytes_only.describe().startswith("target models (max 9 bytes): ")
    mce = endpoint_of(workdir, "multi_container")
    try:
        assert mce.describe() == (
            "containers: xgboost (xgboost, model.tar.gz), baseline (sklearn, model.tar.gz)"
        )
    finally:
        mce.stop()
    with pytest.raises(RuntimeError, match="not started"):
        _ = mce.url


def test_capture_record_fields_as_sagemaker_writes_them() -> None:
    """The record of SageMaker's data capture documentation: CSV and JSON as text, anything
    else base64 (even when it is valid UTF-8); eventId, inferenceId, inferenceTime."""
    from lab.endpoint import capture_record

    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    record = capture_record(
        "application/json", b'{"features": [1]}', "application/x-npy", b"abc", when, "i-1", "e-1"
    )
    assert record == {
        "captureData": {
            "endpointInput": {
                "observedContentType": "application/json",
                "mode": "INPUT",
                "data": '{"features": [1]}',
                "encoding": "JSON",
            },
            "endpointOutput": {
                "observedContentType": "application/x-npy",
                "mode": "OUTPUT",
                "data": "YWJj",
                "encoding": "BASE64",
            },
        },
        "eventMetadata": {
            "eventId": "e-1",
            "inferenceId": "i-1",
            "inferenceTime": "2026-01-02T03:04:05Z",
        },
        "eventVersion": "0",
    }
    untyped = capture_record(None, b"1", "text/csv", b"6\n", when)["captureData"]["endpointInput"]
    assert untyped == {
        "observedContentType": "",
        "mode": "INPUT",
        "data": "MQ==",
        "encoding": "BASE64",
    }


def test_routing_refusals_are_validation_errors(workdir: Path) -> None:
    """The front door's refusals are ValidationError (botocore's error type), never ModelError."""
    body = csv_of(digits_test_rows(1)[0])
    real_time, mme = endpoint_of(workdir, "real_time"), endpoint_of(workdir, "multi_model")
    refusals = [
        real_time.invoke({**CSV, TARGET_MODEL: "xgboost-v1.tar.gz"}, body),
        real_time.invoke({**CSV, TARGET_CONTAINER: "xgboost"}, body),
        real_time.invoke(CSV, body, "other"),
        real_time.invoke({**CSV, INFERENCE_ID: "i" * 65}, body),
        real_time.invoke(CSV, b" " * (6 * 1024 * 1024 + 1)),
        mme.invoke(CSV, body),
    ]
    for reply in refusals:
        assert reply.headers == {"x-amzn-ErrorType": "ValidationError"}, reply.body
    assert [r.status for r in refusals] == [400, 400, 404, 400, 413, 400]
    # an endpoint name of exactly 63 characters is valid
    named = LocalEndpoint(settings_from_registry(workdir, "real_time", endpoint_name="e" * 63))
    assert named.invoke(CSV, body, "e" * 63).status == 200


def test_an_entry_point_with_model_fn_only_gets_the_containers_defaults(
    workdir: Path, tmp_path: Path
) -> None:
    """Without input_fn/predict_fn/output_fn the container parses the payload, calls
    model.predict and answers in the Accept type (sagemaker-scikit-learn-container)."""
    import io

    import joblib
    from sklearn.naive_bayes import GaussianNB

    from lab.endpoint.entry_point import EntryPointModel, load_container

    x, y = digits_test_rows(360)
    model = GaussianNB().fit(x, y)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    script = (
        b"import joblib, os\n"
        b"def model_fn(d):\n"
        b"    return joblib.load(os.path.join(d, 'm.joblib'))\n"
    )
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in (("m.joblib", buffer.getvalue()), ("code/serve.py", script)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    env = {"SAGEMAKER_PROGRAM": "serve.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
    loaded = load_container(archive, env, "plain")
    assert isinstance(loaded, EntryPointModel)
    try:
        expected = model.predict(x[:3]).astype(int).tolist()  # scikit-learn's own answer
        body, kind = loaded.handle(csv_of(x[:3]), "text/csv", "application/json")
        assert kind == "application/json"
        assert json.loads(body) == {"predictions": expected}
        body, kind = loaded.handle(csv_of(x[:3]), "text/csv", None)
        assert (body, kind) == ("".join(f"{v}\n" for v in expected).encode(), "text/csv")
    finally:
        loaded.close()


def test_concurrent_first_requests_load_a_model_once(workdir: Path, tmp_path: Path) -> None:
    import threading

    folder = _folder(workdir, tmp_path)
    cache = ModelCache(folder)
    start = threading.Barrier(6)
    results: list[bool] = []

    def first_request() -> None:
        start.wait()
        results.append(cache.get("xgboost-v1.tar.gz")[1])

    threads = [threading.Thread(target=first_request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [False] * 5 + [True]  # one cold start, five served from cache
    assert (cache.stats.loads, cache.stats.hits) == (1, 5)
