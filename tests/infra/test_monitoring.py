"""Monitoring in the synthesized app: our own drift/quality path on the production endpoint
(schedule, job events, alarms, retrain bridge, dashboard) and the synth-time errors."""

from __future__ import annotations

import dataclasses
import json

import pytest
from aws_cdk.assertions import Match, Template

from infra.config import (
    ConfigError,
    GuardrailConfig,
    MonitoringConfig,
    ServingConfig,
    load_profile,
)


@pytest.fixture(scope="module")
def serving(synth) -> Template:  # type: ignore[no-untyped-def]
    return Template.from_json(synth("lab").template("Serving"))


def _functions(template: Template) -> dict[str, dict]:
    return {
        k: v["Properties"]
        for k, v in template.find_resources("AWS::Lambda::Function").items()
        if "Monitoring" in k
    }


def test_runner_is_scheduled_every_schedule_hours(serving: Template) -> None:
    serving.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {"ScheduleExpression": "rate(1 hour)", "State": "ENABLED"},
    )
    (runner,) = [f for f in _functions(serving).values() if f["Handler"].startswith("drift_runner")]
    env = runner["Environment"]["Variables"]
    assert env["WINDOW_HOURS"] == "1" and env["SHARE_THRESHOLD"] == "0.2"
    # the scikit-learn processing image from the SDK's map: numpy/scipy already inside
    assert env["IMAGE_URI"].endswith(
        ".dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    assert env["MODEL_PACKAGE_ARN"].endswith("model-package/digits-xgboost/1")
    assert runner["ReservedConcurrentExecutions"] == 1


def test_job_completion_events_drive_the_next_phase(serving: Template) -> None:
    serving.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Processing Job State Change"],
                "detail": {
                    "ProcessingJobName": [{"prefix": "lab-digits-drift"}],
                    "ProcessingJobStatus": ["Completed"],
                },
            }
        },
    )


def test_drift_and_quality_alarms_take_2_of_3_and_notify_every_state(serving: Template) -> None:
    alarms = {
        p["MetricName"]: p
        for p in (
            r["Properties"] for r in serving.find_resources("AWS::CloudWatch::Alarm").values()
        )
        if p.get("Namespace") == "MLOpsPlatform/Monitoring"
    }
    assert set(alarms) == {"DriftedFeatureShare", "Accuracy"}
    drift, accuracy = alarms["DriftedFeatureShare"], alarms["Accuracy"]
    assert (drift["Threshold"], drift["ComparisonOperator"]) == (
        0.2,
        "GreaterThanOrEqualToThreshold",
    )
    assert (accuracy["Threshold"], accuracy["ComparisonOperator"]) == (0.95, "LessThanThreshold")
    for alarm in alarms.values():
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 2)
        assert alarm["Dimensions"] == [{"Name": "EndpointName", "Value": "lab-digits"}]
        for actions in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            assert len(alarm[actions]) == 1, actions  # the alert topic


def test_alarm_state_changes_reach_the_retrain_bridge(serving: Template) -> None:
    rules = [
        r["Properties"]
        for r in serving.find_resources("AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"].get("source") == ["aws.cloudwatch"]
    ]
    (rule,) = rules
    assert rule["EventPattern"]["detail"] == {"state": {"value": ["ALARM"]}}
    assert len(rule["EventPattern"]["resources"]) == 2
    (bridge,) = [f for f in _functions(serving).values() if f["Handler"].startswith("retrain")]
    env = bridge["Environment"]["Variables"]
    # the training stack's rule listens for exactly this pair
    assert (env["RETRAIN_SOURCE"], env["RETRAIN_DETAIL_TYPE"]) == (
        "mlops.platform",
        "RetrainRequested",
    )
    policies = json.dumps(serving.find_resources("AWS::IAM::Policy"))
    assert "sagemaker:ListPipelineExecutions" in policies
    serving.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "events:PutEvents",
                                "Condition": {"StringEquals": {"events:source": "mlops.platform"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_dashboard_shows_traffic_errors_latency_drift_accuracy_coverage(serving: Template) -> None:
    (dashboard,) = serving.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "Invocations",
        "Invocation5XXErrors",
        "ModelLatency",
        "DriftedFeatureShare",
        "Accuracy",
        "LabelCoverage",
    ):
        assert metric in body, metric


def test_staging_is_not_monitored(synth) -> None:  # type: ignore[no-untyped-def]
    staging = Template.from_json(synth("lab").template("ServingStaging"))
    staging.resource_count_is("AWS::Lambda::Function", 0)
    staging.resource_count_is("AWS::Scheduler::Schedule", 0)


def test_drift_job_role_reads_capture_and_writes_only_its_outputs(serving: Template) -> None:
    policies = json.dumps(serving.find_resources("AWS::IAM::Policy"))
    assert "/capture/*" in policies and "/monitoring/drift/*" in policies
    serving.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "iam:PassRole",
                                "Condition": {
                                    "StringEquals": {
                                        "iam:PassedToService": "sagemaker.amazonaws.com"
                                    }
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


# ----------------------------------------------------------------------------- config errors


def _with(**changes: object) -> None:
    lab = load_profile("lab")
    serving = dataclasses.replace(lab.serving, **changes.pop("serving", {}))  # type: ignore[arg-type]
    monitoring = MonitoringConfig(**changes)  # type: ignore[arg-type]
    dataclasses.replace(lab, serving=serving, monitoring=monitoring)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"engine": "model_monitor", "serving": {"kind": "multi_model"}},
            "Model Monitor does not support multi_model endpoints",
        ),
        (
            {
                "engine": "model_monitor",
                "serving": {
                    "kind": "serverless",
                    "data_capture": False,
                    "guardrail": GuardrailConfig(mode="all_at_once"),
                },
            },
            "Model Monitor does not support serverless endpoints",
        ),
        (
            {"engine": "model_monitor", "serving": {"data_capture": False}},
            "drift monitoring needs serving.data_capture=true",
        ),
        ({"engine": "model_monitor", "schedule_hours": 5}, "cannot run every 5 hours"),
        ({"instance_count": 0}, "monitoring.instance_count must be 1-100"),
    ],
)
def test_invalid_monitoring_combinations_fail_at_synth(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _with(**changes)


def test_every_n_hours_that_divides_the_day_is_accepted_for_model_monitor() -> None:
    for hours in (1, 2, 3, 4, 6, 8, 12, 24):
        MonitoringConfig(engine="model_monitor", schedule_hours=hours)
    assert ServingConfig().data_capture  # the default real-time endpoint captures
