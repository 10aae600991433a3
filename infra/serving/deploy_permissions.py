"""What deploying a serving stack takes: the permissions of the role CloudFormation assumes.

The serving unit owns this list, next to the resources ``ModelEndpoint`` creates, so a new
kind or resource cannot ship without its permissions; delivery asks for it
(``deployment_statements``). Each row is derived from the serving kind, the network mode and
the names the endpoint construct uses, and covers create, update *and* delete (rollbacks and
teardown) as each resource type's CloudFormation resource provider schema lists them in
``handlers.{create,read,update,delete}.permissions`` (cfn-lint ships the schemas; the tests
compare ``HANDLED`` with them, and ``NOT_GRANTED`` says why each left-out action is not
needed). ``deployment_requirements`` exposes the same rows as (action, resource) data for the
rehearsal. Not stateful; no CDK construct is created here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_iam as iam

from core.accounts import (
    bootstrap_version_arn,
    iam_path,
    partition_of,
    permissions_boundary_arn,
)
from core.config import PlatformConfig, ServingConfig
from infra.serving.construct import SCALING_SLR_PATH, SCALING_SLR_SERVICE, VARIANT, supports_kms

# The Model Monitor schedules need the endpoint to exist, so they deploy with production.
MODEL_MONITOR_TYPES = (
    "AWS::SageMaker::DataQualityJobDefinition",
    "AWS::SageMaker::ModelQualityJobDefinition",
    "AWS::SageMaker::MonitoringSchedule",
)
# monitoring.explainability (model_monitor.py): Clarify's feature-attribution job definition
EXPLAINABILITY_TYPES = ("AWS::SageMaker::ModelExplainabilityJobDefinition",)
ASYNC_TYPES = ("AWS::SNS::Topic", "AWS::SNS::TopicPolicy")
# Every CloudFormation resource type a serving stack may contain (tests check the templates).
RESOURCE_TYPES = (
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::SageMaker::Model",
    "AWS::SageMaker::EndpointConfig",
    "AWS::SageMaker::Endpoint",
    "AWS::CloudWatch::Alarm",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    # serving.kind='async': the success and error notification topics (async_inference.py)
    *ASYNC_TYPES,
    # production with monitoring.engine='model_monitor' (infra/monitoring/model_monitor.py)
    *MODEL_MONITOR_TYPES,
    *EXPLAINABILITY_TYPES,
)

# Handler actions of those types that are deliberately not granted, with the reason.
NOT_GRANTED: dict[str, dict[str, str]] = {
    "AWS::IAM::Policy": {
        a: "the serving stack's inline policies attach to roles only, never users or groups"
        for a in (
            "iam:GetUserPolicy",
            "iam:PutUserPolicy",
            "iam:DeleteUserPolicy",
            "iam:GetGroupPolicy",
            "iam:PutGroupPolicy",
            "iam:DeleteGroupPolicy",
        )
    },
    "AWS::IAM::ManagedPolicy": {
        a: "the invoke policy is handed to clients; the stack attaches it to no user or group"
        for a in (
            "iam:AttachGroupPolicy",
            "iam:AttachUserPolicy",
            "iam:DetachGroupPolicy",
            "iam:DetachUserPolicy",
        )
    },
    "AWS::IAM::Role": {
        # iam:PutRolePermissionsBoundary is granted when the profile sets a boundary
        # (RoleBoundary, for that boundary only); without one no role sets the property.
        "iam:DeleteRolePermissionsBoundary": "a release never removes the boundary: with "
        "security.permissions_boundary set every role of the stack carries it (an aspect), "
        "without it no role has one; the update handler calls this only for a removed property",
    },
    "AWS::SNS::Topic": {
        **{
            a: "the async notification topics have no subscriptions in the template: whoever "
            "consumes them subscribes outside the stack"
            for a in ("sns:Subscribe", "sns:Unsubscribe")
        },
        "sns:PutDataProtectionPolicy": "the async notification topics set no data protection "
        "policy (they carry output locations, not payloads)",
        **{
            a: "the topics log no delivery status, so no feedback role is read or passed"
            for a in ("iam:GetRole", "iam:PassRole")
        },
    },
    "AWS::ApplicationAutoScaling::ScalableTarget": {
        **{
            a: "Lambda provisioned concurrency: the schema serves every scalable namespace, "
            "this one is SageMaker"
            for a in (
                "lambda:GetProvisionedConcurrencyConfig",
                "lambda:PutProvisionedConcurrencyConfig",
                "lambda:DeleteProvisionedConcurrencyConfig",
            )
        },
        **{
            a: "the stack defines no scheduled scaling actions"
            for a in (
                "application-autoscaling:PutScheduledAction",
                "application-autoscaling:DeleteScheduledAction",
            )
        },
        "iam:PassRole": "the target passes no RoleARN: SageMaker variants scale with Application "
        "Auto Scaling's service-linked role, created with iam:CreateServiceLinkedRole",
    },
}


@dataclass(frozen=True)
class ServingUnit:
    """One serving stack as the delivery pipeline deploys it."""

    stack_name: str
    endpoint_name: str
    serving: ServingConfig
    vpc: bool
    output_stacks: tuple[str, ...]  # stacks whose outputs the template reads
    package_groups: tuple[str, ...]  # model package groups its models come from
    model_monitor: bool = False  # holds the Model Monitor schedules of its endpoint
    explainability: bool = False  # and the model explainability one (monitoring.explainability)
    package_account: str = ""  # where the model packages are, if not here (core/accounts.py)
    # the Model Monitor role's "<path><name>" when not under the stack's own path (in a
    # target account: core.accounts.model_monitor_role, issue 25)
    monitor_role: str = ""
    # the permissions boundary its roles carry (security.permissions_boundary), "" for none
    boundary: str = ""


def package_groups(config: PlatformConfig, serving: ServingConfig) -> tuple[str, ...]:
    """The model package groups a kind's models are created from (CreateModel describes
    the package): multi-model endpoints load archives from S3 and name no package."""
    groups = {
        "xgboost": config.model_package_group,
        "baseline": config.baseline_package_group,
    }
    if serving.kind == "multi_model":
        return ()
    if serving.kind == "multi_container":
        return tuple(groups[name] for name in serving.mce_containers)
    return (groups["xgboost"],)


def serving_units(config: PlatformConfig) -> tuple[ServingUnit, ServingUnit]:
    """Staging then production, as ``infra.platform`` builds them."""
    outputs = [config.stack_name("Operations")]  # the alert topic
    if config.network.mode == "isolated":
        outputs.append(config.stack_name("Network"))  # VPC, subnets, security group
    units = []
    model_monitor = config.monitoring.engine == "model_monitor"
    for unit, endpoint, serving, monitored in (
        ("ServingStaging", config.staging_endpoint_name, config.serving.for_staging(), False),
        ("Serving", config.endpoint_name, config.serving, model_monitor),
    ):
        units.append(
            ServingUnit(
                stack_name=config.stack_name(unit),
                endpoint_name=endpoint,
                serving=serving,
                vpc=config.network.mode == "isolated",
                output_stacks=tuple(outputs),
                package_groups=package_groups(config, serving),
                model_monitor=monitored,
                explainability=monitored and config.monitoring.explainability,
                boundary=permissions_boundary_arn(config, config.account) or "",
            )
        )
    return units[0], units[1]


@dataclass(frozen=True)
class Grant:
    """One statement's worth: these actions on these resources, for these resource types."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    types: tuple[str, ...] = ()  # the CloudFormation types whose handlers need it
    conditions: tuple[tuple[str, str, str], ...] = ()  # (operator, key, value)
    why: str = ""


