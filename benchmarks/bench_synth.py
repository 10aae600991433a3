"""Synth wall time of a whole profile through every compliance pack: median of N runs.

    .venv/bin/python benchmarks/bench_synth.py [--profile lab] [--runs 5]

Each run is a fresh process (``labctl synth``), as a user runs it, CloudFormation
validation plugin included.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="lab")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--release", default="example", help="'example' synthesizes the serving stacks too"
    )
    args = parser.parse_args()
    times = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as outdir:
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "labctl",
                    "synth",
                    "--profile",
                    args.profile,
                    "--outdir",
                    outdir,
                    "--release",
                    args.release,
                ],
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - started)
            print(f"run {run + 1}/{args.runs}: {times[-1]:.2f} s", flush=True)
    print(
        f"profile {args.profile}: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}) over {args.runs} runs"
    )


if __name__ == "__main__":
    main()
