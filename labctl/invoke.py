"""labctl invoke: send Digits rows to an endpoint through boto3's sagemaker-runtime client.

Deployed endpoints by name (``--region``), or the local endpoint (``--local-url``, from
``labctl serve --local``). ``--expect`` turns it into a smoke test: exit 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from lab.endpoint.payload import (
    CSV,
    JSON,
    SUPPORTED,
    InvocationError,
    parse_csv,
    parse_predictions,
)
from labctl.options import add_examples, add_region, add_workdir, resolve_region
from ops.errors import OperationFailed, UsageError

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


def encode_rows(rows: np.ndarray, content_type: str) -> bytes:
    values = [[int(v) if float(v).is_integer() else float(v) for v in row] for row in rows]
    if content_type == JSON:
        return json.dumps({"instances": values}).encode()
    return "".join(",".join(map(str, row)) + "\n" for row in values).encode()


def invoke_rows(
    client: Any,
    endpoint: str,
    rows: np.ndarray,
    *,
    content_type: str = CSV,
    accept: str = CSV,
    target_model: str | None = None,
    target_container: str | None = None,
) -> list[int | float]:
    """One InvokeEndpoint call for all rows; returns the parsed predictions."""
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
    response = client.invoke_endpoint(**kwargs)
    return parse_predictions(response["Body"].read(), response.get("ContentType"))


def read_samples(source: str, region: str | None = None) -> tuple[np.ndarray, list[float]]:
    """Rows and labels of a smoke_samples.json that the pipeline's Evaluate step wrote from
    its held-out test split: a local path or an s3:// URI (next to evaluation.json)."""
    try:
        if source.startswith("s3://"):
            import boto3

            bucket, _, key = source.removeprefix("s3://").partition("/")
            body = boto3.client("s3", region_name=region).get_object(Bucket=bucket, Key=key)
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


def read_rows(args: argparse.Namespace) -> np.ndarray:
    if getattr(args, "samples", None) is not None:
        return read_samples(args.samples, resolve_region(args.region))[0]
    if args.digits is not None:
        if not 1 <= args.digits <= N_TEST_SAMPLES:
            raise UsageError(f"--digits must be 1-{N_TEST_SAMPLES}, got {args.digits}")
        return digits_test_rows(args.digits)[0]
    if args.file is not None:
        try:
            text = Path(args.file).read_text()
        except (OSError, UnicodeDecodeError) as err:
            raise UsageError(f"cannot read {args.file}: {err}") from err
        source = args.file
    else:
        text, source = args.csv, "--csv"
    try:
        return parse_csv(text.encode())
    except InvocationError as err:
        raise UsageError(f"{source}: {err.detail}") from err


def release_target_model(path: str) -> str:
    """The XGBoost TargetModel a release file names (what ``release publish`` copied)."""
    try:
        release = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise UsageError(f"--target-model-from {path}: cannot read a release file ({err})") from err
    entry = release.get("xgboost") if isinstance(release, dict) else None
    name = entry.get("target_model") if isinstance(entry, dict) else None
    if not isinstance(name, str) or not name:
        raise UsageError(
            f"--target-model-from {path}: xgboost has no target_model "
            "(resolve the release with serving.kind multi_model)"
        )
    return name


SMOKE_SAMPLES = "smoke_samples.json"  # model_code/evaluate.py writes it beside the metrics


def release_samples(path: str) -> str:
    """The smoke_samples.json of the released XGBoost version: beside its registered model
    metrics, in the evaluation folder of the pipeline execution that trained it (each
    execution has its own, so a newer run's samples are never taken for this model's)."""
    try:
        release = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise UsageError(
            f"--samples-from-release {path}: cannot read a release file ({err})"
        ) from err
    entry = release.get("xgboost") if isinstance(release, dict) else None
    metrics = entry.get("metrics_uri") if isinstance(entry, dict) else None
    folder, slash, _ = metrics.rpartition("/") if isinstance(metrics, str) else ("", "", "")
    if not slash or not folder.startswith("s3://"):
        raise UsageError(
            f"--samples-from-release {path}: xgboost has no metrics_uri (a version registered "
            "without model metrics has no smoke samples): pass --samples"
        )
    return f"{folder}/{SMOKE_SAMPLES}"


def parse_expect(value: str) -> list[float]:
    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError as err:
        raise UsageError(f"--expect must be comma-separated numbers, got {value!r}") from err


