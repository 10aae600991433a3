"""Stack: operations of one copy: the alert topic every alarm notifies and the cost budget.

Deployed first and destroyed last (``infra.platform`` makes every other stack depend on it),
so serving, delivery, monitoring and ingestion read the topic from here, not from each other.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from core import accounts
from core.config import PlatformConfig
from infra.operations.alerts import AlertTopic
from infra.operations.budget import CostGuardrail


class OperationsStack(cdk.Stack):
    def __init__(
        self, scope: Construct, id_: str, *, config: PlatformConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, id_, termination_protection=not config.destroyable, **kwargs)
        self.alerts = AlertTopic(
            self, "Alerts", emails=config.budget.alert_emails, retain=not config.destroyable
        )
        self.budget = CostGuardrail(
            self,
            "CostGuardrail",
            config=config.budget,
            # the copy's limit; with separate accounts tooling's share (core.accounts)
            limit_usd=accounts.budget_limits(config)[config.tooling_account],
            env_name=config.env_name,
            alerts=self.alerts,
        )
        cdk.CfnOutput(self, "AlertTopicArn", value=self.alerts.topic.topic_arn)
