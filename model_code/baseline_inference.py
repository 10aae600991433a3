"""Serving entry point of the baseline in the SageMaker scikit-learn container.

The container's serving toolkit imports the module named by ``SAGEMAKER_PROGRAM`` from
``SAGEMAKER_SUBMIT_DIRECTORY`` and calls ``model_fn(model_dir)`` once, then per request
``input_fn(body, content_type)``, ``predict_fn(data, model)`` and ``output_fn(prediction,
accept)``, which may return ``(body, content_type)`` (sagemaker-scikit-learn-container
``serving.py``; sagemaker-containers ``_transformer.Transformer``). ``train_baseline.py``
copies this file into ``<model_dir>/code/`` so it ships inside ``model.tar.gz``: with network
isolation the container cannot download code, and the SageMaker Python SDK uses the same
layout (``SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code``) for isolated framework models.
Standard library, numpy and joblib only (what the container has).
"""

from __future__ import annotations

import json
import os
from typing import Any

import joblib
import numpy as np

# The registered package's container environment (pipelines/training_pipeline.py).
PROGRAM = "baseline_inference.py"
SUBMIT_DIRECTORY = "/opt/ml/model/code"
MODEL_FILE = "model.joblib"
N_FEATURES = 64
CSV = "text/csv"
JSON = "application/json"


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def model_fn(model_dir: str) -> Any:
    """Load the fitted scikit-learn pipeline that train_baseline.py saved."""
    return joblib.load(os.path.join(model_dir, MODEL_FILE))


def input_fn(request_body: bytes | str, content_type: str) -> np.ndarray:
    """CSV rows of 64 numbers, or JSON ``{"instances": [[...], ...]}`` / ``{"features": [...]}``.

    ValueError for anything else: the toolkit reports it to the caller as a client error.
    """
    text = request_body.decode("utf-8") if isinstance(request_body, bytes) else request_body
    kind = _media(content_type)
    if kind == CSV:
        rows = [[float(v) for v in line.split(",")] for line in text.splitlines() if line.strip()]
    elif kind == JSON:
        doc = json.loads(text)
        if isinstance(doc, dict) and "instances" in doc:
            rows = doc["instances"]
        elif isinstance(doc, dict) and "features" in doc:
            rows = [doc["features"]]
        else:
            raise ValueError('JSON body must be {"instances": [[64 numbers], ...]}')
        rows = [r["features"] if isinstance(r, dict) else r for r in rows]
    else:
        raise ValueError(f"unsupported content type {content_type!r}: use {CSV} or {JSON}")
    data = np.asarray(rows, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] == 0 or data.shape[1] != N_FEATURES:
        raise ValueError(f"expected rows of {N_FEATURES} numbers, got shape {data.shape}")
    return data


def predict_fn(input_data: np.ndarray, model: Any) -> np.ndarray:
    return np.asarray(model.predict(input_data))


def output_fn(prediction: np.ndarray, accept: str) -> tuple[str, str]:
    """Class ids as CSV lines (``6``) or JSON ``{"predictions": [6]}``; CSV for */* or none."""
    labels = [int(p) for p in prediction]
    if _media(accept) == JSON:
        return json.dumps({"predictions": labels}), JSON
    if _media(accept) in ("", "*/*", CSV):
        return "".join(f"{p}\n" for p in labels), CSV
    raise ValueError(f"unsupported Accept {accept!r}: use {CSV} or {JSON}")
