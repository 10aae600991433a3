"""Upsert the deployed training pipeline's definition from the current code.

Renders the profile's definition, splices in the real bucket, key and role from the deployed
stacks' outputs (the same splice CDK does with tokens), and creates or updates the pipeline.
CloudFormation still owns the pipeline: the next ``make deploy`` writes the same definition,
so this is a faster loop for definition changes, not a second source of truth.
"""

from __future__ import annotations

from typing import Any

from infra.config import PlatformConfig
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
    from infra.training.settings import pipeline_settings
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