@dataclass(frozen=True)
class Requirement:
    """One (action, resource) the deploying role must be allowed, with its conditions."""

    action: str
    resource: str
    sid: str
    conditions: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class _Account:
    """Where a serving unit deploys: ARNs in its account and region."""

    partition: str
    region: str
    account: str

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        where = f"{self.region}:{self.account}" if regional else f":{self.account}"
        return f"arn:{self.partition}:{service}:{where}:{resource}"


def grants(
    unit: ServingUnit, *, account: str, region: str, qualifier: str, key_arn: str
) -> list[Grant]:
    """Everything CloudFormation needs to create, update and delete ``unit``'s stack, one
    resource family at a time (the order is the policy's statement order)."""
    at = _Account(partition_of(region), region, account)
    return [
        *_stack_grants(unit, at, qualifier),
        *_iam_grants(unit, at),
        *_hosting_grants(unit, at),
        *_alarm_grants(unit, at),
        *_package_grants(unit, at),
        *_monitoring_grants(unit, at),
        *_key_grants(unit, key_arn),
        *_topic_grants(unit, at),
        *_scaling_grants(unit, at),
    ]


def _stack_grants(unit: ServingUnit, at: _Account, qualifier: str) -> list[Grant]:
    """CloudFormation itself: the bootstrap version and the platform stack outputs read."""
    return [
        Grant(
            "BootstrapVersion",
            ("ssm:GetParameters",),
            (bootstrap_version_arn(account=at.account, region=at.region, qualifier=qualifier),),
            why="every CDK template reads the BootstrapVersion parameter",
        ),
        Grant(
            "PlatformStackOutputs",
            ("cloudformation:DescribeStacks",),
            tuple(at.arn("cloudformation", f"stack/{s}/*") for s in unit.output_stacks),
            why="Fn::GetStackOutput resolves with the deploying role",
        ),
    ]


