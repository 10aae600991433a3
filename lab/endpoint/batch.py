"""Local batch transform: a SageMaker Transform job's contract over a local "bucket" folder.

What the service does with the job this platform defines (``infra/scoring/construct.py``), done on
this machine with the same endpoint code the real-time path uses (``LocalEndpoint.invoke``):

- input: every object under the prefix (``S3DataType=S3Prefix``), CSV lines ``<id>,<64 numbers>``
  with no header; ``SplitType=Line``, ``BatchStrategy=MultiRecord``: as many lines per request
  as fit in ``MaxPayloadInMB`` (CreateTransformJob: "MultiRecord means a mini-batch is set to
  contain as many records that can fit within the MaxPayloadInMB limit");
- ``DataProcessing``: ``InputFilter "$[1:]"`` (the id column is not sent to the model),
  ``JoinSource=Input``, ``OutputFilter "$[0,-1]"``: each output line is ``<id>,<prediction>``
  ("Associate Prediction Results with Input Records");
- output: ``<output>/<key>.out`` per input object, ``AssembleWith=Line`` (one line per record).

Faults, decided to behave as the service does (SageMaker developer guide, "Batch transform
troubleshooting": "Exceeding the MaxPayloadInMB limit causes an error"; a container error on a
mini-batch fails the job): an empty prefix, a record over ``MaxPayloadInMB`` or a malformed
line **fail the whole job** with a message naming the object and line. Nothing is skipped
silently, and a failed job leaves no ``.out`` file of its own behind (each object's output is
written to a temporary name and renamed only when the whole job succeeded).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lab.endpoint.capture import CaptureWriter
from lab.endpoint.server import LocalEndpoint
from ops.payload import N_FEATURES

# CreateTransformJob.MaxPayloadInMB: default 6, at most 100 (API reference; the troubleshooting
# page: "MaxPayloadInMB (which has a maximum of 100 MB)").
DEFAULT_MAX_PAYLOAD_MB = 6
MAX_PAYLOAD_MB_LIMIT = 100
OUT_SUFFIX = ".out"  # the service names each output object <input key>.out
CONTENT_TYPE = "text/csv"


class BatchTransformError(ValueError):
    """The transform job failed; the message names the object and line, as FailureReason does."""


@dataclass
class BatchResult:
    objects: int = 0
    records: int = 0
    requests: int = 0
    seconds: float = 0.0
    outputs: list[Path] = field(default_factory=list)
    captured: int = 0

    @property
    def rows_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def one_line(self) -> str:
        return (
            f"{self.records} rows from {self.objects} object(s) in {self.requests} request(s), "
            f"{self.rows_per_second:,.0f} rows/s; {self.captured} captured for monitoring"
        )


def input_objects(prefix: Path) -> list[Path]:
    """Every object under the prefix, in key order (S3 lists keys in UTF-8 binary order)."""
    if not prefix.is_dir():
        raise BatchTransformError(f"input prefix {prefix} does not exist")
    objects = sorted(
        (p for p in prefix.rglob("*") if p.is_file() and not p.name.startswith(".")),
        key=lambda p: p.relative_to(prefix).as_posix().encode(),
    )
    if not objects:
        raise BatchTransformError(f"no input objects under {prefix}: nothing to transform")
    return objects


def _records(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("r", encoding="utf-8", newline="") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\r\n")
            if line.strip():  # SplitType=Line: empty lines are no records
                yield number, line


def _split(line: str, where: str) -> tuple[str, str]:
    """(id, features) of ``<id>,<64 numbers>``: InputFilter $[1:] keeps the features."""
    record_id, sep, features = line.partition(",")
    if not sep or not record_id.strip():
        raise BatchTransformError(
            f"{where}: a record is <id>,<{N_FEATURES} numbers>; got {line[:60]!r}"
        )
    return record_id, features


def mini_batches(
    path: Path, max_payload_bytes: int, relative: str
) -> Iterator[list[tuple[int, str, str]]]:
    """MultiRecord mini-batches of (line number, id, features) within the payload limit."""
    batch: list[tuple[int, str, str]] = []
    size = 0
    for number, line in _records(path):
        where = f"{relative} line {number}"
        record_id, features = _split(line, where)
        record_bytes = len(features.encode()) + 1  # the payload carries the filtered record
        if record_bytes > max_payload_bytes:
            raise BatchTransformError(
                f"{where}: a record of {record_bytes} bytes exceeds MaxPayloadInMB "
                f"({max_payload_bytes // (1024 * 1024)} MB); raise max_payload_mb (at most "
                f"{MAX_PAYLOAD_MB_LIMIT}) or split the record"
            )
        if batch and size + record_bytes > max_payload_bytes:
            yield batch
            batch, size = [], 0
        batch.append((number, record_id, features))
        size += record_bytes
    if batch:
        yield batch


def transform(
    endpoint: LocalEndpoint,
    input_prefix: Path,
    output_prefix: Path,
    *,
    max_payload_mb: int = DEFAULT_MAX_PAYLOAD_MB,
    capture: CaptureWriter | None = None,
) -> BatchResult:
    """Run one transform job over ``input_prefix`` into ``output_prefix``; see the module doc.

    ``capture`` (the endpoint's capture layout) receives one record per row with the row's id
    as ``inferenceId``, so the drift job and the label join read batch traffic exactly as they
    read endpoint capture.
    """
    if not 1 <= max_payload_mb <= MAX_PAYLOAD_MB_LIMIT:
        raise BatchTransformError(
            f"max_payload_mb must be 1-{MAX_PAYLOAD_MB_LIMIT} (CreateTransformJob), "
            f"got {max_payload_mb}"
        )
    started = time.perf_counter()
    objects = input_objects(input_prefix)
    result = BatchResult(objects=len(objects))
    pending: list[tuple[Path, Path]] = []
    headers = {"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE}
    try:
        for path in objects:
            relative = path.relative_to(input_prefix).as_posix()
            target = output_prefix / (relative + OUT_SUFFIX)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
            pending.append((partial, target))
            with partial.open("w", encoding="utf-8", newline="\n") as out:
                for batch in mini_batches(path, max_payload_mb * 1024 * 1024, relative):
                    body = "".join(f"{features}\n" for _, _, features in batch).encode()
                    reply = endpoint.invoke(headers, body)
                    result.requests += 1
                    if reply.status != 200:
                        first, last = batch[0][0], batch[-1][0]
                        raise BatchTransformError(
                            f"{relative} lines {first}-{last}: the model answered "
                            f"{reply.status}: {reply.body.decode(errors='replace')[:300]}"
                        )
                    answers = reply.body.decode().splitlines()
                    if len(answers) != len(batch):
                        raise BatchTransformError(
                            f"{relative}: {len(batch)} records sent, {len(answers)} answers"
                        )
                    for (_, record_id, features), answer in zip(batch, answers, strict=True):
                        out.write(f"{record_id},{answer}\n")  # OutputFilter $[0,-1]
                        if capture is not None and capture.capture(
                            CONTENT_TYPE,
                            f"{features}\n".encode(),
                            CONTENT_TYPE,
                            f"{answer}\n".encode(),
                            inference_id=record_id,
                        ):
                            result.captured += 1
                    result.records += len(batch)
    except BaseException:
        for partial, _ in pending:
            partial.unlink(missing_ok=True)
        raise
    for partial, target in pending:
        partial.replace(target)
        result.outputs.append(target)
    result.seconds = time.perf_counter() - started
    return result


def read_output(output_prefix: Path) -> dict[str, str]:
    """``{id: prediction}`` of every ``.out`` object under the prefix (the Glue table's rows)."""
    rows: dict[str, str] = {}
    for path in sorted(output_prefix.rglob(f"*{OUT_SUFFIX}")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record_id, _, prediction = line.rpartition(",")
            rows[record_id] = prediction
    return rows


def write_scoring_input(raw_dir: Path, prefix: Path, limit: int | None = None) -> int:
    """Curate raw events (``events/.../*.gz``) into the scoring input ``<id>,<64 numbers>``.

    The lab's stand-in for whatever curates the lake: one ``part-00000.csv`` under ``prefix``.
    Returns the number of rows written; events that fail validation are not curated.
    """
    import gzip
    import json

    from model_code.events import validate_event

    prefix.mkdir(parents=True, exist_ok=True)
    written = 0
    seen: set[str] = set()
    with (prefix / "part-00000.csv").open("w", encoding="utf-8", newline="\n") as out:
        for path in sorted(raw_dir.rglob("*.gz")):
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                for line in handle:
                    try:
                        event = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if validate_event(event) or event["event_id"] in seen:
                        continue
                    features = event["features"]
                    if any(v is None for v in features):
                        continue  # imputation is the training pipeline's; score complete rows
                    seen.add(event["event_id"])
                    out.write(event["event_id"] + "," + ",".join(f"{v:g}" for v in features) + "\n")
                    written += 1
                    if limit is not None and written >= limit:
                        return written
    return written
