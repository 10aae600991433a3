"""Cost guardrail: a monthly AWS Budget for this copy of the platform, alerting the topic.

Costs are filtered by the ``environment`` cost-allocation tag (activate it once in the
Billing console, or the budget sees nothing). Alerts at 80 % of actual spend and 100 % of
forecast go to the alert topic (and e-mail addresses, if configured). Not stateful.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import BudgetConfig


class CostGuardrail(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: BudgetConfig,
        env_name: str,
        topic: sns.Topic,
        topic_key: kms.Key,
    ) -> None:
        super().__init__(scope, id_)
        account = cdk.Stack.of(self).account
        budgets_principal = iam.ServicePrincipal("budgets.amazonaws.com")
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BudgetsPublish",
                principals=[budgets_principal],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        topic_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BudgetsEncrypt",
                principals=[budgets_principal],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],  # in a key policy "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )

        def subscribers() -> list[budgets.CfnBudget.SubscriberProperty]:
            return [
                budgets.CfnBudget.SubscriberProperty(
                    subscription_type="SNS", address=topic.topic_arn
                ),
                *(
                    budgets.CfnBudget.SubscriberProperty(subscription_type="EMAIL", address=e)
                    for e in config.alert_emails
                ),
            ]

        self.budget = budgets.CfnBudget(
            self,
            "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=f"{env_name}-mlops-platform",
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(
                    amount=config.monthly_limit_usd, unit="USD"
                ),
                cost_filters={"TagKeyValue": [f"user:environment${env_name}"]},
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=threshold,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=subscribers(),
                )
                for kind, threshold in (("ACTUAL", 80), ("FORECASTED", 100))
            ],
        )
