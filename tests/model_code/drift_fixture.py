"""Digits baseline and capture records for the drift tests (built the way production builds
them: preprocess's baseline statistics of a stratified training split, the local endpoint's
capture record format)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from lab.endpoint.capture import capture_record
from model_code.preprocess import FEATURES, LABEL, baseline_statistics, impute, split

T0 = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # windows cross midnight and a month end


@cache
def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data.astype(float), d.target.astype(int)


@cache
def baseline_doc(model_version: int | None = 1) -> str:
    x, y = digits()
    frame = pd.DataFrame(x, columns=FEATURES)
    frame[LABEL] = y
    train, val, test = split(frame, 0.15, 0.15)
    (train, _, _), medians = impute([train, val, test])
    doc = baseline_statistics(train, {"train": len(train)}, medians)
    if model_version is not None:
        doc["model_version"] = model_version
    return json.dumps(doc)


def write_baseline(folder: Path, model_version: int | None = 1) -> Path:
    path = folder / "baseline.json"
    path.write_text(baseline_doc(model_version))
    return path


def sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n Digits rows drawn with replacement: traffic from the training distribution."""
    x, y = digits()
    idx = np.random.default_rng(seed).integers(0, len(y), n)
    return x[idx], y[idx]


def record_line(rows: np.ndarray, preds: list[int], when: datetime, fmt: str = "csv") -> str:
    if fmt == "csv":
        body = "\n".join(",".join(f"{v:g}" for v in r) for r in rows).encode()
        out = "".join(f"{p}\n" for p in preds).encode()
        rec = capture_record("text/csv", body, "text/csv", out, when)
    else:
        body = json.dumps({"instances": rows.tolist()}).encode()
        out = json.dumps({"predictions": preds}).encode()
        ctype = "application/json" if fmt == "json" else "application/x-npy"
        rec = capture_record(ctype, body, ctype, out, when)
    return json.dumps(rec)


def write_capture(
    root: Path,
    rows: np.ndarray,
    preds: np.ndarray,
    start: datetime = T0,
    step: timedelta = timedelta(seconds=10),
    endpoint: str = "lab-digits",
) -> Path:
    """One record per row, in SageMaker's hour folders; returns the capture root."""
    base = root / endpoint / "AllTraffic"
    for i, (row, pred) in enumerate(zip(rows, preds, strict=True)):
        when = start + i * step
        folder = base / f"{when:%Y/%m/%d/%H}"
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "part.jsonl").open("a") as handle:
            handle.write(record_line(row[None, :], [int(pred)], when) + "\n")
    return root / endpoint / "AllTraffic"
