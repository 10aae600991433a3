"""Authority: is each (role, action, resource) a role needs allowed by that role's policies?

The evaluation is principalmapper's local policy simulation (``policy_has_matching_statement``:
Action/NotAction, Resource/NotResource with ``*``/``?`` wildcards, case-insensitive actions,
policy variables and the condition operators), applied as IAM's identity-policy logic: an
explicit Deny wins, else any Allow allows, else implicit deny. Chosen over moto's evaluator
(case-sensitive actions, a failed condition counts as Deny) and iam-ape (summarises a policy,
does not answer "may X do A on R"); see docs/compliance-and-rehearsal.md.

A role with a permissions boundary (``PermissionsBoundary``, issue 26) is evaluated as IAM
evaluates it: "an entity's permissions boundary allows it to perform only the actions that are
allowed by both its identity-based policies and its permissions boundaries" (IAM User Guide,
"Permissions boundaries for IAM entities", BOUNDARY_DOC); an explicit Deny in either denies,
else the request needs an Allow in both ("Policy evaluation logic", EVALUATION_DOC). The
boundary is never an identity policy: it grants nothing. Its document is the managed policy a
template of the role's account defines with that ARN, or one the profile gives
(``Assembly.boundary_documents``); a boundary whose document is neither is a finding of its
own (``boundary_findings``), never a silent pass.

What the evaluator does not see: service control policies, resource policies (bucket and key
policies are checked by the compliance packs, not here) and session policies.
"""

from __future__ import annotations

import collections
import collections.abc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from assurance.rehearsal.assembly import Assembly, Resource

# principalmapper 1.1.5 (the last release) imports the ABCs from ``collections``, which
# Python 3.10 removed; alias them before the import (upstream issue: "Python 3.10 support").
for _name in ("Mapping", "MutableMapping"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

from principalmapper.querying import local_policy_simulation as _simulation  # noqa: E402
from principalmapper.querying.local_policy_simulation import (  # noqa: E402
    policy_has_matching_statement,
)
from principalmapper.util.case_insensitive_dict import CaseInsensitiveDict  # noqa: E402

OPERATORS_DOC = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_"
    "operators.html"
)
_str_match = _simulation._get_str_match


def _negated_like_matches_absent_key(
    block: str, key: str, value: str | list[str], context: CaseInsensitiveDict
) -> bool:
    """principalmapper 1.1.5 says a ``StringNotLike`` whose key is absent from the request does
    not match; IAM says it does ("If the policy condition requires that the key is not matched,
    such as StringNotLike or ArnNotLike, and the right key is not present, the condition is
    true", OPERATORS_DOC). Without this, a boundary's ``Deny ... StringNotLike`` on a key the
    request lacks would pass the rehearsal and deny in the account."""
    if "StringNotLike" in block and key not in context:
        return True
    return bool(_str_match(block, key, value, context))


_simulation._get_str_match = _negated_like_matches_absent_key

# Global services: every request goes to one Region's endpoint, which is what
# aws:RequestedRegion holds ("IAM ... a single endpoint that is physically located in the
# us-east-1 Region", IAM User Guide, REGION_DOC); per partition.
REGION_DOC = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
    "reference_policies_examples_aws_deny-requested-region.html"
)
GLOBAL_SERVICES = ("iam", "cloudfront", "route53", "support", "budgets", "organizations")
GLOBAL_REGION = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}


def requested_region(action: str, region: str, partition: str = "aws") -> str:
    """The aws:RequestedRegion of a request for ``action`` made from ``region``."""
    if action.split(":", 1)[0].lower() in GLOBAL_SERVICES:
        return GLOBAL_REGION.get(partition, region)
    return region


BOUNDARY_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"
EVALUATION_DOC = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"
)

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
    boundary: str | None = None  # the PermissionsBoundary ARN, resolved
    boundary_document: dict[str, Any] | None = None  # None: no boundary, or its document unknown

    @property
    def boundary_unknown(self) -> bool:
        return self.boundary is not None and self.boundary_document is None


def boundary_of(assembly: Assembly, role: Resource) -> str | None:
    """The ARN of the role's permissions boundary (an ARN or an intrinsic the templates build
    it with), None when the role sets none."""
    value = role.properties.get("PermissionsBoundary")
    if value is None:
        return None
    return str(assembly.resolve(role.stack, value))


