"""The compliance gate: cdk-nag 3.x packs on every synth, and precise acknowledgements.

cdk-nag 3 packs are policy-validation plugins; an unacknowledged error makes ``app.synth()``
raise and the findings land in ``<outdir>/validation-report.json``. ``acknowledge`` is the only
way this codebase accepts a finding: one rule on one construct, with a reason a reviewer can
check. Tests read the acknowledgements back from construct metadata to reject stale ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks
from constructs import IConstruct, IValidation

PACKS = (AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks)
MIN_REASON_CHARS = 40
REPORT_FILE = "validation-report.json"
# Rules whose finding stands for every pack that has it, named the way each pack names it.
ALL_PACKS_PREFIXES = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")


def add_compliance_gate(app: cdk.App) -> None:
    """Attach every pack to the app root: each synth checks every stack."""
    cdk.Validations.of(app).add_plugins(*(pack(app) for pack in PACKS))


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Accept one finding (``AwsSolutions-IAM5[Action::s3:List*]``) on one construct."""
    if len(reason.strip()) < MIN_REASON_CHARS:
        raise ValueError(
            f"acknowledgement of {rule} on {construct.node.path} needs a reason of at least "
            f"{MIN_REASON_CHARS} characters that a reviewer can check, got {reason!r}"
        )
    pack = rule.split("-", 1)[0]
    cdk.Validations.of(construct).acknowledge(
        cdk.Acknowledgment(id=f"{pack}::{rule}", reason=reason.strip())
    )


def acknowledge_packs(construct: IConstruct, rule: str, reason: str) -> None:
    """The same structural rule as HIPAA, NIST 800-53 r5 and PCI DSS each name it."""
    for prefix in ALL_PACKS_PREFIXES:
        acknowledge(construct, f"{prefix}-{rule}", reason)


def acknowledge_unreserved(function: IConstruct) -> None:
    """HIPAA / NIST LambdaConcurrency on a function that must not reserve concurrency: a new
    account's quota leaves none to reserve (PCI DSS has no such rule)."""
    for pack in ("HIPAA.Security", "NIST.800.53.R5"):
        acknowledge(
            function,
            f"{pack}-LambdaConcurrency",
            "No reserved concurrency on purpose: PutFunctionConcurrency keeps 100 executions "
            "unreserved and a new account's quota is 10, so any reservation fails the stack "
            "(rehearsal rule lambda-reserved-concurrency); the function's runs are idempotent.",
        )


@dataclass(frozen=True)
class Acknowledgement:
    path: str
    ack_id: str
    reason: str


PACK_NAMES = ("AwsSolutions", *ALL_PACKS_PREFIXES)


def acknowledgements(outdir: str | Path) -> list[Acknowledgement]:
    """Every compliance-pack acknowledgement a synthesized assembly records.

    Read from the ``<stack>.metadata.json`` files CDK writes (construct path -> metadata),
    which is what was actually synthesized and costs no jsii round trips (walking a large
    construct tree through jsii takes seconds). CDK records its own acknowledgements for its
    built-in CloudFormation validation plugin (``CloudFormation-Validate::W3010`` on stacks);
    those are not ours and are left out.
    """
    found: list[Acknowledgement] = []
    for path in sorted(Path(outdir).glob("*.metadata.json")):
        for construct_path, entries in json.loads(path.read_text()).items():
            for entry in entries:
                if entry.get("type") != cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                    continue
                for ack_id, reason in dict(entry.get("data") or {}).items():
                    if ack_id.split("::", 1)[0] in PACK_NAMES:
                        found.append(Acknowledgement(construct_path.lstrip("/"), ack_id, reason))
    return found


@dataclass(frozen=True)
class ComplianceReport:
    violations: list[dict[str, Any]]
    suppressed: list[dict[str, Any]]

    @classmethod
    def read(cls, outdir: str | Path) -> ComplianceReport:
        path = Path(outdir) / REPORT_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no compliance report at {path}: did the synth run packs?")
        data = json.loads(path.read_text())
        plugins = data.get("pluginReports", [])
        names = {p["pluginName"] for p in plugins}
        expected = {"AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"}
        if not expected <= names:
            raise ValueError(f"report {path} lacks packs {sorted(expected - names)}")
        violations = [v for p in plugins for v in p.get("violations", [])]
        suppressed = [v for p in plugins for v in p.get("suppressedViolations", [])]
        return cls(violations, suppressed)

    def unmatched(self, acks: list[Acknowledgement]) -> list[Acknowledgement]:
        """Acknowledgements that suppressed nothing: stale, so they hide nothing but mislead."""
        used = {(s["acknowledgedAt"], s["acknowledgedId"]) for s in self.suppressed}
        return [a for a in acks if (a.path, a.ack_id) not in used]

    def describe_violations(self) -> str:
        lines = []
        for v in self.violations:
            for c in v.get("violatingConstructs", []):
                lines.append(f"{v['ruleName']}: {c['constructPath']} ({v['description'][:90]})")
        return "\n".join(lines)


