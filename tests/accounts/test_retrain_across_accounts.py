"""Issue 25, the retrain path across accounts: the drift and quality alarms live in production;
production's target stack forwards their ALARM transitions to tooling's default bus (its policy
admits the forward role); the retrain bridge in tooling's Training stack matches them, by the
production account and the alarms' ARNs, and puts the RetrainRequested event the pipeline's
rule starts a run on.

Oracles, none read back from the code under test: the documented "CloudWatch Alarm State
Change" event (CloudWatch User Guide, "Alarm events and EventBridge",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html),
which a forwarded event keeps unchanged, its ``account`` the sender's (EventBridge User Guide,
"Sending and receiving events between AWS accounts",
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html); the CloudWatch
alarm ARN format (Service Authorization Reference); the profile's account ids; EventBridge's
pattern matching as moto implements it (the matcher tests/infra/test_event_flows.py uses).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto.events.models import EventPattern

from infra.monitoring.runtime import retrain_bridge

TOOLING, STAGING, PRODUCTION = "111111111111", "333333333333", "444444444444"
REGION = "us-east-1"
DRIFT, QUALITY = "multi-digits-drift", "multi-digits-quality"
TOOLING_BUS = f"arn:aws:events:{REGION}:{TOOLING}:event-bus/default"
NOW = datetime(2026, 12, 1, 3, 0, 5, tzinfo=UTC)


def alarm_arn(account: str, name: str) -> str:
    return f"arn:aws:cloudwatch:{REGION}:{account}:alarm:{name}"


def alarm_event(account: str, name: str, state: str = "ALARM") -> dict[str, Any]:
    """The documented single-metric alarm state change, with our alarm's names and numbers."""
    return {
        "version": "0",
        "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": account,
        "time": "2026-12-01T03:00:00Z",
        "region": REGION,
        "resources": [alarm_arn(account, name)],
        "detail": {
            "alarmName": name,
            "configuration": {
                "description": "Drifted-feature share >= 0.2 in 2 of the last 3 drift runs",
                "metrics": [
                    {
                        "id": "30b6c6b2-a864-43a2-4877-c09a1afc3b87",
                        "metricStat": {
                            "metric": {
                                "dimensions": {"EndpointName": "multi-digits"},
                                "name": "DriftedFeatureShare",
                                "namespace": "MLOpsPlatform/Monitoring",
                            },
                            "period": 3600,
                            "stat": "Maximum",
                        },
                        "returnData": True,
                    }
                ],
            },
            "previousState": {
                "reason": "Threshold Crossed: no datapoints were received",
                "timestamp": "2026-11-30T00:00:00.000+0000",
                "value": "OK",
            },
            "state": {
                "reason": "Threshold Crossed: 2 out of the last 3 datapoints were greater than "
                "or equal to the threshold (0.2)",
                "reasonData": json.dumps(
                    {
                        "version": "1.0",
                        "queryDate": "2026-12-01T03:00:00.000+0000",
                        "startDate": "2026-12-01T00:00:00.000+0000",
                        "statistic": "Maximum",
                        "period": 3600,
                        "recentDatapoints": [0.1, 0.5, 0.25],
                        "threshold": 0.2,
                    }
                ),
                "timestamp": "2026-12-01T03:00:00.000+0000",
                "value": state,
            },
        },
    }


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return bool(EventPattern(json.dumps(pattern), pattern).matches_event(event))


def _rules(template: dict[str, Any], source: str) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Events::Rule"
        and r["Properties"].get("EventPattern", {}).get("source") == [source]
    ]


