"""labctl deploy status: the delivery pipeline's stages and the endpoint's deployment state.

A blue/green update that SageMaker rolled back is visible only in DescribeEndpoint: the
endpoint returns to InService on its previous config with a FailureReason (sometimes none at
all, so ``--expect-config`` catches the silent case). Exit 1 then, or when the endpoint is
Failed / UpdateRollbackFailed / RollingBack; exit 0 otherwise (pipeline failures are shown).
Reading the state is ops/deploy_status.py; this module renders it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from labctl.options import add_examples, add_region, resolve_region
from ops import aws_client
from ops.deploy_status import (
    EndpointState,
    StageState,
    VariantState,
    read_endpoint_state,
    read_pipeline_state,
)
from ops.errors import UsageError


def _num(value: float | int | None) -> str:
    if value is None:
        return "?"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _variant_line(v: VariantState) -> str:
    weight = _num(v.current_weight)
    if v.desired_weight is not None and v.desired_weight != v.current_weight:
        weight += f" -> {_num(v.desired_weight)}"
    line = f"    {v.name}: weight {weight}"
    if v.serverless:
        line += f", {v.serverless}"
    else:
        count = _num(v.current_instances)
        if v.desired_instances is not None and v.desired_instances != v.current_instances:
            count += f" -> {_num(v.desired_instances)}"
        line += f", instances {count}"
        if v.instance_type:
            line += f" x {v.instance_type}"
    if v.statuses:
        line += f" [{'; '.join(v.statuses)}]"
    return line


def format_pipeline(name: str, stages: Sequence[StageState]) -> list[str]:
    lines = [f"pipeline {name}"]
    for stage in stages:
        line = f"  {stage.name}: {stage.status}"
        if stage.execution_id:
            line += f" (execution {stage.execution_id[:8]})"
        if stage.rollback_execution:
            line += " [pipeline rollback execution]"
        if stage.transition_disabled:
            line += f" [inbound transition disabled: {stage.transition_disabled}]"
        lines.append(line)
        for action in stage.actions:
            text = f"    {action.name}: {action.status}"
            if action.approval_pending and action.token:
                text += f"  <-- APPROVAL PENDING (token {action.token[:8]}...)"
            if action.summary:
                text += f" - {action.summary}"
            if action.error:
                text += f" - error: {action.error}"
            lines.append(text)
    for stage in stages:
        for action in stage.pending_approvals:
            lines.append(
                f"APPROVAL PENDING in {stage.name}/{action.name}: aws codepipeline "
                f"put-approval-result --pipeline-name {name} --stage-name {stage.name} "
                f"--action-name {action.name} --token {action.token} "
                "--result 'status=Approved,summary=...'"
            )
    return lines


def format_endpoint(state: EndpointState) -> list[str]:
    lines = []
    if state.headline:
        lines.append(state.headline)
    lines.append(f"endpoint {state.name}: {state.status}")
    lines.append(f"  config: {state.config_name}")
    if state.expected_config and state.expected_config != state.config_name:
        lines.append(f"  expected config: {state.expected_config}")
    lines.append(f"  deployment: {state.policy}")
    lines.append("  production variants:")
    lines.extend(_variant_line(v) for v in state.variants)
    if state.pending_config:
        lines.append(f"  pending deployment: {state.pending_config}")
        lines.extend(_variant_line(v) for v in state.pending_variants)
    if state.failure_reason and not state.headline:
        lines.append(f"  failure reason: {state.failure_reason}")
    return lines


def run(args: argparse.Namespace, codepipeline: Any = None, sagemaker: Any = None) -> int:
    if not args.pipeline and not args.endpoint:
        raise UsageError("give --pipeline, --endpoint or both")
    if args.expect_config and not args.endpoint:
        raise UsageError("--expect-config needs --endpoint")
    code = 0
    if args.pipeline:
        if codepipeline is None:
            codepipeline = aws_client("codepipeline", resolve_region(args.region))
        print(
            "\n".join(
                format_pipeline(args.pipeline, read_pipeline_state(codepipeline, args.pipeline))
            )
        )
    if args.endpoint:
        if sagemaker is None:
            sagemaker = aws_client("sagemaker", resolve_region(args.region))
        state = read_endpoint_state(sagemaker, args.endpoint, args.expect_config)
        print("\n".join(format_endpoint(state)))
        code = state.exit_code
    return code


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("deploy", help="delivery pipeline and endpoint deployment state")
    commands = parser.add_subparsers(dest="deploy_command", required=True, metavar="ACTION")
    add_examples(
        parser,
        "labctl deploy status --endpoint lab-digits",
    )
    p = commands.add_parser(
        "status",
        help="pipeline stages, pending approvals, endpoint rollout and rollbacks",
        description="Exit 1 when the endpoint is Failed, UpdateRollbackFailed, RollingBack or "
        "its last update was rolled back; 0 otherwise.",
    )
    p.add_argument("--pipeline", help="CodePipeline name")
    p.add_argument("--endpoint", help="SageMaker endpoint name")
    p.add_argument(
        "--expect-config",
        help="endpoint config the last deploy requested; "
        "a different live config counts as rolled back",
    )
    add_region(p)
    add_examples(
        p,
        "labctl deploy status --pipeline lab-delivery --endpoint lab-digits --region us-east-1",
    )
    p.set_defaults(handler=run)
