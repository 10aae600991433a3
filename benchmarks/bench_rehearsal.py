"""Rehearsal wall time on one synthesized profile: median of N runs of each part.

    .venv/bin/python benchmarks/bench_rehearsal.py [--profile prod-like] [--runs 5]

The profile is synthesized once (example release, no compliance packs); then each run times
the authority + SageMaker-rules part (what ``labctl synth`` runs) and cfn-lint with the
informational rules over every template (what ``make test`` adds per distinct template).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from any folder
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_VALIDATION", "false")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="prod-like")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from assurance.rehearsal import rehearse
    from assurance.rehearsal.assembly import Assembly
    from assurance.rehearsal.rules import lint
    from core.config import load_profile
    from infra.platform import synth_templates

    config = load_profile(args.profile)
    with tempfile.TemporaryDirectory() as outdir:
        templates = synth_templates(config, outdir)
    assembly = Assembly(templates, config.account, config.region)
    parts: dict[str, list[float]] = {"authority + rules": [], "cfn-lint": []}
    for run in range(args.runs):
        started = time.perf_counter()
        report = rehearse(assembly, lint=False)
        parts["authority + rules"].append(time.perf_counter() - started)
        started = time.perf_counter()
        for name, template in assembly.templates.items():
            lint(name, json.dumps(template), assembly.region)
        parts["cfn-lint"].append(time.perf_counter() - started)
        print(
            f"run {run + 1}/{args.runs}: "
            + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in parts.items()),
            flush=True,
        )
    print(
        f"profile {args.profile} ({len(assembly.templates)} templates, "
        f"{len(report.requirements)} requirements): "
        + "; ".join(f"{k} median {statistics.median(v):.2f} s" for k, v in parts.items())
        + f" over {args.runs} runs"
    )


if __name__ == "__main__":
    main()
