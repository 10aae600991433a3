"""Expiry and budget in every account that hosts endpoints (issue 25): each target stack runs
the reaper of its own account and a budget alerting its own topic; tooling, which hosts no
endpoint with separate accounts, runs none. Expected values are written from the profile
(``config/multi-account.json`` + ``expiry.endpoint_hours`` = 12, the other expiry settings
their defaults) and the AWS rules cited in ``infra/operations/``, not read back from the code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from assurance.rehearsal import rehearse
from infra.operations.runtime.reaper.reaper import EXPIRY_TAG, reap
from tests.infra.test_reaper import Topic, endpoint, names

TOOLING, STAGING, PRODUCTION = "111111111111", "333333333333", "444444444444"
TARGETS = {"multi-StagingTarget": STAGING, "multi-ProductionTarget": PRODUCTION}
# budget.account_limits_usd of config/multi-account.json, copied by hand
ACCOUNT_LIMITS = {"multi-StagingTarget": 250, "multi-ProductionTarget": 350}
# endpoint name -> the serving stack that manages it, per target account (docs/multi-account.md)
SERVED = {
    "multi-StagingTarget": {"multi-digits-staging": "multi-ServingStaging"},
    "multi-ProductionTarget": {"multi-digits": "multi-Serving"},
}


def _of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def _reaper(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v["Properties"])
        for k, v in _of_type(template, "AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") == "reaper.handler"
    ]
    return found


def _reaper_managed_policy(template: dict[str, Any]) -> dict[str, Any]:
    """The properties of the managed policy attached to the reaper function's role."""
    _, function = _reaper(template)
    role = function["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        p["Properties"]
        for p in _of_type(template, "AWS::IAM::ManagedPolicy").values()
        if {"Ref": role} in p["Properties"].get("Roles", [])
    ]
    return policy


def _reaper_policy(multi_expiry: Any, stack: str) -> list[dict[str, Any]]:
    """The reaper role's managed policy, with its intrinsics resolved to example values."""
    template = multi_expiry.templates[stack]
    policy = _reaper_managed_policy(template)
    resolved = multi_expiry.assembly().resolve(stack, policy)
    statements: list[dict[str, Any]] = resolved["PolicyDocument"]["Statement"]
    return statements


@pytest.mark.parametrize("stack", sorted(TARGETS))
def test_each_target_runs_its_reaper_on_the_profiles_schedule(multi_expiry, stack: str) -> None:  # type: ignore[no-untyped-def]
    """The reaper of each account: hourly (expiry.schedule_minutes' default, 60), five deletes
    at most, for this copy's endpoints, sparing the serving endpoint this account's stack
    manages outright (the endpoint's provider schema does not promise CloudFormation's tags)."""
    template = multi_expiry.templates[stack]
    logical, function = _reaper(template)
    env = function["Environment"]["Variables"]
    assert (env["ENV_NAME"], env["MAX_DELETES"], env["DRY_RUN"]) == ("multi", "5", "false")
    assert json.loads(env["STACK_ENDPOINTS"]) == SERVED[stack]
    (rule,) = [
        r["Properties"]
        for r in _of_type(template, "AWS::Events::Rule").values()
        if any(t["Arn"] == {"Fn::GetAtt": [logical, "Arn"]} for t in r["Properties"]["Targets"])
    ]
    assert rule["ScheduleExpression"] == "rate(1 hour)"
    assert rule["State"] == "ENABLED"


