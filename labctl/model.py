"""labctl model approve|reject: set a model package's approval status in the registry.

Cloud: ``UpdateModelPackage`` on the SageMaker model registry (an approval of the XGBoost
group is what the delivery pipeline reacts to). ``--local``: the lab's registry JSON
(``<workdir>/registry/registry.json``) written by the local pipeline run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from labctl.errors import OperationFailed, UsageError

STATUS = {"approve": "Approved", "reject": "Rejected"}


def set_local_status(
    workdir: Path, group: str, version: int | None, status: str, description: str | None
) -> dict[str, Any]:
    path = workdir / "registry" / "registry.json"
    try:
        registry = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise UsageError(f"no local registry at {path}: run `labctl pipeline run --local`") from err
    groups = registry.get("groups", {})
    if group not in groups:
        raise UsageError(f"no group {group!r} in {path}; groups: {', '.join(sorted(groups))}")
    versions = groups[group]["versions"]
    if not versions:
        raise UsageError(f"group {group!r} has no versions")
    chosen = (
        versions[-1]
        if version is None
        else next((v for v in versions if v["version"] == version), None)
    )
    if chosen is None:
        raise UsageError(f"group {group!r} has no version {version}")
    chosen["approval_status"] = status
    if description:
        chosen["approval_description"] = description
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(registry, indent=2))
    tmp.replace(path)  # atomic: a reader never sees half a registry
    return dict(chosen)


def set_cloud_status(
    client: Any, group: str, version: int | None, status: str, description: str | None
) -> str:
    if version is None:
        listing = client.list_model_packages(
            ModelPackageGroupName=group,
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=1,
        )["ModelPackageSummaryList"]
        if not listing:
            raise OperationFailed(f"model package group {group!r} has no versions")
        arn = listing[0]["ModelPackageArn"]
    else:
        arn = client.describe_model_package(ModelPackageName=f"{group}/{version}")[
            "ModelPackageArn"
        ]
    kwargs = {"ModelPackageArn": arn, "ModelApprovalStatus": status}
    if description:
        kwargs["ApprovalDescription"] = description
    client.update_model_package(**kwargs)
    return arn


def _default_group(local: bool, profile: str) -> str:
    if local:
        from labctl.local_endpoint.registry import XGBOOST_GROUP

        return XGBOOST_GROUP
    from infra.config import ConfigError, load_profile

    try:
        return load_profile(profile).model_package_group  # env-prefixed, e.g. lab-digits-xgboost
    except ConfigError as err:
        raise UsageError(str(err)) from err


def run(args: argparse.Namespace, client: Any = None) -> int:
    status = STATUS[args.model_command]
    if args.version is not None and args.version < 1:
        raise UsageError("--version must be a positive integer")
    if args.group is None:  # the XGBoost group: the local registry's, or the profile's
        args.group = _default_group(args.local, args.profile)
    if args.local:
        chosen = set_local_status(
            Path(args.workdir), args.group, args.version, status, args.description
        )
        print(f"{args.group} version {chosen['version']}: {status} (local registry)")
        return 0
    if client is None:
        import boto3

        client = boto3.client("sagemaker", region_name=args.region)
    arn = set_cloud_status(client, args.group, args.version, status, args.description)
    print(f"{arn}: {status}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("model", help="approve or reject a registered model version")
    commands = parser.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    for name in STATUS:
        p = commands.add_parser(name, help=f"mark a model package {STATUS[name]}")
        p.add_argument(
            "--group", help="model package group (default: the --profile's XGBoost group)"
        )
        p.add_argument("--profile", default="lab", help="profile naming the default group")
        p.add_argument("--version", type=int, help="version (default: the newest)")
        p.add_argument("--description", help="why (recorded with the status)")
        p.add_argument("--local", action="store_true", help="the lab's local registry")
        p.add_argument("--workdir", default=".lab")
        p.add_argument("--region", help="AWS region (cloud)")
        p.set_defaults(handler=run)
