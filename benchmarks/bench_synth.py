"""Synth wall time and peak memory of a whole profile through every compliance pack: median
of N runs.

    .venv/bin/python benchmarks/bench_synth.py [--profile lab] [--runs 5] [--cfn-validate]

Each run is a fresh process (``labctl synth``), as a user runs it. Peak memory is the largest
sum of resident memory over the process tree (Python + the jsii Node process), sampled every
20 ms. ``--cfn-validate`` adds CDK's built-in CloudFormation validation plugin (what
``make synth`` and ``make deploy`` run); without it, the inner loop's synth (``make lab``,
``labctl synth``). The 1-minute load average is printed before and after: the figures are
only comparable at a similar load.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import psutil


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # exited between listing and reading
            total += p.memory_info().rss
    return total


def run_once(command: list[str]) -> tuple[float, int]:
    """(wall seconds, peak tree RSS in bytes) of one run of ``command``."""
    seconds, peak, _cpu = run_measured(command)
    return seconds, peak


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(command: list[str]) -> tuple[float, int, float]:
    """(wall seconds, peak tree RSS in bytes, CPU seconds) of one run of ``command``. CPU is
    user + sys of the process and the children it waited for (the jsii Node process: jsii
    waits for it at exit), as /usr/bin/time counts it; unlike wall time it hardly moves
    with the machine's load."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proc = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        with contextlib.suppress(psutil.Error):
            peak = max(peak, _tree_rss(proc))
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {child.stderr.read().decode()[-2000:]}")
    return seconds, peak, _children_cpu() - cpu_before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="lab")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--release", default="example", help="'example' synthesizes the serving stacks too"
    )
    parser.add_argument(
        "--cfn-validate",
        action="store_true",
        help="with CDK's built-in CloudFormation validation (make synth / make deploy)",
    )
    args = parser.parse_args()
    times, peaks = [], []
    load_before = os.getloadavg()[0]
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as outdir:
            command = [
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
            ]
            if args.cfn_validate:
                command.append("--cfn-validate")
            seconds, peak = run_once(command)
            times.append(seconds)
            peaks.append(peak / 2**20)
            print(f"run {run + 1}/{args.runs}: {seconds:.2f} s, {peaks[-1]:.0f} MiB", flush=True)
    mode = "with" if args.cfn_validate else "without"
    print(
        f"profile {args.profile} ({mode} CloudFormation validation): median "
        f"{statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f}), "
        f"peak memory median {statistics.median(peaks):.0f} MiB over {args.runs} runs; "
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )


if __name__ == "__main__":
    main()