ROLE_ACTIONS = (
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:ListRoleTags",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:PutRolePolicy",
    "iam:GetRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
)


POLICY_ACTIONS = (
    "iam:CreatePolicy",
    "iam:DeletePolicy",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:ListPolicyVersions",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:ListEntitiesForPolicy",
)


def _iam_grants(unit: ServingUnit, at: _Account) -> list[Grant]:
    """IAM: the hosting role and invoke policy under the stack's own path, passed to SageMaker;
    in a target account also the Model Monitor role, by its fixed name under the monitoring
    path (``unit.monitor_role``)."""
    roles = at.arn("iam", f"role{iam_path(unit.stack_name)}*", regional=False)
    policies = at.arn("iam", f"policy{iam_path(unit.stack_name)}*", regional=False)
    sagemaker = "sagemaker.amazonaws.com"
    monitored = (
        *(MODEL_MONITOR_TYPES if unit.model_monitor else ()),
        *(EXPLAINABILITY_TYPES if unit.explainability else ()),
    )
    monitor: list[Grant] = []
    bounded = [roles]
    if unit.monitor_role and unit.model_monitor:
        role = at.arn("iam", f"role{unit.monitor_role}", regional=False)
        bounded.append(role)
        monitor = [
            Grant(
                "MonitorRole",
                ROLE_ACTIONS,
                (role,),
                types=("AWS::IAM::Role", "AWS::IAM::Policy"),
                why="Model Monitor's job role under the monitoring path tooling's policies name",
            ),
            Grant(
                "PassMonitorRole",
                ("iam:PassRole",),
                (role,),
                types=monitored,
                conditions=(("StringEquals", "iam:PassedToService", sagemaker),),
                why="the job definitions name Model Monitor's job role",
            ),
        ]
    return [
        Grant(
            "HostingRole",
            ROLE_ACTIONS,
            (roles,),
            types=("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"),
        ),
        Grant(
            "PassHostingRole",
            ("iam:PassRole",),
            (roles,),
            types=(
                "AWS::SageMaker::Model",
                "AWS::SageMaker::EndpointConfig",
                # the Model Monitor role lives under the same path (model_monitor.py), unless
                # a target account puts it under the monitoring path (MonitorRole)
                *(() if unit.monitor_role else monitored),
            ),
            conditions=(("StringEquals", "iam:PassedToService", sagemaker),),
        ),
        *monitor,
        *(
            [
                Grant(
                    "RoleBoundary",
                    ("iam:PutRolePermissionsBoundary",),
                    tuple(bounded),
                    types=("AWS::IAM::Role",),
                    # IAM sends the boundary's ARN as iam:PermissionsBoundary (Service
                    # Authorization Reference, IAM condition keys): this boundary and no other
                    conditions=(("StringEquals", "iam:PermissionsBoundary", unit.boundary),),
                    why="the update handler puts the boundary the profile names on its roles",
                )
            ]
            if unit.boundary
            else []
        ),
        Grant(
            "InvokePolicy",
            POLICY_ACTIONS,
            (policies,),
            types=("AWS::IAM::ManagedPolicy",),
        ),
    ]


