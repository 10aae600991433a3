"""The deployed training pipeline: start it and poll it (``run_cloud``, ``run_deployed``),
with the newest Approved package as the gate's champion, or first upsert its definition from
the current code (``upsert``).

Upsert:
Renders the profile's definition, splices in the real bucket, key and role from the deployed
stacks' outputs (the same splice CDK does with tokens), and creates or updates the pipeline.
CloudFormation still owns the pipeline: the next ``make deploy`` writes the same definition,
so this is a faster loop for definition changes, not a second source of truth.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from core.config import PlatformConfig
from ops import aws_client
from ops.errors import OperationFailed, UsageError


def stack_outputs(cfn: Any, stack_name: str) -> dict[str, str]:
    try:
        (stack,) = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as err:  # botocore ClientError: the stack does not exist
        raise OperationFailed(
            f"stack {stack_name} is not deployed ({err}); run make deploy"
        ) from err
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _exists(sagemaker: Any, name: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        sagemaker.describe_pipeline(PipelineName=name)
    except ClientError as err:
        # SageMaker answers ResourceNotFound; moto answers ValidationException "Could not find".
        error = err.response.get("Error", {})
        if error.get("Code") == "ResourceNotFound" or "Could not find" in error.get("Message", ""):
            return False
        raise
    return True


def upsert(sagemaker: Any, cfn: Any, config: PlatformConfig) -> str:
    """Create or update the pipeline; returns 'created' or 'updated'."""
    from core.pipeline_settings import pipeline_settings
    from pipelines import training_pipeline as tp

    if config.network.mode == "isolated":
        raise UsageError(
            "the isolated network mode splices subnet and security-group ids that only the "
            "CDK app knows: update the pipeline with make deploy"
        )
    lake = stack_outputs(cfn, config.stack_name("DataLake"))
    training = stack_outputs(cfn, config.stack_name("Training"))
    try:
        values = {
            "role_arn": training["ExecutionRoleArn"],
            "artifacts_bucket": lake["ArtifactsBucketName"],
            "raw_bucket": lake["RawBucketName"],
            "kms_key_arn": lake["KeyArn"],
        }
    except KeyError as err:
        raise OperationFailed(f"deployed stacks lack output {err}: redeploy them") from err
    settings = pipeline_settings(config)
    definition = tp.splice(
        tp.render_definition(settings),
        role_arn=values["role_arn"],
        artifacts_bucket=values["artifacts_bucket"],
        raw_bucket=values["raw_bucket"],
        kms_key_arn=values["kms_key_arn"],
        settings=settings,
    )
    name = settings.pipeline_name
    if not _exists(sagemaker, name):
        sagemaker.create_pipeline(
            PipelineName=name, PipelineDefinition=definition, RoleArn=values["role_arn"]
        )
        return "created"
    sagemaker.update_pipeline(
        PipelineName=name, PipelineDefinition=definition, RoleArn=values["role_arn"]
    )
    return "updated"


TERMINAL = ("Succeeded", "Failed", "Stopped")


def run_cloud(
    client: Any,
    pipeline_name: str,
    parameters: dict[str, str] | None = None,
    *,
    poll_seconds: float = 30.0,
    timeout_seconds: float = 3 * 3600,
    log: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Start the deployed pipeline and poll it; returns the final describe response + steps.

    The definition is not upserted here: the deployed one carries the real bucket, role and
    key that CDK spliced into the placeholders, and a second writer would drift from it.
    """
    started = client.start_pipeline_execution(
        PipelineName=pipeline_name,
        PipelineParameters=[{"Name": k, "Value": str(v)} for k, v in (parameters or {}).items()],
        ClientRequestToken=str(uuid.uuid4()),  # idempotent retries of this one start
    )
    arn = started["PipelineExecutionArn"]
    log(f"started {arn}")
    seen: dict[str, str] = {}
    deadline = time.monotonic() + timeout_seconds
    while True:
        described = client.describe_pipeline_execution(PipelineExecutionArn=arn)
        steps = _execution_steps(client, arn)
        for step in reversed(steps):  # the API lists newest first
            name, status = step["StepName"], step.get("StepStatus", "")
            if seen.get(name) != status:
                seen[name] = status
                reason = f": {step['FailureReason']}" if step.get("FailureReason") else ""
                log(f"  {name:<32} {status}{reason}")
        status = described["PipelineExecutionStatus"]
        if status in TERMINAL:
            return {**described, "Steps": steps}
        if time.monotonic() > deadline:
            raise OperationFailed(f"{arn} still {status} after {timeout_seconds:.0f} s")
        sleep(poll_seconds)


def _execution_steps(client: Any, arn: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"PipelineExecutionArn": arn}
    while True:
        page = client.list_pipeline_execution_steps(**kwargs)
        steps += page.get("PipelineExecutionSteps", [])
        if not page.get("NextToken"):
            return steps
        kwargs["NextToken"] = page["NextToken"]


def cloud_champion(client: Any, group: str) -> str | None:
    """ChampionModelData for a cloud run: the newest Approved package's model data, or None
    (no approved package yet: the gate applies the threshold alone)."""
    from ops.release import newest_approved

    try:
        return str(newest_approved(client, group)["model_data_url"])
    except OperationFailed:
        return None


def run_deployed(
    config: PlatformConfig,
    region: str | None,
    pipeline_name: str | None,
    params: dict[str, str],
    *,
    upsert_first: bool = False,
    log: Callable[[str], None] = print,
) -> tuple[str, dict[str, Any]]:
    """``labctl pipeline run`` in the account: optionally upsert the definition, pass the
    newest Approved package as ChampionModelData (unless given), start, poll; returns (the
    pipeline's name, run_cloud's final response). AWS errors are OperationFailed."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = pipeline_name or config.pipeline_name
    group = config.model_package_group
    try:
        client = aws_client("sagemaker", region)
        if upsert_first:
            cfn = aws_client("cloudformation", region)
            log(f"pipeline {config.pipeline_name}: {upsert(client, cfn, config)}")
            name = config.pipeline_name
        params = dict(params)
        if "ChampionModelData" not in params:
            champion = cloud_champion(client, group)
            if champion:
                params["ChampionModelData"] = champion
                log(f"champion: {champion} (newest Approved {group} package)")
        return name, run_cloud(client, name, params, log=log)
    except (BotoCoreError, ClientError) as err:
        raise OperationFailed(f"pipeline {name}: {err}") from err


def start_scoring(
    sagemaker: Any, pipeline_name: str, package: str, input_prefix: str, max_payload_mb: int
) -> str:
    """Start the scoring pipeline on ``s3://<curated>/<input_prefix>`` with ``package``;
    returns the execution ARN."""
    response = sagemaker.start_pipeline_execution(
        PipelineName=pipeline_name,
        PipelineParameters=[
            {"Name": "ModelPackageArn", "Value": package},
            {"Name": "InputPrefix", "Value": input_prefix},
            {"Name": "MaxPayloadInMB", "Value": str(max_payload_mb)},
        ],
    )
    arn: str = response["PipelineExecutionArn"]
    return arn
