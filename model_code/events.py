"""The one event shape the platform ingests, and where Firehose puts it in the raw zone.

An event is one JSON object per line (the producer appends the newline; Firehose
concatenates record data as sent):

    {"event_id": "digits-000042", "event_time": "2026-11-29T01:02:03Z",
     "features": [0.0, 3.0, ...64 numbers...], "label": 6,
     "source": "sklearn-digits/scanner-a"}

``label`` may be null or absent (unlabelled traffic). ``source`` names what captured the
event; it is the facet the bias checks split the rows by (model_code/bias.py): the Digits
producer assigns each image to one of two scanner groups (``DIGITS_DEVICE_SOURCES``), and
drifted traffic it generates comes from the second one (``SKEWED_DIGITS_SOURCE``).
Objects land GZIP-compressed under ``events/year=YYYY/month=MM/day=DD/hour=HH/`` of the raw
bucket, named as Firehose names them, and the local lab writes exactly that layout under
``<workdir>/lake/raw/``.
Used by the producer (labctl) and by preprocessing inside SageMaker: standard library only.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

N_FEATURES = 64
N_CLASSES = 10
REQUIRED = ("event_id", "event_time", "features", "source")
# The capturing sources of generated Digits events: <dataset>/<scanner group>.
DIGITS_DEVICE_SOURCES = ("sklearn-digits/scanner-a", "sklearn-digits/scanner-b")
SKEWED_DIGITS_SOURCE = DIGITS_DEVICE_SOURCES[1]
OPTIONAL = ("label",)
RAW_PREFIX = "events/"
ERROR_PREFIX = "errors/"
# Firehose custom prefix (namespaced timestamp expressions are evaluated in UTC).
FIREHOSE_PREFIX = (
    "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
)
FIREHOSE_ERROR_PREFIX = (
    "errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/"
    "day=!{timestamp:dd}/hour=!{timestamp:HH}/"
)


def partition_prefix(when: datetime) -> str:
    """The prefix Firehose evaluates FIREHOSE_PREFIX to for an arrival time."""
    when = when.astimezone(UTC)
    return f"events/year={when:%Y}/month={when:%m}/day={when:%d}/hour={when:%H}/"


def object_name(stream_name: str, when: datetime, suffix: str) -> str:
    """Firehose object naming: <stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<random>.gz"""
    when = when.astimezone(UTC)
    return f"{stream_name}-1-{when:%Y-%m-%d-%H-%M-%S}-{suffix}.gz"


def validate_event(event: Any, n_features: int = N_FEATURES) -> list[str]:
    """Every reason the event breaks the schema; empty when it is valid."""
    if not isinstance(event, dict):
        return [f"event must be a JSON object, got {type(event).__name__}"]
    errors = [f"missing field {name!r}" for name in REQUIRED if name not in event]
    unknown = sorted(set(event) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        errors.append(f"unknown field(s) {', '.join(unknown)}")
    event_id = event.get("event_id")
    if "event_id" in event and (not isinstance(event_id, str) or not event_id.strip()):
        errors.append("event_id must be a non-empty string")
    if "event_time" in event:
        stamp = event["event_time"]
        try:
            if not isinstance(stamp, str):
                raise ValueError
            datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            errors.append(f"event_time must be an ISO-8601 timestamp, got {stamp!r}")
    if "source" in event and not isinstance(event["source"], str):
        errors.append("source must be a string")
    if "features" in event:
        features = event["features"]
        if not isinstance(features, list):
            errors.append("features must be a list of numbers")
        else:
            if len(features) != n_features:
                errors.append(f"features must hold {n_features} numbers, got {len(features)}")
            bad = [
                i
                for i, x in enumerate(features)
                if isinstance(x, bool)
                or not isinstance(x, (int, float))
                or (isinstance(x, float) and not math.isfinite(x))
            ]
            if bad:
                errors.append(f"features must be finite numbers (bad at index {bad[0]})")
    label = event.get("label")
    if label is not None and (
        isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < N_CLASSES
    ):
        errors.append(f"label must be null or an integer 0-{N_CLASSES - 1}, got {label!r}")
    return errors
