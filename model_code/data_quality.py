"""Declared data-quality constraints over the events frame, and the same constraints as DQDL.

Runs in the preprocessing container (pandas + numpy, no SDK). ``check`` takes the frame
``preprocess.read_events`` builds (one row per valid event: f0..f63, event_id, event_time,
label) and the count of records the schema already rejected, and returns:

- ``kept``: rows fit to train on;
- ``quarantined``: every other row with a ``reasons`` column (a value outside its declared
  range, or a later copy of an event id): rows are never dropped silently;
- ``report``: a JSON-able dict naming each violated constraint with its observed value and
  limit, and the observed values of every declared constraint.

What each constraint measures (bounds are inclusive: observed == limit holds):

    min_rows              kept rows >= limit
    max_rejected_share    (rejected records + rows with a value out of range) / all records
    max_missing_share     per feature: null cells / rows given
    value_ranges          per feature: every non-null value in [low, high]
    max_duplicate_share   rows whose key was already seen / rows given
    min_class_count       per class (declared, else seen): kept labelled rows of the class
    max_class_imbalance   largest class count / smallest (kept labelled rows)

``to_dqdl`` renders the constraints as an AWS Glue Data Quality ruleset so that the raw table
can be checked with the same limits in Glue; see its docstring for what differs there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

KEY = "event_id"
LABEL = "label"
# DQDL quotes column names, but the where clauses and CustomSql are Spark SQL: only plain
# identifiers are rendered, so a name can never change what a rule means.
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _share(value: Any, name: str) -> float | None:
    if value is None:
        return None
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a share in [0, 1], got {value}")
    return value


@dataclass(frozen=True)
class Constraints:
    """What a dataset must satisfy; every limit is optional (None or empty: not checked)."""

    min_rows: int | None = None
    max_rejected_share: float | None = None
    max_missing_share: Mapping[str, float] = field(default_factory=dict)
    value_ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    max_duplicate_share: float | None = None
    min_class_count: int | None = None
    max_class_imbalance: float | None = None
    classes: tuple[Any, ...] | None = None
    key: str = KEY
    label: str = LABEL

    def __post_init__(self) -> None:
        for name in ("min_rows", "min_class_count"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or int(value) != value or value < 0):
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
        _share(self.max_rejected_share, "max_rejected_share")
        _share(self.max_duplicate_share, "max_duplicate_share")
        for feature, limit in self.max_missing_share.items():
            _share(limit, f"max_missing_share[{feature!r}]")
        for feature, bounds in self.value_ranges.items():
            low, high = bounds
            if not float(low) <= float(high):
                raise ValueError(f"value_ranges[{feature!r}] is empty: low {low} > high {high}")
        if self.max_class_imbalance is not None and not self.max_class_imbalance >= 1:
            raise ValueError(
                "max_class_imbalance is largest / smallest class count, so it must be >= 1, "
                f"got {self.max_class_imbalance}"
            )
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(self.classes))
            if not self.classes:
                raise ValueError("classes is empty: leave it None to use the classes seen")

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Constraints:
        """From a JSON object with the same field names (ranges as [low, high] lists)."""
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown constraint(s): {', '.join(unknown)}")
        data = dict(raw)
        if "value_ranges" in data:
            data["value_ranges"] = {k: tuple(v) for k, v in data["value_ranges"].items()}
        if data.get("classes") is not None:
            data["classes"] = tuple(data["classes"])
        return cls(**data)

    def columns(self) -> list[str]:
        """Every column a constraint reads."""
        named = [*self.max_missing_share, *self.value_ranges]
        if self.max_duplicate_share is not None:
            named.append(self.key)
        if (
            self.min_class_count is not None
            or self.max_class_imbalance is not None
            or self.classes is not None
        ):
            named.append(self.label)
        return list(dict.fromkeys(named))


@dataclass
class Result:
    kept: pd.DataFrame
    quarantined: pd.DataFrame
    report: dict[str, Any]

    @property
    def passed(self) -> bool:
        return bool(self.report["passed"])


def _violation(constraint: str, subject: str | None, observed: Any, limit: Any) -> dict[str, Any]:
    return {"constraint": constraint, "subject": subject, "observed": observed, "limit": limit}


def _label_key(value: Any) -> str:
    """Class names as strings, as evaluation.json writes them ("3", not "3.0")."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def check(
    rows: pd.DataFrame | Iterable[Mapping[str, Any]],
    constraints: Constraints,
    rejected: int = 0,
) -> Result:
    """Judge ``rows`` (a frame, or dicts) against ``constraints``; ``rejected`` is how many
    records were rejected before they became rows (schema failures), so they count in the
    rejected share. Rows are taken in the order given: the first row of a key is kept, so sort
    by arrival first (preprocess sorts by event_time: the first arrival wins)."""
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    frame = frame.reset_index(drop=True)
    if isinstance(rejected, bool) or int(rejected) != rejected or rejected < 0:
        raise ValueError(f"rejected must be a count >= 0, got {rejected!r}")
    missing_columns = [c for c in constraints.columns() if c not in frame.columns]
    if missing_columns:
        raise ValueError(
            f"constraint(s) name column(s) the data does not have: {', '.join(missing_columns)}"
        )
    n = len(frame)
    records = n + int(rejected)
    reasons: list[list[str]] = [[] for _ in range(n)]
    violations: list[dict[str, Any]] = []
    observed: dict[str, Any] = {}

    duplicate = np.zeros(n, dtype=bool)
    if constraints.max_duplicate_share is not None:
        duplicate = frame[constraints.key].duplicated(keep="first").to_numpy()
        for i in np.flatnonzero(duplicate):
            reasons[i].append(f"duplicate {constraints.key} {frame.at[i, constraints.key]!r}")
        share = float(duplicate.sum()) / n if n else 0.0
        observed["duplicate_share"] = share
        if share > constraints.max_duplicate_share:
            violations.append(
                _violation(
                    "max_duplicate_share", constraints.key, share, constraints.max_duplicate_share
                )
            )

    out_of_range = np.zeros(n, dtype=bool)
    observed_ranges: dict[str, Any] = {}
    for feature, (low, high) in constraints.value_ranges.items():
        values = pd.to_numeric(frame[feature], errors="coerce").to_numpy(dtype=float)
        present = ~np.isnan(values)
        bad = present & ((values < float(low)) | (values > float(high)))
        for i in np.flatnonzero(bad):
            reasons[i].append(f"{feature}={values[i]:g} outside [{low:g}, {high:g}]")
        out_of_range |= bad
        seen = values[present]
        observed_ranges[feature] = {
            "min": float(seen.min()) if seen.size else None,
            "max": float(seen.max()) if seen.size else None,
            "rows_out_of_range": int(bad.sum()),
        }
        if bad.any():
            violations.append(
                _violation(
                    "value_ranges", feature, observed_ranges[feature], [float(low), float(high)]
                )
            )
    if constraints.value_ranges:
        observed["value_ranges"] = observed_ranges

    missing: dict[str, float] = {}
    for feature, limit in constraints.max_missing_share.items():
        share = float(frame[feature].isna().sum()) / n if n else 0.0
        missing[feature] = share
        if share > limit:
            violations.append(_violation("max_missing_share", feature, share, float(limit)))
    if constraints.max_missing_share:
        observed["missing_share"] = missing

    quarantine = duplicate | out_of_range
    kept = frame[~quarantine].copy()
    quarantined = frame[quarantine].copy()
    quarantined["reasons"] = pd.Series(
        ["; ".join(reasons[i]) for i in np.flatnonzero(quarantine)],
        index=quarantined.index,
        dtype=object,  # a string column even when nothing is quarantined
    )

    if constraints.max_rejected_share is not None:
        share = (int(rejected) + int(out_of_range.sum())) / records if records else 0.0
        observed["rejected_share"] = share
        if share > constraints.max_rejected_share:
            violations.append(
                _violation("max_rejected_share", None, share, constraints.max_rejected_share)
            )

    if constraints.min_rows is not None:
        observed["row_count"] = len(kept)
        if len(kept) < constraints.min_rows:
            violations.append(_violation("min_rows", None, len(kept), constraints.min_rows))

    if constraints.min_class_count is not None or constraints.max_class_imbalance is not None:
        labels = kept[constraints.label].dropna()
        counts = {_label_key(k): int(v) for k, v in labels.value_counts().items()}
        names = (
            [_label_key(c) for c in constraints.classes]
            if constraints.classes is not None
            else sorted(counts, key=lambda s: (len(s), s))
        )
        per_class = {c: counts.get(c, 0) for c in names}
        observed["class_counts"] = per_class
        if constraints.min_class_count is not None:
            if not per_class:  # nothing labelled and no class declared: nothing can pass
                violations.append(
                    _violation(
                        "min_class_count", "no labelled rows", 0, constraints.min_class_count
                    )
                )
            for c, count in per_class.items():
                if count < constraints.min_class_count:
                    violations.append(
                        _violation(
                            "min_class_count", f"class {c}", count, constraints.min_class_count
                        )
                    )
        if constraints.max_class_imbalance is not None:
            ratio = _imbalance(per_class)
            observed["class_imbalance"] = ratio
            if ratio is None or ratio > constraints.max_class_imbalance:
                empty = [c for c, v in per_class.items() if v == 0]
                subject = (
                    None
                    if ratio is not None
                    else f"class(es) {', '.join(empty)} without rows"
                    if empty
                    else "no labelled rows"
                )
                violations.append(
                    _violation(
                        "max_class_imbalance",
                        subject,
                        ratio,
                        constraints.max_class_imbalance,
                    )
                )

    report = {
        "passed": not violations,
        "records": records,
        "rejected": int(rejected),
        "rows": n,
        "kept": len(kept),
        "quarantined": len(quarantined),
        "observed": observed,
        "violations": violations,
    }
    return Result(kept, quarantined, report)


