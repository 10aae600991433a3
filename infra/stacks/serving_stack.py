"""Stack: the model endpoint of the configured kind (only when a release file exists), and in
production with ``monitoring.engine='model_monitor'`` its Model Monitor schedules."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_sns as sns
from constructs import Construct

from core.config import PlatformConfig, ServingConfig
from core.release import Release
from infra.data_lake.refs import LakeRefs
from infra.network.construct import IsolatedNetwork
from infra.operations.runtime.reaper.reaper import EXPIRY_TAG
from infra.serving.construct import ModelEndpoint
from infra.serving.released_artifacts import ReleasedArtifacts


class ServingStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        serving: ServingConfig,
        endpoint_name: str,
        release: Release,
        alert_topic: sns.ITopic,
        network: IsolatedNetwork | None,
        model_monitor: bool = False,
        capture: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id_, **kwargs)
        lake: Any
        if capture is not None:  # a target account: the lake is what the release names
            lake = ReleasedArtifacts(self, "Lake", release=release)
        else:
            lake = LakeRefs(
                self, "Lake", env_name=config.env_name, database_name=config.lake_database
            )
        self.endpoint = ModelEndpoint(
            self,
            "Endpoint",
            config=serving,
            endpoint_name=endpoint_name,
            release=release,
            lake=lake,
            alert_topic=alert_topic,
            network=network,
            capture=capture,
        )
        if config.expiry.endpoint_hours:  # the reaper deletes it once its lifetime is over
            cdk.Tags.of(self.endpoint.endpoint).add(EXPIRY_TAG, str(config.expiry.endpoint_hours))
        if model_monitor:
            # Model Monitor's schedules need the endpoint to exist, so they deploy with it
            # (the deployment role may create them: infra/serving/deploy_permissions.py); the
            # alarms, bridge and dashboard reading their results are in <env>-Monitoring.
            from infra.monitoring.model_monitor import ModelMonitorSchedules

            self.model_monitor = ModelMonitorSchedules(
                self,
                "ModelMonitor",
                config=config,
                endpoint_name=endpoint_name,
                lake=lake,
                release=release,  # the deployed version's baselines
                network=network,  # isolated profiles: the executions join the VPC
                capture=capture,  # a target account: its capture bucket and key (issue 25)
            )
            # They name the endpoint, and SageMaker refuses a schedule on an endpoint that
            # does not exist yet: created after it, deleted before it.
            self.model_monitor.node.add_dependency(self.endpoint.endpoint)
        cdk.CfnOutput(self, "EndpointName", value=endpoint_name)
        # `labctl deploy status --expect-config` compares it with what the endpoint serves:
        # a rolled-back blue/green update leaves the endpoint on the previous config.
        cdk.CfnOutput(
            self,
            "EndpointConfigName",
            value=self.endpoint.endpoint_config.attr_endpoint_config_name,
        )
        cdk.CfnOutput(self, "InvokePolicyArn", value=self.endpoint.invoke_policy.managed_policy_arn)
