"""Bias measures for one facet, computed as SageMaker Clarify documents them, and a judge.

Pure functions (standard library + numpy, no SDK) so that the preprocessing and evaluation
steps can run them in their own containers: Clarify itself is closed to new customers
(README, "Bias and explainability"), so the platform computes the few measures it gates on.

A facet splits the rows in two: facet *d* (the group whose treatment is in question, Clarify's
"sensitive" facet, given as a boolean mask) and facet *a* (every other row).

Pre-training (labels only):
    CI  = (n_a - n_d) / (n_a + n_d)     Class Imbalance, in [-1, 1]
          https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-bias-metric-class-imbalance.html
    DPL = q_a - q_d,  q_x = n_x(1) / n_x  Difference in Proportions of Labels, in [-1, 1], where
          n_x(1) counts facet x's rows whose label is positive. A multi-class label is judged
          one-vs-rest: one DPL per class, that class being the positive label.
          https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-data-bias-metric-true-label-imbalance.html
Post-training (labels and predictions):
    AD  = ACC_a - ACC_d                 Accuracy Difference, in [-1, 1]
          https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-post-training-bias-metric-ad.html
    recall per class = correctly predicted rows of the class / rows of the class (overall and
          per facet), None for a class without rows: nothing to measure is not a recall of 0.

``judge`` compares a report's values with allowed ranges and names every value outside them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

FACETS = ("a", "d")


def facet_mask(
    values: Sequence[Any] | np.ndarray,
    d_values: Iterable[Any] | None = None,
    threshold: float | None = None,
) -> np.ndarray:
    """Boolean mask of facet *d*: rows whose facet value is one of ``d_values``, or (for a
    numeric facet) greater than ``threshold``, as Clarify's ``facet_values_or_threshold``."""
    if (d_values is None) == (threshold is None):
        raise ValueError("give exactly one of d_values or threshold to define facet d")
    arr = np.asarray(values)
    if threshold is not None:
        return np.asarray(arr.astype(float) > float(threshold), dtype=bool)
    chosen = list(d_values or [])
    if not chosen:
        raise ValueError("d_values is empty: facet d would hold no value")
    return np.isin(arr, chosen)


def _mask(in_d: Sequence[bool] | np.ndarray, n: int) -> np.ndarray:
    mask = np.asarray(in_d)
    if mask.dtype != bool:
        raise ValueError(f"the facet mask must be boolean, got dtype {mask.dtype}")
    if mask.shape != (n,):
        raise ValueError(f"the facet mask has shape {mask.shape}, the data has {n} rows")
    return mask


def facet_counts(in_d: Sequence[bool] | np.ndarray) -> tuple[int, int]:
    """(n_a, n_d); raises when either facet is empty, since no measure compares a group with
    nothing (a single group, or a facet value absent from the data, is a configuration error)."""
    mask = np.asarray(in_d, dtype=bool)
    n_d = int(mask.sum())
    n_a = int(mask.size - n_d)
    if n_d == 0 or n_a == 0:
        empty = "d" if n_d == 0 else "a"
        raise ValueError(
            f"facet {empty} has no rows (n_a={n_a}, n_d={n_d}): bias compares two groups; "
            "check the facet column and the values that define facet d"
        )
    return n_a, n_d


def class_imbalance(in_d: Sequence[bool] | np.ndarray) -> float:
    """CI = (n_a - n_d) / (n_a + n_d)."""
    n_a, n_d = facet_counts(in_d)
    return (n_a - n_d) / (n_a + n_d)


def _labels(values: Sequence[Any] | np.ndarray, what: str = "labels") -> np.ndarray:
    """As an array; a null label would count in n_a or n_d but never as positive, so the
    proportions would be wrong without any sign: pass labelled rows only."""
    arr = np.asarray(values)
    nulls = int(_isnull(arr).sum())
    if nulls:
        raise ValueError(f"{what} hold {nulls} null value(s): pass labelled rows only")
    return arr


def _isnull(arr: np.ndarray) -> np.ndarray:
    """None or NaN, element-wise, for numeric and object arrays (numpy only)."""
    if arr.dtype.kind == "f":
        return np.isnan(arr)
    if arr.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and v != v) for v in arr], dtype=bool)
    return np.zeros(arr.shape, dtype=bool)


def _positive(labels: np.ndarray, positive: Any) -> np.ndarray:
    """Rows whose label is the positive label (or one of several positive labels)."""
    if isinstance(positive, (list, tuple, set, frozenset)):
        return np.isin(labels, list(positive))
    return np.asarray(labels == positive, dtype=bool)


def label_proportions(
    labels: Sequence[Any] | np.ndarray, in_d: Sequence[bool] | np.ndarray, positive: Any
) -> tuple[float, float]:
    """(q_a, q_d): the share of each facet's rows whose label is ``positive``."""
    arr = _labels(labels)
    mask = _mask(in_d, len(arr))
    n_a, n_d = facet_counts(mask)
    pos = _positive(arr, positive)
    return float(pos[~mask].sum()) / n_a, float(pos[mask].sum()) / n_d


def difference_in_proportions(
    labels: Sequence[Any] | np.ndarray, in_d: Sequence[bool] | np.ndarray, positive: Any
) -> float:
    """DPL = q_a - q_d for one positive label (or a collection of labels counted as positive)."""
    q_a, q_d = label_proportions(labels, in_d, positive)
    return q_a - q_d


