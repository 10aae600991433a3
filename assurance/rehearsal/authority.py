"""Authority: is each (role, action, resource) a role needs allowed by that role's policies?

The evaluation is principalmapper's local policy simulation (``policy_has_matching_statement``:
Action/NotAction, Resource/NotResource with ``*``/``?`` wildcards, case-insensitive actions,
policy variables and the condition operators), applied as IAM's identity-policy logic: an
explicit Deny wins, else any Allow allows, else implicit deny. Chosen over moto's evaluator
(case-sensitive actions, a failed condition counts as Deny) and iam-ape (summarises a policy,
does not answer "may X do A on R"); see docs/compliance-and-rehearsal.md.

What the evaluator does not see: service control policies, permissions boundaries (none here),
resource policies (bucket and key policies are checked by the compliance packs, not here) and
session policies.
"""

from __future__ import annotations

import collections
import collections.abc
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from assurance.rehearsal.assembly import Assembly, Resource

# principalmapper 1.1.5 (the last release) imports the ABCs from ``collections``, which
# Python 3.10 removed; alias them before the import (upstream issue: "Python 3.10 support").
for _name in ("Mapping", "MutableMapping"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

from principalmapper.querying.local_policy_simulation import (  # noqa: E402
    policy_has_matching_statement,
)
from principalmapper.util.case_insensitive_dict import CaseInsensitiveDict  # noqa: E402

# AWS managed policies the templates attach, with their published documents (IAM console,
# "AWS managed policies" reference). Anything else attached by ARN is unknown to the rehearsal
# and reported as such instead of being assumed to allow.
AWS_MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ],
    },
}


@dataclass(frozen=True)
class Requirement:
    """One thing a role must be allowed to do, and why."""

    role: str  # "<stack>/<logical id>" of the role
    action: str
    resource: str  # a concrete ARN, or "*" for actions without resource-level permissions
    source: str  # which table row or schema handler asks for it
    doc: str  # the documentation (or data file) that says so
    context: tuple[tuple[str, str], ...] = ()
    subject: str = ""  # the resource whose creation or operation needs it


@dataclass(frozen=True)
class Finding:
    """Something a real deployment would trip over."""

    check: str  # "authority", "rule", "cfn-lint"
    subject: str  # the role or resource
    detail: str  # the missing action and resource, or the rule's message
    source: str
    doc: str

    @property
    def key(self) -> str:
        return f"{self.check}|{self.subject}|{self.detail}"

    def render(self) -> str:
        return (
            f"[{self.check}] {self.subject}: {self.detail}\n"
            f"    source: {self.source}\n    doc:    {self.doc}"
        )


@dataclass
class RolePolicies:
    role: Resource
    arn: str
    documents: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # managed policy ARNs not modelled


def role_policies(assembly: Assembly) -> dict[str, RolePolicies]:
    """Every role of the copy with its inline, attached and managed policy documents."""
    roles: dict[str, RolePolicies] = {}
    by_name: dict[tuple[str, str], str] = {}  # (account, role name): names are per account
    managed: dict[str, dict[str, Any]] = {}
    for res in assembly.resources(type_="AWS::IAM::Role"):
        arn = assembly.get_att(res.stack, res.logical_id, "Arn")
        entry = RolePolicies(res, arn)
        for inline in res.properties.get("Policies", []):
            entry.documents.append(assembly.resolve(res.stack, inline["PolicyDocument"]))
        roles[res.key] = entry
        by_name[(assembly.account_of(res.stack), assembly.name_of(res.stack, res.logical_id))] = (
            res.key
        )
    for res in assembly.resources(type_="AWS::IAM::ManagedPolicy"):
        doc = assembly.resolve(res.stack, res.properties["PolicyDocument"])
        managed[assembly.get_att(res.stack, res.logical_id, "Arn")] = doc
    for type_ in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for res in assembly.resources(type_=type_):
            doc = assembly.resolve(res.stack, res.properties["PolicyDocument"])
            for name in assembly.resolve(res.stack, res.properties.get("Roles", [])):
                if (assembly.account_of(res.stack), name) in by_name:
                    roles[by_name[(assembly.account_of(res.stack), name)]].documents.append(doc)
    for entry in roles.values():
        arns = assembly.resolve(
            entry.role.stack, entry.role.properties.get("ManagedPolicyArns", [])
        )
        for arn in arns:
            if arn in managed:
                entry.documents.append(managed[arn])
            elif arn in AWS_MANAGED:
                entry.documents.append(AWS_MANAGED[arn])
            else:
                entry.unknown.append(arn)
    return roles


def is_allowed(
    documents: Iterable[dict[str, Any]], action: str, resource: str, context: dict[str, str]
) -> bool:
    """IAM identity-policy evaluation: explicit Deny > Allow > implicit deny."""
    docs = list(documents)
    ctx = CaseInsensitiveDict(context)
    if any(policy_has_matching_statement(d, "Deny", action, resource, ctx) for d in docs):
        return False
    return any(policy_has_matching_statement(d, "Allow", action, resource, ctx) for d in docs)


def check(assembly: Assembly, requirements: Iterable[Requirement]) -> list[Finding]:
    roles = role_policies(assembly)
    findings = []
    for req in requirements:
        entry = roles.get(req.role)
        if entry is None:
            findings.append(
                Finding(
                    "authority", req.role, "role not found in the templates", req.source, req.doc
                )
            )
            continue
        context = {
            "aws:RequestedRegion": assembly.region,
            "aws:PrincipalAccount": assembly.account_of(entry.role.stack),
            "aws:PrincipalArn": entry.arn,
            **dict(req.context),
        }
        if not is_allowed(entry.documents, req.action, req.resource, context):
            extra = f" (attached policies not modelled: {entry.unknown})" if entry.unknown else ""
            cond = "".join(f" [{k}={v}]" for k, v in req.context)
            for_ = f" for {req.subject}" if req.subject else ""
            findings.append(
                Finding(
                    "authority",
                    req.role,
                    f"missing {req.action} on {req.resource}{cond}{for_}{extra}",
                    req.source,
                    req.doc,
                )
            )
    return findings
