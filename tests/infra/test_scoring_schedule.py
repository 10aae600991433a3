"""The scoring pipeline's schedule (batch.schedule): EventBridge Scheduler starts the batch
transform with the released model over the curated scoring/ prefix.

Oracles: literal values from the profiles (config/prod-like.json) and the example release
(config/examples/release.json), the parameter names the synthesized scoring pipeline
definition declares, and the EventBridge Scheduler expression rules ("Schedule types").
"""

from __future__ import annotations

import dataclasses
import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from core.config import BatchConfig, ConfigError, config_from_dict, load_profile
from tests.infra.test_scoring_pipeline import _of_type, _scoring

PIPELINE_ARN = "arn:aws:sagemaker:eu-west-1:222222222222:pipeline/prodlike-digits-scoring"
RELEASED_PACKAGE = "arn:aws:sagemaker:us-east-1:111111111111:model-package/digits-xgboost/1"


def _scoring_schedules(template: dict) -> list[dict]:
    return [
        s["Properties"]
        for s in _of_type(template, "AWS::Scheduler::Schedule").values()
        if ":pipeline/" in str(s["Properties"]["Target"]["Arn"])
    ]


def test_prod_like_scores_daily_with_the_released_model(synth) -> None:  # type: ignore[no-untyped-def]
    template = synth("prod-like").template("Training")
    (schedule,) = _scoring_schedules(template)
    assert schedule["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert target["Arn"] == PIPELINE_ARN
    sent = {
        p["Name"]: p["Value"]
        for p in target["SageMakerPipelineParameters"]["PipelineParameterList"]
    }
    assert sent == {"ModelPackageArn": RELEASED_PACKAGE, "InputPrefix": "scoring/"}
    # The names the scoring pipeline's definition declares; every one without a default is sent.
    _, definition = _scoring(template)
    declared = {p["Name"]: p for p in definition["Parameters"]}
    assert set(sent) <= set(declared)
    assert {n for n, p in declared.items() if "DefaultValue" not in p} <= set(sent)
    assert declared["InputPrefix"]["DefaultValue"] == "scoring/"


def test_the_schedule_role_may_start_only_the_scoring_pipeline(synth) -> None:  # type: ignore[no-untyped-def]
    template = synth("prod-like").template("Training")
    (schedule,) = _scoring_schedules(template)
    role = schedule["Target"]["RoleArn"]["Fn::GetAtt"][0]
    trust = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}]
    statements = [
        s
        for p in _of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements == [
        {"Action": "sagemaker:StartPipelineExecution", "Effect": "Allow", "Resource": PIPELINE_ARN}
    ]


def test_encrypted_as_the_other_schedules(synth) -> None:  # type: ignore[no-untyped-def]
    """No KmsKeyArn, as the drift, ground-truth and reaper schedules: an AWS owned key."""
    platform = synth("prod-like")
    schedules = [
        s["Properties"]
        for t in platform.templates.values()
        for s in _of_type(t, "AWS::Scheduler::Schedule").values()
    ]
    assert len(schedules) >= 2
    assert {"KmsKeyArn" in s for s in schedules} == {False}


def test_lab_has_no_scoring_schedule(synth) -> None:  # type: ignore[no-untyped-def]
    assert load_profile("lab").batch.schedule == ""
    assert _scoring_schedules(synth("lab").template("Training")) == []


def test_no_release_no_schedule() -> None:
    """A profile with a schedule but no release yet: nothing to score with, so no schedule."""
    from infra.platform import cdk_json_context
    from infra.stacks.training_stack import TrainingStack

    config = load_profile("lab")
    config = dataclasses.replace(config, batch=BatchConfig(schedule="rate(1 day)"))
    app = cdk.App(context=cdk_json_context())
    env = cdk.Environment(account=config.account, region=config.region)
    from aws_cdk import aws_sns as sns

    topics = cdk.Stack(app, "Topics", env=env)
    topic = sns.Topic(topics, "Alerts")
    stack = TrainingStack(
        app, "T", config=config, network=None, alert_topic=topic, release=None, env=env
    )
    assert stack.scoring_schedule is None
    assert Template.from_stack(stack).find_resources("AWS::Scheduler::Schedule") == {}


@pytest.mark.parametrize(
    "expression", ["rate(1 day)", "rate(12 hours)", "cron(0 2 * * ? *)", "cron(30 1 ? * MON *)"]
)
def test_recurring_expressions_are_accepted(expression: str) -> None:
    assert BatchConfig(schedule=expression).schedule == expression


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(0 days)", r"expected rate\(<n> minute\(s\)\|hour\(s\)\|day\(s\)\)"),
        ("rate(1 week)", r"expected rate\(<n>"),
        ("at(2026-12-02T02:00:00)", r"expected rate\(<n>.* or cron\(<six fields>\)"),
        ("cron(0 2 * * *)", r"or cron\(<six fields>\)"),
        ("cron(0 2 * * 1 *)", "needs '\\?' in day-of-month or day-of-week"),
        ("daily", "is not a recurring EventBridge Scheduler expression"),
    ],
)
def test_a_bad_schedule_is_a_config_error(expression: str, message: str) -> None:
    data = json.loads((load_profile.__globals__["CONFIG_DIR"] / "lab.json").read_text())
    data["batch"] = {"schedule": expression}
    with pytest.raises(ConfigError, match=message) as err:
        config_from_dict(data)
    assert f"batch.schedule {expression!r}" in str(err.value)
    assert "'cron(0 2 * * ? *)' daily at 02:00 UTC" in str(err.value)
