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
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_sns as sns
from constructs import Construct

from core.config import PlatformConfig
from infra.data_lake.refs import LakeRefs
from infra.monitoring.drift import DriftMonitoring
from infra.network.construct import IsolatedNetwork


class MonitoringStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        alert_topic: sns.ITopic,
        network: IsolatedNetwork | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id_, **kwargs)
        lake = LakeRefs(self, "Lake", env_name=config.env_name, database_name=config.lake_database)
        model_monitor = config.monitoring.engine == "model_monitor"
        self.monitoring = DriftMonitoring(
            self,
            "Monitoring",
            config=config,
            endpoint_name=config.endpoint_name,
            lake=lake,
            alert_topic=alert_topic,
            model_monitor=model_monitor,
            network=network,  # isolated profiles: the drift and quality jobs join the VPC
        )
        if model_monitor and not config.multi_account:  # three accounts: <env>-GroundTruth
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
