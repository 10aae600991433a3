"""labctl ingest offline: batching limits, input errors (exit 2), rejected rows, drift,
and the local lake written in the Firehose layout. No AWS calls here.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.stages import lab_ingest
from labctl.cli import main
from model_code.events import object_name, partition_prefix, validate_event
from ops.errors import UsageError
from ops.producer import (
    MAX_BYTES_PER_CALL,
    MAX_BYTES_PER_RECORD,
    Backoff,
    Record,
    apply_drift,
    digits_events,
    parse_drift,
    plan_batches,
    prepare,
    read_lake,
    write_local_lake,
)

BASE = datetime(2026, 11, 29, 1, 2, 3, tzinfo=UTC)
FEATURES = [f"f{i}" for i in range(64)]


def cli(argv: list[str], **inject: object) -> int:
    """labctl's own entry point (exit codes 0/1/2) with stubbed clients injected."""
    return main(["ingest", *argv], **inject)


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def good_row(i: int) -> list[object]:
    return [f"ev-{i}", "2026-11-29T01:00:00Z", i % 10] + [float(i % 17)] * 64


HEADER = ["event_id", "event_time", "label", *FEATURES]


# --------------------------------------------------------------------------- batching


def record(i: int, size: int) -> Record:
    event_id = f"id-{i:05d}"
    return Record(i + 1, event_id, b"x" * (size - len(event_id)))


def test_batches_split_by_count() -> None:
    batches = plan_batches([record(i, 100) for i in range(1201)])
    assert [len(b) for b in batches] == [500, 500, 201]


def test_batches_split_by_bytes_and_never_exceed_limits() -> None:
    # 900 KiB records: only 5 fit in 5 MiB, so bytes close batches long before count does.
    records = [record(i, 900 * 1024) for i in range(23)]
    batches = plan_batches(records)
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    for batch in batches:
        assert len(batch) <= 500
        assert sum(r.size for r in batch) <= MAX_BYTES_PER_CALL
    assert [r for b in batches for r in b] == records  # order and count conserved


