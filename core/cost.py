"""Idle cost: what a synthesized copy of the platform bills per day and month with no traffic.

Standard library only: ``app.py`` checks the budget with it after synth, ``labctl cost`` and
``labctl teardown`` print it. Input is the synthesized CloudFormation templates (a dict of
stack name -> template), prices come from the vendored, dated ``prices.json``.

What bills while idle (everything else here costs nothing without traffic or data):
endpoint instances (the autoscaling minimum, else the initial count: 0 for an async endpoint
that scales to zero), serverless
provisioned concurrency (memory GB x concurrency), Kinesis streams (on-demand: per stream-hour;
provisioned: per shard-hour), interface VPC endpoints (per AZ-hour), KMS keys, CloudWatch alarms
(including the two alarms each target-tracking policy creates outside the template). S3
storage, logs and Firehose depend on the data held or sent and are not counted.

With separate accounts (issue 25) each account bills its own part: ``IdleCost.by_account``
splits the lines by the account of their stack (``core.accounts.stack_accounts``; a stack not
in it is tooling's), one ``AccountCost`` per account, which sum to the total; and each
account's budget sees only its part, so ``check_account_budgets`` checks each part against that
account's own limit (``core.accounts.budget_limits``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.accounts import account_names, budget_limits, stack_accounts
from core.config import ConfigError

if TYPE_CHECKING:
    from core.config import PlatformConfig

PRICES_PATH = Path(__file__).resolve().parent / "prices.json"
STALE_AFTER_DAYS = 90

# Kinds of idle cost, in the order reports print them.
KINDS = (
    "endpoint instances",
    "serverless provisioned concurrency",
    "streams",
    "interface endpoints",
    "KMS keys",
    "alarms",
)


class PriceError(ValueError):
    """The price table lacks a price the templates need (the message names it)."""


@dataclass(frozen=True)
class Price:
    usd: float
    source: str
    date: str
    status: str


@dataclass(frozen=True)
class PriceTable:
    as_of: date
    hours_per_month: int
    regions: Mapping[str, Mapping[str, Any]]
    # pricing one pipeline run: assumed job seconds and the Spot savings (prices.json)
    run: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = PRICES_PATH) -> PriceTable:
        data = json.loads(path.read_text())
        return cls(
            as_of=date.fromisoformat(data["as_of"]),
            hours_per_month=int(data["hours_per_month"]),
            regions=data["regions"],
            run=data.get("pipeline_run", {}),
        )

    def price(self, region: str, item: str, variant: str | None = None) -> Price:
        table = self.regions.get(region)
        if table is None:
            raise PriceError(
                f"no prices for region {region} in {PRICES_PATH.name}: add them "
                f"(regions known: {', '.join(sorted(self.regions))})"
            )
        entry = table.get(item)
        if variant is not None and isinstance(entry, dict):
            entry = entry.get(variant)
        if not entry:
            name = f"{item}[{variant}]" if variant else item
            raise PriceError(f"no price {name} for {region} in {PRICES_PATH.name}: add it")
        return Price(float(entry["usd"]), entry["source"], entry["date"], entry["status"])

    def age_days(self, today: date) -> int:
        return (today - self.as_of).days

    def staleness_warning(self, today: date) -> str | None:
        age = self.age_days(today)
        if age > STALE_AFTER_DAYS:
            return (
                f"price table dated {self.as_of} is {age} days old (> {STALE_AFTER_DAYS}): "
                f"re-check {PRICES_PATH} against the AWS price list"
            )
        return None


@dataclass(frozen=True)
class CostLine:
    stack: str
    resource: str  # logical id (or a description for resources created outside the template)
    kind: str
    quantity: float
    unit: str
    hourly_usd: float

    @property
    def daily_usd(self) -> float:
        return self.hourly_usd * 24

    def monthly_usd(self, hours_per_month: int) -> float:
        return self.hourly_usd * hours_per_month


@dataclass(frozen=True)
class AccountCost:
    """One account's part of a copy's idle cost: ``name`` says what it holds ("tooling",
    "staging", "production", joined when shared: ``core.accounts.account_names``)."""

    name: str
    account: str
    stacks: tuple[str, ...]
    hourly_usd: float

    def to_json(self, hours_per_month: int) -> dict[str, Any]:
        return {
            "name": self.name,
            "account": self.account,
            "daily_usd": round(self.hourly_usd * 24, 2),
            "monthly_usd": round(self.hourly_usd * hours_per_month, 2),
            "stacks": list(self.stacks),
        }


@dataclass
class IdleCost:
    region: str
    hours_per_month: int
    as_of: date
    lines: list[CostLine] = field(default_factory=list)

    @property
    def hourly_usd(self) -> float:
        return sum(line.hourly_usd for line in self.lines)

    @property
    def daily_usd(self) -> float:
        return self.hourly_usd * 24

    @property
    def monthly_usd(self) -> float:
        return self.hourly_usd * self.hours_per_month

    def by_kind(self) -> dict[str, float]:
        """Monthly USD per kind (every kind listed, 0 when absent)."""
        totals = dict.fromkeys(KINDS, 0.0)
        for line in self.lines:
            totals[line.kind] += line.monthly_usd(self.hours_per_month)
        return totals

    def for_stack(self, stack: str) -> float:
        return sum(
            line.monthly_usd(self.hours_per_month) for line in self.lines if line.stack == stack
        )

    def by_account(
        self,
        stack_accounts: Mapping[str, str],
        names: Mapping[str, str],
        default_account: str,
        stacks: Iterable[str] = (),
    ) -> list[AccountCost]:
        """The cost split by account, one row per account of ``names`` (in its order, a row
        with no cost included): a line's account is its stack's in ``stack_accounts``, else
        ``default_account`` (tooling). ``stacks``: every stack priced, so an account whose
        stacks bill nothing still lists them."""
        account_of = {s: stack_accounts.get(s, default_account) for s in stacks}
        for line in self.lines:
            account_of.setdefault(line.stack, stack_accounts.get(line.stack, default_account))
        unknown = sorted(set(account_of.values()) - set(names))
        if unknown:
            raise ValueError(f"stacks placed in accounts {unknown} that the copy does not name")
        return [
            AccountCost(
                name,
                account,
                tuple(s for s, a in account_of.items() if a == account),
                sum(line.hourly_usd for line in self.lines if account_of[line.stack] == account),
            )
            for account, name in names.items()
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "prices_as_of": self.as_of.isoformat(),
            "daily_usd": round(self.daily_usd, 2),
            "monthly_usd": round(self.monthly_usd, 2),
            "by_kind_monthly_usd": {k: round(v, 2) for k, v in self.by_kind().items()},
            "lines": [
                {
                    "stack": line.stack,
                    "resource": line.resource,
                    "kind": line.kind,
                    "quantity": line.quantity,
                    "unit": line.unit,
                    "monthly_usd": round(line.monthly_usd(self.hours_per_month), 2),
                }
                for line in self.lines
            ],
        }


def _resources(template: Mapping[str, Any], rtype: str) -> Iterable[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == rtype:
            yield logical_id, resource.get("Properties", {})


def _min_capacity(template: Mapping[str, Any]) -> dict[str, int]:
    """Variant name -> autoscaling minimum: with no traffic the variant scales in to it."""
    minimum: dict[str, int] = {}
    for _, props in _resources(template, "AWS::ApplicationAutoScaling::ScalableTarget"):
        resource_id = props.get("ResourceId")
        if props.get("ServiceNamespace") == "sagemaker" and isinstance(resource_id, str):
            minimum[resource_id.rsplit("/", 1)[-1]] = int(props["MinCapacity"])
    return minimum


def stack_idle_lines(
    stack: str, template: Mapping[str, Any], region: str, prices: PriceTable
) -> list[CostLine]:
    lines: list[CostLine] = []
    minimum = _min_capacity(template)
    for logical_id, props in _resources(template, "AWS::SageMaker::EndpointConfig"):
        for variant in props.get("ProductionVariants", []):
            serverless = variant.get("ServerlessConfig")
            if serverless:
                concurrency = int(serverless.get("ProvisionedConcurrency", 0))
                if concurrency:
                    gb = int(serverless["MemorySizeInMB"]) / 1024
                    per_gb = prices.price(region, "sagemaker_serverless_provisioned_gb_hour")
                    lines.append(
                        CostLine(
                            stack,
                            logical_id,
                            "serverless provisioned concurrency",
                            concurrency * gb,
                            "GB provisioned",
                            concurrency * gb * per_gb.usd,
                        )
                    )
                continue
            count = minimum.get(
                variant.get("VariantName", ""), variant.get("InitialInstanceCount", 1)
            )
            instance = variant["InstanceType"]
            hourly = prices.price(region, "sagemaker_instance_hour", instance).usd
            unit = instance
            if props.get("AsyncInferenceConfig") and count == 0:
                # An async endpoint scales in to zero instances with an empty queue: it idles
                # at the cost of what remains (its alarms, keys, streams), not of an instance.
                unit = f"{instance} (async, scales to zero)"
            lines.append(
                CostLine(stack, logical_id, "endpoint instances", count, unit, count * hourly)
            )
    for logical_id, props in _resources(template, "AWS::Kinesis::Stream"):
        mode = props.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")
        if mode == "ON_DEMAND":
            price = prices.price(region, "kinesis_on_demand_stream_hour")
            lines.append(CostLine(stack, logical_id, "streams", 1, "on-demand stream", price.usd))
        else:
            shards = int(props.get("ShardCount", 1))
            price = prices.price(region, "kinesis_shard_hour")
            lines.append(
                CostLine(stack, logical_id, "streams", shards, "shard", shards * price.usd)
            )
    for logical_id, props in _resources(template, "AWS::EC2::VPCEndpoint"):
        if props.get("VpcEndpointType") == "Interface":
            azs = len(props.get("SubnetIds", [])) or 1
            price = prices.price(region, "vpc_interface_endpoint_az_hour")
            lines.append(
                CostLine(
                    stack, logical_id, "interface endpoints", azs, "endpoint-AZ", azs * price.usd
                )
            )
    per_month = prices.hours_per_month
    key = prices.price(region, "kms_key_month").usd / per_month
    for logical_id, _ in _resources(template, "AWS::KMS::Key"):
        lines.append(CostLine(stack, logical_id, "KMS keys", 1, "key", key))
    alarm = prices.price(region, "cloudwatch_alarm_month").usd / per_month
    for logical_id, _ in _resources(template, "AWS::CloudWatch::Alarm"):
        lines.append(CostLine(stack, logical_id, "alarms", 1, "alarm", alarm))
    for logical_id, props in _resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy"):
        if props.get("PolicyType") == "TargetTrackingScaling":
            # Target tracking creates a high and a low alarm (TargetTracking-*) outside the
            # template (Application Auto Scaling user guide, "Target tracking scaling policies").
            lines.append(
                CostLine(stack, f"{logical_id} (TargetTracking-*)", "alarms", 2, "alarm", 2 * alarm)
            )
    return lines


def idle_cost(
    templates: Mapping[str, Mapping[str, Any]], region: str, prices: PriceTable | None = None
) -> IdleCost:
    prices = prices or PriceTable.load()
    result = IdleCost(region, prices.hours_per_month, prices.as_of)
    for stack, template in templates.items():
        result.lines += stack_idle_lines(stack, template, region, prices)
    return result


@dataclass(frozen=True)
class AuditTrailCost:
    """What the lake's audit trail bills a month (issue 26): usage, not idle, so an estimate at
    an assumed volume. Management events: the first copy in an account is free. S3 data
    events: per 100,000 delivered. The trail's KMS key: one key-month (counted in the idle
    cost too when the trail is deployed). Not counted: the log bucket's storage and requests,
    KMS requests."""

    deployed: bool  # a trail is in the templates
    data_events_per_month: int  # assumed (the profile's audit.assumed_data_events_per_month)
    usd_per_100k: Price
    key_month_usd: float

    @property
    def data_events_usd(self) -> float:
        return self.data_events_per_month / 100_000 * self.usd_per_100k.usd

    @property
    def monthly_usd(self) -> float:
        return self.data_events_usd + self.key_month_usd

    def render(self) -> str:
        state = "on" if self.deployed else "off (audit.trail=false); turning it on adds"
        key = "in the idle cost above" if self.deployed else "added to the idle cost"
        return (
            f"audit trail {state}: ${self.monthly_usd:.2f}/month = management events (first "
            f"copy free) + S3 data events on the lake buckets, "
            f"{self.data_events_per_month:,} events/month assumed "
            f"(audit.assumed_data_events_per_month) x ${self.usd_per_100k.usd:.2f} per 100,000 "
            f"= ${self.data_events_usd:.2f} + its KMS key ${self.key_month_usd:.2f} ({key}); "
            f"price of {self.usd_per_100k.date}, {self.usd_per_100k.status}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "deployed": self.deployed,
            "assumed_data_events_per_month": self.data_events_per_month,
            "usd_per_100k_data_events": self.usd_per_100k.usd,
            "data_events_monthly_usd": round(self.data_events_usd, 2),
            "kms_key_monthly_usd": round(self.key_month_usd, 2),
            "monthly_usd": round(self.monthly_usd, 2),
        }


def audit_trail_cost(
    templates: Mapping[str, Mapping[str, Any]],
    region: str,
    data_events_per_month: int,
    prices: PriceTable | None = None,
) -> AuditTrailCost:
    prices = prices or PriceTable.load()
    deployed = any(
        True for t in templates.values() for _ in _resources(t, "AWS::CloudTrail::Trail")
    )
    return AuditTrailCost(
        deployed,
        data_events_per_month,
        prices.price(region, "cloudtrail_data_events_per_100k"),
        prices.price(region, "kms_key_month").usd,
    )


def budget_problem(monthly_limit_usd: float, cost: IdleCost) -> str | None:
    """A message when the budget is below the idle cost (it would alert every month)."""
    if monthly_limit_usd >= cost.monthly_usd:
        return None
    kinds = ", ".join(f"{k} ${v:.2f}" for k, v in cost.by_kind().items() if v)
    return (
        f"budget.monthly_limit_usd ({monthly_limit_usd}) is below the idle cost of this copy "
        f"(${cost.monthly_usd:.2f}/month with no traffic: {kinds}; prices of "
        f"{cost.as_of}), so the budget would alert every month: raise it to at least "
        f"{int(cost.monthly_usd) + 1} or shrink what runs idle (serving.min_instances, "
        "ingestion.stream_mode, network.mode)"
    )


def check_budget(
    monthly_limit_usd: float,
    templates: Mapping[str, Mapping[str, Any]],
    region: str,
    prices: PriceTable | None = None,
) -> str | None:
    """Raise ConfigError when the budget is below the idle cost of these templates.

    Returns a warning (not silence) when the table has no prices for the region, so the
    check could not run.
    """
    try:
        cost = idle_cost(templates, region, prices)
    except PriceError as err:
        return f"budget not checked against the idle cost: {err}"
    problem = budget_problem(monthly_limit_usd, cost)
    if problem:
        raise ConfigError(problem)
    return None


def account_parts(
    config: PlatformConfig, cost: IdleCost, stacks: Iterable[str] = ()
) -> list[AccountCost]:
    """Each account's part of ``cost`` (one row single-account): stacks outside
    ``core.accounts.stack_accounts`` are tooling's."""
    return cost.by_account(
        stack_accounts(config), account_names(config), config.tooling_account, stacks
    )


