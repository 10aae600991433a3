"""labctl teardown: remove one copy of the platform from an account, leaving no cost behind.

CloudFormation cannot delete a model package group that still holds versions, and the
serving stacks exist in the account (the delivery pipeline deployed them) even when this
checkout has no release file. So teardown first deletes the groups' model package versions,
then runs ``cdk destroy --all`` with the example release, so the serving stack names are part
of the app and are destroyed too. ``--dry-run`` prints the plan and changes nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

from infra.config import ConfigError, PlatformConfig, load_profile
from labctl.errors import OperationFailed, UsageError

EXAMPLE_RELEASE = "config/examples/release.json"


def model_package_versions(client: Any, group: str) -> list[str]:
    """Every version ARN of a group ([] when the group does not exist)."""
    arns: list[str] = []
    kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "MaxResults": 100}
    while True:
        page = client.list_model_packages(**kwargs)
        arns += [p["ModelPackageArn"] for p in page.get("ModelPackageSummaryList", [])]
        if not page.get("NextToken"):
            return arns
        kwargs["NextToken"] = page["NextToken"]


def destroy_command(config: PlatformConfig) -> list[str]:
    return [
        "npx",
        "--offline",
        "cdk",
        "--no-notices",
        "destroy",
        "--all",
        "--force",
        "-c",
        f"profile={config.profile or config.env_name}",
        "-c",
        f"account={config.account}",
        "-c",
        f"region={config.region}",
        "-c",
        f"release={EXAMPLE_RELEASE}",
    ]


def teardown(
    config: PlatformConfig,
    client: Any,
    *,
    dry_run: bool,
    runner: Callable[[Sequence[str]], int],
    log: Callable[[str], None] = print,
) -> int:
    groups = (config.model_package_group, config.baseline_package_group)
    for group in groups:
        versions = model_package_versions(client, group)
        log(f"model package group {group}: {len(versions)} version(s) to delete")
        for arn in versions:
            log(f"  {'would delete' if dry_run else 'delete'} {arn}")
            if not dry_run:
                client.delete_model_package(ModelPackageName=arn)
    command = destroy_command(config)
    log(("would run: " if dry_run else "run: ") + " ".join(command))
    if dry_run:
        return 0
    if not config.destroyable:
        log(
            "retain mode: data buckets and their KMS key stay in the account by design; "
            "delete them by hand once you are sure"
        )
    code = runner(command)
    if code != 0:
        raise OperationFailed(f"cdk destroy exited {code}; see its output above")
    return 0


def run(args: argparse.Namespace, client: Any = None, runner: Any = None) -> int:
    try:
        config = load_profile(args.profile, {"account": args.account, "region": args.region})
    except ConfigError as err:
        raise UsageError(str(err)) from err
    if not args.yes and not args.dry_run:
        raise UsageError(
            f"teardown deletes every stack of {config.env_name} in {config.account}/"
            f"{config.region} and the registered models: add --yes (or --dry-run first)"
        )
    if client is None:
        import boto3

        client = boto3.client("sagemaker", region_name=config.region)
    if runner is None:
        env = {**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"}

        def runner(command: Sequence[str]) -> int:
            return subprocess.run(list(command), env=env, check=False).returncode

    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return teardown(config, client, dry_run=args.dry_run, runner=runner)
    except (BotoCoreError, ClientError) as err:
        raise OperationFailed(f"teardown of {config.env_name}: {err}") from err


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("teardown", help="delete one copy of the platform from the account")
    parser.add_argument("--profile", default="lab")
    parser.add_argument("--account", help="12-digit account id (overrides the profile)")
    parser.add_argument("--region", help="region (overrides the profile)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--yes", action="store_true", help="really delete")
    parser.set_defaults(handler=run)
