"""The client path to an endpoint, deployed or local: Digits test rows, a sagemaker-runtime
client for the local endpoint, one InvokeEndpoint for many rows, and the smoke samples the
pipeline's Evaluate step writes. ``labctl invoke`` and the lab's stages call it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ops import aws_client
from ops.errors import OperationFailed, UsageError
from ops.payload import CSV, encode_rows, parse_predictions

T = TypeVar("T")

N_TEST_SAMPLES = 360  # Digits 80/20 split: 1,797 rows -> 360 test rows


def digits_test_rows(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` test samples of the study guide's split (the first one is a 6)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    features, labels = load_digits(return_X_y=True)
    _, x_test, _, y_test = train_test_split(features, labels, test_size=0.2, random_state=42)
    return x_test[:n], y_test[:n]


def local_client(url: str, region: str | None = None) -> Any:
    """A sagemaker-runtime client for the local endpoint (placeholder keys: nothing checks
    signatures locally, but botocore will not send an unsigned request)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name=region or "us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        # One attempt: a local failure should show at once, not after retries.
        config=Config(
            retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=60
        ),
    )


def invoke_rows(
    client: Any,
    endpoint: str,
    rows: np.ndarray,
    *,
    content_type: str = CSV,
    accept: str = CSV,
    target_model: str | None = None,
    target_container: str | None = None,
    inference_id: str | None = None,
) -> list[int | float]:
    """One InvokeEndpoint call for all rows; returns the parsed predictions. ``inference_id``
    lands in the capture record's eventMetadata (what ``labctl lineage --id`` finds)."""
    kwargs: dict[str, Any] = {
        "EndpointName": endpoint,
        "Body": encode_rows(rows, content_type),
        "ContentType": content_type,
        "Accept": accept,
    }
    if target_model:
        kwargs["TargetModel"] = target_model
    if target_container:
        kwargs["TargetContainerHostname"] = target_container
    if inference_id:
        kwargs["InferenceId"] = inference_id
    response = client.invoke_endpoint(**kwargs)
    return parse_predictions(response["Body"].read(), response.get("ContentType"))


def read_samples(source: str, region: str | None = None) -> tuple[np.ndarray, list[float]]:
    """Rows and labels of a smoke_samples.json that the pipeline's Evaluate step wrote from
    its held-out test split: a local path or an s3:// URI (next to evaluation.json)."""
    try:
        if source.startswith("s3://"):
            bucket, _, key = source.removeprefix("s3://").partition("/")
            body = aws_client("s3", region).get_object(Bucket=bucket, Key=key)
            text = body["Body"].read().decode()
        else:
            text = Path(source).read_text()
        doc = json.loads(text)
        rows, labels = np.asarray(doc["rows"], dtype=float), [float(v) for v in doc["labels"]]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UsageError(f"--samples {source}: not a readable smoke_samples.json ({err})") from err
    except Exception as err:  # botocore errors: the object is missing or unreadable
        raise OperationFailed(f"--samples {source}: {err}") from err
    if rows.ndim != 2 or len(rows) != len(labels) or not len(rows):
        raise UsageError(f"--samples {source}: rows and labels must be non-empty, same length")
    return rows, labels


def _missing_target(message: str) -> str | None:
    """The flag to add when the endpoint says a target header is missing: SageMaker and the
    local endpoint name the HTTP header, the caller sets it with a labctl flag."""
    text = message.lower().replace("-", " ")
    if "missing" not in text:
        return None
    if "target model" in text or "targetmodel" in text:
        return (
            "a multi-model endpoint needs the model to invoke: pass --target-model M "
            "(e.g. xgboost-v3.tar.gz) or --target-model-from release/<env>.json"
        )
    if "target container" in text or "targetcontainerhostname" in text:
        choices = message[message.find("(one of ") :] if "(one of " in message else ""
        return (
            f"a multi-container endpoint needs the container: pass --target-container H {choices}"
        )
    return None


def answered(endpoint: str, call: Callable[[], T]) -> T:
    """``call()`` (an invocation of ``endpoint``) with botocore's errors as one line: a missing
    target header is the caller's to fix (UsageError, naming the flag), anything else failed."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except ClientError as err:
        error = err.response.get("Error", {})
        if (flag := _missing_target(str(error.get("Message", "")))) is not None:
            raise UsageError(f"{endpoint}: {flag}") from err
        raise OperationFailed(f"{endpoint}: {error.get('Code')}: {error.get('Message')}") from err
    except BotoCoreError as err:
        raise OperationFailed(f"{endpoint}: {err}") from err