def account_budget_problems(
    cost: IdleCost, parts: Iterable[AccountCost], limits: Mapping[str, float]
) -> list[str]:
    """One message per account whose idle cost is above its own budget (``limits``: account
    -> USD/month): its budget would alert every month. Names the account (what it holds and
    its id) and the settings to raise (``budget.account_limits_usd`` of its roles: staging
    and production in one account have the sum of both)."""
    problems = []
    for part in parts:
        limit = limits[part.account]
        monthly = part.hourly_usd * cost.hours_per_month
        if limit >= monthly:
            continue
        totals = dict.fromkeys(KINDS, 0.0)
        for line in cost.lines:
            if line.stack in part.stacks:
                totals[line.kind] += line.monthly_usd(cost.hours_per_month)
        kinds = ", ".join(f"{k} ${v:.2f}" for k, v in totals.items() if v)
        keys = " + ".join(f"budget.account_limits_usd.{role}" for role in part.name.split(", "))
        problems.append(
            f"the {part.name} account {part.account}'s budget ({keys} = {limit}) is below its "
            f"idle cost (${monthly:.2f}/month with no traffic: {kinds}), so it would alert "
            f"every month: raise {keys} to at least {int(monthly) + 1} (their sum within "
            "budget.monthly_limit_usd) or shrink what runs idle there (serving.min_instances, "
            "network.mode)"
        )
    return problems


