"""Ground truth for Model Monitor's model-quality job: raw-zone labels in its layout, hourly.

Provisions (``monitoring.engine='model_monitor'`` only): a Lambda function
(ground_truth_runtime/ground_truth.py) with its own role and log group, started every hour by
EventBridge Scheduler, that rewrites the labelled events of the last hours as ground-truth
JSON lines under ``GROUND_TRUTH_PREFIX/yyyy/mm/dd/hh/`` of the artifacts bucket, where the
model-quality job definition (model_monitor.py) reads them. A function of its own rather than
a step of the drift runner: with Model Monitor the runner has no schedule (it reacts to the
schedules' job events), and only this function may write the ground-truth prefix. Not
stateful. Exposes: function, schedule.

Three accounts (issue 25): the upload stays in tooling (``<env>-GroundTruth``), beside the
raw zone whose labels it converts, and writes the lake as in one account; production's
model-quality job reads that prefix across accounts. Chosen over writing into production's
bucket because the job's ``GroundTruthS3Input`` is a plain S3 URI its execution role reads
(CloudFormation ``MonitoringGroundTruthS3Input``; the merge lists the hour folders: Developer
Guide, "Ingest Ground Truth labels and merge them with predictions",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html), so a
cross-account read needs only the role's identity policy plus tooling's bucket and key
policies naming production's monitoring path ("Cross-account policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html),
the same shape as the baseline reads. The other way round, tooling would need production's
generated capture-bucket name (a reference across accounts, or a fixed name that replaces a
stateful bucket) and a cross-account writer on production's key. Tooling's side:
``infra.cross_account.monitoring_ground_truth_statements``; checked by the rehearsal
(assurance/rehearsal/cross_account.py ``monitoring_flows``).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.compliance.packs import (
    KMS_DATA_KEYS,
    S3_READ,
    S3_WRITE,
    acknowledge_packs,
    acknowledge_unreserved,
    acknowledge_wildcards,
    declare,
)
from infra.data_lake.refs import LakeRefs
from infra.monitoring.model_monitor import GROUND_TRUTH_PREFIX
from infra.operations.dead_letters import DeadLetterQueue

RUNTIME = Path(__file__).parent / "ground_truth_runtime"
# A Firehose object of hour H can land after H closed (buffering up to 900 s), so each run
# converts the last two whole hours; output keys follow the source objects, so the second
# pass overwrites rather than duplicates.
LOOKBACK_HOURS = 2


class GroundTruthUpload(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        lake: LakeRefs,
        log_key: kms.IKey,
        alert_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, id_)
        log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=log_key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Writes raw-zone labels as Model Monitor ground truth",
        )
        log_group.grant_write(role)
        # Reads the raw zone's events (list + get), writes only the ground-truth prefix; the
        # lake key encrypts both buckets.
        lake.raw_bucket.grant_read(role, "events/*")
        lake.artifacts_bucket.grant_put(role, f"{GROUND_TRUTH_PREFIX}/*")
        # Failed schedule invocations and failed runs land here.
        self.dead_letters = DeadLetterQueue(
            self,
            "DeadLetters",
            key=log_key,
            alert_topic=alert_topic,
            subject="the ground-truth upload",
        )
        self.dead_letters.grant_send(role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="ground_truth.handler",
            code=lambda_.Code.from_asset(str(RUNTIME), exclude=["__pycache__", "*.pyc"]),
            description="Raw-zone labels -> Model Monitor ground truth (hourly)",
            environment={
                "RAW_BUCKET": lake.raw_bucket.bucket_name,
                "ARTIFACTS_BUCKET": lake.artifacts_bucket.bucket_name,
                "GROUND_TRUTH_PREFIX": GROUND_TRUTH_PREFIX,
                "LOOKBACK_HOURS": str(LOOKBACK_HOURS),
            },
            role=role,
            timeout=cdk.Duration.minutes(5),
            memory_size=512,
            dead_letter_queue=self.dead_letters.queue,
            log_group=log_group,
        )
        # Scheduler's execution role needs lambda:InvokeFunction on the target only
        # (EventBridge Scheduler User Guide, "Set up the execution role").
        self.scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description="EventBridge Scheduler invokes the ground-truth upload",
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule=scheduler.ScheduleExpression.rate(cdk.Duration.hours(1)),
            target=scheduler_targets.LambdaInvoke(
                self.function, role=self.scheduler_role, **self.dead_letters.target_options()
            ),
            description="Raw-zone labels of the last hours -> Model Monitor ground truth",
        )
        self.dead_letters.grant_send(self.scheduler_role)
        artifacts, raw = lake.artifacts_bucket.bucket_arn, lake.raw_bucket.bucket_arn
        acknowledge_wildcards(
            role,
            actions={
                **declare(S3_READ, "CDK's read grant on the raw zone's events"),
                **declare(S3_WRITE, "CDK's put grant on the ground-truth prefix only"),
                **declare(KMS_DATA_KEYS, "CDK's grants on the lake key, which encrypts them"),
            },
            resources={
                f"{raw}/events/*": "the raw zone's events are named per hour by Firehose",
                f"{artifacts}/{GROUND_TRUTH_PREFIX}/*": "ground truth is named per hour of "
                "collection, the layout the model-quality job merges",
            },
        )
        acknowledge_wildcards(
            self.scheduler_role,
            resources={
                f"{self.function.function_arn}:*": "the scheduler invokes only the ground-truth "
                "function (CDK's grant names any of its versions)"
            },
        )
        acknowledge_packs(
            self.function,
            "LambdaInsideVPC",
            "The function calls only the regional S3 API on the lake's own buckets and never "
            "touches data in a network; S3 access is governed by IAM and the lake key.",
        )
        acknowledge_unreserved(self.function)
