"""labctl synth: synthesize one profile with every compliance pack and summarize it."""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from core.config import ConfigError, PlatformConfig, load_profile
from core.release import Release, choose_release
from infra.compliance.packs import ComplianceReport, acknowledgements
from infra.platform import cdk_json_context, check_deployed_budget, new_app
from labctl.options import add_account, add_examples, add_profile, add_region
from ops.errors import OperationFailed, UsageError


@dataclass(frozen=True)
class SynthSummary:
    profile: str
    outdir: Path
    stacks: dict[str, int]  # stack name -> resource count
    violations: int
    acknowledgements: int
    stale: int
    seconds: float
    release_note: str = ""
    rehearsal: str = ""  # the rehearsal's summary line (README "Rehearsal")
    rehearsal_findings: str = ""  # its unreviewed findings, rendered; empty when none

    @property
    def resources(self) -> int:
        return sum(self.stacks.values())

    def render(self) -> str:
        lines = [
            f"profile {self.profile}: {len(self.stacks)} stacks, {self.resources} resources "
            f"({self.seconds:.1f} s)"
        ]
        lines += [f"  {name:<28} {count:>4} resources" for name, count in self.stacks.items()]
        lines.append(
            f"  compliance: {self.violations} unacknowledged findings, "
            f"{self.acknowledgements} acknowledgements ({self.stale} stale), packs AwsSolutions, "
            "HIPAA.Security, NIST.800.53.R5, PCI.DSS.321"
        )
        if self.release_note:
            lines.append(f"  {self.release_note}")
        if self.rehearsal:
            lines.append(f"  {self.rehearsal}")
        lines.append(f"  templates: {self.outdir}/*.template.json")
        lines.append(f"  report:    {self.outdir}/validation-report.json")
        return "\n".join(lines)


def resolve_release(config: PlatformConfig, choice: str | None) -> tuple[Release | None, str]:
    """``example``: the example packages; ``none``; a path; default: release/<env>.json if any
    (core.release.choose_release, which app.py calls too)."""
    try:
        return choose_release(config, choice)
    except ValueError as err:
        raise UsageError(str(err)) from err


def synthesize(
    profile: str,
    outdir: Path,
    overrides: dict[str, str] | None = None,
    release: str | None = None,
    cfn_validate: bool = False,
) -> SynthSummary:
    """Synthesize the profile; never raises for findings, the summary counts them.

    ``cfn_validate``: also CDK's built-in CloudFormation validation (``make synth``); the
    inner loop leaves it to cfn-lint (``infra.platform.new_app``)."""
    try:
        config = load_profile(profile, overrides)
    except ConfigError as err:
        raise UsageError(f"profile {profile!r}: {err}") from err
    chosen, release_note = resolve_release(config, release)
    started = time.perf_counter()
    app, platform = new_app(
        config,
        outdir=outdir,
        context=cdk_json_context(),
        release=chosen,
        cfn_validation=cfn_validate,
    )
    try:
        app.synth()
    except Exception as err:  # jsii wraps ValidationFailed in RuntimeError
        if "ValidationFailed" not in str(err) and "Validation failed" not in str(err):
            raise
    seconds = time.perf_counter() - started
    templates = {
        stack.stack_name: json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
        for stack in platform.stacks
    }
    try:  # a budget below the idle cost would alert every month
        budget_warning = check_deployed_budget(config, templates, chosen is not None)
    except ConfigError as err:
        raise UsageError(f"profile {profile!r}: {err}") from err
    if budget_warning:
        release_note = f"{release_note}; {budget_warning}" if release_note else budget_warning
    names = list(templates)
    rehearsal, rehearsal_findings = _rehearse(config, outdir, names, chosen)
    report = ComplianceReport.read(outdir)
    acks = acknowledgements(outdir)
    stacks = {name: len(t.get("Resources", {})) for name, t in templates.items()}
    return SynthSummary(
        profile=profile,
        outdir=outdir,
        stacks=stacks,
        violations=sum(len(v.get("violatingConstructs", [])) for v in report.violations),
        acknowledgements=len(acks),
        stale=len(report.unmatched(acks)),
        seconds=seconds,
        release_note=release_note,
        rehearsal=rehearsal,
        rehearsal_findings=rehearsal_findings,
    )


def _rehearse(
    config: PlatformConfig, outdir: Path, stacks: list[str], release: Release | None = None
) -> tuple[str, str]:
    """The cheap part of the rehearsal (authority and SageMaker rules: 30 ms median on a
    synthesized profile, ``benchmarks/bench_rehearsal.py``; cfn-lint, about 1 s a template,
    runs in ``make test``): its summary line and its unreviewed findings. The release's lake
    key and bucket ARNs name the lake's (``cross_account.bind_release``); its package flows
    are left to the tests (the example names no environment's groups)."""
    import dataclasses

    from assurance.rehearsal import rehearse
    from assurance.rehearsal.assembly import Assembly
    from assurance.rehearsal.cross_account import bind_release
    from assurance.rehearsal.known_gaps import KNOWN_GAPS

    templates = {n: json.loads((outdir / f"{n}.template.json").read_text()) for n in stacks}
    from core.accounts import boundary_documents, stack_accounts

    assembly = Assembly(
        templates,
        config.account,
        config.region,
        stack_accounts=stack_accounts(config),
        lambda_concurrency_quota=config.lambda_concurrency_quota,
        # an organisation's boundary (security.permissions_boundary_document); the project's
        # is in the templates
        boundary_documents=boundary_documents(config),
    )
    bind_release(assembly, dataclasses.asdict(release) if release is not None else None)
    report = rehearse(assembly, lint=False)
    report.apply(KNOWN_GAPS)
    summary = report.summary().replace("cfn-lint on 0 templates", "cfn-lint in make test")
    return summary, report.render() if report.findings else ""


def run(args: argparse.Namespace) -> int:
    outdir = Path(args.outdir or f"cdk.out.{Path(args.profile).stem}")
    overrides = {"account": args.account, "region": args.region}
    if args.cfn_validate and os.environ.get("CDK_VALIDATION") == "false":
        # CDK skips its plugin whenever this is set, whatever the App says: no silent skip.
        raise UsageError("--cfn-validate, but CDK_VALIDATION=false disables it: unset it")
    summary = synthesize(args.profile, outdir, overrides, args.release, args.cfn_validate)
    print(summary.render())
    if summary.violations:
        print(ComplianceReport.read(outdir).describe_violations())
        raise OperationFailed(f"{summary.violations} unacknowledged compliance findings")
    if summary.rehearsal_findings:
        print(summary.rehearsal_findings)
        raise OperationFailed("the rehearsal found what a real deployment would trip over")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("synth", help="synthesize a profile through the compliance gate")
    add_profile(parser)
    add_account(parser)
    add_region(parser)
    parser.add_argument("--outdir", help="cloud assembly folder (default cdk.out.<profile>)")
    parser.add_argument(
        "--release",
        help="model packages to serve: a release JSON path, 'example' (offline example "
        "packages) or 'none'; default release/<env>.json when it exists",
    )
    parser.add_argument(
        "--cfn-validate",
        action="store_true",
        help="also run CDK's built-in CloudFormation validation (make synth does, before a "
        "deploy; the inner loop leaves it to cfn-lint)",
    )
    add_examples(
        parser,
        "labctl synth --profile lab",
        "labctl synth --profile prod-like --account 123456789012 --region eu-west-1",
        "labctl synth --profile ./my-profile.json  # a profile file of your own",
    )
    parser.set_defaults(handler=run)
