"""labctl teardown: the command line of ``ops.teardown`` (plan -> destroy -> sweep -> verify ->
report for one copy of the platform; the module docstring of ``ops/teardown/plan.py`` says
what each phase does, ``ops/teardown/accounts.py`` the order across accounts). This module
keeps the arguments, the rendering, the exit codes and the synthesis of the copy to plan from
(``infra.platform``, the only CDK it touches). Sessions per account, and their identity
check, are ``ops/teardown/credentials.py``'s (no boto3 here).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from core.assembly import AssemblyError
from core.config import ConfigError, PlatformConfig, load_profile
from labctl.options import add_account, add_examples, add_profile, add_region
from ops import as_one_line, require_credentials
from ops.errors import UsageError
from ops.teardown.accounts import (
    MultiAccountTeardown,
    MultiReport,
    check_assembly_accounts,
    offline_plan_accounts,
)
from ops.teardown.credentials import account_access, connect, parse_sources
from ops.teardown.plan import Report, Teardown, TeardownPlan, offline_plan
from ops.teardown.residue import Clients


def synthesize_assembly(config: PlatformConfig, outdir: Path) -> Path:
    """The copy with the example release, so the serving stacks the pipeline deployed are in."""
    from infra.platform import synth_templates

    synth_templates(config, outdir)
    return outdir


def run(
    args: argparse.Namespace,
    clients: Clients | None = None,
    assembly: Path | None = None,
    accounts: dict[str, Clients] | None = None,
) -> int:
    """``clients`` (one account) or ``accounts`` (account id -> clients; identities are still
    checked) are the tests' moto or stubbed clients."""
    try:
        config = load_profile(args.profile, {"account": args.account, "region": args.region})
    except ConfigError as err:
        raise UsageError(str(err)) from err
    if args.dry_run and args.yes:
        raise UsageError("--dry-run and --yes contradict each other: a plain run is the dry run")
    if args.plan and (args.yes or args.json or args.credentials):
        raise UsageError("--plan only prints the offline plan: drop --yes/--json/--credentials")
    sources = parse_sources(args.credentials or [])
    across = config.multi_account or bool(sources)
    access = account_access(config, sources, offline=args.plan) if across else []
    verified: dict[str, Clients] = {}
    if not args.plan and across:
        # every account's identity, before a synth of several seconds and before any listing
        verified = connect(config, access, accounts)
    elif not args.plan and clients is None:
        # before a synth of several seconds
        require_credentials(config.region, "`labctl teardown --plan` shows the plan without them")
    assembly_dir = Path(args.assembly) if args.assembly else assembly
    with tempfile.TemporaryDirectory(prefix="labctl-teardown-") as tmp:
        if assembly_dir is None:
            assembly_dir = synthesize_assembly(config, Path(tmp))
        elif not (assembly_dir / "manifest.json").is_file():
            raise UsageError(
                f"--assembly {assembly_dir}: no manifest.json (run labctl synth first)"
            )
        try:
            plan = TeardownPlan.read(assembly_dir, config.region)
        except AssemblyError as err:  # a manifest that names no stack, a missing template
            raise UsageError(f"--assembly {assembly_dir}: {err}") from err
        if config.multi_account:
            check_assembly_accounts(plan, access, f"--assembly {assembly_dir}")
    if args.plan:
        lines = (
            offline_plan_accounts(config, plan, access)
            if config.multi_account
            else offline_plan(config, plan)
        )
        print("\n".join(lines))
        return 0
    log = lambda s: print(s, file=sys.stderr if args.json == "-" else sys.stdout)  # noqa: E731
    report: Report | MultiReport
    if config.multi_account:
        multi = MultiAccountTeardown(
            config,
            verified,
            access,
            plan,
            yes=args.yes,
            delete_retained=args.delete_retained,
            log=log,
        )
        report = as_one_line(f"teardown of {config.env_name}", multi.run)
    else:
        teardown = Teardown(
            config,
            clients or verified.get(config.account) or Clients(config.region),
            plan,
            yes=args.yes,
            delete_retained=args.delete_retained,
            log=log,
        )
        report = as_one_line(f"teardown of {config.env_name}", teardown.run)
    if args.json == "-":
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.render())
        if args.json:
            Path(args.json).write_text(json.dumps(report.to_json(), indent=2) + "\n")
    if report.exit_code() and not args.yes:
        print(
            "dry run: billable resources of this copy exist; add --yes to delete them",
            file=sys.stderr,
        )
    return report.exit_code()


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "teardown",
        help="plan, destroy, sweep and verify one copy of the platform (dry run unless --yes)",
    )
    add_profile(parser, "the copy to tear down (a profile with separate accounts: all of them)")
    add_account(parser)
    add_region(parser)
    parser.add_argument(
        "--credentials",
        action="append",
        metavar="ACCOUNT=SOURCE",
        help="the credentials for one account of the profile (tooling, staging or production), "
        "repeatable: SOURCE is profile:PROFILE (an AWS CLI profile) or role:ARN (a role assumed "
        "with the default credentials). Tooling defaults to the default credentials; each "
        "target account of a profile with separate accounts needs one. Every account is "
        "checked with sts:GetCallerIdentity before anything is listed",
    )
    parser.add_argument(
        "--plan",
        action="store_true",
        help="only print what it would delete and in what order, from the synthesized copy: "
        "no AWS credentials needed, nothing listed or changed",
    )
    parser.add_argument("--yes", action="store_true", help="really delete (default: dry run)")
    parser.add_argument("--dry-run", action="store_true", help="the default; kept for scripts")
    parser.add_argument(
        "--delete-retained",
        action="store_true",
        help="retain profile: also delete the retained data, its key, stream and registry",
    )
    parser.add_argument(
        "--assembly", help="a synthesized cloud assembly to plan from (default: synth now)"
    )
    parser.add_argument(
        "--json", help="also write the report as JSON to this path ('-': stdout only)"
    )
    add_examples(
        parser,
        "labctl teardown --profile lab --plan  # what it would delete, in order; no AWS needed",
        "labctl teardown --profile lab --account 123456789012 --region us-east-1  # dry run",
        "labctl teardown --profile lab --account 123456789012 --region us-east-1 --yes",
        "labctl teardown --profile multi-account --plan  # per account, in order; no AWS needed",
        "labctl teardown --profile multi-account --credentials staging=profile:staging "
        "--credentials production=role:arn:aws:iam::444444444444:role/teardown  # dry run",
    )
    parser.set_defaults(handler=run)