def _render(value: Any) -> str:
    """Flatten a resolved IAM value exactly as cdk-nag's ``flattenCfnReference`` does."""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict):
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(_render(p) for p in parts)
        if "Fn::Sub" in value:
            return _render(value["Fn::Sub"])
        if "Fn::GetAtt" in value:
            logical, attr = value["Fn::GetAtt"]
            return f"<{_render(logical)}.{_render(attr)}>"
        if "Fn::ImportValue" in value:
            return _render(value["Fn::ImportValue"])
        if "Ref" in value:
            return f"<{_render(value['Ref'])}>"
    return json.dumps(value, separators=(",", ":"))


# The wildcard action groups CDK's grant_* methods write, to declare them by name.
S3_READ = ("s3:GetObject*", "s3:GetBucket*", "s3:List*")
S3_DELETE = ("s3:DeleteObject*", "s3:Abort*")
S3_WRITE = ("s3:Abort*",)  # grant_put / grant_write without delete
KMS_DATA_KEYS = ("kms:ReEncrypt*", "kms:GenerateDataKey*")


def declare(actions: tuple[str, ...], why: str) -> dict[str, str]:
    """``{action: why}`` for a group of wildcard actions that share one reason."""
    return {action: why for action in actions}


def _policy_of(target: IConstruct) -> Any:
    from aws_cdk import aws_iam as iam

    if isinstance(target, iam.Role):
        child = target.node.try_find_child("DefaultPolicy")
        if child is None:
            raise ValueError(f"{target.node.path} has no DefaultPolicy to acknowledge")
        target = child
    if not isinstance(target, iam.Policy | iam.ManagedPolicy):
        raise ValueError(f"{target.node.path} is not an iam.Policy or iam.ManagedPolicy")
    return target


def policy_wildcards(policy: IConstruct) -> tuple[list[str], list[str]]:
    """The wildcard actions and the wildcard resources (rendered as cdk-nag names them) of a
    policy's Allow statements as synthesized, in order of appearance. A Deny's wildcards grant
    nothing, and AwsSolutions-IAM5 does not report them (a permissions boundary's Deny on
    ``role/cdk-*``: infra/compliance/boundary.py)."""
    stack = cdk.Stack.of(policy)
    doc = stack.resolve(policy.document.to_json())  # type: ignore[attr-defined]
    actions: list[str] = []
    resources: list[str] = []
    for statement in doc.get("Statement", []):
        if statement.get("Effect") == "Deny":
            continue
        found = statement.get("Action", [])
        for action in [found] if isinstance(found, str) else found:
            if "*" in action and action not in actions:
                actions.append(action)
        found = statement.get("Resource", [])
        for resource in found if isinstance(found, list) else [found]:
            rendered = _render(resource)
            if "*" in rendered and rendered not in resources:
                resources.append(rendered)
    return actions, resources


def actions_on_every_resource(policy: IConstruct) -> list[str]:
    """The actions a policy grants on ``"*"`` (every resource), in order of appearance."""
    stack = cdk.Stack.of(policy)
    doc = stack.resolve(policy.document.to_json())  # type: ignore[attr-defined]
    found: list[str] = []
    for statement in doc.get("Statement", []):
        resource = statement.get("Resource", [])
        if "*" not in (resource if isinstance(resource, list) else [resource]):
            continue
        granted = statement.get("Action", [])
        for action in [granted] if isinstance(granted, str) else granted:
            if action not in found:
                found.append(action)
    return found


