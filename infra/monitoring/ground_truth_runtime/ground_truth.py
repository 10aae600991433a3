"""Lambda: labels from the raw zone, rewritten as Model Monitor ground truth (boto3 only).

Model Monitor's model-quality job merges captured predictions with ground-truth records

    {"groundTruthData": {"data": "<label>", "encoding": "CSV"},
     "eventMetadata": {"eventId": "<the request's InferenceId>"}, "eventVersion": "0"}

stored one JSON object per line under ``<prefix>/yyyy/mm/dd/hh/``, the hour being when the
label was collected (Developer Guide, "Ingest Ground Truth labels and merge them with
predictions"). Labels arrive in the raw zone as events (``event_id``, ``label``) under
Firehose's hour partitions; clients send the event id as the request's ``InferenceId``, so the
event id is the join key. Each run converts the last ``LOOKBACK_HOURS`` whole UTC hours (a
Firehose object may land after its hour closed), one output object per raw object, named after
it: a rerun overwrites, never duplicates. A payload ``{"start": ISO, "end": ISO}`` backfills.
"""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

N_CLASSES = 10


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


def ground_truth_record(event_id: str, label: int) -> dict[str, Any]:
    return {
        "groundTruthData": {"data": str(label), "encoding": "CSV"},
        "eventMetadata": {"eventId": event_id},
        "eventVersion": "0",
    }


def convert_lines(lines: list[str]) -> tuple[list[dict[str, Any]], int, int]:
    """Ground-truth records of the labelled events; counts of unlabelled and bad lines."""
    records, unlabelled, bad = [], 0, 0
    for line in lines:
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            event_id, label = event["event_id"], event.get("label")
        except (ValueError, KeyError, TypeError):
            bad += 1
            continue
        if not isinstance(event_id, str) or not event_id:
            bad += 1  # no usable join key
            continue
        if label is None:
            unlabelled += 1
            continue
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < N_CLASSES:
            bad += 1
            continue
        records.append(ground_truth_record(event_id, label))
    return records, unlabelled, bad


def hours(start: datetime, end: datetime) -> list[datetime]:
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    out = []
    while hour < end:
        out.append(hour)
        hour += timedelta(hours=1)
    return out


def raw_prefix(hour: datetime) -> str:
    return f"events/year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}/"


def output_key(prefix: str, hour: datetime, source_key: str) -> str:
    name = source_key.rsplit("/", 1)[-1].removesuffix(".gz")
    return f"{prefix.strip('/')}/{hour:%Y/%m/%d/%H}/{name}.jsonl"


def convert_hour(s3: Any, hour: datetime) -> dict[str, int]:
    raw, out_bucket, prefix = env("RAW_BUCKET"), env("ARTIFACTS_BUCKET"), env("GROUND_TRUTH_PREFIX")
    counts = {"objects": 0, "labels": 0, "unlabelled": 0, "bad": 0, "unreadable": 0}
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=raw, Prefix=raw_prefix(hour)):
        for item in page.get("Contents", []):
            key = item["Key"]
            body = s3.get_object(Bucket=raw, Key=key)["Body"].read()
            try:
                text = (
                    gzip.decompress(body).decode("utf-8") if key.endswith(".gz") else body.decode()
                )
            except (OSError, EOFError, UnicodeDecodeError):
                counts["unreadable"] += 1
                continue
            records, unlabelled, bad = convert_lines(text.splitlines())
            counts["objects"] += 1
            counts["unlabelled"] += unlabelled
            counts["bad"] += bad
            if not records:
                continue
            # The bucket's default encryption (the lake key) applies; see drift_runner.py.
            s3.put_object(
                Bucket=out_bucket,
                Key=output_key(prefix, hour, key),
                Body="".join(json.dumps(r) + "\n" for r in records).encode(),
                ContentType="application/jsonlines",
            )
            counts["labels"] += len(records)
    return counts


def handler(event: dict[str, Any], context: Any = None, clients: dict[str, Any] | None = None):
    clients = clients or {}
    s3 = clients.get("s3") or boto3.client("s3")
    now = clients.get("now") or datetime.now(UTC)
    if event and "start" in event:
        start = datetime.fromisoformat(event["start"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(event["end"].replace("Z", "+00:00"))
    else:
        end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        start = end - timedelta(hours=int(env("LOOKBACK_HOURS")))
    totals: dict[str, int] = {}
    for hour in hours(start, end):
        for name, value in convert_hour(s3, hour).items():
            totals[name] = totals.get(name, 0) + value
    result = {"start": start.isoformat(), "end": end.isoformat(), **totals}
    print(json.dumps(result))
    return result
