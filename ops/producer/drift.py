"""Drift injection: seeded shift/scale/noise/clip steps applied to the features, and the
Digits pixel-range check made before drift.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ops.errors import UsageError

DIGITS_RANGE = (0.0, 16.0)  # 8x8 images, 4-bit grey levels (sklearn load_digits)


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
