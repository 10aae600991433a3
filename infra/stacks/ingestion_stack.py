"""Stack: streaming ingestion into the raw zone (and, in single-account lab copies, the
endpoint reaper; with separate accounts the target stacks run it)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from core.config import PlatformConfig
from infra.data_lake.refs import LakeRefs
from infra.ingestion.construct import StreamIngestion
from infra.operations.alerts import AlertTopic
from infra.operations.expiry import EndpointReaper


class IngestionStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        alerts: AlertTopic,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id_, termination_protection=not config.destroyable, **kwargs)
        lake = LakeRefs(self, "Lake", env_name=config.env_name, database_name=config.lake_database)
        self.ingestion = StreamIngestion(
            self,
            "Ingestion",
            config=config.ingestion,
            lake=lake,
            alert_topic=alerts.topic,
            retain=not config.destroyable,
        )
        # Lab endpoints expire; prod-like has no reaper. With separate accounts tooling hosts
        # no endpoint (batch scoring runs transform jobs, which end by themselves): each target
        # stack runs the reaper of its own account (issue 25).
        if config.expiry.endpoint_hours and not config.multi_account:
            self.reaper = EndpointReaper(
                self,
                "Reaper",
                config=config.expiry,
                env_name=config.env_name,
                alerts=alerts,
                log_key=self.ingestion.key,  # logs-capable (stream and delivery logs)
                stack_endpoints={
                    config.endpoint_name: config.stack_name("Serving"),
                    config.staging_endpoint_name: config.stack_name("ServingStaging"),
                },
            )
        cdk.CfnOutput(self, "StreamName", value=self.ingestion.stream.stream_name)
        cdk.CfnOutput(
            self, "DeliveryStreamName", value=self.ingestion.delivery.delivery_stream_name
        )
        cdk.CfnOutput(
            self, "ProducerPolicyArn", value=self.ingestion.producer_policy.managed_policy_arn
        )
