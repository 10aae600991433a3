"""labctl cost: what a profile bills per day and month when nobody uses it.

Synthesizes the profile with the example release (the serving stacks are what idles most
expensively), reads the templates, and prices them with the vendored table
(``infra/cost/prices.json``). ``--kind`` prices another serving kind on the same profile;
``--all-kinds`` prints one row per kind the profile can run. With separate accounts each
account's part is priced too (tooling, staging, production with their ids: what each account's
budget sees), beside the total.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from core.config import SERVING_KINDS, ConfigError, PlatformConfig, ServingKind, load_profile
from core.cost import (
    KINDS,
    PRICES_PATH,
    AccountCost,
    AuditTrailCost,
    IdleCost,
    PriceError,
    PriceTable,
    RunCost,
    account_parts,
    audit_trail_cost,
    idle_cost,
    pipeline_run_cost,
    training_definition,
)
from labctl.options import add_account, add_examples, add_profile, add_region
from ops.errors import OperationFailed, UsageError

PRICE_NOTE = (
    "not counted: S3 and log storage, requests, data transfer; prices are marked 'verify' "
    "in infra/cost/prices.json"
)


def config_for_kind(config: PlatformConfig, kind: ServingKind) -> PlatformConfig:
    """The profile with another serving kind and the settings that kind requires.

    Raises ConfigError when the profile cannot run that kind (e.g. serverless in a VPC).
    """
    if kind == config.serving.kind:
        return config
    monitoring = config.monitoring
    if kind == "serverless":  # no data capture, no canary/linear, hence no drift monitoring
        serving = dataclasses.replace(
            config.serving,
            kind=kind,
            data_capture=False,
            guardrail=dataclasses.replace(config.serving.guardrail, mode="all_at_once"),
        )
        monitoring = dataclasses.replace(monitoring, engine="none")
    elif kind == "async" and config.serving.guardrail.mode != "all_at_once":
        # canary/linear need instances to shift across: no scaling to zero (async_contract)
        settings = dataclasses.replace(config.serving.async_inference, scale_to_zero=False)
        serving = dataclasses.replace(config.serving, kind=kind, async_inference=settings)
    else:
        serving = dataclasses.replace(config.serving, kind=kind)
    return dataclasses.replace(config, serving=serving, monitoring=monitoring)


def synthesized_templates(config: PlatformConfig, outdir: Path) -> dict[str, dict[str, Any]]:
    """Synthesize (no compliance packs: pricing needs only the templates) and read them."""
    from infra.platform import synth_templates

    return synth_templates(config, outdir)


def split_by_account(
    config: PlatformConfig, cost: IdleCost, stacks: list[str]
) -> list[AccountCost]:
    """Each account's part of ``cost`` (one row single-account): ``core.cost.account_parts``,
    the split the synth's budget check uses."""
    return account_parts(config, cost, stacks)


def _per_day(cost: IdleCost, monthly: float) -> float:
    return monthly / cost.hours_per_month * 24


def render(profile: str, kind: str, cost: IdleCost, parts: list[AccountCost] | None = None) -> str:
    lines = [
        f"idle cost of profile {profile} (serving {kind}, {cost.region}, prices of "
        f"{cost.as_of}): ${cost.daily_usd:.2f}/day, ${cost.monthly_usd:.2f}/month",
        f"  {'kind':<36} {'per day':>10} {'per month':>10}",
    ]
    for name, monthly in cost.by_kind().items():
        lines.append(f"  {name:<36} {monthly / cost.hours_per_month * 24:>10.2f} {monthly:>10.2f}")
    if parts and len(parts) > 1:  # separate accounts: each account's part, then its stacks
        lines.append("  by account (what each account's budget sees):")
        for part in parts:
            monthly = part.hourly_usd * cost.hours_per_month
            label = f"{part.name} {part.account}"
            lines.append(f"    {label:<34} {_per_day(cost, monthly):>10.2f} {monthly:>10.2f}")
            for stack in part.stacks:
                lines.append(f"      {stack:<32} {'':>10} {cost.for_stack(stack):>10.2f}")
        lines.append(f"    {'total':<34} {cost.daily_usd:>10.2f} {cost.monthly_usd:>10.2f}")
    else:
        lines.append("  by stack:")
        for stack in dict.fromkeys(line.stack for line in cost.lines):
            lines.append(f"    {stack:<34} {'':>10} {cost.for_stack(stack):>10.2f}")
    lines.append(f"  {PRICE_NOTE}")
    return "\n".join(lines)


def render_kinds(
    profile: str,
    costs: dict[str, IdleCost | str],
    parts: dict[str, list[AccountCost]] | None = None,
) -> str:
    """One row per serving kind: monthly USD per cost kind, then per day and month; with
    separate accounts, a second table: monthly USD per account and the total."""
    short = {k: k.split()[0][:10] for k in KINDS}
    header = "".join(f"{short[k]:>11}" for k in KINDS)
    lines = [f"idle cost of profile {profile} per serving kind (USD/month by kind):"]
    lines.append(f"  {'serving':<16}{header}{'USD/day':>10}{'USD/month':>11}")
    for kind, cost in costs.items():
        if isinstance(cost, str):
            lines.append(f"  {kind:<16} not possible: {cost}")
            continue
        cells = "".join(f"{v:>11.2f}" for v in cost.by_kind().values())
        lines.append(f"  {kind:<16}{cells}{cost.daily_usd:>10.2f}{cost.monthly_usd:>11.2f}")
    split = {k: v for k, v in (parts or {}).items() if len(v) > 1}
    if split:
        columns = next(iter(split.values()))
        lines.append("USD/month by account:")
        heads = "".join(f"{f'{p.name} {p.account}':>26}" for p in columns)
        lines.append(f"  {'serving':<16}{heads}{'total':>11}")
        for kind, rows in split.items():
            cost = costs[kind]
            assert isinstance(cost, IdleCost)
            cells = "".join(f"{p.hourly_usd * cost.hours_per_month:>26.2f}" for p in rows)
            lines.append(f"  {kind:<16}{cells}{cost.monthly_usd:>11.2f}")
    return "\n".join(lines)