def check_account_budgets(
    config: PlatformConfig,
    templates: Mapping[str, Mapping[str, Any]],
    prices: PriceTable | None = None,
) -> str | None:
    """Separate accounts: raise ConfigError when an account's idle cost is above that
    account's own budget (each AWS Budgets budget sees only its account's spend, so the
    copy's total against ``monthly_limit_usd`` would miss an account over its share). The
    message names every such account. A warning when the table has no prices for the region,
    as ``check_budget``."""
    try:
        cost = idle_cost(templates, config.region, prices)
    except PriceError as err:
        return f"budget not checked against the idle cost: {err}"
    problems = account_budget_problems(
        cost, account_parts(config, cost, templates), budget_limits(config)
    )
    if problems:
        raise ConfigError(f"{'; '.join(problems)} (prices of {cost.as_of})")
    return None


# -- one run of the training pipeline (issue 26, item 7) -----------------------------------------


@dataclass(frozen=True)
class JobCost:
    step: str
    kind: str  # "training" (training and tuning jobs) or "processing"
    jobs: int
    instance: str
    seconds: float  # assumed billable seconds per job
    on_demand_usd: float
    spot: bool  # the definition runs these jobs on managed Spot


@dataclass
class RunCost:
    """One execution of the training pipeline: every job at on-demand prices, and the same
    run with the training and tuning jobs on managed Spot (processing jobs have no Spot)."""

    region: str
    as_of: date
    spot_savings: float
    lines: list[JobCost] = field(default_factory=list)

    @property
    def on_demand_usd(self) -> float:
        return sum(line.on_demand_usd for line in self.lines)

    @property
    def spot_usd(self) -> float:
        return sum(
            line.on_demand_usd * (1 - self.spot_savings)
            if line.kind == "training"
            else line.on_demand_usd
            for line in self.lines
        )

    @property
    def uses_spot(self) -> bool:
        """Whether the deployed definition trains on Spot (the profile's training.spot)."""
        return any(line.spot for line in self.lines if line.kind == "training")

    @property
    def this_profile_usd(self) -> float:
        return self.spot_usd if self.uses_spot else self.on_demand_usd

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "prices_as_of": self.as_of.isoformat(),
            "spot_savings_assumed": self.spot_savings,
            "on_demand_usd": round(self.on_demand_usd, 4),
            "spot_usd": round(self.spot_usd, 4),
            "uses_spot": self.uses_spot,
            "lines": [
                {
                    "step": line.step,
                    "kind": line.kind,
                    "jobs": line.jobs,
                    "instance": line.instance,
                    "seconds_per_job": line.seconds,
                    "on_demand_usd": round(line.on_demand_usd, 4),
                    "spot": line.spot,
                }
                for line in self.lines
            ],
        }