def test_batch_exactly_at_5_mib_is_one_call() -> None:
    records = [record(i, MAX_BYTES_PER_CALL // 8) for i in range(8)]
    assert [len(b) for b in plan_batches(records)] == [8]
    assert [len(b) for b in plan_batches([*records, record(9, 1)])] == [8, 1]


def test_batch_size_option_and_range() -> None:
    assert [len(b) for b in plan_batches([record(i, 10) for i in range(7)], 3)] == [3, 3, 1]
    assert [len(b) for b in plan_batches([record(i, 10) for i in range(3)], 1)] == [1, 1, 1]
    with pytest.raises(UsageError, match="1-500"):
        plan_batches([], 501)
    with pytest.raises(UsageError, match="1-500"):
        plan_batches([], 0)


def test_every_batch_starts_empty_so_later_batches_fill_to_the_limit() -> None:
    records = [record(i, MAX_BYTES_PER_CALL // 8) for i in range(16)]
    assert [len(b) for b in plan_batches(records)] == [8, 8]


def test_backoff_grows_exponentially_from_base_up_to_cap() -> None:
    """Full jitter: U(0, min(cap, base * 2**(attempt-1))); the stub returns the upper bound."""
    import random

    class Upper(random.Random):
        def uniform(self, a: float, b: float) -> float:
            assert a == 0.0
            return b

    slept: list[float] = []
    backoff = Backoff(base=0.1, cap=1.0, sleep=slept.append, rng=Upper())
    for attempt in range(1, 7):
        backoff.wait(attempt)
    assert slept == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_record_over_1_mib_is_rejected_with_reason() -> None:
    event = digits_events(limit=2, base_time=BASE)
    event[1]["source"] = "s" * MAX_BYTES_PER_RECORD
    records, rejected = prepare(event)
    assert [r.event_id for r in records] == ["digits-000000"]
    assert len(rejected) == 1 and rejected[0].row == 2
    assert "over the 1048576-byte (1 MiB) PutRecords limit" in rejected[0].reasons[0]


def test_long_partition_key_and_duplicate_ids_are_rejected() -> None:
    events = digits_events(limit=3, base_time=BASE)
    events[1]["event_id"] = "k" * 257
    events[2]["event_id"] = events[0]["event_id"]
    records, rejected = prepare(events)
    assert len(records) == 1
    assert "partition key" in rejected[0].reasons[0]
    assert "duplicate event_id 'digits-000000' (first at row 1)" in rejected[1].reasons[0]


def test_record_data_is_compact_json_line_keyed_by_event_id() -> None:
    (rec,), _ = prepare(digits_events(limit=1, base_time=BASE))
    assert rec.data.endswith(b"\n") and b", " not in rec.data
    assert rec.partition_key == "digits-000000"
    assert json.loads(rec.data)["event_time"] == "2026-11-29T01:02:03Z"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "extra.csv",
            ",".join(HEADER) + "\n" + ",".join(["a", "b", "1"] + ["1"] * 66) + "\n",
            "malformed CSV: line 2 has 69 fields, the header has 67",
        ),
        ("short.csv", ",".join(HEADER) + "\n" + "a,b,1,2\n", "malformed CSV: line 2 has 4"),
        ("quote.csv", ",".join(HEADER) + '\n"unterminated,1\n', "malformed CSV"),
        (
            "missing.csv",
            ",".join(HEADER[:-1]) + "\n" + ",".join(["a", "t", "1"] + ["1"] * 63),
            "expected exactly 64 feature columns (every column except event_id, event_time, "
            "source, label), found 63",
        ),
        (
            "text.csv",
            ",".join(HEADER) + "\n" + ",".join(["a", "t", "1", "abc"] + ["1"] * 63),
            "feature column 'f0' is not numeric (row 1: 'abc')",
        ),
        ("empty.csv", "", "is empty"),
        ("header.csv", ",".join(HEADER) + "\n", "has no data rows"),
        ("data.json", "{}", "unknown extension '.json'"),
        ("bad.parquet", "not parquet", "cannot be read as Parquet"),
        ("dupe.csv", ",".join([*HEADER, "f0"]) + "\n", "duplicate column(s) f0"),
    ],
)
def test_bad_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert cli(["--stream", "s", "--file", str(path), "--dry-run"]) == 2
    assert message in "".join(capsys.readouterr())


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["--stream", "s", "--file", str(tmp_path / "nope.csv")]) == 2
    assert "does not exist" in "".join(capsys.readouterr())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--digits", "--file", "x.csv"], "exactly one input"),
        ([], "exactly one input"),
        (["--digits", "--batch-size", "0"], "--batch-size must be 1-500, got 0"),
        (["--digits", "--batch-size", "501"], "--batch-size must be 1-500, got 501"),
        (["--digits", "--drift", "tilt=3"], "bad --drift 'tilt=3'"),
        (["--digits", "--drift", "shift=abc"], "bad --drift 'shift=abc'"),
        (["--digits", "--drift", "noise=-1"], "noise std must be >= 0"),
        (["--digits", "--drift", "clip=16:0"], "bad --drift 'clip=16:0'"),
        (["--digits", "--max-attempts", "0"], "--max-attempts must be at least 1"),
        (["--digits", "--base-time", "yesterday"], "not an ISO-8601 timestamp"),
    ],
)
def test_bad_arguments_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert cli(["--stream", "s", "--dry-run", *argv]) == 2
    assert message in "".join(capsys.readouterr())


# --------------------------------------------------------------------------- rejected rows


def mixed_csv(tmp_path: Path) -> Path:
    blank = good_row(2)
    blank[3 + 5] = ""  # blank feature cell -> non-finite -> schema rejects this row only
    bad_label = good_row(3)
    bad_label[2] = 12
    bad_time = good_row(4)
    bad_time[1] = "not-a-time"
    rows = [good_row(1), blank, bad_label, bad_time, good_row(5)]
    return write_csv(tmp_path / "mixed.csv", HEADER, rows)


def test_rejected_rows_are_reported_not_dropped(tmp_path: Path) -> None:
    report = tmp_path / "rejected.jsonl"
    lake = tmp_path / "lake"
    argv = [
        "--stream",
        "s",
        "--file",
        str(mixed_csv(tmp_path)),
        "--local-lake",
        str(lake),
        "--rejected-report",
        str(report),
    ]
    assert cli(argv) == 0
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert [line["row"] for line in lines] == [2, 3, 4]
    assert "bad at index 5" in lines[0]["reasons"][0]
    assert "label must be null or an integer 0-9, got 12" in lines[1]["reasons"][0]
    assert "event_time must be an ISO-8601 timestamp" in lines[2]["reasons"][0]
    assert lines[1]["record"]["event_id"] == "ev-3"
    assert sorted(e["event_id"] for e in read_lake(lake)) == ["ev-1", "ev-5"]