def _hosting_grants(unit: ServingUnit, at: _Account) -> list[Grant]:
    """SageMaker hosting: models, endpoint configs and the endpoint."""
    return [
        # Every property of models and endpoint configs is create-only, so their names are
        # generated (a release replaces them).
        Grant(
            "Models",
            (
                "sagemaker:CreateModel",
                "sagemaker:DescribeModel",
                "sagemaker:DeleteModel",
                "sagemaker:AddTags",
                "sagemaker:DeleteTags",
                "sagemaker:ListTags",
            ),
            (at.arn("sagemaker", "model/*"),),
            types=("AWS::SageMaker::Model",),
        ),
        Grant(
            "EndpointConfigs",
            (
                "sagemaker:CreateEndpointConfig",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:AddTags",
                "sagemaker:DeleteTags",
                "sagemaker:ListTags",
            ),
            (at.arn("sagemaker", "endpoint-config/*"),),
            types=("AWS::SageMaker::EndpointConfig",),
        ),
        Grant(
            "Endpoint",
            (
                "sagemaker:CreateEndpoint",
                "sagemaker:UpdateEndpoint",
                "sagemaker:DeleteEndpoint",
                "sagemaker:DescribeEndpoint",
                "sagemaker:AddTags",
                "sagemaker:DeleteTags",
                "sagemaker:ListTags",
            ),
            (at.arn("sagemaker", f"endpoint/{unit.endpoint_name.lower()}"),),
            types=("AWS::SageMaker::Endpoint",),
        ),
    ]


def _alarm_grants(unit: ServingUnit, at: _Account) -> list[Grant]:
    """CloudWatch: the stack's own alarms."""
    return [
        Grant(
            "Alarms",
            (
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
                "cloudwatch:ListTagsForResource",
            ),
            (at.arn("cloudwatch", f"alarm:{unit.stack_name}-*"),),  # generated: <stack>-<id>-<n>
            types=("AWS::CloudWatch::Alarm",),
        ),
    ]


def _package_grants(unit: ServingUnit, at: _Account) -> list[Grant]:
    """The registry: the model packages the models are created from (in tooling, issue 17)."""
    out: list[Grant] = []
    if unit.package_groups:
        out.append(
            Grant(
                "ModelPackages",
                ("sagemaker:DescribeModelPackage",),
                tuple(
                    f"arn:{at.partition}:sagemaker:{at.region}:"
                    f"{unit.package_account or at.account}:model-package/{g.lower()}/*"
                    for g in unit.package_groups
                ),
                types=("AWS::SageMaker::Model",),
                why="CreateModel from a model package describes the package",
            )
        )
    if unit.package_groups and unit.package_account not in ("", at.account):
        # issue 17: a model from a version in the tooling registry. CreateModel is evaluated
        # on the version too, so the group's resource policy (core/accounts.py) and this role
        # both allow it (SageMaker, "Deploy a Model Version from a Different Account").
        out.append(
            Grant(
                "CrossAccountPackages",
                ("sagemaker:CreateModel",),
                tuple(
                    f"arn:{at.partition}:sagemaker:{at.region}:{unit.package_account}:"
                    f"model-package/{g.lower()}/*"
                    for g in unit.package_groups
                ),
                types=("AWS::SageMaker::Model",),
                why="CreateModel from a version in the tooling account's registry",
            )
        )
    return out


