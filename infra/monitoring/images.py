"""Container images for monitoring jobs, from the SageMaker SDK's own per-region image map.

Never a hand-copied account table (several public samples have wrong accounts): the SDK
ships ``image_uri_config/model-monitor.json`` and ``sklearn.json``. Resolved offline at synth.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from core.config import ConfigError

SKLEARN_VERSION = "1.2-1"  # the training pipeline's processing image (numpy/scipy/pandas)


def _retrieve(framework: str, region: str, **kwargs: str) -> str:
    from pipelines.training_pipeline import _offline_environment

    _offline_environment(region)
    from sagemaker import image_uris

    try:
        uri: str = image_uris.retrieve(framework, region, **kwargs)
    except ValueError as err:
        raise ConfigError(f"no {framework} image for region {region}: {err}") from err
    return uri


def sklearn_processing_image(region: str) -> str:
    return _retrieve(
        "sklearn", region, version=SKLEARN_VERSION, py_version="py3", instance_type="ml.m5.large"
    )


def model_monitor_image(region: str) -> str:
    """The prebuilt Model Monitor analyzer (``sagemaker-model-monitor-analyzer``)."""
    return _retrieve("model-monitor", region)


def clarify_image(region: str) -> str:
    """The prebuilt SageMaker Clarify processing image (model explainability monitoring)."""
    return _retrieve("clarify", region)


def repository_arn(uri: str, partition: str = "aws") -> str:
    """``<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`` -> the repository's ARN."""
    host, _, path = uri.partition("/")
    account, region = host.split(".")[0], host.split(".")[3]
    return f"arn:{partition}:ecr:{region}:{account}:repository/{path.split('@')[0].split(':')[0]}"


def grant_image_pull(role: iam.IRole, *uris: str) -> None:
    """A job's execution role pulls its image from ECR: the three layer/image actions on the
    image's repository, GetAuthorizationToken (no resource) on "*" (SageMaker Developer
    Guide, "CreateProcessingJob API: Execution Role Permissions":
    https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html)."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="PullJobImages",
            actions=[
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
            ],
            resources=sorted({repository_arn(uri, cdk.Stack.of(role).partition) for uri in uris}),
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="PullBuiltInImages",  # GetAuthorizationToken takes no resource
            actions=["ecr:GetAuthorizationToken"],
            resources=["*"],
        )
    )
