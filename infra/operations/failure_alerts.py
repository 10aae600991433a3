"""Failure alerts: EventBridge rules that tell the alert topic when OUR pipelines fail.

The unit that owns what is watched adds the rule (the training stack for its SageMaker
pipelines, the delivery stack for its CodePipeline); the message is an input transformer,
one readable line: what failed, its name/ARN, the status, and the CLI command to look further.
Rules on the default bus matching AWS service events cost nothing (EventBridge pricing: "All
state change events published by AWS services by default are free").

Event shapes (the rules match on them; tests/infra/test_event_flows.py feeds the documented
examples, ours and foreign, through each rule):

- SageMaker Model Building Pipeline Execution Status Change: ``detail.pipelineArn``,
  ``detail.pipelineExecutionArn``, ``detail.currentPipelineExecutionStatus`` (no failure
  reason in the event: ``describe-pipeline-execution`` has it), SageMaker Developer Guide,
  "Events that Amazon SageMaker AI sends to Amazon EventBridge",
  https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html
  (and https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-sagemaker.html);
- CodePipeline Pipeline Execution State Change: ``detail.pipeline``, ``detail.execution-id``,
  ``detail.state`` (FAILED), CodePipeline User Guide, "Monitoring CodePipeline events",
  https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html;
- SageMaker Model Building Pipeline Execution Step Status Change (same page, "SageMaker
  pipeline step state change"): ``detail.pipelineArn``, ``detail.pipelineExecutionArn``,
  ``detail.stepName``, ``detail.currentStepStatus`` (Starting, Executing, Succeeded, Failed,
  Stopping, Stopped), ``detail.failureReason`` ("If the value of currentStepStatus is Failed"),
  ``detail.metadata`` (the job's ARN). The same names are the event type's properties in the
  EventBridge schema CDK generates its mixins-preview patterns from,
  https://docs.aws.amazon.com/cdk/api/v2/docs/@aws-cdk_mixins-preview.aws_sagemaker.events.SageMakerModelBuildingPipelineExecutionStepStatusChange.SageMakerModelBuildingPipelineExecutionStepStatusChangeProps.html
  (tests/infra/test_event_flows.py checks every alert rule's names against that package, a
  dev dependency: an experimental package is not a runtime one here).

Only our pipelines match: the SageMaker rule names the pipeline ARNs (lower case, as SageMaker
writes them; our pipeline names are lower case anyway, ``env_name`` is), the CodePipeline rule
the pipeline's ARN in ``resources``.

The jobs (training, tuning, processing, transform) are matched through their pipeline's step
events, not their own job events: without the SDK's ``use_custom_job_prefix`` SageMaker names
them ``pipelines-<execution id>-<step>-...``, a prefix every pipeline of the account shares, so
no job-name filter separates ours, while the step event names the pipeline ARN and carries the
job's failure reason.

The topic's side (its policy and key policy for events.amazonaws.com, statements
``EventBridgeRules*``) is ``AlertTopic`` in ``infra/operations/alerts.py``, checked by the
rehearsal's ``deliveries`` rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from aws_cdk.interfaces import aws_events as events_refs
from constructs import Construct

from pipelines.alert_line import step_failure_line

PIPELINE_DETAIL_TYPE = "SageMaker Model Building Pipeline Execution Status Change"
STEP_DETAIL_TYPE = "SageMaker Model Building Pipeline Execution Step Status Change"
STEP_FAILED = ["Failed", "Stopped"]
PIPELINE_FAILED = ["Failed", "Stopped"]
CODEPIPELINE_DETAIL_TYPE = "CodePipeline Pipeline Execution State Change"
CODEPIPELINE_FAILED = ["FAILED"]


@jsii.implements(events.IRuleTarget)
@jsii.implements(events.IRuleTarget)
class _TopicTarget:
    """The alert topic as a rule target, with the message. Not CDK's ``SnsTopic`` target: that
    one adds an unconditioned statement for events.amazonaws.com to the topic's policy, where
    ``AlertTopic`` has its own, conditioned on this account's rules (and an imported reference
    by a cross-stack ARN leaves the target's environment unresolved, a synth warning)."""

    def __init__(self, topic: sns.ITopic, message: str) -> None:
        self.topic, self.message = topic, message

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:  # noqa: A002
        return events.RuleTargetConfig(
            arn=self.topic.topic_arn, input=events.RuleTargetInput.from_text(self.message)
        )


