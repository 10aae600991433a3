"""The data-quality gate's limits, as the Preprocess job receives them and Glue checks them.

    raw events ──► Preprocess: read ─► data_quality.check ─┬─ holds ──► split ─► Tune ...
                                                          └─ violated: data_quality.json,
                                                             quarantine/, exit 1 (no Tune)

``GateLimits`` is what a profile declares (``core.config.DataQualityConfig`` extends it with
the profile-only switches). ``arguments()`` is how the limits reach the job (short flags: a
processing job's ContainerArguments are at most 256 characters each), ``constraints()`` the
``model_code.data_quality.Constraints`` the job builds from them, and ``ruleset()`` the same
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
        if len(tuple(self.feature_range)) != 2:
            raise ValueError(f"feature_range must be [low, high], got {self.feature_range!r}")
        object.__setattr__(self, "feature_range", tuple(float(v) for v in self.feature_range))
        # data_quality.Constraints validates every value and says which; one feature stands
        # for all 64 (constraints() imports the preprocessing script, sklearn and all).
        from model_code.data_quality import Constraints

        limits = self.limits()
        Constraints(
            **{k: v for k, v in limits.items() if k not in ("max_missing_share", "feature_range")},
            max_missing_share={"f0": limits["max_missing_share"]},
            value_ranges={"f0": limits["feature_range"]},
        )

    def limits(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(GateLimits)}

    def constraints(self) -> Any:
        """The ``model_code.data_quality.Constraints`` the Preprocess job checks."""
        from model_code.preprocess import digits_constraints

        return digits_constraints(**self.limits())

    def arguments(self) -> list[str]:
        """The Preprocess job's command-line flags (model_code/preprocess.py main)."""
        args: list[str] = []
        for name, value in self.limits().items():
            flag = "--" + name.replace("_", "-")
            args += [flag, *(map(str, value) if isinstance(value, tuple) else [str(value)])]
        return args

    def ruleset(self) -> str:
        """The same constraints as DQDL (``model_code.data_quality.to_dqdl``)."""
        from model_code.data_quality import to_dqdl

        return to_dqdl(self.constraints())