@jsii.implements(IValidation)
class _DeclaredWildcards:
    """Synth-time check (after every grant): the policy's wildcards are exactly the declared
    ones. Each found wildcard is acknowledged with its declared reason."""

    def __init__(
        self,
        policy: IConstruct,
        actions: Mapping[str, str],
        resources: Mapping[str, str],
        unscoped: Mapping[str, str],
    ) -> None:
        self.policy, self.actions, self.resources = policy, actions, resources
        self.unscoped = unscoped

    def validate(self) -> list[str]:
        stack = cdk.Stack.of(self.policy)
        declared_resources = {_render(stack.resolve(k)): why for k, why in self.resources.items()}
        if "*" in declared_resources:
            return [
                "resource '*' declared with resources=: name each action granted on every "
                "resource with unscoped={action: why} instead (one acknowledgement of "
                "Resource::* would pass any action added to '*' later)"
            ]
        actions, resources = policy_wildcards(self.policy)
        on_every = actions_on_every_resource(self.policy)
        if on_every:
            declared_resources["*"] = "; ".join(
                f"{a}: {self.unscoped[a]}" for a in on_every if a in self.unscoped
            )
        errors = [
            f"undeclared wildcard action {a!r}: declare it (and why) where the role is built"
            for a in actions
            if a not in self.actions
        ] + [
            f"undeclared wildcard resource {r!r}: declare it (and why) where the role is built"
            for r in resources
            if r not in declared_resources
        ]
        errors += [
            f"action {a!r} on every resource ('*') is not declared: scope it to the resources "
            "it needs, or, if it takes no resource ARN, declare it with unscoped={action: why}"
            for a in on_every
            if a not in self.unscoped
        ] + [
            f"declared unscoped action {a!r} is not granted on '*': remove it"
            for a in self.unscoped
            if a not in on_every
        ]
        errors += [
            f"declared wildcard action {a!r} matches nothing in the policy: remove it"
            for a in self.actions
            if a not in actions
        ] + [
            f"declared wildcard resource {r!r} matches nothing in the policy: remove it"
            for r in declared_resources
            if r not in resources
        ]
        if errors:
            return errors
        for action in actions:
            acknowledge(
                self.policy,
                f"AwsSolutions-IAM5[Action::{action}]",
                f"{action}: {self.actions[action]}",
            )
        for resource in resources:
            acknowledge(
                self.policy,
                f"AwsSolutions-IAM5[Resource::{resource}]",
                f"{resource}: {declared_resources[resource]}",
            )
        return []


def acknowledge_wildcards(
    target: IConstruct,
    *,
    actions: Mapping[str, str] | None = None,
    resources: Mapping[str, str] | None = None,
    unscoped: Mapping[str, str] | None = None,
) -> None:
    """Declare, where a role is built, the wildcards its policy may carry and why.

    ``unscoped`` maps each action granted on every resource (``"*"``: actions that take no
    resource ARN, e.g. ``ecr:GetAuthorizationToken``) to its reason: ``"*"`` is never a key of
    ``resources``, because cdk-nag has one finding for it (AwsSolutions-IAM5[Resource::*]) per
    policy, whose acknowledgement would pass any action granted on ``*`` later (a wider read,
    ``s3:GetObject`` on every bucket); the gate compares the actions on ``*`` one by one.

    ``actions`` maps each wildcard action (``"s3:GetObject*"``) to its reason; ``resources``
    maps each wildcard resource, written as the code writes it (``f"{bucket.bucket_arn}/*"``,
    ``"*"``), to its reason. At synth, after the last grant, the synthesized policy is
    compared with the declaration: an undeclared wildcard fails the synth, and so does a
    declaration that matches nothing; each declared wildcard is acknowledged (AwsSolutions-IAM5)
    with its own reason. ``target`` is a role (its DefaultPolicy), an ``iam.Policy`` or an
    ``iam.ManagedPolicy``; inline policies also get the inline-policy rule of the three
    regulatory packs acknowledged.
    """
    from aws_cdk import aws_iam as iam

    policy = _policy_of(target)
    for why in [*(actions or {}).values(), *(resources or {}).values(), *(unscoped or {}).values()]:
        if len(why.strip()) < MIN_REASON_CHARS:
            raise ValueError(
                f"wildcard declaration on {policy.node.path} needs a reason of at least "
                f"{MIN_REASON_CHARS} characters, got {why!r}"
            )
    policy.node.add_validation(
        _DeclaredWildcards(policy, actions or {}, resources or {}, unscoped or {})
    )
    if isinstance(policy, iam.Policy):
        acknowledge_packs(
            policy,
            "IAMNoInlinePolicy",
            "CDK grant_* methods write the role's DefaultPolicy inline, so each permission sits "
            "beside the resource it names and is deleted with the role.",
        )
