"""The retrain bridge: a monitoring alarm going to ALARM becomes one ``RetrainRequested`` event.

Provisions the bridge Lambda (``runtime/retrain_bridge.py``: cooldown and one run at a time,
read from the training pipeline's executions), its role, log group and dead letters, and the
rule on the alarms' "CloudWatch Alarm State Change" events. It runs where the training pipeline
is: ListPipelineExecutions takes no resource policy, so a function in another account could not
read the runs. Single-account: ``DriftMonitoring`` builds it beside its alarms. Multi-account:
the Training stack in tooling builds it, its rule matching the alarm events the production
target stack forwards to tooling's default bus (``source_account`` = production: a forwarded
event keeps the account it happened in), with a log key of its own. Not stateful. Exposes:
function, rule, dead_letters.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from core.config import PlatformConfig
from infra.compliance.packs import acknowledge_packs, acknowledge_unreserved, acknowledge_wildcards
from infra.monitoring.functions import monitoring_bundle, monitoring_function
from infra.storage import logs_capable_key
from infra.training.construct import TrainingPipeline

# The bridge holds back a second retrain for this long after a run started.
RETRAIN_COOLDOWN_HOURS = 12
# "CloudWatch Alarm State Change" (CloudWatch User Guide, "Alarm events and EventBridge",
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html):
# source aws.cloudwatch, the alarm's ARN in resources, its new state in detail.state.value.
ALARM_SOURCE = "aws.cloudwatch"
ALARM_DETAIL_TYPE = "CloudWatch Alarm State Change"


def alarm_pattern(
    alarm_arns: Sequence[str], source_account: str | None = None
) -> events.EventPattern:
    """The ALARM transitions of ``alarm_arns``; with ``source_account``, only events that
    happened in that account (EventBridge, "Sending and receiving events between AWS accounts":
    a receiving rule matches the sender's ``account``,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html)."""
    return events.EventPattern(
        source=[ALARM_SOURCE],
        detail_type=[ALARM_DETAIL_TYPE],
        account=[source_account] if source_account else None,
        resources=list(alarm_arns),
        detail={"state": {"value": ["ALARM"]}},
    )


class RetrainBridge(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        endpoint_name: str,
        alarm_arns: Sequence[str],
        alert_topic: sns.ITopic,
        log_key: kms.IKey | None = None,
        source_account: str | None = None,
        bundle: Path | None = None,
    ) -> None:
        """``alarm_arns``: the drift and quality alarms; ``source_account``: the account they
        live in when it is not this one (their events arrive forwarded); ``log_key``: the
        caller's key for logs and dead letters, else one of its own; ``bundle``: the
        monitoring code already staged by the caller (one asset), else staged here."""
        super().__init__(scope, id_)
        if log_key is None:
            log_key = logs_capable_key(
                self, "LogKey", description="Retrain bridge logs", retain=not config.destroyable
            )
        self.function, self.dead_letters = monitoring_function(
            self,
            "RetrainBridge",
            handler="retrain_bridge.handler",
            description="Turns a monitoring alarm into one RetrainRequested event (cooldown, "
            "one run)",
            environment={
                "ENDPOINT_NAME": endpoint_name,
                "PIPELINE_NAME": config.pipeline_name,
                "COOLDOWN_HOURS": str(RETRAIN_COOLDOWN_HOURS),
            },
            bundle=bundle or monitoring_bundle(),
            log_key=log_key,
            alert_topic=alert_topic,
            subject=f"the RetrainBridge function of {endpoint_name}",
        )
        # The bridge reads the training pipeline's runs (its cooldown and "one run at a time"
        # state) and puts the retrain event the pipeline's rule starts a run on.
        training = TrainingPipeline.from_pipeline_name(self, "Training", config.pipeline_name)
        training.grant_list_executions(self.function)
        training.grant_request_retrain(self.function)
        self.rule = events.Rule(
            self,
            "AlarmToRetrain",
            description="Drift/quality alarm in ALARM -> RetrainRequested (via the bridge)",
            event_pattern=alarm_pattern(alarm_arns, source_account),
            targets=[targets.LambdaFunction(self.function, **self.dead_letters.target_options())],
        )
        acknowledge_wildcards(
            self.function.role.node.find_child("DefaultPolicy"),  # type: ignore[union-attr]
        )
        acknowledge_packs(
            self.function,
            "LambdaInsideVPC",
            "The function calls only regional AWS APIs (S3, SageMaker, CloudWatch, "
            "EventBridge) and never touches data in a network; the jobs it starts run with "
            "network isolation.",
        )
        acknowledge_unreserved(self.function)
