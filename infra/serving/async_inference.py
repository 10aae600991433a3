"""Asynchronous inference for ``serving.kind='async'``: what ``ModelEndpoint`` adds to an endpoint.

Provisions two KMS-encrypted SNS topics (success, error), the endpoint config's
``AsyncInferenceConfig`` (answers and failures under the artifacts zone's ``async/`` prefixes,
encrypted with the lake key), the hosting role's grants for them, the async rollback alarm
(InvocationFailures) and backlog alarms, and scaling to zero on the backlog with a step policy
that adds the first instance. Not stateful. Exposes: config, success_topic, error_topic,
input_uri, output_uri, failure_uri, alarms, client_statements(), wildcard_resources();
for clients elsewhere ``async_client_statements`` / ``grant_async_client``.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from core.async_contract import (
    BACKLOG_PER_INSTANCE,
    BACKLOG_WITHOUT_CAPACITY,
    FAILURE_PREFIX,
    INPUT_PREFIX,
    INVOCATION_FAILURES,
    OLDEST_REQUEST_AGE,
    OUTPUT_PREFIX,
    endpoint_prefix,
)
from core.config import ServingConfig
from infra.compliance.packs import acknowledge_wildcards
from infra.data_lake.refs import LakeRefs


class AsyncInference(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: ServingConfig,
        endpoint_name: str,
        lake: LakeRefs,
        role: iam.IRole,
        alert_topic: sns.ITopic,
        reads_requests: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        self.settings = config.async_inference
        self.endpoint_name = endpoint_name
        self.lake = lake
        bucket = lake.artifacts_bucket
        self.prefixes = {
            name: endpoint_prefix(prefix, endpoint_name)
            for name, prefix in (
                ("input", INPUT_PREFIX),
                ("output", OUTPUT_PREFIX),
                ("failure", FAILURE_PREFIX),
            )
        }
        self.input_uri, self.output_uri, self.failure_uri = (
            f"s3://{bucket.bucket_name}/{self.prefixes[n]}/" for n in ("input", "output", "failure")
        )
        # Notifications carry the request's output location, so they are encrypted with the
        # lake key like the answers themselves (AwsSolutions-SNS2/SNS3: KMS and TLS only).
        self.success_topic = sns.Topic(self, "SuccessTopic", master_key=lake.key, enforce_ssl=True)
        self.error_topic = sns.Topic(self, "ErrorTopic", master_key=lake.key, enforce_ssl=True)

        # What SageMaker does with the endpoint's execution role ("Complete the prerequisites",
        # async inference: the role reads the request in S3, writes the answer, publishes to
        # SNS). Reading requests is the role's read grant on the artifacts zone already, unless
        # ``lake`` is a target account's own store (``reads_requests``: the model archives are
        # read in tooling, the requests here).
        self.reads_requests = reads_requests
        if reads_requests:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="AsyncReadRequests",
                    actions=["s3:GetObject"],
                    resources=[f"{bucket.bucket_arn}/{self.prefixes['input']}/*"],
                )
            )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="AsyncWriteResults",
                actions=["s3:PutObject"],
                resources=[
                    f"{bucket.bucket_arn}/{self.prefixes['output']}/*",
                    f"{bucket.bucket_arn}/{self.prefixes['failure']}/*",
                ],
            )
        )
        # AsyncInferenceOutputConfig.KmsKeyId encrypts the answers with the lake key. The API
        # reference names no actions: an SSE-KMS upload needs kms:GenerateDataKey, a multipart
        # one (answers up to 1 GB) kms:Decrypt too (S3 user guide, "Using server-side
        # encryption with AWS KMS keys"); kms:Encrypt as SageMaker's other output KmsKeyIds
        # document (TransformOutput.KmsKeyId). The topics' key is the same lake key.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="AsyncEncryptResults",
                actions=["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"],
                resources=[lake.key.key_arn],
            )
        )
        # "In order to receive Amazon SNS notifications, your IAM role must have sns:Publish
        # permissions" ("Check prediction results"); the topics are KMS-encrypted, so the
        # publisher also needs the key's data-key actions (SNS developer guide, "Encryption
        # at rest": publishers to an encrypted topic need kms:GenerateDataKey* and kms:Decrypt).
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="AsyncNotify",
                actions=["sns:Publish"],
                resources=[self.success_topic.topic_arn, self.error_topic.topic_arn],
            )
        )

        self.config = sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty(
            output_config=sagemaker.CfnEndpointConfig.AsyncInferenceOutputConfigProperty(
                s3_output_path=self.output_uri.rstrip("/"),
                s3_failure_path=self.failure_uri.rstrip("/"),
                kms_key_id=lake.key.key_arn,
                notification_config=(
                    sagemaker.CfnEndpointConfig.AsyncInferenceNotificationConfigProperty(
                        success_topic=self.success_topic.topic_arn,
                        error_topic=self.error_topic.topic_arn,
                    )
                ),
            ),
            client_config=sagemaker.CfnEndpointConfig.AsyncInferenceClientConfigProperty(
                max_concurrent_invocations_per_instance=(
                    self.settings.max_concurrent_invocations_per_instance
                )
            ),
        )

        # InvocationFailures: requests that failed in the model, published with the
        # EndpointName dimension only ("Alarms and logs for tracking metrics from asynchronous
        # endpoints"). It joins the rollback alarms; the backlog age only alerts, since a queue
        # waiting for its first instance after scaling to zero is no reason to roll back.
        self.failures_alarm = self._alarm(
            "InvocationFailuresAlarm",
            INVOCATION_FAILURES,
            "Sum",
            0,
            "Async requests fail in the model: a blue/green update in its bake rolls back.",
        )
        self.failures_alarm.add_alarm_action(cw_actions.SnsAction(alert_topic))
        self.backlog_age_alarm = self._alarm(
            "BacklogAgeAlarm",
            OLDEST_REQUEST_AGE,
            "Maximum",
            self.settings.max_backlog_age_seconds,
            f"The oldest queued async request is older than "
            f"{self.settings.max_backlog_age_seconds} s: the endpoint cannot keep up or "
            "cannot scale out.",
        )
        self.backlog_age_alarm.add_alarm_action(cw_actions.SnsAction(alert_topic))
        self.rollback_alarms = [self.failures_alarm]

    def _metric(self, name: str, statistic: str) -> cw.Metric:
        return cw.Metric(
            namespace="AWS/SageMaker",
            metric_name=name,
            dimensions_map={"EndpointName": self.endpoint_name},
            statistic=statistic,
            period=cdk.Duration.minutes(1),
        )

    def _alarm(
        self, id_: str, metric: str, statistic: str, threshold: float, description: str
    ) -> cw.Alarm:
        return cw.Alarm(
            self,
            id_,
            metric=self._metric(metric, statistic),
            threshold=threshold,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )

    def min_capacity(self, min_instances: int) -> int:
        """The scalable target's minimum: 0 when the endpoint scales to zero."""
        return 0 if self.settings.scale_to_zero else min_instances

    def scale(self, target: appscaling.ScalableTarget) -> None:
        """The developer guide's "Autoscale an asynchronous endpoint": target tracking on the
        backlog per instance, and (optional there, needed here since the minimum is zero) a
        step policy on HasBacklogWithoutCapacity, which alone scales out from zero: target
        tracking divides by the instance count and sees nothing while there are none."""
        s = self.settings
        target.scale_to_track_metric(
            "BacklogPerInstance",
            target_value=s.backlog_target_per_instance,
            custom_metric=self._metric(BACKLOG_PER_INSTANCE, "Average"),
            scale_in_cooldown=cdk.Duration.seconds(s.scale_in_cooldown_seconds),
            scale_out_cooldown=cdk.Duration.seconds(s.scale_out_cooldown_seconds),
        )
        if not s.scale_to_zero:
            return
        first = appscaling.StepScalingAction(
            self,
            "ScaleOutFromZero",
            scaling_target=target,
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            metric_aggregation_type=appscaling.MetricAggregationType.AVERAGE,
            cooldown=cdk.Duration.seconds(s.scale_out_cooldown_seconds),
        )
        first.add_adjustment(adjustment=1, lower_bound=0)
        # The guide's alarm: Average >= 1 for 2 of 2 one-minute periods, missing data missing.
        alarm = cw.Alarm(
            self,
            "BacklogWithoutCapacityAlarm",
            metric=self._metric(BACKLOG_WITHOUT_CAPACITY, "Average"),
            threshold=1,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.MISSING,
            alarm_description="Requests wait and the endpoint has no instance: add the first one.",
        )
        alarm.add_alarm_action(cw_actions.ApplicationScalingAction(first))

    def client_statements(self) -> list[iam.PolicyStatement]:
        """What a client of the endpoint needs besides InvokeEndpointAsync: upload requests,
        read answers and failures, with the lake key that encrypts them."""
        bucket = self.lake.artifacts_bucket
        return [
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[f"{bucket.bucket_arn}/{self.prefixes['input']}/*"],
            ),
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[
                    f"{bucket.bucket_arn}/{self.prefixes['output']}/*",
                    f"{bucket.bucket_arn}/{self.prefixes['failure']}/*",
                ],
            ),
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[self.lake.key.key_arn],
            ),
        ]

    def declare_client_wildcards(self, policy: iam.ManagedPolicy) -> None:
        """The client policy's prefixes: objects are named per request."""
        bucket = self.lake.artifacts_bucket
        input_ = f"{bucket.bucket_arn}/{self.prefixes['input']}/*"
        acknowledge_wildcards(
            policy,
            resources={
                input_: "clients upload each request under this endpoint's input prefix, one "
                "object per request",
                **{k: v for k, v in self.wildcard_resources().items() if k != input_},
            },
        )

    def wildcard_resources(self) -> dict[str, str]:
        """The hosting role's wildcard resources this adds, with why (acknowledge_wildcards)."""
        bucket = self.lake.artifacts_bucket
        reads = (
            {
                f"{bucket.bucket_arn}/{self.prefixes['input']}/*": "async requests (read only): "
                "clients name each object per request, under this endpoint's input prefix",
            }
            if self.reads_requests
            else {}
        )
        return {
            **reads,
            f"{bucket.bucket_arn}/{self.prefixes['output']}/*": "async answers: SageMaker "
            "names each object after the request's inference id, under this endpoint's prefix",
            f"{bucket.bucket_arn}/{self.prefixes['failure']}/*": "async failures: "
            "SageMaker names each object after the request's inference id, this endpoint only",
        }