@pytest.mark.parametrize("stack", sorted(TARGETS))
def test_the_reaper_role_may_delete_only_this_accounts_copy_endpoints(
    multi_expiry, stack: str
) -> None:  # type: ignore[no-untyped-def]
    """Exactly what the runtime calls (Service Authorization Reference): ListEndpoints on "*",
    ListTags + DeleteEndpoint on ``endpoint/multi-*`` of *this* account; no CloudFormation."""
    statements = _reaper_policy(multi_expiry, stack)
    account = TARGETS[stack]
    by_action = {a: s["Resource"] for s in statements for a in _list(s["Action"])}
    assert by_action["sagemaker:ListEndpoints"] == "*"
    endpoints = f"arn:aws:sagemaker:us-east-1:{account}:endpoint/multi-*"
    assert by_action["sagemaker:ListTags"] == by_action["sagemaker:DeleteEndpoint"] == endpoints
    sagemaker = {a for a in by_action if a.startswith("sagemaker:")}
    assert sagemaker == {
        "sagemaker:ListEndpoints",
        "sagemaker:ListTags",
        "sagemaker:DeleteEndpoint",
    }
    assert not [a for a in by_action if a.startswith("cloudformation:")]


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_tooling_hosts_no_endpoint_and_runs_no_reaper(multi_expiry) -> None:  # type: ignore[no-untyped-def]
    """With separate accounts every endpoint is in a target account (batch scoring runs
    transform jobs): a reaper in tooling would list nothing of this copy."""
    tooling = [s for s, a in multi_expiry.stack_accounts.items() if a == TOOLING]
    assert "multi-Ingestion" in tooling
    for stack in tooling:
        template = multi_expiry.templates[stack]
        handlers = [
            p["Properties"].get("Handler")
            for p in _of_type(template, "AWS::Lambda::Function").values()
        ]
        assert "reaper.handler" not in handlers, stack
        assert not _of_type(template, "AWS::SageMaker::Endpoint"), stack


@pytest.mark.parametrize("stack", sorted(TARGETS))
def test_each_target_has_a_budget_alerting_its_own_topic(multi_expiry, stack: str) -> None:  # type: ignore[no-untyped-def]
    """Budgets see the spend of the account they live in: one per target, filtered on the
    copy's environment tag, notifying this account's topic, whose policy lets Budgets publish
    for this account only and which exists before the budget (DependsOn the policy)."""
    template = multi_expiry.templates[stack]
    ((logical, budget),) = _of_type(template, "AWS::Budgets::Budget").items()
    props = budget["Properties"]
    assert props["Budget"]["CostFilters"] == {"TagKeyValue": ["user:environment$multi"]}
    # this account's own limit (config/multi-account.json budget.account_limits_usd), not the
    # copy's whole monthly_limit_usd (800) in each account
    assert props["Budget"]["BudgetLimit"] == {"Amount": ACCOUNT_LIMITS[stack], "Unit": "USD"}
    ((topic, _),) = _of_type(template, "AWS::SNS::Topic").items()
    for notification in props["NotificationsWithSubscribers"]:
        assert {"SubscriptionType": "SNS", "Address": {"Ref": topic}} in notification["Subscribers"]
    ((policy_id, policy),) = _of_type(template, "AWS::SNS::TopicPolicy").items()
    (statement,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "BudgetsPublish"
    ]
    assert statement["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": TARGETS[stack]}
    assert policy_id in budget.get("DependsOn", [])


def test_the_rehearsal_finds_nothing_with_reapers_in_the_targets(multi_expiry) -> None:  # type: ignore[no-untyped-def]
    assert not multi_expiry.error, multi_expiry.error  # the compliance gate passed
    findings = rehearse(multi_expiry.assembly(), lint=False, release=multi_expiry.release)
    assert findings.findings == []


def test_a_target_reaper_scoped_to_tooling_endpoints_is_named(multi_expiry) -> None:  # type: ignore[no-untyped-def]
    """Planted: the production reaper's ListTags/DeleteEndpoint scoped to tooling's endpoints
    (what the tooling reaper held before issue 25): the rehearsal names both rows."""
    a = multi_expiry.assembly()
    stack = "multi-ProductionTarget"
    template = a.templates[stack]
    policy = _reaper_managed_policy(template)
    planted = json.loads(json.dumps(policy["PolicyDocument"]).replace(PRODUCTION, TOOLING))
    assert planted != policy["PolicyDocument"], "the plant changed nothing"
    policy["PolicyDocument"] = planted
    found = "\n".join(
        f"{f.subject}: {f.detail}"
        for f in rehearse(a, lint=False, release=multi_expiry.release).findings
    )
    assert "sagemaker:DeleteEndpoint" in found and f":{PRODUCTION}:endpoint/multi-" in found
    assert "sagemaker:ListTags" in found
    assert f":{STAGING}:endpoint" not in found  # staging's reaper is untouched


