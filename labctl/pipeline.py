"""labctl pipeline run [--local]: execute the training pipeline here or in the account.

--local renders the definition with the SageMaker SDK (offline) and runs the JSON with
pipelines.local.executor (lab/pipeline.py): raw events from <workdir>/lake/raw, outputs of
each execution in <workdir>/pipeline/executions/<id>/ (``latest`` and ``report`` link the
newest), the model registry in <workdir>/registry. Without --local it starts the CDK-deployed
pipeline with boto3 and polls it (ops/pipeline.py; no upsert unless --upsert: CDK owns the
deployed definition).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lab.pipeline import bias_lines, run_local_pipeline, summary_line
from labctl.options import add_examples, add_profile, add_region, add_workdir, resolve_region
from ops.errors import OperationFailed, UsageError
from ops.pipeline import run_deployed


def parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--param {pair!r}: use Name=Value")
        params[name.strip()] = value
    return params


def _run_cloud_command(args: argparse.Namespace) -> int:
    from core.config import ConfigError, load_profile

    try:
        config = load_profile(args.profile)
    except ConfigError as err:
        raise UsageError(str(err)) from err
    name, final = run_deployed(
        config,
        resolve_region(args.region, config.region),
        args.pipeline_name,
        parse_params(args.param or []),
        upsert_first=args.upsert,
    )
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
    for line in bias_lines(result.metrics):
        print(line)
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
