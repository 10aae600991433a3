"""labctl batch: score a prefix of the curated zone with the approved model, as a Transform job.

``labctl batch transform --local`` runs the local batch transform
(``lab.endpoint.batch``) with the newest Approved XGBoost version of the lab's
registry over ``<workdir>/lake/curated/<input prefix>`` into
``<workdir>/lake/curated/predictions/`` (``<key>.out`` files of ``<id>,<prediction>``), and
captures each row into ``<workdir>/capture/<endpoint>/AllTraffic/`` for the drift job. In the
cloud the same job is the scoring pipeline (``infra/serving/batch.py``); ``--region`` starts it
with the package the production endpoint serves (or ``--package-arn``).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labctl.options import add_examples, add_profile, add_region, add_workdir, resolve_region
from ops.errors import OperationFailed, UsageError

SCORING_PREFIX = "scoring"
PREDICTIONS_PREFIX = "predictions"


def run_local(
    workdir: Path,
    input_prefix: str,
    *,
    endpoint_name: str = "lab-digits",
    max_payload_mb: int = 6,
    capture: bool = True,
    allow_pending: bool = False,
) -> tuple[str, Path]:
    """Transform ``<workdir>/lake/curated/<input_prefix>``; (one-line result, output folder)."""
    from lab.endpoint import CaptureWriter, EndpointSetupError, LocalEndpoint
    from lab.endpoint.batch import BatchTransformError, transform
    from lab.registry import (
        local_registry,
        read_registry,
        served_versions,
        settings_from_registry,
    )

    curated = workdir / "lake" / "curated"
    source = curated / input_prefix.strip("/")
    # scoring/day=D/ -> predictions/day=D/: the predictions sit beside their input's partition
    partition = input_prefix.strip("/").removeprefix(SCORING_PREFIX).strip("/")
    output = curated / PREDICTIONS_PREFIX / partition
    try:
        settings = settings_from_registry(
            workdir, "real_time", allow_pending, endpoint_name=endpoint_name
        )
        endpoint = LocalEndpoint(settings)  # in process: the batch job needs no HTTP
        # The version settings_from_registry picked, said out loud: which model scored.
        ((group, version),) = served_versions(
            read_registry(workdir), "real_time", allow_pending, groups=local_registry(workdir)
        )
    except EndpointSetupError as err:
        raise UsageError(str(err)) from err
    writer = CaptureWriter(workdir / "capture", endpoint_name) if capture else None
    try:
        result = transform(endpoint, source, output, max_payload_mb=max_payload_mb, capture=writer)
    except BatchTransformError as err:
        raise OperationFailed(f"batch transform failed: {err}") from err
    finally:
        if writer is not None:
            writer.close()
    scored_by = f"model {group} v{version['version']} ({version.get('approval_status')})"
    return f"{scored_by}: {result.one_line()}; output {output.relative_to(workdir)}", output


def lab_batch(workdir: Path, endpoint_name: str, capture: bool) -> str:
    """The lab stage: curate today's raw events into a scoring prefix, transform it, and check
    every prediction against the same model's in-process prediction of that row."""
    from lab.endpoint.batch import read_output, write_scoring_input
    from lab.endpoint.models import load_archive
    from lab.registry import settings_from_registry

    day = datetime.now(UTC).strftime("%Y-%m-%d")
    prefix = f"{SCORING_PREFIX}/day={day}"
    rows = write_scoring_input(workdir / "lake" / "raw", workdir / "lake" / "curated" / prefix)
    if rows == 0:
        raise OperationFailed("no valid raw events to score: run the ingest stage first")
    line, output = run_local(workdir, prefix, endpoint_name=endpoint_name, capture=capture)
    predictions = read_output(output)
    import numpy as np

    source = workdir / "lake" / "curated" / prefix / "part-00000.csv"
    ids, features = [], []
    for text in source.read_text().splitlines():
        record_id, _, values = text.partition(",")
        ids.append(record_id)
        features.append([float(v) for v in values.split(",")])
    # The model the endpoint serves, loaded again on its own (the newest Approved version).
    served = settings_from_registry(workdir, "real_time").model
    assert served is not None  # a real_time setting always names its model
    model = load_archive(served)
    reference = [str(int(p)) for p in model.predict(np.asarray(features))]
    wrong = [i for i, r in zip(ids, reference, strict=True) if predictions.get(i) != r]
    if wrong or len(predictions) != len(ids):
        raise OperationFailed(
            f"batch output differs from the model's own predictions for {len(wrong)} rows "
            f"(e.g. {wrong[:3]})"
        )
    return f"{line}; all {len(ids)} equal the model's own predictions"


