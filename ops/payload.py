"""Request parsing and response formatting for the SageMaker hosting contract (Digits rows).

CSV: one row per line, no header, 64 numbers per row. JSON: ``{"instances": [[64 numbers],
...]}``, ``{"instances": [{"features": [64 numbers]}, ...]}`` or ``{"features": [64 numbers]}``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

N_FEATURES = 64
CSV = "text/csv"
JSON = "application/json"
SUPPORTED = (CSV, JSON)


class InvocationError(Exception):
    """An invocation the endpoint refuses; ``code`` becomes botocore's error code.

    ``ValidationError`` is what the SageMaker front door raises (headers, routing);
    ``ModelError`` is what it raises when the model container rejects the payload.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        error_code: str = "",
        detail: str = "",
        original_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.error_code = error_code or code
        self.detail = detail or message  # the problem alone, without SageMaker's wrapping
        self.original_status = original_status  # what the container answered (ModelError)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ErrorCode": self.error_code, "Message": self.message}
        if self.code == "ModelError":
            body["OriginalStatusCode"] = self.original_status or self.status
            body["OriginalMessage"] = self.detail
        return body


def payload_error(message: str, status: int = 400) -> InvocationError:
    """The container refused the payload; SageMaker wraps that as a ModelError."""
    kind = "client" if status < 500 else "server"
    return InvocationError(
        status,
        "ModelError",
        f'Received {kind} error ({status}) from model with message "{message}"',
        error_code="CLIENT_ERROR_FROM_MODEL" if status < 500 else "SERVER_ERROR_FROM_MODEL",
        detail=message,
    )


def model_failure(message: str) -> InvocationError:
    """The model raised while predicting. InvokeEndpoint answers HTTP 424 ``ModelError`` with
    the container's status (500) in ``OriginalStatusCode`` (botocore's sagemaker-runtime
    model: ModelError, httpStatusCode 424, members Message, OriginalStatusCode,
    OriginalMessage, LogStreamArn); the endpoint's ``InvocationModelErrors`` metric counts it.
    """
    return InvocationError(
        424,
        "ModelError",
        f'Received server error (500) from primary with message "{message}"',
        error_code="SERVER_ERROR_FROM_MODEL",
        detail=message,
        original_status=500,
    )


def media_type(header: str | None) -> str:
    """``text/csv; charset=utf-8`` -> ``text/csv``."""
    return (header or "").split(";", 1)[0].strip().lower()


def _number(value: str, row: int, col: int) -> float:
    try:
        number = float(value)
    except ValueError:
        raise payload_error(
            f"row {row}, column {col}: {value.strip()[:40]!r} is not a number"
        ) from None
    if math.isinf(number):
        raise payload_error(f"row {row}, column {col}: infinite values are not allowed")
    return number  # NaN stays: XGBoost reads it as a missing value


def parse_csv(body: bytes) -> np.ndarray:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise payload_error("body is not UTF-8 text") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise payload_error(f"empty body: expected CSV rows of {N_FEATURES} numbers")
    rows = []
    for r, line in enumerate(lines, start=1):
        values = line.split(",")
        if len(values) != N_FEATURES:
            raise payload_error(f"row {r} has {len(values)} values, expected {N_FEATURES}")
        rows.append([_number(v, r, c) for c, v in enumerate(values, start=1)])
    return np.asarray(rows, dtype=np.float64)


def _json_row(row: Any, r: int) -> list[float]:
    if isinstance(row, dict):
        if "features" not in row:
            raise payload_error(f"instance {r} is an object without 'features'")
        row = row["features"]
    if not isinstance(row, list):
        raise payload_error(f"instance {r} is not a list of {N_FEATURES} numbers")
    if len(row) != N_FEATURES:
        raise payload_error(f"row {r} has {len(row)} values, expected {N_FEATURES}")
    out = []
    for c, value in enumerate(row, start=1):
        # bool is an int subclass; a true/false feature is a client bug, not a 1/0.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise payload_error(f"row {r}, column {c}: {json.dumps(value)[:40]} is not a number")
        try:
            number = float(value)
        except OverflowError:  # an integer literal with hundreds of digits
            raise payload_error(f"row {r}, column {c}: number out of range") from None
        if math.isinf(number):  # 1e999 parses as infinity
            raise payload_error(f"row {r}, column {c}: infinite values are not allowed")
        out.append(number)
    return out


def parse_json(body: bytes) -> np.ndarray:
    if not body.strip():
        raise payload_error('empty body: expected {"instances": [[64 numbers], ...]}')
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise payload_error(f"body is not valid JSON ({err})") from None
    except RecursionError:  # [[[[...]]]] nested thousands deep
        raise payload_error("body is JSON nested too deeply to be rows of numbers") from None
    if isinstance(doc, dict) and "instances" in doc:
        instances = doc["instances"]
    elif isinstance(doc, dict) and "features" in doc:
        instances = [doc["features"]]
    else:
        raise payload_error(
            'JSON body must be {"instances": [[64 numbers], ...]} or {"features": [64 numbers]}'
        )
    if not isinstance(instances, list) or not instances:
        raise payload_error("'instances' must be a non-empty list of rows")
    return np.asarray(
        [_json_row(row, r) for r, row in enumerate(instances, start=1)], dtype=np.float64
    )


def parse(content_type: str | None, body: bytes) -> np.ndarray:
    kind = media_type(content_type)
    if kind == CSV:
        return parse_csv(body)
    if kind == JSON:
        return parse_json(body)
    shown = kind or "(none)"
    raise payload_error(
        f"unsupported content type {shown}: use text/csv or application/json", status=415
    )


def response_type(accept: str | None, content_type: str | None) -> str:
    """The first supported type in Accept; ``*/*`` or no Accept answers in the request's type."""
    if not accept:
        return media_type(content_type) if media_type(content_type) in SUPPORTED else CSV
    for part in accept.split(","):
        kind = media_type(part)
        if kind in SUPPORTED:
            return kind
        if kind in ("*/*", "text/*", "application/*"):
            fallback = media_type(content_type)
            return fallback if fallback in SUPPORTED else CSV
    raise payload_error(
        f"unsupported Accept {accept}: use text/csv or application/json", status=406
    )


def _plain(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number  # class ids print as 6, not 6.0


def format_predictions(predictions: Sequence[Any], kind: str) -> bytes:
    values = [_plain(p) for p in predictions]
    if kind == JSON:
        return json.dumps({"predictions": values}).encode()
    return "".join(f"{v}\n" for v in values).encode()


def parse_predictions(body: bytes, content_type: str | None) -> list[int | float]:
    """Read predictions back: this endpoint's formats and the SageMaker XGBoost container's
    (``6.0,9.0`` on one line, or JSON ``{"predictions": [{"score": 6.0}]}``)."""
    text = body.decode("utf-8").strip()
    if media_type(content_type) == JSON or text.startswith("{"):
        doc = json.loads(text)
        items = doc["predictions"] if isinstance(doc, dict) else doc
        out = []
        for item in items:
            if isinstance(item, dict):
                item = item.get("predicted_label", item.get("score"))
            out.append(_plain(item))
        return out
    return [_plain(v) for v in text.replace("\n", ",").split(",") if v.strip()]


def encode_rows(rows: np.ndarray, content_type: str) -> bytes:
    values = [[int(v) if float(v).is_integer() else float(v) for v in row] for row in rows]
    if content_type == JSON:
        return json.dumps({"instances": values}).encode()
    return "".join(",".join(map(str, row)) + "\n" for row in values).encode()
