"""The evaluation report's bias section: per-group accuracy, AD and per-class recall.

Expected values come from hand counts (AD = ACC_a - ACC_d, recall = correct rows of a class /
rows of the class) or from sklearn.metrics on the facet's rows (a second implementation).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, recall_score

from model_code import evaluate, train_baseline
from pipelines.local.jobs import tar_model, train_xgboost

A, D = "scanner-a", "scanner-b"
PRE = {"n_a": 7, "n_d": 3, "CI": 0.4, "DPL": {"0": 0.0}}


def facet(rows: list[str]) -> dict:
    return {
        "facet": "source",
        "facet_values": [D],
        "rows": rows,
        "pretraining": PRE,
        "bounds": {"max_abs_ci": 0.5, "max_abs_dpl": 0.1},
    }


def test_bias_section_by_hand() -> None:
    """a: true 0-6, predicted 0,1,2,3,4,5,0 -> 6 of 7 right; d: true 7,8,9, predicted 7,0,0
    -> 1 of 3 right. AD = 6/7 - 1/3 = 11/21. Recall: classes 6, 8, 9 are 0/1, the others 1/1;
    facet a has no row of class 7, so its recall there is None (not 0)."""
    y = np.arange(10)
    pred = np.array([0, 1, 2, 3, 4, 5, 0, 7, 0, 0])
    section = evaluate.bias_section(facet([A] * 7 + [D] * 3), y, {"xgboost": pred})
    assert section is not None
    got = section["xgboost"]
    assert got["accuracy"] == pytest.approx({"a": 6 / 7, "d": 1 / 3})
    assert got["AD"] == pytest.approx(11 / 21)
    expected = {str(c): 1.0 for c in range(10)} | {"6": 0.0, "8": 0.0, "9": 0.0}
    assert got["recall"] == pytest.approx(expected)
    assert got["recall_a"]["7"] is None and got["recall_d"]["7"] == 1.0
    assert section["pretraining"] == PRE and section["facet_values"] == [D]
    assert evaluate.bias_section(None, y, {"xgboost": pred}) is None
    with pytest.raises(ValueError, match="holds 3 rows, the test split 10"):
        evaluate.bias_section(facet([A, A, D]), y, {"xgboost": pred})


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Small XGBoost and baseline models and a 200-row test split whose first 60 rows are
    facet d (written as preprocess writes test/facet.json)."""
    root = tmp_path_factory.mktemp("bias-eval")
    x, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(np.column_stack([y, x]))
    for name, part in (("train", frame.iloc[:500]), ("test", frame.iloc[600:800])):
        (root / name).mkdir()
        part.to_csv(root / name / f"{name}.csv", header=False, index=False)
    (root / "test" / "facet.json").write_text(json.dumps(facet([D] * 60 + [A] * 140)))
    hp = {"objective": "multi:softmax", "num_class": "10", "num_round": "10", "max_depth": "3"}
    train_xgboost(hp, {"train": root / "train"}, root / "xgb")
    xgb_tar = tar_model(root / "xgb", root / "xgb-out" / "model.tar.gz")
    train_baseline.main(["--train", str(root / "train"), "--model-dir", str(root / "lr")])
    lr_tar = tar_model(root / "lr", root / "lr-out" / "model.tar.gz")
    return root, xgb_tar, lr_tar


def test_evaluation_report_carries_per_group_accuracy_ad_and_recall(
    models: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    root, xgb_tar, lr_tar = models
    report = evaluate.evaluate(xgb_tar, lr_tar, root / "test", tmp_path)
    assert json.loads((tmp_path / "evaluation.json").read_text()) == json.loads(json.dumps(report))
    # the keys the quality gate and registry read are unchanged
    assert {"xgboost", "baseline", "champion", "gate", "test_rows"} <= set(report)
    assert report["test_rows"] == 200  # facet.json is not read as test data
    test = pd.read_csv(root / "test" / "test.csv", header=None).to_numpy()
    x, y = test[:, 1:], test[:, 0].astype(int)
    booster = xgb.Booster()
    booster.load_model(bytearray((root / "xgb" / "xgboost-model").read_bytes()))
    pred = booster.predict(xgb.DMatrix(x)).astype(int)
    got = report["bias"]["xgboost"]
    acc_d, acc_a = accuracy_score(y[:60], pred[:60]), accuracy_score(y[60:], pred[60:])
    assert got["accuracy"] == pytest.approx({"a": acc_a, "d": acc_d})
    assert got["AD"] == pytest.approx(acc_a - acc_d)
    recall = recall_score(y, pred, labels=list(range(10)), average=None, zero_division=0)
    assert [got["recall"][str(c)] for c in range(10)] == pytest.approx(list(recall))
    assert report["bias"]["pretraining"] == PRE
    assert set(report["bias"]) >= {"facet", "facet_values", "bounds", "xgboost", "baseline"}


def test_without_a_facet_file_the_bias_section_is_null(
    models: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    root, xgb_tar, lr_tar = models
    plain = tmp_path / "test"
    plain.mkdir()
    (plain / "test.csv").write_text((root / "test" / "test.csv").read_text())
    assert evaluate.evaluate(xgb_tar, lr_tar, plain, tmp_path / "out")["bias"] is None
