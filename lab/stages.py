"""The local lab's stages after synth and cost: ingest, train, serve, async, batch and monitor.

Each takes the shared LabContext and returns a one-line result; ``labctl lab`` (labctl/lab.py)
lists them with the synth and cost stages (those synthesize the CDK app, which only the CLI
may import) and runs the ones ``--only`` / ``--skip`` select.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from lab.paths import lake_raw
from ops.errors import OperationFailed

if TYPE_CHECKING:
    from ops.producer import LakeSummary


@dataclass
class LabContext:
    profile: str
    workdir: Path
    results: dict[str, object] = field(default_factory=dict)
    keep_runs: int = 5


@dataclass(frozen=True)
class Stage:
    name: str
    description: str
    run: Callable[[LabContext], str]


def ingest_stage(ctx: LabContext) -> str:
    summary = lab_ingest(ctx.workdir)
    ctx.results["ingest"] = summary
    return summary.one_line()


def train_stage(ctx: LabContext) -> str:
    from core.config import load_profile
    from core.pipeline_settings import pipeline_settings
    from lab.pipeline import bias_lines, run_local_pipeline, summary_line
    from lab.registry import LocalRegistry

    # The profile's settings, so the local run executes the definition the stack deploys,
    # registering into the local registry's groups (the profile's base names; the cloud's
    # carry the env prefix), which the serve and monitor stages then serve.
    config = load_profile(ctx.profile)
    settings = LocalRegistry.for_profile(ctx.workdir, config).pipeline_settings(
        pipeline_settings(config)
    )
    result = run_local_pipeline(ctx.workdir, settings=settings)
    ctx.results["train"] = result
    if result.status != "Succeeded":
        raise OperationFailed(f"local pipeline failed: {result.failure}")
    for bias_line in bias_lines(result.metrics):  # CI, DPL, AD: one line each
        print(bias_line)
    approve_registered(ctx.workdir, result.execution_id)
    pruned = prune_executions(ctx.workdir, ctx.keep_runs)
    line = summary_line(result)
    return line + (f"; pruned the outputs of {pruned} older run(s)" if pruned else "")


def approve_registered(workdir: Path, execution_id: str) -> list[str]:
    """Approve the versions this lab run just registered, saying so.

    The serve stage serves Approved versions only, as the cloud endpoint does. In the cloud a
    person approves (`labctl model approve`); the lab has no reviewer, and it has just seen the
    quality gate pass, so it approves its own run's versions explicitly and prints each one.
    Versions from other runs are left as they are.
    """
    from lab.registry import LocalRegistry, record_status

    description = f"approved by labctl lab after local run {execution_id} passed its gate"

    def change(registry: dict[str, object]) -> list[str]:
        approved = []
        for group, entry in sorted(registry["groups"].items()):  # type: ignore[attr-defined]
            for version in entry["versions"]:
                if (
                    version.get("pipeline_execution") == execution_id
                    and version.get("approval_status") == "PendingManualApproval"
                ):
                    record_status(version, "Approved", description, "labctl lab")
                    approved.append(f"{group} v{version['version']}")
        return approved

    approved = LocalRegistry(workdir).update(change, create=False)
    if approved:
        print(
            f"lab: approving {', '.join(approved)} (registered by this run) so the serve stage "
            "serves them; outside the lab approval is a person's `labctl model approve`"
        )
    return approved


def prune_executions(workdir: Path, keep: int) -> int:
    """Delete the outputs (tuning jobs, models, datasets) of finished local runs beyond the
    newest ``keep``; their reports and every registered artifact stay. Returns how many runs
    were pruned. A run still executing has no report/run.json yet and is never touched."""
    from lab.registry import LocalRegistry
    from pipelines.local import registry_file

    executions = workdir / "pipeline" / "executions"
    finished = sorted(
        (p for p in executions.glob("local-*") if (p / "report" / "run.json").is_file()),
        key=lambda p: p.name,  # ids start with the UTC time: name order is age order
    )
    old = [p for p in finished[: max(0, len(finished) - keep)] if not (p / ".pruned").exists()]
    if not old:
        return 0
    try:
        registry = LocalRegistry(workdir).read()
    except FileNotFoundError:
        registry = registry_file.empty()
    keep_files = {
        (workdir / str(v.get("artifact", ""))).resolve()
        for entry in registry["groups"].values()
        for v in entry["versions"]
    }
    for run in old:
        for path in sorted(run.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if path.is_relative_to(run / "report") or path.resolve() in keep_files:
                continue
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        (run / ".pruned").touch()
    return len(old)


def serve_stage(ctx: LabContext) -> str:
    from core.config import load_profile
    from lab.registry import LocalRegistry
    from lab.serve import lab_serve

    config = load_profile(ctx.profile)
    s = config.serving
    # An async endpoint answers no real-time call: its model is checked here in real time,
    # its queue by the async stage.
    kind = "real_time" if s.kind == "async" else s.kind
    local = LocalRegistry.for_profile(ctx.workdir, config)
    line = lab_serve(
        ctx.workdir,
        kind,
        s.data_capture,
        s.capture_sampling_percent,
        config.endpoint_name,
        (local.xgboost_group, local.baseline_group),
    )
    if s.data_capture and kind != "serverless":  # a captured prediction back to raw events
        from lab.lineage import lab_lineage

        line += "; " + lab_lineage(ctx.workdir, config.endpoint_name, kind)
    return line


def async_stage(ctx: LabContext) -> str:
    from core.config import load_profile
    from lab.async_stage import lab_async

    return lab_async(ctx.workdir, load_profile(ctx.profile).endpoint_name)


def batch_stage(ctx: LabContext) -> str:
    from core.config import load_profile
    from lab.batch import lab_batch

    config = load_profile(ctx.profile)
    return lab_batch(ctx.workdir, config.endpoint_name, config.serving.data_capture)


def monitor_stage(ctx: LabContext) -> str:
    from core.config import load_profile
    from lab.monitor import lab_monitor
    from lab.registry import LocalRegistry

    config = load_profile(ctx.profile)
    if config.monitoring.engine == "none":
        return "skipped: the profile sets monitoring.engine='none'"
    local = LocalRegistry.for_profile(ctx.workdir, config)
    return lab_monitor(
        ctx.workdir,
        config.endpoint_name,
        config.monitoring.drift_threshold,
        groups=(local.xgboost_group, local.baseline_group),
    )


LAB_STREAM = "digits-events"


def lab_ingest(
    workdir: Path, stream_name: str = LAB_STREAM, base_time: datetime | None = None
) -> LakeSummary:
    """Lab stage body: the Digits events into <workdir>/lake/raw/ in the Firehose layout.

    Objects an earlier lab run wrote for this stream are removed first, so re-running the
    lab does not double the raw zone (a real stream would append instead).
    """
    from ops.producer import digits_events, new_run_id, write_local_lake

    lake = lake_raw(workdir)
    for old in (lake / "events").rglob(f"{stream_name}-1-*.gz"):
        old.unlink()
    events = digits_events(base_time=base_time, run_id=new_run_id())
    summary = write_local_lake(events, lake, stream_name)
    if summary.rejected:  # Digits always validates; a failure here is a schema regression
        raise OperationFailed(f"{len(summary.rejected)} Digits events failed validation")
    return summary
