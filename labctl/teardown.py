"""labctl teardown: the command line of ``ops.teardown`` (plan -> destroy -> sweep -> verify ->
report for one copy of the platform; the module docstring of ``ops/teardown/plan.py`` says
what each phase does). This module keeps the arguments, the rendering, the exit codes and the
synthesis of the copy to plan from (``infra.platform``, the only CDK it touches).
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
from ops.teardown.plan import Teardown, TeardownPlan, offline_plan
from ops.teardown.residue import Clients


def synthesize_assembly(config: PlatformConfig, outdir: Path) -> Path:
    """The copy with the example release, so the serving stacks the pipeline deployed are in."""
    from infra.platform import synth_templates

    synth_templates(config, outdir)
    return outdir


def run(
    args: argparse.Namespace, clients: Clients | None = None, assembly: Path | None = None
) -> int:
    try:
        config = load_profile(args.profile, {"account": args.account, "region": args.region})
    except ConfigError as err:
        raise UsageError(str(err)) from err
    if args.dry_run and args.yes:
        raise UsageError("--dry-run and --yes contradict each other: a plain run is the dry run")
    if args.plan and (args.yes or args.json):
        raise UsageError("--plan only prints the offline plan: drop --yes/--json")
    if not args.plan and clients is None:
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
    if args.plan:
        print("\n".join(offline_plan(config, plan)))
        return 0
    teardown = Teardown(
        config,
        clients or Clients(config.region),
        plan,
        yes=args.yes,
        delete_retained=args.delete_retained,
        log=lambda s: print(s, file=sys.stderr if args.json == "-" else sys.stdout),
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
    add_profile(parser, "the copy to tear down")
    add_account(parser)
    add_region(parser)
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
    )
    parser.set_defaults(handler=run)
