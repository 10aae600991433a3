"""The drift job: captured traffic against the deployed model version's training baseline.

Runs in the SageMaker scikit-learn processing container (numpy/scipy only, no SDK) and in the
local lab, from the same entry point. Two phases so it scales out:

  summarize   one per instance: capture files (sharded by S3 key) -> summary.json
              (per-feature counts over the baseline's bin edges plus an underflow and an
              overflow bin, moments, predicted-class counts, skipped-record reasons)
  judge       one instance: summaries added together -> drift_report.json and
              constraint_violations.json (Model Monitor's format)

Per feature: PSI and the two-sample KS statistic, both from the merged histograms. The KS
statistic is max |F_capture - F_baseline| over the bin edges, where both empirical CDFs
are known exactly: a lower bound of the raw-data statistic (conservative), and equal to it
when the largest CDF gap falls on an edge, as it always does for integer pixels on
half-integer edges (a test checks this against scipy.stats.ks_2samp). Its p-value is the asymptotic
Kolmogorov distribution (``scipy.stats.kstwo``) with n_eff = n*m/(n+m), as ks_2samp's
'asymp' method. With 64 features one raw p-value would fire by chance, so a feature counts as
drifted only when its Benjamini-Hochberg-adjusted p-value is below ``alpha`` AND its PSI is
at least ``psi_min`` (an effect size, else millions of records make every tiny shift
"significant"); the verdict is the share of drifted features against ``share_threshold``.
The predicted-class mix is tested against the training class prior with chi-square.
Below ``min_samples`` rows the job reports and does not judge.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

try:
    from model_code import monitoring_contract as contract
except ImportError:  # in the container model_code arrives as a second processing input
    sys.path.insert(0, os.environ.get("MODEL_CODE_LIB", "/opt/ml/processing/input/lib"))
    from model_code import monitoring_contract as contract

N_FEATURES = 64
N_CLASSES = 10
FEATURES = [f"f{i}" for i in range(N_FEATURES)]
DEFAULT_MIN_SAMPLES = 200
DEFAULT_SHARE_THRESHOLD = 0.2  # monitoring.drift_threshold in the profile
DEFAULT_ALPHA = 0.01  # false discovery rate across the 64 features
DEFAULT_CLASS_ALPHA = 0.001  # level of the one class-mix test: a false alarm retrains
DEFAULT_PSI_MIN = 0.1  # PSI < 0.1 reads as "no significant change" in the usual scale
PSI_EPSILON = 1e-4  # added to every bin proportion, both sides, so empty bins stay finite
MAX_EXAMPLES = 20  # skipped-record examples kept per summary


class BaselineError(ValueError):
    """The baseline is missing, unreadable or for another model version."""


# --------------------------------------------------------------------------- statistics


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each value: 0 underflow, 1..k the baseline's k bins, k+1 overflow.

    numpy's histogram closes the last bin on the right ([e_{k-1}, e_k]); so does this, so
    the baseline's training maximum falls into the last inner bin, as it did at baseline time.
    """
    idx = np.searchsorted(edges, values, side="right")
    idx[values == edges[-1]] = len(edges) - 1
    return idx


def histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.bincount(bin_index(values, edges), minlength=len(edges) + 1)