def _monitoring_grants(unit: ServingUnit, at: _Account) -> list[Grant]:
    """Model Monitor schedules and job definitions (production, ``model_monitor`` only)."""
    out: list[Grant] = []
    if unit.model_monitor:
        # Job definitions are immutable (no update handler), so their names are generated;
        # the schedules are named <endpoint>-data-quality / -model-quality. AddTags/ListTags:
        # the platform's tags go on every resource (the schedule's schema lists no tag
        # actions, but SageMaker asks for sagemaker:AddTags on any create that carries Tags).
        tags = ("sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:ListTags")
        out += [
            Grant(
                "MonitorJobDefinitions",
                (
                    "sagemaker:CreateDataQualityJobDefinition",
                    "sagemaker:DescribeDataQualityJobDefinition",
                    "sagemaker:DeleteDataQualityJobDefinition",
                    "sagemaker:CreateModelQualityJobDefinition",
                    "sagemaker:DescribeModelQualityJobDefinition",
                    "sagemaker:DeleteModelQualityJobDefinition",
                    *tags,
                ),
                (
                    at.arn("sagemaker", "data-quality-job-definition/*"),
                    at.arn("sagemaker", "model-quality-job-definition/*"),
                ),
                types=MODEL_MONITOR_TYPES[:2],
            ),
            Grant(
                "MonitoringSchedules",
                (
                    "sagemaker:CreateMonitoringSchedule",
                    "sagemaker:DescribeMonitoringSchedule",
                    "sagemaker:UpdateMonitoringSchedule",
                    "sagemaker:DeleteMonitoringSchedule",
                    *tags,
                ),
                (at.arn("sagemaker", f"monitoring-schedule/{unit.endpoint_name.lower()}-*"),),
                types=MODEL_MONITOR_TYPES[2:],
            ),
        ]
    if unit.explainability:
        # No handler permissions are published for this type (its provider schema has no
        # handlers): the API's own Create/Describe/Delete, as for the other definitions.
        out.append(
            Grant(
                "ExplainabilityJobDefinitions",
                (
                    "sagemaker:CreateModelExplainabilityJobDefinition",
                    "sagemaker:DescribeModelExplainabilityJobDefinition",
                    "sagemaker:DeleteModelExplainabilityJobDefinition",
                    "sagemaker:AddTags",
                    "sagemaker:DeleteTags",
                    "sagemaker:ListTags",
                ),
                (at.arn("sagemaker", "model-explainability-job-definition/*"),),
                types=EXPLAINABILITY_TYPES,
            )
        )
    return out


def _key_grants(unit: ServingUnit, key_arn: str) -> list[Grant]:
    """KMS: the lake key the endpoint config names (volume, data capture)."""
    if unit.serving.kind == "serverless":
        return []
    if not (supports_kms(unit.serving.instance_type) or unit.serving.data_capture):
        return []
    return [
        Grant(
            "EndpointStorageKey",
            ("kms:DescribeKey",),
            (key_arn,),
            types=("AWS::SageMaker::EndpointConfig",),
            why="the endpoint config names the lake key (volume, data capture)",
        ),
        Grant(
            "EndpointStorageKeyGrants",
            ("kms:CreateGrant",),
            (key_arn,),
            types=("AWS::SageMaker::Endpoint",),
            # SageMaker creates the grants for the endpoint's instances on the caller's
            # behalf; nothing else may create grants with this role.
            conditions=(("Bool", "kms:GrantIsForAWSResource", "true"),),
            why="SageMaker creates grants on the lake key for the endpoint's instances",
        ),
    ]


