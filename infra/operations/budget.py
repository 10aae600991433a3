"""Cost guardrail: a monthly AWS Budget for this copy of the platform (or, with separate
accounts, for its part in one account), alerting the topic.

Costs are filtered by the ``environment`` cost-allocation tag (activate it once in the
Billing console, or the budget sees nothing). Alerts at 80 % of actual spend and 100 % of
forecast go to the alert topic (and e-mail addresses, if configured). ``limit_usd`` is the
account's limit (``core.accounts.budget_limits``): a budget sees only the spend of the account
it lives in, so with separate accounts each has its own share of the copy's ceiling, never
the whole ``budget.monthly_limit_usd``. The budget is created
after the topic policy that lets Budgets publish (AWS Budgets checks it when the SNS
subscriber is created). Not stateful.
"""

from __future__ import annotations

from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_sns as sns
from constructs import Construct

from core.config import BudgetConfig
from infra.operations.alerts import AlertTopic


class CostGuardrail(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: BudgetConfig,
        limit_usd: int,
        env_name: str,
        alerts: AlertTopic,
    ) -> None:
        super().__init__(scope, id_)
        alerts.allow_service_publish("budgets.amazonaws.com", sid="Budgets")
        topic = alerts.topic

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
                budget_limit=budgets.CfnBudget.SpendProperty(amount=limit_usd, unit="USD"),
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
        # Budgets validates that it may publish to the SNS subscriber when the notification is
        # created ("Creating an Amazon SNS topic for budget notifications":
        # https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html),
        # but the budget only references the topic, so CloudFormation could create it before
        # the topic policy: DependsOn the policy (DEPLOYABILITY class 8).
        self.budget.node.add_dependency(_topic_policy(topic))


def _topic_policy(topic: sns.ITopic) -> sns.CfnTopicPolicy:
    """The topic's one AWS::SNS::TopicPolicy (CDK creates it as the topic's child "Policy")."""
    policy = topic.node.find_child("Policy").node.default_child
    assert isinstance(policy, sns.CfnTopicPolicy), policy
    return policy
