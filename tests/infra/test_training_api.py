"""What the training pipeline construct offers others (grant_*), built in a bare stack.

Expected actions are literals from the Service Authorization Reference (Amazon SageMaker AI:
StartPipelineExecution and ListPipelineExecutions on resource type ``pipeline``; Amazon
EventBridge: PutEvents on ``event-bus``, condition key ``events:source``).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from infra.platform import cdk_json_context
from infra.training.construct import PipelineBase, TrainingPipeline

PIPELINE_ARN = "arn:aws:sagemaker:us-east-1:111111111111:pipeline/lab-digits-training"


def _granted(grant: str) -> list[dict[str, Any]]:
    stack = cdk.Stack(
        cdk.App(context=cdk_json_context()),
        "Bare",
        env=cdk.Environment(account="111111111111", region="us-east-1"),
    )
    role = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    pipeline: PipelineBase = TrainingPipeline.from_pipeline_name(
        stack, "Pipeline", "Lab-Digits-Training"
    )
    getattr(pipeline, grant)(role)
    (policy,) = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_grant_start_execution_allows_starting_that_pipeline_only() -> None:
    """StartPipelineExecution on the one pipeline (SageMaker ARNs: name in lower case)."""
    assert _granted("grant_start_execution") == [
        {"Action": "sagemaker:StartPipelineExecution", "Effect": "Allow", "Resource": PIPELINE_ARN}
    ]


def test_grant_list_executions_allows_listing_that_pipelines_runs_only() -> None:
    """ListPipelineExecutions on the one pipeline (the retrain bridge's cooldown)."""
    assert _granted("grant_list_executions") == [
        {"Action": "sagemaker:ListPipelineExecutions", "Effect": "Allow", "Resource": PIPELINE_ARN}
    ]


def test_grant_request_retrain_puts_only_the_retrain_source_on_the_default_bus() -> None:
    """PutEvents on the default bus, only with the source the training rule listens for."""
    assert _granted("grant_request_retrain") == [
        {
            "Action": "events:PutEvents",
            "Condition": {"StringEquals": {"events:source": "mlops.platform"}},
            "Effect": "Allow",
            "Resource": "arn:aws:events:us-east-1:111111111111:event-bus/default",
        }
    ]


def test_the_retrain_rule_listens_for_what_the_grant_allows(synth) -> None:  # type: ignore[no-untyped-def]
    """The training stack's rule matches the source a grantee may put, and its detail type."""
    template = Template.from_json(synth("lab").template("Training"))
    rules = [
        r["Properties"]["EventPattern"]
        for r in template.find_resources("AWS::Events::Rule").values()
    ]
    assert {"source": ["mlops.platform"], "detail-type": ["RetrainRequested"]} in rules
