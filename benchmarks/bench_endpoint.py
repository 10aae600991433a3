"""Local endpoint latency: warm single-record CSV invocations and MME cold loads.

Run: ``python benchmarks/bench_endpoint.py [--workdir .lab] [--requests 2000]``. Uses the lab
registry when present, else trains small stand-in models. Goals: p99 < 10 ms, cold < 100 ms.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.endpoint import LocalEndpoint, ModelCache  # noqa: E402
from lab.endpoint.fixtures import build_registry  # noqa: E402
from lab.registry import settings_from_registry  # noqa: E402
from ops.invoke import digits_test_rows, local_client  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def http_latency(
    endpoint: LocalEndpoint, body: str, n: int, extra: dict[str, str] | None = None
) -> tuple[list[float], float]:
    conn = http.client.HTTPConnection(endpoint.url.removeprefix("http://"))
    headers = {"Content-Type": "text/csv", "Accept": "text/csv", **(extra or {})}
    for _ in range(50):  # warm-up: connection, allocator, first-call paths
        conn.request("POST", "/invocations", body=body, headers=headers)
        conn.getresponse().read()
    times = []
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        conn.request("POST", "/invocations", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        times.append(time.perf_counter() - t0)
        assert response.status == 200
    return times, n / (time.perf_counter() - started)


def boto3_latency(endpoint: LocalEndpoint, body: str, n: int) -> list[float]:
    client = local_client(endpoint.url)
    times = []
    for i in range(n + 20):
        t0 = time.perf_counter()
        client.invoke_endpoint(EndpointName=endpoint.name, Body=body, ContentType="text/csv")
        if i >= 20:
            times.append(time.perf_counter() - t0)
    return times


def cold_loads(workdir: Path) -> dict[str, float]:
    folder = settings_from_registry(workdir, "multi_model").model_folder
    assert folder is not None
    cache = ModelCache(folder, max_models=1)
    seconds = {}
    for name in cache.available():
        t0 = time.perf_counter()
        cache.get(name)
        seconds[name] = time.perf_counter() - t0
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=".lab")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--boto3-requests", type=int, default=300)
    args = parser.parse_args()
    workdir = Path(args.workdir)
    if not (workdir / "registry" / "registry.json").is_file():
        workdir = Path(tempfile.mkdtemp(prefix="bench-endpoint-"))
        build_registry(workdir, xgboost_versions=3)
        print(f"no registry in {args.workdir}: using stand-in models in {workdir}")
    body = ",".join(str(int(v)) for v in digits_test_rows(1)[0][0])
    ms = 1000.0
    for capture in (False, True):
        capture_dir = workdir / "bench-capture" if capture else None
        settings = settings_from_registry(workdir, "real_time", capture_dir=capture_dir)
        with LocalEndpoint(settings) as endpoint:
            times, rps = http_latency(endpoint, body, args.requests)
            label = "capture on " if capture else "capture off"
            print(
                f"real_time http.client keep-alive, {label}: {args.requests} requests  "
                f"p50 {percentile(times, 50) * ms:.2f} ms  p99 {percentile(times, 99) * ms:.2f}"
                f" ms  max {max(times) * ms:.2f} ms  {rps:.0f} req/s"
            )
            if not capture and args.boto3_requests:
                b3 = boto3_latency(endpoint, body, args.boto3_requests)
                print(
                    f"real_time boto3 invoke_endpoint: {len(b3)} requests  "
                    f"p50 {percentile(b3, 50) * ms:.2f} ms  p99 {percentile(b3, 99) * ms:.2f} ms"
                )
    # Multi-container: the baseline answers through its entry point (input_fn, predict_fn,
    # output_fn imported from the archive), the XGBoost container through the built-in path.
    with LocalEndpoint(settings_from_registry(workdir, "multi_container")) as endpoint:
        for host in ("xgboost", "baseline"):
            header = {"X-Amzn-SageMaker-Target-Container-Hostname": host}
            times, rps = http_latency(endpoint, body, args.requests, header)
            print(
                f"multi_container {host}: {args.requests} requests  "
                f"p50 {percentile(times, 50) * ms:.2f} ms  p99 {percentile(times, 99) * ms:.2f}"
                f" ms  {rps:.0f} req/s"
            )
    loads = cold_loads(workdir)
    for name, seconds in loads.items():
        print(f"MME cold load {name}: {seconds * ms:.1f} ms")
    print(
        f"MME cold load median over {len(loads)} models: "
        f"{statistics.median(loads.values()) * ms:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
