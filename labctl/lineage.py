"""labctl lineage: from a captured prediction back to the raw events its model was trained on.

One line per hop (prediction, model version, pipeline execution, training manifest, raw
events), what was found and where; ``--json`` prints the chain as JSON. A hop that cannot be
followed prints what is missing and exits 1 (never a guessed link). The hops: ops/lineage.py
(deployed), lab/lineage.py (``--local``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from labctl.options import add_examples, add_profile, add_region, add_workdir, resolve_region
from ops.errors import OperationFailed, UsageError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "lineage",
        help="trace a captured prediction back to its model, run, manifest and raw events",
        description=(
            "Follow one prediction of an endpoint to the model version that answered it, the "
            "pipeline execution that registered that version, the training-data manifest that "
            "execution's Preprocess step wrote, and the raw objects and event IDs it lists."
        ),
    )
    p.add_argument("--endpoint", help="endpoint name (default: the profile's <env>-digits)")
    p.add_argument(
        "--id",
        dest="inference_id",
        metavar="ID",
        help="the prediction's inferenceId or eventId (its capture record's eventMetadata)",
    )
    p.add_argument(
        "--at",
        metavar="TIME",
        help="ISO 8601 time of the prediction (UTC unless it says); with --id, narrows the search",
    )
    p.add_argument("--json", action="store_true", help="print the chain as JSON")
    p.add_argument("--local", action="store_true", help="the lab's work folder, not AWS")
    add_profile(p)
    add_region(p)
    add_workdir(p)
    add_examples(
        p,
        "labctl lineage --local --id 0b6f7c1e-9a2d-4c1b-8f3e-2d5a7b9c1e00",
        "labctl lineage --local --at 2026-12-07T18:05:00Z --json",
        "labctl lineage --profile lab --region us-east-1 --endpoint lab-digits --id 1234",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, sagemaker: Any = None, s3: Any = None) -> int:
    from ops.lineage import parse_time

    if not args.inference_id and not args.at:
        raise UsageError("say which prediction: --id ID (inferenceId or eventId) or --at TIME")
    try:
        at = parse_time(args.at) if args.at else None
    except ValueError as err:
        raise UsageError(f"--at {args.at!r} is not an ISO 8601 time ({err})") from err
    from core.config import ConfigError, load_profile

    try:
        config = load_profile(args.profile)
    except ConfigError as err:
        raise UsageError(str(err)) from err
    endpoint = args.endpoint or config.endpoint_name
    if args.local:
        from lab.lineage import local_chain

        chain = local_chain(Path(args.workdir), endpoint, inference_id=args.inference_id, at=at)
    else:
        from ops import aws_client
        from ops.lineage import cloud_chain

        if sagemaker is None or s3 is None:
            region = resolve_region(args.region, config.region)
            sagemaker = sagemaker or aws_client("sagemaker", region)
            s3 = s3 or aws_client("s3", region)
        chain = cloud_chain(sagemaker, s3, endpoint, inference_id=args.inference_id, at=at)
    print(json.dumps(chain.as_json(), indent=2) if args.json else chain.render())
    failure = chain.failure()
    if failure:
        sys.stdout.flush()
        raise OperationFailed(failure)
    return 0
