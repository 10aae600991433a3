"""Expiry reaper: a scheduled function that deletes this copy's expired hand-made lab endpoints.

Provisions a Python Lambda (``runtime/reaper/reaper.py``), its role (a customer-managed
policy), its log group and an EventBridge schedule. Reports go to the alert topic. Not
stateful. Exposes: function, rule, policy.

What the role needs, each from the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemakerai.html,
.../list_amazonsns.html, .../list_awskeymanagementservice.html, .../list_amazoncloudwatchlogs.html):
- sagemaker:ListEndpoints: a list action without resource types, so Resource "*";
- sagemaker:ListTags and sagemaker:DeleteEndpoint: resource type ``endpoint``, scoped to
  ``arn:aws:sagemaker:<region>:<account>:endpoint/<env>-*`` (SageMaker ARNs carry the name
  in lower case; env names are lower case);
- sns:Publish on the alert topic, and kms:GenerateDataKey* + kms:Decrypt on the topic's key
  (SNS developer guide, "Encryption at rest": publishers to an SSE-KMS topic need both);
- logs:CreateLogStream + logs:PutLogEvents on its own log group.
No CloudFormation permission, on purpose: the reaper leaves endpoints a stack manages to the
stack (``runtime/reaper/reaper.py`` says why) and only reports them. The rehearsal checks each
call the runtime makes against this policy (``assurance/rehearsal/service_roles.py``, reaper rows).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from core.config import ExpiryConfig
from infra.compliance.packs import acknowledge, acknowledge_packs, acknowledge_unreserved
from infra.operations.alerts import AlertTopic
from infra.operations.dead_letters import DeadLetterQueue
from infra.runtime_bundle import stage
from infra.serving.construct import endpoint_arn

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime" / "reaper"
CONTRACTS = ("stack_contract.py",)  # model_code modules the runtime imports (standard library)


@cache
def bundle() -> Path:
    """The function's code: the runtime and, beside it, the ``model_code`` contracts it shares
    with labctl (which resources a stack manages has one spelling). Staged once per process."""
    return stage(RUNTIME_DIR, CONTRACTS, "reaper-runtime-")


class EndpointReaper(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: ExpiryConfig,
        env_name: str,
        alerts: AlertTopic,
        log_key: kms.IKey,
        stack_endpoints: Mapping[str, str] | None = None,
    ) -> None:
        """``stack_endpoints``: endpoint name -> the stack of this copy that manages it. The
        reaper never deletes those, even if CloudFormation's stack tags do not reach the
        endpoint (the AWS::SageMaker::Endpoint provider schema has
        ``cloudFormationSystemTags: false``)."""
        super().__init__(scope, id_)
        log_group = logs.LogGroup(
            self,
            "Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY,
            encryption_key=log_key,  # a logs-capable key of the stack: no key of its own to bill
        )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Expiry reaper of {env_name}: deletes expired {env_name}-* endpoints",
        )
        endpoints = endpoint_arn(self, f"{env_name}-*")
        # Failed schedule events and failed sweeps land here.
        self.dead_letters = DeadLetterQueue(
            self,
            "DeadLetters",
            key=log_key,
            alert_topic=alerts.topic,
            subject=f"the {env_name} endpoint expiry reaper",
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            roles=[role],
            statements=[
                iam.PolicyStatement(actions=["sagemaker:ListEndpoints"], resources=["*"]),
                iam.PolicyStatement(
                    actions=["sagemaker:ListTags", "sagemaker:DeleteEndpoint"],
                    resources=[endpoints],
                ),
                *alerts.publish_statements(),
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[log_group.log_group_arn],
                ),
                # its dead-letter queue (set below, so the grant stays in this policy)
                iam.PolicyStatement(
                    actions=["sqs:SendMessage"], resources=[self.dead_letters.queue.queue_arn]
                ),
                iam.PolicyStatement(
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[log_key.key_arn],
                ),
            ],
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="reaper.handler",
            code=lambda_.Code.from_asset(str(bundle())),
            role=role,
            log_group=log_group,
            timeout=cdk.Duration.minutes(2),
            description=f"Deletes {env_name} endpoints older than their expiry tag",
            environment={
                "ENV_NAME": env_name,
                "TOPIC_ARN": alerts.topic.topic_arn,
                "MAX_DELETES": str(config.max_deletes_per_run),
                "DRY_RUN": "true" if config.dry_run else "false",
                "STACK_ENDPOINTS": json.dumps(dict(sorted((stack_endpoints or {}).items()))),
            },
        )
        # The function's dead-letter queue set on the resource: the ``dead_letter_queue`` prop
        # would add SendMessage to an inline default policy, this role keeps one managed policy.
        function = self.function.node.default_child
        assert isinstance(function, lambda_.CfnFunction)
        function.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(
            target_arn=self.dead_letters.queue.queue_arn
        )
        self.function.node.add_dependency(self.policy)
        self.rule = events.Rule(
            self,
            "Schedule",
            description=f"Run the {env_name} endpoint expiry reaper",
            schedule=events.Schedule.rate(cdk.Duration.minutes(config.schedule_minutes)),
            targets=[targets.LambdaFunction(self.function, **self.dead_letters.target_options())],
        )
        self._acknowledge(log_group, endpoints)

    def _acknowledge(self, log_group: logs.LogGroup, endpoints: str) -> None:
        reason = (
            "The reaper only calls the SageMaker and SNS control-plane APIs and holds no data; "
            "it runs on a schedule and the next run repeats any failed one."
        )
        acknowledge_packs(self.function, "LambdaInsideVPC", reason)
        acknowledge_unreserved(self.function)
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "sagemaker:ListEndpoints has no resource types (Service Authorization Reference), "
            "so it can only be granted on '*'; it is the only action granted there.",
        )
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::{endpoints}]",
            "ListTags and DeleteEndpoint are scoped to this copy's endpoints by name prefix; "
            "the reaper also checks the environment tag before deleting.",
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "Publishing to the SSE-KMS alert topic needs GenerateDataKey (and its variants) on "
            "that one key, which is the only resource of this statement.",
        )
