"""Model Monitor baselines of one trained version, computed with numpy (no analyzer job).

Runs as the pipeline's ``MonitorBaseline`` step in the scikit-learn processing image. Model
Monitor's own baselining image is closed to new customers since 2026-07-30 (Developer Guide,
"Amazon SageMaker Model Monitor availability change"), so this step writes its documented file
formats itself:

    <output>/data-quality/statistics.json    Developer Guide, "Schema for Statistics
                                              (statistics.json file)"
    <output>/data-quality/constraints.json   "Schema for Constraints (constraints.json file)"
    <output>/model-quality/statistics.json   "Model quality metrics" (multiclass), as Evaluate
                                              computed them on the test split
    <output>/model-quality/constraints.json  ``multiclass_classification_constraints``
                                              ("Create a model quality baseline")
    <output>/explainability/analysis_config.json   Clarify SHAP analysis configuration with
                                              a baseline row (training medians)
    <output>/drift/baseline_statistics.json  the platform drift job's baseline (Preprocess
                                              wrote it), copied under this execution's prefix

Column names: the training CSV has no header and the label first, the layout AWS's data
quality samples baseline (label first, then the features) and the layout of a captured
record merged by the analyzer (the predicted label, then the 64 pixels). Headerless CSV
columns are named ``_c0``, ``_c1``, ... by the analyzer's Spark reader; *verify* in an
account that a schedule reports no ``missing_column_check`` against these names.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

N_BUCKETS = 10  # "By default, distributions are materialized with 10 buckets" (schema doc)
KLL_K = 2048  # items kept per sketch; below it the sketch holds every value (exact)
KLL_C = 0.64
# Drift threshold the analyzer applies to each feature's distance from the baseline
# (``distribution_constraints.comparison_threshold``; 0.1 is the documented example).
COMPARISON_THRESHOLD = 0.1
SHAP_SAMPLES = 100


def column_names(n_columns: int) -> list[str]:
    """The analyzer's names for a headerless CSV: ``_c0`` .. ``_c<n-1>``."""
    return [f"_c{i}" for i in range(n_columns)]


def load_matrix(folder: Path) -> np.ndarray:
    """Every headerless CSV under ``folder`` (label first) as one float matrix; empty cells
    become NaN so completeness is measured, not assumed."""
    files = sorted(Path(folder).glob("*.csv")) if Path(folder).is_dir() else [Path(folder)]
    if not files:
        raise ValueError(f"no CSV under {folder}")
    parts = [np.genfromtxt(f, delimiter=",", dtype=float, ndmin=2) for f in files]
    widths = {p.shape[1] for p in parts}
    if len(widths) != 1:
        raise ValueError(f"CSV files under {folder} have different column counts: {widths}")
    matrix = np.vstack(parts)
    if matrix.shape[0] == 0:
        raise ValueError(f"no rows in the CSV under {folder}")
    return matrix


def kll_levels(values: np.ndarray, k: int = KLL_K) -> list[list[float]]:
    """A KLL sketch's compactor levels: an item at level h stands for 2**h values. Up to
    ``k`` values the sketch is exact (all at level 0); above, the sorted values are sampled
    every 2**h at the lowest level h that fits in k items."""
    ordered = np.sort(values)
    level = 0
    while len(ordered) > k * (2**level):
        level += 1
    step = 2**level
    kept = ordered[step // 2 :: step] if step > 1 else ordered
    return [[] for _ in range(level)] + [[float(v) for v in kept]]


def inferred_type(values: np.ndarray) -> str:
    return "Integral" if bool(np.all(np.mod(values, 1) == 0)) else "Fractional"


def feature_statistics(name: str, column: np.ndarray) -> dict[str, Any]:
    present = column[~np.isnan(column)]
    missing = int(column.size - present.size)
    if present.size == 0:
        raise ValueError(f"{name}: no value present in the baseline data")
    low, high = float(present.min()), float(present.max())
    # Equal-width buckets over [min, max]; a constant column has one bucket holding all.
    edges = np.linspace(low, high, N_BUCKETS + 1) if high > low else np.array([low, high])
    counts, _ = np.histogram(present, bins=edges)
    return {
        "name": name,
        "inferred_type": inferred_type(present),
        "numerical_statistics": {
            "common": {"num_present": int(present.size), "num_missing": missing},
            "mean": float(present.mean()),
            "sum": float(present.sum()),
            "std_dev": float(present.std(ddof=0)),
            "min": low,
            "max": high,
            "distribution": {
                "kll": {
                    "buckets": [
                        {
                            "lower_bound": float(edges[i]),
                            "upper_bound": float(edges[i + 1]),
                            "count": float(counts[i]),
                        }
                        for i in range(len(counts))
                    ],
                    "sketch": {
                        "parameters": {"c": KLL_C, "k": float(KLL_K)},
                        "data": kll_levels(present),
                    },
                }
            },
        },
    }


def data_quality_statistics(matrix: np.ndarray) -> dict[str, Any]:
    names = column_names(matrix.shape[1])
    return {
        "version": 0,
        "dataset": {"item_count": int(matrix.shape[0])},
        "features": [feature_statistics(n, matrix[:, i]) for i, n in enumerate(names)],
    }


def data_quality_constraints(statistics: dict[str, Any]) -> dict[str, Any]:
    """What the analyzer's baselining suggests from the statistics: each column's type,
    completeness and sign, and the drift comparison every column is held to."""
    features = []
    for feature in statistics["features"]:
        numbers = feature["numerical_statistics"]
        common = numbers["common"]
        total = common["num_present"] + common["num_missing"]
        features.append(
            {
                "name": feature["name"],
                "inferred_type": feature["inferred_type"],
                "completeness": common["num_present"] / total,
                "num_constraints": {"is_non_negative": numbers["min"] >= 0},
            }
        )
    return {
        "version": 0,
        "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0,
            "domain_content_threshold": 1.0,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": COMPARISON_THRESHOLD,
                "comparison_method": "Robust",
            },
        },
    }


