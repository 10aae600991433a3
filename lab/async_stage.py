"""The lab's async stage: Digits rows queued on a local async endpoint, checked against the
real-time endpoint on the same model and against the known labels.

Each row is one request through ``labctl invoke --async``'s own path (upload to the local
bucket, InvokeEndpointAsync over HTTP, poll the output location); a malformed row must land
in the failure location. ``round_trips`` is what ``benchmarks/bench_async.py`` times.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from lab.endpoint import LocalEndpoint
from lab.registry import settings_from_registry
from ops.errors import OperationFailed
from ops.invoke_async import LOCAL_BUCKET, LocalBucket, invoke_async, local_bucket_root


def round_trips(
    workdir: Path, endpoint_name: str, rows: int, poll_seconds: float = 0.01
) -> tuple[list[float], list[int], list[int]]:
    """(seconds per request, async answers, real-time answers) for the first ``rows`` Digits
    test rows, one async request each, sent one after the other."""
    from ops.invoke import digits_test_rows, invoke_rows, local_client
    from ops.payload import encode_rows, parse_predictions

    x, _ = digits_test_rows(rows)
    real_time = LocalEndpoint(
        settings_from_registry(workdir, "real_time", endpoint_name=endpoint_name)
    )
    asynchronous = LocalEndpoint(
        settings_from_registry(workdir, "async", endpoint_name=endpoint_name)
    )
    bucket = LocalBucket(local_bucket_root(workdir))
    (bucket.root / LOCAL_BUCKET).mkdir(parents=True, exist_ok=True)
    prefix = f"s3://{LOCAL_BUCKET}/async/input/{endpoint_name}/"
    with real_time, asynchronous:
        expected = [int(v) for v in invoke_rows(local_client(real_time.url), endpoint_name, x)]
        runtime = local_client(asynchronous.url)
        seconds, answers = [], []
        for row in x:
            start = time.perf_counter()
            answer = invoke_async(
                runtime,
                bucket,
                endpoint_name,
                encode_rows(row[None, :], "text/csv"),
                input_location=prefix,
                content_type="text/csv",
                accept="text/csv",
                timeout_seconds=60,
                poll_seconds=poll_seconds,
                progress=lambda line: None,
            )
            seconds.append(time.perf_counter() - start)
            answers += [int(v) for v in parse_predictions(answer.body, "text/csv")]
        try:
            invoke_async(
                runtime,
                bucket,
                endpoint_name,
                b"1,2,3\n",
                input_location=prefix,
                content_type="text/csv",
                accept="text/csv",
                timeout_seconds=60,
                poll_seconds=poll_seconds,
                progress=lambda line: None,
            )
        except OperationFailed as err:
            if "could not answer" not in str(err):
                raise
        else:
            raise OperationFailed("a 3-column async request was answered, expected a failure")
    return seconds, answers, expected


def lab_async(workdir: Path, endpoint_name: str, rows: int = 20) -> str:
    from ops.invoke import digits_test_rows

    seconds, answers, expected = round_trips(workdir, endpoint_name, rows)
    if answers != expected:
        wrong = sum(a != e for a, e in zip(answers, expected, strict=True))
        raise OperationFailed(f"async: {wrong} of {rows} answers differ from the real-time ones")
    labels = digits_test_rows(rows)[1]
    right = sum(int(a) == int(label) for a, label in zip(answers, labels, strict=True))
    return (
        f"async: {rows} requests queued through the local bucket, each answered once and equal "
        f"to the real-time endpoint ({right}/{rows} match the labels); median round trip "
        f"{statistics.median(seconds) * 1000:.0f} ms; a 3-column row -> failure file"
    )