def _joined(body: Any) -> str:
    """A PipelineDefinitionBody as text: a string, or an Fn::Join whose references (bucket
    names, role and key ARNs) are stood in for; prices need none of them."""
    if isinstance(body, str):
        return body
    on, parts = body["Fn::Join"]
    return str(on).join(p if isinstance(p, str) else "resolved" for p in parts)


def training_definition(templates: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """The deployed training pipeline's definition (the pipeline with a Tuning step), or None."""
    for template in templates.values():
        for _, props in _resources(template, "AWS::SageMaker::Pipeline"):
            body = props.get("PipelineDefinition", {}).get("PipelineDefinitionBody")
            if body is None:
                continue
            definition: dict[str, Any] = json.loads(_joined(body))
            if any(s.get("Type") == "Tuning" for s in _all_steps(definition)):
                return definition
    return None


def _all_steps(definition: Mapping[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for step in definition.get("Steps", []):
        found.append(step)
        args = step.get("Arguments", {})
        found += _all_steps({"Steps": args.get("IfSteps", []) + args.get("ElseSteps", [])})
    return found


def _value(node: Any, defaults: Mapping[str, Any]) -> Any:
    """A literal, or a {"Get": "Parameters.X"} read as the parameter's default."""
    if isinstance(node, dict) and isinstance(node.get("Get"), str):
        name = node["Get"].removeprefix("Parameters.")
        if name in defaults:
            return defaults[name]
        raise PriceError(f"cannot price a job whose setting is {node['Get']}")
    return node


def pipeline_run_cost(
    definition: Mapping[str, Any], region: str, prices: PriceTable | None = None
) -> RunCost:
    """Price one execution: each processing job, the training job and every tuning trial
    (MaxNumberOfTrainingJobs) for the assumed billable seconds of prices.json's pipeline_run,
    at the instance type the definition (or its parameter's default) names."""
    prices = prices or PriceTable.load()
    raw = prices.run
    if not raw:
        raise PriceError(f"no pipeline_run assumptions in {PRICES_PATH.name}: add them")
    seconds = {
        "training": float(raw["training_job_seconds"]["value"]),
        "processing": float(raw["processing_job_seconds"]["value"]),
    }
    result = RunCost(region, prices.as_of, float(raw["spot_savings"]["value"]))
    defaults = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
    for step in _all_steps(definition):
        args = step.get("Arguments", {})
        if step["Type"] == "Processing":
            cluster = args["ProcessingResources"]["ClusterConfig"]
            kind, jobs, spot = "processing", 1, False
        elif step["Type"] == "Training":
            cluster, kind, jobs = args["ResourceConfig"], "training", 1
            spot = bool(args.get("EnableManagedSpotTraining"))
        elif step["Type"] == "Tuning":
            job = args["TrainingJobDefinition"]
            # HyperParameterTuningResourceConfig where the SDK renders it, else ResourceConfig
            cluster = job.get("HyperParameterTuningResourceConfig") or job["ResourceConfig"]
            kind = "training"
            limits = args["HyperParameterTuningJobConfig"]["ResourceLimits"]
            jobs = int(_value(limits["MaxNumberOfTrainingJobs"], defaults))
            spot = bool(job.get("EnableManagedSpotTraining"))
        else:
            continue
        instance = str(_value(cluster["InstanceType"], defaults))
        count = int(_value(cluster.get("InstanceCount", 1), defaults))
        hourly = prices.price(region, f"sagemaker_{kind}_instance_hour", instance).usd
        usd = jobs * count * seconds[kind] / 3600 * hourly
        result.lines.append(
            JobCost(step["Name"], kind, jobs * count, instance, seconds[kind], usd, spot)
        )
    return result
