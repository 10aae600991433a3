"""The ground-truth upload Lambda on in-process moto S3: raw-zone labels -> Model Monitor's
ground-truth layout, and the join key proven against a capture record.

Oracles: the layout and record shape as the Developer Guide states them ("Ingest Ground
Truth labels and merge them with predictions": ``groundTruthData``/``eventMetadata.eventId``
JSON lines under ``<prefix>/yyyy/mm/dd/hh/`` of the collection hour), written out by hand
below; the join by model_code/quality.py (the platform's own quality job, which reads that
format) against a record from the local endpoint's SageMaker-format capture writer with the
InferenceId that ``labctl monitor`` sends (the event id).
"""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from moto import mock_aws

from infra.monitoring.ground_truth_runtime import ground_truth
from lab.endpoint.capture import capture_record
from model_code import quality
from model_code.drift import Window
from model_code.events import object_name, partition_prefix

ENV = {
    "RAW_BUCKET": "raw",
    "ARTIFACTS_BUCKET": "art",
    "GROUND_TRUTH_PREFIX": "monitoring/ground-truth",
    "LOOKBACK_HOURS": "2",
}
NOW = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)  # lookback 22:00-00:00 crosses day and month
# Developer Guide layout: <prefix>/yyyy/mm/dd/hh/<object>
KEY = re.compile(r"^monitoring/ground-truth/(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+\.jsonl$")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def _event(i: int, label: int | None, when: datetime) -> dict[str, Any]:
    return {
        "event_id": f"digits-{i:06d}",
        "event_time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "features": [float(i % 17)] * 64,
        "label": label,
        "source": "sklearn-digits",
    }


def _put_raw(s3: Any, when: datetime, events: list[dict[str, Any]], lines: list[str] = ()) -> str:  # type: ignore[assignment]
    """One Firehose object in the raw zone's hour partition (gzip JSON lines)."""
    key = partition_prefix(when) + object_name("digits-stream", when, f"{when:%H%M}")
    body = "".join(json.dumps(e) + "\n" for e in events) + "".join(f"{x}\n" for x in lines)
    s3.put_object(Bucket="raw", Key=key, Body=gzip.compress(body.encode()))
    return key


@pytest.fixture
def lake() -> Any:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="raw")
        s3.create_bucket(Bucket="art")
        yield s3


def _objects(s3: Any) -> dict[str, list[dict[str, Any]]]:
    listing = s3.list_objects_v2(Bucket="art").get("Contents", [])
    return {
        o["Key"]: [
            json.loads(line)
            for line in s3.get_object(Bucket="art", Key=o["Key"])["Body"].read().splitlines()
        ]
        for o in listing
    }


def test_labels_land_in_the_documented_layout_per_collection_hour(lake: Any) -> None:
    late_evening = datetime(2026, 11, 30, 22, 40, tzinfo=UTC)
    last_hour = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
    _put_raw(lake, late_evening, [_event(1, 6, late_evening), _event(2, None, late_evening)])
    _put_raw(lake, last_hour, [_event(3, 0, last_hour)], lines=["not json", '{"event_id": 4}'])
    result = ground_truth.handler({}, clients={"s3": lake, "now": NOW})
    assert (result["labels"], result["unlabelled"], result["bad"]) == (2, 1, 2)
    objects = _objects(lake)
    hours = sorted(KEY.match(k).groups() for k in objects)  # type: ignore[union-attr]
    assert hours == [("2026", "11", "30", "22"), ("2026", "11", "30", "23")]
    records = [r for rs in objects.values() for r in rs]
    assert sorted(records, key=lambda r: r["eventMetadata"]["eventId"]) == [
        {
            "groundTruthData": {"data": "6", "encoding": "CSV"},
            "eventMetadata": {"eventId": "digits-000001"},
            "eventVersion": "0",
        },
        {
            "groundTruthData": {"data": "0", "encoding": "CSV"},
            "eventMetadata": {"eventId": "digits-000003"},
            "eventVersion": "0",
        },
    ]


def test_a_rerun_overwrites_instead_of_duplicating(lake: Any) -> None:
    when = datetime(2026, 11, 30, 23, 10, tzinfo=UTC)
    _put_raw(lake, when, [_event(i, i % 10, when) for i in range(5)])
    ground_truth.handler({}, clients={"s3": lake, "now": NOW})
    ground_truth.handler({}, clients={"s3": lake, "now": NOW + timedelta(minutes=30)})
    records = [r for rs in _objects(lake).values() for r in rs]
    assert len(records) == 5


def test_hours_outside_the_lookback_are_left_alone_unless_backfilled(lake: Any) -> None:
    old = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    _put_raw(lake, old, [_event(9, 9, old)])
    assert ground_truth.handler({}, clients={"s3": lake, "now": NOW})["labels"] == 0
    backfill = {"start": "2026-11-30T12:00:00Z", "end": "2026-11-30T13:00:00Z"}
    assert ground_truth.handler(backfill, clients={"s3": lake, "now": NOW})["labels"] == 1


def test_join_key_is_the_captures_inference_id(lake: Any, tmp_path: Path) -> None:
    """A prediction captured with InferenceId = event id (what `labctl monitor` sends) joins
    the uploaded ground truth of that event in the platform's own quality job, which reads
    Model Monitor's format: same key on both sides."""
    when = datetime(2026, 11, 30, 23, 20, tzinfo=UTC)
    events = [_event(i, i % 10, when) for i in range(20)]
    _put_raw(lake, when, events)
    ground_truth.handler({}, clients={"s3": lake, "now": NOW})
    labels_dir = tmp_path / "labels"
    for key, records in _objects(lake).items():
        path = labels_dir / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    capture = tmp_path / "capture" / "2026" / "11" / "30" / "23" / "c.jsonl"
    capture.parent.mkdir(parents=True)
    predicted = [(e["label"] + (1 if i < 4 else 0)) % 10 for i, e in enumerate(events)]
    lines = [
        json.dumps(
            capture_record(
                "text/csv",
                ",".join(str(v) for v in e["features"]).encode(),
                "text/csv",
                f"{p}\n".encode(),
                when,
                inference_id=e["event_id"],
            )
        )
        for e, p in zip(events, predicted, strict=True)
    ]
    capture.write_text("\n".join(lines) + "\n")
    files = sorted(labels_dir.rglob("*.jsonl"))
    labels, skipped = quality.read_labels(files, when - timedelta(hours=1), NOW)
    assert labels == {e["event_id"]: e["label"] for e in events} and not skipped
    window = Window(datetime(2026, 11, 30, 23, tzinfo=UTC), NOW)
    summary = quality.join([capture], labels, window)
    assert (summary.predictions, summary.joined) == (20, 20)
    # 4 of 20 predictions were made wrong on purpose: accuracy 16/20 from the joined pairs
    assert np.trace(summary.confusion) == 16
