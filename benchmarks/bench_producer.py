"""Producer throughput against moto: the 1,797 Digits events through prepare, plan_batches
and send_batches into an in-process Kinesis stream, median records/s of 5 runs.

Run: python benchmarks/bench_producer.py [--runs 5] [--shards 4]
Measures the producer plus moto's in-process handling; real Kinesis adds network latency.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from any folder

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from ops.producer import Backoff, digits_events, plan_batches, prepare, send_batches  # noqa: E402


def one_run(shards: int, run: int) -> tuple[float, float, int]:
    """(end-to-end records/s, send-only records/s, calls) for one fresh stream."""
    events = digits_events(base_time=datetime(2026, 11, 29, tzinfo=UTC))
    with mock_aws():
        client = boto3.client("kinesis", region_name="us-east-1")
        stream = f"bench-{run}"
        client.create_stream(StreamName=stream, ShardCount=shards)
        started = time.perf_counter()
        records, rejected = prepare(events)
        batches = plan_batches(records)
        result = send_batches(client, stream, batches, Backoff(sleep=lambda _: None))
        total = time.perf_counter() - started
    if rejected or result.undelivered or result.sent != len(events):
        raise SystemExit(f"run {run}: records lost ({result.sent}/{len(events)} sent)")
    return len(events) / total, result.rate, result.calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--shards", type=int, default=4)
    args = parser.parse_args()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    runs = [one_run(args.shards, i) for i in range(args.runs)]
    for i, (total, send, calls) in enumerate(runs, 1):
        print(
            f"run {i}: {total:8,.0f} records/s end-to-end, {send:8,.0f} records/s send, "
            f"{calls} PutRecords calls"
        )
    print(
        f"median of {args.runs}: {statistics.median(r[0] for r in runs):,.0f} records/s "
        f"end-to-end (validate + encode + batch + send), "
        f"{statistics.median(r[1] for r in runs):,.0f} records/s send-only; "
        f"1797 Digits events, {args.shards} shards, moto in-process"
    )


if __name__ == "__main__":
    main()
