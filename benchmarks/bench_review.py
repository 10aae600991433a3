"""What `make review` costs beyond the synth: median of N reviews of one existing assembly.

    .venv/bin/python benchmarks/bench_review.py [--profile lab] [--runs 5]

Synthesizes the profile once (example release, as `make review` does without a release
file), then times `labctl review --assembly` in a fresh process per run: reading the
assembly, every section, the diagram laid out twice (SVG, PNG), HTML and Markdown written.
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
    args = parser.parse_args()
    labctl = [sys.executable, "-m", "labctl"]
    with tempfile.TemporaryDirectory() as work:
        assembly = f"{work}/assembly"
        subprocess.run(
            [
                *labctl,
                "synth",
                "--profile",
                args.profile,
                "--outdir",
                assembly,
                "--release",
                "example",
            ],
            check=True,
            capture_output=True,
        )
        times = []
        for run in range(args.runs):
            started = time.perf_counter()
            subprocess.run(
                [
                    *labctl,
                    "review",
                    "--profile",
                    args.profile,
                    "--assembly",
                    assembly,
                    "--out",
                    f"{work}/review{run}",
                ],
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - started)
            print(f"run {run + 1}/{args.runs}: {times[-1]:.2f} s", flush=True)
    print(
        f"profile {args.profile}: review beyond the synth, median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}) over {args.runs} runs"
    )


if __name__ == "__main__":
    main()
