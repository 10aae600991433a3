"""Where a failed event goes: one function's dead-letter queue, alarmed, for every unit.

A function that EventBridge rules and Scheduler schedules invoke asynchronously gets one SQS
queue (KMS-encrypted with a key of the unit, TLS-only, 14 days) that takes three kinds of
failure: events a rule could not deliver (target ``DeadLetterConfig``), schedule invocations
that failed (Scheduler target ``DeadLetterConfig``), and invocations whose function failed
after Lambda's own retries (the function's ``DeadLetterConfig``). An alarm on
``ApproximateNumberOfMessagesVisible`` > 0 notifies the alert topic. Not stateful (a dead
letter is a copy of an event that the next run repeats). Exposes: queue, key, alarm,
``target_options`` (for ``aws_events_targets`` and ``aws_scheduler_targets``),
``grant_send`` (a role that sends, e.g. a schedule's).

Who may write, each from the service's documentation and checked by the rehearsal
(``deliveries`` for EventBridge, ``service_roles`` rows for Scheduler and Lambda):
- EventBridge: the queue policy (CDK adds it per rule, ``aws:SourceArn``) and the key policy
  for ``events.amazonaws.com`` (kms:GenerateDataKey, kms:Decrypt; EventBridge User Guide,
  "Using dead-letter queues", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html,
  and SQS "Enable compatibility between AWS services and encrypted queues");
- Scheduler and Lambda send with a role: sqs:SendMessage (CDK adds it) and the key's data-key
  actions (``grant_send``; EventBridge Scheduler User Guide, "Configuring a dead-letter queue";
  Lambda Developer Guide, "Dead-letter queues").
"""

from __future__ import annotations

from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

EVENTS = "events.amazonaws.com"
SEND_KEY_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"]
# A target is retried this often, for at most this long: the next scheduled run (hourly at the
# most frequent) repeats a lost one, so an older event is worth only its dead letter.
RETRY_ATTEMPTS = 2
MAX_EVENT_AGE = cdk.Duration.hours(1)


class DeadLetterQueue(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        key: kms.IKey,
        alert_topic: sns.ITopic,
        subject: str,
    ) -> None:
        """``subject``: what failed, for the alarm's description ("the drift runner")."""
        super().__init__(scope, id_)
        self.key = key
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            data_key_reuse=cdk.Duration.hours(1),  # fewer KMS calls; the SQS default is 5 min
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),  # the SQS maximum: time to look
        )
        _allow_events(key)
        self.alarm = self.queue.metric_approximate_number_of_messages_visible(
            statistic="Maximum", period=cdk.Duration.minutes(5)
        ).create_alarm(
            self,
            "Alarm",
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                f"An event for {subject} could not be delivered or its run failed: read the "
                "dead letters (invocation details and error), fix, then purge the queue"
            ),
        )
        self.alarm.add_alarm_action(cw_actions.SnsAction(alert_topic))

    def target_options(self) -> dict[str, Any]:
        """Keyword arguments for an ``aws_events_targets`` / ``aws_scheduler_targets`` target:
        this queue and the retry policy."""
        return {
            "dead_letter_queue": self.queue,
            "retry_attempts": RETRY_ATTEMPTS,
            "max_event_age": MAX_EVENT_AGE,
        }

    def grant_send(self, grantee: iam.IGrantable) -> None:
        """The key's data-key actions for a role that sends here (sqs:SendMessage itself is
        added by CDK where the queue is configured: the function or the schedule target)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=SEND_KEY_ACTIONS, resources=[self.key.key_arn])
        )


def _allow_events(key: kms.IKey) -> None:
    """Let EventBridge use ``key`` for dead letters: once per key, however many queues use it.
    No source condition: EventBridge's requests to KMS for a target are not documented to carry
    aws:SourceArn / aws:SourceAccount (the SQS compatibility example has none)."""
    if key.node.try_find_child("EventBridgeDeadLetters") is not None:
        return
    # marker: the statement below is in place (an IKey of this app is a construct)
    Construct(cast(Construct, key), "EventBridgeDeadLetters")
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="EventBridgeDeadLetters",
            principals=[iam.ServicePrincipal(EVENTS)],
            actions=SEND_KEY_ACTIONS,
            resources=["*"],  # in a key policy "*" means this key
        )
    )
