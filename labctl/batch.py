"""labctl batch: score a prefix of the curated zone with the approved model, as a Transform job.

``labctl batch transform --local`` runs the local batch transform
(``lab.endpoint.batch``) with the newest Approved XGBoost version of the lab's
registry over ``<workdir>/lake/curated/<input prefix>`` into
``<workdir>/lake/curated/predictions/`` (``<key>.out`` files of ``<id>,<prediction>``), and
captures each row into ``<workdir>/capture/<endpoint>/AllTraffic/`` for the drift job. In the
cloud the same job is the scoring pipeline (``infra/scoring/construct.py``); ``--region`` starts it
with the package the production endpoint serves (or ``--package-arn``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lab.batch import SCORING_PREFIX, run_local
from labctl.options import add_examples, add_profile, add_region, add_workdir, resolve_region
from ops import aws_client
from ops.errors import UsageError
from ops.pipeline import start_scoring
from ops.registry import released_package


def start_cloud(args: argparse.Namespace, sagemaker: Any) -> str:
    """Start the scoring pipeline with the released package; returns the execution ARN."""
    from core.config import ConfigError, load_profile
    from pipelines.scoring_pipeline import scoring_pipeline_name

    try:
        config = load_profile(args.profile)
    except ConfigError as err:
        raise UsageError(str(err)) from err
    package = args.package_arn or released_package(sagemaker, config.endpoint_name)
    prefix = args.input_prefix.strip("/") + "/"
    arn = start_scoring(
        sagemaker, scoring_pipeline_name(config), package, prefix, args.max_payload_mb
    )
    print(f"started {scoring_pipeline_name(config)} on s3://<curated>/{prefix} with {package}")
    print(f"execution {arn}")
    return arn


def run(args: argparse.Namespace, sagemaker: Any = None) -> int:
    if args.max_payload_mb < 1 or args.max_payload_mb > 100:
        raise UsageError(f"--max-payload-mb must be 1-100, got {args.max_payload_mb}")
    if args.local and args.region:
        raise UsageError("--local runs on this machine: drop --region (or --local)")
    if not args.local:
        if sagemaker is None:
            from core.config import load_profile

            region = resolve_region(args.region, load_profile(args.profile).region)
            sagemaker = aws_client("sagemaker", region)
        start_cloud(args, sagemaker)
        return 0
    line, _ = run_local(
        Path(args.workdir),
        args.input_prefix,
        endpoint_name=args.endpoint,
        max_payload_mb=args.max_payload_mb,
        capture=args.capture,
        allow_pending=args.allow_pending,
    )
    print(line)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("batch", help="score a curated prefix with the approved model")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_examples(
        parser,
        "labctl batch transform --local",
    )
    transform = actions.add_parser(
        "transform", help="a batch transform job over a curated prefix (--local: this machine)"
    )
    transform.add_argument("--local", action="store_true", help="run on this machine")
    add_region(transform, "start the deployed scoring pipeline there")
    add_profile(transform, "with --region: names the scoring pipeline")
    transform.add_argument(
        "--package-arn", help="--region: the model package (default: what production serves)"
    )
    add_workdir(transform)
    transform.add_argument(
        "--input-prefix",
        default=SCORING_PREFIX,
        help=f"prefix under lake/curated to score (default {SCORING_PREFIX}/)",
    )
    transform.add_argument("--endpoint", default="lab-digits", help="capture folder name")
    transform.add_argument(
        "--max-payload-mb", type=int, default=6, help="MaxPayloadInMB (1-100, default 6)"
    )
    transform.add_argument(
        "--capture",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="capture each row for the drift job (default on)",
    )
    transform.add_argument(
        "--allow-pending", action="store_true", help="score with the newest pending version"
    )
    add_examples(
        transform,
        "labctl batch transform --local",
        "labctl batch transform --local --input-prefix scoring/2026-12-01",
        "labctl batch transform --profile lab --region us-east-1",
    )
    transform.set_defaults(handler=run)
