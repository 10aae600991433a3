"""Stack: the training unit (pipeline, model registry groups, execution role, grants)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_sns as sns
from constructs import Construct

from core.config import PlatformConfig
from core.release import Release
from infra.data_lake.construct import LakeGrant
from infra.data_lake.refs import LakeRefs
from infra.monitoring.images import sklearn_processing_image
from infra.network.construct import IsolatedNetwork
from infra.operations.failure_alerts import sagemaker_pipeline_failures, sagemaker_step_failures
from infra.scoring.construct import ScoringPipeline
from infra.training.construct import TrainingPipeline
from infra.training.role import SageMakerExecutionRole


class TrainingStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        network: IsolatedNetwork | None,
        alert_topic: sns.ITopic,
        release: Release | None = None,
        **kwargs: Any,
    ) -> None:
        """``alert_topic``: where failed runs are announced, and where the retrain bridge's
        dead letters alarm (multi-account with monitoring: the bridge runs here, beside the
        pipeline)."""
        super().__init__(scope, id_, **kwargs)
        lake = LakeRefs(self, "Lake", env_name=config.env_name, database_name=config.lake_database)
        self.execution = SageMakerExecutionRole(self, "Execution", lake=lake, network=network)
        LakeGrant(
            self,
            "LakeGrant",
            role=self.execution.role,
            database_name=lake.database_name,
            tables=True,
            write_locations=[lake.curated_bucket],
        )
        self.training = TrainingPipeline(
            self,
            "Training",
            config=config,
            lake=lake,
            role=self.execution.role,
            network=network,
        )
        # Batch transform: its own pipeline, run with the execution role (infra/scoring/)
        self.scoring = ScoringPipeline(
            self,
            "Scoring",
            config=config,
            lake=lake,
            role=self.execution.role,
            network=network,
            processing_image=sklearn_processing_image(config.region),
        )
        self.scoring_schedule = None
        if config.batch.schedule and release is not None:  # no release: nothing to score with
            from infra.scoring.schedule import ScoringSchedule

            self.scoring_schedule = ScoringSchedule(
                self,
                "ScoringSchedule",
                pipeline=self.scoring,
                expression=config.batch.schedule,
                package_arn=release.xgboost.package_arn,
            )
        self.execution.finalize()
        # issue 26: a failed or stopped run, or step (its job), of either pipeline notifies
        # the alert topic
        ours = [self.training.pipeline_arn, self.scoring.pipeline_arn]
        sagemaker_pipeline_failures(
            self, "PipelineFailures", pipeline_arns=ours, alert_topic=alert_topic
        )
        sagemaker_step_failures(self, "StepFailures", pipeline_arns=ours, alert_topic=alert_topic)
        if config.multi_account:  # issue 17: production forwards retrain requests here
            from aws_cdk import aws_events as events

            from core.accounts import retrain_bus_statement

            statement = retrain_bus_statement(config)
            events.CfnEventBusPolicy(
                self,
                "RetrainFromProduction",
                event_bus_name="default",
                statement_id=statement.pop("Sid"),
                statement=statement,
            )
        self.retrain_bridge = None
        if config.multi_account and config.monitoring.engine != "none" and alert_topic:
            self.retrain_bridge = self._retrain_bridge(config, alert_topic)
        cdk.CfnOutput(self, "ExecutionRoleArn", value=self.execution.role.role_arn)
        cdk.CfnOutput(self, "ScoringPipelineName", value=self.scoring.pipeline_name)
        cdk.CfnOutput(self, "PipelineName", value=self.training.pipeline_name)

    def _retrain_bridge(self, config: PlatformConfig, alert_topic: sns.ITopic) -> Any:
        """The alarms live in production (Monitoring stack there) and their ALARM transitions
        arrive forwarded on this account's default bus (the policy above): the bridge runs
        here, where it can read the pipeline's executions."""
        from core.accounts import monitoring_alarm_arns
        from infra.monitoring.retrain_bridge import RetrainBridge

        return RetrainBridge(
            self,
            "RetrainBridge",
            config=config,
            endpoint_name=config.endpoint_name,
            alarm_arns=monitoring_alarm_arns(config),
            source_account=config.production_account,
            alert_topic=alert_topic,
        )