@pytest.fixture(scope="module")
def monitored(multi) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The multi-account profile (engine='custom'): tooling's Training stack with the bridge,
    production's target stack, and production's Monitoring stack, which leaves its own bridge
    out (``retrain_bridge=False``)."""
    assert multi.config.monitoring.engine == "custom"
    names = ("multi-Training", "multi-ProductionTarget", "multi-Monitoring")
    return {n: multi.templates[n] for n in names}


# -- production: forward the two alarms' ALARM transitions ----------------------------------------


def test_production_forwards_its_alarms_going_to_alarm_to_the_tooling_bus(multi) -> None:  # type: ignore[no-untyped-def]
    template = multi.templates["multi-ProductionTarget"]
    (rule,) = _rules(template, "aws.cloudwatch")
    pattern = rule["EventPattern"]
    for name in (DRIFT, QUALITY):
        assert matches(pattern, alarm_event(PRODUCTION, name))
        assert not matches(pattern, alarm_event(PRODUCTION, name, state="OK"))
    assert not matches(pattern, alarm_event(PRODUCTION, "multi-digits-latency"))  # not ours
    (target,) = rule["Targets"]
    assert target["Arn"] == TOOLING_BUS
    role = template["Resources"][target["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
    assert (role["RoleName"], role["Path"]) == ("multi-retrain-forward", "/multi-target/")
    # nothing in production puts RetrainRequested any more: no rule forwards it
    assert _rules(template, "mlops.platform") == []


def test_the_forwarded_alarms_are_the_ones_the_monitoring_unit_creates(monitored) -> None:  # type: ignore[no-untyped-def]
    """By fixed name: the forwarding rule needs no reference to the Monitoring stack."""
    names = sorted(
        r["Properties"]["AlarmName"]
        for r in monitored["multi-Monitoring"]["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"].get("Namespace") == "MLOpsPlatform/Monitoring"
    )
    assert names == [DRIFT, QUALITY]
    (rule,) = _rules(monitored["multi-ProductionTarget"], "aws.cloudwatch")
    assert sorted(rule["EventPattern"]["resources"]) == [alarm_arn(PRODUCTION, n) for n in names]


def test_the_monitoring_unit_in_production_leaves_its_bridge_out(monitored) -> None:  # type: ignore[no-untyped-def]
    resources = monitored["multi-Monitoring"]["Resources"].values()
    handlers = [
        r["Properties"]["Handler"] for r in resources if r["Type"] == "AWS::Lambda::Function"
    ]
    assert handlers == ["drift_runner.handler"]
    assert _rules(monitored["multi-Monitoring"], "aws.cloudwatch") == []


# -- tooling: the bridge matches what production forwards, and nothing else ----------------------


def test_the_tooling_bridge_matches_only_the_production_alarms(monitored) -> None:  # type: ignore[no-untyped-def]
    (rule,) = _rules(monitored["multi-Training"], "aws.cloudwatch")
    pattern = rule["EventPattern"]
    for name in (DRIFT, QUALITY):
        assert matches(pattern, alarm_event(PRODUCTION, name))  # forwarded unchanged
        assert not matches(pattern, alarm_event(PRODUCTION, name, state="OK"))
        for other in (TOOLING, STAGING):  # the same alarm name in another account
            assert not matches(pattern, alarm_event(other, name))
    # account and ARN must agree: another account's event naming production's alarm ARN, and
    # production's event naming another account's alarm
    for account, arn_account in ((STAGING, PRODUCTION), (PRODUCTION, STAGING)):
        mixed = alarm_event(account, DRIFT)
        mixed["resources"] = [alarm_arn(arn_account, DRIFT)]
        assert not matches(pattern, mixed), (account, arn_account)


def test_a_forwarded_alarm_becomes_one_retrain_request_in_tooling(  # type: ignore[no-untyped-def]
    multi, monitored, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: production's rule, tooling's bridge rule, the bridge with the environment
    the template gives it, and the training rule on the event it puts."""
    event = alarm_event(PRODUCTION, QUALITY)
    (forward,) = _rules(multi.templates["multi-ProductionTarget"], "aws.cloudwatch")
    assert matches(forward["EventPattern"], event)
    training = monitored["multi-Training"]
    (bridge_rule,) = _rules(training, "aws.cloudwatch")
    assert matches(bridge_rule["EventPattern"], event)  # the same event on tooling's bus
    (function,) = [
        r["Properties"]
        for r in training["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"]["Handler"] == "retrain_bridge.handler"
    ]
    assert function["Environment"]["Variables"]["PIPELINE_NAME"] == "multi-digits-training"
    for key, value in function["Environment"]["Variables"].items():
        monkeypatch.setenv(key, value)
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    sm_stub, ev_stub = Stubber(sagemaker), Stubber(events)
    sm_stub.add_response(
        "list_pipeline_executions",
        {"PipelineExecutionSummaries": []},
        {
            "PipelineName": "multi-digits-training",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 10,
        },
    )
    ev_stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]})
    calls: list[dict[str, Any]] = []
    events.meta.events.register(
        "before-parameter-build.events.PutEvents", lambda params, **_: calls.append(params)
    )
    with sm_stub, ev_stub:
        result = retrain_bridge.handler(
            event, clients={"sagemaker": sagemaker, "events": events, "now": NOW}
        )
    assert result["requested"] is True
    assert result["detail"]["trigger"] == alarm_arn(PRODUCTION, QUALITY)
    assert result["detail"]["endpoint"] == "multi-digits"
    ((entry,),) = [c["Entries"] for c in calls]
    assert entry["EventBusName"] == "default"  # tooling's own bus, where the training rule is
    put = {
        "source": entry["Source"],
        "detail-type": entry["DetailType"],
        "detail": json.loads(entry["Detail"]),
    }
    (retrain_rule,) = _rules(training, "mlops.platform")
    assert matches(retrain_rule["EventPattern"], put)


def test_the_tooling_bridge_reads_and_requests_on_tooling_only(monitored) -> None:  # type: ignore[no-untyped-def]
    statements = [
        s
        for r in monitored["multi-Training"]["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and "RetrainBridge" in json.dumps(r["Properties"])
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    by_action = {s["Action"]: s for s in statements if isinstance(s["Action"], str)}
    list_runs = json.dumps(by_action["sagemaker:ListPipelineExecutions"]["Resource"])
    assert "pipeline/multi-digits-training" in list_runs
    put = by_action["events:PutEvents"]
    assert put["Condition"] == {"StringEquals": {"events:source": "mlops.platform"}}
    assert "event-bus/default" in json.dumps(put["Resource"])
    assert PRODUCTION not in json.dumps(statements)


# -- N2: the forwarding rule deploys after the bus policy ------------------------------------


def test_the_production_target_deploys_after_the_stack_with_the_bus_policy(multi) -> None:  # type: ignore[no-untyped-def]
    """An ordering for `cdk deploy` (the assembly's manifest), not a reference: the template
    reads nothing of tooling."""
    manifest = json.loads((multi.outdir / "manifest.json").read_text())
    assert "multi-Training" in manifest["artifacts"]["multi-ProductionTarget"]["dependencies"]
    assert "multi-Training" not in manifest["artifacts"]["multi-StagingTarget"]["dependencies"]
    policies = [
        r
        for r in multi.templates["multi-Training"]["Resources"].values()
        if r["Type"] == "AWS::Events::EventBusPolicy"
    ]
    assert len(policies) == 1
    text = json.dumps(multi.templates["multi-ProductionTarget"])
    assert "Fn::ImportValue" not in text and "Fn::GetStackOutput" not in text
