"""Baseline model: Gaussian naive Bayes, trained script-mode style.

A reported figure and the multi-container endpoint's second model, not the quality gate's
bar: the gate compares the tuned XGBoost with the approved champion and an absolute
threshold (pipelines/training_pipeline.py). Naive Bayes is a simple, fast reference point.

Runs in the SageMaker scikit-learn training container (no SDK imports). Reads the label-first,
header-less CSVs of the train (and optional validation) channel, saves model.joblib into the
model dir with the serving entry point beside it (``code/baseline_inference.py``, see that
module), and prints "validation:accuracy=<x>" for the metric regex.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import Pipeline, make_pipeline

RANDOM_STATE = 42


def load_channel(channel_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """All CSV files of a channel: first column label, the rest features, no header."""
    files = sorted(Path(channel_dir).glob("*.csv"))
    if not files:
        raise ValueError(f"no CSV files in channel {channel_dir}")
    data = pd.concat([pd.read_csv(f, header=None) for f in files]).to_numpy(dtype=float)
    return data[:, 1:], data[:, 0].astype(int)


def train(x: np.ndarray, y: np.ndarray, var_smoothing: float = 1e-9) -> Pipeline:
    model = make_pipeline(GaussianNB(var_smoothing=var_smoothing))
    return model.fit(x, y)


ENTRY_POINT = Path(__file__).resolve().with_name("baseline_inference.py")


def save_model(model: Pipeline, model_dir: Path) -> Path:
    """model.joblib plus the serving entry point under ``code/``: SageMaker tars the model dir
    into model.tar.gz, so the scikit-learn container finds the script at
    ``/opt/ml/model/code`` without downloading anything (the endpoint runs network-isolated)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / "model.joblib")
    code = model_dir / "code"
    code.mkdir(exist_ok=True)
    shutil.copyfile(ENTRY_POINT, code / ENTRY_POINT.name)
    return model_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # SageMaker passes hyperparameters as CLI args and the channels/model dir as SM_* env vars.
    parser.add_argument("--var-smoothing", type=float, default=1e-9)
    parser.add_argument(
        "--train", default=os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")
    )
    parser.add_argument(
        "--validation",
        default=os.environ.get("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"),
    )
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    args = parser.parse_args(argv)
    try:
        x, y = load_channel(Path(args.train))
    except ValueError as err:
        print(f"train_baseline failed: {str(err) or repr(err)}", file=sys.stderr)
        return 1
    model = train(x, y, args.var_smoothing)
    save_model(model, Path(args.model_dir))
    print(f"train:accuracy={model.score(x, y):.6f}")
    if Path(args.validation).is_dir():
        xv, yv = load_channel(Path(args.validation))
        print(f"validation:accuracy={model.score(xv, yv):.6f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
