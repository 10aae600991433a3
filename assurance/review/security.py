"""Security and compliance: gate per pack, acknowledgements by rule, IAM roles, encryption,
and what is reachable from outside the account. Read from the assembly only."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assurance.review.assembly import Assembly, Resource, permissions_boundaries
from assurance.review.inventory import encryption

REPORT_FILE = "validation-report.json"
ACK_METADATA_KEY = "aws:cdk:acknowledged-rules"  # cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
PACKS = ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
DATA_STORES = (
    "AWS::S3::Bucket",
    "AWS::Kinesis::Stream",
    "AWS::KinesisFirehose::DeliveryStream",
    "AWS::SNS::Topic",
    "AWS::Logs::LogGroup",
    "AWS::SageMaker::EndpointConfig",
    "AWS::SageMaker::Pipeline",
    "AWS::Glue::Database",
    "AWS::SQS::Queue",
    "AWS::DynamoDB::Table",
)


@dataclass(frozen=True)
class PackResult:
    pack: str
    conclusion: str
    violations: int
    suppressed: int


@dataclass(frozen=True)
class Ack:
    rule: str  # AwsSolutions-IAM5
    finding: str  # AwsSolutions-IAM5[Action::s3:List*]
    path: str
    reason: str


@dataclass(frozen=True)
class RoleLine:
    stack: str
    logical_id: str
    path: str
    assumed_by: str
    may: str


@dataclass(frozen=True)
class StoreLine:
    stack: str
    logical_id: str
    type: str
    at_rest: str
    in_transit: str


@dataclass(frozen=True)
class Exposure:
    stack: str
    logical_id: str
    type: str
    what: str


def gate(outdir: Path) -> list[PackResult]:
    path = outdir / REPORT_FILE
    if not path.is_file():
        return []
    plugins = json.loads(path.read_text()).get("pluginReports", [])
    return [
        PackResult(
            pack=p["pluginName"],
            conclusion=p.get("conclusion", "?"),
            violations=sum(len(v.get("violatingConstructs", [])) for v in p.get("violations", [])),
            suppressed=len(p.get("suppressedViolations", [])),
        )
        for p in plugins
    ]


def acknowledgements(outdir: Path) -> dict[str, list[Ack]]:
    """Rule -> every acknowledgement recorded in the assembly's metadata files."""
    grouped: dict[str, list[Ack]] = defaultdict(list)
    for meta in sorted(outdir.glob("*.metadata.json")):
        for construct_path, entries in json.loads(meta.read_text()).items():
            for entry in entries:
                if entry.get("type") != ACK_METADATA_KEY:
                    continue
                for ack_id, reason in dict(entry.get("data") or {}).items():
                    pack, _, finding = ack_id.partition("::")
                    if pack not in PACKS:
                        continue
                    rule = finding.split("[", 1)[0]
                    grouped[rule].append(Ack(rule, finding, construct_path.lstrip("/"), reason))
    return dict(sorted(grouped.items()))


def _principals(doc: Any) -> list[str]:
    out: list[str] = []
    for statement in (doc or {}).get("Statement", []):
        principal = statement.get("Principal", {})
        if principal == "*":
            out.append("*")
            continue
        for kind, value in principal.items():
            for one in value if isinstance(value, list) else [value]:
                out.append(f"{kind}:{_short(one)}")
    return list(dict.fromkeys(out))


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(_short(p) for p in value["Fn::Join"][1])
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{value['Fn::GetAtt'][0]}>"
    if isinstance(value, dict) and "Fn::ImportValue" in value:
        return f"<{value['Fn::ImportValue']}>"
    return json.dumps(value)[:60]


def _actions_summary(assembly: Assembly, res: Resource, statements: list[dict[str, Any]]) -> str:
    by_service: dict[str, set[str]] = defaultdict(set)
    targets: dict[str, set[str]] = defaultdict(set)
    for st in statements:
        if st.get("Effect", "Allow") != "Allow":
            continue
        actions = st.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            service = action.split(":", 1)[0]
            by_service[service].add(action)
            for stack, logical in assembly.resolve(res.stack, st.get("Resource")):
                other = assembly.stack(stack)
                if other and other.resource(logical):
                    targets[service].add(logical)
            resources = st.get("Resource")
            if resources == "*" or (isinstance(resources, list) and "*" in resources):
                targets[service].add("*")
    parts = []
    for service in sorted(by_service):
        on = ", ".join(sorted(targets[service])) if targets[service] else "named ARNs"
        parts.append(f"{service} ({len(by_service[service])}) on {on}")
    return "; ".join(parts)


