"""Lambda: a monitoring alarm going to ALARM becomes one ``RetrainRequested`` event.

Input: EventBridge's "CloudWatch Alarm State Change" event. It puts the event the training
stack's rule starts the pipeline on (``monitoring_contract.retrain_entry``: the contract is
bundled beside this module), carrying the reason, the window and the metrics,
unless a training run is executing now or one started within the cooldown: both are read
from ListPipelineExecutions, so the bridge keeps no state of its own.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from model_code import monitoring_contract as contract


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


def recent_runs(sagemaker: Any, pipeline: str) -> list[dict[str, Any]]:
    """The newest executions (one page: the cooldown only needs the latest few)."""
    response = sagemaker.list_pipeline_executions(
        PipelineName=pipeline, SortBy="CreationTime", SortOrder="Descending", MaxResults=10
    )
    runs: list[dict[str, Any]] = response.get("PipelineExecutionSummaries", [])
    return runs


def blocked_by(runs: list[dict[str, Any]], now: datetime, cooldown: timedelta) -> str | None:
    for run in runs:
        if run.get("PipelineExecutionStatus") in ("Executing", "Stopping"):
            return f"training run {run['PipelineExecutionArn']} is still executing"
    if runs:
        started = runs[0]["StartTime"]
        if now - started < cooldown:
            return (
                f"cooldown: the last training run started {started.isoformat()}, less than "
                f"{cooldown} ago"
            )
    return None


def detail_from_alarm(event: dict[str, Any], now: datetime) -> dict[str, Any]:
    detail = event["detail"]
    state = detail["state"]
    reason_data = json.loads(state.get("reasonData") or "{}")
    points = reason_data.get("recentDatapoints", [])
    metric_name = "value"
    for item in detail.get("configuration", {}).get("metrics", []):
        stat = item.get("metricStat", {}).get("metric", {})
        metric_name = stat.get("name", metric_name)
    start = reason_data.get("startDate") or event.get("time")
    return {
        "reason": f"{detail['alarmName']}: {state.get('reason', 'ALARM')}",
        "endpoint": os.environ.get("ENDPOINT_NAME", ""),
        "window": {"start": start, "end": state.get("timestamp", event.get("time"))},
        "metrics": {f"{metric_name}[{i}]": float(v) for i, v in enumerate(points)},
        "requested_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "trigger": event.get("resources", [""])[0],
    }


def handler(
    event: dict[str, Any], context: Any = None, clients: dict[str, Any] | None = None
) -> dict:
    clients = clients or {}
    if event.get("detail-type") != "CloudWatch Alarm State Change":
        return {"ignored": f"not an alarm state change: {event.get('detail-type')}"}
    if event["detail"]["state"]["value"] != "ALARM":
        return {
            "ignored": f"{event['detail']['alarmName']} went to {event['detail']['state']['value']}"
        }
    now = clients.get("now") or datetime.now(UTC)
    sagemaker = clients.get("sagemaker") or boto3.client("sagemaker")
    cooldown = timedelta(hours=float(_env("COOLDOWN_HOURS")))
    reason = blocked_by(recent_runs(sagemaker, _env("PIPELINE_NAME")), now, cooldown)
    if reason:
        print(f"retrain not requested: {reason}")
        return {"requested": False, "reason": reason}
    detail = detail_from_alarm(event, now)
    events = clients.get("events") or boto3.client("events")
    response = events.put_events(Entries=[contract.retrain_entry(detail)])
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"PutEvents refused the retrain request: {response['Entries']}")
    return {"requested": True, "detail": detail}
