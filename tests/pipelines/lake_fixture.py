"""Digits as raw lake events, written by the product's own generator and lake writer
(ops.producer): the fixture only chooses the times, the spread and any extra lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ops.producer import digits_events as product_digits_events
from ops.producer import encode, write_object

START = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)


def digits_events(limit: int | None = None) -> list[dict[str, Any]]:
    """The Digits events with ids digits-<i> and event_time START + i seconds."""
    return product_digits_events(limit, base_time=START)


def write_events(
    raw_root: Path, events: list[Any], files: int = 3, extra_lines: list[str] | None = None
) -> list[Path]:
    """Spread events over `files` objects in consecutive hour partitions under raw_root;
    ``extra_lines`` (raw text, e.g. malformed JSON) go into the first object as they are."""
    written = []
    for part in range(files):
        when = START + timedelta(hours=part)
        data = b"".join(encode(e) for e in events[part::files])
        if part == 0 and extra_lines:
            data += "".join(line + "\n" for line in extra_lines).encode()
        written.append(write_object(raw_root, "digits", when, data, f"{part:04d}"))
    return written


def write_digits_lake(raw_root: Path, limit: int | None = None) -> list[Path]:
    return write_events(raw_root, digits_events(limit))
