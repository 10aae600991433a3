"""SageMaker Model Monitor schedules, for accounts that still have the service.

Model Monitor is closed to new customers since 2026-07-30 (Developer Guide, "Amazon SageMaker
Model Monitor availability change"), so this is behind ``monitoring.engine='model_monitor'``.
Provisions: a data-quality and a model-quality (``MulticlassClassification``) job definition
and one schedule each on the real-time endpoint, their role, with the prebuilt analyzer image
from the SageMaker SDK's image map. Not stateful. Exposes: role, data_quality, model_quality,
schedules. Their ``constraint_violations.json`` has the same format as the custom drift job's,
and the runner Lambda turns each execution's violations into the same metrics, so the same
alarms and the same retrain bridge apply.

Prerequisites it relies on (Developer Guide, "Model quality monitoring"): clients send an
``InferenceId`` with each request (the join key), the captured output's first CSV column is
the predicted label, and labels are uploaded as ground-truth JSON lines
(``groundTruthData``/``eventMetadata.eventId``) under ``GROUND_TRUTH_PREFIX/yyyy/mm/dd/hh/``.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra.compliance.packs import (
    KMS_DATA_KEYS,
    S3_DELETE,
    S3_READ,
    acknowledge_wildcards,
    declare,
)
from infra.config import PlatformConfig
from infra.data_lake.refs import LakeRefs
from infra.monitoring.images import model_monitor_image
from infra.serving.construct import iam_path
from model_code.layout import CAPTURE_PREFIX

OUTPUT_PREFIX = "monitoring/model-monitor"
GROUND_TRUTH_PREFIX = "monitoring/ground-truth"


def schedule_expression(hours: int) -> str:
    """Model Monitor accepts hourly, daily or ``cron(0 H/N ? * * *)`` (Developer Guide,
    "The cron expression for monitoring schedule"); config validation keeps N | 24."""
    if hours == 1:
        return "cron(0 * ? * * *)"
    if hours == 24:
        return "cron(0 0 ? * * *)"
    return f"cron(0 0/{hours} ? * * *)"


class ModelMonitorSchedules(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        endpoint_name: str,
        lake: LakeRefs,
    ) -> None:
        super().__init__(scope, id_)
        m = config.monitoring
        bucket = lake.artifacts_bucket.bucket_name
        image = model_monitor_image(config.region)
        # The executions' role (the job definitions' RoleArn): read capture, ground truth and
        # the baseline files, write reports under monitoring/model-monitor, use the lake key
        # (Developer Guide, "Amazon SageMaker Model Monitor" prerequisites and the
        # CreateDataQualityJobDefinition / CreateModelQualityJobDefinition API references).
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Model Monitor data- and model-quality executions",
            # under the serving stack's path: the role deploying that stack may create it
            path=iam_path(cdk.Stack.of(self).stack_name),
        )
        lake.artifacts_bucket.grant_read(self.role, f"{CAPTURE_PREFIX}/*")
        lake.artifacts_bucket.grant_read(self.role, f"{GROUND_TRUTH_PREFIX}/*")
        lake.artifacts_bucket.grant_read_write(self.role, f"{OUTPUT_PREFIX}/*")
        baseline = m.model_monitor_baseline_uri.rstrip("/")
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="Baselines",
                actions=["s3:GetObject"],
                resources=[
                    f"arn:aws:s3:::{baseline.removeprefix('s3://')}/statistics.json",
                    f"arn:aws:s3:::{baseline.removeprefix('s3://')}/constraints.json",
                ],
            )
        )
        dq = sagemaker.CfnDataQualityJobDefinition
        mq = sagemaker.CfnModelQualityJobDefinition

        def common(cls: Any, kind: str) -> dict[str, Any]:
            """The job resources, network and output every definition type repeats (each
            type has its own struct classes, so they are built per type)."""
            return {
                "job_resources": cls.MonitoringResourcesProperty(
                    cluster_config=cls.ClusterConfigProperty(
                        instance_count=1,
                        instance_type=m.instance_type,
                        volume_size_in_gb=30,
                        volume_kms_key_id=lake.key.key_arn,
                    )
                ),
                "network_config": cls.NetworkConfigProperty(
                    enable_network_isolation=True,
                    enable_inter_container_traffic_encryption=True,
                ),
                "role_arn": self.role.role_arn,
                "stopping_condition": cls.StoppingConditionProperty(max_runtime_in_seconds=3600),
                f"{kind}_job_output_config": cls.MonitoringOutputConfigProperty(
                    kms_key_id=lake.key.key_arn,
                    monitoring_outputs=[
                        cls.MonitoringOutputProperty(
                            s3_output=cls.S3OutputProperty(
                                local_path="/opt/ml/processing/output",
                                s3_uri=f"s3://{bucket}/{OUTPUT_PREFIX}/{kind.replace('_', '-')}",
                                s3_upload_mode="EndOfJob",
                            )
                        )
                    ],
                ),
            }

        self.data_quality = dq(
            self,
            "DataQuality",
            data_quality_app_specification=dq.DataQualityAppSpecificationProperty(image_uri=image),
            data_quality_baseline_config=dq.DataQualityBaselineConfigProperty(
                constraints_resource=dq.ConstraintsResourceProperty(
                    s3_uri=f"{baseline}/constraints.json"
                ),
                statistics_resource=dq.StatisticsResourceProperty(
                    s3_uri=f"{baseline}/statistics.json"
                ),
            ),
            data_quality_job_input=dq.DataQualityJobInputProperty(
                endpoint_input=dq.EndpointInputProperty(
                    endpoint_name=endpoint_name, local_path="/opt/ml/processing/input/endpoint"
                )
            ),
            **common(dq, "data_quality"),
        )
        self.model_quality = mq(
            self,
            "ModelQuality",
            model_quality_app_specification=mq.ModelQualityAppSpecificationProperty(
                image_uri=image, problem_type="MulticlassClassification"
            ),
            model_quality_job_input=mq.ModelQualityJobInputProperty(
                endpoint_input=mq.EndpointInputProperty(
                    endpoint_name=endpoint_name,
                    local_path="/opt/ml/processing/input/endpoint",
                    # CSV output: the first column is the predicted class
                    inference_attribute="0",
                ),
                ground_truth_s3_input=mq.MonitoringGroundTruthS3InputProperty(
                    s3_uri=f"s3://{bucket}/{GROUND_TRUTH_PREFIX}"
                ),
            ),
            **common(mq, "model_quality"),
        )
        self.schedules = []
        for kind, definition in (
            ("DATA_QUALITY", self.data_quality.attr_job_definition_arn),
            ("MODEL_QUALITY", self.model_quality.attr_job_definition_arn),
        ):
            # Generated names (the definitions are immutable, so updates replace them);
            # the schedule takes the name, the last part of the ARN.
            definition = cdk.Fn.select(1, cdk.Fn.split("/", definition))
            schedule = sagemaker.CfnMonitoringSchedule(
                self,
                f"{kind.title().replace('_', '')}Schedule",
                monitoring_schedule_name=f"{endpoint_name}-{kind.lower().replace('_', '-')}",
                endpoint_name=endpoint_name,
                monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
                    monitoring_job_definition_name=definition,
                    monitoring_type=kind,
                    schedule_config=sagemaker.CfnMonitoringSchedule.ScheduleConfigProperty(
                        schedule_expression=schedule_expression(m.schedule_hours)
                    ),
                ),
            )
            self.schedules.append(schedule)
        artifacts = lake.artifacts_bucket.bucket_arn
        acknowledge_wildcards(
            self.role,
            actions={
                **declare(S3_READ, "CDK's read grants on capture, ground truth and reports"),
                **declare(S3_DELETE, "CDK's write grant on Model Monitor's report prefix only"),
                **declare(KMS_DATA_KEYS, "CDK's grants on the lake key, which encrypts them"),
            },
            resources={
                f"{artifacts}/{CAPTURE_PREFIX}/*": "data capture objects are named per "
                "endpoint, variant and hour by SageMaker",
                f"{artifacts}/{GROUND_TRUTH_PREFIX}/*": "ground truth is named per hour of "
                "collection, the layout the model-quality job merges",
                f"{artifacts}/{OUTPUT_PREFIX}/*": "Model Monitor names its reports per "
                "execution under this prefix",
            },
        )
        cdk.Tags.of(self).add("monitoring-engine", "model_monitor")
