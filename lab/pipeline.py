"""The training pipeline run on this machine: the definition rendered with the SageMaker SDK
(offline) and executed by pipelines.local.executor, raw events from <workdir>/lake/raw, outputs
of each execution in <workdir>/pipeline/executions/<id>/, the model registry in
<workdir>/registry, and the lab's champion (the newest Approved version) for the gate.
``labctl pipeline run --local`` and the lab's train stage call ``run_local_pipeline``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab.paths import REPO, lake_quarantine, lake_raw
from ops.errors import UsageError

if TYPE_CHECKING:
    from pipelines.local.executor import RunResult
    from pipelines.training_pipeline import PipelineSettings


def default_mounts(workdir: Path, settings: PipelineSettings) -> dict[str, Path]:
    """Which S3 prefixes are which shared local folders. The pipeline's output prefix maps to
    each execution's own folder (run_local's output_prefix), never to a shared one."""
    raw_bucket = settings.input_data_url.removeprefix("s3://").split("/", 1)[0]
    return {
        f"s3://{raw_bucket}/": lake_raw(workdir),
        settings.code + "/": REPO / "model_code",
        # <workdir>/lake/quarantine/<execution id>/: what the data-quality gate did not keep
        settings.quarantine_prefix + "/": lake_quarantine(workdir),
    }


LOCAL_CHAMPION = "s3://local-champion/"


def local_champion(workdir: Path, group: str) -> Path | None:
    """The champion in the lab: the newest Approved version of ``group`` in the local
    registry (not the newest version: a pending or rejected one is no champion), its artifact
    resolved against ``workdir`` (where the registry's relative paths start), not the current
    folder. UsageError when that version's artifact is gone: a gate without its champion
    would silently fall back to the threshold alone."""
    from lab.registry import LocalRegistry
    from pipelines.local import registry_file

    local = LocalRegistry(Path(workdir), xgboost_group=group)
    try:
        registry = local.read()
    except FileNotFoundError:
        return None
    except registry_file.RegistryFileError as err:
        raise UsageError(str(err)) from err
    versions = registry["groups"].get(group, {}).get("versions", [])
    approved = [v for v in versions if v.get("approval_status") == "Approved"]
    if not approved:
        return None
    newest = max(approved, key=lambda v: int(v["version"]))
    artifact = local.artifact(newest)
    if not artifact.is_file():
        raise UsageError(
            f"the champion, {group} version {newest['version']} (newest Approved), has no "
            f"artifact at {artifact}: restore it, or reject that version with `labctl model "
            f"reject --local --group {group} --version {newest['version']}`"
        )
    return artifact


def run_local_pipeline(
    workdir: Path,
    parameter_overrides: dict[str, Any] | None = None,
    *,
    settings: PipelineSettings | None = None,
    definition: dict[str, Any] | None = None,
    log: Callable[[str], None] = print,
) -> RunResult:
    """Render (or take) the definition and run it; returns the executor's RunResult.

    Raises UsageError for an unusable definition or parameter; never for a failed run
    (check result.status == "Succeeded").
    """
    from pipelines.local.executor import DefinitionError, run_local
    from pipelines.training_pipeline import PipelineSettings, render_definition

    settings = settings or PipelineSettings()
    workdir = Path(workdir).resolve()
    text = json.dumps(definition) if definition is not None else render_definition(settings)
    mounts = default_mounts(workdir, settings)
    overrides = dict(parameter_overrides or {})
    champion = local_champion(workdir, settings.xgboost_group)
    declared = {p["Name"] for p in json.loads(text).get("Parameters", [])}
    if champion is not None and "ChampionModelData" in declared:
        overrides.setdefault("ChampionModelData", LOCAL_CHAMPION + champion.name)
        mounts[LOCAL_CHAMPION] = champion.parent
        log(f"champion: {champion} (newest Approved {settings.xgboost_group} version)")
    try:
        result = run_local(
            text,
            workdir,
            overrides,
            mounts=mounts,
            output_prefix=settings.output(),
            log=log,
        )
    except DefinitionError as err:
        raise UsageError(str(err)) from err
    return result


def bias_lines(metrics: dict[str, Any] | None) -> list[str]:
    """One line each for CI, DPL (the largest |DPL| over the classes) and AD, from the
    evaluation report's ``bias`` section; none when the report has no such section. Printed
    after the summary line (never in the run's log, whose last line is a failure's alert)."""
    section = (metrics or {}).get("bias")
    if not section:
        return []
    pre, bounds = section["pretraining"], section.get("bounds") or {}
    worst = max(pre["DPL"], key=lambda c: abs(pre["DPL"][c]))
    facet = f"facet d: {section['facet']} in {', '.join(section['facet_values'])}"
    lines = [
        f"bias CI  {pre['CI']:+.4f} (bound |CI| <= {bounds.get('max_abs_ci', '?')}; {facet}, "
        f"n_a {pre['n_a']}, n_d {pre['n_d']})",
        f"bias DPL {pre['DPL'][worst]:+.4f} at class {worst}, the largest |DPL| of "
        f"{len(pre['DPL'])} classes (bound |DPL| <= {bounds.get('max_abs_dpl', '?')})",
    ]
    ads = [
        f"{name} {section[name]['AD']:+.4f} (accuracy a {section[name]['accuracy']['a']:.4f}, "
        f"d {section[name]['accuracy']['d']:.4f})"
        for name in ("xgboost", "baseline")
        if name in section
    ]
    lines.append("bias AD  " + ", ".join(ads) + " (ACC_a - ACC_d on the test split)")
    return lines


# What one run's accuracy should be read against: measured by benchmarks/bench_accuracy.py
# (5 split seeds x 2 tuner seeds, 20 tuning jobs each); rerun it after changing the model.
EXPECTED_ACCURACY = {"mean": 0.9656, "sd": 0.0046, "min": 0.9593, "max": 0.9704, "runs": 10}


def summary_line(result: RunResult) -> str:
    line = f"pipeline {result.status} in {result.seconds:.1f} s"
    if result.best_job:
        line += f", best {result.best_job['TrainingJobName']}"
    if result.metrics:
        accs = {
            name: result.metrics[name]["multiclass_classification_metrics"]["accuracy"]["value"]
            for name in ("xgboost", "champion", "baseline")
            if result.metrics.get(name)
        }
        line += ", this run's test accuracy " + ", ".join(f"{k} {v:.4f}" for k, v in accs.items())
        e = EXPECTED_ACCURACY
        line += (
            f" (expected xgboost {e['mean']:.3f} ± {e['sd']:.3f}, range {e['min']:.3f}–"
            f"{e['max']:.3f} over {e['runs']} seeded runs: benchmarks/bench_accuracy.py)"
        )
    return line
