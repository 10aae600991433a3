"""What the endpoint construct offers others (grant_invoke, metric*), built in a bare stack.

Expected values are literals from the AWS documentation: the action from the Service
Authorization Reference (Amazon SageMaker AI: InvokeEndpoint on resource type ``endpoint``),
the metric names, namespace, dimensions and units from "Amazon SageMaker AI metrics in Amazon
CloudWatch" (SageMaker developer guide).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from infra.platform import cdk_json_context
from infra.serving.construct import ModelEndpoint, endpoint_arn

ENV = cdk.Environment(account="111111111111", region="us-east-1")


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(context=cdk_json_context()), "Bare", env=ENV)


def _alarm_props(metric: cw.Metric) -> dict[str, Any]:
    """The metric as CloudFormation sees it, through an alarm on it."""
    stack = _stack()
    metric.create_alarm(stack, "Alarm", threshold=1, evaluation_periods=1)
    (alarm,) = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm").values()
    props: dict[str, Any] = alarm["Properties"]
    return props


def test_grant_invoke_allows_invoke_endpoint_on_that_endpoint_only() -> None:
    """A grantee may call InvokeEndpoint on the one endpoint (its ARN, name in lower case)."""
    stack = _stack()
    role = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    ModelEndpoint.from_endpoint_name(stack, "Endpoint", "Lab-Digits").grant_invoke(role)
    (policy,) = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": "sagemaker:InvokeEndpoint",
            "Effect": "Allow",
            "Resource": "arn:aws:sagemaker:us-east-1:111111111111:endpoint/lab-digits",
        }
    ]


def test_endpoint_arn_of_a_name_pattern_keeps_the_wildcard() -> None:
    """The reaper's prefix pattern: every endpoint of one copy."""
    assert (
        endpoint_arn(_stack(), "lab-*") == "arn:aws:sagemaker:us-east-1:111111111111:endpoint/lab-*"
    )


@pytest.mark.parametrize(
    ("method", "metric_name", "statistic"),
    [
        ("metric_invocations", "Invocations", "Sum"),
        ("metric_invocation_4xx_errors", "Invocation4XXErrors", "Sum"),
        ("metric_invocation_5xx_errors", "Invocation5XXErrors", "Sum"),
        ("metric_model_errors", "InvocationModelErrors", "Sum"),
        ("metric_model_latency", "ModelLatency", "Average"),
    ],
)
def test_named_metrics_are_the_documented_variant_metrics(
    method: str, metric_name: str, statistic: str
) -> None:
    """Each named metric is AWS/SageMaker's, per endpoint and variant, default 5 minutes."""
    endpoint = ModelEndpoint.from_endpoint_name(_stack(), "Endpoint", "lab-digits")
    props = _alarm_props(getattr(endpoint, method)())
    assert props["Namespace"] == "AWS/SageMaker"
    assert props["MetricName"] == metric_name
    assert props["Statistic"] == statistic
    assert props["Period"] == 300
    assert props["Dimensions"] == [
        {"Name": "EndpointName", "Value": "lab-digits"},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]


def test_metric_options_override_the_defaults() -> None:
    """A percentile, a period and another variant reach the rendered metric."""
    endpoint = ModelEndpoint.from_endpoint_name(_stack(), "Endpoint", "lab-digits")
    props = _alarm_props(
        endpoint.metric_model_latency(statistic="p99", period=cdk.Duration.minutes(1))
    )
    assert (props["ExtendedStatistic"], props["Period"]) == ("p99", 60)
    other = _alarm_props(endpoint.metric("Invocations", variant="Shadow"))
    assert other["Dimensions"][1] == {"Name": "VariantName", "Value": "Shadow"}
