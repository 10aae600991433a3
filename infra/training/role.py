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
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="/aws/sagemaker/*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
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
        from infra.compliance.packs import acknowledge_grant_policy

        acknowledge_grant_policy(
            self.role,
            "bounded to the lake buckets and key, SageMaker log groups, the SageMaker metric "
            "namespace (condition) and ECR auth tokens, which have no resource ARN.",
        )
