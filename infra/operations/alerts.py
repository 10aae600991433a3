"""The platform's alert topic: KMS-encrypted SNS, TLS-only, that every alarm notifies.

Not stateful. Exposes: topic, key, and the grants ``grant_publish`` (a role),
``publish_statements`` (for a customer-managed policy) and ``allow_service_publish`` (an AWS
service such as AWS Budgets). The topic's ``AWS::SNS::TopicPolicy`` replaces SNS's default
policy, so every service that publishes needs its own statement: CloudWatch alarms of this
account are allowed on the topic and on its key from the start (issue 22, C3), and so are
EventBridge rules of this account (issue 26, failure alerts); the rehearsal's
``deliveries`` rule checks every (alarm, budget, rule) -> topic edge of the templates.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct

# Publishing to an SSE-KMS topic needs both on its key (SNS developer guide, "Encryption at
# rest": "Enable compatibility between event sources from AWS services and encrypted topics").
KEY_ACTIONS = ["kms:GenerateDataKey*", "kms:Decrypt"]
# CloudWatch alarm actions publish as cloudwatch.amazonaws.com with the alarm as source (SNS
# developer guide, "Amazon SNS access control case examples" / "Enable compatibility between
# event sources from AWS services and encrypted topics":
# https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
CLOUDWATCH = "cloudwatch.amazonaws.com"
# EventBridge rules of this account (failure alerts, infra/operations/failure_alerts.py) publish
# as events.amazonaws.com; the topic policy is conditioned on the account and the rule ARNs
# (EventBridge User Guide, "Using resource-based policies for Amazon EventBridge", Amazon SNS
# permissions: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions).
# Its KMS calls for an encrypted target are not documented to carry aws:SourceArn /
# aws:SourceAccount (the SNS compatibility example has no condition), so the key statement has
# none, as the dead-letter queues' keys (infra/operations/dead_letters.py).
EVENTS = "events.amazonaws.com"


class AlertTopic(Construct):
    def __init__(self, scope: Construct, id_: str, *, emails: Sequence[str], retain: bool) -> None:
        super().__init__(scope, id_)
        self.key = kms.Key(
            self,
            "Key",
            description="Alert topic encryption",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN if retain else cdk.RemovalPolicy.DESTROY,
        )
        self.topic = sns.Topic(self, "Topic", master_key=self.key, enforce_ssl=True)
        for email in emails:
            self.topic.add_subscription(subs.EmailSubscription(email))
        stack = cdk.Stack.of(self)
        self.allow_service_publish(
            CLOUDWATCH,
            sid="CloudWatchAlarms",
            source_arn=stack.format_arn(
                service="cloudwatch",
                resource="alarm",
                resource_name="*",
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            ),
        )
        self.allow_service_publish(
            EVENTS,
            sid="EventBridgeRules",
            source_arn=stack.format_arn(service="events", resource="rule", resource_name="*"),
            key_conditions=False,
        )

    def publish_statements(self) -> list[iam.PolicyStatement]:
        """What a principal needs to publish: sns:Publish on this topic and the data-key
        actions on its key (for a customer-managed policy; a role takes ``grant_publish``)."""
        return [
            iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn]),
            iam.PolicyStatement(actions=KEY_ACTIONS, resources=[self.key.key_arn]),
        ]

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` publish to this topic (its identity policy)."""
        for statement in self.publish_statements():
            grantee.grant_principal.add_to_principal_policy(statement)

    def allow_service_publish(
        self, service: str, *, sid: str, source_arn: str = "", key_conditions: bool = True
    ) -> None:
        """Let an AWS service (e.g. ``budgets.amazonaws.com``) publish, on behalf of this
        account only: the topic policy allows sns:Publish and the key policy the data-key
        actions, both conditioned on ``aws:SourceAccount`` and, with ``source_arn``, on
        ``aws:SourceArn`` (ArnLike; confused-deputy protection, SNS developer guide).
        ``key_conditions=False``: the key statement without them, for a service whose KMS
        calls do not carry them (EventBridge). ``sid`` prefixes the two statements' ids."""
        account = cdk.Stack.of(self).account
        principal = iam.ServicePrincipal(service)
        condition: dict[str, dict[str, str]] = {"StringEquals": {"aws:SourceAccount": account}}
        if source_arn:
            condition["ArnLike"] = {"aws:SourceArn": source_arn}
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"{sid}Publish",
                principals=[principal],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=condition,
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"{sid}Encrypt",
                principals=[principal],
                actions=KEY_ACTIONS,
                resources=["*"],  # in a key policy "*" means this key
                conditions=condition if key_conditions else None,
            )
        )
