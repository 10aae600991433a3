"""Producer library: turn a CSV/Parquet file or the Digits dataset into validated events,
batch them within the Kinesis PutRecords limits, send them with per-record retries, or
write exactly what Firehose would write to the raw zone (the local lake).
No record is silently lost: each one is delivered, reported as rejected, or reported as
undelivered with the error the service gave for it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import numbers
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from labctl.errors import UsageError
from model_code.events import (
    N_FEATURES,
    RAW_PREFIX,
    object_name,
    partition_prefix,
    validate_event,
)

# PutRecords service limits (Kinesis Data Streams API reference).
MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024  # data + partition keys of the whole request
MAX_BYTES_PER_RECORD = 1024 * 1024  # data + partition key of one record
MAX_PARTITION_KEY_CHARS = 256

# Columns with a meaning of their own; every other column is a feature, in file order.
RESERVED_COLUMNS = ("event_id", "event_time", "source", "label")
DIGITS_SOURCE = "sklearn-digits"
DIGITS_RANGE = (0.0, 16.0)  # 8x8 images, 4-bit grey levels (sklearn load_digits)
PARQUET_BATCH_ROWS = 10_000  # rows read from a Parquet file at a time

# Whole-call errors worth retrying: throttling and transient service faults.
RETRYABLE_CALL_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "LimitExceededException",
        "KMSThrottlingException",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


def utc_stamp(when: datetime) -> str:
    """ISO-8601 in UTC with a Z suffix, the form the event schema documents."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- inputs


def new_run_id() -> str:
    """A fresh id for one batch of generated traffic: 8 random hex digits."""
    return uuid.uuid4().hex[:8]


def digits_events(
    limit: int | None = None,
    base_time: datetime | None = None,
    source: str = DIGITS_SOURCE,
    run_id: str | None = None,
) -> list[dict[str, Any]]:
    """The 1,797 sklearn Digits images as events; event_time = base_time + i seconds.

    event_id is ``digits-<run_id>-<i>``: each run of generated traffic is new traffic (a
    repeat of the same ids would be dropped downstream as duplicates), and rerunning with
    the same run id repeats exactly the same events. Without run_id: ``digits-<i>``.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    base = base_time or datetime.now(UTC).replace(microsecond=0)
    count = len(digits.target) if limit is None else min(limit, len(digits.target))
    return [
        {
            "event_id": f"digits-{run_id}-{i:06d}" if run_id else f"digits-{i:06d}",
            "event_time": utc_stamp(base + timedelta(seconds=i)),
            "features": [float(x) for x in digits.data[i]],
            "label": int(digits.target[i]),
            "source": source,
        }
        for i in range(count)
    ]


def _csv_header(path: Path) -> list[str]:
    import csv

    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle, strict=True), None)
    except csv.Error as err:
        raise UsageError(f"input file {path} is malformed CSV: {err}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"input file {path} cannot be read: {err}") from err
    if header is None or not any(h.strip() for h in header):
        raise UsageError(f"input file {path} is empty (no header row)")
    return [h.strip() for h in header]


def _csv_rows(path: Path, columns: list[str]) -> Iterator[dict[str, Any]]:
    """Strict CSV, one row at a time: rows with exactly as many fields as the header."""
    import csv

    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, strict=True)
            next(reader, None)  # the header, read by _csv_header
            for fields in reader:
                if not fields or fields == [""]:
                    continue  # blank lines carry no record
                if len(fields) != len(columns):
                    raise UsageError(
                        f"input file {path} is malformed CSV: line {reader.line_num} has "
                        f"{len(fields)} fields, the header has {len(columns)}"
                    )
                yield dict(zip(columns, fields, strict=True))
    except csv.Error as err:
        raise UsageError(f"input file {path} is malformed CSV: {err}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"input file {path} cannot be read: {err}") from err


def _parquet_rows(path: Path, parquet: Any) -> Iterator[dict[str, Any]]:
    """Parquet, one record batch at a time (never the whole table in memory)."""
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            names = [str(c).strip() for c in batch.schema.names]
            for row in batch.to_pylist():
                yield dict(zip(names, row.values(), strict=True))
    except Exception as err:  # pyarrow raises its own hierarchy for corrupt Parquet
        raise UsageError(f"input file {path} cannot be read as Parquet: {err}") from err


def _no_duplicates(path: Path, columns: list[str]) -> None:
    # One counting pass: columns.count() per column was quadratic in a wide header.
    duplicated = sorted(name for name, n in Counter(columns).items() if n > 1)
    if duplicated:
        shown = ", ".join(duplicated[:10]) + (" ..." if len(duplicated) > 10 else "")
        raise UsageError(f"input file {path}: duplicate column(s) {shown}")


def _open_table(path: Path) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """(columns, row iterator) of the file; every way it can be unreadable becomes a
    UsageError (the header now, a bad row when the iterator reaches it)."""
    if not path.is_file():
        raise UsageError(f"input file {path} does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        columns = _csv_header(path)
        _no_duplicates(path, columns)  # a dict per row would silently keep the last
        return columns, _csv_rows(path, columns)
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
            columns = [str(c).strip() for c in parquet.schema_arrow.names]
        except Exception as err:  # pyarrow raises its own hierarchy for corrupt Parquet
            raise UsageError(f"input file {path} cannot be read as Parquet: {err}") from err
        _no_duplicates(path, columns)
        return columns, _parquet_rows(path, parquet)
    raise UsageError(f"input file {path}: unknown extension {path.suffix!r} (use .csv or .parquet)")


def content_id(path: Path) -> str:
    """8 hex digits of the file's SHA-256: the default run id of a file's events."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:
        raise UsageError(f"input file {path} cannot be read: {err}") from err
    return digest.hexdigest()[:8]


