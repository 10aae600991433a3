"""The data-quality gate inside preprocess.py (issue 26): a fixture with one known violation
is reported as exactly that constraint, quarantined rows are written (never dropped), and a
failed gate exits 1 with the report's line on stderr and in the job's ExitMessage file.

Expected figures are counted by hand from the fixtures; the Digits class counts (178, 182,
177, 183, 181, 182, 181, 179, 174, 180) are the dataset's published ones (scikit-learn's
Digits description), not read back from the code under test."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from model_code import preprocess
from ops.producer import bad_batch_events
from pipelines.data_quality_gate import GateLimits
from tests.pipelines.lake_fixture import digits_events, write_events

DIGITS_CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
LOOSE = dict(  # every other limit far from the fixture's figures
    min_rows=1,
    max_rejected_share=1.0,
    max_missing_share=1.0,
    feature_range=(-1e9, 1e9),
    max_duplicate_share=1.0,
    min_class_count=0,
    max_class_imbalance=1e9,
)


def _gate(tmp_path: Path, events: list, **limits: object) -> dict:
    write_events(tmp_path / "raw", events)
    constraints = preprocess.digits_constraints(**{**LOOSE, **limits})
    with pytest.raises(preprocess.DataQualityFailed):
        preprocess.preprocess(tmp_path / "raw", tmp_path / "out", constraints=constraints)
    return json.loads((tmp_path / "out" / "data_quality" / "data_quality.json").read_text())


def test_a_duplicate_share_over_its_limit_is_the_one_violation_named(tmp_path: Path) -> None:
    """300 events + later copies of 20 of them: 20 duplicates / 320 rows = 0.0625 > 0.05.
    Only max_duplicate_share is named, and the 20 copies are quarantined with their reason."""
    events = digits_events(300)
    report = _gate(tmp_path, events + [dict(e) for e in events[:20]], max_duplicate_share=0.05)
    assert [v["constraint"] for v in report["violations"]] == ["max_duplicate_share"]
    assert report["violations"][0]["observed"] == pytest.approx(20 / 320)
    assert report["violations"][0]["limit"] == 0.05
    assert report["summary"].startswith("data quality: max_duplicate_share[event_id]: observed")
    rows = pd.read_csv(tmp_path / "out" / "quarantine" / "rows.csv")
    assert len(rows) == 20 and rows["reasons"].str.startswith("duplicate event_id").all()
    assert not (tmp_path / "out" / "train").exists()  # nothing past the gate ran


def test_an_out_of_range_pixel_is_the_one_violation_named(tmp_path: Path) -> None:
    """Pixel f5 = 99 in 3 of 300 events: value_ranges[f5] only (max 99, 3 rows out)."""
    events = digits_events(300)
    for e in events[10:13]:
        e["features"][5] = 99.0
    report = _gate(tmp_path, events, feature_range=(0.0, 16.0))
    assert [(v["constraint"], v["subject"]) for v in report["violations"]] == [
        ("value_ranges", "f5")
    ]
    assert report["violations"][0]["observed"]["rows_out_of_range"] == 3
    assert report["violations"][0]["limit"] == [0.0, 16.0]


def test_a_missing_class_is_named_by_min_class_count(tmp_path: Path) -> None:
    """Drop every 7 from 300 events: class 7 has 0 rows < 1; nothing else is violated (the
    imbalance limit is left out: an empty class makes any ratio unbounded)."""
    events = [e for e in digits_events(300) if e["label"] != 7]
    report = _gate(tmp_path, events, min_class_count=1, max_class_imbalance=None)
    assert [(v["constraint"], v["subject"], v["observed"]) for v in report["violations"]] == [
        ("min_class_count", "class 7", 0)
    ]


def test_the_lab_digits_data_passes_the_default_limits(tmp_path: Path) -> None:
    """The defaults are ones the lab's real data (all 1,797 Digits events) holds; the run
    goes on to write the splits, and nothing is quarantined."""
    write_events(tmp_path / "raw", digits_events())
    counts = preprocess.preprocess(
        tmp_path / "raw",
        tmp_path / "out",
        constraints=preprocess.digits_constraints(**GateLimits().limits()),
    )
    report = json.loads((tmp_path / "out" / "data_quality" / "data_quality.json").read_text())
    assert report["passed"] and report["violations"] == []
    assert report["observed"]["class_counts"] == {
        str(c): n for c, n in enumerate(DIGITS_CLASS_COUNTS)
    }
    assert counts["train"] + counts["validation"] + counts["test"] == 1797
    assert not (tmp_path / "out" / "quarantine" / "rows.csv").exists()


def test_the_bad_batch_breaks_exactly_the_constraints_it_plants(tmp_path: Path) -> None:
    """Digits (1,797) + the bad batch: 200 class-0 events sent twice, 150 with f5 = 99, 50
    with a null pixel (schema-rejected). Records 1797 + 400 + 150 + 50 = 2397; rows 2347.
    duplicate share 200 / 2347; rejected share (50 + 150) / 2397; class 0 keeps 178 + 200 =
    378 rows against class 8's 174: imbalance 378 / 174. Missing share stays 0 (nulls fail
    the schema first) and every class keeps >= 50 rows."""
    events = digits_events() + bad_batch_events("t")
    write_events(tmp_path / "raw", events)
    with pytest.raises(preprocess.DataQualityFailed):
        preprocess.preprocess(
            tmp_path / "raw",
            tmp_path / "out",
            constraints=preprocess.digits_constraints(**GateLimits().limits()),
        )
    report = json.loads((tmp_path / "out" / "data_quality" / "data_quality.json").read_text())
    got = {(v["constraint"], v["subject"]): v["observed"] for v in report["violations"]}
    assert set(got) == {
        ("max_duplicate_share", "event_id"),
        ("value_ranges", "f5"),
        ("max_rejected_share", None),
        ("max_class_imbalance", None),
    }
    assert got[("max_duplicate_share", "event_id")] == pytest.approx(200 / 2347)
    assert got[("max_rejected_share", None)] == pytest.approx(200 / 2397)
    assert got[("max_class_imbalance", None)] == pytest.approx(378 / 174)
    quarantine = tmp_path / "out" / "quarantine"
    assert len(pd.read_csv(quarantine / "rows.csv")) == 350  # 200 copies + 150 out of range
    assert len((quarantine / "rejected.jsonl").read_text().splitlines()) == 50


def test_main_exits_1_with_the_report_line_and_the_exit_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The job's contract with the pipeline: exit 1, the summary on stderr, the same line in
    the ExitMessage file (/opt/ml/output/message in the container), the report written."""
    events = digits_events(300)
    write_events(tmp_path / "raw", events + [dict(e) for e in events[:20]])
    message = tmp_path / "opt" / "ml" / "output" / "message"
    code = preprocess.main(
        [
            "--input-dir",
            str(tmp_path / "raw"),
            "--output-dir",
            str(tmp_path / "out"),
            "--max-duplicate-share",
            "0.05",
            "--exit-message",
            str(message),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err == (
        "preprocess failed: data quality: max_duplicate_share[event_id]: "
        f"observed {20 / 320}, limit 0.05"
    )
    assert message.read_text() == err
    assert (tmp_path / "out" / "data_quality" / "data_quality.json").is_file()


def test_without_limits_main_runs_no_gate(tmp_path: Path) -> None:
    """No limit given: the step behaves as before the gate (no report, duplicates dropped)."""
    events = digits_events(300)
    write_events(tmp_path / "raw", events + [dict(e) for e in events[:20]])
    assert (
        preprocess.main(
            ["--input-dir", str(tmp_path / "raw"), "--output-dir", str(tmp_path / "out")]
        )
        == 0
    )
    assert not (tmp_path / "out" / "data_quality").exists()
