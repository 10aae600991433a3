"""Ingest from a file into the local lake: peak memory and records/s, and the wide-header case.

Each run is a fresh ``python -m labctl ingest --file F --local-lake DIR`` process; its peak
resident memory comes from ``os.wait4`` (ru_maxrss of that child alone). Median of N runs.
``--repo`` (repeatable) runs other checkouts too, interleaved run by run, so a before/after
comparison on a shared machine sees the same load.

Run: python benchmarks/bench_ingest.py [--rows 200000] [--runs 5] [--wide-columns 20000]
     [--repo /path/to/old/checkout --repo .]
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


def one_run(argv: list[str], repo: Path = REPO) -> tuple[float, int, int]:
    """(seconds, peak RSS in KiB, exit code) of one labctl process of checkout ``repo``."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "labctl", *argv],
        env=env,
        cwd=repo,
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
    parser.add_argument("--repo", action="append", type=Path, help="checkout(s) to measure")
    args = parser.parse_args()
    repos = [r.resolve() for r in args.repo or [REPO]]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        data = base / "events.csv"
        write_csv(data, args.rows)
        size_mib = data.stat().st_size / 2**20
        seconds: dict[Path, list[float]] = {r: [] for r in repos}
        peaks: dict[Path, list[int]] = {r: [] for r in repos}
        for run in range(args.runs):
            for number, repo in enumerate(repos):
                lake = base / f"lake-{number}-{run}"
                took, peak, code = one_run(
                    ["ingest", "--stream", "bench", "--file", str(data), "--local-lake", str(lake)]
                    + ["--rejected-report", str(base / f"rejected-{number}-{run}.jsonl")],
                    repo,
                )
                if code != 0:
                    raise SystemExit(f"{repo} run {run}: labctl exited {code}")
                seconds[repo].append(took)
                peaks[repo].append(peak)
        for repo in repos:
            median = statistics.median(seconds[repo])
            print(
                f"{repo}: ingest {args.rows:,} rows ({size_mib:.1f} MiB CSV) to the local lake, "
                f"median of {args.runs}: {median:.2f} s, {args.rows / median:,.0f} records/s, "
                f"peak RSS {statistics.median(peaks[repo]) / 1024:,.0f} MiB"
            )
        wide = base / "wide.csv"
        write_wide(wide, args.wide_columns)
        for repo in repos:
            times = []
            for _ in range(args.wide_runs):
                took, _, code = one_run(["ingest", "--stream", "bench", "--file", str(wide)], repo)
                if code != 2:
                    raise SystemExit(f"wide header: expected exit 2 (not 64 features), got {code}")
                times.append(took)
            print(
                f"{repo}: wide header ({args.wide_columns:,} columns, refused with exit 2), "
                f"median of {args.wide_runs}: {statistics.median(times):.2f} s"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
