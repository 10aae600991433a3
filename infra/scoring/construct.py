"""Batch transform: a scoring pipeline over a prefix of the curated zone, and its Glue table.

```
 ModelPackageArn ─▶ CreateModel (isolated, VPC) ─▶ Score (Transform: Line split, MultiRecord,
 InputPrefix                                          <id> kept beside its prediction)
                                                        │ s3://<curated>/predictions/<execution>/<key>.out
                                                        ▼
                                           FeedMonitoring (Processing: model_code/batch_capture.py)
                                                        │ s3://<artifacts>/capture/<endpoint>/AllTraffic/yyyy/mm/dd/hh/
```

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

Faults, as the service behaves: a malformed line or a record over ``MaxPayloadInMB`` fails the
transform job and with it the execution (no partial capture is fed); an empty prefix fails it
too ("no S3 objects"). The local run (``labctl.local_endpoint.batch``) fails the same ways.
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

from infra.compliance.packs import acknowledge_wildcards
from infra.config import PlatformConfig
from infra.data_lake.refs import LakeRefs
from infra.network.construct import IsolatedNetwork

SCORING_PREFIX = "scoring/"  # curated zone: what to score (<id>,<64 numbers>, no header)
PREDICTIONS_PREFIX = "predictions/"  # curated zone: <execution>/<key>.out (<id>,<prediction>)
TABLE_NAME = "batch_predictions"
# CreateTransformJob.MaxPayloadInMB: default 6, at most 100 (API reference; SageMaker developer
# guide "Batch transform troubleshooting": exceeding it "causes an error").
DEFAULT_MAX_PAYLOAD_MB = 6
# InputFilter drops the id before the model sees the row; OutputFilter keeps the id and the
# prediction ("Associate prediction results with input records", SageMaker developer guide).
DATA_PROCESSING = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}


def scoring_pipeline_name(config: PlatformConfig) -> str:
    return f"{config.env_name}-digits-scoring"


def check_scoring(definition: dict[str, Any], *, require_vpc: bool) -> list[str]:
    """What no rule pack scans inside the definition: keys, isolation, VPC of every job."""
    from pipelines.checks import check_definition

    findings = check_definition(definition, require_vpc=require_vpc, exempt={})
    for step in definition["Steps"]:
        args, name = step["Arguments"], step["Name"]
        if step["Type"] == "Transform":
            if not args["TransformOutput"].get("KmsKeyId"):
                findings.append(f"{name}: no KMS key for the transform output")
            if not args["TransformResources"].get("VolumeKmsKeyId"):
                findings.append(f"{name}: no KMS key for the transform volume")
            if args.get("DataProcessing") != DATA_PROCESSING:
                findings.append(f"{name}: predictions would not sit beside their input ids")
        if step["Type"] == "Model":
            if args.get("EnableNetworkIsolation") is not True:
                findings.append(f"{name}: the model runs without network isolation")
            vpc = args.get("VpcConfig") or {}
            if require_vpc and not (vpc.get("Subnets") and vpc.get("SecurityGroupIds")):
                findings.append(f"{name}: no VPC config but VPC required")
    return findings


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
        self.pipeline_name = scoring_pipeline_name(config)
        curated = f"s3://{lake.curated_bucket.bucket_name}"
        artifacts = f"s3://{lake.artifacts_bucket.bucket_name}"
        key = lake.key.key_arn
        vpc: dict[str, Any] | None = None
        if network is not None:
            vpc = {
                "Subnets": network.vpc.select_subnets(
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                ).subnet_ids,
                "SecurityGroupIds": [network.security_group.security_group_id],
            }
        instance = config.serving.instance_type  # the production variant's type
        input_uri = {
            "Std:Join": {"On": "", "Values": [f"{curated}/", {"Get": "Parameters.InputPrefix"}]}
        }
        output_uri = {
            "Std:Join": {
                "On": "",
                "Values": [
                    f"{curated}/{PREDICTIONS_PREFIX}",
                    {"Get": "Execution.PipelineExecutionId"},
                ],
            }
        }

        def s3_input(name: str, uri: Any, local: str) -> dict[str, Any]:
            return {
                "InputName": name,
                "AppManaged": False,
                "S3Input": {
                    "S3Uri": uri,
                    "LocalPath": local,
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                },
            }

        model_args: dict[str, Any] = {
            "ExecutionRoleArn": role.role_arn,
            "PrimaryContainer": {"ModelPackageName": {"Get": "Parameters.ModelPackageArn"}},
            "EnableNetworkIsolation": True,
        }
        network_config: dict[str, Any] = {
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": True,
        }
        if vpc:
            model_args["VpcConfig"] = vpc
            network_config["VpcConfig"] = vpc
        code = "/opt/ml/processing/input/code"
        definition: dict[str, Any] = {
            "Version": "2020-12-01",
            "Metadata": {},
            "Parameters": [
                {"Name": "ModelPackageArn", "Type": "String"},
                {"Name": "InputPrefix", "Type": "String", "DefaultValue": SCORING_PREFIX},
                {
                    "Name": "MaxPayloadInMB",
                    "Type": "Integer",
                    "DefaultValue": DEFAULT_MAX_PAYLOAD_MB,
                },
            ],
            "Steps": [
                {"Name": "CreateModel", "Type": "Model", "Arguments": model_args},
                {
                    "Name": "Score",
                    "Type": "Transform",
                    "Arguments": {
                        "ModelName": {"Get": "Steps.CreateModel.ModelName"},
                        "BatchStrategy": "MultiRecord",
                        "MaxPayloadInMB": {"Get": "Parameters.MaxPayloadInMB"},
                        "TransformInput": {
                            "DataSource": {
                                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}
                            },
                            "ContentType": "text/csv",
                            "SplitType": "Line",
                        },
                        "TransformOutput": {
                            "S3OutputPath": output_uri,
                            "AssembleWith": "Line",
                            "Accept": "text/csv",
                            "KmsKeyId": key,
                        },
                        "TransformResources": {
                            "InstanceType": instance,
                            "InstanceCount": 1,
                            "VolumeKmsKeyId": key,
                        },
                        "DataProcessing": DATA_PROCESSING,
                    },
                },
                {
                    "Name": "FeedMonitoring",
                    "Type": "Processing",
                    "Arguments": {
                        "ProcessingResources": {
                            "ClusterConfig": {
                                "InstanceType": config.training.processing_instance_type,
                                "InstanceCount": 1,
                                "VolumeSizeInGB": 30,
                                "VolumeKmsKeyId": key,
                            }
                        },
                        "AppSpecification": {
                            "ImageUri": processing_image,
                            "ContainerEntrypoint": ["python3", f"{code}/batch_capture.py"],
                        },
                        "RoleArn": role.role_arn,
                        "ProcessingInputs": [
                            s3_input("rows", input_uri, "/opt/ml/processing/input/rows"),
                            s3_input(
                                "predictions",
                                {"Get": "Steps.Score.TransformOutput.S3OutputPath"},
                                "/opt/ml/processing/input/predictions",
                            ),
                            s3_input("code", f"{artifacts}/code/model_code/batch_capture.py", code),
                        ],
                        "ProcessingOutputConfig": {
                            "Outputs": [
                                {
                                    "OutputName": "capture",
                                    "AppManaged": False,
                                    "S3Output": {
                                        "S3Uri": f"{artifacts}/capture/{config.endpoint_name}"
                                        "/AllTraffic",
                                        "LocalPath": "/opt/ml/processing/capture",
                                        "S3UploadMode": "EndOfJob",
                                    },
                                }
                            ],
                            "KmsKeyId": key,
                        },
                        "NetworkConfig": network_config,
                        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
                    },
                },
            ],
        }
        # Checked on the definition before tokens go in (a token is an opaque string here).
        problems = check_scoring(definition, require_vpc=network is not None)
        if problems:
            raise ValueError("scoring pipeline fails the job checks:\n" + "\n".join(problems))
        self.definition = definition
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=self.pipeline_name,
            pipeline_description="Batch transform of a curated prefix with an approved model",
            # json.dumps over token strings: CDK turns the string into Fn::Join (as the
            # training pipeline's splice does), and the JSON keeps the SDK's spacing.
            pipeline_definition={"PipelineDefinitionBody": json.dumps(definition)},
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
                    "storage.location.template": f"{curated}/{PREDICTIONS_PREFIX}${{execution}}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=f"{curated}/{PREDICTIONS_PREFIX}",
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
