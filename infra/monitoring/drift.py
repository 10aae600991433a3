"""The platform's own drift and quality monitoring of one endpoint (works in every account).

Provisions: the drift job's SageMaker role, the runner Lambda (scheduled by EventBridge
Scheduler every ``monitoring.schedule_hours``; also started by its own processing jobs'
completion events), the drift and quality alarms (2 of 3 periods, every state change to the
alert topic; fixed names, ``config.drift_alarm_name``/``quality_alarm_name``), the
alarm-to-``RetrainRequested`` bridge (``RetrainBridge``; left out with ``retrain_bridge=False``)
and the endpoint's dashboard. Where it reads and writes is a ``MonitoringSources``: the lake in
one account; with separate accounts, production's capture store for capture, outputs and the
jobs' key, and tooling's artifacts (baselines, monitoring code) and raw zone (labels) by name
(docs/multi-account.md). Not stateful. Exposes: job_role, runner, bridge (or None),
drift_alarm, quality_alarm, dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from core.config import PlatformConfig
from infra.compliance.packs import (
    KMS_DATA_KEYS,
    S3_DELETE,
    S3_READ,
    acknowledge_packs,
    acknowledge_unreserved,
    acknowledge_wildcards,
    declare,
)
from infra.data_lake.refs import LakeRefs
from infra.monitoring.functions import monitoring_bundle, monitoring_function
from infra.monitoring.images import grant_image_pull, sklearn_processing_image
from infra.monitoring.retrain_bridge import RetrainBridge
from infra.network.construct import IsolatedNetwork
from infra.operations.dead_letters import DeadLetterQueue
from infra.serving.construct import ModelEndpoint
from infra.storage import logs_capable_key
from model_code import monitoring_contract as contract
from model_code.events import N_FEATURES
from model_code.layout import CAPTURE_PREFIX, PROCESSING_JOB_LOG_GROUP

OUTPUT_PREFIX = "monitoring/drift"
CODE_PREFIX = "code/model_code"  # where the training unit deploys model_code/
# Labels written in the production account (``monitoring.labels_account='production'``): a
# labelling process there puts labelled events in the raw zone's layout
# (events/year=/month=/day=/hour=/) under this prefix of production's capture bucket.
LABELS_PREFIX = "labels/"
# Model quality looks this far back: labels for a prediction arrive up to a day later.
LABEL_LAG_HOURS = 24


@dataclass(frozen=True)
class MonitoringSources:
    """Where the monitoring unit reads and writes.

    ``capture_bucket``: data capture (``CAPTURE_PREFIX``); ``output_bucket``: the runs'
    manifests, summaries and reports (``OUTPUT_PREFIX``); ``key``: the jobs' volumes and
    outputs; ``artifacts_bucket``: the registered versions' baselines (``pipelines/*``) and the
    monitoring code (``CODE_PREFIX``); ``labels_bucket``: labelled events in the raw zone's
    layout under ``labels_prefix`` (also the drift fallback where nothing was captured);
    ``package_account``: the account of the model package group (None: this stack's);
    ``role_path``: the IAM path of the roles that read another account's resources, whose
    resource policies name that path (``core.accounts.monitoring_role_path``).
    """

    capture_bucket: s3.IBucket
    output_bucket: s3.IBucket
    key: kms.IKey
    artifacts_bucket: s3.IBucket
    labels_bucket: s3.IBucket
    labels_prefix: str = ""
    package_account: str | None = None
    role_path: str | None = None

    @classmethod
    def from_lake(cls, lake: LakeRefs) -> MonitoringSources:
        """One account: everything in the lake (capture and outputs in the artifacts zone,
        labels in the raw zone)."""
        return cls(
            capture_bucket=lake.artifacts_bucket,
            output_bucket=lake.artifacts_bucket,
            key=lake.key,
            artifacts_bucket=lake.artifacts_bucket,
            labels_bucket=lake.raw_bucket,
        )

    @property
    def labels(self) -> str:
        """The key pattern of the labelled events."""
        return f"{self.labels_prefix}events/*"


class DriftMonitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        endpoint_name: str,
        sources: MonitoringSources,
        alert_topic: sns.ITopic,
        model_monitor: bool = False,
        network: IsolatedNetwork | None = None,
        retrain_bridge: bool = True,
    ) -> None:
        """``model_monitor=True``: Model Monitor's schedules do the analysis; this unit
        translates their executions' results into the same metrics, alarms and bridge.
        ``network``: the profile's isolated network, which the jobs the runner starts join
        (the same subnets and security group as the training pipeline's jobs).
        ``retrain_bridge=False``: leave the bridge out (multi-account: the alarms live in
        production, the bridge beside the training pipeline in tooling, ``RetrainBridge``)."""
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        self._bundle_dir: Path | None = None
        m = config.monitoring
        self.endpoint_name = endpoint_name
        self._schedule_hours = m.schedule_hours
        self._alert_topic = alert_topic
        self.dead_letters: dict[str, DeadLetterQueue] = {}  # per function id
        job_prefix = f"{endpoint_name}-drift"
        self.log_key = logs_capable_key(
            self, "LogKey", description="Monitoring Lambda logs", retain=not config.destroyable
        )

        self._sources = sources
        # The processing job's role: read capture, raw events, baseline and code; write the
        # run's outputs. (SageMaker developer guide, "CreateProcessingJob API: execution role
        # permissions".) S3Prefix inputs (code, baseline) are listed: grant_read's ListBucket.
        self.job_role = iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Drift and quality processing jobs of the monitoring unit",
            path=sources.role_path,
        )
        sources.capture_bucket.grant_read(self.job_role, f"{CAPTURE_PREFIX}/*")
        sources.artifacts_bucket.grant_read(self.job_role, f"{CODE_PREFIX}/*")
        sources.artifacts_bucket.grant_read(self.job_role, "pipelines/*")  # baseline statistics
        sources.output_bucket.grant_read_write(self.job_role, f"{OUTPUT_PREFIX}/*")
        sources.labels_bucket.grant_read(self.job_role, sources.labels)
        self.job_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="JobLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=f"{PROCESSING_JOB_LOG_GROUP}*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        image = sklearn_processing_image(config.region)
        grant_image_pull(self.job_role, image)

        vpc_environment: dict[str, str] = {}
        if network is not None:  # the runner's jobs join the VPC with this role
            network.grant_network_interfaces(self.job_role)
            vpc_environment = {
                "JOB_SUBNETS": cdk.Fn.join(",", network.job_subnet_ids),
                "JOB_SECURITY_GROUP_IDS": network.security_group.security_group_id,
            }
        self._vpc = network is not None

        self.runner = self._function(
            "Runner",
            "drift_runner.handler",
            "Starts the drift job for a window, then its judge phase, then publishes metrics",
            {
                "ENDPOINT_NAME": endpoint_name,
                "CAPTURE_BUCKET": sources.capture_bucket.bucket_name,
                "CAPTURE_PREFIX": CAPTURE_PREFIX,
                "RAW_BUCKET": sources.labels_bucket.bucket_name,
                **({"RAW_PREFIX": sources.labels_prefix} if sources.labels_prefix else {}),
                "ARTIFACTS_BUCKET": sources.output_bucket.bucket_name,
                "OUTPUT_PREFIX": OUTPUT_PREFIX,
                "WINDOW_HOURS": str(m.schedule_hours),
                "INSTANCE_COUNT": str(m.instance_count),
                "INSTANCE_TYPE": m.instance_type,
                "IMAGE_URI": image,
                "JOB_ROLE_ARN": self.job_role.role_arn,
                "JOB_PREFIX": job_prefix,
                "CODE_URI": f"s3://{sources.artifacts_bucket.bucket_name}/{CODE_PREFIX}/",
                "KMS_KEY_ARN": sources.key.key_arn,
                "MODEL_PACKAGE_GROUP": self._group(config),
                "ENGINE": "model_monitor" if model_monitor else "custom",
                "SHARE_THRESHOLD": str(m.drift_threshold),
                "FEATURE_COUNT": str(N_FEATURES),
                "LABEL_LAG_HOURS": str(LABEL_LAG_HOURS),
                "METRIC_NAMESPACE": contract.METRIC_NAMESPACE,
                "METRIC_DIMENSION": contract.METRIC_DIMENSION,
                **vpc_environment,
            },
            role_path=sources.role_path,
        )
        self._grant_runner(stack, sources, job_prefix, config)
        if model_monitor:
            # Model Monitor names its execution jobs itself, so they cannot be scoped by name.
            sources.output_bucket.grant_read(self.runner, "monitoring/model-monitor/*")
            self.runner.add_to_role_policy(
                iam.PolicyStatement(
                    sid="ReadMonitorExecutions",
                    actions=["sagemaker:DescribeProcessingJob"],
                    resources=[
                        stack.format_arn(
                            service="sagemaker", resource="processing-job", resource_name="*"
                        )
                    ],
                )
            )

        if model_monitor:
            # A Model Monitor execution is a processing job carrying its schedule's ARN.
            # *verify* in an account that the state-change event detail carries the field.
            job_filter: dict[str, object] = {
                "MonitoringScheduleArn": [
                    {
                        "prefix": stack.format_arn(
                            service="sagemaker",
                            resource="monitoring-schedule",
                            resource_name=endpoint_name,
                        )
                    }
                ]
            }
        else:
            job_filter = {"ProcessingJobName": [{"prefix": job_prefix}]}
            # Scheduler's execution role needs lambda:InvokeFunction on the target only
            # (EventBridge Scheduler User Guide, "Set up the execution role").
            self.scheduler_role = iam.Role(
                self,
                "SchedulerRole",
                assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
                description="EventBridge Scheduler invokes the drift runner",
            )
            # Every schedule_hours, for the hours just closed. (EventBridge Scheduler user
            # guide, "Schedule types": rate expressions.)
            runner_letters = self.dead_letters["Runner"]
            self.schedule = scheduler.Schedule(
                self,
                "Schedule",
                schedule=scheduler.ScheduleExpression.rate(cdk.Duration.hours(m.schedule_hours)),
                target=scheduler_targets.LambdaInvoke(
                    self.runner, role=self.scheduler_role, **runner_letters.target_options()
                ),
                description=f"Drift job over the last {m.schedule_hours} h of {endpoint_name}",
            )
            runner_letters.grant_send(self.scheduler_role)
            acknowledge_wildcards(
                self.scheduler_role,
                resources={
                    f"{self.runner.function_arn}:*": "the scheduler invokes only the drift "
                    "runner function (CDK's grant names any of its versions)"
                },
            )
        self.job_events = events.Rule(
            self,
            "JobCompleted",
            description="Monitoring job ended: next phase (summarize -> judge), metrics or a log "
            "line",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Processing Job State Change"],
                # Failed/Stopped too: the runner logs the FailureReason and puts nothing
                # (drift_runner.job_ended_without_result); statuses from the API Reference,
                # ProcessingJobSummary.
                detail={**job_filter, "ProcessingJobStatus": ["Completed", "Failed", "Stopped"]},
            ),
            targets=[
                targets.LambdaFunction(self.runner, **self.dead_letters["Runner"].target_options())
            ],
        )

        self.drift_alarm, self.quality_alarm = self._alarms(config, alert_topic)
        self.bridge: RetrainBridge | None = None
        if retrain_bridge:
            # id "Default": the bridge's resources keep the logical ids they had when this
            # construct built them itself (CDK leaves a "Default" id out of logical ids).
            self.bridge = RetrainBridge(
                self,
                "Default",
                config=config,
                endpoint_name=endpoint_name,
                alarm_arns=[self.drift_alarm.alarm_arn, self.quality_alarm.alarm_arn],
                log_key=self.log_key,
                alert_topic=alert_topic,
                bundle=self._bundle(),
            )
            self.dead_letters["RetrainBridge"] = self.bridge.dead_letters
        self.dashboard = self._dashboard()
        self._acknowledge(config, sources, job_prefix, model_monitor)

    # --- pieces ---------------------------------------------------------------------------

    def _bundle(self) -> Path:
        """The functions' code (``functions.monitoring_bundle``), staged once per construct;
        the asset hash is of the content, so it is stable across synths."""
        if self._bundle_dir is None:
            self._bundle_dir = monitoring_bundle()
        return self._bundle_dir

    def _function(
        self,
        id_: str,
        handler: str,
        description: str,
        environment: dict[str, str],
        role_path: str | None = None,
    ) -> lambda_.Function:
        function, self.dead_letters[id_] = monitoring_function(
            self,
            id_,
            handler=handler,
            description=description,
            environment=environment,
            bundle=self._bundle(),
            log_key=self.log_key,
            alert_topic=self._alert_topic,
            subject=f"the {id_} function of {self.endpoint_name}",
            path=role_path,
        )
        return function

    def _grant_runner(
        self, stack: cdk.Stack, sources: MonitoringSources, job_prefix: str, config: PlatformConfig
    ) -> None:
        # What the runner needs, for the rehearsal tier's requirement table:
        #   s3 List/Get on capture and raw events (windowed listing), Get/Put on its outputs
        #   (manifests, reports); sagemaker:CreateProcessingJob/DescribeProcessingJob on its
        #   own jobs (Service Authorization Reference, "Actions defined by Amazon SageMaker");
        #   the run-time lookup of the deployed version: DescribeEndpoint (its config, and
        #   LastModifiedTime = when that version went live), DescribeEndpointConfig and
        #   DescribeModel (generated names, hence "*"), DescribeModelPackage in the XGBoost
        #   group (its DriftCheckBaselines), and for multi_model ListModelPackages (no
        #   resource ARN); iam:PassRole of
        #   the job role to SageMaker only (Developer Guide, "CreateProcessingJob API:
        #   Execution Role Permissions"); cloudwatch:PutMetricData, which has no resource
        #   type, limited by the cloudwatch:namespace condition key (CloudWatch User Guide,
        #   "Using condition keys to limit access to CloudWatch namespaces").
        role = self.runner
        sources.capture_bucket.grant_read(role, f"{CAPTURE_PREFIX}/*")  # ListBucket for windows
        sources.output_bucket.grant_read_write(role, f"{OUTPUT_PREFIX}/*")  # manifest, report
        sources.labels_bucket.grant_read(role, sources.labels)  # labels, raw-zone fallback
        role.add_to_role_policy(
            iam.PolicyStatement(
                sid="RunDriftJobs",
                # no sagemaker:AddTags: the requests carry no Tags
                actions=["sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob"],
                resources=[
                    stack.format_arn(
                        service="sagemaker",
                        resource="processing-job",
                        resource_name=f"{job_prefix}-*",
                    )
                ],
            )
        )
        for sid, action, resource, name, account in (
            ("Endpoint", "DescribeEndpoint", "endpoint", self.endpoint_name.lower(), None),
            ("EndpointConfigs", "DescribeEndpointConfig", "endpoint-config", "*", None),
            ("Models", "DescribeModel", "model", "*", None),
            # the registry's account: its group policy admits this role's path (multi-account)
            (
                "Packages",
                "DescribeModelPackage",
                "model-package",
                self._packages(config),
                sources.package_account,
            ),
        ):
            role.add_to_role_policy(
                iam.PolicyStatement(
                    sid=f"Deployed{sid}",
                    actions=[f"sagemaker:{action}"],
                    resources=[
                        stack.format_arn(
                            service="sagemaker",
                            resource=resource,
                            resource_name=name,
                            account=account,
                        )
                    ],
                )
            )
        if config.serving.kind == "multi_model":  # newest Approved version, see the runner
            role.add_to_role_policy(
                iam.PolicyStatement(
                    sid="DeployedVersions",
                    actions=["sagemaker:ListModelPackages"],
                    resources=["*"],
                )
            )
        # The jobs' volumes and outputs are encrypted with the lake key, which the runner
        # passes (VolumeKmsKeyId, KmsKeyId): SageMaker creates grants on it for the job's
        # instances in the caller's name, so the caller needs kms:CreateGrant, for AWS
        # resources only (SageMaker Developer Guide, "CreateProcessingJob API: Execution Role
        # Permissions"; KMS, "kms:GrantIsForAWSResource"). The pipeline role has the same.
        role.add_to_role_policy(
            iam.PolicyStatement(
                sid="JobVolumeKeyGrants",  # the condition is on CreateGrant requests only
                actions=["kms:CreateGrant"],
                resources=[sources.key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
        role.add_to_role_policy(
            iam.PolicyStatement(
                sid="PassJobRole",
                actions=["iam:PassRole"],
                resources=[self.job_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        role.add_to_role_policy(
            iam.PolicyStatement(
                sid="PublishMetrics",  # PutMetricData has no resource; scope by namespace
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": contract.METRIC_NAMESPACE}},
            )
        )

    @staticmethod
    def _packages(config: PlatformConfig) -> str:
        """The XGBoost group's versions (SageMaker ARNs carry names in lower case)."""
        return f"{config.model_package_group.lower()}/*"

    def _group(self, config: PlatformConfig) -> str:
        """The XGBoost group as the runner names it: by name in its own account, by ARN in
        the registry's (ListModelPackages takes either: SageMaker API Reference,
        ListModelPackages, ModelPackageGroupName)."""
        account = self._sources.package_account
        if account is None:
            return config.model_package_group
        return cdk.Stack.of(self).format_arn(
            service="sagemaker",
            resource="model-package-group",
            resource_name=config.model_package_group,
            account=account,
        )

    def metric(self, name: str, statistic: str = "Maximum") -> cw.Metric:
        """A monitoring metric of this endpoint; one datapoint per run, so the period is the
        schedule's and the default statistic Maximum."""
        return cw.Metric(
            namespace=contract.METRIC_NAMESPACE,
            metric_name=name,
            dimensions_map={contract.METRIC_DIMENSION: self.endpoint_name},
            statistic=statistic,
            period=cdk.Duration.hours(self._schedule_hours),
        )

    def _alarms(self, config: PlatformConfig, topic: sns.ITopic) -> tuple[cw.Alarm, cw.Alarm]:
        # Fixed names: tooling's retrain rule names these alarms' ARNs across accounts.
        drift = self.metric(contract.METRIC_DRIFTED_SHARE).create_alarm(
            self,
            "DriftAlarm",
            alarm_name=config.drift_alarm_name,
            threshold=config.monitoring.drift_threshold,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                f"Drifted-feature share >= {config.monitoring.drift_threshold} in 2 of the "
                "last 3 drift runs: the bridge requests a retraining run"
            ),
        )
        quality = self.metric(contract.METRIC_ACCURACY, "Minimum").create_alarm(
            self,
            "QualityAlarm",
            alarm_name=config.quality_alarm_name,
            threshold=config.training.accuracy_threshold,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            # No labels yet is not decay: the quality job publishes no accuracy then.
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                f"Accuracy on labelled traffic < {config.training.accuracy_threshold} (the "
                "quality gate's bound) in 2 of 3 runs: the bridge requests a retraining run"
            ),
        )
        for alarm in (drift, quality):
            action = cw_actions.SnsAction(topic)
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
            alarm.add_insufficient_data_action(action)
        return drift, quality

    def _dashboard(self) -> cw.Dashboard:
        endpoint = ModelEndpoint.from_endpoint_name(self, "Endpoint", self.endpoint_name)
        dashboard = cw.Dashboard(self, "Dashboard")
        dashboard.add_widgets(
            cw.GraphWidget(title="Invocations", left=[endpoint.metric_invocations()], width=8),
            cw.GraphWidget(
                title="Errors",
                left=[
                    endpoint.metric_invocation_4xx_errors(),
                    endpoint.metric_invocation_5xx_errors(),
                    endpoint.metric_model_errors(),
                ],
                width=8,
            ),
            cw.GraphWidget(
                title="Model latency p99 (microseconds)",
                left=[endpoint.metric_model_latency(statistic="p99")],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Drifted-feature share",
                left=[self.metric(contract.METRIC_DRIFTED_SHARE)],
                left_annotations=[self.drift_alarm.to_annotation()],
                width=8,
            ),
            cw.GraphWidget(
                title="Accuracy and macro-F1 (labelled traffic)",
                left=[
                    self.metric(contract.METRIC_ACCURACY, "Minimum"),
                    self.metric(contract.METRIC_MACRO_F1, "Minimum"),
                ],
                left_annotations=[self.quality_alarm.to_annotation()],
                width=8,
            ),
            cw.GraphWidget(
                title="Label coverage and samples",
                left=[self.metric(contract.METRIC_LABEL_COVERAGE, "Minimum")],
                right=[self.metric(contract.METRIC_SAMPLES, "Sum")],
                width=8,
            ),
        )
        return dashboard

    def _acknowledge(
        self,
        config: PlatformConfig,
        sources: MonitoringSources,
        job_prefix: str,
        model_monitor: bool,
    ) -> None:
        """Declare each role's wildcards where the roles are built (CDK's S3 and KMS grants on
        the lake prefixes this unit reads and writes, and the actions that take no ARN)."""
        stack = cdk.Stack.of(self)
        s3 = {
            **declare(S3_READ, "CDK's read grants on the lake prefixes this unit reads"),
            **declare(S3_DELETE, "CDK's write grant on the unit's own output prefix only"),
            **declare(KMS_DATA_KEYS, "CDK's grants on the lake key, which encrypts the zones"),
        }
        artifacts = sources.artifacts_bucket.bucket_arn
        windows = {
            f"{sources.capture_bucket.bucket_arn}/{CAPTURE_PREFIX}/*": "data capture objects are "
            "named per endpoint, variant and hour by SageMaker",
            f"{sources.labels_bucket.bucket_arn}/{sources.labels}": "the raw zone's events are "
            "named per hour by Firehose (the fallback where there is no capture)",
            f"{sources.output_bucket.bucket_arn}/{OUTPUT_PREFIX}/*": "this unit's own manifests "
            "and reports, named per window",
        }
        acknowledge_wildcards(
            self.job_role,
            actions=s3,
            resources={
                **windows,
                f"{artifacts}/{CODE_PREFIX}/*": "the monitoring code the job runs (model_code)",
                f"{artifacts}/pipelines/*": "the baseline statistics of each registered version, "
                "named per pipeline execution",
                stack.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=f"{PROCESSING_JOB_LOG_GROUP}*",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                ): "SageMaker writes a processing job's logs to this log group, streams named "
                "per job",
            },
            unscoped={
                "ecr:GetAuthorizationToken": "takes no resource (Service Authorization "
                "Reference, Amazon ECR): the job pulls the built-in image",
                **(IsolatedNetwork.UNSCOPED_ACTIONS if self._vpc else {}),
            },
        )
        runner_resources = {
            **windows,
            stack.format_arn(
                service="sagemaker", resource="processing-job", resource_name=f"{job_prefix}-*"
            ): "the runner starts and reads only this endpoint's drift jobs, named per window",
            stack.format_arn(
                service="sagemaker", resource="endpoint-config", resource_name="*"
            ): "the endpoint's configs get generated names; the runner reads the one its "
            "endpoint (named) points to",
            stack.format_arn(
                service="sagemaker", resource="model", resource_name="*"
            ): "the endpoint's models get generated names; the runner reads the variant's to "
            "find the deployed model package",
            stack.format_arn(
                service="sagemaker",
                resource="model-package",
                resource_name=self._packages(config),
                account=sources.package_account,
            ): "every version of the XGBoost package group: which one is deployed is known "
            "only at run time",
        }
        if model_monitor:
            runner_resources[f"{sources.output_bucket.bucket_arn}/monitoring/model-monitor/*"] = (
                "Model Monitor's reports, named per execution by the service"
            )
            runner_resources[
                stack.format_arn(service="sagemaker", resource="processing-job", resource_name="*")
            ] = "Model Monitor names its execution jobs itself: they cannot be scoped by name"
        acknowledge_wildcards(
            self.runner.role.node.find_child("DefaultPolicy"),  # type: ignore[union-attr]
            actions=s3,
            resources=runner_resources,
            unscoped={
                "cloudwatch:PutMetricData": "takes no resource; the function scopes it by the "
                "cloudwatch:namespace condition",
                **(
                    {
                        "sagemaker:ListModelPackages": "takes no resource ARN (Service "
                        "Authorization Reference): multi_model serves the newest Approved version"
                    }
                    if config.serving.kind == "multi_model"
                    else {}
                ),
            },
        )
        acknowledge_packs(  # the bridge acknowledges its own (RetrainBridge)
            self.runner,
            "LambdaInsideVPC",
            "The function calls only regional AWS APIs (S3, SageMaker, CloudWatch, "
            "EventBridge) and never touches data in a network; the jobs it starts run with "
            "network isolation.",
        )
        acknowledge_unreserved(self.runner)
