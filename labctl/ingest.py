"""labctl ingest: send events (a CSV/Parquet file or the Digits dataset) to a Kinesis stream,
or with --local-lake write exactly what Firehose would deliver to the raw zone.

Input convention: columns event_id, event_time, source, label are optional; every other
column is a feature, in file order, and there must be exactly 64 numeric ones. Rows that
break the schema are written to the rejected report and counted; --strict makes any
rejected row exit 1 before anything is sent. --bad-batch sends a deliberately bad batch
(ops/producer/bad_batch.py) unvalidated, so the next training run stops at the data-quality
gate.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lab.paths import lake_raw
from labctl.options import add_examples, add_region, add_workdir, resolve_region
from model_code.events import SKEWED_DIGITS_SOURCE
from ops.errors import OperationFailed, UsageError
from ops.producer import (
    MAX_RECORDS_PER_CALL,
    Backoff,
    Drift,
    LakeLedger,
    LakeSummary,
    Progress,
    Record,
    Rejected,
    ReportFile,
    SendResult,
    Undelivered,
    bad_batch_events,
    bad_batch_records,
    describe_plan,
    digits_events,
    iter_batches,
    iter_file_events,
    new_run_id,
    parse_drift,
    send_batches,
    validate_stream,
    write_lake_records,
)
from ops.producer.kinesis import kinesis_client

SHOW_IDS = 20  # undelivered ids named in the error message; the report file has all
SHOW_REJECTED = 5  # rejected rows named by a dry run


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise UsageError(f"--base-time {text!r} is not an ISO-8601 timestamp") from err
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _check_args(args: argparse.Namespace) -> list[Drift]:
    if sum(map(bool, (args.file, args.digits, args.bad_batch))) != 1:
        raise UsageError("give exactly one input: --file PATH, --digits or --bad-batch")
    if args.bad_batch and (args.drift or args.strict or args.dry_run or args.limit):
        raise UsageError(
            "--bad-batch is sent as it is: it takes no --drift, --strict, --dry-run or --limit"
        )
    if args.file and not Path(args.file).is_file():
        raise UsageError(f"input file {args.file} does not exist or is not a file")
    if not 1 <= args.batch_size <= MAX_RECORDS_PER_CALL:
        raise UsageError(f"--batch-size must be 1-{MAX_RECORDS_PER_CALL}, got {args.batch_size}")
    if args.max_attempts < 1:
        raise UsageError(f"--max-attempts must be at least 1, got {args.max_attempts}")
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    if not 0 < args.buffer_mib <= 128:
        raise UsageError(f"--buffer-mib must be in (0, 128] like Firehose, got {args.buffer_mib}")
    if not args.stream.strip() or "/" in args.stream:
        raise UsageError("--stream must be a non-empty name without '/'")
    if args.run_id is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", args.run_id):
        raise UsageError("--run-id must be 1-64 letters, digits, '.', '_' or '-'")
    return [parse_drift(spec) for spec in args.drift or []]


@dataclass
class Counts:
    valid: int = 0
    rejected: int = 0
    examples: list[Rejected] = field(default_factory=list)


def _records(
    items: Iterable[Record | Rejected], counts: Counts, report: ReportFile | None
) -> Iterator[Record]:
    """The valid records; rejected rows are counted and written to the report as they pass."""
    for item in items:
        if isinstance(item, Record):
            counts.valid += 1
            yield item
            continue
        counts.rejected += 1
        if len(counts.examples) < SHOW_REJECTED:
            counts.examples.append(item)
        if report is not None:
            report.write(item.to_json())


def run(args: argparse.Namespace, client: Any = None, backoff: Backoff | None = None) -> int:
    """The command; client and backoff are injectable so tests need no network or waits.

    The input is streamed: memory holds one batch (and the event ids seen), whatever the
    file size. --dry-run reads and validates everything and writes nothing anywhere.
    """
    drifts = _check_args(args)
    base_time = _parse_time(args.base_time)
    workdir = Path(args.workdir)
    if args.bad_batch:
        return _bad_batch(args, workdir, _parse_time(args.base_time), client, backoff)
    if args.digits:
        run_id = args.run_id or new_run_id()  # generated traffic: new events each run
        origin = "sklearn Digits"
    else:
        from ops.producer import content_id

        # A file's events keep their ids across reruns: a rerun repeats, never duplicates.
        run_id = args.run_id or content_id(Path(args.file))
        origin = args.file

    def items() -> Iterator[Record | Rejected]:
        if args.digits:
            # Drifted traffic comes from one capture group, so the bias checks see it skew.
            events: Iterable[dict[str, Any]] = digits_events(
                limit=args.limit,
                base_time=base_time,
                run_id=run_id,
                source=SKEWED_DIGITS_SOURCE if drifts else None,
            )
        else:
            events = iter_file_events(
                Path(args.file), base_time=base_time, limit=args.limit, run_id=run_id
            )
        return validate_stream(events, drifts, seed=args.seed, check_range=True)

    drift_note = f", drift {' '.join(d.describe() for d in drifts)}" if drifts else ""
    print(f"ingest: run {run_id}, events from {origin}{drift_note}")
    rejected_path = Path(args.rejected_report or workdir / "ingest" / f"{run_id}-rejected.jsonl")

    if args.dry_run:
        return _dry_run(items(), args.batch_size)
    if args.strict:
        counts = Counts()
        report = ReportFile(rejected_path)
        for _ in _records(items(), counts, report):
            pass
        if counts.rejected:
            report.commit()
            raise OperationFailed(
                f"{counts.rejected} rejected rows with --strict; nothing sent (see {rejected_path})"
            )
    if args.local_lake is not None:
        lake = Path(args.local_lake) if args.local_lake else lake_raw(workdir)
        return _to_lake(args, items(), lake, run_id, rejected_path)
    return _to_stream(args, items(), client, backoff, run_id, rejected_path)


def _bad_batch(
    args: argparse.Namespace,
    workdir: Path,
    base_time: datetime | None,
    client: Any,
    backoff: Backoff | None,
) -> int:
    """The bad batch, unvalidated, to the local lake or the stream (nothing is rejected)."""
    from ops.producer.bad_batch import DEFECTS

    run_id = args.run_id or new_run_id()
    events = bad_batch_events(run_id, base_time)
    print(
        f"ingest: run {run_id}, a BAD batch of {len(events)} events, sent unvalidated: "
        + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in DEFECTS.items())
        + "; the next training run stops at the data-quality gate"
    )
    rejected_path = Path(args.rejected_report or workdir / "ingest" / f"{run_id}-rejected.jsonl")
    records = bad_batch_records(events)
    if args.local_lake is not None:
        lake = Path(args.local_lake) if args.local_lake else lake_raw(workdir)
        return _to_lake(args, records, lake, run_id, rejected_path)
    return _to_stream(args, records, client, backoff, run_id, rejected_path)


def _dry_run(items: Iterable[Record | Rejected], batch_size: int) -> int:
    counts = Counts()
    batches = sizes = 0
    first: list[list[Record]] = []
    for batch in iter_batches(_records(items, counts, None), max_records=batch_size):
        batches += 1
        sizes += len(batch)
        if len(first) < 20:
            first.append(batch)
    print(f"ingest: {counts.valid} valid, {counts.rejected} rejected")
    for item in counts.examples:
        print(f"  rejected row {item.row}: {'; '.join(item.reasons)}")
    plan = describe_plan(first).splitlines()
    print(f"batch plan: {sizes} records in {batches} PutRecords calls")
    print("\n".join(plan[1:]))
    if batches > len(first):
        print(f"  ... {batches - len(first)} more batches")
    print("dry run: nothing written, nothing sent")
    return 0


def _finish_rejected(report: ReportFile, counts: Counts) -> None:
    path = report.commit()
    if path is not None:
        print(f"ingest: {counts.rejected} rejected rows written to {path}", file=sys.stderr)


def _to_lake(
    args: argparse.Namespace,
    items: Iterable[Record | Rejected],
    lake: Path,
    run_id: str,
    rejected_path: Path,
) -> int:
    if lake.exists() and not lake.is_dir():
        raise UsageError(f"--local-lake {lake} is a file, not a folder")
    ledger = LakeLedger(lake, args.stream, run_id)
    done = ledger.rows_done()
    if done:
        print(f"ingest: resuming run {run_id}: rows 1-{done} are already in {lake}")
    counts = Counts()
    report = ReportFile(rejected_path)
    summary = LakeSummary(lake_dir=lake, stream_name=args.stream)
    progress = Progress(None, enabled=None if args.progress else False)

    def fresh() -> Iterator[Record]:
        for record in _records(items, counts, report):
            if record.row > done:
                yield record
                progress.update(1)

    try:
        write_lake_records(
            fresh(),
            lake,
            args.stream,
            buffer_mib=args.buffer_mib,
            summary=summary,
            committed=lambda _, row: ledger.commit(row),
        )
    except KeyboardInterrupt:
        progress.close()
        report.discard()
        print(
            f"ingest: interrupted after {summary.records} events; rerun with --run-id "
            f"{run_id} to resume where it stopped",
            file=sys.stderr,
        )
        raise
    except BaseException:
        # The input is wrong part way (a malformed line): take back what this run wrote.
        progress.close()
        report.discard()
        for path in summary.objects:
            path.unlink(missing_ok=True)
        ledger.reset(done)
        raise
    progress.close()
    _finish_rejected(report, counts)
    if not counts.valid:
        raise OperationFailed("no valid records to write")
    print(
        f"ingest: {counts.valid + counts.rejected} rows: {counts.valid} valid, "
        f"{counts.rejected} rejected"
    )
    summary.rejected = counts.examples
    skipped = f", {min(done, counts.valid)} already there" if done else ""
    print(f"local lake: {summary.one_line().rsplit(',', 1)[0]}{skipped}")
    return 0


def _to_stream(
    args: argparse.Namespace,
    items: Iterable[Record | Rejected],
    client: Any,
    backoff: Backoff | None,
    run_id: str,
    rejected_path: Path,
) -> int:
    client = client or kinesis_client(resolve_region(args.region))
    backoff = backoff or Backoff(max_attempts=args.max_attempts)
    counts = Counts()
    report = ReportFile(rejected_path)
    progress = Progress(None, enabled=None if args.progress else False)
    total = SendResult()
    batches = iter_batches(_records(items, counts, report), max_records=args.batch_size)
    try:
        _send_all(args, client, backoff, batches, progress, total)
    except KeyboardInterrupt:
        report.discard()
        print(
            f"ingest: interrupted after {total.sent} records; rerun with --run-id {run_id}: "
            "the same event ids are sent again and preprocessing keeps one event per id",
            file=sys.stderr,
        )
        raise
    finally:
        progress.close()
    _finish_rejected(report, counts)
    return _report_sent(args, counts, total, run_id)


def _send_all(
    args: argparse.Namespace,
    client: Any,
    backoff: Backoff,
    batches: Iterator[list[Record]],
    progress: Progress,
    total: SendResult,
) -> None:
    for batch in batches:
        result = send_batches(client, args.stream, [batch], backoff, progress.update)
        total.sent += result.sent
        total.retried += result.retried
        total.calls += result.calls
        total.throttled_calls += result.throttled_calls
        total.seconds += result.seconds
        total.undelivered += result.undelivered
        if result.stopped:  # nothing else can get through: report the rest as well
            last = result.undelivered[-1]
            total.undelivered += [
                Undelivered(r.row, r.event_id, last.error_code, last.error_message)
                for rest in batches
                for r in rest
            ]
            return


def _report_sent(args: argparse.Namespace, counts: Counts, total: SendResult, run_id: str) -> int:
    if not counts.valid:
        raise OperationFailed("no valid records to send")
    print(
        f"sent {total.sent}/{counts.valid} records to {args.stream} in {total.calls} calls: "
        f"{total.retried} record retries, {total.throttled_calls} throttled calls, "
        f"{counts.rejected} rejected, {total.failed} failed; {total.seconds:.2f} s, "
        f"{total.rate:,.0f} records/s"
    )
    if total.undelivered:
        path = Path(
            args.undelivered_report or Path(args.workdir) / "ingest" / f"{run_id}-undelivered.jsonl"
        )
        undelivered = ReportFile(path)
        for item in total.undelivered:
            undelivered.write(item.to_json())
        undelivered.commit()
        shown = ", ".join(f"{u.event_id} ({u.error_code})" for u in total.undelivered[:SHOW_IDS])
        more = len(total.undelivered) - SHOW_IDS
        raise OperationFailed(
            f"{total.failed} records not delivered: {shown}"
            f"{f' and {more} more' if more > 0 else ''} (full list in {path}; the same "
            f"--run-id {run_id} resends the same event ids)"
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("ingest", help="send events to a Kinesis stream or a local lake")
    add_arguments(parser)
    add_examples(
        parser,
        "labctl ingest --stream lab-digits-delivery --digits --local-lake .lab/lake/raw  # no AWS",
        "labctl ingest --stream lab-digits-events --digits --region us-east-1",
        "labctl ingest --stream lab-digits-events --file events.csv --dry-run",
        "labctl ingest --stream lab-digits-delivery --bad-batch --local-lake  # gate test",
    )
    parser.set_defaults(handler=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stream",
        required=True,
        help="Kinesis stream name (with --local-lake: the Firehose stream name)",
    )
    parser.add_argument("--file", help="CSV or Parquet file of events")
    parser.add_argument("--digits", action="store_true", help="the built-in Digits dataset")
    parser.add_argument(
        "--bad-batch",
        action="store_true",
        help="a deliberately bad batch (out-of-range pixels, duplicates, missing pixels), "
        "sent unvalidated: the next training run stops at the data-quality gate",
    )
    add_region(parser)
    parser.add_argument(
        "--dry-run", action="store_true", help="validate and print the batch plan, send nothing"
    )
    parser.add_argument(
        "--drift",
        action="append",
        metavar="SPEC",
        help="shift=X, scale=X, noise=STD or clip=LO:HI; repeat to chain, applied in order "
        "(--digits: the drifted events all come from the source sklearn-digits/scanner-b)",
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
        "--run-id",
        help="reuse the run id a previous run printed, to resume it without duplicates "
        "(default: --file: from the file's content; --digits: new each run)",
    )
    add_workdir(parser)
    parser.add_argument(
        "--rejected-report",
        help="JSON lines of rejected rows (row, reasons, record); default "
        "<workdir>/ingest/<run id>-rejected.jsonl, written only when a row is rejected",
    )
    parser.add_argument(
        "--undelivered-report",
        help="JSON lines of records not delivered (event_id, error); default "
        "<workdir>/ingest/<run id>-undelivered.jsonl",
    )
    parser.add_argument(
        "--local-lake",
        metavar="DIR",
        nargs="?",
        const="",
        help="write Firehose-layout gzip objects under DIR instead of Kinesis "
        "(DIR defaults to <workdir>/lake/raw, the lab's raw zone)",
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