def _to_number(value: Any) -> float | None:
    """A feature cell as a float; None for a missing cell; raises ValueError for text."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        return float(text)  # ValueError for "abc"
    if isinstance(value, bool):
        raise TypeError(f"boolean {value!r}")
    number = float(value)
    return None if math.isnan(number) else number


def _label(value: Any) -> Any:
    """Integral numbers become int; blanks become None; anything else stays for validation."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            return text  # validate_event rejects it with the offending value
    # numbers.Real also covers numpy scalars from Parquet (np.int64 is not an int).
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np_bool())):
        number = float(value)
        if math.isnan(number):
            return None
        return int(number) if number.is_integer() else number
    return value


def np_bool() -> type:
    import numpy as np

    return np.bool_


def file_events(
    path: Path,
    base_time: datetime | None = None,
    source: str | None = None,
    limit: int | None = None,
    run_id: str | None = None,
) -> list[dict[str, Any]]:
    """Every event of the file in a list (small files, tests); see iter_file_events."""
    return list(iter_file_events(path, base_time, source, limit, run_id))


def iter_file_events(
    path: Path,
    base_time: datetime | None = None,
    source: str | None = None,
    limit: int | None = None,
    run_id: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Events from a CSV or Parquet file, streamed (convention in labctl/ingest's docstring).

    The header is checked on the call; rows are read as the iterator advances. Feature
    columns are every column except event_id/event_time/source/label, in file order, and
    there must be exactly 64 of them. Missing event_id -> "<file stem>-<run_id>-<row:06d>"
    ("<file stem>-<row:06d>" without run_id), missing event_time -> base_time + row seconds,
    missing source -> "file:<name>". A feature column holding text is a UsageError (the file
    is wrong, not one row); a blank feature cell is left as a non-finite value so that
    validation rejects just that row. A file without data rows is a UsageError at the end.
    """
    columns, rows = _open_table(path)
    features = [c for c in columns if c not in RESERVED_COLUMNS]
    if len(features) != N_FEATURES:
        raise UsageError(
            f"input file {path}: expected exactly {N_FEATURES} feature columns (every column "
            f"except {', '.join(RESERVED_COLUMNS)}), found {len(features)}"
        )
    return _file_events(path, features, rows, base_time, source, limit, run_id)


def _file_events(
    path: Path,
    features: list[str],
    rows: Iterator[dict[str, Any]],
    base_time: datetime | None,
    source: str | None,
    limit: int | None,
    run_id: str | None,
) -> Iterator[dict[str, Any]]:
    base = base_time or datetime.now(UTC).replace(microsecond=0)
    default_source = source or f"file:{path.name}"
    stem = f"{path.stem}-{run_id}" if run_id else path.stem
    index = -1
    for index, row in enumerate(rows):
        if limit is not None and index >= limit:
            break
        values: list[Any] = []
        for column in features:
            try:
                number = _to_number(row[column])
            except (TypeError, ValueError) as err:
                raise UsageError(
                    f"input file {path}: feature column {column!r} is not numeric "
                    f"(row {index + 1}: {row[column]!r})"
                ) from err
            # NaN marks a blank cell; validate_event rejects the row with its index.
            values.append(math.nan if number is None else number)
        event: dict[str, Any] = {
            "event_id": _cell(row.get("event_id")) or f"{stem}-{index + 1:06d}",
            "event_time": _cell(row.get("event_time"))
            or utc_stamp(base + timedelta(seconds=index)),
            "features": values,
            "source": _cell(row.get("source")) or default_source,
        }
        if "label" in row:
            event["label"] = _label(row["label"])
        yield event
    if index < 0:
        raise UsageError(f"input file {path} has no data rows")


def _cell(value: Any) -> Any:
    """A blank or missing optional cell is None, so the documented default applies."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, datetime):  # Parquet timestamp columns
        return utc_stamp(value if value.tzinfo else value.replace(tzinfo=UTC))
    return str(value)


# --------------------------------------------------------------------------- drift


@dataclass(frozen=True)
class Drift:
    """One drift step: shift (add), scale (multiply), noise (gaussian std), clip (lo:hi)."""

    kind: str
    value: float
    high: float = 0.0

    def describe(self) -> str:
        if self.kind == "clip":
            return f"clip={self.value:g}:{self.high:g}"
        return f"{self.kind}={self.value:g}"


DRIFT_KINDS = ("shift", "scale", "noise", "clip")


def parse_drift(spec: str) -> Drift:
    """Parse 'shift=2.0', 'scale=1.3', 'noise=1.5' or 'clip=0:16'; UsageError otherwise."""
    kind, sep, raw = spec.partition("=")
    kind = kind.strip().lower()
    if not sep or kind not in DRIFT_KINDS:
        raise UsageError(f"bad --drift {spec!r}: use shift=X, scale=X, noise=STD or clip=LO:HI")
    try:
        if kind == "clip":
            low, _, high = raw.partition(":")
            drift = Drift("clip", float(low), float(high))
            if not drift.value < drift.high:
                raise ValueError
        else:
            drift = Drift(kind, float(raw))
    except ValueError as err:
        raise UsageError(f"bad --drift {spec!r}: value must be a number (clip: LO<HI)") from err
    if not (math.isfinite(drift.value) and math.isfinite(drift.high)):
        raise UsageError(f"bad --drift {spec!r}: value must be finite")
    if kind == "noise" and drift.value < 0:
        raise UsageError(f"bad --drift {spec!r}: noise std must be >= 0")
    return drift


def apply_drift(
    events: list[dict[str, Any]], drifts: Sequence[Drift], seed: int | None = None
) -> list[dict[str, Any]]:
    """New events with the drift steps applied to every feature, in the order given.

    Seeded so a monitoring lab can reproduce the same drifted traffic. Values are rounded
    to 4 decimals (keeps records small); non-finite inputs stay non-finite so validation
    still rejects rows that were bad before drifting.
    """
    if not drifts:
        return events
    rng = random.Random(seed)
    return [drift_event(event, drifts, rng) for event in events]


def drift_event(event: dict[str, Any], drifts: Sequence[Drift], rng: random.Random) -> dict:
    """One event with the drift steps applied (see apply_drift)."""
    values = list(event.get("features", []))
    for step in drifts:
        values = [_drift_value(x, step, rng) for x in values]
    return {**event, "features": values}


def range_reasons(event: dict[str, Any]) -> list[str]:
    """Why the event's pixels are not Digits pixels (0-16); empty when they are or when
    the features are malformed anyway (validate_event names that)."""
    features = event.get("features")
    if not isinstance(features, list):
        return []
    low, high = DIGITS_RANGE
    for index, x in enumerate(features):
        if (
            isinstance(x, (int, float))
            and not isinstance(x, bool)
            and math.isfinite(x)
            and not low <= x <= high
        ):
            return [
                f"pixel value {x:g} at index {index} is outside the Digits range {low:g}-{high:g}"
            ]
    return []


def _drift_value(x: Any, step: Drift, rng: random.Random) -> Any:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return x
    if step.kind == "shift":
        y = x + step.value
    elif step.kind == "scale":
        y = x * step.value
    elif step.kind == "noise":
        y = x + rng.gauss(0.0, step.value)
    else:
        y = min(max(x, step.value), step.high)
    return round(float(y), 4)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Record:
    """One PutRecords entry: data is the compact JSON of the event plus a newline."""

    row: int
    event_id: str
    data: bytes

    @property
    def partition_key(self) -> str:
        return self.event_id

    @property
    def size(self) -> int:
        # The limits count data bytes plus the partition key (UTF-8 bytes, conservatively).
        return len(self.data) + len(self.event_id.encode())


@dataclass(frozen=True)
class Rejected:
    row: int
    reasons: list[str]
    record: Any

    def to_json(self) -> str:
        # Strict JSON: a blank cell's NaN (or an infinity) is written as null.
        return json.dumps(
            {"row": self.row, "reasons": self.reasons, "record": _finite(self.record)},
            default=str,
            allow_nan=False,
        )


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def encode(event: dict[str, Any]) -> bytes:
    return (json.dumps(event, separators=(",", ":"), allow_nan=False) + "\n").encode()


def prepare(events: Iterable[dict[str, Any]]) -> tuple[list[Record], list[Rejected]]:
    """Validate and encode; every event ends up in exactly one of the two lists.

    Rows are numbered from 1 in input order (for CSV: data row n is file line n + 1).
    Beyond the schema, a record is rejected when its partition key exceeds 256 characters,
    when data + key exceed 1 MiB, or when its event_id repeats an earlier row's (ids are the
    conservation key downstream).
    """
    records: list[Record] = []
    rejected: list[Rejected] = []
    for item in validate_stream(events):
        if isinstance(item, Record):
            records.append(item)
        else:
            rejected.append(item)
    return records, rejected


def validate_stream(
    events: Iterable[dict[str, Any]],
    drifts: Sequence[Drift] = (),
    seed: int | None = None,
    check_range: bool = False,
) -> Iterator[Record | Rejected]:
    """prepare() one event at a time: a Record or a Rejected per event, in input order.

    With check_range, an input event whose pixels leave the Digits range 0-16 is rejected
    before drift is applied (drift is the lab's deliberate distortion and may leave it).
    Memory: the event ids seen so far (for the duplicate check), nothing else.
    """
    rng = random.Random(seed)
    seen: dict[str, int] = {}
    for row, event in enumerate(events, 1):
        reasons = range_reasons(event) if check_range else []
        if not reasons and drifts:
            event = drift_event(event, drifts, rng)
        reasons = reasons or validate_event(event)
        if not reasons:
            event_id = event["event_id"]
            if len(event_id) > MAX_PARTITION_KEY_CHARS:
                reasons.append(
                    f"event_id is {len(event_id)} characters; it is the partition key, "
                    f"which Kinesis limits to {MAX_PARTITION_KEY_CHARS}"
                )
            elif event_id in seen:
                reasons.append(f"duplicate event_id {event_id!r} (first at row {seen[event_id]})")
        if not reasons:
            record = Record(row, event["event_id"], encode(event))
            if record.size > MAX_BYTES_PER_RECORD:
                reasons.append(
                    f"record is {record.size} bytes (data + partition key), over the "
                    f"{MAX_BYTES_PER_RECORD}-byte (1 MiB) PutRecords limit per record"
                )
            else:
                seen[record.event_id] = row
                yield record
                continue
        yield Rejected(row, reasons, event)


def plan_batches(
    records: Sequence[Record],
    max_records: int = MAX_RECORDS_PER_CALL,
    max_bytes: int = MAX_BYTES_PER_CALL,
) -> list[list[Record]]:
    """Greedy split in input order: a batch closes when the next record would break a limit."""
    if not 1 <= max_records <= MAX_RECORDS_PER_CALL:
        raise UsageError(f"batch size must be 1-{MAX_RECORDS_PER_CALL}, got {max_records}")
    return list(iter_batches(records, max_records, max_bytes))


def iter_batches(
    records: Iterable[Record],
    max_records: int = MAX_RECORDS_PER_CALL,
    max_bytes: int = MAX_BYTES_PER_CALL,
) -> Iterator[list[Record]]:
    """plan_batches() one batch at a time."""
    if not 1 <= max_records <= MAX_RECORDS_PER_CALL:
        raise UsageError(f"batch size must be 1-{MAX_RECORDS_PER_CALL}, got {max_records}")
    current: list[Record] = []
    used = 0
    for record in records:
        if record.size > min(max_bytes, MAX_BYTES_PER_RECORD):
            # prepare() already rejects these; guard so no call can be refused as a whole.
            raise ValueError(f"record for {record.event_id} is {record.size} bytes, over limit")
        if current and (len(current) >= max_records or used + record.size > max_bytes):
            yield current
            current, used = [], 0
        current.append(record)
        used += record.size
    if current:
        yield current


def describe_plan(batches: Sequence[Sequence[Record]], show: int = 20) -> str:
    lines = [f"batch plan: {sum(map(len, batches))} records in {len(batches)} PutRecords calls"]
    for index, batch in enumerate(batches[:show], 1):
        size = sum(r.size for r in batch)
        lines.append(
            f"  batch {index:>4}: {len(batch):>3} records, {size:>9,} bytes "
            f"(rows {batch[0].row}-{batch[-1].row})"
        )
    if len(batches) > show:
        lines.append(f"  ... {len(batches) - show} more batches")
    return "\n".join(lines)


def write_rejected(path: Path, rejected: Sequence[Rejected]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for item in rejected:
            out.write(item.to_json() + "\n")


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class Undelivered:
    row: int
    event_id: str
    error_code: str
    error_message: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "row": self.row,
                "event_id": self.event_id,
                "error_code": self.error_code,
                "error_message": self.error_message,
            }
        )


@dataclass
class SendResult:
    total: int = 0
    sent: int = 0
    retried: int = 0  # record re-sends (one record retried twice counts 2)
    calls: int = 0
    throttled_calls: int = 0  # whole-call errors that were retried
    undelivered: list[Undelivered] = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False  # a non-retryable whole-call error ended the run

    @property
    def failed(self) -> int:
        return len(self.undelivered)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: sleep U(0, min(cap, base * 2**(attempt-1)))."""

    max_attempts: int = 8
    base: float = 0.1
    cap: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def wait(self, attempt: int) -> None:
        self.sleep(self.rng.uniform(0.0, min(self.cap, self.base * 2 ** (attempt - 1))))


def _call_error(err: Exception) -> tuple[str, str, bool]:
    """(code, message, retryable) for an exception raised by the whole PutRecords call."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        code = str(error.get("Code", "ClientError"))
        return code, str(error.get("Message", err)), code in RETRYABLE_CALL_ERRORS
    transient = (
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )
    return type(err).__name__, str(err), isinstance(err, transient)


def send_batches(
    client: Any,
    stream_name: str,
    batches: Sequence[Sequence[Record]],
    backoff: Backoff | None = None,
    progress: Callable[[int], None] | None = None,
) -> SendResult:
    """PutRecords each batch, re-sending only the entries that came back with an ErrorCode.

    A record is retried up to backoff.max_attempts times in total; whatever is still
    failing after that is returned in result.undelivered with its last ErrorCode. A
    non-retryable whole-call error (missing stream, no credentials) stops the run: every
    record not yet accepted is reported undelivered with that error.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    backoff = backoff or Backoff()
    result = SendResult(total=sum(map(len, batches)))
    started = time.perf_counter()
    for position, batch in enumerate(batches):
        pending = list(batch)
        last_error: dict[str, tuple[str, str]] = {}
        attempt = 0
        while pending:
            attempt += 1
            if attempt > backoff.max_attempts:
                break
            if attempt > 1:
                result.retried += len(pending)
                backoff.wait(attempt - 1)
            result.calls += 1
            try:
                response = client.put_records(
                    StreamName=stream_name,
                    Records=[{"Data": r.data, "PartitionKey": r.partition_key} for r in pending],
                )
            except (ClientError, BotoCoreError) as err:
                code, message, retryable = _call_error(err)
                for record in pending:
                    last_error[record.event_id] = (code, message)
                if retryable:
                    result.throttled_calls += 1
                    continue
                leftover = pending + [r for b in batches[position + 1 :] for r in b]
                result.undelivered += [
                    Undelivered(r.row, r.event_id, code, message) for r in leftover
                ]
                result.seconds = time.perf_counter() - started
                result.stopped = True
                return result
            entries = response.get("Records", [])
            if len(entries) != len(pending):
                # The API answers one entry per record, in order; anything else is unsafe
                # to map back, so treat every record of the call as failed and retry it.
                for record in pending:
                    last_error[record.event_id] = (
                        "MalformedResponse",
                        f"{len(entries)} result entries for {len(pending)} records",
                    )
                continue
            still: list[Record] = []
            for record, entry in zip(pending, entries, strict=True):
                if entry.get("ErrorCode"):
                    last_error[record.event_id] = (
                        str(entry["ErrorCode"]),
                        str(entry.get("ErrorMessage", "")),
                    )
                    still.append(record)
            accepted = len(pending) - len(still)
            result.sent += accepted
            if progress and accepted:
                progress(accepted)
            pending = still
        result.undelivered += [
            Undelivered(r.row, r.event_id, *last_error.get(r.event_id, ("Unknown", "")))
            for r in pending
        ]
    result.seconds = time.perf_counter() - started
    return result


def write_undelivered(path: Path, undelivered: Sequence[Undelivered]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for item in undelivered:
            out.write(item.to_json() + "\n")


class Progress:
    """tqdm on stderr when stderr is a terminal (a plain counter line if tqdm is missing).
    ``total`` None: a streamed input whose length is not known in advance."""

    def __init__(self, total: int | None, enabled: bool | None = None) -> None:
        self._bar: Any = None
        self._done, self._total = 0, total
        self._enabled = sys.stderr.isatty() if enabled is None else enabled
        if self._enabled:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, unit="rec", file=sys.stderr, desc="ingest")
            except ImportError:
                pass

    def update(self, n: int) -> None:
        self._done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self._enabled:
            of = f"/{self._total}" if self._total is not None else ""
            print(f"\ringest {self._done}{of} records", end="", file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._enabled:
            print(file=sys.stderr)


# --------------------------------------------------------------------------- local lake


@dataclass
class LakeSummary:
    lake_dir: Path
    stream_name: str
    records: int = 0
    bytes: int = 0
    objects: list[Path] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def one_line(self) -> str:
        partitions = sorted({p.parent for p in self.objects})
        return (
            f"{self.records} events in {len(self.objects)} objects across "
            f"{len(partitions)} hour partition(s) under {self.lake_dir / RAW_PREFIX}, "
            f"{len(self.rejected)} rejected"
        )


def write_lake_records(
    records: Iterable[Record],
    lake_dir: Path,
    stream_name: str,
    buffer_mib: float = 64,
    buffer_seconds: float = 60,
    clock: Callable[[], datetime] | None = None,
    *,
    summary: LakeSummary | None = None,
    committed: Callable[[Path, int], None] | None = None,
) -> LakeSummary:
    """Write records as Firehose would: gzip objects of concatenated record data.

    A buffer opens at the arrival time of its first record and is flushed when the next
    record would take it past buffer_mib (uncompressed, as Firehose counts), when
    buffer_seconds have passed, or when the arrival hour changes. The object goes under
    partition_prefix(open time) named object_name(stream, open time, uuid), written to a
    temporary name and renamed so a reader never sees half an object. After each object,
    ``committed(object, last row in it)`` is called (the ingest ledger); pass ``summary`` to
    keep the objects written so far when the input fails part way.
    """
    clock = clock or (lambda: datetime.now(UTC))
    limit = int(buffer_mib * 1024 * 1024)
    summary = summary or LakeSummary(lake_dir=lake_dir, stream_name=stream_name)
    chunks: list[bytes] = []
    size = 0
    opened: datetime | None = None
    last_row = 0

    def flush() -> None:
        nonlocal chunks, size, opened
        if opened is None or not chunks:
            return
        folder = lake_dir / partition_prefix(opened)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / object_name(stream_name, opened, str(uuid.uuid4()))
        temporary = target.with_name("." + target.name + ".tmp")
        # zlib's default level 6, not gzip.compress's 9: on 8 MB of Digits events level 9
        # took 6.1 s and level 6 0.3 s, for objects 10 % larger (1.16 vs 1.28 MB).
        temporary.write_bytes(gzip.compress(b"".join(chunks), compresslevel=6, mtime=0))
        os.replace(temporary, target)
        summary.objects.append(target)
        summary.records += len(chunks)
        summary.bytes += size
        chunks, size, opened = [], 0, None
        if committed is not None:
            committed(target, last_row)

    for record in records:
        now = clock()
        if opened is not None and (
            size + len(record.data) > limit
            or (now - opened).total_seconds() >= buffer_seconds
            or partition_prefix(now) != partition_prefix(opened)
        ):
            flush()
        if opened is None:
            opened = now
        chunks.append(record.data)
        size += len(record.data)
        last_row = record.row
    flush()
    return summary


class LakeLedger:
    """How far one ingest run got into the local lake, so a rerun resumes instead of
    writing every event again: ``<lake>/.ingest/<stream>/<run id>.json`` holds the last input
    row whose object is complete. Rows are written in input order, so that one number says
    which rows a rerun skips. An interruption between an object's rename and the ledger
    update repeats at most that object's events on the rerun, with the same event ids:
    preprocessing keeps one event per event_id, so the dataset is the same.
    """

    def __init__(self, lake_dir: Path, stream_name: str, run_id: str) -> None:
        self.path = lake_dir / ".ingest" / stream_name / f"{run_id}.json"

    def rows_done(self) -> int:
        try:
            state = json.loads(self.path.read_text())
            return int(state["rows_done"])
        except FileNotFoundError:
            return 0
        except (ValueError, KeyError, TypeError) as err:
            raise UsageError(f"ingest ledger {self.path} is corrupt ({err}): delete it") from err

    def commit(self, rows_done: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}")
        temporary.write_text(json.dumps({"rows_done": rows_done}))
        os.replace(temporary, self.path)

    def reset(self, rows_done: int) -> None:
        if rows_done:
            self.commit(rows_done)
        else:
            self.path.unlink(missing_ok=True)


class ReportFile:
    """A JSON-lines report written as items arrive, to a temporary file that becomes the
    report on commit() (only when something was written) and disappears on discard()."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
        self._handle: Any = None

    def write(self, line: str) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self._temporary.open("w", encoding="utf-8")
        self._handle.write(line + "\n")
        self.count += 1

    def commit(self) -> Path | None:
        if self._handle is None:
            return None
        self._handle.close()
        try:
            os.replace(self._temporary, self.path)
        except OSError as err:
            self._temporary.unlink(missing_ok=True)
            raise UsageError(f"cannot write the report {self.path}: {err.strerror}") from err
        return self.path

    def discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._temporary.unlink(missing_ok=True)
            self._handle = None


def write_local_lake(
    events: Iterable[dict[str, Any]],
    lake_dir: Path,
    stream_name: str,
    buffer_mib: float = 64,
    buffer_seconds: float = 60,
    clock: Callable[[], datetime] | None = None,
) -> LakeSummary:
    """Validate the events and write the valid ones to lake_dir as Firehose would.

    Rejected events are not written; they are returned in summary.rejected (never dropped).
    """
    records, rejected = prepare(events)
    summary = write_lake_records(records, lake_dir, stream_name, buffer_mib, buffer_seconds, clock)
    summary.rejected = rejected
    return summary


def read_lake(lake_dir: Path) -> Iterator[dict[str, Any]]:
    """Every event under lake_dir/events/, object by object (used by tests and the lab)."""
    for path in sorted((lake_dir / RAW_PREFIX).rglob("*.gz")):
        for line in gzip.decompress(path.read_bytes()).decode().splitlines():
            if line:
                yield json.loads(line)
