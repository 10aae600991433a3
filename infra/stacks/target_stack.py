"""Stack: what a target account (staging, production) holds besides its serving stacks.

One per target account (issue 17, ``core/accounts.py``): its own KMS key, a capture bucket,
an isolated network when ``network.mode='isolated'``, an alert topic, and the roles the tooling
account names without a reference (fixed names under ``/<env>-target/``):

- ``deploy-action``: the delivery pipeline's action role here; trusts only the tooling pipeline
  role (account root narrowed by ``aws:PrincipalArn``), calls CloudFormation on this account's
  serving stacks and passes the deployment role;
- ``deploy-cfn``: the role CloudFormation assumes for those stacks, with the permissions the
  serving unit derives (``deploy_permissions``) and the registry reads in tooling;
- ``smoke-test`` (staging): the tooling smoke-test build invokes the staging endpoint with it
  (an async endpoint: as its client, ``_smoke_async``);
- ``retrain-forward`` (production): forwards the monitoring alarms' ALARM transitions to the
  tooling event bus, where the retrain bridge starts the training pipeline.

Its operations (issue 25), because budgets and endpoints are account-scoped: a cost budget
alerting this account's topic, and, when ``expiry.endpoint_hours`` > 0, the expiry reaper
for the endpoints this account hosts.

Stateful: the capture bucket and its key (retained in retain mode). Exposes: key,
capture (``artifacts_bucket``, ``key``: the capture store ``ModelEndpoint`` writes to),
network, alerts, roles, budget, reaper (None without expiry).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from core import accounts
from core.accounts import bootstrap_version_arn
from core.config import PlatformConfig
from infra.compliance.packs import acknowledge_wildcards
from infra.cross_account import CAPTURE_BUCKET_OUTPUT
from infra.monitoring.retrain_bridge import alarm_pattern
from infra.network.construct import IsolatedNetwork
from infra.operations.alerts import AlertTopic
from infra.operations.budget import CostGuardrail
from infra.operations.expiry import EndpointReaper
from infra.serving.deploy_permissions import (
    ServingUnit,
    deployment_statements,
    deployment_unscoped,
    deployment_wildcards,
    serving_units,
)
from infra.storage import access_log_bucket, kms_bucket


class CaptureStore:
    """Where an endpoint in this account writes captured data (the shape ModelEndpoint reads),
    and with ``serving.kind='async'`` its queue's requests, answers and failures under the
    ``async/`` prefixes (``core.async_contract``). One bucket rather than a second of its own:
    it already has this account's key, access logs and retention, so a second retained bucket
    would only add residue for teardown; its generated name reaches the tooling smoke build
    through the ``CaptureBucketName`` output, read in staging as the smoke role."""

    def __init__(self, bucket: s3.IBucket, key: kms.IKey) -> None:
        self.artifacts_bucket, self.key = bucket, key


class TargetStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        account: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id_, termination_protection=not config.destroyable, **kwargs)
        retain = not config.destroyable
        self.key = kms.Key(
            self,
            "Key",
            description="Endpoint volumes and data capture in this account",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN if retain else cdk.RemovalPolicy.DESTROY,
            pending_window=cdk.Duration.days(30 if retain else 7),
        )
        logs = access_log_bucket(self, "AccessLogBucket", retain=retain)
        bucket = kms_bucket(
            self,
            "CaptureBucket",
            key=self.key,
            log_bucket=logs,
            log_prefix="capture",
            retain=retain,
        )
        self.capture = CaptureStore(bucket, self.key)
        self.network = (
            IsolatedNetwork(self, "Network", max_azs=config.network.max_azs, retain=retain)
            if config.network.mode == "isolated"
            else None
        )
        self.alerts = AlertTopic(self, "Alerts", emails=config.budget.alert_emails, retain=retain)
        self.units = target_units(config, account)
        self.budget, self.reaper = self._operations(config, account)
        path = accounts.target_path(config)
        self.deployment_role = iam.Role(
            self,
            "DeploymentRole",
            role_name=accounts.target_role_name(config, "deployment"),
            path=path,
            assumed_by=iam.ServicePrincipal("cloudformation.amazonaws.com"),
            description="CloudFormation deploys this account's serving stacks",
        )
        where = {"account": account, "region": config.region, "qualifier": config.cdk_qualifier}
        self.deployment_policy = iam.ManagedPolicy(
            self,
            "DeploymentPolicy",
            description="What CloudFormation needs to create, update and delete this account's "
            "serving stacks (derived by infra/serving/deploy_permissions.py)",
            statements=deployment_statements(self.units, key_arn=self.key.key_arn, **where),
            roles=[self.deployment_role],
        )
        acknowledge_wildcards(
            self.deployment_policy,
            resources=deployment_wildcards(self.units, key_arn=self.key.key_arn, **where),
            unscoped=deployment_unscoped(self.units, key_arn=self.key.key_arn, **where),
        )
        self.action_role = self._action_role(config, account)
        self.smoke_role = (
            self._smoke_role(config, account) if account == config.staging_account else None
        )
        self.forward_role = (
            self._retrain_forwarding(config) if account == config.production_account else None
        )
        cdk.CfnOutput(self, CAPTURE_BUCKET_OUTPUT, value=bucket.bucket_name)

    def _operations(
        self, config: PlatformConfig, account: str
    ) -> tuple[CostGuardrail, EndpointReaper | None]:
        """This account's budget and expiry reaper (issue 25). Budgets see only the spend of
        the account they are created in, and the reaper only the endpoints of its own account
        (ListEndpoints lists the caller's): tooling's cannot reach the endpoints here.

        The budget's limit is this account's (``budget.account_limits_usd``: staging and
        production's sum where they share it), not the copy's whole ``monthly_limit_usd``.
        The budget filters on the ``environment`` cost-allocation tag, which the app stamps on
        this stack's resources too (``apply_tags``); in an organization the management account
        activates the tag once for every member account ("Activating user-defined cost
        allocation tags": https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/activating-tags.html).
        The reaper never deletes the serving endpoints this account's stacks manage
        (``stack_endpoints``, besides the ``aws:cloudformation:stack-name`` tag)."""
        budget = CostGuardrail(
            self,
            "CostGuardrail",
            config=config.budget,
            limit_usd=accounts.budget_limits(config)[account],  # this account's share
            env_name=config.env_name,
            alerts=self.alerts,
        )
        if not config.expiry.endpoint_hours:  # prod-like: no expiry, no reaper
            return budget, None
        # Its log group and dead letters use the account's key: CloudWatch Logs of this region
        # may use it (as ``storage.logs_capable_key``; "Encrypt log data in CloudWatch Logs
        # using AWS KMS"), rather than a second key billed every month.
        self.key.grant_encrypt_decrypt(iam.ServicePrincipal(f"logs.{config.region}.amazonaws.com"))
        served = {
            config.staging_endpoint_name: config.stack_name("ServingStaging"),
            config.endpoint_name: config.stack_name("Serving"),
        }
        reaper = EndpointReaper(
            self,
            "Reaper",
            config=config.expiry,
            env_name=config.env_name,
            alerts=self.alerts,
            log_key=self.key,
            stack_endpoints={
                endpoint: stack
                for endpoint, stack in served.items()
                if accounts.serving_account(config, stack) == account
            },
        )
        return budget, reaper

    def _action_role(self, config: PlatformConfig, account: str) -> iam.Role:
        """The delivery pipeline's action role in this account (CodePipeline, "Create a pipeline
        that uses resources from another AWS account")."""
        p = accounts.partition(config)
        role = iam.Role(
            self,
            "DeployActionRole",
            role_name=accounts.target_role_name(config, "action"),
            path=accounts.target_path(config),
            assumed_by=_tooling_role(config, accounts.pipeline_role_path(config)),
            description="The tooling delivery pipeline deploys this account's serving stacks",
        )
        stacks = [
            f"arn:{p}:cloudformation:{config.region}:{account}:stack/{u.stack_name}/*"
            for u in self.units
        ]
        staging = config.stack_name("ServingStaging")
        calls = [
            "cloudformation:CreateStack",
            "cloudformation:UpdateStack",
            "cloudformation:DescribeStacks",
            "cloudformation:DescribeStackEvents",
            "cloudformation:GetTemplate",
        ]
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="ServingStacks", actions=calls, resources=stacks)
        )
        if any(u.stack_name == staging for u in self.units):
            # staging deploys with REPLACE_ON_FAILURE, which deletes a failed first create
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ReplaceFailedStaging",
                    actions=["cloudformation:DeleteStack"],
                    resources=[
                        f"arn:{p}:cloudformation:{config.region}:{account}:stack/{staging}/*"
                    ],
                )
            )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassDeploymentRole",
                actions=["iam:PassRole"],
                resources=[self.deployment_role.role_arn],
                conditions={
                    "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
                },
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="BootstrapVersion",
                actions=["ssm:GetParameters"],
                resources=[
                    bootstrap_version_arn(
                        account=account, region=config.region, qualifier=config.cdk_qualifier
                    )
                ],
            )
        )
        artifacts = f"arn:{p}:s3:::{accounts.delivery_artifact_bucket_name(config)}/*"
        tooling_keys = f"arn:{p}:kms:{config.region}:{config.tooling_account}:key/*"
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadPipelineArtifacts",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[artifacts],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DecryptPipelineArtifacts",
                actions=["kms:Decrypt", "kms:DescribeKey"],
                resources=[tooling_keys],
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{config.region}.amazonaws.com"}
                },
            )
        )
        acknowledge_wildcards(
            role,
            resources={
                **{
                    s: "a stack ARN ends in the stack's id, unknown before it exists: this "
                    "account's serving stack only"
                    for s in stacks
                },
                artifacts: "the delivery pipeline's artifact bucket in tooling: CodePipeline "
                "names the objects per execution",
                tooling_keys: "the tooling delivery key's id is generated there and cannot reach "
                "this account without a reference; only through S3, and its key policy names "
                "this role",
            },
        )
        return role

    def _smoke_role(self, config: PlatformConfig, account: str) -> iam.Role:
        """The tooling smoke-test build invokes the staging endpoint with this role."""
        p = accounts.partition(config)
        role = iam.Role(
            self,
            "SmokeTestRole",
            role_name=accounts.target_role_name(config, "smoke"),
            path=accounts.target_path(config),
            assumed_by=_tooling_role(config, accounts.smoke_build_role_path(config)),
            description="The tooling smoke test invokes the staging endpoint",
        )
        endpoint = (
            f"arn:{p}:sagemaker:{config.region}:{account}:endpoint/"
            f"{config.staging_endpoint_name.lower()}"
        )
        if config.serving.kind == "async":
            self._smoke_async(role, config, endpoint)
            return role
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sagemaker:InvokeEndpoint"], resources=[endpoint])
        )
        acknowledge_wildcards(role)  # one endpoint: no wildcard
        return role

    def _smoke_async(self, role: iam.Role, config: PlatformConfig, endpoint: str) -> None:
        """serving.kind='async': the smoke test is a client of the staging endpoint here. It
        finds this stack's capture bucket (its output), uploads the request under the async
        input prefix, calls InvokeEndpointAsync (an async endpoint takes nothing else) and reads
        the answer, all as this role (``infra.cross_account.smoke_in_staging``)."""
        from infra.serving.async_inference import async_client_statements

        statements, wildcards = async_client_statements(
            bucket_arn=self.capture.artifacts_bucket.bucket_arn,
            key_arn=self.key.key_arn,
            endpoint_arn=endpoint,
            endpoint_name=config.staging_endpoint_name,
        )
        for statement in statements:
            role.add_to_principal_policy(statement)
        # The input location's bucket is generated: read from this stack's CaptureBucketName
        # output (DescribeStacks takes a stack ARN: Service Authorization Reference, AWS
        # CloudFormation).
        this_stack = (
            f"arn:{accounts.partition(config)}:cloudformation:{config.region}:{self.account}:"
            f"stack/{self.stack_name}/*"
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="FindAsyncBucket",
                actions=["cloudformation:DescribeStacks"],
                resources=[this_stack],
            )
        )
        acknowledge_wildcards(
            role,
            resources={
                **wildcards,
                this_stack: "a stack ARN ends in the stack's id, unknown before it exists: "
                "this target stack only, for its CaptureBucketName output",
            },
        )

    def _retrain_forwarding(self, config: PlatformConfig) -> iam.Role:
        """The monitoring alarms' ALARM transitions on this account's default bus go to the
        tooling bus, whose policy names this role (``accounts.retrain_bus_statement``); the
        retrain bridge there turns them into a training run (``RetrainBridge``). Nothing here
        puts RetrainRequested any more (the bridge runs beside the pipeline), so that event is
        not forwarded. The alarms are named by their fixed names, so the rule needs no
        reference to the Monitoring stack and may exist before it."""
        p = accounts.partition(config)
        role = iam.Role(
            self,
            "RetrainForwardRole",
            role_name=accounts.target_role_name(config, "forward"),
            path=accounts.target_path(config),
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="EventBridge forwards monitoring alarm changes to the tooling account",
        )
        bus = events.EventBus.from_event_bus_arn(
            self,
            "ToolingBus",
            f"arn:{p}:events:{config.region}:{config.tooling_account}:event-bus/default",
        )
        rule = events.Rule(
            self,
            "ForwardRetrain",
            description="Forward the drift/quality alarms' ALARM state to the tooling retrain "
            "bridge",
            event_pattern=alarm_pattern(accounts.monitoring_alarm_arns(config)),
        )
        rule.add_target(targets.EventBus(bus, role=role))
        acknowledge_wildcards(role)  # one bus: no wildcard
        return role


def _tooling_role(config: PlatformConfig, role_path: str) -> iam.IPrincipal:
    """Trust for a target role: the tooling account's root, narrowed to the tooling roles under
    ``role_path`` (``aws:PrincipalArn``), so nothing names a role that may not exist yet."""
    return iam.ArnPrincipal(accounts.root(config, config.tooling_account)).with_conditions(
        {"ArnLike": {"aws:PrincipalArn": accounts.tooling_role_pattern(config, role_path)}}
    )


def target_units(config: PlatformConfig, account: str) -> tuple[ServingUnit, ...]:
    """The serving units deployed into ``account``: they read the outputs of the account's
    target stack (network, capture bucket, key, topic) and describe packages in tooling."""
    return tuple(
        replace(
            unit,
            output_stacks=(accounts.target_stack_name(config, account),),
            package_account=config.tooling_account,
            # Model Monitor's job role reads tooling under the monitoring path (issue 25)
            monitor_role=accounts.model_monitor_role(config) if unit.model_monitor else "",
            boundary=accounts.permissions_boundary_arn(config, account) or "",
        )
        for unit in serving_units(config)
        if accounts.serving_account(config, unit.stack_name) == account
    )