def _imbalance(per_class: Mapping[str, int]) -> float | None:
    """Largest / smallest class count; None (JSON null) when a class has no rows or no
    class is known, since the ratio is then unbounded."""
    if not per_class or min(per_class.values()) == 0:
        return None
    return max(per_class.values()) / min(per_class.values())


def summary(report: Mapping[str, Any]) -> str:
    """One line naming every violation, for a step's failure message."""
    parts = []
    for v in report["violations"]:
        where = f"[{v['subject']}]" if v["subject"] else ""
        parts.append(f"{v['constraint']}{where}: observed {v['observed']}, limit {v['limit']}")
    return "data quality: " + ("; ".join(parts) if parts else "all constraints hold")


def _num(value: float) -> str:
    """A DQDL number: whole numbers without a point, others with at most 10 significant
    digits (so 1 - 0.07 renders 0.93, not 0.9299999999999999)."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"DQDL needs a finite number, got {value}")
    return str(int(value)) if value.is_integer() else format(value, ".10g")


def _column(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"column {name!r} is not a plain identifier; DQDL rendering refuses it")
    return name


def to_dqdl(constraints: Constraints) -> str:
    """The constraints as a Glue Data Quality ruleset (DQDL).

    Rule types, from the DQDL reference (https://docs.aws.amazon.com/glue/latest/dg/dqdl.html
    and https://docs.aws.amazon.com/glue/latest/dg/dqdl-rule-types.html):

    - ``RowCount >= n``; per class ``RowCount >= n where "label = c"`` (where clause: Glue 4.0);
    - ``Completeness "f" >= 1 - max_missing_share`` (Completeness is the non-null share);
    - ranges as ``ColumnValues "f" >= low`` and ``<= high``, each ``where "f is not null"``:
      DQDL's ``between`` is exclusive and ColumnValues fails NULL rows, while our ranges are
      inclusive and leave nulls to Completeness. ColumnValues gives row-level results, so Glue
      can quarantine the same rows;
    - duplicates: ``IsUnique "key"`` for a zero limit, else ``CustomSql`` on
      1 - count(distinct key) / count(*), which is our duplicate share;
    - class imbalance: ``CustomSql`` max / min of the per-label counts (CustomSql returns one
      number; ``primary`` is the dataset evaluated).

    Glue evaluates the table as stored, before quarantine: its RowCount and class counts include
    rows with out-of-range values, and it never sees records that failed the schema, so
    ``max_rejected_share`` is left to the preprocessing step (a comment says so).
    """
    c = constraints
    comments: list[str] = []
    rules: list[str] = []
    if c.min_rows is not None:
        rules.append(f"RowCount >= {_num(c.min_rows)}")
    for feature, limit in c.max_missing_share.items():
        rules.append(f'Completeness "{_column(feature)}" >= {_num(1.0 - limit)}')
    for feature, (low, high) in c.value_ranges.items():
        col = _column(feature)
        rules.append(f'ColumnValues "{col}" >= {_num(low)} where "{col} is not null"')
        rules.append(f'ColumnValues "{col}" <= {_num(high)} where "{col} is not null"')
    if c.max_duplicate_share is not None:
        key = _column(c.key)
        if c.max_duplicate_share == 0:
            rules.append(f'IsUnique "{key}"')
        else:
            rules.append(
                f'CustomSql "select 1.0 - count(distinct {key}) / count(*) from primary" '
                f"<= {_num(c.max_duplicate_share)}"
            )
    label = _column(c.label)
    per_label = f"select count(*) as n from primary where {label} is not null group by {label}"
    if c.min_class_count is not None:
        if c.classes is not None:
            for cls in c.classes:
                value = _num(cls) if isinstance(cls, (int, float)) else f"'{_column(str(cls))}'"
                rules.append(f'RowCount >= {_num(c.min_class_count)} where "{label} = {value}"')
        else:
            rules.append(
                f'CustomSql "select min(n) from ({per_label})" >= {_num(c.min_class_count)}'
            )
    if c.max_class_imbalance is not None:
        rules.append(
            f'CustomSql "select max(n) / min(n) from ({per_label})" '
            f"<= {_num(c.max_class_imbalance)}"
        )
    if c.max_rejected_share is not None:
        comments.append(
            f"# max_rejected_share {_num(c.max_rejected_share)} is judged by preprocessing: "
            "records that fail the event schema never reach this table"
        )
    if not rules:
        raise ValueError("no constraint renders to a DQDL rule (a ruleset needs at least one)")
    body = ",\n".join(f"    {r}" for r in rules)
    return "".join(f"{line}\n" for line in comments) + f"Rules = [\n{body}\n]\n"