@pytest.mark.parametrize("stack", sorted(TARGETS))
def test_a_targets_reaper_spares_the_endpoint_its_stack_manages(multi_expiry, stack: str) -> None:  # type: ignore[no-untyped-def]
    """Run the reaper with the environment the target template gives it, in a moto account
    holding this account's serving endpoint (expired, without CloudFormation's stack tag: the
    provider schema does not promise it) and a hand-made expired ``multi-scratch``: only the
    hand-made one goes (an earlier review found the reaper deleting stack-managed endpoints)."""
    _, function = _reaper(multi_expiry.templates[stack])
    env = function["Environment"]["Variables"]
    (served,) = SERVED[stack]
    tags = {"environment": "multi", EXPIRY_TAG: "12"}
    with mock_aws():
        sm = boto3.client("sagemaker", region_name="us-east-1")
        endpoint(sm, served, tags)
        endpoint(sm, "multi-scratch", tags)
        report = reap(
            sm,
            Topic(),
            env=env["ENV_NAME"],
            topic_arn="arn:aws:sns:us-east-1:333333333333:t",
            max_deletes=int(env["MAX_DELETES"]),
            dry_run=env["DRY_RUN"] == "true",
            now=datetime.now(UTC) + timedelta(hours=13),
            stack_endpoints=json.loads(env["STACK_ENDPOINTS"]),
        )
        assert report["deleted"] == ["multi-scratch"]
        assert [h["endpoint"] for h in report["stack_managed"]] == [served]
        assert names(sm) == {served}


def test_a_shared_target_account_runs_one_reaper_sparing_both_served_endpoints() -> None:
    """Staging and production in one account: one target stack, so one reaper, which must
    spare both serving endpoints (both stacks deploy there), and one budget of both limits.
    Built alone in a bare App."""
    import dataclasses

    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from core.config import AccountsConfig, ExpiryConfig, load_profile
    from infra.platform import cdk_json_context
    from infra.stacks.target_stack import TargetStack

    base = load_profile("multi-account")
    config = dataclasses.replace(
        base,
        accounts=AccountsConfig(tooling=TOOLING, staging=STAGING, production=STAGING),
        expiry=ExpiryConfig(endpoint_hours=12),
    )
    app = cdk.App(context=cdk_json_context())  # the project's feature flags
    stack = TargetStack(
        app,
        "multi-Target",
        config=config,
        account=STAGING,
        env=cdk.Environment(account=STAGING, region="us-east-1"),
    )
    template = Template.from_stack(stack).to_json()
    _, function = _reaper(template)
    assert json.loads(function["Environment"]["Variables"]["STACK_ENDPOINTS"]) == {
        "multi-digits": "multi-Serving",
        "multi-digits-staging": "multi-ServingStaging",
    }
    ((_, budget),) = _of_type(template, "AWS::Budgets::Budget").items()
    # one account holds both: its budget is staging's 250 + production's 350 (the profile's)
    assert budget["Properties"]["Budget"]["BudgetLimit"] == {"Amount": 600, "Unit": "USD"}


def test_a_target_key_that_cloudwatch_logs_may_not_use_is_named(multi_expiry) -> None:  # type: ignore[no-untyped-def]
    """Planted: the target key (which encrypts the reaper's log group) without its statement
    for CloudWatch Logs: the log group could not be created; the rehearsal names it."""
    a = multi_expiry.assembly()
    stack = "multi-ProductionTarget"
    (key,) = [
        r["Properties"]
        for r in _of_type(a.templates[stack], "AWS::KMS::Key").values()
        if r["Properties"].get("Description") == "Endpoint volumes and data capture in this account"
    ]
    logs = {"Service": "logs.us-east-1.amazonaws.com"}
    before = key["KeyPolicy"]["Statement"]
    key["KeyPolicy"]["Statement"] = [s for s in before if s["Principal"] != logs]
    assert len(key["KeyPolicy"]["Statement"]) == len(before) - 1, "the plant changed nothing"
    found = [
        f"{f.subject}: {f.detail}"
        for f in rehearse(a, lint=False, release=multi_expiry.release).findings
    ]
    assert found and all(f.startswith(f"{stack}/ReaperLogs") for f in found), found
    assert any("logs.us-east-1.amazonaws.com kms:GenerateDataKey" in f for f in found)
