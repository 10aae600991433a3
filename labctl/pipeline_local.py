"""labctl pipeline run --local: render the training pipeline and execute its JSON here.

The definition is rendered with the SageMaker SDK (offline) and run by
pipelines.local.executor: raw events come from <workdir>/lake/raw, outputs land in
<workdir>/pipeline, the model registry in <workdir>/registry. Cloud runs come later.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labctl.errors import OperationFailed, UsageError

if TYPE_CHECKING:
    from pipelines.local.executor import RunResult
    from pipelines.training_pipeline import PipelineSettings

REPO = Path(__file__).resolve().parent.parent


def default_mounts(workdir: Path, settings: PipelineSettings) -> dict[str, Path]:
    """Which S3 prefixes are which local folders (the rest goes to <workdir>/pipeline/s3)."""
    raw_bucket = settings.input_data_url.removeprefix("s3://").split("/", 1)[0]
    return {
        f"s3://{raw_bucket}/": workdir / "lake" / "raw",
        settings.code + "/": REPO / "model_code",
        settings.output() + "/": workdir / "pipeline",
    }


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
    (workdir / "pipeline").mkdir(parents=True, exist_ok=True)
    (workdir / "pipeline" / "definition.json").write_text(text)
    try:
        return run_local(
            text, workdir, parameter_overrides, mounts=default_mounts(workdir, settings), log=log
        )
    except DefinitionError as err:
        raise UsageError(str(err)) from err


def lab_stage(workdir: Path) -> str:
    """The lab's "train" stage: one line on success, OperationFailed when the run fails."""
    result = run_local_pipeline(workdir)
    if result.status != "Succeeded":
        raise OperationFailed(f"local pipeline failed: {result.failure}")
    return summary_line(result)


def summary_line(result: RunResult) -> str:
    line = f"pipeline {result.status} in {result.seconds:.1f} s"
    if result.best_job:
        line += f", best {result.best_job['TrainingJobName']}"
    if result.metrics:
        accs = {
            name: result.metrics[name]["multiclass_classification_metrics"]["accuracy"]["value"]
            for name in ("xgboost", "baseline")
            if name in result.metrics
        }
        line += ", test accuracy " + ", ".join(f"{k} {v:.4f}" for k, v in accs.items())
    return line


def parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--param {pair!r}: use Name=Value")
        params[name.strip()] = value
    return params


def run(args: argparse.Namespace) -> int:
    if not args.local:
        raise UsageError("cloud run not available: use --local")
    definition = None
    if args.definition:
        try:
            definition = json.loads(Path(args.definition).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise UsageError(f"--definition {args.definition}: {err}") from err
    result = run_local_pipeline(
        Path(args.workdir), parse_params(args.param or []), definition=definition
    )
    print("\n" + summary_line(result))
    for step in result.steps:
        print(f"  {step.name:<32} {step.status:<12} {step.seconds:6.1f} s")
    print(f"  report:   {result.report_dir}")
    if result.registry:
        print(f"  registry: {result.registry}")
    if result.status != "Succeeded":
        raise OperationFailed(result.failure or "pipeline failed")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("pipeline", help="run the training pipeline")
    commands = parser.add_subparsers(dest="pipeline_command", required=True, metavar="ACTION")
    run_parser = commands.add_parser("run", help="execute the pipeline definition")
    run_parser.add_argument(
        "--local", action="store_true", help="execute the rendered JSON on this machine"
    )
    run_parser.add_argument("--workdir", default=".lab", help="lab work folder (default .lab)")
    run_parser.add_argument(
        "--param",
        action="append",
        metavar="Name=Value",
        help="override a pipeline parameter (repeatable)",
    )
    run_parser.add_argument("--definition", help="run this definition JSON instead of rendering")
    run_parser.set_defaults(handler=run)
