"""monitor_baseline.py: Model Monitor's documented file formats, and numbers from Digits.

The oracle for the shape is the Developer Guide's schemas, transcribed below by hand
("Schema for Statistics (statistics.json file)", "Schema for Constraints (constraints.json
file)", "Model quality metrics" / "Create a model quality baseline"), never the writer's
own output; the numbers are checked against pandas on the same rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from model_code import monitor_baseline as mb

# statistics.json, numerical feature (Developer Guide schema): key -> type
STAT_FEATURE_KEYS = {"name": str, "inferred_type": str, "numerical_statistics": dict}
NUMERICAL_KEYS = {
    "common": dict,
    "mean": float,
    "sum": float,
    "std_dev": float,
    "min": float,
    "max": float,
    "distribution": dict,
}
BUCKET_KEYS = {"lower_bound", "upper_bound", "count"}
# constraints.json (Developer Guide schema)
CONSTRAINT_FEATURE_KEYS = {"name", "inferred_type", "completeness", "num_constraints"}
MONITORING_CONFIG_KEYS = {
    "evaluate_constraints",
    "emit_metrics",
    "datatype_check_threshold",
    "domain_content_threshold",
    "distribution_constraints",
}
DISTRIBUTION_KEYS = {"perform_comparison", "comparison_threshold", "comparison_method"}


def check_statistics_schema(doc: dict[str, Any]) -> None:
    assert isinstance(doc["version"], (int, float))
    assert isinstance(doc["dataset"]["item_count"], int)
    for feature in doc["features"]:
        for key, kind in STAT_FEATURE_KEYS.items():
            assert isinstance(feature[key], kind), key
        assert feature["inferred_type"] in ("Fractional", "Integral")
        numbers = feature["numerical_statistics"]
        for key, kind in NUMERICAL_KEYS.items():
            assert isinstance(numbers[key], kind), key
        assert set(numbers["common"]) == {"num_present", "num_missing"}
        kll = numbers["distribution"]["kll"]
        assert all(set(b) == BUCKET_KEYS for b in kll["buckets"])
        assert set(kll["sketch"]["parameters"]) == {"c", "k"}
        assert all(isinstance(level, list) for level in kll["sketch"]["data"])


def check_constraints_schema(doc: dict[str, Any]) -> None:
    assert isinstance(doc["version"], (int, float))
    for feature in doc["features"]:
        assert set(feature) <= CONSTRAINT_FEATURE_KEYS | {"monitoringConfigOverrides"}
        assert feature["inferred_type"] in ("Integral", "Fractional", "String", "Unknown")
        assert 0.0 <= feature["completeness"] <= 1.0
        assert isinstance(feature["num_constraints"]["is_non_negative"], bool)
    config = doc["monitoring_config"]
    assert set(config) == MONITORING_CONFIG_KEYS
    assert config["evaluate_constraints"] == config["emit_metrics"] == "Enabled"
    assert set(config["distribution_constraints"]) == DISTRIBUTION_KEYS
    assert config["distribution_constraints"]["comparison_method"] in ("Simple", "Robust")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("baseline")
    x, y = load_digits(return_X_y=True)
    train = pd.DataFrame(np.column_stack([y, x]))
    (root / "train").mkdir()
    train.iloc[:1000].to_csv(root / "train" / "train.csv", header=False, index=False)
    evaluation = root / "evaluation"
    evaluation.mkdir()
    metrics = {
        "multiclass_classification_metrics": {
            "accuracy": {"value": 0.97, "standard_deviation": "NaN"},
            "weighted_f1": {"value": 0.969, "standard_deviation": "NaN"},
        }
    }
    (evaluation / "xgboost_metrics.json").write_text(json.dumps(metrics))
    statistics_dir = root / "statistics"
    statistics_dir.mkdir()
    (statistics_dir / "baseline_statistics.json").write_text('{"version": 1}')
    out = root / "out"
    code = mb.main(
        [
            "--train-dir",
            str(root / "train"),
            "--evaluation-dir",
            str(evaluation),
            "--drift-statistics-dir",
            str(statistics_dir),
            "--output-dir",
            str(out),
            "--accuracy-threshold",
            "0.95",
        ]
    )
    assert code == 0
    return {"out": out, "train": train.iloc[:1000], "metrics": metrics}


def read(run: dict[str, Any], name: str) -> Any:
    return json.loads((run["out"] / name).read_text())


def test_data_quality_statistics_follow_the_documented_schema(run: dict[str, Any]) -> None:
    doc = read(run, "data-quality/statistics.json")
    check_statistics_schema(doc)
    assert doc["dataset"]["item_count"] == 1000
    # the label column first, then 64 pixels, named as the analyzer names headerless CSV
    assert [f["name"] for f in doc["features"]] == [f"_c{i}" for i in range(65)]


def test_statistics_numbers_match_pandas(run: dict[str, Any]) -> None:
    """Mean, sum, std (population), min, max per column, and the buckets hold every row."""
    doc = read(run, "data-quality/statistics.json")
    frame = run["train"]
    for i in (0, 5, 33):
        numbers = doc["features"][i]["numerical_statistics"]
        column = frame[i]
        assert numbers["mean"] == pytest.approx(column.mean())
        assert numbers["sum"] == pytest.approx(column.sum())
        assert numbers["std_dev"] == pytest.approx(column.std(ddof=0))
        assert (numbers["min"], numbers["max"]) == (column.min(), column.max())
        buckets = numbers["distribution"]["kll"]["buckets"]
        assert sum(b["count"] for b in buckets) == 1000
        assert doc["features"][i]["inferred_type"] == "Integral"  # Digits pixels are 0-16


def test_constant_column_keeps_one_bucket_and_stays_valid() -> None:
    """Pixel 0 of Digits is always 0: one bucket holds every row, std 0, no NaN."""
    stats = mb.feature_statistics("_c1", np.zeros(50))
    numbers = stats["numerical_statistics"]
    assert numbers["std_dev"] == 0.0
    assert [
        (b["lower_bound"], b["upper_bound"], b["count"])
        for b in numbers["distribution"]["kll"]["buckets"]
    ] == [(0.0, 0.0, 50.0)]


def test_kll_sketch_is_exact_below_k_and_weighted_above() -> None:
    values = np.arange(5000, dtype=float)
    levels = mb.kll_levels(values, k=1000)
    # 5000 values > 4 * 1000: level 3 (weight 8) holds 625 items, levels 0-2 are empty
    assert [len(level) for level in levels] == [0, 0, 0, 625]
    weights = 2 ** (len(levels) - 1)
    assert len(levels[-1]) * weights == 5000
    assert np.median(levels[-1]) == pytest.approx(np.median(values), abs=8)
    assert mb.kll_levels(np.array([3.0, 1.0, 2.0]), k=10) == [[1.0, 2.0, 3.0]]


def test_missing_values_lower_completeness() -> None:
    matrix = np.array([[1.0, 2.0], [1.0, np.nan], [0.0, 4.0], [1.0, 5.0]])
    constraints = mb.data_quality_constraints(mb.data_quality_statistics(matrix))
    check_constraints_schema(constraints)
    assert [f["completeness"] for f in constraints["features"]] == [1.0, 0.75]


def test_data_quality_constraints_follow_the_documented_schema(run: dict[str, Any]) -> None:
    doc = read(run, "data-quality/constraints.json")
    check_constraints_schema(doc)
    assert len(doc["features"]) == 65
    assert all(f["num_constraints"]["is_non_negative"] for f in doc["features"])


def test_model_quality_constraints_hold_accuracy_and_f1_to_the_gate(run: dict[str, Any]) -> None:
    doc = read(run, "model-quality/constraints.json")
    assert set(doc) == {"version", "multiclass_classification_constraints"}
    assert doc["multiclass_classification_constraints"] == {
        "accuracy": {"threshold": 0.95, "comparison_operator": "LessThanThreshold"},
        "weighted_f1": {"threshold": 0.95, "comparison_operator": "LessThanThreshold"},
    }
    # the statistics are Evaluate's metrics, unchanged
    assert read(run, "model-quality/statistics.json") == run["metrics"]


def test_shap_baseline_is_the_training_median_without_the_label(run: dict[str, Any]) -> None:
    doc = read(run, "explainability/analysis_config.json")
    shap = doc["methods"]["shap"]
    expected = run["train"].iloc[:, 1:].median().tolist()
    assert shap["baseline"] == [expected]
    assert len(doc["headers"]) == 64 and doc["headers"][0] == "_c1"
    assert doc["predictor"]["content_type"] == "text/csv"


def test_drift_statistics_are_copied_for_the_version(run: dict[str, Any]) -> None:
    assert read(run, "drift/baseline_statistics.json") == {"version": 1}


def test_missing_evaluation_metrics_fail_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "t.csv").write_text("1,2\n3,4\n")
    code = mb.main(
        [
            "--train-dir",
            str(tmp_path / "train"),
            "--evaluation-dir",
            str(tmp_path),
            "--output-dir",
            str(tmp_path / "out"),
            "--accuracy-threshold",
            "0.9",
        ]
    )
    assert code == 1
    assert "no xgboost_metrics.json" in capsys.readouterr().err
