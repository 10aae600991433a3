"""SageMaker Model Monitor schedules, for accounts that still have the service.

Model Monitor is closed to new customers since 2026-07-30 (Developer Guide, "Amazon SageMaker
Model Monitor availability change"), so this is behind ``monitoring.engine='model_monitor'``.
Provisions: a data-quality and a model-quality (``MulticlassClassification``) job definition
and one schedule each on the real-time endpoint, their role, with the prebuilt analyzer image
from the SageMaker SDK's image map; with ``monitoring.explainability`` also a model
explainability (Clarify SHAP) definition and schedule. Baselines: the deployed version's, from
the release file (``baseline_prefix``). Not stateful. Exposes: role, data_quality,
model_quality, explainability (or None), schedules. Their ``constraint_violations.json``
has the same format as the custom drift job's, and the runner Lambda turns each execution's
violations into the same metrics, so the same alarms and the same retrain bridge apply.

Prerequisites it relies on (Developer Guide, "Model quality monitoring"): clients send an
``InferenceId`` with each request (the join key), the captured output's first CSV column is
the predicted label, and labels are uploaded as ground-truth JSON lines
(``groundTruthData``/``eventMetadata.eventId``) under ``GROUND_TRUTH_PREFIX/yyyy/mm/dd/hh/``
(the Monitoring stack's hourly upload does it: infra/monitoring/ground_truth.py).

Three accounts (issue 25, ``capture`` given: the production ``<env>-Serving`` stack, deployed
by the delivery pipeline with the target's ``deploy-cfn`` role): capture is read from, and the
reports are written to, production's capture bucket with production's key; the baselines and
the ground truth stay in tooling (the release's artifacts bucket) and are read across accounts
by the job role, whose path is ``core.accounts.monitoring_role_path`` so tooling's bucket and
key policies can name it before it exists (infra/cross_account.py; the rehearsal checks both
sides: assurance/rehearsal/cross_account.py ``monitoring_flows``).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from core.accounts import iam_path, model_monitor_role, monitoring_role_path
from core.config import ConfigError, PlatformConfig
from core.release import Release
from infra.compliance.packs import (
    KMS_DATA_KEYS,
    S3_DELETE,
    S3_READ,
    acknowledge_wildcards,
    declare,
)
from infra.data_lake.refs import LakeRefs
from infra.monitoring.drift import LABEL_LAG_HOURS
from infra.monitoring.images import clarify_image, grant_image_pull, model_monitor_image
from infra.network.construct import IsolatedNetwork
from model_code import monitoring_contract as contract
from model_code.layout import CAPTURE_PREFIX
from pipelines import monitor_baseline_step as files

OUTPUT_PREFIX = "monitoring/model-monitor"
GROUND_TRUTH_PREFIX = "monitoring/ground-truth"


def baseline_prefix(config: PlatformConfig, release: Release) -> str:
    """The baselines the schedules compare with: the deployed version's (the release file's
    ``monitor_baseline``, written by ``labctl release resolve`` from the package's
    ModelMetrics), unless the profile overrides them."""
    override = config.monitoring.model_monitor_baseline_uri
    prefix = override or release.xgboost.monitor_baseline
    if not prefix:
        raise ConfigError(
            f"monitoring.engine='model_monitor': the release ({release.source or 'release'}) "
            f"names no monitor_baseline for {release.xgboost.package_arn}: register the "
            "version with the current training pipeline (its MonitorBaseline step) and run "
            "`labctl release resolve`, or set monitoring.model_monitor_baseline_uri"
        )
    return prefix.rstrip("/")


def schedule_expression(hours: int) -> str:
    """Model Monitor accepts hourly, daily or ``cron(0 H/N ? * * *)`` (Developer Guide,
    "The cron expression for monitoring schedule"); config validation keeps N | 24."""
    if hours == 1:
        return "cron(0 * ? * * *)"
    if hours == 24:
        return "cron(0 0 ? * * *)"
    return f"cron(0 0/{hours} ? * * *)"


def max_runtime_seconds(kind: str, hours: int) -> int:
    """A run must end before the next starts: "For data quality and model explainability, this
    can be up to 3600 seconds for an hourly schedule. For model bias and model quality hourly
    schedules, this can be up to 1800 seconds" (API Reference, MonitoringStoppingCondition);
    the ground-truth merge job takes the other half. Checked by the rehearsal rule
    ``monitoring-stop-condition``."""
    return 1800 if kind in ("model_quality", "model_bias") and hours == 1 else 3600


class ModelMonitorSchedules(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        endpoint_name: str,
        lake: LakeRefs,
        release: Release,
        network: IsolatedNetwork | None = None,
        capture: Any = None,
    ) -> None:
        """``network``: the profile's isolated network; the executions join it (the same
        subnets and security group as the training pipeline's jobs). ``capture``: in a target
        account, its capture store (``TargetStack.capture``: bucket and key), where the
        endpoint captures and the reports go; ``lake`` is then the tooling lake as the
        release names it (``ReleasedArtifacts``), read for the baselines and ground truth."""
        super().__init__(scope, id_)
        m = config.monitoring
        baseline = baseline_prefix(config, release)
        store = capture or lake  # capture is read, and reports written, in this account
        bucket = store.artifacts_bucket.bucket_name
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
            # under the serving stack's path: the role deploying that stack may create it;
            # across accounts under the monitoring path tooling's policies name, with a fixed
            # name the deploy-cfn role may create (core.accounts.model_monitor_role, issue 25)
            path=monitoring_role_path(config)
            if capture is not None
            else iam_path(cdk.Stack.of(self).stack_name),
            role_name=model_monitor_role(config).rsplit("/", 1)[1] if capture is not None else None,
        )
        store.artifacts_bucket.grant_read(self.role, f"{CAPTURE_PREFIX}/*")
        if capture is None:
            lake.artifacts_bucket.grant_read(self.role, f"{GROUND_TRUTH_PREFIX}/*")
        else:
            self._read_from_tooling(config, lake, baseline)
        store.artifacts_bucket.grant_read_write(self.role, f"{OUTPUT_PREFIX}/*")
        baseline_files = [files.DATA_STATISTICS, files.DATA_CONSTRAINTS, files.MODEL_CONSTRAINTS]
        if m.explainability:
            baseline_files.append(files.ANALYSIS_CONFIG)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="Baselines",
                actions=["s3:GetObject"],
                resources=[
                    f"arn:aws:s3:::{baseline.removeprefix('s3://')}/{name}"
                    for name in baseline_files
                ],
            )
        )
        if m.explainability:
            # Clarify computes SHAP values by invoking the model on perturbed copies of the
            # captured records (SageMaker Clarify, "Feature attribution drift"); *verify* in an
            # account whether it calls this endpoint or a shadow endpoint it creates.
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ExplainEndpoint",
                    actions=["sagemaker:InvokeEndpoint"],
                    resources=[
                        cdk.Stack.of(self).format_arn(
                            service="sagemaker",
                            resource="endpoint",
                            resource_name=endpoint_name.lower(),
                        )
                    ],
                )
            )
        grant_image_pull(
            self.role, image, *([clarify_image(config.region)] if m.explainability else [])
        )
        if network is not None:  # SageMaker attaches the executions to the VPC with it
            network.grant_network_interfaces(self.role)
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
                        volume_kms_key_id=store.key.key_arn,
                    )
                ),
                "network_config": cls.NetworkConfigProperty(
                    enable_network_isolation=True,
                    enable_inter_container_traffic_encryption=True,
                    vpc_config=cls.VpcConfigProperty(
                        subnets=network.job_subnet_ids,
                        security_group_ids=[network.security_group.security_group_id],
                    )
                    if network is not None
                    else None,
                ),
                "role_arn": self.role.role_arn,
                "stopping_condition": cls.StoppingConditionProperty(
                    max_runtime_in_seconds=max_runtime_seconds(kind, m.schedule_hours)
                ),
                f"{kind}_job_output_config": cls.MonitoringOutputConfigProperty(
                    kms_key_id=store.key.key_arn,
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
                    s3_uri=f"{baseline}/{files.DATA_CONSTRAINTS}"
                ),
                statistics_resource=dq.StatisticsResourceProperty(
                    s3_uri=f"{baseline}/{files.DATA_STATISTICS}"
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
            # accuracy and weighted F1 held to the quality gate's bound (model_code/
            # monitor_baseline.py): a violation is the same decay the quality alarm watches
            model_quality_baseline_config=mq.ModelQualityBaselineConfigProperty(
                constraints_resource=mq.ConstraintsResourceProperty(
                    s3_uri=f"{baseline}/{files.MODEL_CONSTRAINTS}"
                )
            ),
            model_quality_job_input=mq.ModelQualityJobInputProperty(
                endpoint_input=mq.EndpointInputProperty(
                    endpoint_name=endpoint_name,
                    local_path="/opt/ml/processing/input/endpoint",
                    # CSV output: the first column is the predicted class
                    inference_attribute="0",
                    # Labels land LABEL_LAG_HOURS after the inference: each run judges the
                    # window that old, whose ground truth has arrived (Developer Guide,
                    # "Model monitor offsets": ISO 8601 durations subtracted from the window).
                    start_time_offset=f"-PT{LABEL_LAG_HOURS + m.schedule_hours}H",
                    end_time_offset=f"-PT{LABEL_LAG_HOURS}H",
                ),
                # in tooling, where the labels are (ground_truth.py; across accounts too)
                ground_truth_s3_input=mq.MonitoringGroundTruthS3InputProperty(
                    s3_uri=f"s3://{lake.artifacts_bucket.bucket_name}/{GROUND_TRUTH_PREFIX}"
                ),
            ),
            **common(mq, "model_quality"),
        )
        definitions = [
            ("DATA_QUALITY", self.data_quality.attr_job_definition_arn),
            ("MODEL_QUALITY", self.model_quality.attr_job_definition_arn),
        ]
        self.explainability: sagemaker.CfnModelExplainabilityJobDefinition | None = None
        if m.explainability:
            # SHAP feature attributions of the live traffic (SageMaker Clarify through Model
            # Monitor): the analysis configuration and its baseline row come from the
            # deployed version's MonitorBaseline output. Config validation allows it on a
            # real-time single-model endpoint only.
            ex = sagemaker.CfnModelExplainabilityJobDefinition
            self.explainability = ex(
                self,
                "ModelExplainability",
                model_explainability_app_specification=ex.ModelExplainabilityAppSpecificationProperty(
                    image_uri=clarify_image(config.region),
                    config_uri=f"{baseline}/{files.ANALYSIS_CONFIG}",
                ),
                model_explainability_job_input=ex.ModelExplainabilityJobInputProperty(
                    endpoint_input=ex.EndpointInputProperty(
                        endpoint_name=endpoint_name,
                        local_path="/opt/ml/processing/input/endpoint",
                    )
                ),
                **common(ex, "model_explainability"),
            )
            definitions.append(
                ("MODEL_EXPLAINABILITY", self.explainability.attr_job_definition_arn)
            )
        self.schedules = []
        for kind, definition in definitions:
            # Generated names (the definitions are immutable, so updates replace them);
            # the schedule takes the name, the last part of the ARN.
            definition = cdk.Fn.select(1, cdk.Fn.split("/", definition))
            schedule = sagemaker.CfnMonitoringSchedule(
                self,
                f"{kind.title().replace('_', '')}Schedule",
                monitoring_schedule_name=contract.model_monitor_schedule_name(endpoint_name, kind),
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
        artifacts = store.artifacts_bucket.bucket_arn
        ground_truth = lake.artifacts_bucket.bucket_arn
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
                f"{ground_truth}/{GROUND_TRUTH_PREFIX}/*": "ground truth is named per hour of "
                "collection, the layout the model-quality job merges",
                f"{artifacts}/{OUTPUT_PREFIX}/*": "Model Monitor names its reports per "
                "execution under this prefix",
            },
            unscoped={
                "ecr:GetAuthorizationToken": "takes no resource (Service Authorization "
                "Reference, Amazon ECR): the executions pull the built-in analyzer image",
                **(IsolatedNetwork.UNSCOPED_ACTIONS if network is not None else {}),
            },
        )
        cdk.Tags.of(self).add("monitoring-engine", "model_monitor")

    def _read_from_tooling(self, config: PlatformConfig, lake: Any, baseline: str) -> None:
        """The job role's side of the reads in tooling (the release's artifacts bucket and
        key): ground truth (objects, and the hour folders the merge lists) and the baselines'
        decryption, through S3 only. Tooling's side: ``infra.cross_account``
        ``monitoring_ground_truth_statements`` and the monitoring key statement."""
        bucket = lake.artifacts_bucket.bucket_arn
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ToolingGroundTruth",
                actions=["s3:GetObject"],
                resources=[f"{bucket}/{GROUND_TRUTH_PREFIX}/*"],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ToolingGroundTruthHours",
                actions=["s3:ListBucket"],
                resources=[bucket],
                conditions={"StringLike": {"s3:prefix": ground_truth_prefixes()}},
            )
        )
        # The executions download the baseline files as S3 inputs, which SageMaker lists with
        # the job's role ("CreateProcessingJob API: execution role permissions"): within one
        # account CDK's read grant on the lake gives s3:List*; across accounts, the baseline's
        # own prefix only (tooling's bucket policy admits pipelines/*).
        baseline_path = baseline.removeprefix("s3://").split("/", 1)[1]
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ToolingBaselineListing",
                actions=["s3:ListBucket"],
                resources=[bucket],
                conditions={"StringLike": {"s3:prefix": [baseline_path, f"{baseline_path}/*"]}},
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ToolingLakeKey",
                actions=["kms:Decrypt"],
                resources=[lake.key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{config.region}.amazonaws.com"}
                },
            )
        )


def ground_truth_prefixes() -> list[str]:
    """What the model-quality job lists under the ground-truth input (``s3:prefix``): the
    prefix itself and its hour folders."""
    return [GROUND_TRUTH_PREFIX, f"{GROUND_TRUTH_PREFIX}/*"]
