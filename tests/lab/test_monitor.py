"""The lab's monitor stage end to end on a quickly trained registry: real local endpoint,
real capture files, the drift job's verdicts, the heatmap and the local RetrainRequested."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.endpoint.fixtures import build_registry
from lab.monitor import DEFAULT_DRIFTS, lab_monitor
from model_code import monitoring_contract as contract
from ops.errors import OperationFailed
from tests.model_code.drift_fixture import baseline_doc


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    workdir = tmp_path_factory.mktemp("lab")
    registry_path = build_registry(workdir, xgboost_versions=1)
    registry = json.loads(registry_path.read_text())
    statistics = workdir / "baseline_statistics.json"
    statistics.write_text(baseline_doc(None))
    registry["groups"]["digits-xgboost"]["versions"][0]["drift_baseline"] = statistics.name
    registry_path.write_text(json.dumps(registry))
    line = lab_monitor(workdir, "lab-digits", 0.2, normal_rows=250, drift_rows=250)
    return workdir, line


def test_normal_traffic_is_not_drift_and_every_kind_is(monitored: tuple[Path, str]) -> None:
    workdir, line = monitored
    assert f"{len(DEFAULT_DRIFTS)}/{len(DEFAULT_DRIFTS)} drift kinds found" in line
    for name in ("normal", *DEFAULT_DRIFTS):
        report = json.loads((workdir / "monitor" / name / contract.REPORT_FILE).read_text())
        assert report["status"] == ("no_drift" if name == "normal" else "drift"), name
        assert report["model_version"] == 1 and report["samples"]["rows"] == 250
        png = workdir / "monitor" / name / "drift.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_quality_joins_the_late_labels(monitored: tuple[Path, str]) -> None:
    workdir, _ = monitored
    report = json.loads((workdir / "monitor" / "normal" / "quality_report.json").read_text())
    assert report["predictions"] == 250 and report["labeled"] == 200  # 80 % arrived
    assert report["label_coverage"] == 0.8 and report["accuracy"] > 0.8


def test_drift_emits_a_local_retrain_requested_event(monitored: tuple[Path, str]) -> None:
    workdir, _ = monitored
    (event,) = (workdir / "monitor" / "events").glob("retrain-requested-*.json")
    entry = json.loads(event.read_text())
    assert (entry["Source"], entry["DetailType"]) == ("mlops.platform", "RetrainRequested")
    detail = json.loads(entry["Detail"])
    assert detail["endpoint"] == "lab-digits" and detail["reason"].startswith("drift:")
    assert detail["metrics"]["DriftedFeatureShare"] >= 0.2


def test_a_version_without_baseline_fails_clearly(tmp_path: Path) -> None:
    build_registry(tmp_path, xgboost_versions=1)
    with pytest.raises(OperationFailed, match="version 1 has no drift baseline"):
        lab_monitor(tmp_path, "lab-digits", 0.2)