def model_quality_constraints(metrics: dict[str, Any], accuracy_threshold: float) -> dict:
    """Accuracy and weighted F1 may not fall below the quality gate's bound (the same bound as
    the platform's quality alarm). ``metrics`` is Evaluate's model-quality statistics (a
    version below the bound never registers: the QualityGate stops it)."""
    values = metrics["multiclass_classification_metrics"]
    for name in ("accuracy", "weighted_f1"):
        if name not in values:
            raise ValueError(f"model-quality statistics lack {name}")
    return {
        "version": 0,
        "multiclass_classification_constraints": {
            name: {
                "threshold": float(accuracy_threshold),
                "comparison_operator": "LessThanThreshold",
            }
            for name in ("accuracy", "weighted_f1")
        },
    }


def shap_analysis_config(matrix: np.ndarray) -> dict[str, Any]:
    """Clarify's analysis configuration for feature attribution (SageMaker Clarify,
    "Analysis configuration files"): SHAP against one baseline row, the training medians of
    the 64 features (without the label column). The predictor is the monitored endpoint,
    which the job definition names; CSV in, CSV (the predicted class) out."""
    features = matrix[:, 1:]
    baseline = np.nanmedian(features, axis=0)
    return {
        "version": "1.0",
        "dataset_type": "text/csv",
        "headers": column_names(matrix.shape[1])[1:],
        "methods": {
            "shap": {
                "baseline": [[float(v) for v in baseline]],
                "num_samples": SHAP_SAMPLES,
                "agg_method": "mean_abs",
                "use_logit": False,
                "save_local_shap_values": False,
            }
        },
        "predictor": {"content_type": "text/csv", "accept_type": "text/csv"},
    }


def write_baselines(
    train_dir: Path,
    evaluation_dir: Path,
    output_dir: Path,
    accuracy_threshold: float,
    drift_statistics_dir: Path | None = None,
) -> dict[str, Path]:
    matrix = load_matrix(train_dir)
    metrics_file = Path(evaluation_dir) / "xgboost_metrics.json"
    if not metrics_file.is_file():
        raise ValueError(f"no xgboost_metrics.json under {evaluation_dir}")
    metrics = json.loads(metrics_file.read_text())
    statistics = data_quality_statistics(matrix)
    files = {
        "data-quality/statistics.json": statistics,
        "data-quality/constraints.json": data_quality_constraints(statistics),
        "model-quality/statistics.json": metrics,
        "model-quality/constraints.json": model_quality_constraints(metrics, accuracy_threshold),
        "explainability/analysis_config.json": shap_analysis_config(matrix),
    }
    if drift_statistics_dir is not None:
        drift_file = Path(drift_statistics_dir) / "baseline_statistics.json"
        if not drift_file.is_file():
            raise ValueError(f"no baseline_statistics.json under {drift_statistics_dir}")
        files["drift/baseline_statistics.json"] = json.loads(drift_file.read_text())
    written = {}
    for relative, body in files.items():
        path = Path(output_dir) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body, indent=1))
        written[relative] = path
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Model Monitor baselines of a trained version")
    parser.add_argument("--train-dir", type=Path, default=Path("/opt/ml/processing/input/train"))
    parser.add_argument(
        "--evaluation-dir", type=Path, default=Path("/opt/ml/processing/input/evaluation")
    )
    parser.add_argument("--drift-statistics-dir", type=Path, default=None)
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument("--accuracy-threshold", type=float, required=True)
    args = parser.parse_args(argv)
    try:
        written = write_baselines(
            args.train_dir,
            args.evaluation_dir,
            args.output_dir,
            args.accuracy_threshold,
            args.drift_statistics_dir,
        )
    except (ValueError, OSError, KeyError) as err:
        print(f"monitor baseline failed: {str(err) or repr(err)}", file=sys.stderr)
        return 1
    print("monitor baseline: " + ", ".join(sorted(written)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