def role_policies(assembly: Assembly) -> dict[str, RolePolicies]:
    """Every role of the copy with its inline, attached and managed policy documents, and its
    permissions boundary (with the boundary's document when the copy or the profile has it)."""
    roles: dict[str, RolePolicies] = {}
    by_name: dict[tuple[str, str], str] = {}  # (account, role name): names are per account
    managed: dict[str, dict[str, Any]] = {}
    for res in assembly.resources(type_="AWS::IAM::Role"):
        arn = assembly.get_att(res.stack, res.logical_id, "Arn")
        entry = RolePolicies(res, arn, boundary=boundary_of(assembly, res))
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
        if entry.boundary is not None:
            # a managed policy's ARN carries its account: a match is in the role's account
            entry.boundary_document = (
                managed.get(entry.boundary)
                or AWS_MANAGED.get(entry.boundary)
                or assembly.boundary_documents.get(entry.boundary)
            )
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


@dataclass(frozen=True)
class Decision:
    """One request evaluated for one role: identity policies, then the boundary."""

    identity: bool  # the identity policies allow it (and deny it nowhere)
    boundary: bool | None  # the boundary allows it; None: no boundary, or its document unknown

    @property
    def allowed(self) -> bool:
        return self.identity and self.boundary is not False


def evaluate(entry: RolePolicies, action: str, resource: str, context: dict[str, str]) -> Decision:
    """IAM's logic for a role with a permissions boundary (BOUNDARY_DOC, EVALUATION_DOC): an
    explicit Deny in the identity policies or the boundary denies; else the request is allowed
    only if the identity policies allow it and the boundary allows it. Without a boundary (or
    with one whose document is unknown, reported by ``boundary_findings``) identity decides."""
    identity = is_allowed(entry.documents, action, resource, context)
    if entry.boundary_document is None:
        return Decision(identity, None)
    return Decision(identity, is_allowed([entry.boundary_document], action, resource, context))


def boundary_note(entry: RolePolicies, decision: Decision) -> str:
    """What a denied request's finding adds about the boundary, so a reader knows which policy
    to fix: the boundary alone blocks it, or it would block it too."""
    if decision.boundary is not False:
        return ""
    if decision.identity:
        return f" (blocked by permissions boundary {entry.boundary})"
    return f" (permissions boundary {entry.boundary} does not allow it either)"


def boundary_findings(
    roles: dict[str, RolePolicies], requirements: Iterable[Requirement] = ()
) -> list[Finding]:
    """One finding per boundary whose document the rehearsal cannot see: every request of the
    roles it bounds was evaluated on their identity policies alone."""
    unknown: dict[str, list[str]] = {}
    for key, entry in roles.items():
        if entry.boundary_unknown:
            unknown.setdefault(str(entry.boundary), []).append(key)
    counted = collections.Counter(r.role for r in requirements)
    findings = []
    for arn, keys in unknown.items():
        n = sum(counted[k] for k in keys)
        shown = ", ".join(sorted(keys)[:3]) + (
            f" and {len(keys) - 3} more" if len(keys) > 3 else ""
        )
        findings.append(
            Finding(
                "boundary",
                arn,
                f"permissions boundary document unknown: {n} requirements of {len(keys)} roles "
                f"({shown}) are unchecked against it; define the managed policy in a template "
                "of the roles' account, or give its document to the rehearsal "
                "(Assembly.boundary_documents: labctl synth passes the document of the "
                "profile's security.permissions_boundary)",
                "PermissionsBoundary",
                BOUNDARY_DOC,
            )
        )
    return findings


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in _as_list(doc.get("Statement", [])) if isinstance(s, dict)]


def _names_service(pattern: str, service: str, *, whole: bool = False) -> bool:
    """``pattern`` (an Action entry) matches some action of ``service``; ``whole``: every one
    ("*", "svc:*")."""
    if pattern == "*":
        return True
    prefix, _, verb = pattern.lower().partition(":")
    return fnmatchcase(service, prefix) and (not whole or verb == "*")