def run(args: argparse.Namespace, client: Any = None, s3: Any = None) -> int:
    if getattr(args, "samples_from_release", None) is not None:
        args.samples = release_samples(args.samples_from_release)
    expected = parse_expect(args.expect) if args.expect is not None else None
    if args.samples is not None and expected is not None:
        raise UsageError("--samples carries its own labels: drop --expect")
    labels = (
        read_samples(args.samples, resolve_region(args.region))[1]
        if args.samples is not None
        else None
    )
    if args.local_url is not None and not args.local_url.startswith(("http://", "https://")):
        raise UsageError(f"--local-url must be an http:// URL, got {args.local_url!r}")
    rows = read_rows(args)
    target_model = args.target_model
    if args.target_model_from is not None:
        target_model = release_target_model(args.target_model_from)
    if client is None:
        if args.local_url:
            client = local_client(args.local_url, args.region)
        else:
            import boto3

            client = boto3.client("sagemaker-runtime", region_name=resolve_region(args.region))
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if getattr(args, "async_", False):  # upload, InvokeEndpointAsync, poll (invoke_async)
            from ops.invoke_async import predict_async

            if target_model or args.target_container:
                raise UsageError("--async endpoints host one model: drop --target-*")
            predictions = predict_async(args, client, rows, s3)
        else:
            predictions = invoke_rows(
                client,
                args.endpoint,
                rows,
                content_type=args.content_type,
                accept=args.accept,
                target_model=target_model,
                target_container=args.target_container,
            )
    except ClientError as err:
        error = err.response.get("Error", {})
        if (flag := _missing_target(str(error.get("Message", "")))) is not None:
            raise UsageError(f"{args.endpoint}: {flag}") from err
        raise OperationFailed(
            f"{args.endpoint}: {error.get('Code')}: {error.get('Message')}"
        ) from err
    except BotoCoreError as err:
        raise OperationFailed(f"{args.endpoint}: {err}") from err
    print(",".join(str(p) for p in predictions))
    if labels is not None:
        return _check_accuracy(predictions, labels, args.min_accuracy)
    if expected is None:
        return 0
    if len(predictions) != len(expected):
        raise OperationFailed(
            f"expected {len(expected)} predictions, the endpoint returned {len(predictions)}"
        )
    wrong = [
        f"row {i}: expected {e:g}, got {p}"
        for i, (e, p) in enumerate(zip(expected, predictions, strict=True), start=1)
        if float(p) != e
    ]
    if wrong:
        raise OperationFailed(
            f"{len(wrong)} of {len(expected)} predictions differ: " + "; ".join(wrong[:5])
        )
    print(f"all {len(expected)} predictions match --expect")
    return 0


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


def _check_accuracy(predictions: list[Any], labels: list[float], minimum: float) -> int:
    """Held-out rows: a good model misses a few, so the check is a bound, not equality."""
    if len(predictions) != len(labels):
        raise OperationFailed(
            f"expected {len(labels)} predictions, the endpoint returned {len(predictions)}"
        )
    right = sum(float(p) == label for p, label in zip(predictions, labels, strict=True))
    accuracy = right / len(labels)
    line = f"{right} of {len(labels)} held-out samples right: accuracy {accuracy:.3f}"
    if accuracy < minimum:
        raise OperationFailed(f"{line} < --min-accuracy {minimum}")
    print(f"{line} >= {minimum}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("invoke", help="send rows to an endpoint and print predictions")
    parser.add_argument("--endpoint", required=True, help="endpoint name")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--local-url", help="the local endpoint, e.g. http://127.0.0.1:8080")
    add_region(where, "of a deployed endpoint")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", help="one row: 64 comma-separated numbers")
    source.add_argument("--file", help="CSV file: one row of 64 numbers per line, no header")
    source.add_argument(
        "--digits",
        type=int,
        metavar="N",
        help="the first N test samples of the Digits study-guide split",
    )
    source.add_argument(
        "--samples",
        metavar="PATH|S3URI",
        help="smoke_samples.json from the pipeline's Evaluate step (held-out rows + labels)",
    )
    source.add_argument(
        "--samples-from-release",
        metavar="RELEASE",
        help="the smoke samples of this release file's XGBoost version (beside its metrics)",
    )
    parser.add_argument(
        "--min-accuracy",
        type=float,
        default=0.85,
        help="with samples: exit 1 below this share of right answers (default 0.85)",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--target-model", help="multi-model endpoints: the model's key, e.g. xgboost-v1.tar.gz"
    )
    target.add_argument(
        "--target-model-from",
        metavar="RELEASE",
        help="multi-model endpoints: the XGBoost target_model of this release file",
    )
    parser.add_argument("--target-container", help="multi-container endpoints: xgboost or baseline")
    parser.add_argument("--content-type", default=CSV, choices=SUPPORTED)
    parser.add_argument("--accept", default=CSV, choices=SUPPORTED)
    parser.add_argument(
        "--expect",
        metavar="P1,P2,...",
        help="expected predictions; exit 1 when any differs (smoke test)",
    )
    asynchronous = parser.add_argument_group("asynchronous endpoints (serving.kind async)")
    asynchronous.add_argument(
        "--async",
        dest="async_",
        action="store_true",
        help="upload the rows, InvokeEndpointAsync, poll the output location",
    )
    asynchronous.add_argument(
        "--input-location",
        metavar="S3URI",
        help="s3://bucket/prefix/ to upload the payload to (or an existing object); "
        "default with --local-url: the local lab bucket",
    )
    asynchronous.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="seconds to wait for the answer (default 900, the service's default)",
    )
    asynchronous.add_argument(
        "--poll-seconds", type=float, default=2.0, help="seconds between polls (default 2)"
    )
    add_workdir(asynchronous)  # with --local-url: the lab's local bucket
    add_examples(
        parser,
        "labctl invoke --endpoint lab-digits --local-url http://127.0.0.1:8080 --digits 5",
        "labctl invoke --endpoint lab-digits --region us-east-1 --file rows.csv --expect 0,1",
        "labctl invoke --endpoint lab-digits --region us-east-1 --digits 5 "
        "--target-model-from release/lab.json  # multi_model",
    )
    parser.set_defaults(handler=run)