def roles(assembly: Assembly) -> list[RoleLine]:
    """Each IAM role: who assumes it and what it may do (actions per service, on what)."""
    policies = assembly.of_type("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
    lines = []
    for role in assembly.of_type("AWS::IAM::Role"):
        statements: list[dict[str, Any]] = []
        for inline in role.properties.get("Policies", []):
            statements += inline.get("PolicyDocument", {}).get("Statement", [])
        for policy in policies:
            if policy.stack != role.stack:
                continue
            attached = policy.properties.get("Roles", [])
            if any(
                ref == (role.stack, role.logical_id)
                for ref in assembly.resolve(role.stack, attached)
            ):
                statements += policy.properties.get("PolicyDocument", {}).get("Statement", [])
        managed = [
            _short(m).rsplit("/", 1)[-1] for m in role.properties.get("ManagedPolicyArns", [])
        ]
        may = _actions_summary(assembly, role, statements)
        if managed:
            may = "; ".join(x for x in (may, "managed: " + ", ".join(managed)) if x)
        lines.append(
            RoleLine(
                stack=role.stack,
                logical_id=role.logical_id,
                path=role.path,
                assumed_by=", ".join(_principals(role.properties.get("AssumeRolePolicyDocument"))),
                may=may or "nothing beyond its trust policy",
            )
        )
    return lines


def _tls_only(policy_doc: Any) -> bool:
    for st in (policy_doc or {}).get("Statement", []):
        cond = json.dumps(st.get("Condition", {}))
        if st.get("Effect") == "Deny" and "aws:SecureTransport" in cond and '"false"' in cond:
            return True
    return False


def stores(assembly: Assembly) -> list[StoreLine]:
    """Encryption at rest and in transit for each data store."""
    bucket_policies: dict[tuple[str, str], Any] = {}
    for policy in assembly.of_type("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"):
        targets = policy.properties.get("Bucket") or policy.properties.get("Topics")
        for ref in assembly.resolve(policy.stack, targets):
            bucket_policies[ref] = policy.properties.get("PolicyDocument")
    out = []
    for res in assembly.of_type(*DATA_STORES):
        at_rest = encryption(assembly, res) or "not set in the template (service default, if any)"
        if res.type in ("AWS::S3::Bucket", "AWS::SNS::Topic"):
            transit = (
                "TLS only: resource policy denies aws:SecureTransport=false"
                if _tls_only(bucket_policies.get(res.key))
                else "TLS not enforced by a resource policy"
            )
        elif res.type == "AWS::SageMaker::Pipeline":
            text = " ".join(assembly.strings(res.properties.get("PipelineDefinition")))
            n = text.count('"EnableInterContainerTrafficEncryption": true')
            transit = f"HTTPS APIs; inter-container encryption on {n} jobs"
        else:
            transit = "HTTPS-only service API (service-enforced, no setting in the template)"
        out.append(StoreLine(res.stack, res.logical_id, res.type, at_rest, transit))
    return out


_RESOURCE_POLICIES = {
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::Events::EventBusPolicy": "Statement",
}


def _outside(principal: Any, account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for one in (
        principal.get("AWS", [])
        if isinstance(principal.get("AWS"), list)
        else [principal.get("AWS")]
    ):
        if one is None:
            continue
        if isinstance(one, dict) and ("Fn::GetAtt" in one or "Ref" in one):
            continue  # a role or user of this template: inside the account
        text = _short(one)
        if text == "*" or (account not in text and "AWS::AccountId" not in text):
            return True
    return False


def exposure(assembly: Assembly) -> list[Exposure]:
    """What a principal outside the account could reach, as the templates declare it."""
    found = []
    for res in assembly.resources():
        stack = assembly.stack(res.stack)
        account = stack.account if stack else ""
        key = _RESOURCE_POLICIES.get(res.type)
        if key:
            doc = res.properties.get(key) or {}
            statements = doc.get("Statement", []) if isinstance(doc, dict) else []
            for st in statements:
                if st.get("Effect") != "Allow":
                    continue
                principal = st.get("Principal")
                cond = json.dumps(st.get("Condition", {}))
                if _outside(principal, account) and "aws:SourceAccount" not in cond:
                    found.append(
                        Exposure(
                            res.stack,
                            res.logical_id,
                            res.type,
                            f"allows {_short(principal)}: {st.get('Action')}",
                        )
                    )
        if res.type == "AWS::Lambda::Permission" and not str(
            res.properties.get("Principal", "")
        ).endswith(".amazonaws.com"):
            found.append(Exposure(res.stack, res.logical_id, res.type, "Lambda invoke permission"))
        if res.type in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::EIP"):
            found.append(Exposure(res.stack, res.logical_id, res.type, "internet path"))
        if res.type == "AWS::EC2::SecurityGroupIngress" or res.type == "AWS::EC2::SecurityGroup":
            rules = res.properties.get("SecurityGroupIngress", [res.properties])
            for rule in rules if isinstance(rules, list) else []:
                if rule.get("CidrIp") == "0.0.0.0/0" or rule.get("CidrIpv6") == "::/0":
                    found.append(
                        Exposure(res.stack, res.logical_id, res.type, "ingress from anywhere")
                    )
        if res.type == "AWS::IAM::Role":
            doc = res.properties.get("AssumeRolePolicyDocument", {})
            for st in doc.get("Statement", []):
                if st.get("Effect") == "Allow" and _outside(st.get("Principal"), account):
                    found.append(
                        Exposure(res.stack, res.logical_id, res.type, "assumable from outside")
                    )
    return found


def entry_points(assembly: Assembly) -> list[Exposure]:
    """Standalone managed policies: the doors the platform offers to principals in the account."""
    out = []
    boundaries = permissions_boundaries(assembly)
    for res in assembly.of_type("AWS::IAM::ManagedPolicy"):
        if (
            res.key in boundaries
            or res.properties.get("Roles")
            or res.properties.get("Users")
            or res.properties.get("Groups")
        ):
            continue
        actions: list[str] = []
        for st in res.properties.get("PolicyDocument", {}).get("Statement", []):
            acts = st.get("Action", [])
            actions += [acts] if isinstance(acts, str) else acts
        desc = res.properties.get("Description", "")
        out.append(Exposure(res.stack, res.logical_id, res.type, f"{desc}: {', '.join(actions)}"))
    return out