def _topic_grants(unit: ServingUnit, at: _Account) -> list[Grant]:
    """SNS: the async endpoint's notification topics."""
    if unit.serving.kind != "async":
        return []
    return [
        Grant(
            "NotificationTopics",
            (
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:TagResource",
                "sns:UntagResource",
                "sns:ListTagsForResource",
                "sns:ListSubscriptionsByTopic",
                "sns:GetDataProtectionPolicy",
            ),
            # generated names: <stack>-<logical id>-<suffix>
            (at.arn("sns", f"{unit.stack_name}-*"),),
            types=ASYNC_TYPES,
            why="the async endpoint's success and error topics (and their TLS-only policy)",
        )
    ]


def _scaling_grants(unit: ServingUnit, at: _Account) -> list[Grant]:
    """Application Auto Scaling: instance-based kinds scale (``ModelEndpoint._autoscaling``)."""
    if unit.serving.kind == "serverless":
        return []
    target_alarms = f"TargetTracking-endpoint/{unit.endpoint_name}/variant/{VARIANT}-*"
    return [
        Grant(
            "Autoscaling",
            (
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScheduledActions",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:DeleteScalingPolicy",
                "application-autoscaling:DescribeScalingPolicies",
                "application-autoscaling:TagResource",
                "application-autoscaling:UntagResource",
                "application-autoscaling:ListTagsForResource",
                "cloudwatch:GetMetricData",
            ),
            # Scalable targets get a generated id (no ARN before they exist); the
            # Describe* actions and GetMetricData take no resource at all.
            ("*",),
            types=(
                "AWS::ApplicationAutoScaling::ScalableTarget",
                "AWS::ApplicationAutoScaling::ScalingPolicy",
            ),
        ),
        Grant(
            "TargetTrackingAlarms",
            (
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
            ),
            (at.arn("cloudwatch", f"alarm:{target_alarms}"),),
            types=("AWS::ApplicationAutoScaling::ScalableTarget",),
            why="target tracking creates and deletes its own TargetTracking-* alarms",
        ),
        Grant(
            "ScaleVariant",
            ("sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"),
            (at.arn("sagemaker", f"endpoint/{unit.endpoint_name.lower()}"),),
            types=("AWS::ApplicationAutoScaling::ScalableTarget",),
            why="SageMaker autoscaling prerequisites: the registering principal",
        ),
        Grant(
            "ScalingServiceLinkedRole",
            ("iam:CreateServiceLinkedRole",),
            (at.arn("iam", f"role/{SCALING_SLR_PATH}", regional=False),),
            types=("AWS::ApplicationAutoScaling::ScalableTarget",),
            conditions=(("StringEquals", "iam:AWSServiceName", SCALING_SLR_SERVICE),),
            why="the first scalable SageMaker variant in an account creates the role",
        ),
    ]


# Why each grant's resource pattern carries a wildcard (the compliance gate asks, per pattern).
WILDCARD_WHY = {
    "PlatformStackOutputs": "a stack ARN ends in the stack's id, unknown before it exists; the "
    "name is the one platform stack whose outputs the serving template reads",
    "HostingRole": "CloudFormation generates the serving stack's role names; they live under "
    "the stack's own IAM path",
    "PassHostingRole": "CloudFormation generates the serving stack's role names; they live "
    "under the stack's own IAM path, and pass only to SageMaker",
    "RoleBoundary": "CloudFormation generates the serving stack's role names; they live under "
    "the stack's own IAM path, and take the profile's boundary only (iam:PermissionsBoundary)",
    "InvokePolicy": "CloudFormation generates the invoke policy's name; it lives under the "
    "serving stack's own IAM path",
    "Models": "models get generated names: every property is create-only, so a release "
    "replaces them",
    "EndpointConfigs": "endpoint configs get generated names: every property is create-only, "
    "so a release replaces them",
    "Alarms": "CloudFormation names the alarms <stack>-<logical id>-<suffix>: this stack's only",
    "ModelPackages": "CreateModel describes the approved version of this group; versions are "
    "numbered at registration",
    "CrossAccountPackages": "CreateModel from the approved version of this group in the "
    "tooling registry; versions are numbered at registration",
    "MonitorJobDefinitions": "Model Monitor job definitions are immutable, so their names are "
    "generated: a change replaces them",
    "MonitoringSchedules": "the Model Monitor schedules of this endpoint only, named "
    "<endpoint>-data-quality and <endpoint>-model-quality",
    "ExplainabilityJobDefinitions": "the explainability job definition is immutable, so its "
    "name is generated: a change replaces it",
    "NotificationTopics": "CloudFormation names the async notification topics "
    "<stack>-<logical id>-<suffix>: this stack's topics only",
    "Autoscaling": "scalable targets get a generated id (no ARN before they exist); the "
    "Describe* actions and GetMetricData take no resource",
    "TargetTrackingAlarms": "target tracking names its alarms TargetTracking-<resource id>-"
    "<suffix>: the alarms of this endpoint's variant only",
}


