"""The isolated network unit, built in a bare stack with only what it needs."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from infra.network.construct import IsolatedNetwork
from infra.platform import cdk_json_context


def _network(retain: bool = False) -> tuple[cdk.Stack, IsolatedNetwork]:
    stack = cdk.Stack(
        cdk.App(context=cdk_json_context()),
        "Bare",
        env=cdk.Environment(account="111111111111", region="us-east-1"),
    )
    return stack, IsolatedNetwork(stack, "Network", max_azs=2, retain=retain)


@pytest.fixture(scope="module")
def network() -> dict[str, Any]:
    stack, _ = _network()
    template: dict[str, Any] = Template.from_stack(stack).to_json()
    return template


def _of(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def test_no_route_leaves_the_vpc(network: dict[str, Any]) -> None:
    """No internet gateway, no NAT gateway: isolated subnets only."""
    assert not _of(network, "AWS::EC2::InternetGateway")
    assert not _of(network, "AWS::EC2::NatGateway")
    assert len(_of(network, "AWS::EC2::Subnet")) == 2  # one per AZ
    for subnet in _of(network, "AWS::EC2::Subnet"):
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


def test_sagemaker_reaches_its_apis_through_private_endpoints(network: dict[str, Any]) -> None:
    """S3 by gateway; SageMaker API/runtime, STS, Logs, CloudWatch, ECR, KMS by interface."""
    names = {
        json.dumps(e["Properties"]["ServiceName"]) for e in _of(network, "AWS::EC2::VPCEndpoint")
    }
    for service in (
        "sagemaker.api",
        "sagemaker.runtime",
        "sts",
        "logs",
        "monitoring",
        "ecr.api",
        "ecr.dkr",
        "kms",
        ".s3",
    ):
        assert any(service in n for n in names), service
    interface = [
        e["Properties"]
        for e in _of(network, "AWS::EC2::VPCEndpoint")
        if e["Properties"].get("VpcEndpointType") == "Interface"
    ]
    assert len(interface) == 8 and all(e["PrivateDnsEnabled"] for e in interface)


def test_workloads_may_leave_only_on_https_and_to_each_other(network: dict[str, Any]) -> None:
    """The workload group's egress: 443 anywhere (no route but the endpoints) and itself."""
    groups = _of(network, "AWS::EC2::SecurityGroup")
    (workload,) = [g for g in groups if "jobs and endpoints" in g["Properties"]["GroupDescription"]]
    (egress,) = workload["Properties"]["SecurityGroupEgress"]
    assert (egress["CidrIp"], egress["FromPort"], egress["ToPort"]) == ("0.0.0.0/0", 443, 443)


def test_flow_logs_go_to_an_encrypted_log_group(network: dict[str, Any]) -> None:
    """Every VPC's traffic is logged, to a KMS-encrypted group."""
    (flow,) = _of(network, "AWS::EC2::FlowLog")
    assert flow["Properties"]["TrafficType"] == "ALL"
    (group,) = _of(network, "AWS::Logs::LogGroup")
    assert "KmsKeyId" in group["Properties"]


def test_grant_network_interfaces_binds_eni_creation_to_this_vpc() -> None:
    """The execution role may create/delete ENIs only in this VPC (ArnEqualsIfExists ec2:Vpc)."""
    stack, network = _network()
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    network.grant_network_interfaces(role)
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    (policy,) = [p for lid, p in policies.items() if lid.startswith("RoleDefaultPolicy")]
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    eni = statements["VpcNetworkInterfaces"]
    assert "ec2:CreateNetworkInterface" in eni["Action"]
    assert list(eni["Condition"]) == ["ArnEqualsIfExists"]
    assert "ec2:DescribeVpcs" in statements["VpcDescribe"]["Action"]


def test_retained_network_keeps_its_flow_logs() -> None:
    """A retain copy keeps a year of flow logs and does not delete them with the stack."""
    stack, _ = _network(retain=True)
    (group,) = Template.from_stack(stack).find_resources("AWS::Logs::LogGroup").values()
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["DeletionPolicy"] == "Retain"
