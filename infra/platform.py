"""Composition: one full copy of the platform for one configuration.

Stacks are added to the App directly, named ``<env>-<Unit>``, so ``cdk deploy 'lab-*'``
selects one copy. Each stack takes objects from the ones before it (``lake``, ``network``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk

from infra.compliance.packs import add_compliance_gate
from infra.compliance.tags import apply_tags
from infra.config import PlatformConfig
from infra.serving.release import RELEASE_DIR, Release
from infra.stacks.data_lake_stack import DataLakeStack
from infra.stacks.ingestion_stack import IngestionStack
from infra.stacks.network_stack import NetworkStack
from infra.stacks.serving_stack import ServingStack
from infra.stacks.training_stack import TrainingStack


@dataclass
class Platform:
    config: PlatformConfig
    data_lake: DataLakeStack
    ingestion: IngestionStack
    training: TrainingStack
    network: NetworkStack | None = None
    serving: ServingStack | None = None
    stacks: list[cdk.Stack] = field(default_factory=list)


def add_platform(app: cdk.App, config: PlatformConfig, release: Release | None = None) -> Platform:
    env = cdk.Environment(account=config.account, region=config.region)
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
        env=env,
    )
    # Consumers import the lake's named exports, so the order is declared, not inferred.
    training.add_stack_dependency(data_lake)
    ingestion = IngestionStack(app, config.stack_name("Ingestion"), config=config, env=env)
    ingestion.add_stack_dependency(data_lake)
    serving = None
    if release is not None:  # no approved model yet: nothing to serve
        serving = ServingStack(
            app,
            config.stack_name("Serving"),
            config=config,
            release=release,
            alert_topic=ingestion.alerts.topic,
            network=network.network if network else None,
            env=env,
        )
        serving.add_stack_dependency(data_lake)
    stacks: list[cdk.Stack] = [
        s for s in (data_lake, network, ingestion, training, serving) if s is not None
    ]
    apply_tags(app, config.tags)
    return Platform(config, data_lake, ingestion, training, network, serving, stacks)


def new_app(
    config: PlatformConfig,
    *,
    outdir: str | Path,
    compliance: bool = True,
    context: dict[str, object] | None = None,
    release: Release | None = None,
) -> tuple[cdk.App, Platform]:
    """An App with the whole platform and (by default) every compliance pack attached."""
    app = cdk.App(outdir=str(outdir), context=context or {})
    platform = add_platform(app, config, release)
    if compliance:
        add_compliance_gate(app)
    return app, platform


EXAMPLE_RELEASE = Path(__file__).resolve().parent.parent / "config" / "examples" / "release.json"
REPO_ROOT = Path(__file__).resolve().parent.parent


def release_path(config: PlatformConfig) -> Path:
    """Where ``labctl release resolve`` writes the approved packages for this environment."""
    return REPO_ROOT / RELEASE_DIR / f"{config.env_name}.json"


def release_groups(config: PlatformConfig) -> dict[str, str]:
    """The model package group each model of a release must come from."""
    return {
        "xgboost": config.training.model_package_group,
        "baseline": config.training.baseline_package_group,
    }


def cdk_json_context(path: str | Path | None = None) -> dict[str, object]:
    """The feature flags of ``cdk.json``: the CLI passes them itself, direct runs need them."""
    import json

    cdk_json = Path(path) if path else Path(__file__).resolve().parent.parent / "cdk.json"
    context: dict[str, object] = json.loads(cdk_json.read_text()).get("context", {})
    return context
