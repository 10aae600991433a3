"""Expiry reaper (Lambda handler): deletes this copy's lab endpoints once their lifetime is over.

An endpoint is reaped when it is named ``<env>-*``, tagged ``environment=<env>`` and carries
``EXPIRY_TAG`` (its lifetime in hours, set at deploy from ``expiry.endpoint_hours``), its last
deploy or update (``LastModifiedTime``) is older than that lifetime, it is not tagged
``KEEP_TAG``, and it is not mid-update. At most ``MAX_DELETES`` per run; ``DRY_RUN=true``
only reports. Every run that finds an expired endpoint publishes a summary to the alert topic.
Standard library + boto3 only: the CDK construct imports the tag names from here.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

EXPIRY_TAG = "expires-after-hours"
KEEP_TAG = "keep"
BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


def reap(
    sm: Any,
    sns: Any,
    *,
    env: str,
    topic_arn: str,
    max_deletes: int,
    dry_run: bool,
    now: datetime,
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "deleted": [],
        "would_delete": [],
        "kept": [],
        "busy": [],
        "capped": [],
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
            if KEEP_TAG in tags:
                report["kept"].append(name)
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
        sns.publish(
            TopicArn=topic_arn,
            Subject=f"[{env}] expiry reaper: {len(report['deleted'])} endpoint(s) deleted",
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
    )
