"""labctl ingest: send events (a CSV/Parquet file or the Digits dataset) to a Kinesis stream,
or with --local-lake write exactly what Firehose would deliver to the raw zone.

Input convention: columns event_id, event_time, source, label are optional; every other
column is a feature, in file order, and there must be exactly 64 numeric ones. Rows that
break the schema are written to the rejected report and counted; --strict makes any
rejected row exit 1 before anything is sent.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labctl.errors import OperationFailed, UsageError
from labctl.producer import (
    MAX_RECORDS_PER_CALL,
    Backoff,
    Drift,
    LakeSummary,
    Progress,
    apply_drift,
    describe_plan,
    digits_events,
    file_events,
    parse_drift,
    plan_batches,
    prepare,
    send_batches,
    write_lake_records,
    write_local_lake,
    write_rejected,
    write_undelivered,
)

LAB_STREAM = "digits-events"
SHOW_IDS = 20  # undelivered ids named in the error message; the report file has all


def make_client(region: str | None) -> Any:
    """A Kinesis client whose own retries are off: send_batches retries and counts them."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    try:
        return boto3.client(
            "kinesis", region_name=region, config=Config(retries={"total_max_attempts": 1})
        )
    except NoRegionError as err:
        raise UsageError("no AWS region: pass --region or set AWS_DEFAULT_REGION") from err


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise UsageError(f"--base-time {text!r} is not an ISO-8601 timestamp") from err
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _check_args(args: argparse.Namespace) -> list[Drift]:
    if bool(args.file) == bool(args.digits):
        raise UsageError("give exactly one input: --file PATH or --digits")
    if not 1 <= args.batch_size <= MAX_RECORDS_PER_CALL:
        raise UsageError(f"--batch-size must be 1-{MAX_RECORDS_PER_CALL}, got {args.batch_size}")
    if args.max_attempts < 1:
        raise UsageError(f"--max-attempts must be at least 1, got {args.max_attempts}")
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    if not 0 < args.buffer_mib <= 128:
        raise UsageError(f"--buffer-mib must be in (0, 128] like Firehose, got {args.buffer_mib}")
    if not args.stream.strip():
        raise UsageError("--stream must not be empty")
    return [parse_drift(spec) for spec in args.drift or []]


def run(args: argparse.Namespace, client: Any = None, backoff: Backoff | None = None) -> int:
    """The command; client and backoff are injectable so tests need no network or waits."""
    drifts = _check_args(args)
    base_time = _parse_time(args.base_time)
    if args.digits:
        events = digits_events(limit=args.limit, base_time=base_time)
        origin = "sklearn Digits"
    else:
        events = file_events(Path(args.file), base_time=base_time, limit=args.limit)
        origin = args.file
    events = apply_drift(events, drifts, seed=args.seed)
    records, rejected = prepare(events)
    drift_note = f", drift {' '.join(d.describe() for d in drifts)}" if drifts else ""
    print(
        f"ingest: {len(events)} rows from {origin}{drift_note}: {len(records)} valid, "
        f"{len(rejected)} rejected"
    )
    if rejected:
        report = Path(args.rejected_report)
        write_rejected(report, rejected)
        print(f"ingest: {len(rejected)} rejected rows written to {report}", file=sys.stderr)
        if args.strict:
            raise OperationFailed(
                f"{len(rejected)} rejected rows with --strict; nothing sent (see {report})"
            )
    if not records:
        raise OperationFailed("no valid records to send")

    if args.local_lake:
        lake = write_lake_records(
            records, Path(args.local_lake), args.stream, buffer_mib=args.buffer_mib
        )
        lake.rejected = rejected
        print(f"local lake: {lake.one_line()}")
        return 0

    batches = plan_batches(records, max_records=args.batch_size)
    if args.dry_run:
        print(describe_plan(batches))
        print("dry run: nothing sent")
        return 0

    client = client or make_client(args.region)
    backoff = backoff or Backoff(max_attempts=args.max_attempts)
    progress = Progress(len(records), enabled=None if args.progress else False)
    try:
        result = send_batches(client, args.stream, batches, backoff, progress.update)
    finally:
        progress.close()
    print(
        f"sent {result.sent}/{len(records)} records to {args.stream} in {result.calls} calls: "
        f"{result.retried} record retries, {result.throttled_calls} throttled calls, "
        f"{len(rejected)} rejected, {result.failed} failed; {result.seconds:.2f} s, "
        f"{result.rate:,.0f} records/s"
    )
    if result.undelivered:
        report = Path(args.undelivered_report)
        write_undelivered(report, result.undelivered)
        shown = ", ".join(f"{u.event_id} ({u.error_code})" for u in result.undelivered[:SHOW_IDS])
        more = len(result.undelivered) - SHOW_IDS
        raise OperationFailed(
            f"{result.failed} records not delivered: {shown}"
            f"{f' and {more} more' if more > 0 else ''} (full list in {report})"
        )
    return 0


def lab_ingest(
    workdir: Path, stream_name: str = LAB_STREAM, base_time: datetime | None = None
) -> LakeSummary:
    """Lab stage body: the Digits events into <workdir>/lake/raw/ in the Firehose layout.

    Objects an earlier lab run wrote for this stream are removed first, so re-running the
    lab does not double the raw zone (a real stream would append instead).
    """
    lake = workdir / "lake" / "raw"
    for old in (lake / "events").rglob(f"{stream_name}-1-*.gz"):
        old.unlink()
    summary = write_local_lake(digits_events(base_time=base_time), lake, stream_name)
    if summary.rejected:  # Digits always validates; a failure here is a schema regression
        raise OperationFailed(f"{len(summary.rejected)} Digits events failed validation")
    return summary


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("ingest", help="send events to a Kinesis stream or a local lake")
    add_arguments(parser)
    parser.set_defaults(handler=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stream",
        required=True,
        help="Kinesis stream name (with --local-lake: the Firehose stream name)",
    )
    parser.add_argument("--file", help="CSV or Parquet file of events")
    parser.add_argument("--digits", action="store_true", help="the built-in Digits dataset")
    parser.add_argument("--region", help="AWS region (default: the boto3 chain)")
    parser.add_argument(
        "--dry-run", action="store_true", help="validate and print the batch plan, send nothing"
    )
    parser.add_argument(
        "--drift",
        action="append",
        metavar="SPEC",
        help="shift=X, scale=X, noise=STD or clip=LO:HI; repeat to chain, applied in order",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for --drift noise")
    parser.add_argument("--limit", type=int, help="only the first N rows")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=MAX_RECORDS_PER_CALL,
        help="records per PutRecords call, 1-500 (calls also stay <= 5 MiB)",
    )
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=8,
        help="attempts per record before it is reported undelivered",
    )
    parser.add_argument(
        "--base-time",
        help="event_time of row 1 when the input has none "
        "(ISO-8601; default now); row i gets + i s",
    )
    parser.add_argument(
        "--rejected-report",
        default="ingest-rejected.jsonl",
        help="JSON lines of rejected rows (row, reasons, record)",
    )
    parser.add_argument(
        "--undelivered-report",
        default="ingest-undelivered.jsonl",
        help="JSON lines of records not delivered (event_id, error)",
    )
    parser.add_argument(
        "--local-lake",
        metavar="DIR",
        help="write Firehose-layout gzip objects under DIR instead of Kinesis",
    )
    parser.add_argument(
        "--buffer-mib",
        type=float,
        default=64,
        help="local lake: Firehose buffer size per object (default 64)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="any rejected row exits 1 and nothing is sent"
    )
    parser.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar (it is shown only on a terminal anyway)",
    )
