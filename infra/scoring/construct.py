"""Batch transform as deployed: the scoring pipeline (AWS::SageMaker::Pipeline) and its Glue table.

The definition (CreateModel ─▶ Score ─▶ FeedMonitoring, its parameters and the fault
behaviour) is ``pipelines/scoring_pipeline.py``, rendered offline with the SageMaker SDK as the
training pipeline is; here its placeholders are spliced with CDK tokens (CloudFormation receives
Fn::Join), and the role's policy and the predictions table are provisioned.

Why a pipeline of its own, not a step of the training pipeline: it scores with the model
production serves (the approved, *released* package, passed as ``ModelPackageArn``; ``labctl
batch`` looks it up from the endpoint as the monitoring runner does), on its own rhythm (a day
of events), while training registers an unapproved candidate. Why in the Training stack, not
the serving stacks: the delivery pipeline deploys those with a role derived from the endpoint's
resources only (``deploy_permissions``), and a release must not replace the scoring pipeline
or the table; both are deployed once by ``make deploy``. Its jobs run as the training jobs do:
the SageMaker execution role, the lake key on volumes and outputs, network isolation,
inter-container encryption, the VPC in the isolated network mode (``check_scoring`` at synth).
Not stateful (the predictions stay in the curated zone). Exposes pipeline_name, table.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from core.config import PlatformConfig
from infra.compliance.packs import acknowledge_wildcards
from infra.data_lake.refs import LakeRefs
from infra.network.construct import IsolatedNetwork
from pipelines import scoring_pipeline as sp
from pipelines.training_pipeline import SUBNETS

TABLE_NAME = "batch_predictions"


class ScoringPipeline(Construct):
    """The scoring pipeline (batch transform) and the Glue table over its predictions."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        lake: LakeRefs,
        role: iam.Role,
        network: IsolatedNetwork | None,
        processing_image: str,
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        self.pipeline_name = sp.scoring_pipeline_name(config)
        predictions = f"s3://{lake.curated_bucket.bucket_name}/{sp.PREDICTIONS_PREFIX}"
        subnets = (
            network.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids
            if network is not None
            else []
        )
        settings = sp.ScoringSettings(
            pipeline_name=self.pipeline_name,
            endpoint_name=config.endpoint_name,
            processing_image=processing_image,
            region=config.region,
            instance_type=config.serving.instance_type,  # the production variant's type
            processing_instance_type=config.training.processing_instance_type,
            use_vpc=network is not None,
            subnets=tuple(f"__SUBNET_{i + 1}__" for i in range(len(subnets))) or SUBNETS,
        )
        rendered = sp.render_definition(settings)
        definition: dict[str, Any] = json.loads(rendered)
        # Checked on the definition before tokens go in (a token is an opaque string here).
        problems = sp.check_scoring(definition, require_vpc=network is not None)
        if problems:
            raise ValueError("scoring pipeline fails the job checks:\n" + "\n".join(problems))
        self.definition = definition
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=self.pipeline_name,
            pipeline_description="Batch transform of a curated prefix with an approved model",
            # Placeholders spliced with token strings: CDK turns the string into Fn::Join, as
            # for the training pipeline.
            pipeline_definition={
                "PipelineDefinitionBody": sp.splice(
                    rendered,
                    role_arn=role.role_arn,
                    artifacts_bucket=lake.artifacts_bucket.bucket_name,
                    curated_bucket=lake.curated_bucket.bucket_name,
                    kms_key_arn=lake.key.key_arn,
                    subnets=tuple(subnets),
                    security_group=network.security_group.security_group_id if network else None,
                    settings=settings,
                )
            },
            role_arn=role.role_arn,
        )

        def arn(resource: str, name: str = "*") -> str:
            return stack.format_arn(service="sagemaker", resource=resource, resource_name=name)

        # A managed policy attached to the execution role: the training pipeline's policy
        # stays as it is, and an inline policy would need its own inline-policy findings.
        # (DescribeModelPackage on the XGBoost group: the role has it for registration.)
        policy = iam.ManagedPolicy(
            self,
            "ScoringRunPolicy",
            description=f"Run the {self.pipeline_name} pipeline's model and transform steps",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    sid="ScoringJobs",
                    actions=[
                        "sagemaker:CreateModel",
                        "sagemaker:DescribeModel",
                        "sagemaker:CreateTransformJob",
                        "sagemaker:DescribeTransformJob",
                        "sagemaker:StopTransformJob",
                        "sagemaker:AddTags",
                    ],
                    resources=[arn("model"), arn("transform-job")],
                ),
            ],
        )
        per_run = "SageMaker names these per pipeline execution, so only the type is known: "
        acknowledge_wildcards(
            policy,
            resources={
                arn("model"): per_run + "the scoring pipeline's CreateModel step",
                arn("transform-job"): per_run + "the scoring pipeline's transform step",
            },
        )
        self.table = glue.CfnTable(
            self,
            "PredictionsTable",
            catalog_id=stack.account,
            database_name=lake.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=TABLE_NAME,
                description="Batch transform predictions beside their input ids, per execution",
                table_type="EXTERNAL_TABLE",
                partition_keys=[glue.CfnTable.ColumnProperty(name="execution", type="string")],
                parameters={
                    "classification": "csv",
                    # Partition projection: the execution id is named in the query.
                    "projection.enabled": "true",
                    "projection.execution.type": "injected",
                    "storage.location.template": f"{predictions}${{execution}}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=predictions,
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                        parameters={"field.delim": ","},
                    ),
                    columns=[
                        glue.CfnTable.ColumnProperty(name="event_id", type="string"),
                        glue.CfnTable.ColumnProperty(
                            name="prediction", type="double", comment="the predicted digit"
                        ),
                    ],
                ),
            ),
        )

    @property
    def pipeline_arn(self) -> str:
        from infra.training.construct import pipeline_arn

        return pipeline_arn(self, self.pipeline_name)

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start runs of this pipeline (StartPipelineExecution), as
        ``TrainingPipeline.grant_start_execution`` does for training."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:StartPipelineExecution"],
            resource_arns=[self.pipeline_arn],
        )


def definition_json(pipeline: ScoringPipeline) -> str:
    """The definition without tokens, for tests and the README."""
    return json.dumps(pipeline.definition, indent=2, default=str)
