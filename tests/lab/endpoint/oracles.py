"""Independent oracles shared by the local endpoint tests: no labctl code inside."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np


def booster_predictions(archive: Path, x: np.ndarray) -> np.ndarray:
    """Independent of lab.endpoint: tarfile + xgboost's own loader and predict."""
    import xgboost as xgb

    with tarfile.open(archive) as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        booster = xgb.Booster(model_file=bytearray(member.read()))
    return booster.predict(xgb.DMatrix(x)).astype(int)
