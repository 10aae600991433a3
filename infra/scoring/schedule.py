"""The scoring pipeline's schedule: EventBridge Scheduler starts it with the released model.

Profile option ``batch.schedule`` (``core/config/`` ``BatchConfig``): a rate or cron
expression; empty, no schedule (``labctl batch transform`` starts runs by hand). The target is
the scheduler's templated SageMaker target, StartPipelineExecution with
``SageMakerPipelineParameters`` (EventBridge Scheduler API Reference,
"SageMakerPipelineParameters": up to 200 name/value pairs), given the *released* XGBoost
package (``Release.xgboost.package_arn``, known at synth from the release file) as
``ModelPackageArn`` and the curated ``scoring/`` prefix as ``InputPrefix``. No release, no
schedule: there is no approved model to score with, and a schedule without its parameter would
fail every run. A new release re-synthesizes with the new ARN (``make deploy``).

An L1 ``CfnSchedule``, not aws-cdk's ``SageMakerStartPipelineExecution`` target: that target
grants the scheduler's role itself, so the grant could not be missing; here the role gets
exactly ``ScoringPipeline.grant_start_execution`` and the rehearsal's
``scheduler-starts-scoring-pipeline`` row checks it. Encrypted as the platform's other
schedules (drift, ground truth, reaper): no ``KmsKeyArn``, so Scheduler encrypts the schedule
with an AWS owned key (EventBridge Scheduler User Guide, "Encryption at rest in EventBridge
Scheduler": the default; a customer managed key covers only the TargetInput payload, and this
target has none); the schedule holds only a pipeline ARN, a model package ARN and a prefix.
Not stateful. Exposes: role, schedule.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from infra.compliance.packs import acknowledge_packs
from infra.scoring.construct import ScoringPipeline
from pipelines.scoring_pipeline import SCORING_PREFIX


class ScoringSchedule(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        pipeline: ScoringPipeline,
        expression: str,
        package_arn: str,
        input_prefix: str = SCORING_PREFIX,
    ) -> None:
        super().__init__(scope, id_)
        # Scheduler's execution role: the target's API on the target only (EventBridge
        # Scheduler User Guide, "Set up the execution role").
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description=f"EventBridge Scheduler starts the {pipeline.pipeline_name} pipeline",
        )
        pipeline.grant_start_execution(self.role)
        acknowledge_packs(
            self.role.node.find_child("DefaultPolicy"),
            "IAMNoInlinePolicy",
            "One-statement inline policy of the schedule's role (StartPipelineExecution on the "
            "scoring pipeline only), deleted with the role.",
        )
        parameters = {"ModelPackageArn": package_arn, "InputPrefix": input_prefix}
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            schedule_expression=expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            description=f"Batch transform of the curated {input_prefix} prefix with the "
            "released model",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=pipeline.pipeline_arn,
                role_arn=self.role.role_arn,
                sage_maker_pipeline_parameters=scheduler.CfnSchedule.SageMakerPipelineParametersProperty(
                    pipeline_parameter_list=[
                        scheduler.CfnSchedule.SageMakerPipelineParameterProperty(
                            name=name, value=value
                        )
                        for name, value in parameters.items()
                    ]
                ),
            ),
        )
