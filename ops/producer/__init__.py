"""Producer library: turn a CSV/Parquet file or the Digits dataset into validated events,
batch them within the Kinesis PutRecords limits, send them with per-record retries, or
write exactly what Firehose would write to the raw zone (the local lake).
No record is silently lost: each one is delivered, reported as rejected, or reported as
undelivered with the error the service gave for it.

    readers.py   Digits and CSV/Parquet files -> events (streamed)
    drift.py     drift injection (shift/scale/noise/clip) and the Digits range check
    batching.py  validation -> Record | Rejected, batches within the PutRecords limits
    bad_batch.py a deliberately bad batch (for the data-quality gate), sent unvalidated
    kinesis.py   the sender (retries, backoff, undelivered report, progress)
    lake.py      the local lake writer and reader, the ingest ledger, report files

Callers import from ``ops.producer``; the names below are its interface.
"""

from ops.errors import UsageError
from ops.producer.bad_batch import bad_batch_events, bad_batch_records
from ops.producer.batching import (
    MAX_BYTES_PER_CALL,
    MAX_BYTES_PER_RECORD,
    MAX_PARTITION_KEY_CHARS,
    MAX_RECORDS_PER_CALL,
    Record,
    Rejected,
    describe_plan,
    encode,
    iter_batches,
    plan_batches,
    prepare,
    validate_stream,
    write_rejected,
)
from ops.producer.drift import (
    DIGITS_RANGE,
    DRIFT_KINDS,
    Drift,
    apply_drift,
    drift_event,
    parse_drift,
    range_reasons,
)
from ops.producer.kinesis import (
    RETRYABLE_CALL_ERRORS,
    Backoff,
    Progress,
    SendResult,
    Undelivered,
    send_batches,
    write_undelivered,
)
from ops.producer.lake import (
    LakeLedger,
    LakeSummary,
    ReportFile,
    read_lake,
    write_lake_records,
    write_local_lake,
    write_object,
)
from ops.producer.readers import (
    DIGITS_SOURCE,
    PARQUET_BATCH_ROWS,
    RESERVED_COLUMNS,
    content_id,
    digits_events,
    file_events,
    iter_file_events,
    new_run_id,
    utc_stamp,
)

__all__ = [
    "bad_batch_events",
    "bad_batch_records",
    "DIGITS_RANGE",
    "DIGITS_SOURCE",
    "DRIFT_KINDS",
    "MAX_BYTES_PER_CALL",
    "MAX_BYTES_PER_RECORD",
    "MAX_PARTITION_KEY_CHARS",
    "MAX_RECORDS_PER_CALL",
    "PARQUET_BATCH_ROWS",
    "RESERVED_COLUMNS",
    "RETRYABLE_CALL_ERRORS",
    "Backoff",
    "Drift",
    "LakeLedger",
    "LakeSummary",
    "Progress",
    "Record",
    "Rejected",
    "ReportFile",
    "SendResult",
    "Undelivered",
    "UsageError",
    "apply_drift",
    "content_id",
    "describe_plan",
    "digits_events",
    "drift_event",
    "encode",
    "file_events",
    "iter_batches",
    "iter_file_events",
    "new_run_id",
    "parse_drift",
    "plan_batches",
    "prepare",
    "range_reasons",
    "read_lake",
    "send_batches",
    "utc_stamp",
    "validate_stream",
    "write_lake_records",
    "write_local_lake",
    "write_object",
    "write_rejected",
    "write_undelivered",
]
