"""serving.kind='async': the endpoint config, scaling to zero, rollback alarms, roles and the
synth-time rules. Expected values come from the SageMaker developer guide ("Autoscale an
asynchronous endpoint", "Alarms and logs for tracking metrics from asynchronous endpoints")."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from core.config import (
    AsyncInferenceConfig,
    ConfigError,
    GuardrailConfig,
    ServingConfig,
    config_from_dict,
    load_profile,
)
from tests.infra.test_serving import _Cache

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "serving-async.json"


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> _Cache:
    return _Cache(tmp_path_factory.mktemp("async"))


def _by_type(template: dict, type_: str) -> dict[str, dict]:
    return {k: v["Properties"] for k, v in template["Resources"].items() if v["Type"] == type_}


def test_endpoint_config_writes_encrypted_answers_and_notifies(synth) -> None:  # type: ignore[no-untyped-def]
    """Answers and failures go to this endpoint's prefixes of the artifacts zone, encrypted
    with the lake key; both notification topics are KMS-encrypted."""
    template, _, _ = synth("async")
    (config,) = _by_type(template, "AWS::SageMaker::EndpointConfig").values()
    out = config["AsyncInferenceConfig"]["OutputConfig"]
    bucket = {"Fn::ImportValue": "lab-lake-artifacts-bucket-name"}
    assert out["S3OutputPath"] == {"Fn::Join": ["", ["s3://", bucket, "/async/output/lab-digits"]]}
    assert out["S3FailurePath"] == {
        "Fn::Join": ["", ["s3://", bucket, "/async/failure/lab-digits"]]
    }
    assert out["KmsKeyId"] == {"Fn::ImportValue": "lab-lake-key-arn"}
    assert config["AsyncInferenceConfig"]["ClientConfig"] == {
        "MaxConcurrentInvocationsPerInstance": 4
    }
    topics = _by_type(template, "AWS::SNS::Topic")
    refs = {out["NotificationConfig"][k]["Ref"] for k in ("SuccessTopic", "ErrorTopic")}
    assert refs == set(topics) and len(refs) == 2
    assert all(
        t["KmsMasterKeyId"] == {"Fn::ImportValue": "lab-lake-key-arn"} for t in topics.values()
    )


def test_other_kinds_have_no_async_config(synth) -> None:  # type: ignore[no-untyped-def]
    template, _, _ = synth("real_time")
    (config,) = _by_type(template, "AWS::SageMaker::EndpointConfig").values()
    assert "AsyncInferenceConfig" not in config
    assert not _by_type(template, "AWS::SNS::Topic")


def test_scales_to_zero_on_the_backlog_and_out_from_zero_by_step(synth) -> None:  # type: ignore[no-untyped-def]
    """The guide's policies: target tracking on ApproximateBacklogSizePerInstance (target 5,
    cooldowns 600/300 s) and a +1 step on HasBacklogWithoutCapacity >= 1 for 2 of 2 minutes;
    the minimum capacity is 0."""
    template, _, _ = synth("async")
    (target,) = _by_type(template, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert target["MinCapacity"] == 0 and target["MaxCapacity"] == 10
    policies = _by_type(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    tracking = [p for p in policies.values() if p["PolicyType"] == "TargetTrackingScaling"]
    (step_id,) = [k for k, p in policies.items() if p["PolicyType"] == "StepScaling"]
    (tt,) = tracking
    cfg = tt["TargetTrackingScalingPolicyConfiguration"]
    assert cfg["CustomizedMetricSpecification"] == {
        "MetricName": "ApproximateBacklogSizePerInstance",
        "Namespace": "AWS/SageMaker",
        "Dimensions": [{"Name": "EndpointName", "Value": "lab-digits"}],
        "Statistic": "Average",
    }
    assert (cfg["TargetValue"], cfg["ScaleInCooldown"], cfg["ScaleOutCooldown"]) == (5, 600, 300)
    step = policies[step_id]["StepScalingPolicyConfiguration"]
    assert step["AdjustmentType"] == "ChangeInCapacity"
    assert step["StepAdjustments"] == [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]
    alarms = _by_type(template, "AWS::CloudWatch::Alarm")
    (first,) = [a for a in alarms.values() if a["MetricName"] == "HasBacklogWithoutCapacity"]
    assert first["AlarmActions"] == [{"Ref": step_id}]
    assert (first["Threshold"], first["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert (first["EvaluationPeriods"], first["DatapointsToAlarm"], first["Period"]) == (2, 2, 60)


def test_without_scale_to_zero_the_floor_is_min_instances(synth) -> None:  # type: ignore[no-untyped-def]
    template, _, _ = synth(
        "async",
        min_instances=2,
        async_inference=AsyncInferenceConfig(scale_to_zero=False),
    )
    (target,) = _by_type(template, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert target["MinCapacity"] == 2
    policies = _by_type(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    assert [p["PolicyType"] for p in policies] == ["TargetTrackingScaling"]


def test_rollback_alarms_watch_metrics_async_endpoints_publish(synth) -> None:  # type: ignore[no-untyped-def]
    """InvocationModelErrors is not published for async endpoints (the guide's exhaustive
    list), so it is no rollback alarm there; InvocationFailures is. The backlog-age alarm
    alerts but does not roll back (a queue waits while the first instance starts)."""
    template, _, _ = synth("async")
    alarms = _by_type(template, "AWS::CloudWatch::Alarm")
    (endpoint,) = _by_type(template, "AWS::SageMaker::Endpoint").values()
    rollback = endpoint["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    names = {alarms[a["AlarmName"]["Ref"]]["MetricName"] for a in rollback}
    assert names == {"Invocation5XXErrors", "ModelLatency", "InvocationFailures"}
    assert "InvocationModelErrors" not in {a["MetricName"] for a in alarms.values()}


def test_hosting_role_writes_results_and_publishes_only_its_own(synth) -> None:  # type: ignore[no-untyped-def]
    template, _, _ = synth("async")
    (policy,) = [
        p for k, p in _by_type(template, "AWS::IAM::Policy").items() if k.startswith("EndpointRole")
    ]
    statements = {s.get("Sid"): s for s in policy["PolicyDocument"]["Statement"]}
    writes = json.dumps(statements["AsyncWriteResults"]["Resource"])
    assert "/async/output/lab-digits/*" in writes and "/async/failure/lab-digits/*" in writes
    assert statements["AsyncWriteResults"]["Action"] == "s3:PutObject"
    topics = set(_by_type(template, "AWS::SNS::Topic"))
    assert {r["Ref"] for r in statements["AsyncNotify"]["Resource"]} == topics
    assert "kms:Encrypt" in statements["AsyncEncryptResults"]["Action"]


def test_clients_may_invoke_async_only_and_reach_their_prefixes(synth) -> None:  # type: ignore[no-untyped-def]
    template, _, _ = synth("async")
    (policy,) = _by_type(template, "AWS::IAM::ManagedPolicy").values()
    statements = policy["PolicyDocument"]["Statement"]
    actions = [s["Action"] for s in statements]
    assert actions[0] == "sagemaker:InvokeEndpointAsync"
    assert "sagemaker:InvokeEndpoint" not in actions
    text = json.dumps(statements)
    assert "/async/input/lab-digits/*" in text and "/async/output/lab-digits/*" in text


def test_async_passes_the_gate_with_canary_when_it_keeps_instances(synth) -> None:  # type: ignore[no-untyped-def]
    """Deployment guardrails apply to async endpoints ("only apply to Asynchronous inference
    and Real-time inference endpoint types"): a 30 % canary works on a fleet that keeps 4."""
    template, report, _ = synth(
        "async",
        "canary",
        min_instances=4,
        async_inference=AsyncInferenceConfig(scale_to_zero=False),
    )
    assert report.violations == [], report.describe_violations()
    (endpoint,) = Template.from_json(template).find_resources("AWS::SageMaker::Endpoint").values()
    routing = endpoint["Properties"]["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert routing["TrafficRoutingConfiguration"]["Type"] == "CANARY"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"guardrail": GuardrailConfig(mode="linear"), "min_instances": 5},
            "scales to zero may have none",
        ),
        (
            {"async_inference": AsyncInferenceConfig(max_concurrent_invocations_per_instance=0)},
            "1-1000",
        ),
        (
            {"async_inference": AsyncInferenceConfig(max_concurrent_invocations_per_instance=1001)},
            "AsyncInferenceClientConfig",
        ),
        (
            {"async_inference": AsyncInferenceConfig(backlog_target_per_instance=0)},
            "ApproximateBacklogSizePerInstance",
        ),
        ({"instance_type": "t2.medium"}, "must be an ml.\\* instance type"),
        ({"serverless_provisioned_concurrency": 2}, "take no serverless settings"),
        ({"async_inference": AsyncInferenceConfig(max_backlog_age_seconds=10)}, "60-21600"),
    ],
)
def test_invalid_async_settings_fail_at_synth(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ServingConfig(kind="async", **kwargs)


def test_async_rules_do_not_touch_other_kinds() -> None:
    """A canary on a real-time fleet of 5 stays valid: scale_to_zero is an async setting."""
    ServingConfig(kind="real_time", min_instances=5, guardrail=GuardrailConfig(mode="canary"))


def test_the_example_override_makes_the_lab_profile_async() -> None:
    """config/examples/serving-async.json is what docs/async-inference.md tells users to put in a
    profile."""
    lab = json.loads((Path(__file__).resolve().parents[2] / "config" / "lab.json").read_text())
    lab.update(json.loads(EXAMPLE.read_text()))
    config = config_from_dict(lab)
    assert config.serving.kind == "async"
    assert config.serving.async_inference.scale_to_zero is True
    assert dataclasses.replace(load_profile("lab"), serving=config.serving).endpoint_name == (
        "lab-digits"
    )
