"""The whole-app synth against the CDK floor, in alternating pairs: median wall and CPU
seconds of each and their ratio.

    .venv/bin/python benchmarks/bench_synth_floor.py [--profile lab] [--release example] [--pairs 5]

The floor is what any CDK app in Python pays: a fresh process that imports aws_cdk and
synthesizes a one-bucket app (the jsii Node kernel starting, loading the CDK library,
writing an assembly). The synth is ``labctl synth`` as a user runs it (compliance packs and
the rehearsal included, no CloudFormation validation). Runs alternate (floor, synth, floor,
...) so a change in the machine's load hits both alike; CPU seconds (user + sys of the
process tree) are the steadier figure on a shared machine. Target (issue 23): synth <= 1.5 x
floor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

from bench_synth import run_measured

FLOOR = """
import sys
import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

app = cdk.App(outdir=sys.argv[1])
stack = cdk.Stack(app, "Floor")
s3.Bucket(stack, "Bucket")
app.synth()
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="lab")
    parser.add_argument("--release", default="example")
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    env_note = os.environ.get("PIPELINE_CACHE", "on (default)")
    load_before = os.getloadavg()[0]
    figures: dict[str, list[tuple[float, float]]] = {"floor": [], "synth": []}
    for pair in range(args.pairs):
        for name in ("floor", "synth"):
            with tempfile.TemporaryDirectory() as outdir:
                if name == "floor":
                    command = [sys.executable, "-c", FLOOR, outdir]
                else:
                    command = [
                        *(sys.executable, "-m", "labctl", "synth"),
                        *("--profile", args.profile, "--release", args.release),
                        *("--outdir", outdir),
                    ]
                wall, _peak, cpu = run_measured(command)
            figures[name].append((wall, cpu))
            print(f"pair {pair + 1}/{args.pairs} {name}: {wall:.2f} s wall, {cpu:.2f} s CPU")
    medians = {
        name: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        for name, runs in figures.items()
    }
    (floor_wall, floor_cpu), (synth_wall, synth_cpu) = medians["floor"], medians["synth"]
    print(
        f"floor (import aws_cdk + one-bucket app): median {floor_wall:.2f} s wall, "
        f"{floor_cpu:.2f} s CPU\n"
        f"labctl synth --profile {args.profile} --release {args.release}: median "
        f"{synth_wall:.2f} s wall, {synth_cpu:.2f} s CPU\n"
        f"ratio synth/floor: {synth_wall / floor_wall:.2f} wall, {synth_cpu / floor_cpu:.2f} CPU "
        f"(target <= 1.5) over {args.pairs} pairs; PIPELINE_CACHE {env_note}; "
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )


if __name__ == "__main__":
    main()