def _boundary_allows(
    boundary: dict[str, Any], names: Callable[[str], bool], names_all: Callable[[str], bool]
) -> bool:
    """The boundary allows something ``names`` picks out somewhere: an Allow whose Action
    names it (or a NotAction that leaves it), and no unconditional Deny on every resource of
    all of it (``names_all``). Resources and conditions aside."""
    allowed = False
    for st in _statements(boundary):
        if st.get("Effect") == "Deny":
            everywhere = _as_list(st.get("Resource")) == ["*"] and not st.get("Condition")
            if everywhere and any(names_all(str(p)) for p in _as_list(st.get("Action", []))):
                return False
        elif "NotAction" in st:
            allowed |= not any(names_all(str(p)) for p in _as_list(st["NotAction"]))
        else:
            allowed |= any(names(str(p)) for p in _as_list(st.get("Action", [])))
    return allowed


def _boundary_reaches(boundary: dict[str, Any], service: str) -> bool:
    """The boundary allows some action of ``service`` somewhere."""
    return _boundary_allows(
        boundary,
        lambda p: _names_service(p, service),
        lambda p: _names_service(p, service, whole=True),
    )


def _boundary_names_action(boundary: dict[str, Any], action: str) -> bool:
    """The boundary allows ``action`` (a literal action) somewhere."""

    def named(pattern: str) -> bool:
        return fnmatchcase(action.lower(), pattern.lower())

    return _boundary_allows(boundary, named, named)


def dead_grants(roles: dict[str, RolePolicies]) -> list[Finding]:
    """An Allow in a role's identity policies for a service its boundary allows nowhere (the
    boundary names no action of it), or for literal actions of a service the boundary names
    by action but not these: the grant is dead, or the boundary blocks a call the requirements
    do not model (the authority check sees only those). One finding per (role, service)."""
    findings = []
    for key, entry in roles.items():
        if entry.boundary_document is None:
            continue
        granted: dict[str, set[str]] = {}
        for doc in entry.documents:
            for st in _statements(doc):
                if st.get("Effect") != "Allow":
                    continue
                for action in map(str, _as_list(st.get("Action", []))):
                    service = action.partition(":")[0].lower()
                    if ":" in action and "*" not in service:
                        granted.setdefault(service, set()).add(action)
        for service, actions in sorted(granted.items()):
            if _boundary_reaches(entry.boundary_document, service):
                # a boundary may name a service by action (the project's IAM and STS):
                # literal actions it names nowhere are dead too
                missing = sorted(
                    a
                    for a in actions
                    if not any(c in a for c in "*?")
                    and not _boundary_names_action(entry.boundary_document, a)
                )
                if missing:
                    findings.append(
                        Finding(
                            "dead-grant",
                            key,
                            f"identity policy allows {missing} but permissions boundary "
                            f"{entry.boundary} allows none of them: the grant is dead, or the "
                            "boundary blocks a call the requirements do not model",
                            "identity policies vs PermissionsBoundary",
                            BOUNDARY_DOC,
                        )
                    )
                continue
            findings.append(
                Finding(
                    "dead-grant",
                    key,
                    f"identity policy allows {sorted(actions)} but permissions boundary "
                    f"{entry.boundary} allows no {service}:* action: the grant is dead, or "
                    "the boundary blocks a call the requirements do not model",
                    "identity policies vs PermissionsBoundary",
                    BOUNDARY_DOC,
                )
            )
    return findings


def check(assembly: Assembly, requirements: Iterable[Requirement]) -> list[Finding]:
    reqs = list(requirements)
    roles = role_policies(assembly)
    findings = []
    for req in reqs:
        entry = roles.get(req.role)
        if entry is None:
            findings.append(
                Finding(
                    "authority", req.role, "role not found in the templates", req.source, req.doc
                )
            )
            continue
        context = {
            "aws:RequestedRegion": requested_region(
                req.action, assembly.region, assembly.partition
            ),
            "aws:PrincipalAccount": assembly.account_of(entry.role.stack),
            "aws:PrincipalArn": entry.arn,
            **dict(req.context),
        }
        decision = evaluate(entry, req.action, req.resource, context)
        if not decision.allowed:
            extra = f" (attached policies not modelled: {entry.unknown})" if entry.unknown else ""
            extra += boundary_note(entry, decision)
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
    return findings + boundary_findings(roles, reqs)
