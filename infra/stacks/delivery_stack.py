"""Stack: the delivery pipeline (approved model -> staging -> smoke test -> approval -> prod)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_sns as sns
from constructs import Construct

from core.config import PlatformConfig
from infra.data_lake.refs import LakeRefs
from infra.delivery.construct import ModelDelivery
from infra.operations.failure_alerts import codepipeline_failures


class DeliveryStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        alert_topic: sns.ITopic,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id_, **kwargs)
        lake = LakeRefs(self, "Lake", env_name=config.env_name, database_name=config.lake_database)
        self.delivery = ModelDelivery(
            self,
            "Delivery",
            config=config,
            lake=lake,
            staging_stack=config.stack_name("ServingStaging"),
            production_stack=config.stack_name("Serving"),
            alert_topic=alert_topic,
        )
        # issue 26: a failed delivery run notifies the alert topic
        codepipeline_failures(
            self,
            "PipelineFailures",
            pipeline_arn=self.delivery.pipeline.pipeline_arn,
            alert_topic=alert_topic,
        )
        cdk.CfnOutput(self, "PipelineName", value=self.delivery.pipeline.pipeline_name)
        cdk.CfnOutput(self, "SourceBucketName", value=self.delivery.source_bucket.bucket_name)
