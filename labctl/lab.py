"""labctl lab: the local lab, a sequence of stages that need no AWS account.

Each stage takes the shared LabContext and returns a one-line result. Later capabilities
add stages to STAGES; ``--only`` and ``--skip`` select them by name.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from labctl.errors import OperationFailed, UsageError


@dataclass
class LabContext:
    profile: str
    workdir: Path
    results: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    name: str
    description: str
    run: Callable[[LabContext], str]


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

    from infra.config import load_profile
    from infra.cost.idle import idle_cost
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
    cost = idle_cost(templates, config.region)
    print(render(ctx.profile, config.serving.kind, cost))
    return f"idle ${cost.daily_usd:.2f}/day, ${cost.monthly_usd:.2f}/month (prices of {cost.as_of})"


def _ingest_stage(ctx: LabContext) -> str:
    from labctl.ingest import lab_ingest

    summary = lab_ingest(ctx.workdir)
    ctx.results["ingest"] = summary
    return summary.one_line()


def _train_stage(ctx: LabContext) -> str:
    from infra.config import load_profile
    from infra.training.settings import pipeline_settings
    from labctl.pipeline_local import run_local_pipeline, summary_line

    # The profile's settings, so the local run executes the definition the stack deploys.
    result = run_local_pipeline(ctx.workdir, settings=pipeline_settings(load_profile(ctx.profile)))
    ctx.results["train"] = result
    if result.status != "Succeeded":
        raise OperationFailed(f"local pipeline failed: {result.failure}")
    return summary_line(result)


def _serve_stage(ctx: LabContext) -> str:
    from infra.config import load_profile
    from labctl.serve import lab_serve

    config = load_profile(ctx.profile)
    s = config.serving
    return lab_serve(
        ctx.workdir, s.kind, s.data_capture, s.capture_sampling_percent, config.endpoint_name
    )


def _monitor_stage(ctx: LabContext) -> str:
    from infra.config import load_profile
    from labctl.monitor import lab_monitor

    config = load_profile(ctx.profile)
    if config.monitoring.engine == "none":
        return "skipped: the profile sets monitoring.engine='none'"
    return lab_monitor(ctx.workdir, config.endpoint_name, config.monitoring.drift_threshold)


STAGES: list[Stage] = [
    Stage("synth", "synthesize every stack through all compliance packs", _synth_stage),
    Stage("cost", "price what the synthesized copy bills per day and month when idle", _cost_stage),
    Stage("ingest", "write the Digits events into lake/raw in the Firehose layout", _ingest_stage),
    Stage("train", "run the rendered training pipeline definition locally", _train_stage),
    Stage("serve", "serve the registered models locally and invoke them with boto3", _serve_stage),
    Stage("monitor", "normal then drifted traffic, the drift job on the capture", _monitor_stage),
]


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
    ctx = LabContext(profile=args.profile, workdir=Path(args.workdir))
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
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("lab", help="run the local lab (no AWS account needed)")
    parser.add_argument("--profile", default="lab")
    parser.add_argument("--workdir", default=".lab", help="where every output lands")
    parser.add_argument("--only", help="comma-separated stage names to run")
    parser.add_argument("--skip", help="comma-separated stage names to skip")
    parser.set_defaults(handler=run)