def sagemaker_pipeline_failures(
    scope: Construct, id_: str, *, pipeline_arns: Sequence[str], alert_topic: sns.ITopic
) -> events.Rule:
    """A rule: an execution of one of ``pipeline_arns`` Failed or Stopped -> the topic."""
    path = events.EventField.from_path
    execution = path("$.detail.pipelineExecutionArn")
    message = (
        f"SageMaker pipeline execution {path('$.detail.currentPipelineExecutionStatus')}: "
        f"{path('$.detail.pipelineArn')} execution {execution} in {path('$.region')}. "
        f"Why: aws sagemaker describe-pipeline-execution --pipeline-execution-arn {execution}"
        f" --region {path('$.region')} (FailureReason), then list-pipeline-execution-steps"
    )
    rule = events.Rule(
        scope,
        id_,
        description="Our SageMaker pipelines' failed or stopped executions -> alert topic",
        event_pattern=events.EventPattern(
            source=["aws.sagemaker"],
            detail_type=[PIPELINE_DETAIL_TYPE],
            detail={
                "pipelineArn": list(pipeline_arns),
                "currentPipelineExecutionStatus": PIPELINE_FAILED,
            },
        ),
    )
    rule.add_target(_TopicTarget(alert_topic, message))
    return rule


def sagemaker_step_failures(
    scope: Construct, id_: str, *, pipeline_arns: Sequence[str], alert_topic: sns.ITopic
) -> events.Rule:
    """A rule: a step (its job) of one of ``pipeline_arns`` Failed or Stopped -> the topic."""
    path = events.EventField.from_path
    execution = path("$.detail.pipelineExecutionArn")
    message = step_failure_line(  # the local executor prints the same line
        step=path("$.detail.stepName"),
        status=path("$.detail.currentStepStatus"),
        reason=path("$.detail.failureReason"),
        pipeline=path("$.detail.pipelineArn"),
        execution=execution,
        where=path("$.region"),
        more=f"aws sagemaker list-pipeline-execution-steps --pipeline-execution-arn "
        f"{execution} --region {path('$.region')}",
    )
    rule = events.Rule(
        scope,
        id_,
        description="Our SageMaker pipelines' failed or stopped steps (jobs) -> alert topic",
        event_pattern=events.EventPattern(
            source=["aws.sagemaker"],
            detail_type=[STEP_DETAIL_TYPE],
            detail={"pipelineArn": list(pipeline_arns), "currentStepStatus": STEP_FAILED},
        ),
    )
    rule.add_target(_TopicTarget(alert_topic, message))
    return rule


def codepipeline_failures(
    scope: Construct, id_: str, *, pipeline_arn: str, alert_topic: sns.ITopic
) -> events.Rule:
    """A rule: an execution of the CodePipeline ``pipeline_arn`` FAILED -> the topic."""
    path = events.EventField.from_path
    name, execution = path("$.detail.pipeline"), path("$.detail.execution-id")
    message = (
        f"CodePipeline execution {path('$.detail.state')}: {name} execution {execution} "
        f"in {path('$.region')}. Why: aws codepipeline list-action-executions "
        f"--pipeline-name {name} --filter pipelineExecutionId={execution} "
        f"--region {path('$.region')}"
    )
    rule = events.Rule(
        scope,
        id_,
        description="Our delivery pipeline's failed executions -> alert topic",
        event_pattern=events.EventPattern(
            source=["aws.codepipeline"],
            detail_type=[CODEPIPELINE_DETAIL_TYPE],
            resources=[pipeline_arn],
            detail={"state": CODEPIPELINE_FAILED},
        ),
    )
    rule.add_target(_TopicTarget(alert_topic, message))
    return rule