def pretraining(
    labels: Sequence[Any] | np.ndarray,
    in_d: Sequence[bool] | np.ndarray,
    classes: Iterable[Any] | None = None,
) -> dict[str, Any]:
    """CI and one-vs-rest DPL per class (``classes`` default: the labels seen, sorted).

    Returns ``{"n_a", "n_d", "CI", "DPL": {"<class>": dpl}}`` (JSON-able)."""
    arr = _labels(labels)
    mask = _mask(in_d, len(arr))
    n_a, n_d = facet_counts(mask)
    chosen = sorted(set(arr.tolist())) if classes is None else list(classes)
    return {
        "n_a": n_a,
        "n_d": n_d,
        "CI": class_imbalance(mask),
        "DPL": {str(c): difference_in_proportions(arr, mask, c) for c in chosen},
    }


def per_class_recall(
    y_true: Sequence[Any] | np.ndarray, y_pred: Sequence[Any] | np.ndarray, classes: Iterable[Any]
) -> dict[str, float | None]:
    """Recall of each class: rows of the class predicted as it / rows of the class (None when
    the class has no rows)."""
    true, pred = _labels(y_true), _labels(y_pred, "predictions")
    if true.shape != pred.shape:
        raise ValueError(f"{true.shape[0]} labels but {pred.shape[0]} predictions")
    out: dict[str, float | None] = {}
    for c in classes:
        rows = true == c
        total = int(rows.sum())
        out[str(c)] = float((pred[rows] == c).sum()) / total if total else None
    return out


def posttraining(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    in_d: Sequence[bool] | np.ndarray,
    classes: Iterable[Any] | None = None,
) -> dict[str, Any]:
    """Accuracy per facet, AD = ACC_a - ACC_d, and per-class recall overall and per facet.

    Returns ``{"n_a", "n_d", "accuracy": {"a", "d"}, "AD", "recall": {"<class>": r},
    "recall_a": {...}, "recall_d": {...}}`` (JSON-able; a recall is None without rows)."""
    true, pred = _labels(y_true), _labels(y_pred, "predictions")
    if true.shape != pred.shape:
        raise ValueError(f"{true.shape[0]} labels but {pred.shape[0]} predictions")
    mask = _mask(in_d, len(true))
    n_a, n_d = facet_counts(mask)
    correct = true == pred
    acc_a = float(correct[~mask].sum()) / n_a
    acc_d = float(correct[mask].sum()) / n_d
    chosen = sorted(set(true.tolist())) if classes is None else list(classes)
    return {
        "n_a": n_a,
        "n_d": n_d,
        "accuracy": {"a": acc_a, "d": acc_d},
        "AD": acc_a - acc_d,
        "recall": per_class_recall(true, pred, chosen),
        "recall_a": per_class_recall(true[~mask], pred[~mask], chosen),
        "recall_d": per_class_recall(true[mask], pred[mask], chosen),
    }


def symmetric(limit: float) -> tuple[float, float]:
    """The range [-limit, limit], i.e. |value| <= limit."""
    if not limit >= 0:
        raise ValueError(f"a symmetric limit must be >= 0, got {limit}")
    return (-float(limit), float(limit))


def flatten(report: Mapping[str, Any]) -> dict[str, float | None]:
    """Measure name -> value: scalars keep their key ("CI", "AD"), a per-class mapping becomes
    "<key>:<class>" ("DPL:3", "recall_d:7"); counts and nested non-measures are left out."""
    out: dict[str, float | None] = {}
    for key, value in report.items():
        if key in ("n_a", "n_d"):
            continue
        if isinstance(value, Mapping):
            for sub, v in value.items():
                out[f"{key}:{sub}"] = None if v is None else float(v)
        elif value is None or isinstance(value, (int, float)):
            out[key] = None if value is None else float(value)
    return out


def judge(
    report: Mapping[str, Any], ranges: Mapping[str, tuple[float, float]]
) -> list[dict[str, Any]]:
    """Every measure outside its allowed range [low, high] (bounds included), by name.

    ``ranges`` keys are measure names ("CI", "DPL:3", "accuracy:d") or a family ("DPL",
    "recall") that applies to each of its members; an exact name wins over its family. A
    measure that could not be computed (None: a class without rows) is a violation when a range
    covers it, since a gate must not pass on what it could not measure. A range that matches no
    measure is a configuration error (ValueError), not a silent pass.
    """
    values = flatten(report)
    for name, bounds in ranges.items():
        low, high = bounds
        if not low <= high:
            raise ValueError(f"range for {name!r} is empty: low {low} > high {high}")
    unknown = [
        n for n in ranges if n not in values and not any(k.startswith(f"{n}:") for k in values)
    ]
    if unknown:
        raise ValueError(
            f"no measure named {', '.join(sorted(unknown))} (known: {', '.join(sorted(values))})"
        )
    violations: list[dict[str, Any]] = []
    for name, value in values.items():
        family = name.split(":", 1)[0]
        limits = ranges[name] if name in ranges else ranges.get(family)
        if limits is None:
            continue
        low, high = float(limits[0]), float(limits[1])
        if value is None or math.isnan(value) or not low <= value <= high:
            violations.append(
                {
                    "measure": name,
                    "value": None if value is None or math.isnan(value) else value,
                    "range": [low, high],
                }
            )
    return violations
