"""The one-line message a failed pipeline step is reported with, deployed and local alike.

Deployed: the Training stack's ``StepFailures`` rule renders it with an input transformer from
the step event (``infra/operations/failure_alerts.py`` passes EventBridge paths as the values);
local: ``pipelines.local.executor`` prints it when a run fails. Standard library only.
"""

from __future__ import annotations


def step_failure_line(
    *, step: str, status: str, reason: str, pipeline: str, execution: str, where: str, more: str
) -> str:
    """``SageMaker pipeline step <step> <status>: <reason> (pipeline <pipeline>, execution
    <execution>, <where>). More: <more>``"""
    return (
        f"SageMaker pipeline step {step} {status}: {reason} (pipeline {pipeline}, execution "
        f"{execution}, {where}). More: {more}"
    )
