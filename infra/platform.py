"""Composition: one full copy of the platform for one configuration.

Stacks are added to the App directly, named ``<env>-<Unit>``, so ``cdk deploy 'lab-*'``
selects one copy. Each stack takes objects from the ones before it (``alerts``, ``lake``,
``network``). Operations (the alert topic and the budget) comes first and goes last: every
other stack depends on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from core import accounts
from core.config import ConfigError, PlatformConfig
from core.cost import PriceTable, check_account_budgets, check_budget
from core.release import EXAMPLE_RELEASE, Release, check_release
from infra.compliance.boundary import ProjectBoundary, apply_boundary
from infra.compliance.no_cross_account_refs import NoReferencesAcrossAccounts, accounts_by_stack
from infra.compliance.packs import add_compliance_gate
from infra.compliance.tags import apply_tags
from infra.stacks.data_lake_stack import DataLakeStack
from infra.stacks.delivery_stack import DeliveryStack
from infra.stacks.ingestion_stack import IngestionStack
from infra.stacks.monitoring_stack import MonitoringStack
from infra.stacks.network_stack import NetworkStack
from infra.stacks.operations_stack import OperationsStack
from infra.stacks.serving_stack import ServingStack
from infra.stacks.target_stack import TargetStack
from infra.stacks.training_stack import TrainingStack


@dataclass
class Platform:
    config: PlatformConfig
    data_lake: DataLakeStack
    ingestion: IngestionStack
    training: TrainingStack
    delivery: DeliveryStack
    network: NetworkStack | None = None
    staging: ServingStack | None = None
    serving: ServingStack | None = None
    stacks: list[cdk.Stack] = field(default_factory=list)
    monitoring: MonitoringStack | None = None
    targets: list[cdk.Stack] = field(default_factory=list)  # issue 17: target accounts
    operations: OperationsStack | None = None


def add_platform(app: cdk.App, config: PlatformConfig, release: Release | None = None) -> Platform:
    env = cdk.Environment(account=config.account, region=config.region)
    operations = OperationsStack(app, config.stack_name("Operations"), config=config, env=env)
    alerts = operations.alerts
    data_lake = DataLakeStack(app, config.stack_name("DataLake"), config=config, env=env)
    network = (
        NetworkStack(app, config.stack_name("Network"), config=config, env=env)
        if config.network.mode == "isolated"
        else None
    )
    training = TrainingStack(
        app,
        config.stack_name("Training"),
        config=config,
        network=network.network if network else None,
        # failure alerts; multi-account monitoring: the retrain bridge's dead letters too
        alert_topic=alerts.topic,
        release=release,  # batch.schedule scores with the released model
        env=env,
    )
    # Consumers import the lake's named exports, so the order is declared, not inferred.
    training.add_stack_dependency(data_lake)
    ingestion = IngestionStack(
        app, config.stack_name("Ingestion"), config=config, alerts=alerts, env=env
    )
    ingestion.add_stack_dependency(data_lake)
    serving = staging = None
    targets: list[cdk.Stack] = []
    if config.multi_account:  # serving in the target accounts (core/accounts.py)
        staging, serving, targets = add_targets(app, config, release)
        for target in targets:
            if isinstance(target, TargetStack) and target.forward_role is not None:
                # N2: the forwarding rule puts events on tooling's bus, whose policy the
                # Training stack writes. An ordering across accounts, not a reference: `cdk
                # deploy` deploys Training first; the templates are unchanged.
                target.add_stack_dependency(training, "the tooling bus policy admits the forward")
    elif release is not None:  # no approved model yet: nothing to serve
        # Staging: the same kind, one instance, all-at-once updates; smoke-tested first.
        staging = ServingStack(
            app,
            config.stack_name("ServingStaging"),
            config=config,
            serving=config.serving.for_staging(),
            endpoint_name=config.staging_endpoint_name,
            release=release,
            alert_topic=alerts.topic,
            network=network.network if network else None,
            env=env,
        )
        serving = ServingStack(
            app,
            config.stack_name("Serving"),
            config=config,
            serving=config.serving,
            endpoint_name=config.endpoint_name,
            release=release,
            alert_topic=alerts.topic,
            network=network.network if network else None,
            # deploy_permissions.serving_units derives the deploying role's rights from this
            model_monitor=config.monitoring.engine == "model_monitor",
            env=env,
        )
        for stack in (staging, serving):
            stack.add_stack_dependency(data_lake)
    monitoring = None
    if config.multi_account:
        monitoring = add_production_monitoring(app, config, release, targets)
    elif config.monitoring.engine != "none":
        # Production only, by endpoint name: deployed with the platform (`make deploy`), not by
        # the delivery pipeline, whose role may create endpoint resources only.
        monitoring = MonitoringStack(
            app,
            config.stack_name("Monitoring"),
            config=config,
            alert_topic=alerts.topic,
            network=network.network if network else None,
            env=env,
        )
        monitoring.add_stack_dependency(data_lake)
    ground_truth = _ground_truth_in_tooling(app, config, operations, data_lake, env)
    delivery = DeliveryStack(
        app,
        config.stack_name("Delivery"),
        config=config,
        alert_topic=alerts.topic,
        env=env,
    )
    delivery.add_stack_dependency(data_lake)
    if not config.multi_account:
        for deployed in (staging, serving):
            if deployed is not None:
                # The pipeline deploys these with Delivery's deployment role, and CloudFormation
                # deletes a stack with the role it was deployed with (DeleteStack): destroyed
                # before Delivery, or the role is gone (and the roles left behind would hold
                # the permissions boundary, which Operations could then not delete).
                deployed.add_stack_dependency(delivery, "deployed with Delivery's deployment role")
    stacks: list[cdk.Stack] = [
        s
        for s in (
            operations,
            data_lake,
            network,
            ingestion,
            training,
            staging,
            serving,
            monitoring,
            ground_truth,
            delivery,
        )
        if s is not None
    ]
    for dependent in stacks[1:]:  # deployed first, destroyed last
        dependent.add_stack_dependency(operations)
    stacks += targets
    if config.multi_account:
        cdk.Validations.of(app).add_plugins(NoReferencesAcrossAccounts(accounts_by_stack(stacks)))
    add_boundaries(app, config, [operations, *targets])
    apply_tags(app, config.tags)
    return Platform(
        config,
        data_lake,
        ingestion,
        training,
        delivery,
        network,
        staging,
        serving,
        stacks,
        monitoring,
        targets,
        operations,
    )


def add_boundaries(app: cdk.App, config: PlatformConfig, homes: list[cdk.Stack]) -> None:
    """``security.permissions_boundary`` on every role of every stack of the App. The project
    boundary is defined by each account's first stack (``homes``: Operations, the target
    stacks), which every other stack of that account deploys after."""
    if not config.security.bounded:
        return
    own: dict[str, iam.IManagedPolicy] = {}
    if config.security.permissions_boundary == "project":
        for home in homes:
            own[home.account] = ProjectBoundary(home, "PermissionsBoundary", config=config).policy
    for stack in app.node.children:
        if isinstance(stack, cdk.Stack):
            home_policy = own.get(stack.account) if stack in homes else None
            apply_boundary(stack, config, home_policy)


def _ground_truth_in_tooling(
    app: cdk.App,
    config: PlatformConfig,
    operations: OperationsStack,
    data_lake: DataLakeStack,
    env: cdk.Environment,
) -> cdk.Stack | None:
    """Three accounts with Model Monitor (issue 25): the ground-truth upload stays in tooling,
    beside the raw zone it reads; production's model-quality job reads its output across
    accounts. In one account it is part of ``<env>-Monitoring``."""
    if not (config.multi_account and config.monitoring.engine == "model_monitor"):
        return None
    from infra.stacks.ground_truth_stack import GroundTruthStack

    stack = GroundTruthStack(
        app,
        config.stack_name("GroundTruth"),
        config=config,
        alert_topic=operations.alerts.topic,
        env=env,
    )
    stack.add_stack_dependency(data_lake)
    return stack


def add_targets(
    app: cdk.App,
    config: PlatformConfig,
    release: Release | None,
) -> tuple[ServingStack | None, ServingStack | None, list[cdk.Stack]]:
    """The target stacks and, with a release, the serving stacks in the target accounts.
    Returns (staging serving stack, production serving stack, target stacks)."""
    found: dict[str, TargetStack] = {}
    for account in accounts.target_accounts(config):
        env = cdk.Environment(account=account, region=config.region)
        found[account] = TargetStack(
            app,
            accounts.target_stack_name(config, account),
            config=config,
            account=account,
            env=env,
        )
    staging = serving = None
    if release is not None:
        check_release(config, release)
        built = []
        for unit, endpoint, serving_config, account in (
            (
                "ServingStaging",
                config.staging_endpoint_name,
                config.serving.for_staging(),
                config.staging_account,
            ),
            ("Serving", config.endpoint_name, config.serving, config.production_account),
        ):
            target = found[account]
            stack = ServingStack(
                app,
                config.stack_name(unit),
                config=config,
                serving=serving_config,
                endpoint_name=endpoint,
                release=release,
                alert_topic=target.alerts.topic,
                network=target.network,
                capture=target.capture,
                # production's Model Monitor schedules (issue 25); deploy_permissions'
                # target_units derives the deploy-cfn role's rights from the same setting
                model_monitor=unit == "Serving" and config.monitoring.engine == "model_monitor",
                env=cdk.Environment(account=account, region=config.region),
            )
            stack.add_stack_dependency(target)
            built.append(stack)
        staging, serving = built
    return staging, serving, list(found.values())


def add_production_monitoring(
    app: cdk.App, config: PlatformConfig, release: Release | None, targets: list[cdk.Stack]
) -> MonitoringStack | None:
    """Separate accounts: ``<env>-Monitoring`` in the production account beside the endpoint,
    with the production target stack's capture store, topic and network (references within
    one account). It reads tooling's baselines and code by the ARNs the release names, as the
    serving stacks read models: without a release (no endpoint to watch either) it is left out.
    """
    if config.monitoring.engine == "none" or release is None:
        return None
    (target,) = [
        t
        for t in targets
        if t.stack_name == accounts.target_stack_name(config, config.production_account)
    ]
    assert isinstance(target, TargetStack)
    monitoring = MonitoringStack(
        app,
        config.stack_name("Monitoring"),
        config=config,
        alert_topic=target.alerts.topic,
        network=target.network,
        production=target.capture,
        release=release,
        env=cdk.Environment(account=config.production_account, region=config.region),
    )
    monitoring.add_stack_dependency(target)
    return monitoring


def new_app(
    config: PlatformConfig,
    *,
    outdir: str | Path,
    compliance: bool = True,
    context: dict[str, object] | None = None,
    release: Release | None = None,
    cfn_validation: bool | None = False,
) -> tuple[cdk.App, Platform]:
    """An App with the whole platform and (by default) every compliance pack attached.

    ``cfn_validation``: CDK's built-in CloudFormation validation plugin, about half of each
    synth's time and memory (benchmarks/bench_synth.py). Off by default: the inner loop
    (``make lab``, the tests, ``labctl synth``) relies on cfn-lint (``make test``,
    docs/compliance-and-rehearsal.md), which checks the same templates against the same
    resource schemas and more.
    ``True``: ``make synth`` (``labctl synth --cfn-validate``). ``None`` leaves CDK's default
    (on, unless ``cdk synth --no-validation`` or ``CDK_VALIDATION=false``): ``app.py``, which
    the CDK CLI runs for ``make deploy``.
    """
    app = cdk.App(
        outdir=str(outdir),
        context=context or {},
        builtin_cloud_formation_validation=cfn_validation,  # None: CDK's default
    )
    platform = add_platform(app, config, release)
    if compliance:
        add_compliance_gate(app)
    return app, platform


def cdk_json_context(path: str | Path | None = None) -> dict[str, object]:
    """The feature flags of ``cdk.json``: the CLI passes them itself, direct runs need them."""
    import json

    cdk_json = Path(path) if path else Path(__file__).resolve().parent.parent / "cdk.json"
    context: dict[str, object] = json.loads(cdk_json.read_text()).get("context", {})
    return context


def synth_templates(config: PlatformConfig, outdir: str | Path) -> dict[str, dict[str, object]]:
    """Synthesize one copy into ``outdir`` and return its templates by stack name.

    With the example release, so the serving stacks the delivery pipeline deploys are in, and
    without the compliance packs: for readers of the templates (idle cost, teardown plan,
    rehearsal benchmark), not for the gate.
    """
    import json

    app, platform = new_app(
        config,
        outdir=outdir,
        compliance=False,
        context=cdk_json_context(),
        release=Release.from_file(EXAMPLE_RELEASE),
    )
    app.synth()
    return {
        s.stack_name: json.loads((Path(outdir) / f"{s.stack_name}.template.json").read_text())
        for s in platform.stacks
    }


def check_deployed_budget(
    config: PlatformConfig,
    templates: Mapping[str, Mapping[str, Any]],
    serves_release: bool,
    prices: PriceTable | None = None,
) -> str | None:
    """``core.cost.check_budget`` (with separate accounts ``check_account_budgets``: each
    account's idle cost against its own limit) against what the delivery Build will deploy,
    not what this synth holds.

    A synth without a release leaves the serving stacks out, yet the Build resolves one and
    deploys them: then the profile is priced synthesized with the example release (its own
    serving kind and instance counts, exactly what ``labctl cost`` prices), so the advice
    does not pass a budget the Build then fails. With a release, ``templates`` are what the
    Build deploys.
    """
    if not serves_release:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="budget-") as tmp:
            templates = synth_templates(config, tmp)  # the synth `labctl cost` prices
    try:
        if config.multi_account:  # each account's budget sees only its part
            return check_account_budgets(config, templates, prices)
        return check_budget(config.budget.monthly_limit_usd, templates, config.region, prices)
    except ConfigError as err:
        if serves_release:
            raise
        raise ConfigError(
            f"{err}; serving priced as the delivery Build will deploy it ({config.serving.kind}"
            ", the profile's instance counts), though this synth leaves it out: `labctl cost`"
        ) from err