def render_run(run: RunCost) -> str:
    """One training pipeline run on demand against the same run with its training and tuning
    jobs on managed Spot, and which of the two this profile deploys."""
    jobs = ", ".join(f"{line.step} {line.jobs}×{line.instance}" for line in run.lines)
    mode = "Spot" if run.uses_spot else "on demand"
    seconds = {line.kind: line.seconds for line in run.lines}
    return "\n".join(
        [
            f"one training pipeline run ({run.region}, prices of {run.as_of}): "
            f"${run.on_demand_usd:.3f} on demand, ${run.spot_usd:.3f} with training and tuning "
            f"on Spot; this profile trains {mode} (${run.this_profile_usd:.3f})",
            f"  jobs: {jobs}",
            "  assumed billable seconds a job: "
            + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items())
            + f"; Spot saving {run.spot_savings:.0%} ({PRICES_PATH.name} pipeline_run, verify)",
        ]
    )


def run(args: argparse.Namespace) -> int:
    try:
        config = load_profile(args.profile, {"account": args.account, "region": args.region})
    except ConfigError as err:
        raise UsageError(f"profile {args.profile!r}: {err}") from err
    kinds: tuple[ServingKind, ...] = (
        SERVING_KINDS if args.all_kinds else (args.kind or config.serving.kind,)
    )
    prices = PriceTable.load()
    if config.region not in prices.regions:
        # No maintained package bundles these prices offline; the table is vendored by hand.
        raise OperationFailed(
            f"no prices for {config.region}: labctl cost prices "
            f"{', '.join(sorted(prices.regions))} ({PRICES_PATH.name}); everything else "
            f"(synth, lab, teardown) works in {config.region}"
        )
    warning = prices.staleness_warning(date.today())
    if warning:
        print(f"labctl: warning: {warning}", file=sys.stderr)
    report: dict[str, Any] = {
        "profile": args.profile,
        "prices_as_of": str(prices.as_of),
        "kinds": {},
    }
    costs: dict[str, IdleCost | str] = {}
    parts: dict[str, list[AccountCost]] = {}
    audit: AuditTrailCost | None = None
    pipeline_run: RunCost | None = None
    for kind in kinds:
        try:
            variant = config_for_kind(config, kind)
        except ConfigError as err:
            if not args.all_kinds:
                raise UsageError(f"profile {args.profile} cannot serve {kind}: {err}") from err
            report["kinds"][kind] = {"error": str(err)}
            costs[kind] = str(err)
            continue
        with tempfile.TemporaryDirectory(prefix="labctl-cost-") as tmp:
            templates = synthesized_templates(variant, Path(tmp))
        try:
            cost = idle_cost(templates, variant.region, prices)
            # issue 26: the audit trail bills per data event, not idle: priced at the
            # profile's assumed volume, whether deployed or not (lab: what turning it on adds)
            audit = audit_trail_cost(
                templates, variant.region, config.audit.assumed_data_events_per_month, prices
            )
            definition = training_definition(templates) if pipeline_run is None else None
            if definition is not None:  # the serving kind does not change the pipeline
                pipeline_run = pipeline_run_cost(definition, variant.region, prices)
        except PriceError as err:
            raise UsageError(str(err)) from err
        parts[kind] = split_by_account(variant, cost, list(templates))
        report["kinds"][kind] = {
            **cost.to_json(),
            "accounts": [p.to_json(cost.hours_per_month) for p in parts[kind]],
        }
        costs[kind] = cost
    if audit is not None:
        report["audit_trail"] = audit.to_json()
    if pipeline_run is not None:
        report["pipeline_run"] = pipeline_run.to_json()
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.all_kinds:
        print(render_kinds(args.profile, costs, parts))
        print(f"  prices of {prices.as_of} for {config.region}; {PRICE_NOTE}")
    else:
        (only,) = costs.values()
        if isinstance(only, IdleCost):
            print(render(args.profile, kinds[0], only, parts[kinds[0]]))
    if audit is not None and not args.json:
        print(f"  {audit.render()}")
    if pipeline_run is not None and not args.json:
        print(render_run(pipeline_run))
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "cost",
        help="idle cost of a profile per day and month, by kind and account; one training "
        "pipeline run on demand vs Spot",
    )
    add_profile(parser)
    add_account(parser)
    add_region(parser)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--kind", choices=SERVING_KINDS, help="price another serving kind")
    group.add_argument("--all-kinds", action="store_true", help="one estimate per serving kind")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_examples(
        parser,
        "labctl cost --profile lab",
        "labctl cost --profile prod-like --all-kinds",
        "labctl cost --profile lab --kind serverless --json",
    )
    parser.set_defaults(handler=run)
