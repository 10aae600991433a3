"""Stack: streaming ingestion into the raw zone, the platform's alert topic and its budget."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from infra.config import PlatformConfig
from infra.data_lake.refs import LakeRefs
from infra.ingestion.construct import StreamIngestion
from infra.monitoring.alerts import AlertTopic
from infra.monitoring.budget import CostGuardrail
from infra.serving.reaper import EndpointReaper


class IngestionStack(cdk.Stack):
    def __init__(
        self, scope: Construct, id_: str, *, config: PlatformConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, id_, termination_protection=not config.destroyable, **kwargs)
        lake = LakeRefs(self, "Lake", env_name=config.env_name, database_name=config.lake_database)
        self.alerts = AlertTopic(
            self, "Alerts", emails=config.budget.alert_emails, retain=not config.destroyable
        )
        self.ingestion = StreamIngestion(
            self,
            "Ingestion",
            config=config.ingestion,
            lake=lake,
            alert_topic=self.alerts.topic,
            retain=not config.destroyable,
        )
        self.budget = CostGuardrail(
            self,
            "CostGuardrail",
            config=config.budget,
            env_name=config.env_name,
            topic=self.alerts.topic,
            topic_key=self.alerts.key,
        )
        if config.expiry.endpoint_hours:  # lab endpoints expire; prod-like has no reaper
            self.reaper = EndpointReaper(
                self,
                "Reaper",
                config=config.expiry,
                env_name=config.env_name,
                topic=self.alerts.topic,
                topic_key=self.alerts.key,
                log_key=self.ingestion.key,  # logs-capable (stream and delivery logs)
            )
        cdk.CfnOutput(self, "StreamName", value=self.ingestion.stream.stream_name)
        cdk.CfnOutput(
            self, "DeliveryStreamName", value=self.ingestion.delivery.delivery_stream_name
        )
        cdk.CfnOutput(self, "AlertTopicArn", value=self.alerts.topic.topic_arn)
        cdk.CfnOutput(
            self, "ProducerPolicyArn", value=self.ingestion.producer_policy.managed_policy_arn
        )
