"""train_baseline.py and evaluate.py on small real data; metrics checked against sklearn."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_score

from model_code import evaluate, train_baseline
from pipelines.local.jobs import tar_model, train_xgboost


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("digits")
    x, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(np.column_stack([y, x]))
    for name, part in (
        ("train", frame.iloc[:500]),
        ("validation", frame.iloc[500:600]),
        ("test", frame.iloc[600:800]),
    ):
        (root / name).mkdir()
        part.to_csv(root / name / f"{name}.csv", header=False, index=False)
    return root


def test_baseline_saves_joblib_and_prints_metric(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = train_baseline.main(
        [
            "--train",
            str(data / "train"),
            "--validation",
            str(data / "validation"),
            "--model-dir",
            str(tmp_path / "model"),
        ]
    )
    assert code == 0 and (tmp_path / "model" / "model.joblib").exists()
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("validation:")][0]
    assert 0.6 < float(line.split("=")[1]) <= 1.0  # naive Bayes: a floor, well above chance


def test_evaluation_numbers_equal_sklearn_metrics(data: Path, tmp_path: Path) -> None:
    """evaluation.json must carry exactly what sklearn.metrics computes on the test set."""
    hp = {
        "objective": "multi:softmax",
        "num_class": "10",
        "num_round": "20",
        "eval_metric": "merror",
        "max_depth": "3",
    }
    train_xgboost(hp, {"train": data / "train"}, tmp_path / "xgb")
    xgb_tar = tar_model(tmp_path / "xgb", tmp_path / "xgb-out" / "model.tar.gz")
    train_baseline.main(["--train", str(data / "train"), "--model-dir", str(tmp_path / "lr")])
    lr_tar = tar_model(tmp_path / "lr", tmp_path / "lr-out" / "model.tar.gz")
    out = tmp_path / "eval"
    assert (
        evaluate.main(
            [
                "--xgboost-model",
                str(xgb_tar.parent),
                "--baseline-model",
                str(lr_tar),
                "--test-dir",
                str(data / "test"),
                "--output-dir",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads((out / "evaluation.json").read_text())
    test = pd.read_csv(data / "test" / "test.csv", header=None).to_numpy()
    x, y = test[:, 1:], test[:, 0].astype(int)
    booster = xgb.Booster()
    booster.load_model(bytearray((tmp_path / "xgb" / "xgboost-model").read_bytes()))
    pred = booster.predict(xgb.DMatrix(x)).astype(int)
    m = report["xgboost"]["multiclass_classification_metrics"]
    assert m["accuracy"] == {"value": accuracy_score(y, pred), "standard_deviation": "NaN"}
    assert m["weighted_f1"]["value"] == pytest.approx(f1_score(y, pred, average="weighted"))
    assert m["weighted_precision"]["value"] == pytest.approx(
        precision_score(y, pred, average="weighted", zero_division=0)
    )
    per_class = precision_score(y, pred, average=None, labels=list(range(10)), zero_division=0)
    assert [p["value"] for p in m["precision"]] == pytest.approx(list(per_class))
    cm = confusion_matrix(y, pred, labels=list(range(10)))
    assert m["confusion_matrix"]["3"]["3"] == cm[3, 3]
    assert sum(sum(row.values()) for row in m["confusion_matrix"].values()) == len(y)
    assert report["test_rows"] == len(y)
    # The per-model files hold the same metrics in the model-quality shape for the registry.
    assert json.loads((out / "xgboost_metrics.json").read_text()) == report["xgboost"]
    assert report["baseline"]["multiclass_classification_metrics"]["accuracy"]["value"] > 0.6


def test_evaluate_rejects_archive_without_model(data: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no model")
    bad = tar_model(tmp_path / "empty", tmp_path / "bad" / "model.tar.gz")
    with pytest.raises(ValueError, match="xgboost-model"):
        evaluate.predict_xgboost(bad, np.zeros((1, 64)))


def test_training_ships_the_serving_entry_point_the_container_calls(
    data: Path, tmp_path: Path
) -> None:
    """The scikit-learn serving container imports code/baseline_inference.py from the model
    dir and calls model_fn(model_dir), input_fn(body, content_type), predict_fn(data, model),
    output_fn(prediction, accept): run exactly that sequence on what training saved."""
    import importlib.util

    import pandas as pd

    model_dir = tmp_path / "model"
    argv = ["--train", str(data / "train"), "--validation", str(data / "validation")]
    argv += ["--model-dir", str(model_dir)]
    assert train_baseline.main(argv) == 0
    script = model_dir / "code" / "baseline_inference.py"
    assert script.is_file()
    spec = importlib.util.spec_from_file_location("entry", script)
    assert spec is not None and spec.loader is not None
    entry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entry)
    test = pd.read_csv(data / "test" / "test.csv", header=None).to_numpy()
    labels, rows = test[:, 0].astype(int), test[:, 1:]
    body = "".join(",".join(str(v) for v in row) + "\n" for row in rows).encode()
    model = entry.model_fn(str(model_dir))
    prediction = entry.predict_fn(entry.input_fn(body, "text/csv"), model)
    out, content_type = entry.output_fn(prediction, "application/json")
    assert content_type == "application/json"
    predicted = json.loads(out)["predictions"]
    assert len(predicted) == len(labels)
    assert (np.asarray(predicted) == labels).mean() > 0.6  # naive Bayes floor vs true labels
    csv_out, csv_type = entry.output_fn(prediction[:2], "text/csv")
    assert (csv_type, csv_out) == ("text/csv", f"{predicted[0]}\n{predicted[1]}\n")
    with pytest.raises(ValueError, match="rows of 64 numbers"):
        entry.input_fn(b"1,2,3\n", "text/csv")


def test_the_training_source_dir_carries_the_entry_point_it_copies(tmp_path: Path) -> None:
    """TrainBaseline runs from sourcedir.tar.gz in the container; train_baseline.py copies
    baseline_inference.py from beside itself, so the archive must hold both at its root."""
    import tarfile

    from infra.training.code_bundle import build_sourcedir

    with tarfile.open(build_sourcedir(tmp_path)) as archive:
        names = set(archive.getnames())
    assert {"train_baseline.py", train_baseline.ENTRY_POINT.name} <= names


def test_metrics_by_hand_with_a_class_that_never_occurs() -> None:
    """Three classes, class 2 neither true nor predicted: every class is listed (0.0 where
    undefined, never 1.0), support-weighted averages, the full confusion matrix. By hand:
    class 0 precision 1/1 recall 1/2, class 1 precision 1/2 recall 1/1 (supports 2, 1, 0)."""
    from model_code.evaluate import metrics

    m = metrics(np.array([0, 0, 1]), np.array([0, 1, 1]), n_classes=3)[
        "multiclass_classification_metrics"
    ]
    assert m["accuracy"] == {"value": pytest.approx(2 / 3), "standard_deviation": "NaN"}
    assert m["precision"] == [
        {"class": "0", "value": 1.0},
        {"class": "1", "value": 0.5},
        {"class": "2", "value": 0.0},
    ]
    assert m["recall"] == [
        {"class": "0", "value": 0.5},
        {"class": "1", "value": 1.0},
        {"class": "2", "value": 0.0},
    ]
    assert [c["value"] for c in m["f1"]] == pytest.approx([2 / 3, 2 / 3, 0.0])
    assert m["weighted_precision"]["value"] == pytest.approx((2 * 1.0 + 1 * 0.5) / 3)
    assert m["weighted_recall"]["value"] == pytest.approx((2 * 0.5 + 1 * 1.0) / 3)
    assert m["weighted_f1"]["value"] == pytest.approx(2 / 3)
    assert m["confusion_matrix"] == {
        "0": {"0": 1, "1": 1, "2": 0},
        "1": {"0": 0, "1": 1, "2": 0},
        "2": {"0": 0, "1": 0, "2": 0},
    }
