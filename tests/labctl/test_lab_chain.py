"""The stages of `make lab` chained as the lab runs them: ingest -> train -> serve -> async ->
batch -> monitor, and the "where things are" block the lab ends with.

Each stage has its own tests; this one guards the hand-offs between them (what train registers
is what serve finds). The env-prefixed cloud group names once broke exactly this while every
other test passed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.stages import LabContext
from labctl.lab import ingest_stage, serve_stage, train_stage


def test_train_registers_what_serve_then_serves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = LabContext(profile="lab", workdir=tmp_path)
    assert "events" in ingest_stage(ctx)
    trained = train_stage(ctx)
    assert "xgboost" in trained
    # The run prints its bias figures, one line each, from the evaluation report it wrote.
    printed = capsys.readouterr().out.splitlines()
    for measure in ("CI ", "DPL", "AD "):
        assert sum(line.startswith(f"bias {measure}") for line in printed) == 1, measure
    report = ctx.results["train"].report_dir / "evaluation.json"  # type: ignore[attr-defined]
    import json

    section = json.loads(report.read_text())["bias"]
    assert abs(section["pretraining"]["CI"]) <= 0.5 and "AD" in section["xgboost"]
    served = serve_stage(ctx)
    # The serve stage invokes with boto3 and checks the study guide's first sample is a 6.
    assert "digits-xgboost v1" in served, served
    # ... and traces a captured prediction back to the events train read: all of Digits'
    # 1,797 rows (the study guide's data set size), through the version it just served.
    assert "lineage of captured" in served and "digits-xgboost v1 <- execution" in served
    assert served.split("; lineage", 1)[1].count("1797 event ID(s) in 1 raw object(s)") == 1
    # The async stage serves the same registered model through the queue (lab.async_stage).
    from labctl.lab import async_stage

    queued = async_stage(ctx)
    assert "equal to the real-time endpoint" in queued and "failure file" in queued, queued

    # Batch and monitor read what serve and train left (the approved model, the capture).
    from labctl.lab import _print_where, batch_stage, monitor_stage

    assert "all" in batch_stage(ctx)
    assert "drift kinds found" in monitor_stage(ctx)
    capsys.readouterr()
    _print_where(ctx)
    block = capsys.readouterr().out.split("where things are:\n", 1)[1]
    listed = {
        what.strip(): path.strip()
        for what, _, path in (
            line.partition(": ") for line in block.split("next:")[0].splitlines() if line.strip()
        )
    }
    # Every printed path exists, and the lab's products are all there.
    assert all(Path(path).exists() for path in listed.values()), listed
    for what in ("pipeline report", "capture", "drift picture", "raw events", "model registry"):
        assert what in listed, (what, listed)
    assert Path(listed["drift picture"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (Path(listed["pipeline report"]) / "run.json").is_file()
    assert any(Path(listed["capture"]).rglob("*.jsonl"))
    assert "make review" in block.split("next:")[1]  # no review page yet: how to get one


def test_the_lab_ends_by_saying_where_things_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`labctl lab` prints the block after its summary (one cheap stage here)."""
    from labctl.cli import main

    assert main(["lab", "--only", "ingest", "--workdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.index("lab complete:") < out.index("where things are:") < out.index("next:")
    (raw,) = [line for line in out.splitlines() if line.strip().startswith("raw events:")]
    assert raw.split(":", 1)[1].strip() == str(tmp_path / "lake" / "raw")
    assert "pipeline report" not in out  # not run, not listed
