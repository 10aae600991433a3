"""labctl serve: the cloud refusal, profile overrides, and the lab stage for every kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.endpoint import LocalEndpoint
from lab.endpoint.fixtures import build_registry
from lab.serve import lab_serve, plan_from_profile
from labctl import cli
from labctl.serve import CLOUD_MESSAGE
from ops.errors import UsageError


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lab")
    build_registry(path)
    return path


@pytest.fixture
def labctl():
    return cli.main  # the product's own command list, as `labctl` builds it


def test_serve_without_local_is_a_usage_error(labctl, capsys) -> None:
    assert labctl(["serve"]) == 2
    assert CLOUD_MESSAGE in capsys.readouterr().err


def test_plan_follows_the_profile_and_its_overrides() -> None:
    plan = plan_from_profile("lab", None, None)
    assert (plan.kind, plan.capture, plan.endpoint_name) == ("real_time", True, "lab-digits")
    assert plan_from_profile("lab", "serverless", None).capture is False
    assert plan_from_profile("lab", None, False).capture is False
    with pytest.raises(UsageError, match="serverless endpoints cannot capture"):
        plan_from_profile("lab", "serverless", True)
    with pytest.raises(UsageError, match="no profile 'nope'"):
        plan_from_profile("nope", None, None)


def test_serve_without_a_registry_says_what_to_run(labctl, tmp_path, capsys) -> None:
    assert labctl(["serve", "--local", "--workdir", str(tmp_path)]) == 2
    assert "labctl lab --only ingest,train" in capsys.readouterr().err


def test_serve_prints_url_kind_and_models_then_stops_on_ctrl_c(
    labctl, workdir, monkeypatch, capsys
) -> None:
    def interrupted(self: LocalEndpoint) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(LocalEndpoint, "serve_forever", interrupted)
    argv = ["serve", "--local", "--workdir", str(workdir), "--kind", "multi_model", "--no-capture"]
    assert labctl(argv) == 0
    out = capsys.readouterr().out
    assert "endpoint lab-digits (multi_model) at http://127.0.0.1:" in out
    assert "baseline-v1.tar.gz, xgboost-v1.tar.gz" in out
    assert "capture off" in out and "stopped after 0 invocations" in out


def test_serve_rejects_bad_numbers(labctl, workdir, capsys) -> None:
    assert labctl(["serve", "--local", "--workdir", str(workdir), "--port", "70000"]) == 2
    assert (
        labctl(
            [
                "serve",
                "--local",
                "--workdir",
                str(workdir),
                "--kind",
                "multi_model",
                "--max-models",
                "0",
            ]
        )
        == 2
    )
    assert "--max-models must be positive" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kind", "capture", "expect"),
    [
        ("real_time", True, "3 capture records"),
        ("serverless", False, "first test sample -> 6"),
        ("multi_model", True, "3 loads on first use, 2 LRU evictions (cap 1 model)"),
        ("multi_container", True, "from container xgboost, container baseline"),
    ],
)
def test_lab_serve(workdir: Path, kind: str, capture: bool, expect: str) -> None:
    line = lab_serve(workdir, kind, capture)
    assert line.startswith(f"{kind}: ") and expect in line
    assert "63-column row -> ModelError, still serving" in line


def test_lab_serve_refuses_serverless_capture(workdir: Path) -> None:
    with pytest.raises(UsageError, match="serverless endpoints cannot capture"):
        lab_serve(workdir, "serverless", True)