def released_package(sagemaker: Any, endpoint_name: str) -> str:
    """The package production serves: DescribeEndpoint -> DescribeEndpointConfig -> the
    production variant's DescribeModel -> ModelPackageName (as the drift runner looks it up)."""
    from botocore.exceptions import ClientError

    from infra.monitoring.runtime.drift_runner import _package_of

    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as err:
        raise OperationFailed(
            f"cannot read endpoint {endpoint_name}: {err}; pass --package-arn instead"
        ) from err
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    package = _package_of(sagemaker, config["ProductionVariants"][0]["ModelName"])
    if package is None:
        raise UsageError(
            f"endpoint {endpoint_name} serves S3 archives (multi-model), not a package: pass "
            "--package-arn"
        )
    return package


def start_cloud(args: argparse.Namespace, sagemaker: Any) -> str:
    """Start the scoring pipeline with the released package; returns the execution ARN."""
    from infra.config import ConfigError, load_profile
    from infra.serving.batch import scoring_pipeline_name

    try:
        config = load_profile(args.profile)
    except ConfigError as err:
        raise UsageError(str(err)) from err
    package = args.package_arn or released_package(sagemaker, config.endpoint_name)
    prefix = args.input_prefix.strip("/") + "/"
    response = sagemaker.start_pipeline_execution(
        PipelineName=scoring_pipeline_name(config),
        PipelineParameters=[
            {"Name": "ModelPackageArn", "Value": package},
            {"Name": "InputPrefix", "Value": prefix},
            {"Name": "MaxPayloadInMB", "Value": str(args.max_payload_mb)},
        ],
    )
    arn: str = response["PipelineExecutionArn"]
    print(f"started {scoring_pipeline_name(config)} on s3://<curated>/{prefix} with {package}")
    print(f"execution {arn}")
    return arn


def run(args: argparse.Namespace, sagemaker: Any = None) -> int:
    if args.max_payload_mb < 1 or args.max_payload_mb > 100:
        raise UsageError(f"--max-payload-mb must be 1-100, got {args.max_payload_mb}")
    if args.local and args.region:
        raise UsageError("--local runs on this machine: drop --region (or --local)")
    if not args.local:
        if sagemaker is None:
            import boto3

            from infra.config import load_profile

            region = resolve_region(args.region, load_profile(args.profile).region)
            sagemaker = boto3.client("sagemaker", region_name=region)
        start_cloud(args, sagemaker)
        return 0
    line, _ = run_local(
        Path(args.workdir),
        args.input_prefix,
        endpoint_name=args.endpoint,
        max_payload_mb=args.max_payload_mb,
        capture=args.capture,
        allow_pending=args.allow_pending,
    )
    print(line)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("batch", help="score a curated prefix with the approved model")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_examples(
        parser,
        "labctl batch transform --local",
    )
    transform = actions.add_parser(
        "transform", help="a batch transform job over a curated prefix (--local: this machine)"
    )
    transform.add_argument("--local", action="store_true", help="run on this machine")
    add_region(transform, "start the deployed scoring pipeline there")
    add_profile(transform, "with --region: names the scoring pipeline")
    transform.add_argument(
        "--package-arn", help="--region: the model package (default: what production serves)"
    )
    add_workdir(transform)
    transform.add_argument(
        "--input-prefix",
        default=SCORING_PREFIX,
        help=f"prefix under lake/curated to score (default {SCORING_PREFIX}/)",
    )
    transform.add_argument("--endpoint", default="lab-digits", help="capture folder name")
    transform.add_argument(
        "--max-payload-mb", type=int, default=6, help="MaxPayloadInMB (1-100, default 6)"
    )
    transform.add_argument(
        "--capture",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="capture each row for the drift job (default on)",
    )
    transform.add_argument(
        "--allow-pending", action="store_true", help="score with the newest pending version"
    )
    add_examples(
        transform,
        "labctl batch transform --local",
        "labctl batch transform --local --input-prefix scoring/2026-12-01",
        "labctl batch transform --profile lab --region us-east-1",
    )
    transform.set_defaults(handler=run)
