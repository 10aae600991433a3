"""The delivery pipeline's stages and the endpoint's deployment state of a deployed copy, read
with boto3 (``labctl deploy status`` renders them).

A blue/green update that SageMaker rolled back is visible only in DescribeEndpoint: the
endpoint returns to InService on its previous config with a FailureReason (sometimes none at
all, so an expected config catches the silent case).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ops.errors import OperationFailed

FAILED_STATUSES = ("Failed", "UpdateRollbackFailed")
IN_PROGRESS_STATUSES = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


@dataclass(frozen=True)
class ActionState:
    name: str
    status: str
    summary: str | None = None
    error: str | None = None
    token: str | None = None

    @property
    def approval_pending(self) -> bool:
        # CodePipeline only issues an execution token to manual approval actions, and the
        # token stays valid while the approval is InProgress.
        return self.token is not None and self.status == "InProgress"


@dataclass(frozen=True)
class StageState:
    name: str
    status: str
    execution_id: str | None
    actions: tuple[ActionState, ...]
    rollback_execution: bool = False
    transition_disabled: str | None = None  # the reason when the inbound transition is off

    @property
    def pending_approvals(self) -> tuple[ActionState, ...]:
        return tuple(a for a in self.actions if a.approval_pending)


@dataclass(frozen=True)
class VariantState:
    name: str
    current_weight: float | None
    desired_weight: float | None
    current_instances: int | None
    desired_instances: int | None
    instance_type: str | None = None
    statuses: tuple[str, ...] = ()  # e.g. "Baking: ...", "ActivatingTraffic"
    serverless: str | None = None


@dataclass(frozen=True)
class EndpointState:
    name: str
    status: str
    config_name: str | None
    variants: tuple[VariantState, ...]
    policy: str
    pending_config: str | None = None
    pending_variants: tuple[VariantState, ...] = ()
    failure_reason: str | None = None
    expected_config: str | None = None
    headline: str | None = None  # the line an operator must not miss
    rolled_back: bool = False
    failed: bool = False

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.rolled_back else 0


def pipeline_state(resp: Mapping[str, Any]) -> list[StageState]:
    """Stages of a GetPipelineState response, in pipeline order."""
    stages = []
    for stage in resp.get("stageStates", []):
        latest = stage.get("latestExecution") or {}
        actions = []
        for action in stage.get("actionStates", []):
            run = action.get("latestExecution") or {}
            error = run.get("errorDetails") or {}
            actions.append(
                ActionState(
                    name=action.get("actionName", "?"),
                    status=run.get("status", "NotRun"),
                    summary=run.get("summary"),
                    error=error.get("message"),
                    token=run.get("token"),
                )
            )
        transition = stage.get("inboundTransitionState") or {}
        disabled = None
        if transition.get("enabled") is False:
            disabled = transition.get("disabledReason") or "no reason given"
        stages.append(
            StageState(
                name=stage.get("stageName", "?"),
                status=latest.get("status", "NotRun"),
                execution_id=latest.get("pipelineExecutionId"),
                actions=tuple(actions),
                rollback_execution=latest.get("type") == "ROLLBACK",
                transition_disabled=disabled,
            )
        )
    return stages


def _variant(v: Mapping[str, Any]) -> VariantState:
    statuses = []
    for s in v.get("VariantStatus", []):
        text = s.get("Status", "?")
        if s.get("StatusMessage"):
            text += f": {s['StatusMessage']}"
        statuses.append(text)
    pools = v.get("InstancePools") or []
    serverless = v.get("CurrentServerlessConfig") or v.get("DesiredServerlessConfig")
    return VariantState(
        name=v.get("VariantName", "?"),
        current_weight=v.get("CurrentWeight"),
        desired_weight=v.get("DesiredWeight"),
        current_instances=v.get("CurrentInstanceCount"),
        desired_instances=v.get("DesiredInstanceCount"),
        instance_type=v.get("InstanceType") or (pools[0].get("InstanceType") if pools else None),
        statuses=tuple(statuses),
        serverless=(
            f"serverless {serverless.get('MemorySizeInMB')} MB, "
            f"max concurrency {serverless.get('MaxConcurrency')}"
            if serverless
            else None
        ),
    )


def _size(size: Mapping[str, Any] | None) -> str:
    if not size:
        return "?"
    unit = "%" if size.get("Type") == "CAPACITY_PERCENT" else " instance(s)"
    return f"{size.get('Value')}{unit}"


def describe_policy(config: Mapping[str, Any] | None) -> str:
    """One line for a DeploymentConfig (LastDeploymentConfig of DescribeEndpoint)."""
    if not config:
        # SageMaker's default when no DeploymentConfig was given.
        return "none recorded (SageMaker default: blue/green, all at once, no auto-rollback)"
    parts = []
    blue_green = config.get("BlueGreenUpdatePolicy")
    rolling = config.get("RollingUpdatePolicy")
    if blue_green:
        routing = blue_green.get("TrafficRoutingConfiguration") or {}
        kind = routing.get("Type", "?")
        text = f"blue/green {kind}"
        if kind == "CANARY":
            text += f" {_size(routing.get('CanarySize'))}"
        elif kind == "LINEAR":
            text += f" steps of {_size(routing.get('LinearStepSize'))}"
        if routing.get("WaitIntervalInSeconds") is not None:
            text += f", bake {routing['WaitIntervalInSeconds']}s"
        if blue_green.get("TerminationWaitInSeconds") is not None:
            text += f", termination wait {blue_green['TerminationWaitInSeconds']}s"
        if blue_green.get("MaximumExecutionTimeoutInSeconds") is not None:
            text += f", timeout {blue_green['MaximumExecutionTimeoutInSeconds']}s"
        parts.append(text)
    if rolling:
        text = f"rolling batches of {_size(rolling.get('MaximumBatchSize'))}"
        if rolling.get("WaitIntervalInSeconds") is not None:
            text += f", wait {rolling['WaitIntervalInSeconds']}s"
        parts.append(text)
    alarms = [
        a.get("AlarmName", "?")
        for a in (config.get("AutoRollbackConfiguration") or {}).get("Alarms", [])
    ]
    parts.append(
        f"auto-rollback alarms: {', '.join(alarms)}" if alarms else "no auto-rollback alarms"
    )
    return "; ".join(parts)


def endpoint_state(desc: Mapping[str, Any], expected_config: str | None = None) -> EndpointState:
    """Deployment state of a DescribeEndpoint response, rollback detection included.

    ``expected_config``: the endpoint config the last deploy asked for; an InService endpoint
    on another config with nothing pending was rolled back even when FailureReason is empty.
    """
    status = desc.get("EndpointStatus", "?")
    config = desc.get("EndpointConfigName")
    reason = desc.get("FailureReason") or None
    pending = desc.get("PendingDeploymentSummary") or {}
    pending_config = pending.get("EndpointConfigName")
    headline, rolled_back, failed = None, False, False
    if status == "Failed":
        failed = True
        headline = f"FAILED: {reason or 'no reason given'} (only DeleteEndpoint works now)"
    elif status == "UpdateRollbackFailed":
        failed = True
        headline = (
            f"UPDATE ROLLBACK FAILED: {reason or 'no reason given'}; the endpoint serves "
            "a mix of old and new configs"
        )
    elif status == "RollingBack":
        rolled_back = True
        headline = f"ROLLING BACK: {reason or 'update failed'}"
    elif status == "InService" and reason:
        # SageMaker returns a failed update to InService on the old config, keeping the reason.
        rolled_back = True
        headline = f"ROLLED BACK: {reason} (serving {config})"
    elif (
        status == "InService"
        and expected_config
        and config != expected_config
        and not pending_config
    ):
        rolled_back = True
        headline = (
            f"ROLLED BACK: serving {config}, expected {expected_config} (SageMaker gave no reason)"
        )
    elif status in IN_PROGRESS_STATUSES and pending_config:
        headline = f"UPDATE IN PROGRESS: {config} -> {pending_config}"
    return EndpointState(
        name=desc.get("EndpointName", "?"),
        status=status,
        config_name=config,
        variants=tuple(_variant(v) for v in desc.get("ProductionVariants", [])),
        policy=describe_policy(desc.get("LastDeploymentConfig")),
        pending_config=pending_config,
        pending_variants=tuple(_variant(v) for v in pending.get("ProductionVariants", [])),
        failure_reason=reason,
        expected_config=expected_config,
        headline=headline,
        rolled_back=rolled_back,
        failed=failed,
    )


def read_pipeline_state(codepipeline: Any, name: str) -> list[StageState]:
    """GetPipelineState of ``name`` as stages; OperationFailed when it cannot be read."""
    from botocore.exceptions import ClientError

    try:
        resp = codepipeline.get_pipeline_state(name=name)
    except ClientError as err:
        raise OperationFailed(f"pipeline {name!r}: {err}") from err
    return pipeline_state(resp)


def read_endpoint_state(
    sagemaker: Any, name: str, expected_config: str | None = None
) -> EndpointState:
    """DescribeEndpoint of ``name`` as its state; OperationFailed when it cannot be read."""
    from botocore.exceptions import ClientError

    try:
        desc = sagemaker.describe_endpoint(EndpointName=name)
    except ClientError as err:
        raise OperationFailed(f"endpoint {name!r}: {err}") from err
    return endpoint_state(desc, expected_config)
