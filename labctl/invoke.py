"""labctl invoke: send Digits rows to an endpoint through boto3's sagemaker-runtime client.

Deployed endpoints by name (``--region``), or the local endpoint (``--local-url``, from
``labctl serve --local``). ``--expect`` turns it into a smoke test: exit 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from labctl.options import add_examples, add_region, add_workdir, resolve_region
from ops import aws_client
from ops.errors import OperationFailed, UsageError
from ops.invoke import (
    N_TEST_SAMPLES,
    answered,
    digits_test_rows,
    invoke_rows,
    local_client,
    read_samples,
)
from ops.invoke_async import LOCAL_BUCKET, LocalBucket, invoke_async, local_bucket_root
from ops.payload import (
    CSV,
    SUPPORTED,
    InvocationError,
    parse_csv,
    parse_predictions,
)


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
    inference_id = getattr(args, "inference_id", None)
    # sagemaker-runtime InvokeEndpoint InferenceId: 1-64 characters, \A\S[\p{Print}]*\z
    if inference_id is not None and not (
        0 < len(inference_id) <= 64 and inference_id.isprintable() and not inference_id[0].isspace()
    ):
        raise UsageError(f"--inference-id must be 1-64 printable characters, got {inference_id!r}")
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
            client = aws_client("sagemaker-runtime", resolve_region(args.region))

    def predict() -> list[int | float]:
        if getattr(args, "async_", False):  # upload, InvokeEndpointAsync, poll (invoke_async)
            if target_model or args.target_container:
                raise UsageError("--async endpoints host one model: drop --target-*")
            return predict_async(args, client, rows, s3)
        return invoke_rows(
            client,
            args.endpoint,
            rows,
            content_type=args.content_type,
            accept=args.accept,
            target_model=target_model,
            target_container=args.target_container,
            inference_id=inference_id,
        )

    predictions = answered(args.endpoint, predict)
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


def predict_async(args: Any, runtime: Any, rows: Any, s3: Any = None) -> list[int | float]:
    """``labctl invoke --async``: the rows as one async request; returns the predictions."""
    from core.async_contract import INPUT_PREFIX, endpoint_prefix
    from lab.paths import default_workdir
    from ops.payload import InvocationError, encode_rows

    if args.timeout <= 0:
        raise UsageError(f"--timeout must be positive, got {args.timeout}")
    location = args.input_location
    if s3 is None:
        if args.local_url:
            s3 = LocalBucket(local_bucket_root(Path(args.workdir or default_workdir())))
        else:
            s3 = aws_client("s3", resolve_region(args.region))
    if location is None:
        if not args.local_url:
            raise UsageError(
                "--async needs --input-location s3://<artifacts bucket>/"
                f"{endpoint_prefix(INPUT_PREFIX, args.endpoint)}/ (the endpoint's input prefix)"
            )
        location = f"s3://{LOCAL_BUCKET}/{endpoint_prefix(INPUT_PREFIX, args.endpoint)}/"
        Path(s3.root, LOCAL_BUCKET).mkdir(parents=True, exist_ok=True)
    answer = invoke_async(
        runtime,
        s3,
        args.endpoint,
        encode_rows(rows, args.content_type),
        input_location=location,
        content_type=args.content_type,
        accept=args.accept,
        timeout_seconds=args.timeout,
        poll_seconds=args.poll_seconds,
    )
    print(f"answer {answer.output_location} after {answer.seconds:.1f} s", file=sys.stderr)
    try:
        return parse_predictions(answer.body, args.accept)
    except InvocationError as err:
        raise OperationFailed(f"{answer.output_location}: not predictions ({err.detail})") from err


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
    parser.add_argument(
        "--inference-id",
        metavar="ID",
        help="recorded in the capture record (1-64 printable characters): labctl lineage --id ID",
    )
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
