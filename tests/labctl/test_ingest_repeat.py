"""Ingest that is safe to repeat: dry runs write nothing, reruns resume, reports are JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from labctl.cli import main
from ops import producer
from ops.producer import read_lake

FEATURES = [f"f{i}" for i in range(64)]


def cli(argv: list[str], **inject: Any) -> int:
    return main(["ingest", *argv], **inject)


def write_csv(path: Path, rows: int, bad_row: int | None = None) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", *FEATURES])
        for i in range(rows):
            values = [(i + j) % 17 for j in range(64)]
            if bad_row is not None and i == bad_row:
                values[7] = 99  # outside the Digits range 0-16
            writer.writerow([i % 10, *values])
    return path


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def strict_json(line: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(line, parse_constant=refuse)


def test_dry_run_writes_nothing_even_with_local_lake_and_rejects(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "in.csv", 30, bad_row=3)
    work = tmp_path / "work"
    before = files_under(tmp_path)
    code = cli(
        ["--stream", "s", "--file", str(data), "--dry-run", "--local-lake", "--workdir", str(work)]
    )
    assert code == 0
    assert files_under(tmp_path) == before  # no lake, no report, no ledger
    assert not work.exists()


def test_rejected_report_goes_under_the_workdir_as_strict_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "in.csv", 10, bad_row=2)
    # A blank feature cell: NaN in memory, which plain json.dumps would write as NaN.
    lines = data.read_text().splitlines()
    cells = lines[5].split(",")
    cells[10] = ""
    lines[5] = ",".join(cells)
    data.write_text("\n".join(lines) + "\n")
    work = tmp_path / "work"
    assert cli(["--stream", "s", "--file", str(data), "--local-lake", "--workdir", str(work)]) == 0
    (report,) = (work / "ingest").glob("*-rejected.jsonl")
    rejected = [strict_json(line) for line in report.read_text().splitlines()]
    assert [r["row"] for r in rejected] == [3, 5]
    assert "pixel value 99 at index 7 is outside the Digits range 0-16" in rejected[0]["reasons"]
    assert rejected[1]["record"]["features"][9] is None  # the blank cell, as null
    assert len(list(read_lake(work / "lake" / "raw"))) == 8  # the default lake folder
    assert str(report) in capsys.readouterr().err


def test_digits_runs_get_fresh_ids_and_a_run_id_repeats_them(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    base = ["--stream", "s", "--digits", "--limit", "3", "--local-lake", str(lake)]
    assert cli([*base, "--workdir", str(tmp_path)]) == 0
    assert cli([*base, "--workdir", str(tmp_path), "--drift", "shift=1"]) == 0
    ids = [e["event_id"] for e in read_lake(lake)]
    assert len(ids) == len(set(ids)) == 6  # the drifted run is new traffic, not duplicates
    run = ids[0].split("-")[1]
    assert cli([*base, "--run-id", run, "--workdir", str(tmp_path)]) == 0
    assert len(list(read_lake(lake))) == 6  # same run id: already in the lake, nothing added


def test_interrupted_run_resumes_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_csv(tmp_path / "in.csv", 50)
    lake = tmp_path / "lake"
    argv = ["--stream", "s", "--file", str(data), "--local-lake", str(lake)]
    argv += ["--buffer-mib", "0.002", "--workdir", str(tmp_path)]  # ~2 KiB: an object per 5 rows
    real = producer.validate_stream

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        for number, item in enumerate(real(*args, **kwargs), 1):
            if number == 23:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr("labctl.ingest.validate_stream", interrupted)
    assert cli(argv) == 130
    partial = [e["event_id"] for e in read_lake(lake)]
    assert 0 < len(partial) < 50  # complete objects stayed behind
    monkeypatch.setattr("labctl.ingest.validate_stream", real)
    assert cli(argv) == 0  # same file, same default run id: resumes
    ids = [e["event_id"] for e in read_lake(lake)]
    assert len(ids) == len(set(ids)) == 50
    assert cli(argv) == 0  # a third run adds nothing
    assert len(list(read_lake(lake))) == 50


def test_malformed_line_part_way_leaves_no_objects_behind(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "in.csv", 40)
    with data.open("a") as handle:
        handle.write("1,2,3\n")  # too few fields, after 40 good rows
    lake = tmp_path / "lake"
    argv = ["--stream", "s", "--file", str(data), "--local-lake", str(lake)]
    code = cli([*argv, "--buffer-mib", "0.002", "--workdir", str(tmp_path)])
    assert code == 2
    assert not [p for p in files_under(lake) if p.suffix == ".gz"]
    assert not files_under(lake / ".ingest")


def test_lake_path_that_is_a_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "in.csv", 3)
    lake = tmp_path / "lake"
    lake.write_text("not a folder")
    assert cli(["--stream", "s", "--file", str(data), "--local-lake", str(lake)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_duplicate_column_check_names_them(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(",".join(["a", "b", "a", *FEATURES, "b"]) + "\n")
    with pytest.raises(producer.UsageError, match=r"duplicate column\(s\) a, b"):
        producer.iter_file_events(path)


def test_streamed_parquet_matches_the_rows(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame([[i % 10, *([float(i % 17)] * 64)] for i in range(25_001)])
    frame.columns = ["label", *FEATURES]
    frame.to_parquet(tmp_path / "in.parquet")
    events = producer.iter_file_events(tmp_path / "in.parquet", run_id="r")
    labels = [e["label"] for e in events]  # crosses the 10,000-row batch boundary twice
    assert labels == [i % 10 for i in range(25_001)]
