"""Expiry reaper (Lambda handler): deletes this copy's lab endpoints once their lifetime is over.

An endpoint is reaped when it is named ``<env>-*``, tagged ``environment=<env>`` and carries
``EXPIRY_TAG`` (its lifetime in hours, set at deploy from ``expiry.endpoint_hours``), its last
deploy or update (``LastModifiedTime``) is older than that lifetime, it is not tagged
``keep=true`` (``KEEP_TAG``/``KEEP_VALUE``), no CloudFormation stack manages it, and it is not
mid-update. At most ``MAX_DELETES`` per run; ``DRY_RUN=true`` only reports. Every run that
finds an expired endpoint publishes a summary to the alert topic.

A stack-managed endpoint (the Serving stacks' ``<env>-digits``, ``<env>-digits-staging``) is
never deleted here: CloudFormation would still list it, so an unchanged release leaves it gone
and the next release that touches it ends in ``UPDATE_ROLLBACK_FAILED``. Deleting its stack
instead was weighed and rejected: a Lambda would need DeleteStack plus either the stack's
deploy role or every delete permission the stack's resources need, and would have to repeat
what ``labctl teardown`` does in order (registry versions before groups, dependent stacks
first, termination protection, DELETE_FAILED retries). The cost is bounded without it: the
budget is checked at synth against the idle cost, which counts these endpoints
(``core/cost.py``). So the reaper reports them (``stack_managed``, in the log and the
alert) with what to run, and leaves them to the stack's owner.
Standard library + boto3 only (plus ``model_code/stack_contract.py``, bundled beside it): the
CDK construct imports the tag names from here.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from model_code.stack_contract import managing_stack

EXPIRY_TAG = "expires-after-hours"
# keep=true spares an expired endpoint; the key is exact (SageMaker tag keys are case
# sensitive), the value is "true" in any case: keep=false, keep=no or Keep=true do not spare.
KEEP_TAG = "keep"
KEEP_VALUE = "true"
BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


def is_kept(tags: dict[str, str]) -> bool:
    """The endpoint is tagged keep=true: the reaper spares it however old it is."""
    return tags.get(KEEP_TAG, "").strip().lower() == KEEP_VALUE


def reap(
    sm: Any,
    sns: Any,
    *,
    env: str,
    topic_arn: str,
    max_deletes: int,
    dry_run: bool,
    now: datetime,
    stack_endpoints: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``stack_endpoints`` (endpoint -> stack) names this copy's stack-managed endpoints
    outright: CloudFormation's stack tags are the general rule, but the endpoint's provider
    schema does not promise them (``cloudFormationSystemTags: false``)."""
    stack_endpoints = stack_endpoints or {}
    report: dict[str, Any] = {
        "deleted": [],
        "would_delete": [],
        "kept": [],
        "busy": [],
        "capped": [],
        "stack_managed": [],
    }
    kwargs: dict[str, Any] = {"NameContains": f"{env}-", "MaxResults": 100}
    while True:
        page = sm.list_endpoints(**kwargs)
        for summary in page.get("Endpoints", []):
            name = summary["EndpointName"]
            if not name.startswith(f"{env}-"):
                continue
            tags = {
                t["Key"]: t["Value"]
                for t in sm.list_tags(ResourceArn=summary["EndpointArn"])["Tags"]
            }
            if tags.get("environment") != env or EXPIRY_TAG not in tags:
                continue
            try:
                hours = float(tags[EXPIRY_TAG])
            except ValueError:
                continue
            deadline = summary["LastModifiedTime"] + timedelta(hours=hours)
            if now < deadline:
                continue
            stack = managing_stack(tags) or stack_endpoints.get(name)
            if is_kept(tags):
                report["kept"].append(name)
            elif stack is not None:
                advice = f"run labctl teardown for {env}, or tag it {KEEP_TAG}={KEEP_VALUE}"
                print(f"stack {stack} holds expired endpoint {name}: not deleted; {advice}")
                report["stack_managed"].append({"endpoint": name, "stack": stack, "advice": advice})
            elif summary["EndpointStatus"] in BUSY:
                report["busy"].append(name)
            elif len(report["deleted"]) + len(report["would_delete"]) >= max_deletes:
                report["capped"].append(name)
            elif dry_run:
                report["would_delete"].append(name)
            else:
                sm.delete_endpoint(EndpointName=name)
                report["deleted"].append(name)
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    if any(report.values()):
        held = len(report["stack_managed"])
        subject = f"[{env}] expiry reaper: {len(report['deleted'])} endpoint(s) deleted"
        subject += f", {held} held by stacks" if held else ""
        sns.publish(
            TopicArn=topic_arn,
            Subject=subject[:99],  # SNS: a subject is under 100 characters
            Message=json.dumps({"env": env, "dry_run": dry_run, **report}, indent=2),
        )
    return report


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    import boto3

    return reap(
        boto3.client("sagemaker"),
        boto3.client("sns"),
        env=os.environ["ENV_NAME"],
        topic_arn=os.environ["TOPIC_ARN"],
        max_deletes=int(os.environ["MAX_DELETES"]),
        dry_run=os.environ.get("DRY_RUN", "false") == "true",
        now=datetime.now(UTC),
        stack_endpoints=json.loads(os.environ.get("STACK_ENDPOINTS") or "{}"),
    )
