"""Score the tuned XGBoost model (the challenger), the baseline and the champion on the test
set; write evaluation.json. The only step that reads the test split.

Runs in the XGBoost 3.0-5 container used as a processing image (it ships xgboost, sklearn,
joblib, pandas; no SDK imports). Output shape, documented for the quality gate and registry:

    evaluation.json          {"xgboost": M, "baseline": M, "champion": M | null,
                              "gate": {"champion_bar": b, "champion_margin": m,
                                       "champion_available": bool},
                              "test_rows": n,
                              "bias": {"facet": "source", "facet_values": [...],
                                       "pretraining": {"n_a", "n_d", "CI", "DPL": {class: v}},
                                       "bounds": {"max_abs_ci", "max_abs_dpl"},
                                       "xgboost" | "baseline": {"n_a", "n_d",
                                           "accuracy": {"a", "d"}, "AD",
                                           "recall" | "recall_a" | "recall_d": {class: r}}}
                                      | null (no test/facet.json: no bias gate ran)}
    xgboost_metrics.json     M   (registered as the XGBoost package's model statistics)
    baseline_metrics.json    M
    smoke_samples.json       {"rows": [[64 values]...], "labels": [...]}: held-out test rows
                             for the staging smoke test (never rows the model trained on)

The champion is the model approved for production when the run started (an input folder
holding its model.tar.gz; without one, e.g. on the first run, champion is null). The gate
registers the challenger only if its accuracy >= champion accuracy - margin (champion_bar;
0.0 without a champion, so the absolute AccuracyThreshold alone decides).
    M = {"multiclass_classification_metrics": {
           "accuracy": {"value": a, "standard_deviation": "NaN"},
           "weighted_precision" | "weighted_recall" | "weighted_f1": {...same...},
           "precision" | "recall" | "f1": [{"class": "0", "value": v}, ...],
           "confusion_matrix": {"<true>": {"<predicted>": count}}}}
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

try:
    from model_code import bias
    from model_code.archive import extract
except ImportError:  # in the container model_code arrives as a processing input (lib)
    sys.path.insert(0, os.environ.get("MODEL_CODE_LIB", "/opt/ml/processing/input/lib"))
    from model_code import bias
    from model_code.archive import extract

N_CLASSES = 10
SMOKE_SAMPLES = 20


def _model_file(model_path: Path, name: str, workdir: Path) -> Path:
    """Accept model.tar.gz (as SageMaker writes it), a folder, or the file itself."""
    model_path = Path(model_path)
    if model_path.is_dir():
        candidates = [model_path / name, *sorted(model_path.glob("*.tar.gz"))]
        found_any = next((c for c in candidates if c.exists()), None)
        if found_any is None:
            listed = ", ".join(
                f"{c.name} (broken link to {os.readlink(c)})" if c.is_symlink() else c.name
                for c in sorted(model_path.iterdir())
            )
            raise ValueError(f"{model_path} holds no {name!r} nor a *.tar.gz ({listed or 'empty'})")
        model_path = found_any
    if model_path.name.endswith(".tar.gz"):
        extract(model_path, workdir)
        found = workdir / name
        if not found.exists():
            raise ValueError(f"{model_path} holds no {name!r}")
        return found
    return model_path


def load_test(test_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    files = sorted(Path(test_dir).glob("*.csv")) if Path(test_dir).is_dir() else [Path(test_dir)]
    if not files:
        raise ValueError(f"no test CSV under {test_dir}")
    data = pd.concat([pd.read_csv(f, header=None) for f in files]).to_numpy(dtype=float)
    return data[:, 1:], data[:, 0].astype(int)


def predict_xgboost(model_path: Path, x: np.ndarray) -> np.ndarray:
    import xgboost as xgb  # only this function needs it; the baseline path stays light

    with tempfile.TemporaryDirectory() as tmp:
        booster = xgb.Booster()
        # From bytes: the extension-less file may be UBJSON or JSON; a buffer is sniffed.
        raw = _model_file(model_path, "xgboost-model", Path(tmp)).read_bytes()
        booster.load_model(bytearray(raw))
    pred = booster.predict(xgb.DMatrix(x))
    # multi:softmax gives class ids; multi:softprob gives one probability row per sample.
    return (pred.argmax(axis=1) if pred.ndim == 2 else pred).astype(int)


def predict_baseline(model_path: Path, x: np.ndarray) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        model = joblib.load(_model_file(model_path, "model.joblib", Path(tmp)))
    return np.asarray(model.predict(x)).astype(int)


def metrics(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = N_CLASSES) -> dict[str, Any]:
    """SageMaker model-quality shape; every number comes from sklearn.metrics."""
    labels = list(range(n_classes))
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    wp, wr, wf, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="weighted", zero_division=0
    )
    cm = confusion_matrix(y_true, y_pred, labels=labels)

    def value(v: float) -> dict[str, Any]:
        return {"value": float(v), "standard_deviation": "NaN"}

    return {
        "multiclass_classification_metrics": {
            "accuracy": value(accuracy_score(y_true, y_pred)),
            "weighted_precision": value(wp),
            "weighted_recall": value(wr),
            "weighted_f1": value(wf),
            "precision": [{"class": str(k), "value": float(p[k])} for k in labels],
            "recall": [{"class": str(k), "value": float(r[k])} for k in labels],
            "f1": [{"class": str(k), "value": float(f[k])} for k in labels],
            "confusion_matrix": {str(t): {str(q): int(cm[t, q]) for q in labels} for t in labels},
        }
    }


FACET_FILE = "facet.json"  # beside the test CSV, written by preprocess.bias_gate


def bias_section(
    facet: dict[str, Any] | None, y: np.ndarray, predictions: dict[str, np.ndarray]
) -> dict[str, Any] | None:
    """The evaluation report's ``bias``: the run's pre-training figures (CI, DPL, as the
    preprocess gate measured them) and, per model, accuracy per facet, AD = ACC_a - ACC_d and
    per-class recall overall and per facet (model_code/bias.py posttraining). None without a
    facet file (a run whose preprocess had no bias gate)."""
    if facet is None:
        return None
    rows = facet["rows"]
    if len(rows) != len(y):
        raise ValueError(f"{FACET_FILE} holds {len(rows)} rows, the test split {len(y)}")
    in_d = bias.facet_mask(rows, d_values=facet["facet_values"])
    classes = range(N_CLASSES)
    return {
        "facet": facet["facet"],
        "facet_values": facet["facet_values"],
        "pretraining": facet["pretraining"],
        "bounds": facet.get("bounds"),
        **{name: bias.posttraining(y, pred, in_d, classes) for name, pred in predictions.items()},
    }


def read_facet(test_dir: Path) -> dict[str, Any] | None:
    path = Path(test_dir) / FACET_FILE
    return json.loads(path.read_text()) if Path(test_dir).is_dir() and path.is_file() else None


def _has_model(path: Path | None) -> bool:
    if path is None or not Path(path).exists():
        return False
    path = Path(path)
    if path.is_file():
        return path.name.endswith(".tar.gz") or path.name == "xgboost-model"
    return any(path.glob("*.tar.gz")) or (path / "xgboost-model").exists()


def evaluate(
    xgboost_model: Path,
    baseline_model: Path,
    test_dir: Path,
    output_dir: Path,
    champion_model: Path | None = None,
    champion_margin: float = 0.0,
    smoke_samples: int = SMOKE_SAMPLES,
) -> dict[str, Any]:
    x, y = load_test(test_dir)
    champion = (
        metrics(y, predict_xgboost(champion_model, x))
        if champion_model is not None and _has_model(champion_model)
        else None
    )
    bar = (
        champion["multiclass_classification_metrics"]["accuracy"]["value"] - champion_margin
        if champion is not None
        else 0.0
    )
    predicted = {
        "xgboost": predict_xgboost(xgboost_model, x),
        "baseline": predict_baseline(baseline_model, x),
    }
    report = {
        "xgboost": metrics(y, predicted["xgboost"]),
        "baseline": metrics(y, predicted["baseline"]),
        "champion": champion,
        "gate": {
            "champion_available": champion is not None,
            "champion_margin": champion_margin,
            "champion_bar": max(bar, 0.0),
        },
        "test_rows": int(len(y)),
        "bias": bias_section(read_facet(test_dir), y, predicted),
    }
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "evaluation.json").write_text(json.dumps(report, indent=2))
    for name in ("xgboost", "baseline"):
        (output_dir / f"{name}_metrics.json").write_text(json.dumps(report[name], indent=2))
    samples = {
        "content_type": "text/csv",
        "rows": [[float(v) for v in row] for row in x[:smoke_samples]],
        "labels": [int(v) for v in y[:smoke_samples]],
    }
    (output_dir / "smoke_samples.json").write_text(json.dumps(samples))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xgboost-model", default="/opt/ml/processing/input/xgboost")
    parser.add_argument("--baseline-model", default="/opt/ml/processing/input/baseline")
    parser.add_argument("--test-dir", default="/opt/ml/processing/input/test")
    parser.add_argument("--output-dir", default="/opt/ml/processing/output/evaluation")
    parser.add_argument("--champion-model", default=None, help="folder or model.tar.gz")
    parser.add_argument("--champion-margin", type=float, default=0.0)
    parser.add_argument("--smoke-samples", type=int, default=SMOKE_SAMPLES)
    args = parser.parse_args(argv)
    try:
        report = evaluate(
            Path(args.xgboost_model),
            Path(args.baseline_model),
            Path(args.test_dir),
            Path(args.output_dir),
            Path(args.champion_model) if args.champion_model else None,
            args.champion_margin,
            args.smoke_samples,
        )
    except (ValueError, OSError) as err:
        # never an empty reason: the step's failure line is this line
        print(f"evaluate failed: {str(err) or repr(err)}", file=sys.stderr)
        return 1
    for name in ("xgboost", "baseline", "champion"):
        if report[name] is not None:
            acc = report[name]["multiclass_classification_metrics"]["accuracy"]["value"]
            print(f"{name}:test:accuracy={acc:.6f}")
    print(f"gate:champion_bar={report['gate']['champion_bar']:.6f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
