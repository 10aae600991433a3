"""The Kinesis sender: PutRecords per batch with per-record retries and full-jitter backoff;
what is still failing is reported undelivered with the service's error, never dropped.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.errors import NO_CREDENTIALS, NO_REGION, UsageError
from ops.producer.batching import Record

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


def kinesis_client(region: str | None) -> Any:
    """A Kinesis client whose own retries are off: send_batches retries and counts them."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    try:
        client = boto3.client(
            "kinesis",
            region_name=region,
            config=Config(retries={"total_max_attempts": 1}),
        )
    except NoRegionError as err:
        raise UsageError(NO_REGION) from err
    # Without credentials every PutRecords fails the same way: say so once, send nothing.
    if boto3.Session().get_credentials() is None:
        raise UsageError(NO_CREDENTIALS)
    return client
