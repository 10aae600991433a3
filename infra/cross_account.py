"""The delivery pipeline's side of deploying into target accounts (issue 17).

The artifact bucket gets a fixed name and a policy (bucket and key) naming the target accounts'
roots narrowed to their action roles (``core/accounts.py``); the pipeline itself sees an
imported view of the bucket, so CDK's grants for the imported (immutable) target roles do not
write resource-policy statements naming role ARNs that do not exist yet. The pipeline role has
a path the action roles trust; the smoke test reads its samples with the build's own role and
invokes the staging endpoint as the staging account's smoke-test role.
Not stateful; exposes functions only.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from core.accounts import (
    delivery_artifact_bucket_name,
    pipeline_artifact_statements,
    pipeline_role_path,
    target_role_arn,
)
from core.config import PlatformConfig


def cross_account_artifacts(
    scope: Construct, config: PlatformConfig, bucket: s3.Bucket, key: kms.Key
) -> s3.IBucket:
    """Name the bucket, open it (and its key) to the target action roles; return the view the
    pipeline uses."""
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    cfn.bucket_name = delivery_artifact_bucket_name(config)
    bucket_statement, key_statement = pipeline_artifact_statements(config, bucket.bucket_arn)
    bucket.add_to_resource_policy(bucket_statement)
    key.add_to_resource_policy(key_statement)
    return s3.Bucket.from_bucket_attributes(
        scope,
        "PipelineArtifacts",
        bucket_arn=bucket.bucket_arn,
        bucket_name=bucket.bucket_name,
        encryption_key=kms.Key.from_key_arn(scope, "PipelineArtifactsKey", key.key_arn),
    )


def pipeline_role(scope: Construct, config: PlatformConfig) -> iam.Role:
    return iam.Role(
        scope,
        "PipelineRole",
        assumed_by=iam.ServicePrincipal("codepipeline.amazonaws.com"),
        path=pipeline_role_path(config),
        description="The delivery pipeline; the target accounts' action roles trust its path",
    )


def smoke_in_staging(config: PlatformConfig, release_file: str, target: str) -> list[str]:
    """Copy the released version's held-out samples (beside its metrics, named by the release
    file: ``labctl.invoke.release_samples``) with the build's role, then invoke as the staging
    smoke role (an AWS CLI profile with ``credential_source = EcsContainer``, the CodeBuild
    container's credentials: AWS CLI "Using an IAM role", credential_source)."""
    role = target_role_arn(config, config.staging_account, "smoke")
    return [
        f"aws configure set profile.staging.role_arn {role}",
        "aws configure set profile.staging.credential_source EcsContainer",
        "aws s3 cp \"$(.venv/bin/python -c 'from labctl.invoke import release_samples; "
        f'print(release_samples("{release_file}"))\')" smoke_samples.json',
        f"AWS_PROFILE=staging .venv/bin/python -m labctl invoke --endpoint "
        f"{config.staging_endpoint_name} --region {config.region} "
        f"--samples smoke_samples.json{target}",
    ]
