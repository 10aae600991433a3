"""Inputs: the Digits dataset and CSV/Parquet files as events, streamed row by row.

A file that cannot be read is a UsageError (the file is wrong, not one row); a bad cell
is left for validation to reject that row.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from model_code.events import (
    DIGITS_DEVICE_SOURCES,
    N_FEATURES,
)
from ops.errors import UsageError

# Columns with a meaning of their own; every other column is a feature, in file order.
RESERVED_COLUMNS = ("event_id", "event_time", "source", "label")
DIGITS_SOURCE = "sklearn-digits"
PARQUET_BATCH_ROWS = 10_000  # rows read from a Parquet file at a time


def utc_stamp(when: datetime) -> str:
    """ISO-8601 in UTC with a Z suffix, the form the event schema documents."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id() -> str:
    """A fresh id for one batch of generated traffic: 8 random hex digits."""
    return uuid.uuid4().hex[:8]


def device_source(index: int) -> str:
    """The scanner group that captured Digits image ``index``: a fixed pseudo-random third of
    the images (SHA-256 of the index) comes from the second group, so the same image always
    has the same source and the groups' label mixes differ only by chance."""
    digest = int(hashlib.sha256(str(index).encode()).hexdigest(), 16)
    return DIGITS_DEVICE_SOURCES[1] if digest % 3 == 2 else DIGITS_DEVICE_SOURCES[0]


def digits_events(
    limit: int | None = None,
    base_time: datetime | None = None,
    source: str | None = None,
    run_id: str | None = None,
) -> list[dict[str, Any]]:
    """The 1,797 sklearn Digits images as events; event_time = base_time + i seconds.

    ``source``: every event's source; default: the scanner group of each image
    (``device_source``), the facet the bias checks split by.

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
            "source": source or device_source(i),
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
