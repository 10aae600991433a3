"""labctl lab: the local lab, a sequence of stages that need no AWS account.

Each stage takes the shared LabContext and returns a one-line result. Later capabilities
add stages to STAGES; ``--only`` and ``--skip`` select them by name. The synth and cost stages
are here (they synthesize the CDK app); the others are lab/stages.py.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lab.stages import (
    LabContext,
    Stage,
    async_stage,
    batch_stage,
    ingest_stage,
    monitor_stage,
    serve_stage,
    train_stage,
)
from labctl.options import add_examples, add_profile, add_workdir
from ops.errors import OperationFailed, UsageError


def _synth_stage(ctx: LabContext) -> str:
    from labctl.synth import synthesize

    # The example release stands in for an approved model so the serving stack is checked too.
    summary = synthesize(ctx.profile, ctx.workdir / "cdk.out", release="example")
    print(summary.render())
    ctx.results["synth"] = summary
    if summary.violations:
        raise OperationFailed(f"{summary.violations} unacknowledged compliance findings")
    return f"{len(summary.stacks)} stacks, {summary.resources} resources, 0 findings"


def _cost_stage(ctx: LabContext) -> str:
    import json

    from core.config import load_profile
    from core.cost import PriceError, idle_cost
    from labctl.cost import render, synthesized_templates
    from labctl.synth import SynthSummary

    config = load_profile(ctx.profile)
    synthesized = ctx.results.get("synth")
    if isinstance(synthesized, SynthSummary):  # the templates the synth stage just wrote
        templates = {
            name: json.loads((synthesized.outdir / f"{name}.template.json").read_text())
            for name in synthesized.stacks
        }
    else:
        templates = synthesized_templates(config, ctx.workdir / "cdk.out.cost")
    try:
        cost = idle_cost(templates, config.region)
    except PriceError as err:  # an unpriced region: the lab runs on, without the figure
        return f"not priced: {err}"
    print(render(ctx.profile, config.serving.kind, cost))
    return f"idle ${cost.daily_usd:.2f}/day, ${cost.monthly_usd:.2f}/month (prices of {cost.as_of})"


STAGES: list[Stage] = [
    Stage("synth", "synthesize every stack through all compliance packs", _synth_stage),
    Stage("cost", "price what the synthesized copy bills per day and month when idle", _cost_stage),
    Stage("ingest", "write the Digits events into lake/raw in the Firehose layout", ingest_stage),
    Stage("train", "run the rendered training pipeline definition locally", train_stage),
    Stage("serve", "serve the approved models locally and invoke them with boto3", serve_stage),
    Stage("async", "queue rows on a local async endpoint, compare with real time", async_stage),
    Stage("batch", "batch transform of a curated prefix, checked row by row", batch_stage),
    Stage("monitor", "normal then drifted traffic, the drift job on the capture", monitor_stage),
]


def where_things_are(ctx: LabContext) -> tuple[list[tuple[str, Path]], list[str]]:
    """(what, path) of each thing the lab left that exists now, and the next commands.

    Only paths that exist are listed, so a run of some stages lists what those wrote (and
    what earlier runs left in the same work folder)."""
    from core.config import load_profile
    from lab.monitor import DEFAULT_DRIFTS
    from lab.paths import REPO

    config = load_profile(ctx.profile)
    w = ctx.workdir
    drift = [w / "monitor" / kind / "drift.png" for kind in DEFAULT_DRIFTS]
    review = REPO / f"review.{ctx.profile}" / "review.html"
    candidates = [
        ("compliance report", w / "cdk.out" / "validation-report.json"),
        ("raw events", w / "lake" / "raw"),
        ("pipeline report", w / "pipeline" / "report"),
        ("model registry", w / "registry" / "registry.json"),
        ("batch predictions", w / "lake" / "curated" / "predictions"),
        ("capture", w / "capture" / config.endpoint_name),
        ("drift picture", next((d for d in drift if d.is_file()), drift[0])),
        ("review page", review),
    ]
    found = [(what, path) for what, path in candidates if path.exists()]
    profile = "" if ctx.profile == "lab" else f" PROFILE={ctx.profile}"
    following = []
    if not review.exists():
        following.append(f"make review{profile}   # writes {review.relative_to(REPO)}")
    following.append("labctl model list --local   # the registered versions and their approval")
    following.append("labctl model card --local   # the newest version's model card")
    following.append(f"make deploy{profile}   # the same platform in an AWS account")
    return found, following


def _print_where(ctx: LabContext) -> None:
    found, following = where_things_are(ctx)
    print("\nwhere things are:")
    width = max((len(what) for what, _ in found), default=0) + 1
    for what, path in found:
        print(f"  {what + ':':<{width}} {path}")
    print("next:")
    for command in following:
        print(f"  {command}")


def select(only: str | None, skip: str | None) -> list[Stage]:
    names = [s.name for s in STAGES]
    wanted = [n.strip() for n in only.split(",")] if only else names
    skipped = [n.strip() for n in skip.split(",")] if skip else []
    unknown = sorted(set(wanted + skipped) - set(names))
    if unknown:
        raise UsageError(f"unknown stage(s) {', '.join(unknown)}; stages: {', '.join(names)}")
    return [s for s in STAGES if s.name in wanted and s.name not in skipped]


def run(args: argparse.Namespace) -> int:
    stages = select(args.only, args.skip)
    if args.keep_runs < 1:
        raise UsageError(f"--keep-runs must be at least 1, got {args.keep_runs}")
    ctx = LabContext(profile=args.profile, workdir=Path(args.workdir), keep_runs=args.keep_runs)
    if ctx.workdir.exists() and not ctx.workdir.is_dir():
        raise UsageError(f"--workdir {ctx.workdir} is a file, not a folder")
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"local lab: profile {args.profile}, work folder {ctx.workdir}, "
        f"stages {', '.join(s.name for s in stages)}"
    )
    summary = []
    for index, stage in enumerate(stages, 1):
        print(f"\n[{index}/{len(stages)}] {stage.name}: {stage.description}")
        started = time.perf_counter()
        outcome = stage.run(ctx)
        elapsed = time.perf_counter() - started
        summary.append(f"  {stage.name:<10} {elapsed:6.1f} s  {outcome}")
    print("\nlab complete:\n" + "\n".join(summary))
    _print_where(ctx)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    stages = "\n".join(f"  {s.name:<8} {s.description}" for s in STAGES)
    parser = sub.add_parser(
        "lab",
        help="run the local lab (no AWS account needed)",
        description="Run the local lab: every stage on this machine, no AWS account.",
        epilog=f"stages, in order:\n{stages}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_profile(parser)
    add_workdir(parser)
    parser.add_argument("--only", metavar="STAGES", help="comma-separated stage names to run")
    parser.add_argument("--skip", metavar="STAGES", help="comma-separated stage names to skip")
    parser.add_argument(
        "--keep-runs",
        type=int,
        default=5,
        help="keep the tuning and step outputs of the newest N local pipeline runs (default "
        "5); older runs keep their report and registered models only",
    )
    add_examples(
        parser,
        "labctl lab",
        "labctl lab --only ingest,pipeline",
        "labctl lab --skip monitor --workdir /tmp/lab",
    )
    parser.set_defaults(handler=run)