def test_rejected_report_has_exact_counts_and_every_reason_per_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seven rows with known faults, by hand: rows 2, 4 and 6 bad (row 4 twice over), rows 1,
    3, 5, 7 good. Each rejected row is reported once, with exactly its reasons in schema
    order (events.validate_event: fields, event_time, features, label), and the counts add
    up on the summary line and in the lake."""
    two_faults = good_row(4)
    two_faults[1], two_faults[2] = "yesterday", -1
    blank = good_row(6)
    blank[3 + 63] = ""
    rows = [good_row(1), [*good_row(2)[:2], 10, *good_row(2)[3:]], good_row(3), two_faults]
    rows += [good_row(5), blank, good_row(7)]
    path = write_csv(tmp_path / "faults.csv", HEADER, rows)
    report, lake = tmp_path / "rejected.jsonl", tmp_path / "lake"
    argv = ["--stream", "s", "--file", str(path), "--local-lake", str(lake)]
    assert cli([*argv, "--rejected-report", str(report)]) == 0
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert [(line["row"], line["reasons"]) for line in lines] == [
        (2, ["label must be null or an integer 0-9, got 10"]),
        (
            4,
            [
                "event_time must be an ISO-8601 timestamp, got 'yesterday'",
                "label must be null or an integer 0-9, got -1",
            ],
        ),
        (6, ["features must be finite numbers (bad at index 63)"]),
    ]
    assert [line["record"]["event_id"] for line in lines] == ["ev-2", "ev-4", "ev-6"]
    assert lines[2]["record"]["features"][63] is None  # the blank cell, as strict JSON
    assert "7 rows: 4 valid, 3 rejected" in capsys.readouterr().out
    assert sorted(e["event_id"] for e in read_lake(lake)) == ["ev-1", "ev-3", "ev-5", "ev-7"]


def test_strict_exits_1_and_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    argv = [
        "--stream",
        "s",
        "--file",
        str(mixed_csv(tmp_path)),
        "--local-lake",
        str(lake),
        "--rejected-report",
        str(tmp_path / "r.jsonl"),
        "--strict",
    ]
    assert cli(argv) == 1
    assert "3 rejected rows with --strict; nothing sent" in "".join(capsys.readouterr())
    assert not lake.exists()


def test_csv_defaults_for_optional_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "plain.csv", FEATURES, [[1.5] * 64, [2] * 64])
    lake = tmp_path / "lake"
    assert (
        cli(
            [
                "--stream",
                "s",
                "--file",
                str(path),
                "--local-lake",
                str(lake),
                "--base-time",
                "2026-11-29T01:02:03Z",
            ]
        )
        == 0
    )
    events = sorted(read_lake(lake), key=lambda e: e["event_id"])
    # <stem>-<first 8 hex of the file's SHA-256>-<row>: stable for this file's content.
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    assert [e["event_id"] for e in events] == [f"plain-{digest}-000001", f"plain-{digest}-000002"]
    assert [e["event_time"] for e in events] == ["2026-11-29T01:02:03Z", "2026-11-29T01:02:04Z"]
    assert events[0]["source"] == "file:plain.csv" and "label" not in events[0]


def test_parquet_input(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        [[f"p-{i}", i % 10, *([float(i)] * 64)] for i in range(3)],
        columns=["event_id", "label", *FEATURES],
    )
    frame.to_parquet(tmp_path / "in.parquet")
    lake = tmp_path / "lake"
    assert (
        cli(["--stream", "s", "--file", str(tmp_path / "in.parquet"), "--local-lake", str(lake)])
        == 0
    )
    events = sorted(read_lake(lake), key=lambda e: e["event_id"])
    assert [e["label"] for e in events] == [0, 1, 2]  # numpy int64 labels became ints
    assert all(validate_event(e) == [] for e in events)


def test_dry_run_prints_batch_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["--stream", "s", "--digits", "--dry-run", "--batch-size", "400"]) == 0
    out = "".join(capsys.readouterr())
    assert "1797 records in 5 PutRecords calls" in out
    assert "batch    5: 197 records" in out and "nothing sent" in out


# --------------------------------------------------------------------------- drift


def test_drift_shift_scale_noise_clip() -> None:
    events = digits_events(limit=20, base_time=BASE)
    shifted = apply_drift(events, [parse_drift("shift=2.0")])
    assert all(
        b == a + 2
        for e, d in zip(events, shifted, strict=True)
        for a, b in zip(e["features"], d["features"], strict=True)
    )
    scaled = apply_drift(events, [parse_drift("scale=1.5")])
    assert scaled[3]["features"][10] == round(events[3]["features"][10] * 1.5, 4)
    noisy = apply_drift(events, [parse_drift("noise=1.5")], seed=7)
    assert noisy == apply_drift(events, [parse_drift("noise=1.5")], seed=7)
    assert noisy != apply_drift(events, [parse_drift("noise=1.5")], seed=8)
    assert noisy[0]["features"] != events[0]["features"]
    clipped = apply_drift(events, [parse_drift("noise=5"), parse_drift("clip=0:16")], seed=1)
    assert all(0 <= x <= 16 for e in clipped for x in e["features"])
    for drifted in (shifted, scaled, noisy, clipped):
        assert all(validate_event(e) == [] for e in drifted)
    assert events[0]["features"][0] == 0.0  # the input events are not modified


def test_drift_through_cli(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    assert (
        cli(
            [
                "--stream",
                "s",
                "--digits",
                "--limit",
                "10",
                "--drift",
                "shift=2",
                "--local-lake",
                str(lake),
            ]
        )
        == 0
    )
    assert min(min(e["features"]) for e in read_lake(lake)) == 2.0


# --------------------------------------------------------------------------- local lake


LAYOUT = re.compile(
    r"events/year=(\d{4})/month=(\d{2})/day=(\d{2})/hour=(\d{2})/"
    r"digits-events-1-(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-[0-9a-f-]{36}\.gz"
)


def test_local_lake_layout_gzip_and_conservation(tmp_path: Path) -> None:
    # Arrivals 1 s apart from 01:58:00 cross into hour 02; a 0.1 MiB buffer forces rollover.
    arrivals = (BASE.replace(minute=58, second=0) + timedelta(seconds=i) for i in range(10**6))
    events = digits_events(base_time=BASE)
    summary = write_local_lake(
        events,
        tmp_path,
        "digits-events",
        buffer_mib=0.1,
        buffer_seconds=900,
        clock=lambda: next(arrivals),
    )
    objects = sorted(tmp_path.rglob("*.gz"))
    assert sorted(summary.objects) == objects and len(objects) >= 8
    assert not list(tmp_path.rglob("*.tmp"))
    hours = set()
    ids: list[str] = []
    for path in objects:
        relative = path.relative_to(tmp_path).as_posix()
        match = LAYOUT.fullmatch(relative)
        assert match, relative
        year, month, day, hour = match.groups()[:4]
        assert match.groups()[4:8] == (year, month, day, hour)  # name time = prefix time
        hours.add(hour)
        raw = path.read_bytes()
        assert raw[:2] == b"\x1f\x8b"  # GZIP magic
        lines = gzip.decompress(raw).decode().split("\n")
        assert lines[-1] == ""  # JSON lines, each record newline-terminated
        assert len(raw) and sum(len(line) + 1 for line in lines[:-1]) <= 0.1 * 1024 * 1024
        for line in lines[:-1]:
            event = json.loads(line)
            assert validate_event(event) == []
            ids.append(event["event_id"])
    assert hours == {"01", "02"}
    assert len(ids) == summary.records == 1797
    assert set(ids) == {e["event_id"] for e in events}


def test_local_lake_matches_model_code_naming(tmp_path: Path) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    summary = write_local_lake(
        digits_events(limit=5, base_time=BASE), tmp_path, "x", clock=lambda: when
    )
    (path,) = summary.objects
    assert path.parent == tmp_path / partition_prefix(when).rstrip("/")
    suffix = path.name.removeprefix("x-1-2026-01-02-03-04-05-").removesuffix(".gz")
    assert path.name == object_name("x", when, suffix)


def test_lab_ingest_writes_digits_into_workdir_and_is_rerunnable(tmp_path: Path) -> None:
    first = lab_ingest(tmp_path)
    second = lab_ingest(tmp_path)
    assert first.records == second.records == 1797
    assert sum(1 for _ in read_lake(tmp_path / "lake" / "raw")) == 1797
    assert second.one_line().startswith("1797 events in 1 objects across 1 hour partition(s)")


def test_digits_come_from_two_scanner_groups_and_drifted_traffic_from_one(
    tmp_path: Path,
) -> None:
    """The facet the bias checks split by: normal Digits events come from both scanner
    groups, each image always from the same one (whatever the run id); with --drift every
    event comes from the skewed group, so the lake's group mix shifts with the drift."""
    from model_code.events import DIGITS_DEVICE_SOURCES, SKEWED_DIGITS_SOURCE

    first = digits_events(limit=60, base_time=BASE, run_id="one")
    again = digits_events(limit=60, base_time=BASE, run_id="two")
    assert [e["source"] for e in first] == [e["source"] for e in again]
    groups = [e["source"] for e in first]
    assert set(groups) == set(DIGITS_DEVICE_SOURCES)
    assert 10 <= groups.count(SKEWED_DIGITS_SOURCE) <= 30  # about a third of 60
    for e in first:
        assert validate_event(e) == []  # a value of source: the schema is unchanged
    normal, drifted = tmp_path / "normal", tmp_path / "drifted"
    argv = ["--stream", "s", "--digits", "--limit", "30", "--workdir", str(tmp_path)]
    assert cli([*argv, "--local-lake", str(normal)]) == 0
    assert cli([*argv, "--drift", "scale=1.0", "--local-lake", str(drifted)]) == 0
    assert {e["source"] for e in read_lake(normal)} == set(DIGITS_DEVICE_SOURCES)
    assert {e["source"] for e in read_lake(drifted)} == {SKEWED_DIGITS_SOURCE}
