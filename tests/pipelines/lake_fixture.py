"""Write sklearn Digits as raw lake events (gzip JSON lines, Firehose partition layout)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from model_code.events import object_name, partition_prefix

START = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)


def digits_events(limit: int | None = None) -> list[dict[str, Any]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    rows = list(zip(digits.data, digits.target, strict=True))[:limit]
    return [
        {
            "event_id": f"digits-{i:06d}",
            "event_time": (START + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
            "features": [float(x) for x in features],
            "label": int(label),
            "source": "sklearn-digits",
        }
        for i, (features, label) in enumerate(rows)
    ]


def write_events(
    raw_root: Path, events: list[Any], files: int = 3, extra_lines: list[str] | None = None
) -> list[Path]:
    """Spread events over `files` objects in consecutive hour partitions under raw_root."""
    written = []
    for part in range(files):
        when = START + timedelta(hours=part)
        path = raw_root / partition_prefix(when) / object_name("digits", when, f"{part:04d}")
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps(e) for e in events[part::files]]
        if part == 0 and extra_lines:
            lines += extra_lines
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))
        written.append(path)
    return written


def write_digits_lake(raw_root: Path, limit: int | None = None) -> list[Path]:
    return write_events(raw_root, digits_events(limit))
