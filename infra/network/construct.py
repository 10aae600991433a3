"""Isolated network for jobs and endpoints (network.mode = 'isolated'). Not stateful.

A VPC with private isolated subnets only (no NAT, no internet gateway), flow logs to a
KMS-encrypted log group, an S3 gateway endpoint and the interface endpoints SageMaker jobs
and endpoints need. Exposes: vpc, subnets, security_group (egress to the endpoints only),
``grant_network_interfaces`` (what a SageMaker execution role needs to run in this VPC) and
``job_subnet_ids`` (the isolated subnets every SageMaker job and endpoint is placed in).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.compliance.packs import acknowledge_wildcards
from infra.storage import logs_capable_key

INTERFACE_ENDPOINTS = {
    "SageMakerApi": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
    "SageMakerRuntime": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
}


class IsolatedNetwork(Construct):
    def __init__(self, scope: Construct, id_: str, *, max_azs: int, retain: bool) -> None:
        super().__init__(scope, id_)
        removal = cdk.RemovalPolicy.RETAIN if retain else cdk.RemovalPolicy.DESTROY
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=max_azs,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                )
            ],
            restrict_default_security_group=True,
        )
        key = logs_capable_key(self, "FlowLogKey", description="VPC flow logs", retain=retain)
        flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=key,
            retention=logs.RetentionDays.ONE_YEAR if retain else logs.RetentionDays.ONE_MONTH,
            removal_policy=removal,
        )
        flow_log = self.vpc.add_flow_log(
            "FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group)
        )
        # CDK's flow-log grant names the one log group: no wildcard to declare.
        acknowledge_wildcards(flow_log.node.find_child("IAMRole"))
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.security_group = ec2.SecurityGroup(
            self,
            "WorkloadSecurityGroup",
            vpc=self.vpc,
            description="SageMaker jobs and endpoints: HTTPS to VPC endpoints only",
            allow_all_outbound=False,
        )
        endpoint_sg = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS from workloads",
            allow_all_outbound=False,
        )
        endpoint_sg.add_ingress_rule(
            self.security_group, ec2.Port.tcp(443), "HTTPS from SageMaker workloads"
        )
        # Training containers talk to each other (distributed jobs, inter-container traffic).
        self.security_group.add_ingress_rule(
            self.security_group, ec2.Port.all_tcp(), "between containers of one job"
        )
        self.security_group.add_egress_rule(
            self.security_group, ec2.Port.all_tcp(), "between containers of one job"
        )
        self.vpc.add_gateway_endpoint(
            "S3", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[self.subnets]
        )
        # The subnets have no internet gateway or NAT: the only routes out are the S3 gateway
        # endpoint and the interface endpoints, so HTTPS egress cannot reach the internet.
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to S3 via the gateway endpoint"
        )
        for name, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=self.subnets,
                security_groups=[endpoint_sg],
                private_dns_enabled=True,
                open=False,  # only the workload security group may connect (rule above)
            )

    @property
    def job_subnet_ids(self) -> list[str]:
        """The isolated subnets a SageMaker job's or endpoint's VpcConfig names."""
        return self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids

    INTERFACE_ACTIONS = (
        "ec2:CreateNetworkInterface",
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
    )
    DESCRIBE_ACTIONS = (
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeDhcpOptions",
    )
    # What grant_network_interfaces grants on every resource ("*"), with why: for the role's
    # acknowledge_wildcards(unscoped=...), which compares the actions on "*" one by one.
    UNSCOPED_ACTIONS = {
        **dict.fromkeys(
            INTERFACE_ACTIONS,
            "SageMaker creates the network interfaces, which have no ARN before they exist; "
            "bound to this VPC by the ec2:Vpc condition",
        ),
        **dict.fromkeys(
            DESCRIBE_ACTIONS,
            "EC2 Describe* calls take no resource (Service Authorization Reference, Amazon EC2)",
        ),
    }

    def grant_network_interfaces(self, role: iam.IRole) -> None:
        """Let SageMaker, acting with ``role``, attach jobs or endpoints to this VPC.

        SageMaker creates and deletes the network interfaces with the execution role ("Give
        SageMaker AI Training Jobs Access to Resources in Your Amazon VPC" and "Give SageMaker
        AI Hosted Endpoints Access to Resources in Your Amazon VPC", SageMaker developer
        guide). Bound to this VPC with the ``ec2:Vpc`` key, which (Service Authorization
        Reference, Amazon EC2) the subnet, the security group and an existing interface carry,
        but a *new* interface does not: CreateNetworkInterface authorizes all three, so the
        condition is ``ArnEqualsIfExists`` (a plain ArnEquals would deny every launch). The
        Describe* actions take no resource, so "*".
        """
        vpc_arn = cdk.Stack.of(role).format_arn(
            service="ec2", resource="vpc", resource_name=self.vpc.vpc_id
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="VpcNetworkInterfaces",
                actions=list(self.INTERFACE_ACTIONS),
                resources=["*"],
                conditions={"ArnEqualsIfExists": {"ec2:Vpc": vpc_arn}},
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="VpcDescribe",
                actions=list(self.DESCRIBE_ACTIONS),
                resources=["*"],
            )
        )
