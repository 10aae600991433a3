"""`labctl ingest --bad-batch` and the local run that follows it (issue 26, item 2): the bad
batch lands in the lab's raw zone unvalidated, and `labctl pipeline run --local` stops at the
data-quality gate in Preprocess, printing the report (constraint, observed, limit), with the
rows it did not keep in <workdir>/lake/quarantine/<execution id>/. End to end, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from labctl.cli import main
from ops.producer import read_lake


def test_bad_batch_is_written_unvalidated(tmp_path: Path) -> None:
    """600 events: 200 class-0 events twice (400), 150 with f5 = 99, 50 with a null pixel;
    the producer's own checks would reject 250 of them, so nothing may have filtered them."""
    argv = ["ingest", "--stream", "s", "--bad-batch", "--local-lake", "--workdir", str(tmp_path)]
    assert main(argv) == 0
    events = list(read_lake(tmp_path / "lake" / "raw"))
    ids = [e["event_id"] for e in events]
    assert len(events) == 600 and len(set(ids)) == 400
    assert sum(e["features"][5] == 99.0 for e in events) == 150
    assert sum(None in e["features"] for e in events) == 50


@pytest.mark.parametrize(
    "extra", [["--digits"], ["--drift", "shift=1"], ["--strict"], ["--limit", "3"]]
)
def test_bad_batch_refuses_options_that_would_change_it(
    tmp_path: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["ingest", "--stream", "s", "--bad-batch", "--local-lake", "--workdir", str(tmp_path)]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ("--bad-batch" in err[0] or "exactly one input" in err[0])


def test_the_next_local_run_stops_at_the_gate_with_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = ["--workdir", str(tmp_path)]
    assert main(["ingest", "--stream", "s", "--digits", "--local-lake", *work]) == 0
    assert main(["ingest", "--stream", "s", "--bad-batch", "--local-lake", *work]) == 0
    capsys.readouterr()
    code = main(["pipeline", "run", "--local", *work, "--param", "MaxTuningJobs=1"])
    out, err = capsys.readouterr()
    assert code == 1
    # the report names each violated constraint with what was observed and the limit
    for part in (
        "max_duplicate_share[event_id]: observed 0.0852",
        "limit 0.05",
        "value_ranges[f5]: observed {'min': 0.0, 'max': 99.0, 'rows_out_of_range': 150}",
        "max_rejected_share: observed 0.0834",
        "max_class_imbalance: observed 2.172",
        "limit 1.5",
    ):
        assert part in err, part
    steps = {
        line.split()[0]: line.split()[1]
        for line in out.splitlines()
        if line.startswith("  ") and len(line.split()) > 2
    }
    assert steps["Preprocess"] == "Failed"
    assert steps["Tune"] == steps["TrainBaseline"] == "NotExecuted"
    run = json.loads((tmp_path / "pipeline" / "report" / "run.json").read_text())
    (quarantine,) = (tmp_path / "lake" / "quarantine").iterdir()
    assert quarantine.name == run["execution_id"]
    assert len(pd.read_csv(quarantine / "rows.csv")) == 350
    assert len((quarantine / "rejected.jsonl").read_text().splitlines()) == 50
    report = json.loads(
        (
            tmp_path
            / "pipeline"
            / "latest"
            / "Preprocess"
            / run["execution_id"]
            / "data_quality"
            / "data_quality.json"
        ).read_text()
    )
    assert report["passed"] is False and len(report["violations"]) == 4
