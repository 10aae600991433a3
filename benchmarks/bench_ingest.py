"""Ingest from a file into the local lake: peak memory and records/s, and the wide-header case.

Each run is a fresh ``python -m labctl ingest --file F --local-lake DIR`` process; its peak
resident memory comes from ``os.wait4`` (ru_maxrss of that child alone). Median of N runs.

Run: python benchmarks/bench_ingest.py [--rows 200000] [--runs 5] [--wide-columns 20000]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(0)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([f"pixel_{i}" for i in range(64)] + ["label"])
        for _ in range(rows):
            writer.writerow([rng.randint(0, 16) for _ in range(64)] + [rng.randint(0, 9)])


def write_wide(path: Path, columns: int) -> None:
    # The header alone is the problem: one data row keeps the file tiny.
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([f"c{i}" for i in range(columns)])
        writer.writerow(["1"] * columns)


def one_run(argv: list[str]) -> tuple[float, int, int]:
    """(seconds, peak RSS in KiB, exit code) of one labctl process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "labctl", *argv],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    assert process.stderr is not None
    process.stderr.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss, process.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--wide-columns", type=int, default=20_000)
    parser.add_argument("--wide-runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        data = base / "events.csv"
        write_csv(data, args.rows)
        size_mib = data.stat().st_size / 2**20
        seconds, peaks = [], []
        for run in range(args.runs):
            lake = base / f"lake-{run}"
            took, peak, code = one_run(
                ["ingest", "--stream", "bench", "--file", str(data), "--local-lake", str(lake)]
                + ["--rejected-report", str(base / f"rejected-{run}.jsonl")]
            )
            if code != 0:
                raise SystemExit(f"run {run}: labctl exited {code}")
            seconds.append(took)
            peaks.append(peak)
        median = statistics.median(seconds)
        print(
            f"ingest {args.rows:,} rows ({size_mib:.1f} MiB CSV) to the local lake, "
            f"median of {args.runs}: {median:.2f} s, {args.rows / median:,.0f} records/s, "
            f"peak RSS {statistics.median(peaks) / 1024:,.0f} MiB"
        )
        wide = base / "wide.csv"
        write_wide(wide, args.wide_columns)
        times = []
        for _ in range(args.wide_runs):
            took, _, code = one_run(["ingest", "--stream", "bench", "--file", str(wide)])
            if code != 2:
                raise SystemExit(f"wide header: expected exit 2 (not 64 features), got {code}")
            times.append(took)
        print(
            f"wide header ({args.wide_columns:,} columns, refused with exit 2), median of "
            f"{args.wide_runs}: {statistics.median(times):.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