def deployment_wildcards(
    units: tuple[ServingUnit, ...], *, account: str, region: str, qualifier: str, key_arn: str
) -> dict[str, str]:
    """Each wildcard resource the deployment statements carry, with why (``"*"`` aside:
    its actions are declared one by one, ``deployment_unscoped``)."""
    found: dict[str, str] = {}
    for unit in units:
        for g in grants(unit, account=account, region=region, qualifier=qualifier, key_arn=key_arn):
            for resource in g.resources:
                if "*" in resource and resource != "*":
                    found.setdefault(resource, WILDCARD_WHY[g.sid])
    return found


def deployment_unscoped(
    units: tuple[ServingUnit, ...], *, account: str, region: str, qualifier: str, key_arn: str
) -> dict[str, str]:
    """Each action the deployment statements grant on every resource (``"*"``), with why:
    acknowledge_wildcards(unscoped=...) compares them one by one."""
    found: dict[str, str] = {}
    for unit in units:
        for g in grants(unit, account=account, region=region, qualifier=qualifier, key_arn=key_arn):
            if "*" in g.resources:
                for action in g.actions:
                    found.setdefault(action, WILDCARD_WHY[g.sid])
    return found


def deployment_requirements(
    units: tuple[ServingUnit, ...], *, account: str, region: str, qualifier: str, key_arn: str
) -> list[Requirement]:
    """Every (action, resource) the role deploying ``units`` needs, as data."""
    found: dict[tuple[str, str, tuple[tuple[str, str, str], ...]], Requirement] = {}
    for unit in units:
        for g in grants(unit, account=account, region=region, qualifier=qualifier, key_arn=key_arn):
            for action in g.actions:
                for resource in g.resources:
                    found.setdefault(
                        (action, resource, g.conditions),
                        Requirement(action, resource, g.sid, g.conditions),
                    )
    return list(found.values())


def deployment_statements(
    units: tuple[ServingUnit, ...], *, account: str, region: str, qualifier: str, key_arn: str
) -> list[iam.PolicyStatement]:
    """The requirements as IAM statements: one per (sid, actions, conditions)."""
    merged: dict[tuple[str, tuple[str, ...], tuple[tuple[str, str, str], ...]], list[str]] = {}
    for unit in units:
        for g in grants(unit, account=account, region=region, qualifier=qualifier, key_arn=key_arn):
            resources = merged.setdefault((g.sid, tuple(sorted(g.actions)), g.conditions), [])
            resources += [r for r in g.resources if r not in resources]
    statements = []
    sids: set[str] = set()
    for (sid, actions, conditions), resources in merged.items():
        name = sid
        while name in sids:  # same sid, other actions (kinds differ): keep sids unique
            name += "X"
        sids.add(name)
        condition_block: dict[str, Any] = {}
        for operator, key, value in conditions:
            condition_block.setdefault(operator, {})[key] = value
        statements.append(
            iam.PolicyStatement(
                sid=name,
                actions=list(actions),
                resources=sorted(resources),
                conditions=condition_block or None,
            )
        )
    return statements
