"""A deliberately bad batch of Digits events, to see the data-quality gate stop a run.

It stands for a producer that skipped the client-side checks (``validate_stream``): the
events go to the stream or the local lake as they are. Each defect breaks one declared
constraint (pipelines/data_quality_gate.py DEFAULTS) on its own, next to the 1,797 good
events the lab ingests:

    out_of_range   events with pixel f5 = 99 (range 0-16)      -> max_rejected_share
    duplicated     events of class 0 sent twice (same id)      -> max_duplicate_share,
                                                                   max_class_imbalance
    missing        events with a null pixel (schema rejects)   -> max_rejected_share
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ops.producer.batching import Record, encode
from ops.producer.readers import digits_events

OUT_OF_RANGE_VALUE = 99.0
OUT_OF_RANGE_PIXEL = 5
DEFECTS = {"out_of_range": 150, "duplicated": 200, "missing": 50}


def bad_batch_events(
    run_id: str, base_time: datetime | None = None, defects: dict[str, int] | None = None
) -> list[dict[str, Any]]:
    """The events of one bad batch, in sending order (a duplicate follows its first copy)."""
    counts = {**DEFECTS, **(defects or {})}
    pool = digits_events(base_time=base_time, run_id=f"bad-{run_id}")
    zeros = [e for e in pool if e["label"] == 0]
    others = [e for e in pool if e["label"] != 0]
    if counts["duplicated"] > len(zeros) * 2:
        raise ValueError(f"at most {len(zeros) * 2} duplicated events")
    events: list[dict[str, Any]] = []
    for i in range(counts["duplicated"]):  # class 0 only, so the classes skew as well
        event = zeros[i % len(zeros)]
        if i >= len(zeros):  # more copies than class-0 images: new ids for the second round
            event = {**event, "event_id": f"{event['event_id']}-r"}
        events += [event, dict(event)]
    rest = iter(others)
    for _ in range(counts["out_of_range"]):
        event = next(rest)
        features = list(event["features"])
        features[OUT_OF_RANGE_PIXEL] = OUT_OF_RANGE_VALUE
        events.append({**event, "features": features})
    for _ in range(counts["missing"]):
        event = next(rest)
        features = list(event["features"])
        features[0] = None
        events.append({**event, "features": features})
    return events


def bad_batch_records(events: list[dict[str, Any]]) -> Iterator[Record]:
    """The events as records, unvalidated: the point is that nothing stopped them."""
    for row, event in enumerate(events, 1):
        yield Record(row, event["event_id"], encode(event))
