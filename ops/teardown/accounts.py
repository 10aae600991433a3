"""Teardown of a copy whose stacks live in three accounts (tooling, staging, production).

One ``Teardown`` per account (``ops/teardown/plan.py``), each with that account's clients
(``ops/teardown/credentials.py``), the assembly's stacks of that account and the names that
belong there (``Names.of(..., account=...)``), so each account's residue scan and look-alike
protection are that account's. The phases run across the accounts in a safe order:

1. the target accounts: serving stacks (``<env>-ServingStaging``, ``<env>-Serving``), then the
   target stacks (``<env>-StagingTarget``, ``<env>-ProductionTarget``: roles, VPC, capture
   bucket, topic, key), then each target account's residue except KMS keys;
2. tooling: registry versions, its stacks dependents first, its residue except KMS keys;
3. KMS keys in every account, last, once nothing that uses them is left;
4. verify: every account listed again; the report names the account of each item.

Serving in a target account reads models from tooling's lake (bucket and key): tooling goes
last so nothing still running depends on what is already gone. Stack dependencies across
accounts are deployment order only (no exports across accounts: ``NoReferencesAcrossAccounts``),
so within an account the assembly's destroy order holds and across accounts this order does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.accounts import target_accounts, target_stack_name
from core.config import PlatformConfig
from core.cost import PriceTable
from ops.errors import UsageError
from ops.teardown.credentials import Access
from ops.teardown.plan import Report, Teardown, TeardownPlan, kept_note, stack_plan_lines
from ops.teardown.residue import SWEEP_ORDER, Clients, Item, Names


def check_assembly_accounts(plan: TeardownPlan, access: list[Access], where: str) -> None:
    """Every stack of the assembly deploys to one of the profile's accounts (an assembly of
    another profile, or environment-agnostic stacks, cannot be torn down account by account)."""
    known = {a.account for a in access}
    for name in plan.order:
        account = plan.stacks[name].account
        if account not in known:
            raise UsageError(
                f"{where}: stack {name} deploys to account {account}, which is none of the "
                f"profile's ({', '.join(a.label for a in access)}): synthesize this profile"
            )


def stack_order(config: PlatformConfig, plan: TeardownPlan) -> list[str]:
    """Every stack of the assembly in teardown order: serving stacks in the target accounts,
    then the target stacks, then tooling's; the assembly's destroy order within each group."""
    targets = set(target_accounts(config))
    target_stacks = {target_stack_name(config, a) for a in targets}

    def rank(name: str) -> int:
        if plan.stacks[name].account not in targets:
            return 2
        return 1 if name in target_stacks else 0

    return sorted(plan.order, key=rank)  # stable: keeps the destroy order within a rank


def offline_plan_accounts(
    config: PlatformConfig, plan: TeardownPlan, access: list[Access]
) -> list[str]:
    """What teardown would delete in each account and in what order, from the synthesized
    copy alone: no credentials, no calls."""
    labels = {a.account: a.label for a in access}
    tooling = config.tooling_account
    order = stack_order(config, plan)
    names = Names.of(config, tuple(plan.for_account(tooling).stacks), tooling)
    lines = [
        f"teardown plan for {config.env_name} in {len(access)} accounts, {config.region} "
        "(offline: from the synthesized copy; nothing listed in any account):",
        "  credentials: one source per account (--credentials NAME=profile:PROFILE or "
        "NAME=role:ARN; tooling defaults to the default credentials), each checked with "
        "sts:GetCallerIdentity before anything is listed",
        "  stacks, target accounts first (serving stacks, then target stacks), tooling last; "
        "termination protection turned off explicitly:",
    ]
    reached_tooling = False
    for step, name in enumerate(order, start=1):
        if plan.stacks[name].account == tooling and not reached_tooling:
            reached_tooling = True
            lines.append(
                "     then the residue of the target accounts except KMS keys; then in "
                f"{labels[tooling]} the model package versions of {', '.join(names.groups)} "
                "(a non-empty group fails its stack's deletion), then:"
            )
        planned = plan.stacks[name]
        lines += stack_plan_lines(step, name, planned, f" in {labels[planned.account]}")
    lines.append(
        "  residue outside the stacks, in each account after its stacks, found by listing each "
        f"service with that account's credentials and names{kept_note(config)}:"
    )
    for a in access:
        n = Names.of(config, tuple(plan.for_account(a.account).stacks), a.account)
        lines.append(
            f"     {a.label}: stacks {', '.join(n.stacks)}; endpoints "
            f"{', '.join(n.endpoints) or '(none named here)'}"
            + (f"; registry {', '.join(n.groups)}; lake {n.database}" if n.database else "")
        )
    sweep = [k for k in SWEEP_ORDER if k != "kms-key"]
    lines.append(f"     in this order: {', '.join(sweep)}")
    lines.append(
        "  KMS keys last, in every account ("
        + ", ".join(a.label for a in access)
        + "): scheduled for deletion once nothing that uses them is left"
    )
    lines.append("  verify: every account listed again; exit 1 while anything billable remains")
    return lines


@dataclass
class MultiReport:
    env: str
    reports: list[Report]

    @property
    def items(self) -> list[Item]:
        return [i for r in self.reports for i in r.items]

    @property
    def billable(self) -> list[Item]:
        return [i for r in self.reports for i in r.billable]

    @property
    def failed(self) -> list[Item]:
        return [i for r in self.reports for i in r.failed]

    def exit_code(self) -> int:
        return 1 if self.billable or self.failed else 0

    def render(self) -> str:
        total = sum(i.monthly_usd or 0 for i in self.billable)
        return "\n".join(
            [*(r.render() for r in self.reports)]
            + [
                f"all {len(self.reports)} accounts: {len(self.items)} items; billable remaining: "
                f"{len(self.billable)} (${total:.2f}/month known); could not handle: "
                f"{len(self.failed)}"
            ]
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "dry_run": all(r.dry_run for r in self.reports),
            "accounts": [r.to_json() for r in self.reports],
            "billable_remaining": len(self.billable),
            "failed": len(self.failed),
            "exit_code": self.exit_code(),
        }


@dataclass
class MultiAccountTeardown:
    config: PlatformConfig
    clients: dict[str, Clients]  # account id -> its verified clients
    access: list[Access]  # teardown order: target accounts first, tooling last
    assembly: TeardownPlan
    yes: bool = False
    delete_retained: bool = False
    log: Callable[[str], None] = print
    wait: bool = True
    prices: PriceTable | None = None
    parts: dict[str, Teardown] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for a in self.access:
            self.parts[a.account] = Teardown(
                self.config,
                self.clients[a.account],
                self.assembly.for_account(a.account),
                yes=self.yes,
                delete_retained=self.delete_retained,
                log=self.log,
                wait=self.wait,
                prices=self.prices,
                account=a.account,
                label=a.label,
            )

    def run(self) -> MultiReport:
        parts = list(self.parts.values())
        tooling = self.parts[self.config.tooling_account]
        targets = [p for p in parts if p is not tooling]
        for part in parts:
            part.start()
        if not self.yes:
            return MultiReport(self.config.env_name, [p.dry_report() for p in parts])
        # 1. Target accounts: stacks of this copy the assembly does not know first, then the
        # serving stacks, then the target stacks; then their residue except keys.
        for part in targets:
            part.destroy_stacks({n for n in part.live if n not in part.assembly.stacks})
        for name in stack_order(self.config, self.assembly):
            part = self.parts[self.assembly.stacks[name].account]
            if part is not tooling:
                part.destroy_stacks({name})
        for part in targets:
            part.sweep_residue()
        # 2. Tooling: registry versions, its stacks, its residue except keys.
        tooling.sweep_registry()
        tooling.destroy_stacks()
        tooling.sweep_residue()
        # 3. Keys last, in every account.
        for part in parts:
            part.sweep_keys()
        return MultiReport(self.config.env_name, [p.verify() for p in parts])
