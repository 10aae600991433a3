"""The lab stages' bookkeeping: approving only what this run registered, and pruning old runs'
outputs while their reports and registered artifacts stay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.registry import read_registry
from lab.stages import approve_registered, prune_executions


def _run(workdir: Path, execution: str, files: dict[str, bytes]) -> Path:
    run = workdir / "pipeline" / "executions" / execution
    for name, data in files.items():
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_bytes(data)
    (run / "report").mkdir(parents=True, exist_ok=True)
    (run / "report" / "run.json").write_text("{}")
    return run


def test_lab_approves_only_what_its_run_registered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = {
        "groups": {
            "g": {
                "versions": [
                    {"version": 1, "approval_status": "Rejected", "pipeline_execution": "a"},
                    {
                        "version": 2,
                        "approval_status": "PendingManualApproval",
                        "pipeline_execution": "b",
                    },
                    {
                        "version": 3,
                        "approval_status": "PendingManualApproval",
                        "pipeline_execution": "c",
                    },
                ]
            }
        }
    }
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "registry.json").write_text(json.dumps(registry))
    assert approve_registered(tmp_path, "c") == ["g v3"]
    statuses = [v["approval_status"] for v in read_registry(tmp_path)["groups"]["g"]["versions"]]
    assert statuses == ["Rejected", "PendingManualApproval", "Approved"]
    history = read_registry(tmp_path)["groups"]["g"]["versions"][2]["approval_history"]
    assert [(h["status"], h["by"]) for h in history] == [("Approved", "labctl lab")]
    assert "lab: approving g v3" in capsys.readouterr().out


def test_prune_keeps_newest_runs_reports_and_registered_artifacts(tmp_path: Path) -> None:
    lake = tmp_path / "lake" / "raw" / "events"
    lake.mkdir(parents=True)
    (lake / "e.gz").write_bytes(b"lake")
    runs = []
    for n in range(4):
        run = _run(
            tmp_path,
            f"local-2026120{n}T000000000000-0000000{n}",
            {"Tune/job/model.tar.gz": b"m", "Register/model.tar.gz": b"r"},
        )
        (run / "Preprocess").mkdir()
        (run / "Preprocess" / "raw").symlink_to(lake, target_is_directory=True)
        runs.append(run)
    registered = (runs[0] / "Register" / "model.tar.gz").relative_to(tmp_path)
    registry = {"groups": {"g": {"versions": [{"version": 1, "artifact": str(registered)}]}}}
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "registry.json").write_text(json.dumps(registry))
    _run(tmp_path, "local-20261209T000000000000-running", {})
    (tmp_path / "pipeline/executions/local-20261209T000000000000-running/report/run.json").unlink()

    assert prune_executions(tmp_path, keep=2) == 2
    assert not (runs[0] / "Tune" / "job" / "model.tar.gz").exists()
    assert (runs[0] / "Register" / "model.tar.gz").exists()  # registered: kept
    assert (runs[0] / "report" / "run.json").exists()  # history: kept
    assert not (runs[1] / "Register" / "model.tar.gz").exists()
    assert (runs[2] / "Tune" / "job" / "model.tar.gz").exists()  # among the newest two
    assert (lake / "e.gz").read_bytes() == b"lake"  # a symlink is removed, never followed
    assert prune_executions(tmp_path, keep=2) == 0  # already pruned
