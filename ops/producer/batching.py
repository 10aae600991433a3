"""Records and batches: validate and encode events, then split them within the Kinesis
PutRecords limits. Every event becomes a Record or a Rejected with its reasons.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model_code.events import (
    validate_event,
)
from ops.errors import UsageError
from ops.producer.drift import Drift, drift_event, range_reasons

# PutRecords service limits (Kinesis Data Streams API reference).
MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024  # data + partition keys of the whole request
MAX_BYTES_PER_RECORD = 1024 * 1024  # data + partition key of one record
MAX_PARTITION_KEY_CHARS = 256


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
    """Greedy split in input order: a batch closes when the next record would break a limit.
    (iter_batches checks the batch size; list() runs it, so a bad size raises here too.)"""
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
