"""Deployment state from GetPipelineState and DescribeEndpoint answers written out here: the
pending approval, an update in progress, a rollback (loud or silent) and the failed states."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ops.deploy_status import describe_policy, endpoint_state, pipeline_state

REGION = "us-east-1"
T0 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
ENDPOINT_ARN = f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/digits"
TOKEN = "3f2a9c1e-1111-2222-3333-444455556666"
CANARY = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "WaitIntervalInSeconds": 600,
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 30},
        },
        "TerminationWaitInSeconds": 600,
        "MaximumExecutionTimeoutInSeconds": 3600,
    },
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "digits-5xx"}]},
}


def _action(name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "actionName": name,
        "latestExecution": {"status": status, "lastStatusChange": T0, **extra},
    }


def _stage(
    name: str, status: str | None, actions: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    stage: dict[str, Any] = {"stageName": name, "actionStates": actions, **extra}
    if status:
        stage["latestExecution"] = {"pipelineExecutionId": "a1b2c3d4-e5f6", "status": status}
    return stage


PIPELINE = {
    "pipelineName": "digits-delivery",
    "pipelineVersion": 2,
    "stageStates": [
        _stage("Source", "Succeeded", [_action("Bundle", "Succeeded", summary="commit abc")]),
        _stage("Staging", "Succeeded", [_action("DeployStaging", "Succeeded")]),
        _stage("Approval", "InProgress", [_action("Promote", "InProgress", token=TOKEN)]),
        _stage(
            "Production",
            None,
            [{"actionName": "DeployProduction"}],
            inboundTransitionState={"enabled": False, "disabledReason": "change freeze"},
        ),
    ],
    "created": T0,
    "updated": T0,
}


def _variant(
    name: str = "AllTraffic", weight: float = 1.0, count: int = 1, **extra: Any
) -> dict[str, Any]:
    return {
        "VariantName": name,
        "CurrentWeight": weight,
        "DesiredWeight": weight,
        "CurrentInstanceCount": count,
        "DesiredInstanceCount": count,
        **extra,
    }


def _endpoint(status: str, config: str = "digits-config-v1", **extra: Any) -> dict[str, Any]:
    return {
        "EndpointName": "digits",
        "EndpointArn": ENDPOINT_ARN,
        "EndpointConfigName": config,
        "EndpointStatus": status,
        "CreationTime": T0,
        "LastModifiedTime": T0,
        "ProductionVariants": [_variant()],
        "LastDeploymentConfig": CANARY,
        **extra,
    }


IN_SERVICE = _endpoint("InService")
UPDATING = _endpoint(
    "Updating",
    PendingDeploymentSummary={
        "EndpointConfigName": "digits-config-v2",
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "CurrentWeight": 0.3,
                "DesiredWeight": 1.0,
                "CurrentInstanceCount": 1,
                "DesiredInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VariantStatus": [
                    {"Status": "Baking", "StatusMessage": "canary bake 600 s", "StartTime": T0}
                ],
            }
        ],
    },
)


ROLLED_BACK = _endpoint(
    "InService",
    FailureReason="Alarm digits-5xx in ALARM during canary; rolled back to digits-config-v1",
)


FAILED = _endpoint("Failed", FailureReason="The primary container failed the ping health check")
ROLLBACK_FAILED = _endpoint("UpdateRollbackFailed", FailureReason="rollback timed out")


def test_pipeline_state_marks_the_pending_approval_and_disabled_transition() -> None:
    stages = pipeline_state(PIPELINE)
    assert [(s.name, s.status) for s in stages] == [
        ("Source", "Succeeded"),
        ("Staging", "Succeeded"),
        ("Approval", "InProgress"),
        ("Production", "NotRun"),
    ]
    approval = stages[2].pending_approvals
    assert [a.name for a in approval] == ["Promote"] and approval[0].token == TOKEN
    assert not stages[0].pending_approvals
    assert stages[3].transition_disabled == "change freeze"


def test_endpoint_in_service_is_healthy() -> None:
    state = endpoint_state(IN_SERVICE)
    assert (state.status, state.config_name) == ("InService", "digits-config-v1")
    assert state.exit_code == 0
    assert state.headline is None
    assert state.variants[0].current_weight == 1.0 and state.variants[0].current_instances == 1


def test_update_in_progress_shows_the_pending_config_and_bake() -> None:
    state = endpoint_state(UPDATING)
    assert state.headline == "UPDATE IN PROGRESS: digits-config-v1 -> digits-config-v2"
    assert state.pending_variants[0].statuses == ("Baking: canary bake 600 s",)
    assert state.exit_code == 0


def test_rollback_surfaces_from_the_failure_reason() -> None:
    state = endpoint_state(ROLLED_BACK)
    assert state.rolled_back and state.exit_code == 1
    assert state.headline is not None and state.headline.startswith("ROLLED BACK: Alarm digits-5xx")


def test_silent_rollback_needs_the_expected_config() -> None:
    assert endpoint_state(IN_SERVICE).exit_code == 0
    state = endpoint_state(IN_SERVICE, expected_config="digits-config-v2")
    assert state.rolled_back
    assert state.headline == (
        "ROLLED BACK: serving digits-config-v1, expected digits-config-v2 "
        "(SageMaker gave no reason)"
    )
    # Still updating towards the expected config: not a rollback.
    assert not endpoint_state(UPDATING, expected_config="digits-config-v2").rolled_back


@pytest.mark.parametrize(
    ("desc", "prefix"),
    [(FAILED, "FAILED: The primary"), (ROLLBACK_FAILED, "UPDATE ROLLBACK FAILED")],
)
def test_failed_states_exit_1(desc: dict[str, Any], prefix: str) -> None:
    state = endpoint_state(desc)
    assert state.failed and state.exit_code == 1
    assert state.headline is not None and state.headline.startswith(prefix)


def test_describe_policy() -> None:
    assert describe_policy(CANARY) == (
        "blue/green CANARY 30%, bake 600s, termination wait 600s, timeout 3600s; "
        "auto-rollback alarms: digits-5xx"
    )
    assert describe_policy(None).startswith("none recorded")
