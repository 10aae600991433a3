"""labctl pipeline run [--local]: execute the training pipeline here or in the account.

--local renders the definition with the SageMaker SDK (offline) and runs the JSON with
pipelines.local.executor: raw events from <workdir>/lake/raw, outputs of each execution in
<workdir>/pipeline/executions/<id>/ (``latest`` and ``report`` link the newest), the model
registry in <workdir>/registry. Without --local it starts the CDK-deployed
pipeline with boto3 and polls it (no upsert: CDK owns the deployed definition).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab.paths import lake_raw
from labctl.options import add_examples, add_profile, add_region, add_workdir, resolve_region
from ops.errors import OperationFailed, UsageError

if TYPE_CHECKING:
    from pipelines.local.executor import RunResult
    from pipelines.training_pipeline import PipelineSettings

REPO = Path(__file__).resolve().parent.parent


def default_mounts(workdir: Path, settings: PipelineSettings) -> dict[str, Path]:
    """Which S3 prefixes are which shared local folders. The pipeline's output prefix maps to
    each execution's own folder (run_local's output_prefix), never to a shared one."""
    raw_bucket = settings.input_data_url.removeprefix("s3://").split("/", 1)[0]
    return {
        f"s3://{raw_bucket}/": lake_raw(workdir),
        settings.code + "/": REPO / "model_code",
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
        return run_local(
            text,
            workdir,
            overrides,
            mounts=mounts,
            output_prefix=settings.output(),
            log=log,
        )
    except DefinitionError as err:
        raise UsageError(str(err)) from err


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


def parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--param {pair!r}: use Name=Value")
        params[name.strip()] = value
    return params


TERMINAL = ("Succeeded", "Failed", "Stopped")


def run_cloud(
    client: Any,
    pipeline_name: str,
    parameters: dict[str, str] | None = None,
    *,
    poll_seconds: float = 30.0,
    timeout_seconds: float = 3 * 3600,
    log: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Start the deployed pipeline and poll it; returns the final describe response + steps.

    The definition is not upserted here: the deployed one carries the real bucket, role and
    key that CDK spliced into the placeholders, and a second writer would drift from it.
    """
    started = client.start_pipeline_execution(
        PipelineName=pipeline_name,
        PipelineParameters=[{"Name": k, "Value": str(v)} for k, v in (parameters or {}).items()],
        ClientRequestToken=str(uuid.uuid4()),  # idempotent retries of this one start
    )
    arn = started["PipelineExecutionArn"]
    log(f"started {arn}")
    seen: dict[str, str] = {}
    deadline = time.monotonic() + timeout_seconds
    while True:
        described = client.describe_pipeline_execution(PipelineExecutionArn=arn)
        steps = _execution_steps(client, arn)
        for step in reversed(steps):  # the API lists newest first
            name, status = step["StepName"], step.get("StepStatus", "")
            if seen.get(name) != status:
                seen[name] = status
                reason = f": {step['FailureReason']}" if step.get("FailureReason") else ""
                log(f"  {name:<32} {status}{reason}")
        status = described["PipelineExecutionStatus"]
        if status in TERMINAL:
            return {**described, "Steps": steps}
        if time.monotonic() > deadline:
            raise OperationFailed(f"{arn} still {status} after {timeout_seconds:.0f} s")
        sleep(poll_seconds)


def _execution_steps(client: Any, arn: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"PipelineExecutionArn": arn}
    while True:
        page = client.list_pipeline_execution_steps(**kwargs)
        steps += page.get("PipelineExecutionSteps", [])
        if not page.get("NextToken"):
            return steps
        kwargs["NextToken"] = page["NextToken"]


def cloud_champion(client: Any, group: str) -> str | None:
    """ChampionModelData for a cloud run: the newest Approved package's model data, or None
    (no approved package yet: the gate applies the threshold alone)."""
    from ops.release import newest_approved

    try:
        return str(newest_approved(client, group)["model_data_url"])
    except OperationFailed:
        return None


def _run_cloud_command(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from infra.config import ConfigError, load_profile

    try:
        config = load_profile(args.profile)
    except ConfigError as err:
        raise UsageError(str(err)) from err
    name = args.pipeline_name or config.pipeline_name
    group = config.model_package_group
    try:
        region = resolve_region(args.region, config.region)
        client = boto3.client("sagemaker", region_name=region)
        if args.upsert:
            from ops.pipeline import upsert

            try:
                config = load_profile(args.profile)
            except ConfigError as err:
                raise UsageError(str(err)) from err
            cfn = boto3.client("cloudformation", region_name=region)
            print(f"pipeline {config.pipeline_name}: {upsert(client, cfn, config)}")
            name = config.pipeline_name
            group = config.model_package_group
        params = parse_params(args.param or [])
        if "ChampionModelData" not in params:
            champion = cloud_champion(client, group)
            if champion:
                params["ChampionModelData"] = champion
                print(f"champion: {champion} (newest Approved {group} package)")
        final = run_cloud(client, name, params)
    except (BotoCoreError, ClientError) as err:
        raise OperationFailed(f"pipeline {name}: {err}") from err
    status = final["PipelineExecutionStatus"]
    print(f"pipeline {name}: {status}")
    if status != "Succeeded":
        failed = [s for s in final["Steps"] if s.get("FailureReason")]
        reason = final.get("FailureReason") or (failed[0]["FailureReason"] if failed else status)
        raise OperationFailed(f"pipeline {name} {status}: {reason}")
    return 0


def run(args: argparse.Namespace) -> int:
    if not args.local:
        return _run_cloud_command(args)
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
    add_examples(
        parser,
        "labctl pipeline run --local",
    )
    run_parser = commands.add_parser("run", help="execute the pipeline definition")
    run_parser.add_argument(
        "--local", action="store_true", help="execute the rendered JSON on this machine"
    )
    add_workdir(run_parser)
    run_parser.add_argument(
        "--param",
        action="append",
        metavar="Name=Value",
        help="override a pipeline parameter (repeatable)",
    )
    run_parser.add_argument("--definition", help="run this definition JSON instead of rendering")
    run_parser.add_argument(
        "--pipeline-name",
        help="deployed pipeline (cloud run; default: the --profile's, e.g. lab-digits-training)",
    )
    add_region(run_parser, "the cloud run")
    run_parser.add_argument(
        "--upsert",
        action="store_true",
        help="cloud: first create/update the pipeline from the current code and --profile",
    )
    add_profile(run_parser, "for --upsert and the default pipeline name")
    add_examples(
        run_parser,
        "labctl pipeline run --local",
        "labctl pipeline run --local --param MaxTuningJobs=2",
        "labctl pipeline run --profile lab --region us-east-1 --upsert",
    )
    run_parser.set_defaults(handler=run)
