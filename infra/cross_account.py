"""The IAM side of deploying into target accounts (issue 17): the statements that name them.

The names, ARNs and role paths come from ``core/accounts.py``; here they become resource-policy
statements (the lake's artifacts bucket and key, the delivery artifact bucket and key). The
delivery pipeline's artifact bucket gets a fixed name and a policy (bucket and key) naming the
target accounts' roots narrowed to their action roles; the pipeline itself sees an imported
view of the bucket, so CDK's grants for the imported (immutable) target roles do not write
resource-policy statements naming role ARNs that do not exist yet. The pipeline role has
a path the action roles trust; the smoke test reads its samples with the build's own role and
invokes the staging endpoint as the staging account's smoke-test role.
Not stateful; exposes functions only.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from core import accounts
from core.accounts import delivery_artifact_bucket_name, pipeline_role_path, target_role_arn
from core.async_contract import INPUT_PREFIX, endpoint_prefix
from core.config import PlatformConfig

# The target stack's output naming its capture bucket (infra/stacks/target_stack.py), which
# the smoke test reads in staging to find where async requests go.
CAPTURE_BUCKET_OUTPUT = "CaptureBucketName"

# -- resource policies in tooling: the statements naming the target accounts -----------------


def model_read_statement(config: PlatformConfig, bucket_arn: str) -> iam.PolicyStatement:
    """Artifacts bucket: the target endpoint roles read the model archives, nothing else."""
    return iam.PolicyStatement(
        sid="TargetEndpointsReadModels",
        principals=[iam.ArnPrincipal(r) for r in accounts.target_roots(config)],
        actions=["s3:GetObject"],
        resources=[f"{bucket_arn}/{prefix}*" for prefix in accounts.model_prefixes(config)],
        conditions={"ArnLike": {"aws:PrincipalArn": accounts.hosting_role_patterns(config)}},
    )


def model_key_statement(config: PlatformConfig) -> iam.PolicyStatement:
    """Lake key: the target endpoint roles decrypt, and only through S3 (kms:ViaService)."""
    return iam.PolicyStatement(
        sid="TargetEndpointsDecryptModelsViaS3",
        principals=[iam.ArnPrincipal(r) for r in accounts.target_roots(config)],
        # DescribeKey: CDK's read grant gives the endpoint role both; S3 needs only Decrypt
        actions=["kms:Decrypt", "kms:DescribeKey"],
        resources=["*"],  # in a key policy "*" means this key
        conditions={
            "ArnLike": {"aws:PrincipalArn": accounts.hosting_role_patterns(config)},
            "StringEquals": {"kms:ViaService": f"s3.{config.region}.amazonaws.com"},
        },
    )


def monitoring_ground_truth_statements(
    config: PlatformConfig, bucket_arn: str
) -> list[iam.PolicyStatement]:
    """Artifacts bucket: production's monitoring roles (``monitoring_role_pattern``) read the
    ground truth the tooling upload writes (infra/monitoring/ground_truth.py), and list its
    hour folders, nothing else (issue 25: Model Monitor's model-quality job merges it). The
    lake key's side is the monitoring key statement, through S3 only."""
    from infra.monitoring.model_monitor import GROUND_TRUTH_PREFIX, ground_truth_prefixes

    principals = [iam.ArnPrincipal(accounts.root(config, config.production_account))]
    condition = {"ArnLike": {"aws:PrincipalArn": accounts.monitoring_role_pattern(config)}}
    return [
        iam.PolicyStatement(
            sid="ProductionMonitoringReadsGroundTruth",
            principals=principals,
            actions=["s3:GetObject"],
            resources=[f"{bucket_arn}/{GROUND_TRUTH_PREFIX}/*"],
            conditions=condition,
        ),
        iam.PolicyStatement(
            sid="ProductionMonitoringListsGroundTruth",
            principals=principals,
            actions=["s3:ListBucket"],
            resources=[bucket_arn],
            conditions={**condition, "StringLike": {"s3:prefix": ground_truth_prefixes()}},
        ),
    ]


def monitoring_read_statements(
    config: PlatformConfig, bucket_arn: str, prefixes: tuple[str, ...], sid: str
) -> list[iam.PolicyStatement]:
    """A tooling bucket: production's monitoring roles (``monitoring_role_path``) read and list
    ``prefixes`` only (the baselines and monitoring code in the artifacts bucket, the labels in
    the raw zone). SageMaker lists an S3Prefix input with the job's role (SageMaker Developer
    Guide, "CreateProcessingJob API: Execution Role Permissions"), and the runner lists each
    window's folders: ListBucket narrowed by ``s3:prefix`` (Amazon S3 User Guide, "Limiting the
    list of objects by prefix", s3:prefix condition key)."""
    principals = [iam.ArnPrincipal(accounts.root(config, config.production_account))]
    condition = {"ArnLike": {"aws:PrincipalArn": accounts.monitoring_role_pattern(config)}}
    return [
        iam.PolicyStatement(
            sid=f"ProductionMonitoringReads{sid}",
            principals=principals,
            actions=["s3:GetObject"],
            resources=[f"{bucket_arn}/{prefix}*" for prefix in prefixes],
            conditions=condition,
        ),
        iam.PolicyStatement(
            sid=f"ProductionMonitoringLists{sid}",
            principals=principals,
            actions=["s3:ListBucket"],
            resources=[bucket_arn],
            conditions={
                **condition,
                "StringLike": {"s3:prefix": [f"{prefix}*" for prefix in prefixes]},
            },
        ),
    ]


def monitoring_key_statement(config: PlatformConfig) -> iam.PolicyStatement:
    """Lake key: production's monitoring roles decrypt what they read, only through S3."""
    return iam.PolicyStatement(
        sid="ProductionMonitoringDecryptsViaS3",
        principals=[iam.ArnPrincipal(accounts.root(config, config.production_account))],
        # DescribeKey: CDK's read grant gives the roles both; S3 needs only Decrypt
        actions=["kms:Decrypt", "kms:DescribeKey"],
        resources=["*"],  # in a key policy "*" means this key
        conditions={
            "ArnLike": {"aws:PrincipalArn": accounts.monitoring_role_pattern(config)},
            "StringEquals": {"kms:ViaService": f"s3.{config.region}.amazonaws.com"},
        },
    )


def pipeline_artifact_statements(
    config: PlatformConfig, bucket_arn: str
) -> list[iam.PolicyStatement]:
    """Delivery artifact bucket and key: the target action roles read the synthesized
    templates (CodePipeline, "Create a pipeline that uses resources from another account")."""
    actions = [
        accounts.target_role_arn(config, a, "action") for a in accounts.target_accounts(config)
    ]
    principals = [iam.ArnPrincipal(r) for r in accounts.target_roots(config)]
    condition = {"ArnLike": {"aws:PrincipalArn": actions}}
    return [
        iam.PolicyStatement(
            sid="TargetDeployActionsReadArtifacts",
            principals=principals,
            actions=["s3:GetObject", "s3:GetObjectVersion"],
            resources=[f"{bucket_arn}/*"],
            conditions=condition,
        ),
        iam.PolicyStatement(
            sid="TargetDeployActionsDecryptArtifacts",
            principals=principals,
            actions=["kms:Decrypt", "kms:DescribeKey"],
            resources=["*"],
            conditions={
                **condition,
                "StringEquals": {"kms:ViaService": f"s3.{config.region}.amazonaws.com"},
            },
        ),
    ]


# -- the delivery pipeline's side ----------------------------------------------------------------


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
    container's credentials: AWS CLI "Using an IAM role", credential_source). Every call to
    staging (the async bucket lookup, the upload, InvokeEndpointAsync, the answer's read) runs
    with ``AWS_PROFILE=staging``: boto3's default session and the AWS CLI both read it."""
    role = target_role_arn(config, config.staging_account, "smoke")
    find_bucket = []
    if config.serving.kind == "async":
        # The request goes to staging's own bucket (its capture bucket, async prefixes): its
        # generated name cannot reach tooling without a reference across accounts, so it is
        # read from the staging target stack's output, as the smoke role. The assignment fails
        # the build when the lookup fails (buildspec 0.2 runs the commands in one shell).
        find_bucket = [
            f"ASYNC_BUCKET=$(AWS_PROFILE=staging aws cloudformation describe-stacks "
            f"--region {config.region} --stack-name "
            f"{accounts.target_stack_name(config, config.staging_account)} --query "
            f"\"Stacks[0].Outputs[?OutputKey=='{CAPTURE_BUCKET_OUTPUT}'].OutputValue\" "
            "--output text)"
        ]
        target = (
            f" --async --input-location s3://${{ASYNC_BUCKET}}/"
            f"{endpoint_prefix(INPUT_PREFIX, config.staging_endpoint_name)}/"
        )
    return [
        f"aws configure set profile.staging.role_arn {role}",
        "aws configure set profile.staging.credential_source EcsContainer",
        "aws s3 cp \"$(.venv/bin/python -c 'from labctl.invoke import release_samples; "
        f'print(release_samples("{release_file}"))\')" smoke_samples.json',
        *find_bucket,
        f"AWS_PROFILE=staging .venv/bin/python -m labctl invoke --endpoint "
        f"{config.staging_endpoint_name} --region {config.region} "
        f"--samples smoke_samples.json{target}",
    ]
