"""labctl ingest against Kinesis: conservation through moto (count and 5 MiB limits crossed),
and partial / whole-call failures through botocore Stubber on a real client.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from labctl.cli import main
from ops.producer import (
    MAX_BYTES_PER_CALL,
    Backoff,
    Record,
    digits_events,
    plan_batches,
    prepare,
    send_batches,
)

REGION = "us-east-1"
BASE = datetime(2026, 11, 29, 1, 2, 3, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_DEFAULT_REGION", REGION),
    ):
        monkeypatch.setenv(name, value)


def cli(argv: list[str], **inject: object) -> int:
    """labctl's own entry point (exit codes 0/1/2) with stubbed clients injected."""
    return main(["ingest", *argv], **inject)


class Spy:
    """Wraps a client to record what each PutRecords call carried."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[tuple[int, int]] = []  # (records, bytes incl. partition keys)

    def put_records(self, **kwargs: Any) -> Any:
        records = kwargs["Records"]
        self.calls.append(
            (len(records), sum(len(r["Data"]) + len(r["PartitionKey"].encode()) for r in records))
        )
        return self.client.put_records(**kwargs)


def read_stream(client: Any, stream: str) -> list[dict[str, Any]]:
    """Every record in every shard, decoded as one JSON line each."""
    out = []
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while True:
            page = client.get_records(ShardIterator=iterator, Limit=1000)
            if not page["Records"]:
                break
            for item in page["Records"]:
                assert item["Data"].endswith(b"\n")
                event = json.loads(item["Data"])
                assert item["PartitionKey"] == event["event_id"]
                out.append(event)
            iterator = page["NextShardIterator"]
    return out


@pytest.fixture
def kinesis() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("kinesis", region_name=REGION)
        client.create_stream(StreamName="events", ShardCount=4)
        yield client


def no_sleep() -> tuple[Backoff, list[float]]:
    slept: list[float] = []
    return Backoff(max_attempts=4, sleep=slept.append), slept


# --------------------------------------------------------------------------- moto


def test_digits_conserved_through_kinesis_over_500(kinesis: Any) -> None:
    spy = Spy(kinesis)
    assert cli(["--stream", "events", "--digits", "--no-progress"], client=spy) == 0
    assert [n for n, _ in spy.calls] == [500, 500, 500, 297]
    events = read_stream(kinesis, "events")
    assert len(events) == 1797
    # One fresh run id for the whole run: digits-<run>-<row>.
    (run,) = {e["event_id"].split("-")[1] for e in events}
    assert {e["event_id"] for e in events} == {f"digits-{run}-{i:06d}" for i in range(1797)}
    # Content survives too (event_time defaults to "now" on the CLI, so compare the rest).
    by_id = {e["event_id"]: e for e in events}
    expected = digits_events(limit=43, base_time=BASE, run_id=run)[42]
    assert by_id[f"digits-{run}-000042"] | {"event_time": ""} == expected | {"event_time": ""}


def test_large_records_cross_5_mib_and_are_conserved(kinesis: Any) -> None:
    # ~700 KiB records: 7 fit in one 5 MiB call, so 20 records need 3 calls by bytes alone.
    events = digits_events(limit=20, base_time=BASE)
    for event in events:
        event["source"] = "big-" + "x" * (700 * 1024)
    records, rejected = prepare(events)
    assert not rejected
    spy = Spy(kinesis)
    result = send_batches(spy, "events", plan_batches(records), no_sleep()[0])
    assert result.sent == 20 and not result.undelivered
    assert len(spy.calls) == 3
    assert all(size <= MAX_BYTES_PER_CALL for _, size in spy.calls)
    assert sum(size for _, size in spy.calls) > MAX_BYTES_PER_CALL * 2
    back = read_stream(kinesis, "events")
    assert sorted(e["event_id"] for e in back) == [e["event_id"] for e in events]
    assert all(e == events[int(e["event_id"][-6:])] for e in back)


def test_moto_rejects_an_unbatched_call(kinesis: Any) -> None:
    # Guards the test above: the fake enforces the 5 MiB limit, so batching is what passed.
    big = [Record(i, f"k{i}", b"x" * (700 * 1024)) for i in range(8)]
    with pytest.raises(kinesis.exceptions.ClientError):
        kinesis.put_records(
            StreamName="events", Records=[{"Data": r.data, "PartitionKey": r.event_id} for r in big]
        )


def test_missing_stream_reports_everything_undelivered(
    kinesis: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "undelivered.jsonl"
    argv = [
        "--stream",
        "nope",
        "--digits",
        "--limit",
        "600",
        "--no-progress",
        "--undelivered-report",
        str(report),
    ]
    assert cli(argv, client=kinesis) == 1
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(lines) == 600 and {x["error_code"] for x in lines} == {"ResourceNotFoundException"}
    assert "600 records not delivered" in "".join(capsys.readouterr())


# --------------------------------------------------------------------------- Stubber


def entry_ok(i: int) -> dict[str, str]:
    return {"SequenceNumber": f"{i:056d}", "ShardId": "shardId-000000000000"}


def entry_failed(code: str = "ProvisionedThroughputExceededException") -> dict[str, str]:
    return {"ErrorCode": code, "ErrorMessage": f"{code} for this record"}


def params(records: list[Record]) -> dict[str, Any]:
    return {
        "StreamName": "events",
        "Records": [{"Data": r.data, "PartitionKey": r.event_id} for r in records],
    }


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber, list[Record]]]:
    client = boto3.client("kinesis", region_name=REGION)
    records, _ = prepare(digits_events(limit=5, base_time=BASE, run_id="t"))
    with Stubber(client) as stub:
        yield client, stub, records
        stub.assert_no_pending_responses()


def test_partial_failure_resends_only_failed_entries(
    stubbed: tuple[Any, Stubber, list[Record]],
) -> None:
    client, stub, records = stubbed
    r = records
    stub.add_response(
        "put_records",
        {
            "FailedRecordCount": 2,
            "Records": [
                entry_ok(0),
                entry_failed(),
                entry_ok(2),
                entry_failed("InternalFailure"),
                entry_ok(4),
            ],
        },
        params(r),
    )
    stub.add_response(
        "put_records",
        {
            "FailedRecordCount": 1,
            "Records": [entry_failed(), entry_ok(3)],
        },
        params([r[1], r[3]]),
    )
    stub.add_response("put_records", {"Records": [entry_ok(1)]}, params([r[1]]))
    backoff, slept = no_sleep()
    result = send_batches(client, "events", [records], backoff)
    assert (result.sent, result.retried, result.calls, result.failed) == (5, 3, 3, 0)
    assert len(slept) == 2 and all(0 <= s <= 0.2 for s in slept)  # base 0.1 s, doubling


def test_persistent_failure_exits_1_with_exact_report(
    stubbed: tuple[Any, Stubber, list[Record]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client, stub, records = stubbed
    stub.add_response(
        "put_records",
        {
            "FailedRecordCount": 2,
            "Records": [
                entry_ok(0),
                entry_failed(),
                entry_ok(2),
                entry_ok(3),
                entry_failed("InternalFailure"),
            ],
        },
        params(records),
    )
    for _ in range(2):  # attempts 2 and 3 of --max-attempts 3 fail the same two again
        stub.add_response(
            "put_records",
            {
                "FailedRecordCount": 2,
                "Records": [entry_failed(), entry_failed("InternalFailure")],
            },
            params([records[1], records[4]]),
        )
    report = tmp_path / "undelivered.jsonl"
    slept: list[float] = []
    argv = [
        "--stream",
        "events",
        "--digits",
        "--limit",
        "5",
        "--base-time",
        "2026-11-29T01:02:03Z",
        "--max-attempts",
        "3",
        "--no-progress",
        "--undelivered-report",
        str(report),
        "--run-id",
        "t",
    ]
    code = cli(argv, client=client, backoff=Backoff(max_attempts=3, sleep=slept.append))
    assert code == 1
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert lines == [
        {
            "row": 2,
            "event_id": "digits-t-000001",
            "error_code": "ProvisionedThroughputExceededException",
            "error_message": "ProvisionedThroughputExceededException for this record",
        },
        {
            "row": 5,
            "event_id": "digits-t-000004",
            "error_code": "InternalFailure",
            "error_message": "InternalFailure for this record",
        },
    ]
    out = "".join(capsys.readouterr())
    assert "sent 3/5 records" in out and "2 failed" in out
    assert (
        "2 records not delivered: digits-t-000001 (ProvisionedThroughputExceededException), "
        "digits-t-000004 (InternalFailure)"
    ) in out
    assert len(slept) == 2


def test_whole_call_throttling_is_retried_with_backoff(
    stubbed: tuple[Any, Stubber, list[Record]],
) -> None:
    client, stub, records = stubbed
    stub.add_client_error(
        "put_records",
        "ProvisionedThroughputExceededException",
        "Rate exceeded",
        400,
        expected_params=params(records),
    )
    stub.add_client_error(
        "put_records", "ThrottlingException", "slow down", 400, expected_params=params(records)
    )
    stub.add_response(
        "put_records",
        {  # FailedRecordCount omitted: the model says min 1
            "Records": [entry_ok(i) for i in range(5)]
        },
        params(records),
    )
    backoff, slept = no_sleep()
    result = send_batches(client, "events", [records], backoff)
    assert (result.sent, result.throttled_calls, result.retried, result.failed) == (5, 2, 10, 0)
    assert len(slept) == 2 and slept[0] <= 0.1 and slept[1] <= 0.2


def test_throttling_that_never_ends_reports_all_records(
    stubbed: tuple[Any, Stubber, list[Record]],
) -> None:
    client, stub, records = stubbed
    for _ in range(4):
        stub.add_client_error(
            "put_records",
            "ProvisionedThroughputExceededException",
            "Rate exceeded",
            400,
            expected_params=params(records),
        )
    result = send_batches(client, "events", [records], no_sleep()[0])
    assert result.sent == 0
    assert [(u.event_id, u.error_code) for u in result.undelivered] == [
        (r.event_id, "ProvisionedThroughputExceededException") for r in records
    ]
