"""Teardown: plan -> destroy -> sweep -> verify -> report, for one copy of the platform.

- *plan* (offline from the synthesized assembly, plus read-only calls to the account): every
  stack in dependency order with what CloudFormation deletes and what it retains, the
  termination protection it has, and the residue outside the stacks found by listing each
  service (``ops.teardown.residue``), with its idle cost.
- *destroy*: registry versions (and their model cards) first (a non-empty model package
  group fails its stack's deletion), then each stack in reverse dependency order, turning
  termination protection off explicitly first; stacks of this copy the assembly does not know
  (found in the account by name and tag) go first.
- *sweep*: what the listing finds after destroy is deleted in ``SWEEP_ORDER``; retained data
  (buckets, their key, the stream, the database, the registry) only with ``--delete-retained``,
  otherwise listed as kept with its monthly cost. A stack left in ``DELETE_FAILED`` is retried
  once after the sweep removed what blocked it. A resource another stack manages (its
  ``aws:cloudformation:stack-name`` tag, ``model_code/stack_contract.py``) is swept only when
  that stack is one this run deletes; otherwise it is kept and reported with its stack, as the
  expiry reaper does: deleting it behind CloudFormation's back breaks that stack's next update.
- *verify*: everything is listed again; the report (table, and JSON with ``--json``) names
  each item, why it was found, what was done and its idle cost. Exit 1 while anything billable
  remains or something could not be handled; a plain run changes nothing (``--yes`` deletes).

boto3 against a deployed copy; never infra or aws_cdk. The command line (arguments, rendering,
exit codes, the synthesis of the copy) is ``labctl/teardown.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from core.assembly import CloudAssembly
from core.config import PlatformConfig
from core.cost import PriceTable, idle_cost
from model_code import layout
from ops.teardown.residue import (
    RETAINED_KINDS,
    SWEEP_ORDER,
    Clients,
    Finder,
    Item,
    Names,
    Sweeper,
    _error_code,
)

COST_TAG = "environment"  # the budget filters on it (infra/operations/budget.py)
LIVE = (
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "ROLLBACK_COMPLETE",
    "CREATE_FAILED",
    "ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_FAILED",
    "DELETE_FAILED",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
)


@dataclass(frozen=True)
class PlannedStack:
    name: str
    deletes: int
    retains: tuple[str, ...]  # "Type LogicalId"
    protected: bool
    monthly_usd: float | None  # None: the price table has no prices for the region
    account: str = ""  # the account of its environment in the assembly
    depends_on: tuple[str, ...] = ()  # the stacks it deploys after (destroyed before them)


# A table that prices nothing: the residue finder then reports costs as unknown.
UNPRICED = PriceTable(as_of=date.min, hours_per_month=730, regions={})


def teardown_prices(region: str) -> PriceTable:
    """The price table when it prices ``region``, else UNPRICED. Costs only annotate the plan
    and the report: nothing teardown does depends on them, so an unpriced region or an
    unreadable table drops the figures and never stops a teardown."""
    try:
        table = PriceTable.load()
    except (OSError, ValueError, KeyError):
        return UNPRICED
    return table if region in table.regions else UNPRICED


@dataclass
class TeardownPlan:
    stacks: dict[str, PlannedStack]
    order: list[str]  # destroy order: dependents first

    @classmethod
    def read(cls, outdir: Path, region: str, prices: PriceTable | None = None) -> TeardownPlan:
        """The stacks and their destroy order (``core.assembly`` reads the folder); idle costs
        only where ``prices`` has the region (None: ``teardown_prices(region)``)."""
        prices = teardown_prices(region) if prices is None else prices
        cloud = CloudAssembly.read(outdir)
        templates = cloud.templates()
        cost = idle_cost(templates, region, prices) if region in prices.regions else None
        stacks: dict[str, PlannedStack] = {}
        for artifact in cloud.stacks:
            name, resources = artifact.artifact_id, artifact.resources
            retains = tuple(
                f"{r['Type']} {lid}"
                for lid, r in resources.items()
                if r.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")
            )
            stacks[name] = PlannedStack(
                name,
                len(resources) - len(retains),
                retains,
                artifact.termination_protection,
                cost.for_stack(name) if cost is not None else None,
                artifact.account,
                artifact.dependencies,
            )
        return cls(stacks, cloud.destroy_order())

    def for_account(self, account: str) -> TeardownPlan:
        """The stacks that deploy to ``account``, in the same destroy order (a dependency
        order restricted to a subset is still one for the subset)."""
        stacks = {n: s for n, s in self.stacks.items() if s.account == account}
        return TeardownPlan(stacks, [n for n in self.order if n in stacks])


def _idle(monthly_usd: float | None) -> str:
    return "idle cost unpriced" if monthly_usd is None else f"idle ${monthly_usd:.2f}/month"


def stack_plan_lines(step: int, name: str, planned: PlannedStack, where: str = "") -> list[str]:
    """One stack of an offline plan: what CloudFormation deletes and retains (``where``: "
    in <account>" with several accounts)."""
    return [
        f"     {step}. {name}{where}: deletes {planned.deletes} resources, retains "
        f"{len(planned.retains)}, {_idle(planned.monthly_usd)}"
        + (", termination protection on" if planned.protected else ""),
        *(f"          retains {retained}" for retained in planned.retains),
    ]


def kept_note(config: PlatformConfig) -> str:
    """What a sweep keeps unless --delete-retained (nothing in a destroyable profile)."""
    if config.destroyable:
        return ""
    kinds = ", ".join(k for k in SWEEP_ORDER if k in RETAINED_KINDS)
    return f" (kept unless --delete-retained: {kinds})"


def offline_plan(config: PlatformConfig, assembly: TeardownPlan) -> list[str]:
    """What teardown would delete and in what order, from the synthesized copy alone: no
    credentials, no calls. The live run adds what each listing finds in the account."""
    names = Names.of(config, tuple(assembly.stacks))
    lines = [
        f"teardown plan for {names.env} in {config.account}/{config.region} (offline: "
        "from the synthesized copy; nothing listed in the account):",
        "  1. model package versions of " + ", ".join(names.groups) + " (a non-empty group "
        "fails its stack's deletion)",
        "  2. stacks, dependents first (termination protection turned off explicitly):",
    ]
    for i, name in enumerate(assembly.order, start=1):
        lines += stack_plan_lines(i, name, assembly.stacks[name])
    lines.append(
        "  3. sweep of the residue outside the stacks, found by listing each service "
        f"(docs/operations.md, Tear down), in this order{kept_note(config)}:"
    )
    lines += [f"     {i}. {kind}" for i, kind in enumerate(SWEEP_ORDER, start=1)]
    lines.append("  4. verify: every service listed again; exit 1 while anything billable remains")
    return lines


@dataclass
class Teardown:
    config: PlatformConfig
    clients: Clients
    assembly: TeardownPlan
    yes: bool = False
    delete_retained: bool = False
    log: Callable[[str], None] = print
    wait: bool = True
    items: list[Item] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    prices: PriceTable | None = None
    destroying: set[str] = field(default_factory=set)  # stacks this run deletes
    # A teardown across accounts runs one Teardown per account (ops/teardown/accounts.py):
    # its id and its label ("production 444444444444"), which the plan and the report name.
    account: str = ""
    label: str = ""
    live: dict[str, dict[str, Any]] = field(default_factory=dict)
    found: list[Item] = field(default_factory=list)
    problems: list[Item] = field(default_factory=list)
    stack_items: list[Item] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.account = self.account or self.config.account
        self.names = Names.of(
            self.config, tuple(self.assembly.stacks), self.account if self.label else None
        )
        prices = self.prices if self.prices is not None else teardown_prices(self.config.region)
        self.finder = Finder(self.clients, self.names, prices)

    # --- plan ------------------------------------------------------------------------------
    def account_stacks(self) -> dict[str, dict[str, Any]]:
        """Live stacks of this copy: name starts with <env>- and tag environment=<env>."""
        cf, found = self.clients.cloudformation, {}
        kwargs: dict[str, Any] = {"StackStatusFilter": list(LIVE)}
        while True:
            page = cf.list_stacks(**kwargs)
            for summary in page.get("StackSummaries", []):
                name = summary["StackName"]
                if not name.startswith(f"{self.names.env}-"):
                    continue
                stack = cf.describe_stacks(StackName=name)["Stacks"][0]
                tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
                if self.names.owns_tags(tags):
                    found[name] = stack
            if not page.get("NextToken"):
                return found
            kwargs["NextToken"] = page["NextToken"]

    def destroy_order(self, live: dict[str, dict[str, Any]]) -> list[str]:
        unknown = [n for n in live if n not in self.assembly.stacks]
        return unknown + [n for n in self.assembly.order if n in live]

    def cost_tag_status(self) -> str:
        """Budgets filter on the cost-allocation tag only once it is activated (up to 24 h)."""
        try:
            tags = self.clients.ce.list_cost_allocation_tags(
                TagKeys=[COST_TAG], Type="UserDefined"
            ).get("CostAllocationTags", [])
        except Exception as err:  # noqa: BLE001
            return (
                f"cost-allocation tag '{COST_TAG}': unknown ({_error_code(err)}: allow "
                "ce:ListCostAllocationTags to check it)"
            )
        status = tags[0]["Status"] if tags else "not seen yet"
        if status == "Active":
            return f"cost-allocation tag '{COST_TAG}': Active (the budget sees this copy's costs)"
        return (
            f"cost-allocation tag '{COST_TAG}': {status}: the budget reads $0 until it is "
            "activated (Billing console > Cost allocation tags, or `aws ce "
            f"update-cost-allocation-tags-status --cost-allocation-tags-status TagKey={COST_TAG},"
            "Status=Active`); it appears there up to 24 h after the first tagged resource"
        )

    def plan(self, live: dict[str, dict[str, Any]]) -> list[str]:
        where = self.label or self.config.account
        lines = [f"teardown plan for {self.names.env} in {where}/{self.config.region}:"]
        for name in self.destroy_order(live) + [n for n in self.assembly.order if n not in live]:
            planned = self.assembly.stacks.get(name)
            state = live[name]["StackStatus"] if name in live else "not deployed"
            if planned is None:
                lines.append(
                    f"  stack {name} [{state}]: not in the assembly (found by name and tag)"
                )
                continue
            protected = bool(
                live.get(name, {}).get("EnableTerminationProtection", planned.protected)
            )
            lines.append(
                f"  stack {name} [{state}]: deletes {planned.deletes} resources, retains "
                f"{len(planned.retains)}, {_idle(planned.monthly_usd)}"
                + (", termination protection on (turned off explicitly)" if protected else "")
            )
            for retained in planned.retains:
                lines.append(f"      retains {retained}")
        n = self.names
        lines += [
            "  out-of-stack residue looked for (by listing each service):",
            f"    endpoints {', '.join(n.endpoints) or '(none named here)'} (+ any '{n.env}-*' "
            f"tagged environment={n.env}), their configs and models (tags)",
        ]
        if n.pipeline:
            lines.append(
                f"    registry groups {', '.join(n.groups)}; experiment and trials of pipeline "
                f"{n.pipeline}"
            )
        lines.append(
            f"    log groups {layout.endpoint_log_group('<endpoint>')}, "
            + ", ".join(f"{root}<stack>-*" for root in layout.SERVICE_LOG_GROUP_PREFIXES)
            + ", retained <stack>-* groups"
            + (
                "; job streams in "
                + " and ".join(layout.JOB_LOG_GROUPS)
                + f" of this pipeline's executions ({len(self.finder.execution_ids)} known)"
                if n.pipeline
                else ""
            )
        )
        if n.database:
            lines.append(
                f"    Lake Formation grants on {n.database} and registrations of the copy's "
                f"buckets; Glue database {n.database}"
            )
        lines += [
            "    buckets, streams, topics and KMS keys named after the copy's stacks "
            f"({', '.join(n.stacks)}) and tagged for it",
            f"  {self.cost_tag_status()}",
        ]
        return lines

    # --- destroy -------------------------------------------------------------------------------
    def delete_stack(self, name: str, stack: dict[str, Any]) -> Item:
        cf = self.clients.cloudformation
        item = Item("stack", name, f"stack of this copy ({stack['StackStatus']})", billable=True)
        steps: list[str] = []
        try:
            if stack.get("EnableTerminationProtection"):
                cf.update_termination_protection(EnableTerminationProtection=False, StackName=name)
                steps.append("termination protection turned off")
            cf.delete_stack(StackName=name)
            if self.wait:
                cf.get_waiter("stack_delete_complete").wait(
                    StackName=name, WaiterConfig={"Delay": 15, "MaxAttempts": 240}
                )
            steps.append("deleted")
            item.billable = False
        except Exception as err:  # noqa: BLE001 - DELETE_FAILED and the like: reported
            item.ok = False
            hint = (
                "; SageMaker-owned network interfaces can hold subnets and security groups "
                "for ~15 min after endpoints and jobs end: run teardown again then"
                if name.endswith("-Network")
                else ""
            )
            steps.append(
                f"delete failed ({_error_code(err)}): read its events (aws cloudformation "
                f"describe-stack-events --stack-name {name}); teardown retries it after the "
                f"sweep{hint}"
            )
        item.action = ", ".join(steps)
        return item

    def destroy(self, live: dict[str, dict[str, Any]]) -> list[Item]:
        results = []
        for name in self.destroy_order(live):
            self.log(f"destroy {name} ...")
            results.append(self.delete_stack(name, live[name]))
        return results

    # --- sweep ----------------------------------------------------------------------------------
    def keeps(self, item: Item) -> bool:
        return (
            item.kind in RETAINED_KINDS and not self.config.destroyable and not self.delete_retained
        )

    def sweep(self, items: list[Item], kinds: frozenset[str] | None = None) -> None:
        sweeper = Sweeper(self.clients)
        for item in items:
            if kinds is not None and item.kind not in kinds:
                continue
            if item.kind == "unlisted":
                continue
            held = self.held_by(item)
            if held is not None:
                stack, status = held
                item.action = (
                    f"kept: managed by stack {stack} ({status}), which this teardown does not "
                    f"delete (not a stack of this copy); delete that stack, not its {item.kind}"
                )
                continue
            if self.keeps(item):
                item.action = (
                    "kept: retained data of the retain profile (--delete-retained deletes it)"
                )
                continue
            if item.data.get("pending"):  # a KMS key already waiting out its window
                item.action = f"already pending deletion (until {item.data['deletion_date']})"
                continue
            if not self.yes:
                item.action = "would delete"
                continue
            sweeper.delete(item)

    def _status(self, stack: str) -> str | None:
        """The stack's status, or None when it does not exist (any more)."""
        try:
            found = self.clients.cloudformation.describe_stacks(StackName=stack)["Stacks"]
        except Exception as err:  # noqa: BLE001 - "Stack with id X does not exist"
            if _error_code(err) == "ValidationError":
                return None
            raise
        status = str(found[0]["StackStatus"]) if found else None
        return None if status == "DELETE_COMPLETE" else status

    def held_by(self, item: Item) -> tuple[str, str] | None:
        """The stack (and its status) that still manages ``item`` and that this run does not
        delete, if any: sweeping the item would change that stack behind its back."""
        stack = item.data.get("stack")
        if not stack or stack in self.destroying:
            return None
        status = self._status(str(stack))
        return None if status is None else (str(stack), status)

    # --- the whole run, phase by phase (a teardown across accounts interleaves them) ----------
    def start(self) -> None:
        """Live stacks, the pipeline's executions (before destroy deletes the pipeline), the
        plan (logged) and the first listing of every service. Changes nothing."""
        self.live = self.account_stacks()
        self.destroying = set(self.live)
        self.finder.pipeline_executions()
        for line in self.plan(self.live):
            self.log(line)
        self.found, self.problems = self.finder.all()

    def dry_report(self) -> Report:
        stacks = [
            Item(
                "stack",
                n,
                f"stack of this copy ({self.live[n]['StackStatus']})",
                billable=True,
                monthly_usd=self.assembly.stacks[n].monthly_usd
                if n in self.assembly.stacks
                else None,
                action="would delete"
                + (
                    " (termination protection off first)"
                    if self.live[n].get("EnableTerminationProtection")
                    else ""
                ),
            )
            for n in self.destroy_order(self.live)
        ]
        self.sweep(self.found)
        return self._report(stacks + self.found + self.problems, dry_run=True)

    def sweep_registry(self) -> None:
        """Registry versions before any stack: a non-empty group fails its stack's deletion; a
        version's model card goes with it (found through its version, so before it)."""
        self.sweep(self.found, frozenset({"model-card", "model-package"}))

    def destroy_stacks(self, names: set[str] | None = None) -> None:
        """Deletes the live stacks (only ``names``, if given) in destroy order, each once."""
        done = {i.name for i in self.stack_items}
        for name in self.destroy_order(self.live):
            if name in done or (names is not None and name not in names):
                continue
            held = self.waiting_for(name)
            if held:
                self.stack_items.append(self.hold(name, held))
                continue
            self.log(f"destroy {name}{' in ' + self.label if self.label else ''} ...")
            self.stack_items.append(self.delete_stack(name, self.live[name]))

    def waiting_for(self, name: str) -> list[str]:
        """The stacks that depend on ``name`` and are still there (their delete failed): a
        stack they need (Delivery's role deletes the serving stacks it deployed, Operations
        holds the boundary their roles name) waits for them. Within this account: across
        accounts (``ops.teardown.accounts``) dependencies are deploy order, each account's
        stacks are deleted with that account's own roles and boundary."""
        failed = {i.name for i in self.stack_items if not i.ok}
        return [
            other
            for other in failed
            if other in self.assembly.stacks and name in self.assembly.stacks[other].depends_on
        ]

    def hold(self, name: str, held: list[str]) -> Item:
        action = (
            f"not deleted yet: {', '.join(sorted(held))} depends on it and failed to delete "
            "(deleting it first would remove what they need, e.g. the role CloudFormation "
            "deletes them with); teardown retries it after the sweep"
        )
        self.log(f"hold {name}: {action}")
        why = f"stack of this copy ({self.live[name]['StackStatus']})"
        return Item("stack", name, why, billable=True, action=action, ok=False)

    def sweep_residue(self) -> None:
        """Lists every service again and sweeps what remains except KMS keys; then retries
        once each stack that failed, now that the sweep removed what blocked it."""
        self.found, self.problems = self.finder.all()
        self.sweep(self.found, frozenset(SWEEP_ORDER) - {"kms-key"})
        for item in self.stack_items:  # destroy order: dependents first
            if not item.ok:
                held = self.waiting_for(item.name)
                if held:
                    item.action += f"; still held by {', '.join(sorted(held))}"
                    continue
                again = self.account_stacks().get(item.name)
                if again is not None:
                    retry = self.delete_stack(item.name, again)
                    item.ok, item.billable = retry.ok, retry.billable
                    item.action += f"; retried after the sweep: {retry.action}"
                else:
                    item.ok, item.billable = True, False

    def sweep_keys(self) -> None:
        """KMS keys last: scheduled for deletion once nothing of the copy uses them."""
        self.sweep(self.found, frozenset({"kms-key"}))

    def verify(self) -> Report:
        """Lists everything again; what remains is the truth the exit code reports."""
        found, stack_items = self.found, self.stack_items
        remaining, problems = self.finder.all()
        still = self.account_stacks()
        for item in stack_items:
            if item.name in still:
                item.billable = True
                item.ok = False
        handled = {(i.kind, i.name): i for i in found}
        verified: list[Item] = []
        for item in remaining:
            before = handled.get((item.kind, item.name))
            if item.kind == "kms-key" and item.data.get("pending"):
                item.action = (before.action if before else "") or "pending deletion"
            elif before is not None and before.action.startswith("kept"):
                item.action = before.action
            else:
                item.action = (
                    f"still there after the sweep ({before.action})"
                    if before
                    else "appeared during teardown"
                )
                item.ok = False
            verified.append(item)
        swept = [i for i in found if (i.kind, i.name) not in {(v.kind, v.name) for v in verified}]
        return self._report(
            stack_items + swept + verified + problems, dry_run=False, remaining=verified
        )

    def _report(
        self, items: list[Item], dry_run: bool, remaining: list[Item] | None = None
    ) -> Report:
        for item in items:
            item.account = self.label
        return Report(
            self.names.env, items, dry_run=dry_run, remaining=remaining or [], account=self.label
        )

    def run(self) -> Report:
        self.start()
        if not self.yes:
            return self.dry_report()
        self.sweep_registry()
        self.destroy_stacks()
        self.sweep_residue()
        self.sweep_keys()
        return self.verify()


@dataclass
class Report:
    env: str
    items: list[Item]
    dry_run: bool
    remaining: list[Item] = field(default_factory=list)
    account: str = ""  # "production 444444444444" in a teardown across accounts

    @property
    def billable(self) -> list[Item]:
        pool = (
            self.items
            if self.dry_run
            else [*self.remaining, *(i for i in self.items if i.kind == "stack")]
        )
        return [i for i in pool if i.billable]

    @property
    def failed(self) -> list[Item]:
        return [i for i in self.items if not i.ok]

    def exit_code(self) -> int:
        return 1 if self.billable or self.failed else 0

    def render(self) -> str:
        head = f"{'kind':<28} {'name':<58} {'$/month':>8}  action"
        where = f" in {self.account}" if self.account else ""
        lines = [
            f"teardown report for {self.env}{where} ({'dry run' if self.dry_run else 'executed'}):",
            head,
        ]
        for i in self.items:
            cost = "" if i.monthly_usd is None else f"{i.monthly_usd:.2f}"
            name = i.name if len(i.name) <= 58 else "..." + i.name[-55:]
            lines.append(f"{i.kind:<28} {name:<58} {cost:>8}  {i.action}")
            lines.append(f"{'':<28} why: {i.why}" + (f"; {i.note}" if i.note else ""))
        total = sum(i.monthly_usd or 0 for i in self.billable)
        lines.append(
            f"{len(self.items)} items; billable remaining: {len(self.billable)} "
            f"(${total:.2f}/month known); could not handle: {len(self.failed)}"
        )
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return ({"account": self.account} if self.account else {}) | {
            "env": self.env,
            "dry_run": self.dry_run,
            "items": [i.to_json() | {"ok": i.ok} for i in self.items],
            "billable_remaining": len(self.billable),
            "failed": len(self.failed),
            "exit_code": self.exit_code(),
        }
