"""labctl model list|approve|reject: the model registry's versions and their approval.

Cloud: ``ListModelPackages`` / ``UpdateModelPackage`` on the SageMaker model registry (an
approval of a group the serving kind hosts is what the delivery pipeline reacts to).
``--local``: the lab's registry JSON (``<workdir>/registry/registry.json``) written by the
local pipeline run, changed under a lock with an atomic replace
(pipelines/local/registry_file.py).

Which group: the profile's XGBoost group by default; ``--baseline`` its baseline group (needed
only when ``serving.kind`` is multi_container, the one kind that hosts the baseline);
``--both`` the newest version of each; ``--group G`` any group by name.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.model_card import render
from labctl.options import add_examples, add_profile, add_region, add_workdir, resolve_region
from ops import aws_client
from ops.errors import UsageError
from ops.model_card import record_card
from ops.registry import cloud_rows, set_cloud_status

STATUS = {"approve": "Approved", "reject": "Rejected"}
DESCRIPTIONS = {
    "approve": (
        "A first release needs an approved XGBoost version (every serving kind) and, only "
        "when serving.kind is multi_container, an approved baseline version (--baseline or "
        "--both). Each approval of a group the kind serves starts the delivery pipeline."
    ),
    "reject": (
        "Mark a version Rejected: `labctl release resolve` and the delivery pipeline only "
        "take Approved versions, so it is never released. Rejecting starts no pipeline and "
        "does not undeploy what an endpoint already serves: approve another version for that."
    ),
}
EXAMPLES = {
    "approve": (
        "labctl model approve --local  # the newest XGBoost version of the lab's registry",
        "labctl model approve --profile lab --region us-east-1 --both",
    ),
    "reject": (
        "labctl model reject --local --version 2 --description 'drifted on new data'",
        "labctl model reject --profile lab --region us-east-1 --version 3",
    ),
}


def render_rows(rows: list[tuple[str, int, str, str, str]]) -> str:
    header = ("group", "version", "status", "accuracy", "created")
    table = [header, *[tuple(str(c) for c in r) for r in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    )


def run_list(args: argparse.Namespace, client: Any = None, s3: Any = None) -> int:
    if args.local:
        from lab.registry import local_registry_path, local_rows

        rows = local_rows(Path(args.workdir), args.group)
        where = f"local registry {local_registry_path(Path(args.workdir))}"
    else:
        config = _profile(args)
        if args.group:
            groups = [args.group]
        else:
            training = config.training
            groups = [training.model_package_group, training.baseline_package_group]
        if client is None or s3 is None:
            region = resolve_region(args.region, config.region)
            client = client or aws_client("sagemaker", region)
            s3 = s3 or aws_client("s3", region)
        rows = cloud_rows(client, s3, groups)
        where = f"SageMaker model registry ({', '.join(groups)})"
    if not rows:
        print(f"no model versions in the {where}")
        return 0
    print(render_rows(rows))
    print(f"{len(rows)} version(s) in the {where}")
    return 0


def _profile(args: argparse.Namespace) -> Any:
    from core.config import ConfigError, load_profile

    try:
        return load_profile(args.profile)
    except ConfigError as err:
        raise UsageError(f"profile {args.profile!r}: {err}") from err


def target_groups(args: argparse.Namespace) -> list[str]:
    """The groups to update: --group, else the XGBoost and/or baseline group of the local
    registry (--local) or of the profile (env-prefixed, e.g. lab-digits-xgboost)."""
    if args.group and (args.baseline or args.both):
        raise UsageError("--group names one group: drop --baseline/--both")
    if args.baseline and args.both:
        raise UsageError("--both already includes the baseline group")
    if args.both and args.version is not None:
        raise UsageError("--version picks one version of one group: drop --both")
    if args.group:
        return [args.group]
    from core.config import ConfigError, load_profile

    try:
        config = load_profile(args.profile)
    except ConfigError as err:
        raise UsageError(f"profile {args.profile!r}: {err}") from err
    if args.local:
        from lab.registry import LocalRegistry

        local = LocalRegistry.for_profile(Path(args.workdir), config)
        xgboost, baseline = local.xgboost_group, local.baseline_group
    else:
        xgboost, baseline = config.model_package_group, config.baseline_package_group
    if args.both:
        return [xgboost, baseline]
    return [baseline if args.baseline else xgboost]


def run(args: argparse.Namespace, client: Any = None, s3: Any = None) -> int:
    status = STATUS[args.model_command]
    if args.version is not None and args.version < 1:
        raise UsageError("--version must be a positive integer")
    groups = target_groups(args)
    if args.local:
        from lab.registry import set_local_status

        for group in groups:
            chosen = set_local_status(
                Path(args.workdir), group, args.version, status, args.description
            )
            print(f"{group} version {chosen['version']}: {status} (local registry)")
        return 0
    if client is None or s3 is None:
        region = resolve_region(args.region, _profile(args).region)
        client = client or aws_client("sagemaker", region)
        s3 = s3 or aws_client("s3", region)
    for group in groups:
        arn = set_cloud_status(client, group, args.version, status, args.description)
        print(f"{arn}: {status}")
        # the version's model card records the change (ops/model_card.py)
        card = record_card(client, s3, arn, status, args.description)
        print(f"model card {card}: updated")
    return 0


def run_card(args: argparse.Namespace) -> int:
    """Render a local version's model card (the content the cloud's approve records)."""
    if not args.local:
        raise UsageError(
            "only --local renders here; a deployed version's card is in SageMaker "
            "(aws sagemaker describe-model-card --model-card-name <group>-v<N>)"
        )
    if args.version is not None and args.version < 1:
        raise UsageError("--version must be a positive integer")
    groups = target_groups(args)
    from lab.model_card import local_card
    from lab.registry import LocalRegistry

    config = _profile(args)
    baseline = LocalRegistry.for_profile(Path(args.workdir), config).baseline_group
    for group in groups:
        content = local_card(
            Path(args.workdir), group, args.version, "baseline" if group == baseline else "xgboost"
        )
        if args.format == "json":
            print(json.dumps(content, indent=2))
        else:
            package = content["model_package_details"]
            print(render(content, f"{group} version {package['model_package_version']}"))
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("model", help="list, approve or reject registered model versions")
    commands = parser.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    add_examples(
        parser,
        "labctl model list --local",
        "labctl model approve --local --version 1",
    )
    listing = commands.add_parser(
        "list", help="versions with their approval status and test accuracy"
    )
    listing.add_argument("--group", help="one group (default: every group)")
    listing.add_argument("--local", action="store_true", help="the lab's local registry")
    add_workdir(listing)
    add_profile(listing, "whose groups to list")
    add_region(listing, "cloud")
    add_examples(
        listing,
        "labctl model list --local",
        "labctl model list --profile lab --region us-east-1",
    )
    listing.set_defaults(handler=run_list)
    for name in STATUS:
        p = commands.add_parser(
            name, help=f"mark a model package {STATUS[name]}", description=DESCRIPTIONS[name]
        )
        which = p.add_mutually_exclusive_group()
        which.add_argument("--group", help="model package group (default: the profile's XGBoost)")
        which.add_argument(
            "--baseline",
            action="store_true",
            help="the profile's baseline group (multi_container serves it)",
        )
        which.add_argument(
            "--both",
            action="store_true",
            help="the newest version of the XGBoost and of the baseline group",
        )
        add_profile(p, "the profile naming the groups")
        p.add_argument("--version", type=int, help="version (default: the newest)")
        p.add_argument("--description", help="why (recorded with the status)")
        p.add_argument("--local", action="store_true", help="the lab's local registry")
        add_workdir(p)
        add_region(p, "cloud")
        add_examples(p, *EXAMPLES[name])
        p.set_defaults(handler=run)
    card = commands.add_parser(
        "card",
        help="render a version's model card (intended use, data, evaluation, bias, risk, "
        "approvals)",
        description="The same card content `labctl model approve` records in SageMaker "
        "(CreateModelCard / UpdateModelCard), built from the lab's registry and the local "
        "run's evaluation report.",
    )
    which = card.add_mutually_exclusive_group()
    which.add_argument("--group", help="model package group (default: the profile's XGBoost)")
    which.add_argument("--baseline", action="store_true", help="the profile's baseline group")
    card.add_argument("--version", type=int, help="version (default: the newest)")
    card.add_argument("--format", choices=("markdown", "json"), default="markdown")
    card.add_argument("--local", action="store_true", help="the lab's local registry")
    add_profile(card, "the profile naming the groups")
    add_workdir(card)
    add_examples(
        card, "labctl model card --local", "labctl model card --local --version 1 --format json"
    )
    card.set_defaults(handler=run_card, both=False)