def psi(actual: np.ndarray, expected: np.ndarray, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index sum((a - e) * ln(a / e)) over bin proportions.

    Each proportion gets ``epsilon`` added (both sides, then renormalized), so an empty bin
    (a constant pixel, an overflow bin) contributes a large but finite term instead of
    infinity. Proportions, not counts, are smoothed: equal proportions give exactly 0 at
    any sample size.
    """
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    a = (a / a.sum() + epsilon) / (1 + epsilon * len(a))
    e = (e / e.sum() + epsilon) / (1 + epsilon * len(e))
    return float(np.sum((a - e) * np.log(a / e)))


def ks_from_histograms(actual: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    """(D, p): two-sample KS from counts over the same bins (see the module docstring)."""
    n, m = float(np.sum(actual)), float(np.sum(expected))
    if n == 0 or m == 0:
        return 0.0, 1.0
    cdf_a = np.cumsum(actual) / n
    cdf_e = np.cumsum(expected) / m
    d = float(np.max(np.abs(cdf_a - cdf_e)))
    n_eff = round(n * m / (n + m))
    p = float(stats.kstwo.sf(d, max(n_eff, 1))) if d > 0 else 1.0
    return d, min(max(p, 0.0), 1.0)


def benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (step-up, monotone), the same as statsmodels' 'fdr_bh'."""
    p = np.asarray(pvalues, dtype=float)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def class_mix_test(observed: np.ndarray, prior: np.ndarray) -> tuple[float, float]:
    """Chi-square goodness of fit of predicted-class counts to the training prior."""
    observed = np.asarray(observed, dtype=float)
    prior = np.asarray(prior, dtype=float)
    total = observed.sum()
    if total == 0:
        return 0.0, 1.0
    keep = prior > 0
    if np.any(observed[~keep] > 0):  # a class training never saw: no finite statistic
        return math.inf, 0.0
    expected = prior[keep] / prior[keep].sum() * total
    chi2, p = stats.chisquare(observed[keep], expected)
    return float(chi2), float(p)


# --------------------------------------------------------------------------- baseline


@dataclass
class Baseline:
    edges: list[np.ndarray]  # per feature: the baseline's inner bin edges
    counts: np.ndarray  # (64, bins + 2) with zero underflow/overflow
    means: np.ndarray
    prior: np.ndarray  # training class counts (10,)
    model_version: int | None
    source: str


def load_baseline(path: Path, expect_version: int | None = None) -> Baseline:
    """Read preprocess's baseline_statistics.json; BaselineError with a reason otherwise."""
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError as err:
        raise BaselineError(f"baseline {path} is missing") from err
    except (OSError, ValueError) as err:
        raise BaselineError(f"baseline {path} is unreadable: {err}") from err
    version = doc.get("model_version")
    if expect_version is not None and version is not None and int(version) != expect_version:
        raise BaselineError(
            f"baseline {path} belongs to model version {version}, but the deployed version "
            f"is {expect_version}: pass that version's baseline (its DriftCheckBaselines)"
        )
    try:
        edges, counts, means = [], [], []
        for name in FEATURES:
            feature = doc["features"][name]
            e = np.asarray(feature["histogram"]["bin_edges"], dtype=float)
            c = np.asarray(feature["histogram"]["counts"], dtype=float)
            if len(e) != len(c) + 1 or len(c) < 1 or np.any(np.diff(e) <= 0):
                raise ValueError(f"{name}: bin_edges must be increasing and one longer")
            edges.append(e)
            counts.append(np.concatenate([[0.0], c, [0.0]]))
            means.append(float(feature["mean"]))
        widths = {len(c) for c in counts}
        if len(widths) != 1:
            raise ValueError("features have different bin counts")
        prior = np.zeros(N_CLASSES)
        for label, count in doc["class_distribution"].items():
            prior[int(label)] = float(count)
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise BaselineError(f"baseline {path} is not baseline statistics: {err}") from err
    return Baseline(
        edges,
        np.vstack(counts),
        np.asarray(means),
        prior,
        None if version is None else int(version),
        str(path),
    )


# --------------------------------------------------------------------------- capture


@dataclass
class Summary:
    """What one shard contributes; ``merge`` is addition (min/max for the extremes)."""

    bins: int  # inner bins per feature
    counts: np.ndarray = field(init=False)
    sums: np.ndarray = field(init=False)
    class_counts: np.ndarray = field(init=False)
    records: int = 0
    rows: int = 0
    files: int = 0
    predicted_rows: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)
    source: str = "capture"

    def __post_init__(self) -> None:
        self.counts = np.zeros((N_FEATURES, self.bins + 2), dtype=np.int64)
        self.sums = np.zeros(N_FEATURES)
        self.class_counts = np.zeros(N_CLASSES, dtype=np.int64)

    def skip(self, reason: str, where: str, count: int = 1) -> None:
        self.skipped[reason] += count
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append({"where": where, "reason": reason})

    def to_json(self) -> dict[str, Any]:
        return {
            "bins": self.bins,
            "counts": self.counts.tolist(),
            "sums": self.sums.tolist(),
            "class_counts": self.class_counts.tolist(),
            "records": self.records,
            "rows": self.rows,
            "files": self.files,
            "predicted_rows": self.predicted_rows,
            "skipped": dict(self.skipped),
            "examples": self.examples,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Summary:
        out = cls(int(doc["bins"]))
        out.counts = np.asarray(doc["counts"], dtype=np.int64)
        out.sums = np.asarray(doc["sums"], dtype=float)
        out.class_counts = np.asarray(doc["class_counts"], dtype=np.int64)
        for key in ("records", "rows", "files", "predicted_rows"):
            setattr(out, key, int(doc[key]))
        out.skipped = Counter(doc.get("skipped", {}))
        out.examples = list(doc.get("examples", []))
        out.source = doc.get("source", "capture")
        return out

    def merge(self, other: Summary) -> Summary:
        if other.bins != self.bins:
            raise ValueError("summaries over different bins cannot merge")
        was_empty = self.files == 0 and self.records == 0
        self.counts += other.counts
        self.sums += other.sums
        self.class_counts += other.class_counts
        self.records += other.records
        self.rows += other.rows
        self.files += other.files
        self.predicted_rows += other.predicted_rows
        self.skipped.update(other.skipped)
        self.examples = (self.examples + other.examples)[:MAX_EXAMPLES]
        if was_empty:
            self.source = other.source
        elif other.source != self.source:
            self.source = "mixed"
        return self


class RecordError(ValueError):
    """One capture record cannot be used; the message is the reason reported."""


def _decode(payload: dict[str, Any]) -> tuple[str, str]:
    """(text, kind) of a captured payload; kind is 'csv' or 'json'."""
    encoding = str(payload.get("encoding", "")).upper()
    data = payload.get("data")
    if not isinstance(data, str):
        raise RecordError("payload has no data")
    content_type = str(payload.get("observedContentType", "")).split(";")[0].strip().lower()
    if encoding == "CSV":
        return data, "csv"
    if encoding == "JSON":
        return data, "json"
    if encoding == "BASE64":
        try:
            text = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as err:
            raise RecordError("BASE64 payload does not decode to UTF-8 text") from err
        if content_type == "text/csv":
            return text, "csv"
        if content_type == "application/json":
            return text, "json"
        raise RecordError(f"BASE64 payload of content type {content_type or 'none'!r}")
    raise RecordError(f"unknown encoding {encoding or 'none'!r}")


def parse_rows(payload: dict[str, Any]) -> np.ndarray:
    """Feature rows of a captured request (CSV lines or JSON instances), validated."""
    text, kind = _decode(payload)
    if kind == "csv":
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            rows = [[float(v) for v in line.split(",")] for line in lines]
        except ValueError as err:
            raise RecordError("CSV request with a non-numeric value") from err
    else:
        try:
            doc = json.loads(text)
        except ValueError as err:
            raise RecordError("JSON request is not valid JSON") from err
        if isinstance(doc, dict) and "instances" in doc:
            rows = doc["instances"]
        elif isinstance(doc, dict) and "features" in doc:
            rows = [doc["features"]]
        else:
            raise RecordError("JSON request without 'instances' or 'features'")
        rows = [r["features"] if isinstance(r, dict) and "features" in r else r for r in rows]
    if not rows:
        raise RecordError("request has no rows")
    if any(not isinstance(r, list) or len(r) != N_FEATURES for r in rows):
        raise RecordError(f"request row without exactly {N_FEATURES} features")
    try:
        array = np.asarray(rows, dtype=float)
    except (TypeError, ValueError) as err:
        raise RecordError("request row with a non-numeric value") from err
    if not np.all(np.isfinite(array)):
        raise RecordError("request row with a missing or infinite value")
    return array


def parse_predictions(payload: dict[str, Any]) -> list[int]:
    """Predicted classes of a captured response (CSV, JSON predictions, XGBoost's forms)."""
    text, kind = _decode(payload)
    if kind == "json":
        try:
            doc = json.loads(text)
        except ValueError as err:
            raise RecordError("JSON response is not valid JSON") from err
        items = doc.get("predictions") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise RecordError("JSON response without 'predictions'")
        values: list[Any] = [
            i.get("predicted_label", i.get("score")) if isinstance(i, dict) else i for i in items
        ]
    else:
        values = [v for v in text.replace("\n", ",").split(",") if v.strip()]
    try:
        classes = [int(float(v)) for v in values]
    except (TypeError, ValueError) as err:
        raise RecordError("response holds a non-numeric prediction") from err
    if any(not 0 <= c < N_CLASSES for c in classes):
        raise RecordError(f"response holds a class outside 0-{N_CLASSES - 1}")
    return classes


@dataclass(frozen=True)
class Window:
    start: Any  # datetime
    end: Any
    deployed_at: Any = None  # records before it came from an earlier model version


def summarize_capture(
    files: list[Path], baseline: Baseline, window: Window, root: Path | None = None
) -> Summary:
    """Read capture JSONL files into a Summary; every unusable record is counted by reason."""
    summary = Summary(baseline.counts.shape[1] - 2)
    # Rows are binned in blocks, not per record: 64 histogram calls per block, not per row.
    pending: list[np.ndarray] = []
    predicted: list[int] = []
    for path in files:
        summary.files += 1
        where_file = str(path.relative_to(root)) if root else str(path)
        try:
            handle = path.open(encoding="utf-8", errors="strict")
            lines = handle.read().splitlines()
            handle.close()
        except (OSError, UnicodeDecodeError) as err:
            summary.skip(f"unreadable file: {type(err).__name__}", where_file)
            continue
        for line_no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            summary.records += 1
            where = f"{where_file}:{line_no}"
            try:
                rows, predictions = _parse_record(summary, window, line)
            except RecordError as err:
                summary.skip(str(err), where)
                continue
            pending.append(rows)
            if predictions is not None:
                predicted.extend(predictions)
            if len(pending) >= 4096:
                _flush(summary, baseline, pending, predicted)
    _flush(summary, baseline, pending, predicted)
    return summary


def _flush(
    summary: Summary, baseline: Baseline, pending: list[np.ndarray], predicted: list[int]
) -> None:
    if pending:
        _add_rows(summary, baseline, np.vstack(pending))
    if predicted:
        summary.class_counts += np.bincount(predicted, minlength=N_CLASSES)
        summary.predicted_rows += len(predicted)
    pending.clear()
    predicted.clear()


def _parse_record(
    summary: Summary, window: Window, line: str
) -> tuple[np.ndarray, list[int] | None]:
    """(feature rows, predicted classes or None) of one capture line; RecordError if unusable."""
    try:
        record = json.loads(line)
    except ValueError as err:
        raise RecordError("not JSON (truncated or corrupt line)") from err
    if not isinstance(record, dict) or "captureData" not in record:
        raise RecordError("not a capture record (no captureData)")
    when_text = record.get("eventMetadata", {}).get("inferenceTime")
    if when_text:
        try:
            when = contract.parse_time(when_text)
        except ValueError as err:
            raise RecordError("inferenceTime is not a timestamp") from err
        if window.deployed_at is not None and when < window.deployed_at:
            raise RecordError("captured before the deployed model version went live")
        if not window.start <= when < window.end:
            raise RecordError("outside the window")
    data = record["captureData"]
    rows = parse_rows(data.get("endpointInput") or {})
    predictions: list[int] | None = None
    if data.get("endpointOutput"):
        try:
            predictions = parse_predictions(data["endpointOutput"])
        except RecordError as err:
            summary.skipped[f"prediction unusable: {err}"] += 1
        if predictions is not None and len(predictions) != len(rows):
            summary.skipped["prediction count differs from request rows"] += 1
            predictions = None
    return rows, predictions


def _add_rows(summary: Summary, baseline: Baseline, rows: np.ndarray) -> None:
    for j in range(N_FEATURES):
        summary.counts[j] += histogram(rows[:, j], baseline.edges[j])
    summary.sums += rows.sum(axis=0)
    summary.rows += len(rows)


def summarize_raw(files: list[Path], baseline: Baseline, window: Window) -> Summary:
    """Fallback without capture: the raw zone's events (features only, no predictions)."""
    import gzip

    summary = Summary(baseline.counts.shape[1] - 2, source="raw")
    for path in files:
        summary.files += 1
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except (OSError, EOFError, UnicodeDecodeError) as err:
            summary.skip(f"unreadable raw object: {type(err).__name__}", str(path))
            continue
        for line_no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            summary.records += 1
            try:
                event = json.loads(line)
                when = contract.parse_time(event["event_time"])
                features = event["features"]
                if not window.start <= when < window.end:
                    raise RecordError("outside the window")
                rows = np.asarray([features], dtype=float)
                if rows.shape != (1, N_FEATURES) or not np.all(np.isfinite(rows)):
                    raise RecordError(f"event without {N_FEATURES} finite features")
            except RecordError as err:
                summary.skip(str(err), f"{path}:{line_no}")
                continue
            except (ValueError, KeyError, TypeError):
                summary.skip("not a valid event", f"{path}:{line_no}")
                continue
            _add_rows(summary, baseline, rows)
    return summary


# --------------------------------------------------------------------------- judgement


@dataclass(frozen=True)
class Thresholds:
    min_samples: int = DEFAULT_MIN_SAMPLES
    share: float = DEFAULT_SHARE_THRESHOLD
    alpha: float = DEFAULT_ALPHA
    psi_min: float = DEFAULT_PSI_MIN
    class_alpha: float = DEFAULT_CLASS_ALPHA


def judge(
    summary: Summary,
    baseline: Baseline,
    thresholds: Thresholds,
    window: Window,
    endpoint: str = "",
) -> dict[str, Any]:
    """The drift report: statistics, the verdict and why, and what was skipped."""
    report: dict[str, Any] = {
        "endpoint": endpoint,
        "window": {"start": contract.iso(window.start), "end": contract.iso(window.end)},
        "model_version": baseline.model_version,
        "baseline": baseline.source,
        "source": summary.source,
        "samples": {
            "files": summary.files,
            "records": summary.records,
            "rows": summary.rows,
            "predicted_rows": summary.predicted_rows,
            "min_required": thresholds.min_samples,
        },
        "skipped": {
            "records": int(sum(v for k, v in summary.skipped.items() if not _row_note(k))),
            "reasons": dict(sorted(summary.skipped.items())),
            "examples": summary.examples,
        },
        "thresholds": {
            "drifted_share": thresholds.share,
            "alpha": thresholds.alpha,
            "psi_min": thresholds.psi_min,
            "class_alpha": thresholds.class_alpha,
        },
    }
    if summary.rows < thresholds.min_samples:
        report["status"] = "insufficient_data" if summary.rows else "no_data"
        report["verdict"] = (
            f"not judged: {summary.rows} usable rows in the window, at least "
            f"{thresholds.min_samples} are needed"
            + (f" ({report['skipped']['records']} records skipped)" if summary.skipped else "")
        )
        report["metrics"] = _metrics(report, None, None, None)
        return report
    features: dict[str, Any] = {}
    psis, pvalues = np.zeros(N_FEATURES), np.ones(N_FEATURES)
    ks_d = np.zeros(N_FEATURES)
    for j in range(N_FEATURES):
        psis[j] = psi(summary.counts[j], baseline.counts[j])
        ks_d[j], pvalues[j] = ks_from_histograms(summary.counts[j], baseline.counts[j])
    adjusted = benjamini_hochberg(pvalues)
    drifted = (adjusted < thresholds.alpha) & (psis >= thresholds.psi_min)
    means = summary.sums / summary.rows
    for j, name in enumerate(FEATURES):
        features[name] = {
            "psi": round(float(psis[j]), 6),
            "ks": round(float(ks_d[j]), 6),
            "ks_p": float(pvalues[j]),
            "ks_p_adjusted": float(adjusted[j]),
            "mean": round(float(means[j]), 6),
            "baseline_mean": round(float(baseline.means[j]), 6),
            "drifted": bool(drifted[j]),
        }
    share = float(drifted.mean())
    report["features"] = features
    report["drifted_features"] = [n for j, n in enumerate(FEATURES) if drifted[j]]
    report["drifted_share"] = round(share, 6)
    class_mix: dict[str, Any] | None = None
    if summary.predicted_rows >= thresholds.min_samples:
        chi2, p = class_mix_test(summary.class_counts, baseline.prior)
        class_mix = {
            "observed": summary.class_counts.tolist(),
            "observed_share": (summary.class_counts / summary.predicted_rows).round(4).tolist(),
            "expected_share": (baseline.prior / baseline.prior.sum()).round(4).tolist(),
            "chi2": chi2 if math.isfinite(chi2) else "inf",
            "p": p,
            "drifted": bool(p < thresholds.class_alpha),
        }
    report["class_mix"] = class_mix or {
        "drifted": None,
        "note": f"{summary.predicted_rows} rows with usable predictions; "
        f"at least {thresholds.min_samples} are needed (raw-zone fallback has none)",
    }
    data_drift = share >= thresholds.share
    mix_drift = bool(class_mix and class_mix["drifted"])
    report["status"] = "drift" if data_drift or mix_drift else "no_drift"
    reasons = []
    if data_drift:
        reasons.append(
            f"{len(report['drifted_features'])} of {N_FEATURES} features drifted "
            f"(share {share:.2f} >= {thresholds.share})"
        )
    if mix_drift and class_mix:
        reasons.append(f"predicted-class mix differs from training (chi-square p={p:.2g})")
    report["verdict"] = (
        "drift: " + "; ".join(reasons)
        if reasons
        else f"no drift: share {share:.2f} < {thresholds.share}"
        + ("" if class_mix is None else f", class mix p={class_mix['p']:.2g}")
    )
    report["metrics"] = _metrics(report, share, float(psis.max()), class_mix)
    return report


def _row_note(reason: str) -> bool:
    # Prediction notes are counted per record but the record's features were still used.
    return reason.startswith("prediction")


def _metrics(
    report: dict[str, Any], share: float | None, max_psi: float | None, mix: dict[str, Any] | None
) -> dict[str, float]:
    out = {
        contract.METRIC_SAMPLES: float(report["samples"]["rows"]),
        contract.METRIC_SKIPPED: float(report["skipped"]["records"]),
    }
    if share is not None:
        out[contract.METRIC_DRIFTED_SHARE] = share
        out[contract.METRIC_DRIFT_VERDICT] = 1.0 if report["status"] == "drift" else 0.0
    if max_psi is not None:
        out[contract.METRIC_MAX_PSI] = max_psi
    if mix:
        out[contract.METRIC_CLASS_MIX_P] = float(mix["p"])
    return out


def constraint_violations(report: dict[str, Any]) -> dict[str, Any]:
    """Model Monitor's constraint_violations.json: {"violations": [{feature_name,
    constraint_check_type, description}]} (Developer Guide, "Schema for Violations")."""
    violations = []
    for name in report.get("drifted_features", []):
        f = report["features"][name]
        violations.append(
            {
                "feature_name": name,
                "constraint_check_type": "baseline_drift_check",
                "description": (
                    f"PSI {f['psi']:.3f}, KS {f['ks']:.3f} (adjusted p {f['ks_p_adjusted']:.2g}) "
                    f"against the model version {report.get('model_version')} baseline"
                ),
            }
        )
    mix = report.get("class_mix") or {}
    if mix.get("drifted"):
        violations.append(
            {
                "feature_name": "predicted_label",
                "constraint_check_type": "baseline_drift_check",
                "description": (
                    f"predicted-class mix vs training prior: chi-square p={mix['p']:.2g}"
                ),
            }
        )
    return {"violations": violations}


# --------------------------------------------------------------------------- files, CLI


def capture_files(root: Path, window: Window | None = None, prefix: str = "") -> list[Path]:
    """Capture *.jsonl under root; with a window, only its hour folders (yyyy/mm/dd/hh)."""
    root = Path(root)
    if window is None:
        return sorted(p for p in root.rglob("*.jsonl") if p.is_file())
    out: list[Path] = []
    for hour in contract.capture_hour_prefixes("", "", "", window.start, window.end):
        folder = root / prefix / hour
        if folder.is_dir():
            out.extend(sorted(p for p in folder.glob("*.jsonl") if p.is_file()))
    return out


def raw_files(root: Path, window: Window) -> list[Path]:
    out: list[Path] = []
    for hour in contract.raw_hour_prefixes(window.start, window.end):
        folder = Path(root) / hour
        if folder.is_dir():
            out.extend(sorted(p for p in folder.glob("*.gz") if p.is_file()))
    return out


def write_outputs(report: dict[str, Any], output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / contract.REPORT_FILE).write_text(json.dumps(report, indent=2))
    (output_dir / contract.VIOLATIONS_FILE).write_text(
        json.dumps(constraint_violations(report), indent=2)
    )


def failure_report(reason: str, status: str, window: Window, endpoint: str) -> dict[str, Any]:
    """A report for a run that could not judge at all (missing baseline, ...)."""
    return {
        "endpoint": endpoint,
        "window": {"start": contract.iso(window.start), "end": contract.iso(window.end)},
        "status": status,
        "verdict": f"not judged: {reason}",
        "samples": {"rows": 0},
        "skipped": {"records": 0, "reasons": {}, "examples": []},
        "metrics": {},
    }


def run(
    *,
    capture_dir: Path | None,
    baseline_path: Path,
    output_dir: Path,
    window: Window,
    raw_dir: Path | None = None,
    thresholds: Thresholds | None = None,
    model_version: int | None = None,
    endpoint: str = "",
    windowed_listing: bool = True,
) -> dict[str, Any]:
    """summarize + judge in one process (the lab, a single-instance job)."""
    thresholds = thresholds or Thresholds()
    try:
        baseline = load_baseline(baseline_path, model_version)
    except BaselineError as err:
        status = "baseline_mismatch" if "belongs to model version" in str(err) else "no_baseline"
        report = failure_report(str(err), status, window, endpoint)
        write_outputs(report, output_dir)
        return report
    files: list[Path] = []
    if capture_dir is not None and Path(capture_dir).is_dir():
        files = capture_files(Path(capture_dir), window if windowed_listing else None)
    if files:
        summary = summarize_capture(files, baseline, window, Path(capture_dir or "."))
    elif raw_dir is not None:
        summary = summarize_raw(raw_files(raw_dir, window), baseline, window)
    else:
        summary = Summary(baseline.counts.shape[1] - 2)
    report = judge(summary, baseline, thresholds, window, endpoint)
    if not files:
        report["note"] = "no capture files in the window" + (
            ": fell back to the raw zone (features only)" if raw_dir is not None else ""
        )
    write_outputs(report, output_dir)
    return report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="drift job: capture vs training baseline")
    parser.add_argument("phase", choices=("run", "summarize", "judge"), nargs="?", default="run")
    parser.add_argument("--capture-dir", type=Path, default=Path("/opt/ml/processing/capture"))
    parser.add_argument("--raw-dir", type=Path, help="raw zone fallback when no capture")
    parser.add_argument(
        "--baseline", type=Path, default=Path("/opt/ml/processing/baseline/baseline.json")
    )
    parser.add_argument("--summaries-dir", type=Path, default=Path("/opt/ml/processing/summaries"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument("--start", required=True, help="window start, ISO-8601 UTC")
    parser.add_argument("--end", required=True, help="window end (exclusive)")
    parser.add_argument("--deployed-at", help="when the deployed model version went live")
    parser.add_argument("--model-version", type=int)
    parser.add_argument("--endpoint", default="")
    parser.add_argument("--min-samples", type=int, default=DEFAULT_MIN_SAMPLES)
    parser.add_argument("--share-threshold", type=float, default=DEFAULT_SHARE_THRESHOLD)
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA)
    parser.add_argument("--psi-min", type=float, default=DEFAULT_PSI_MIN)
    parser.add_argument("--class-alpha", type=float, default=DEFAULT_CLASS_ALPHA)
    parser.add_argument(
        "--all-files",
        action="store_true",
        help="read every capture file under --capture-dir (the input is already the window)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        window = Window(
            contract.parse_time(args.start),
            contract.parse_time(args.end),
            contract.parse_time(args.deployed_at) if args.deployed_at else None,
        )
    except ValueError as err:
        print(f"drift: bad time: {err}", file=sys.stderr)
        return 2
    if window.end <= window.start:
        print("drift: --end must be after --start", file=sys.stderr)
        return 2
    thresholds = Thresholds(
        args.min_samples, args.share_threshold, args.alpha, args.psi_min, args.class_alpha
    )
    if args.phase == "run":
        report = run(
            capture_dir=args.capture_dir,
            baseline_path=args.baseline,
            output_dir=args.output_dir,
            window=window,
            raw_dir=args.raw_dir,
            thresholds=thresholds,
            model_version=args.model_version,
            endpoint=args.endpoint,
            windowed_listing=not args.all_files,
        )
    else:
        try:
            baseline = load_baseline(args.baseline, args.model_version)
        except BaselineError as err:
            report = failure_report(str(err), "no_baseline", window, args.endpoint)
            write_outputs(report, args.output_dir)
            print(f"drift: {report['verdict']}")
            return 0
        if args.phase == "summarize":
            if args.raw_dir is not None:  # the runner found no capture in the window
                raw = args.raw_dir
                gz = sorted(raw.rglob("*.gz")) if args.all_files else raw_files(raw, window)
                summary = summarize_raw(gz, baseline, window)
            else:
                files = capture_files(args.capture_dir, None if args.all_files else window)
                summary = summarize_capture(files, baseline, window, args.capture_dir)
            args.output_dir.mkdir(parents=True, exist_ok=True)
            name = f"summary-{current_host()}.json"
            (args.output_dir / name).write_text(json.dumps(summary.to_json()))
            print(f"drift: summarized {summary.records} records from {summary.files} files")
            return 0
        summary = merge_summaries(args.summaries_dir, baseline)
        report = judge(summary, baseline, thresholds, window, args.endpoint)
        write_outputs(report, args.output_dir)
    print(f"drift: {report['status']}: {report['verdict']}")
    return 0


def current_host() -> str:
    """This instance's name in a multi-instance processing job (algo-1, algo-2, ...), so the
    shards' summaries land side by side under one output prefix."""
    try:
        config = json.loads(Path("/opt/ml/config/resourceconfig.json").read_text())
        return str(config["current_host"])
    except (OSError, ValueError, KeyError):
        return os.environ.get("HOSTNAME", "local")


def merge_summaries(folder: Path, baseline: Baseline) -> Summary:
    merged = Summary(baseline.counts.shape[1] - 2)
    for path in sorted(Path(folder).rglob("summary*.json")):
        merged.merge(Summary.from_json(json.loads(path.read_text())))
    return merged


if __name__ == "__main__":
    raise SystemExit(main())
