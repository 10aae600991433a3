"""Operations: the alert topic and the budget, built in a bare stack, and the Operations
stack's place in the platform (deployed first, destroyed last).

Expected actions and principals are literals from the AWS documentation (SNS developer
guide, "Encryption at rest" and "Creating an Amazon SNS topic for budget notifications").
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from core.config import BudgetConfig
from infra.operations.alerts import AlertTopic
from infra.operations.budget import CostGuardrail
from infra.platform import cdk_json_context


def _alerts(emails: tuple[str, ...] = ()) -> tuple[cdk.Stack, AlertTopic]:
    stack = cdk.Stack(
        cdk.App(context=cdk_json_context()),
        "Bare",
        env=cdk.Environment(account="111111111111", region="us-east-1"),
    )
    return stack, AlertTopic(stack, "Alerts", emails=emails, retain=False)


def _only(template: Template, kind: str) -> dict[str, Any]:
    (resource,) = template.find_resources(kind).values()
    return resource


def test_topic_is_encrypted_with_its_own_rotating_key_and_tls_only() -> None:
    """SSE-KMS with a rotating key of its own; the topic policy denies plain HTTP."""
    stack, _ = _alerts()
    t = Template.from_stack(stack)
    topic = _only(t, "AWS::SNS::Topic")["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlertsKey9E1197AF", "Arn"]}
    assert _only(t, "AWS::KMS::Key")["Properties"]["EnableKeyRotation"] is True
    statements = _only(t, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_grant_publish_allows_publish_and_the_topic_keys_data_keys() -> None:
    """A publisher needs sns:Publish on the topic and GenerateDataKey*/Decrypt on its key."""
    stack, alerts = _alerts()
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    alerts.grant_publish(role)
    policy = _only(Template.from_stack(stack), "AWS::IAM::Policy")
    publish, keys = policy["Properties"]["PolicyDocument"]["Statement"]
    assert publish == {
        "Action": "sns:Publish",
        "Effect": "Allow",
        "Resource": {"Ref": "AlertsTopicCF7C81C9"},
    }
    assert set(keys["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert keys["Resource"] == {"Fn::GetAtt": ["AlertsKey9E1197AF", "Arn"]}


def test_allow_service_publish_admits_the_service_for_this_account_only() -> None:
    """Topic and key policies admit the service principal, conditioned on aws:SourceAccount."""
    stack, alerts = _alerts()
    alerts.allow_service_publish("budgets.amazonaws.com", sid="Budgets")
    t = Template.from_stack(stack)
    topic_policy = _only(t, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]
    key_policy = _only(t, "AWS::KMS::Key")["Properties"]["KeyPolicy"]
    account = {"StringEquals": {"aws:SourceAccount": "111111111111"}}
    (publish,) = [s for s in topic_policy["Statement"] if s.get("Sid") == "BudgetsPublish"]
    assert publish["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert (publish["Action"], publish["Condition"]) == ("sns:Publish", account)
    (encrypt,) = [s for s in key_policy["Statement"] if s.get("Sid") == "BudgetsEncrypt"]
    assert encrypt["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert set(encrypt["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert encrypt["Condition"] == account


def test_cloudwatch_alarms_of_this_account_may_publish_through_the_key() -> None:
    """The TopicPolicy replaces SNS's default policy: without a statement for
    cloudwatch.amazonaws.com no alarm notifies anyone (issue 22, C3). SNS developer guide,
    "Enable compatibility between event sources from AWS services and encrypted topics":
    sns:Publish on the topic, kms:GenerateDataKey* + kms:Decrypt on its key, both for this
    account's alarms only (aws:SourceAccount, aws:SourceArn like alarm:*)."""
    stack, _ = _alerts()
    t = Template.from_stack(stack)
    topic_policy = _only(t, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]
    key_policy = _only(t, "AWS::KMS::Key")["Properties"]["KeyPolicy"]
    (publish,) = [s for s in topic_policy["Statement"] if s.get("Sid") == "CloudWatchAlarmsPublish"]
    (encrypt,) = [s for s in key_policy["Statement"] if s.get("Sid") == "CloudWatchAlarmsEncrypt"]
    for statement in (publish, encrypt):
        assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        condition = json.dumps(statement["Condition"])
        assert '"aws:SourceAccount": "111111111111"' in condition
        assert "ArnLike" in condition and ":cloudwatch:us-east-1:111111111111:alarm:*" in condition
    assert publish["Action"] == "sns:Publish"
    assert set(encrypt["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}


def test_budget_filters_on_the_copys_cost_tag_and_alerts_the_topic() -> None:
    """Monthly cost budget of the environment tag; 80 % actual and 100 % forecast alerts. The
    amount is the account's limit it is given (30), not the copy's ceiling (50): with separate
    accounts each account's budget holds its own share."""
    stack, alerts = _alerts()
    config = BudgetConfig(monthly_limit_usd=50, alert_emails=("ops@example.com",))
    CostGuardrail(
        stack, "CostGuardrail", config=config, limit_usd=30, env_name="lab", alerts=alerts
    )
    budget = _only(Template.from_stack(stack), "AWS::Budgets::Budget")["Properties"]
    data = budget["Budget"]
    assert (data["BudgetType"], data["TimeUnit"]) == ("COST", "MONTHLY")
    assert data["CostFilters"] == {"TagKeyValue": ["user:environment$lab"]}
    assert data["BudgetLimit"] == {"Amount": 30, "Unit": "USD"}
    kinds = {
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"])
        for n in budget["NotificationsWithSubscribers"]
    }
    assert kinds == {("ACTUAL", 80), ("FORECASTED", 100)}
    for n in budget["NotificationsWithSubscribers"]:
        assert {"SubscriptionType": "SNS", "Address": {"Ref": "AlertsTopicCF7C81C9"}} in n[
            "Subscribers"
        ]


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_monthly_budget_alerts_the_topic_for_this_environment(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    """Cost guardrail: spend of this copy (by its environment tag) against the profile's limit."""
    result = synth(profile)
    config, template = result.platform.config, result.template("Operations")
    t = Template.from_json(template)
    (budget,) = t.find_resources("AWS::Budgets::Budget").values()
    data = budget["Properties"]["Budget"]
    assert data["BudgetLimit"] == {"Amount": config.budget.monthly_limit_usd, "Unit": "USD"}
    assert data["CostFilters"] == {"TagKeyValue": [f"user:environment${config.env_name}"]}
    notes = budget["Properties"]["NotificationsWithSubscribers"]
    assert {
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"]) for n in notes
    } == {("ACTUAL", 80), ("FORECASTED", 100)}
    for note in notes:
        kinds = [s["SubscriptionType"] for s in note["Subscribers"]]
        assert kinds == ["SNS"] + ["EMAIL"] * len(config.budget.alert_emails)
    topic_policy = json.dumps(t.find_resources("AWS::SNS::TopicPolicy"))
    assert "budgets.amazonaws.com" in topic_policy


def _budget_waits_for_the_policy_admitting_budgets(template: dict[str, Any]) -> None:
    """The oracle: the TopicPolicy found by its content (a statement for the Budgets service
    principal), not by the construct's lookup, is in the budget's DependsOn."""
    policies = {
        lid
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::SNS::TopicPolicy"
        and any(
            s.get("Principal") == {"Service": "budgets.amazonaws.com"}
            for s in r["Properties"]["PolicyDocument"]["Statement"]
        )
    }
    assert len(policies) == 1, policies
    (budget,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::Budgets::Budget")
    assert policies <= set(budget.get("DependsOn", [])), budget.get("DependsOn")


def test_budget_is_created_after_the_topic_policy_that_admits_budgets() -> None:
    """Budgets checks it may publish to the SNS subscriber when the budget is created; the
    budget only references the topic, so without DependsOn CloudFormation may create it
    before the topic policy (DEPLOYABILITY class 8)."""
    stack, alerts = _alerts()
    CostGuardrail(
        stack,
        "Cost",
        config=BudgetConfig(monthly_limit_usd=50),
        limit_usd=50,
        env_name="e",
        alerts=alerts,
    )
    _budget_waits_for_the_policy_admitting_budgets(Template.from_stack(stack).to_json())


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_platform_budget_depends_on_its_topic_policy(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    """The same order in each profile's synthesized Operations template."""
    _budget_waits_for_the_policy_admitting_budgets(synth(profile).template("Operations"))


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_every_other_stack_depends_on_operations(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    """Operations deploys first and is destroyed last: each other stack depends on it."""
    result = synth(profile)
    operations = result.platform.operations
    assert result.platform.stacks[0] is operations
    for stack in result.platform.stacks[1:]:
        assert operations in stack.dependencies, stack.stack_name


def test_teardown_destroys_operations_last(synth) -> None:  # type: ignore[no-untyped-def]
    """The teardown's destroy order (from the assembly's dependencies) ends with Operations."""
    from ops.teardown.plan import TeardownPlan

    result = synth("lab")
    order = TeardownPlan.read(result.outdir, "us-east-1").order
    assert order[-1] == "lab-Operations"
    assert set(order) == {s.stack_name for s in result.platform.stacks}


def test_logical_ids_of_the_moved_resources_are_kept(synth) -> None:  # type: ignore[no-untyped-def]
    """The topic, its key and the budget keep the logical ids they had in Ingestion."""
    resources = synth("lab").template("Operations")["Resources"]
    assert {
        "AlertsKey9E1197AF": "AWS::KMS::Key",
        "AlertsTopicCF7C81C9": "AWS::SNS::Topic",
        "CostGuardrailBudget9704E802": "AWS::Budgets::Budget",
    }.items() <= {k: v["Type"] for k, v in resources.items()}.items()


# -- dead letters (infra/operations/dead_letters.py; issue 22, "Lost events") ---------------


def test_dead_letter_queue_is_encrypted_tls_only_and_alarmed() -> None:
    """Oracle: the SQS, KMS and CloudWatch documentation's property names and values."""
    from aws_cdk import aws_kms as kms

    from infra.operations.dead_letters import DeadLetterQueue

    stack, alerts = _alerts()
    key = kms.Key(stack, "UnitKey")
    DeadLetterQueue(stack, "A", key=key, alert_topic=alerts.topic, subject="a")
    DeadLetterQueue(stack, "B", key=key, alert_topic=alerts.topic, subject="b")
    t = Template.from_stack(stack)
    queues = t.find_resources("AWS::SQS::Queue")
    assert len(queues) == 2
    for queue in queues.values():
        assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": ["UnitKey4AC87206", "Arn"]}
        assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    for policy in t.find_resources("AWS::SQS::QueuePolicy").values():
        (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    alarms = [
        a["Properties"]
        for a in t.find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
    ]
    assert len(alarms) == 2
    for alarm in alarms:
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
        assert alarm["AlarmActions"] == [{"Ref": "AlertsTopicCF7C81C9"}]
    # one key-policy statement for EventBridge however many queues share the key
    (key_res,) = [
        r for k, r in t.find_resources("AWS::KMS::Key").items() if k.startswith("UnitKey")
    ]
    events = [
        s
        for s in key_res["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert len(events) == 1
    assert set(events[0]["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}


def test_every_invoked_function_has_somewhere_for_a_failed_event_to_go(synth) -> None:  # type: ignore[no-untyped-def]
    """Every EventBridge rule and Scheduler schedule that invokes a Lambda function of the
    platform names a dead-letter queue and a retry policy, and the function has one too."""
    result = synth("lab")
    resources = {
        f"{stack}/{logical}": body
        for stack, template in result.templates.items()
        for logical, body in template["Resources"].items()
    }
    targets = [
        (key, t)
        for key, body in resources.items()
        if body["Type"] == "AWS::Events::Rule"
        for t in body["Properties"].get("Targets", [])
    ]
    targets += [
        (key, body["Properties"]["Target"])
        for key, body in resources.items()
        if body["Type"] == "AWS::Scheduler::Schedule"
    ]

    def function(key: str, target: dict[str, Any]) -> dict[str, Any] | None:
        logical = (
            target["Arn"].get("Fn::GetAtt", [""])[0] if isinstance(target["Arn"], dict) else ""
        )
        body = resources.get(f"{key.split('/')[0]}/{logical}")
        return body if body and body["Type"] == "AWS::Lambda::Function" else None

    lambdas = [(key, t, function(key, t)) for key, t in targets if function(key, t)]
    # the runner (schedule and job events), the bridge and the reaper
    assert len(lambdas) >= 4, lambdas
    for key, target, fn in lambdas:
        assert "Arn" in target.get("DeadLetterConfig", {}), key
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2, key
        assert fn is not None and "TargetArn" in fn["Properties"].get("DeadLetterConfig", {}), key
