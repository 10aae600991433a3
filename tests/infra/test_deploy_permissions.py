"""What deploying and running the platform takes: derived by the unit that creates it."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from infra.serving.deploy_permissions import deployment_requirements, serving_units

VPC_ACTIONS = {
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeDhcpOptions",
}


def _role_statements(template: dict, prefix: str) -> list[dict]:
    policies = Template.from_json(template).find_resources("AWS::IAM::Policy")
    (policy,) = [p for k, p in policies.items() if k.startswith(prefix)]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def _actions(statements: list[dict]) -> set[str]:
    found: set[str] = set()
    for s in statements:
        found |= {s["Action"]} if isinstance(s["Action"], str) else set(s["Action"])
    return found


@pytest.mark.parametrize(
    ("unit", "prefix"),
    [
        ("Training", "ExecutionRoleDefaultPolicy"),
        ("Serving", "EndpointRoleDefaultPolicy"),
        ("ServingStaging", "EndpointRoleDefaultPolicy"),
    ],
)
def test_isolated_mode_lets_sagemaker_attach_jobs_and_endpoints_to_the_vpc(
    synth, unit: str, prefix: str
) -> None:  # type: ignore[no-untyped-def]
    """SageMaker creates the network interfaces with the execution role: without these,
    every prod-like job and endpoint fails at launch. Interface changes are bound to the VPC."""
    statements = _role_statements(synth("prod-like").template(unit), prefix)
    assert _actions(statements) >= VPC_ACTIONS
    (bound,) = [s for s in statements if s.get("Sid") == "VpcNetworkInterfaces"]
    assert set(bound["Action"]) == {
        "ec2:CreateNetworkInterface",
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
    }
    # IfExists: a new interface carries no ec2:Vpc key (Service Authorization Reference), so
    # a plain ArnEquals would deny CreateNetworkInterface; subnet and security group carry it.
    (operator,) = bound["Condition"]
    assert operator == "ArnEqualsIfExists"
    assert ":vpc/" in json.dumps(bound["Condition"][operator]["ec2:Vpc"])


@pytest.mark.parametrize("unit", ["Training", "Serving", "ServingStaging"])
def test_lab_mode_grants_no_vpc_permissions(synth, unit: str) -> None:  # type: ignore[no-untyped-def]
    text = json.dumps(synth("lab").template(unit))
    assert not any(a in text for a in VPC_ACTIONS)


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_serving_units_are_the_stacks_the_platform_builds(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    """Delivery derives the deployment role from serving_units: they must be the real stacks
    (names, endpoint names, instance counts, guardrail mode)."""
    result = synth(profile)
    config = result.platform.config
    staging, production = serving_units(config)
    for unit, stack in ((staging, result.platform.staging), (production, result.platform.serving)):
        assert unit.stack_name == stack.stack_name
        template = result.templates[stack.stack_name]
        (endpoint,) = (
            Template.from_json(template).find_resources("AWS::SageMaker::Endpoint").values()
        )
        assert endpoint["Properties"]["EndpointName"] == unit.endpoint_name
        routing = endpoint["Properties"]["DeploymentConfig"]["BlueGreenUpdatePolicy"][
            "TrafficRoutingConfiguration"
        ]
        assert routing["Type"] == unit.serving.guardrail.mode.upper()
        (role,) = Template.from_json(template).find_resources("AWS::IAM::Role").values()
        assert role["Properties"]["Path"] == f"/{stack.stack_name}/"
    assert staging.serving.guardrail.mode == "all_at_once"


def test_requirements_are_data_for_the_rehearsal(synth) -> None:  # type: ignore[no-untyped-def]
    """(action, resource) pairs with concrete ARNs, covering the issue's named gaps."""
    config = synth("prod-like").platform.config
    key = f"arn:aws:kms:{config.region}:{config.account}:key/example"
    reqs = deployment_requirements(
        serving_units(config),
        account=config.account,
        region=config.region,
        qualifier=config.cdk_qualifier,
        key_arn=key,
    )
    pairs = {(r.action, r.resource) for r in reqs}
    account, region = config.account, config.region
    for expected in [
        (
            "ssm:GetParameters",
            f"arn:aws:ssm:{region}:{account}:parameter/cdk-bootstrap/hnb659fds/version",
        ),
        (
            "sagemaker:UpdateEndpointWeightsAndCapacities",
            f"arn:aws:sagemaker:{region}:{account}:endpoint/prodlike-digits",
        ),
        (
            "cloudwatch:PutMetricAlarm",
            f"arn:aws:cloudwatch:{region}:{account}:alarm:TargetTracking-endpoint/"
            "prodlike-digits/variant/AllTraffic-*",
        ),
        ("cloudwatch:GetMetricData", "*"),
        (
            "cloudwatch:ListTagsForResource",
            f"arn:aws:cloudwatch:{region}:{account}:alarm:prodlike-Serving-*",
        ),
        ("iam:ListAttachedRolePolicies", f"arn:aws:iam::{account}:role/prodlike-Serving/*"),
        ("iam:ListRolePolicies", f"arn:aws:iam::{account}:role/prodlike-ServingStaging/*"),
        ("iam:ListEntitiesForPolicy", f"arn:aws:iam::{account}:policy/prodlike-Serving/*"),
        ("iam:GetPolicyVersion", f"arn:aws:iam::{account}:policy/prodlike-Serving/*"),
        ("kms:CreateGrant", key),
        (
            "cloudformation:DescribeStacks",
            f"arn:aws:cloudformation:{region}:{account}:stack/prodlike-Network/*",
        ),
    ]:
        assert expected in pairs, expected
    (grant,) = [r for r in reqs if r.action == "kms:CreateGrant"]
    assert grant.conditions == (("Bool", "kms:GrantIsForAWSResource", "true"),)
    (slr,) = [r for r in reqs if r.action == "iam:CreateServiceLinkedRole"]
    assert slr.resource == (
        f"arn:aws:iam::{account}:role/aws-service-role/sagemaker.application-autoscaling."
        "amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    )
    assert slr.conditions == (
        ("StringEquals", "iam:AWSServiceName", "sagemaker.application-autoscaling.amazonaws.com"),
    )
    assert not [r for r in reqs if ":iam:" in r.resource and f":iam:{region}:" in r.resource]
