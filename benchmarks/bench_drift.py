"""Drift job throughput on this machine: capture records (SageMaker's JSONL, one Digits row
each, CSV encoding as the endpoint captures it) through summarize + judge, median of N runs.

Run: python benchmarks/bench_drift.py [--runs 5] [--records 20000]
One process, one core: the cloud job shards its input by S3 key across instances and merges
the per-shard histograms, so its throughput scales with monitoring.instance_count.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from any folder

from model_code import drift  # noqa: E402
from tests.model_code.drift_fixture import T0, sample, write_baseline, write_capture  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--records", type=int, default=20000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-drift-"))
    x, y = sample(args.records, 1)
    # 20,000 records 0.5 s apart: about 3 hours of capture, so hour folders are crossed too.
    root = write_capture(folder / "cap", x, y, step=timedelta(seconds=0.5))
    baseline = drift.load_baseline(write_baseline(folder))
    window = drift.Window(T0, T0 + timedelta(days=1))
    rates = []
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        summary = drift.summarize_capture(drift.capture_files(root, window), baseline, window)
        report = drift.judge(summary, baseline, drift.Thresholds(), window)
        elapsed = time.perf_counter() - started
        if summary.rows != args.records or report["status"] != "no_drift":
            raise SystemExit(f"run {run}: {summary.rows} rows, status {report['status']}")
        rates.append(args.records / elapsed)
        print(f"run {run}: {elapsed:.2f} s, {rates[-1]:,.0f} records/s")
    print(
        f"drift job: median {statistics.median(rates):,.0f} records/s over {args.runs} runs "
        f"({args.records} single-row capture records, summarize + judge, one core)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
