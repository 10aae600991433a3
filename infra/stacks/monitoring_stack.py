"""Stack: monitoring of the production endpoint (whenever ``monitoring.engine`` is not none).

Deployed by ``make deploy`` with the platform's own stacks, not by the delivery pipeline: the
serving stacks' deployment role is derived from the endpoint resources only
(infra/serving/deploy_permissions.py), and this unit creates Lambda functions, schedules,
rules, alarms, a dashboard and roles. It watches the endpoint by name
(``config.endpoint_name``), so it exists before any release: the runner looks up the deployed
version at run time and reports "no data" while there is no endpoint. With
``engine='model_monitor'`` the schedules themselves need the endpoint, so they deploy with the
production serving stack; this stack turns their executions into the same metrics and alarms
and uploads the raw zone's labels as the model-quality job's ground truth.

With separate accounts it lives in the production account beside the endpoint
(``production``: its target stack's capture store, topic and network): capture, outputs and
metrics stay there; baselines and monitoring code are read from tooling's artifacts bucket and
key by the ARNs the release names (as the serving stacks read models), labels from tooling's
raw zone by its fixed name or from production (``monitoring.labels_account``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from core import accounts
from core.config import PlatformConfig
from core.release import Release
from infra.data_lake.refs import LakeRefs
from infra.monitoring.drift import LABELS_PREFIX, DriftMonitoring, MonitoringSources
from infra.network.construct import IsolatedNetwork

if TYPE_CHECKING:
    from infra.stacks.target_stack import CaptureStore


class MonitoringStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        alert_topic: sns.ITopic,
        network: IsolatedNetwork | None = None,
        production: CaptureStore | None = None,
        release: Release | None = None,
        **kwargs: Any,
    ) -> None:
        """``production`` (separate accounts): the production target stack's capture store;
        ``release`` then names tooling's artifacts bucket and key."""
        super().__init__(scope, id_, **kwargs)
        model_monitor = config.monitoring.engine == "model_monitor"
        lake = None
        if production is None:
            lake = LakeRefs(
                self, "Lake", env_name=config.env_name, database_name=config.lake_database
            )
            sources = MonitoringSources.from_lake(lake)
        else:
            assert release is not None, "separate accounts: the release names tooling's lake"
            sources = production_sources(self, config, production, release)
        self.sources = sources
        self.monitoring = DriftMonitoring(
            self,
            "Monitoring",
            config=config,
            endpoint_name=config.endpoint_name,
            sources=sources,
            alert_topic=alert_topic,
            model_monitor=model_monitor,
            network=network,  # isolated profiles: the drift and quality jobs join the VPC
            # separate accounts: the bridge lists the training pipeline's runs, so it runs in
            # tooling (TrainingStack), fed by production's forwarded alarm events
            retrain_bridge=production is None,
        )
        if model_monitor and lake is not None:
            # Model Monitor's model-quality job merges ground truth in its own layout.
            from infra.monitoring.ground_truth import GroundTruthUpload

            self.ground_truth = GroundTruthUpload(
                self,
                "GroundTruth",
                lake=lake,
                log_key=self.monitoring.log_key,
                alert_topic=alert_topic,
            )
        cdk.CfnOutput(self, "DashboardName", value=self.monitoring.dashboard.dashboard_name)


def production_sources(
    scope: Construct, config: PlatformConfig, production: CaptureStore, release: Release
) -> MonitoringSources:
    """Separate accounts: capture, outputs and the jobs' key in production; tooling's
    artifacts (baselines, code) by the release's ARNs, labels by the raw zone's fixed name
    (``labels_account='tooling'``) or under LABELS_PREFIX of production's capture bucket."""
    from infra.serving.released_artifacts import ReleasedArtifacts

    tooling = ReleasedArtifacts(scope, "Tooling", release=release)
    labels = production.artifacts_bucket
    prefix = LABELS_PREFIX
    if config.monitoring.labels_account == "tooling":
        name = accounts.lake_raw_bucket_name(config)
        labels = s3.Bucket.from_bucket_attributes(
            scope,
            "ToolingRawBucket",
            bucket_arn=f"arn:{accounts.partition(config)}:s3:::{name}",
            account=config.tooling_account,
            encryption_key=tooling.key,  # the lake key encrypts every zone
        )
        prefix = ""
    return MonitoringSources(
        capture_bucket=production.artifacts_bucket,
        output_bucket=production.artifacts_bucket,
        key=production.key,
        artifacts_bucket=tooling.artifacts_bucket,
        labels_bucket=labels,
        labels_prefix=prefix,
        package_account=config.tooling_account,
        role_path=accounts.monitoring_role_path(config),
    )
