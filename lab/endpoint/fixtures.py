"""Small stand-in models and a lab registry for tests and benchmarks (seconds, not a pipeline).

Same layout as the local pipeline writes: ``model.tar.gz`` with ``xgboost-model`` (XGBoost,
multi:softmax) or ``model.joblib`` + ``code/baseline_inference.py`` (a GaussianNB Pipeline and
its serving entry point), listed in ``registry/registry.json`` with the container environment.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np


def _tar(path: Path, member: str, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def train_xgboost(
    x: np.ndarray, y: np.ndarray, path: Path, rounds: int = 10, seed: int = 0
) -> Path:
    import xgboost as xgb

    params = {
        "objective": "multi:softmax",
        "num_class": 10,
        "max_depth": 4,
        "eta": 0.3,
        "seed": seed,
        "nthread": 1,
    }
    booster = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=rounds)
    return _tar(path, "xgboost-model", bytes(booster.save_raw("ubj")))


def train_baseline(x: np.ndarray, y: np.ndarray, path: Path) -> Path:
    """The baseline as the pipeline's TrainBaseline job packs it: model.joblib and the
    serving entry point under code/ (model_code/train_baseline.py ``save_model``)."""
    import tempfile

    from model_code.train_baseline import save_model, train
    from pipelines.local.jobs import tar_model

    with tempfile.TemporaryDirectory() as tmp:
        save_model(train(x, y), Path(tmp))
        return tar_model(Path(tmp), path)


def build_registry(
    workdir: Path, xgboost_versions: int = 2, rounds: int = 10, status: str = "Approved"
) -> Path:
    """Train quickly and write ``<workdir>/registry/registry.json``; returns its path.

    Every version gets ``status`` (Approved: the endpoint serves approved versions only)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    features, labels = load_digits(return_X_y=True)
    x_train, _, y_train, _ = train_test_split(features, labels, test_size=0.2, random_state=42)
    models = workdir / "models"
    xgb_versions = [
        {
            "version": v,
            "approval_status": status,
            "artifact": str(
                train_xgboost(
                    x_train,
                    y_train,
                    models / f"xgb-{v}" / "model.tar.gz",
                    rounds=rounds + v - 1,
                    seed=v,
                )
            ),
        }
        for v in range(1, xgboost_versions + 1)
    ]
    from pipelines.training_pipeline import BASELINE_SERVING_ENV

    baseline = {
        "version": 1,
        "approval_status": status,
        "artifact": str(train_baseline(x_train, y_train, models / "baseline" / "model.tar.gz")),
        "environment": dict(BASELINE_SERVING_ENV),  # as RegisterBaseline registers it
    }
    from lab.registry import LocalRegistry

    local = LocalRegistry(workdir)
    registry = {
        "groups": {
            local.xgboost_group: {"versions": xgb_versions},
            local.baseline_group: {"versions": [baseline]},
        }
    }
    path = local.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(registry, indent=2))
    return path


def copy_of_shared_registry(workdir: Path, shared: Path) -> Path:
    """``build_registry`` once in ``shared`` (under a lock: parallel test processes wait for
    the first), then a private copy in ``workdir`` with its artifact paths; returns the
    copy's registry path. For many short test sessions of the same code (mutation runs)."""
    import fcntl
    import shutil

    shared.mkdir(parents=True, exist_ok=True)
    with open(shared / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "registry" / "registry.json").is_file():
            build_registry(shared)
    for name in ("models", "registry"):
        shutil.copytree(shared / name, workdir / name)
    registry = workdir / "registry" / "registry.json"
    registry.write_text(registry.read_text().replace(str(shared), str(workdir)))
    return registry
