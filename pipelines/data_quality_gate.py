"""The data-quality gate's limits, as the Preprocess job receives them and Glue checks them.

    raw events ──► Preprocess: read ─► data_quality.check ─┬─ holds ──► split ─► Tune ...
                                                          └─ violated: data_quality.json,
                                                             quarantine/, exit 1 (no Tune)

``GateLimits`` is what a profile declares (``core.config.DataQualityConfig``). ``arguments()``
is how the limits reach the job (short flags: a processing job's ContainerArguments are at
most 256 characters each); the job builds ``model_code.data_quality.Constraints`` from them
(``preprocess.digits_constraints``), and infra/training/data_quality.py renders the same
constraints as the Glue Data Quality ruleset (DQDL) the Training stack deploys.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

# The lab's Digits data (1,797 events, pixels 0-16, 174-183 rows per class, no duplicates,
# nothing rejected) holds every default with room; prod-like ingests the same events.
DEFAULTS: dict[str, Any] = {
    "min_rows": 1000,
    "max_rejected_share": 0.05,
    "max_missing_share": 0.01,
    "feature_range": (0.0, 16.0),
    "max_duplicate_share": 0.05,  # Firehose may redeliver: a few later copies are normal
    "min_class_count": 50,
    "max_class_imbalance": 1.5,
}


@dataclass(frozen=True)
class GateLimits:
    """Every limit the gate checks; each is inclusive (observed == limit holds)."""

    min_rows: int = DEFAULTS["min_rows"]
    max_rejected_share: float = DEFAULTS["max_rejected_share"]
    max_missing_share: float = DEFAULTS["max_missing_share"]
    feature_range: tuple[float, float] = DEFAULTS["feature_range"]
    max_duplicate_share: float = DEFAULTS["max_duplicate_share"]
    min_class_count: int = DEFAULTS["min_class_count"]
    max_class_imbalance: float = DEFAULTS["max_class_imbalance"]

    def __post_init__(self) -> None:
        # model_code.data_quality.Constraints judges these again where the job builds them
        # (and infra at synth); pipelines may not import it (a job module: pyproject's
        # contracts-only), so the profile's mistakes are named here, before a render.
        if len(tuple(self.feature_range)) != 2:
            raise ValueError(f"feature_range must be [low, high], got {self.feature_range!r}")
        low, high = (float(v) for v in self.feature_range)
        object.__setattr__(self, "feature_range", (low, high))
        if not low <= high:
            raise ValueError(f"feature_range is empty: low {low:g} > high {high:g}")
        for name in ("min_rows", "min_class_count"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
        for name in ("max_rejected_share", "max_missing_share", "max_duplicate_share"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} must be a share in [0, 1], got {getattr(self, name)}")
        if not float(self.max_class_imbalance) >= 1.0:
            raise ValueError(
                "max_class_imbalance is largest / smallest class count, so it must be >= 1, "
                f"got {self.max_class_imbalance}"
            )

    def limits(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(GateLimits)}

    def arguments(self) -> list[str]:
        """The Preprocess job's command-line flags (model_code/preprocess.py main)."""
        args: list[str] = []
        for name, value in self.limits().items():
            flag = "--" + name.replace("_", "-")
            args += [flag, *(map(str, value) if isinstance(value, tuple) else [str(value)])]
        return args
