"""The SageMaker execution role: what processing, training and tuning jobs may touch.

Least privilege: read the raw and curated zones, write the artifacts zone, use the lake key,
write its own logs and metrics, and (isolated network mode) attach jobs to the VPC. Later
units add what they need with explicit grants.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.data_lake.refs import LakeRefs
from infra.network.construct import IsolatedNetwork


class SageMakerExecutionRole(Construct):
    """Exposes: role."""

    def __init__(
        self, scope: Construct, id_: str, *, lake: LakeRefs, network: IsolatedNetwork | None
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        self.lake, self.vpc = lake, network is not None
        self.log_groups = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="SageMaker processing, training and tuning jobs of the platform",
        )
        lake.raw_bucket.grant_read(self.role)
        lake.curated_bucket.grant_read_write(self.role)
        lake.artifacts_bucket.grant_read_write(self.role)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="JobLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_groups],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="JobMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PullBuiltInImages",
                actions=["ecr:GetAuthorizationToken"],
                resources=["*"],
            )
        )
        if network is not None:  # the pipeline's jobs run in the VPC (VpcConfig)
            network.grant_network_interfaces(self.role)

    def finalize(self) -> None:
        from infra.compliance.packs import (
            KMS_DATA_KEYS,
            S3_DELETE,
            S3_READ,
            acknowledge_wildcards,
            declare,
        )

        jobs = "the pipeline's jobs "
        acknowledge_wildcards(
            self.role,
            actions={
                **declare(
                    S3_READ + S3_DELETE,
                    "CDK's grants on the three lake buckets only: "
                    + jobs
                    + "read raw data, read/write curated data and artifacts",
                ),
                **declare(
                    KMS_DATA_KEYS,
                    "CDK's grants on the lake key, which encrypts every "
                    "lake bucket the jobs read and write",
                ),
            },
            resources={
                f"{self.lake.raw_bucket.bucket_arn}/*": jobs + "read the raw events (read only)",
                f"{self.lake.curated_bucket.bucket_arn}/*": jobs + "read and write curated "
                "datasets",
                f"{self.lake.artifacts_bucket.bucket_arn}/*": jobs + "read code and write "
                "models, reports and pipeline outputs",
                self.log_groups: "SageMaker names each job's log streams; the group prefix is "
                "SageMaker's own (/aws/sagemaker/)",
            },
            unscoped={
                "ecr:GetAuthorizationToken": "takes no resource (Service Authorization "
                "Reference, Amazon ECR): the jobs pull the built-in images",
                "cloudwatch:PutMetricData": "takes no resource; the statement scopes it by the "
                "cloudwatch:namespace condition",
                **(IsolatedNetwork.UNSCOPED_ACTIONS if self.vpc else {}),
            },
        )