def async_client_statements(
    *, bucket_arn: str, key_arn: str, endpoint_arn: str, endpoint_name: str
) -> tuple[list[iam.PolicyStatement], dict[str, str]]:
    """What a client of an async endpoint calls, the way ``labctl invoke --async`` does:
    InvokeEndpointAsync, upload under the endpoint's input prefix of ``bucket_arn``, read its
    output and failure prefixes, with the key that encrypts them. Returns the statements and
    the wildcard resources they add, with why (for ``acknowledge_wildcards``)."""
    input_, output, failure = (
        f"{bucket_arn}/{endpoint_prefix(p, endpoint_name)}/*"
        for p in (INPUT_PREFIX, OUTPUT_PREFIX, FAILURE_PREFIX)
    )
    statements = [
        iam.PolicyStatement(actions=["sagemaker:InvokeEndpointAsync"], resources=[endpoint_arn]),
        iam.PolicyStatement(actions=["s3:PutObject"], resources=[input_]),
        iam.PolicyStatement(actions=["s3:GetObject"], resources=[output, failure]),
        # HeadBucket (the client checks the input bucket) is authorized by s3:ListBucket, and
        # without it a GetObject on an answer not written yet is 403, not 404, so polling would
        # fail at once (Amazon S3 API Reference, HeadBucket and GetObject, "Permissions").
        iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket_arn]),
        iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key_arn]),
    ]
    return statements, {
        input_: f"async requests to {endpoint_name}: one object per request under its input prefix",
        output: f"async answers of {endpoint_name}: SageMaker names each after the request",
        failure: f"async failures of {endpoint_name}: SageMaker names each after the request",
    }


def grant_async_client(
    grantee: iam.IGrantable, lake: LakeRefs, endpoint_name: str
) -> dict[str, str]:
    """Let ``grantee`` (e.g. the delivery smoke test) call an async endpoint in the lake's
    account (``async_client_statements``). Returns the wildcard resources it adds, with why,
    for the grantee's ``acknowledge_wildcards``."""
    stack = cdk.Stack.of(lake)
    statements, wildcards = async_client_statements(
        bucket_arn=lake.artifacts_bucket.bucket_arn,
        key_arn=lake.key.key_arn,
        endpoint_arn=stack.format_arn(
            service="sagemaker", resource="endpoint", resource_name=endpoint_name
        ),
        endpoint_name=endpoint_name,
    )
    for statement in statements:
        grantee.grant_principal.add_to_principal_policy(statement)
    return wildcards
