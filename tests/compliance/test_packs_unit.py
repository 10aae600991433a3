"""The compliance helpers on small bare stacks (no whole-app synth, no rule packs).

Fast enough for mutation testing (``make mutation``, module ``compliance``). Oracles are
literal: the acknowledgement ids cdk-nag 3 matches (``<pack>::<rule>``), the names cdk-nag's
``flattenCfnReference`` gives CloudFormation references, a validation report written by hand
in the shape CDK's policy-validation report has.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from infra.compliance.packs import (
    KMS_DATA_KEYS,
    S3_DELETE,
    S3_READ,
    S3_WRITE,
    Acknowledgement,
    ComplianceReport,
    _DeclaredWildcards,
    _policy_of,
    _render,
    acknowledge,
    acknowledge_packs,
    acknowledge_wildcards,
    acknowledgements,
    declare,
    policy_wildcards,
)

WHY = "the probe role reads the one probe bucket it is built to read, nothing else"
ENV = cdk.Environment(account="111111111111", region="us-east-1")


def _stack(tmp_path: Path) -> tuple[cdk.App, cdk.Stack]:
    app = cdk.App(outdir=str(tmp_path))
    return app, cdk.Stack(app, "Probe", env=ENV)


def _role(stack: cdk.Stack, name: str = "Role") -> iam.Role:
    return iam.Role(stack, name, assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))


def _acks(tmp_path: Path) -> dict[tuple[str, str], str]:
    return {(a.path, a.ack_id): a.reason for a in acknowledgements(tmp_path)}


# --- acknowledge ------------------------------------------------------------------------------


def test_acknowledge_records_pack_scoped_ids_with_the_stripped_reason(tmp_path: Path) -> None:
    app, stack = _stack(tmp_path)
    bucket = s3.Bucket(stack, "Bucket")
    acknowledge(bucket, "AwsSolutions-S1", f"  {WHY}  ")
    acknowledge(bucket, "HIPAA.Security-S3BucketLoggingEnabled", "x" * 40)  # exactly 40: ok
    with pytest.raises(ValueError, match=r"Probe/Bucket needs a reason of at least 40"):
        acknowledge(bucket, "AwsSolutions-S2", " " + "x" * 39 + " ")
    app.synth()
    assert _acks(tmp_path) == {
        ("Probe/Bucket", "AwsSolutions::AwsSolutions-S1"): WHY,
        (
            "Probe/Bucket",
            "HIPAA.Security::HIPAA.Security-S3BucketLoggingEnabled",
        ): "x" * 40,
    }


def test_acknowledge_packs_names_the_rule_as_each_regulatory_pack_does(tmp_path: Path) -> None:
    app, stack = _stack(tmp_path)
    bucket = s3.Bucket(stack, "Bucket")
    acknowledge_packs(bucket, "S3BucketReplicationEnabled", WHY)
    app.synth()
    assert sorted(_acks(tmp_path)) == [
        ("Probe/Bucket", "HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled"),
        ("Probe/Bucket", "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled"),
        ("Probe/Bucket", "PCI.DSS.321::PCI.DSS.321-S3BucketReplicationEnabled"),
    ]


def test_acknowledgements_read_only_pack_entries_from_the_metadata(tmp_path: Path) -> None:
    (tmp_path / "A.metadata.json").write_text(
        json.dumps(
            {
                "/XStack/Thing": [
                    {"type": "aws:cdk:logicalId", "data": "Thing"},  # other metadata first
                    {
                        "type": cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY,
                        "data": {
                            "AwsSolutions::AwsSolutions-S1": "reason one",
                            "CloudFormation-Validate::W3010": "CDK's own",
                        },
                    },
                ],
                "/A": [{"type": cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY, "data": None}],
            }
        )
    )
    (tmp_path / "B.metadata.json").write_text(
        json.dumps(
            {
                "/B/Other": [
                    {
                        "type": cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY,
                        "data": {"PCI.DSS.321::PCI.DSS.321-X": "reason two"},
                    }
                ]
            }
        )
    )
    (tmp_path / "A.template.json").write_text("{}")
    assert acknowledgements(tmp_path) == [
        Acknowledgement("XStack/Thing", "AwsSolutions::AwsSolutions-S1", "reason one"),
        Acknowledgement("B/Other", "PCI.DSS.321::PCI.DSS.321-X", "reason two"),
    ]


# --- the report -------------------------------------------------------------------------------


def _report(tmp_path: Path, plugins: list[dict[str, Any]]) -> Path:
    (tmp_path / "validation-report.json").write_text(json.dumps({"pluginReports": plugins}))
    return tmp_path


def _plugin(name: str, **lists: Any) -> dict[str, Any]:
    return {"pluginName": name, **lists}


ALL = ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")


def test_report_reads_violations_and_suppressions_of_every_pack(tmp_path: Path) -> None:
    violation = {
        "ruleName": "AwsSolutions-S10",
        "description": "The S3 Bucket or bucket policy does not require requests to use SSL. "
        + "x" * 100,
        "violatingConstructs": [{"constructPath": "P/B/Resource"}, {"constructPath": "P/C"}],
    }
    suppressed = {"acknowledgedAt": "P/B", "acknowledgedId": "AwsSolutions::AwsSolutions-S1"}
    plugins = [_plugin(name) for name in ALL[1:]]
    plugins.insert(0, _plugin("AwsSolutions", violations=[violation]))
    plugins.append(_plugin("Extra", violations=[violation], suppressedViolations=[suppressed]))
    report = ComplianceReport.read(_report(tmp_path, plugins))
    assert report.violations == [violation, violation]
    assert report.suppressed == [suppressed]
    lines = report.describe_violations().split("\n")
    assert len(lines) == 4
    assert lines[0] == f"AwsSolutions-S10: P/B/Resource ({violation['description'][:90]})"
    assert lines[1].startswith("AwsSolutions-S10: P/C (The S3 Bucket")
    live = Acknowledgement("P/B", "AwsSolutions::AwsSolutions-S1", WHY)
    stale_rule = Acknowledgement("P/B", "AwsSolutions::AwsSolutions-S2", WHY)
    stale_path = Acknowledgement("P/C", "AwsSolutions::AwsSolutions-S1", WHY)
    assert report.unmatched([live, stale_rule, stale_path]) == [stale_rule, stale_path]


def test_report_refuses_a_missing_file_and_missing_packs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="did the synth run packs"):
        ComplianceReport.read(tmp_path)
    _report(tmp_path, [_plugin(name) for name in ALL[:3]])
    with pytest.raises(ValueError, match=r"lacks packs \['PCI.DSS.321'\]"):
        ComplianceReport.read(tmp_path)
    assert ComplianceReport.read(_report(tmp_path, [_plugin(n) for n in ALL])).violations == []
    (tmp_path / "validation-report.json").write_text("{}")  # no plugin ran at all
    with pytest.raises(ValueError, match="lacks packs"):
        ComplianceReport.read(tmp_path)


def test_a_violation_without_constructs_describes_nothing(tmp_path: Path) -> None:
    bare = {"ruleName": "AwsSolutions-IAM4", "description": "managed policy"}
    plugins = [_plugin(n) for n in ALL]
    plugins[0]["violations"] = [bare]
    assert ComplianceReport.read(_report(tmp_path, plugins)).describe_violations() == ""


# --- wildcard rendering and discovery -----------------------------------------------------------


def test_render_flattens_references_as_cdk_nag_names_them() -> None:
    assert _render("arn:${AWS::Partition}:s3:::b/*") == "arn:<AWS::Partition>:s3:::b/*"
    assert _render({"Ref": "AWS::AccountId"}) == "<AWS::AccountId>"
    assert _render({"Fn::GetAtt": ["Bucket83908E77", "Arn"]}) == "<Bucket83908E77.Arn>"
    assert _render({"Fn::ImportValue": "lab-lake-raw-bucket-arn"}) == "lab-lake-raw-bucket-arn"
    assert _render({"Fn::Sub": "arn:${AWS::Region}"}) == "arn:<AWS::Region>"
    joined = {"Fn::Join": ["", [{"Fn::GetAtt": ["B", "Arn"]}, "/pipelines/*"]]}
    assert _render(joined) == "<B.Arn>/pipelines/*"
    assert _render({"Fn::Join": ["/", ["a", "b"]]}) == "a/b"
    assert _render({"Other": [1, 2]}) == '{"Other":[1,2]}'  # compact, as cdk-nag prints it
    assert _render(7) == "7"


def test_declare_and_the_named_action_groups() -> None:
    assert declare(("a:B*", "a:C*"), WHY) == {"a:B*": WHY, "a:C*": WHY}
    # the wildcard actions CDK's grants write (aws-cdk-lib s3/kms perms)
    assert S3_READ == ("s3:GetObject*", "s3:GetBucket*", "s3:List*")
    assert S3_DELETE == ("s3:DeleteObject*", "s3:Abort*")
    assert S3_WRITE == ("s3:Abort*",)
    assert KMS_DATA_KEYS == ("kms:ReEncrypt*", "kms:GenerateDataKey*")


def test_policy_wildcards_lists_each_once_in_order(tmp_path: Path) -> None:
    _, stack = _stack(tmp_path)
    role = _role(stack)
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:GetObject", "s3:List*"], resources=["arn:aws:s3:::b/*"])
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:List*", "kms:Decrypt"],
            resources=["arn:aws:s3:::b/*", "arn:aws:s3:::c", "arn:aws:s3:::c/x*"],
        )
    )
    role.add_to_principal_policy(iam.PolicyStatement(actions=["logs:*"], resources=["*"]))
    # NotAction / NotResource statements carry no Action / Resource key
    role.add_to_principal_policy(
        iam.PolicyStatement(not_actions=["iam:*"], resources=["arn:aws:s3:::d"])
    )
    policy = role.node.find_child("DefaultPolicy")
    actions, resources = policy_wildcards(policy)
    assert actions == ["s3:List*", "logs:*"]
    assert resources == ["arn:aws:s3:::b/*", "arn:aws:s3:::c/x*", "*"]


def test_policy_of_takes_a_roles_default_policy_or_a_policy(tmp_path: Path) -> None:
    _, stack = _stack(tmp_path)
    bare = _role(stack, "Bare")
    with pytest.raises(ValueError, match="Probe/Bare has no DefaultPolicy"):
        _policy_of(bare)
    used = _role(stack, "Used")
    used.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    assert _policy_of(used).node.path == "Probe/Used/DefaultPolicy"
    policy = iam.Policy(stack, "Inline")
    managed = iam.ManagedPolicy(stack, "Managed")
    assert _policy_of(policy).node.path == "Probe/Inline"
    assert _policy_of(managed).node.path == "Probe/Managed"
    with pytest.raises(ValueError, match="Probe/Bucket is not an iam.Policy"):
        _policy_of(s3.Bucket(stack, "Bucket"))


# --- declared wildcards ------------------------------------------------------------------------


def _reading_role(stack: cdk.Stack) -> tuple[iam.Role, str]:
    role = _role(stack)
    bucket = s3.Bucket.from_bucket_name(stack, "Data", "probe-data")
    bucket.grant_read(role)
    return role, f"{bucket.bucket_arn}/*"


def test_validate_names_every_undeclared_and_unused_declaration(tmp_path: Path) -> None:
    _, stack = _stack(tmp_path)
    role, objects = _reading_role(stack)
    role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    policy = role.node.find_child("DefaultPolicy")
    check = _DeclaredWildcards(
        policy,
        {"s3:GetObject*": WHY, "s3:Abort*": WHY},
        {objects: WHY, "arn:aws:s3:::other/*": WHY},
        {"ecr:GetAuthorizationToken": WHY},
    )
    assert check.validate() == [
        "undeclared wildcard action 's3:GetBucket*': declare it (and why) where the role is built",
        "undeclared wildcard action 's3:List*': declare it (and why) where the role is built",
        "action 's3:GetObject' on every resource ('*') is not declared: scope it to the "
        "resources it needs, or, if it takes no resource ARN, declare it with "
        "unscoped={action: why}",
        "declared unscoped action 'ecr:GetAuthorizationToken' is not granted on '*': remove it",
        "declared wildcard action 's3:Abort*' matches nothing in the policy: remove it",
        "declared wildcard resource 'arn:aws:s3:::other/*' matches nothing in the policy: "
        "remove it",
    ]


def test_declared_wildcards_pass_and_each_is_acknowledged_with_its_reason(tmp_path: Path) -> None:
    app, stack = _stack(tmp_path)
    role, objects = _reading_role(stack)
    other = "the role lists the probe bucket to find what it reads"
    acknowledge_wildcards(
        role,
        actions={**declare(S3_READ[:2], WHY), "s3:List*": other},
        resources={objects: WHY},
    )
    app.synth()
    path = "Probe/Role/DefaultPolicy"
    acks = _acks(tmp_path)
    assert acks[(path, "AwsSolutions::AwsSolutions-IAM5[Action::s3:GetObject*]")] == (
        f"s3:GetObject*: {WHY}"
    )
    assert acks[(path, "AwsSolutions::AwsSolutions-IAM5[Action::s3:List*]")] == (
        f"s3:List*: {other}"
    )
    resource = "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::probe-data/*]"
    assert acks[(path, resource)] == f"arn:<AWS::Partition>:s3:::probe-data/*: {WHY}"
    # an inline policy: the regulatory packs' inline-policy rule, once per pack
    inline = sorted(a for p, a in acks if "IAMNoInlinePolicy" in a)
    assert inline == [
        "HIPAA.Security::HIPAA.Security-IAMNoInlinePolicy",
        "NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy",
        "PCI.DSS.321::PCI.DSS.321-IAMNoInlinePolicy",
    ]
    assert len(acks) == 4 + 3


def test_a_planted_wildcard_fails_the_synth_and_short_reasons_fail_at_once(
    tmp_path: Path,
) -> None:
    app, stack = _stack(tmp_path)
    role, objects = _reading_role(stack)
    with pytest.raises(ValueError, match="Probe/Role/DefaultPolicy needs a reason of at least"):
        acknowledge_wildcards(role, actions=declare(S3_READ, "short"))
    with pytest.raises(ValueError, match="needs a reason of at least 40"):
        acknowledge_wildcards(role, resources={objects: " " * 50})
    with pytest.raises(ValueError, match="needs a reason of at least 40"):
        acknowledge_wildcards(role, resources={objects: " " + "y" * 39 + " "})
    exact = _role(stack, "Exact")
    exact.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:Get*"], resources=["arn:aws:s3:::e/k"])
    )
    acknowledge_wildcards(exact, actions={"s3:Get*": "z" * 40})  # exactly 40: enough
    acknowledge_wildcards(role, actions=declare(S3_READ, WHY), resources={objects: WHY})
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::*/*"])
    )
    with pytest.raises(RuntimeError, match=r"undeclared wildcard resource 'arn:aws:s3:::\*/\*'"):
        app.synth()


def test_a_wider_read_on_every_resource_fails_though_star_is_acknowledged(
    tmp_path: Path,
) -> None:
    """The planted wider read: a role with a declared action on "*" (GetAuthorizationToken,
    which takes no resource) gets s3:GetObject on "*" too. cdk-nag has one finding for
    Resource::* per policy, so an acknowledgement of it would let the read through; the gate
    compares the actions on "*" one by one and names the new one."""

    def probe(outdir: Path, planted: bool) -> cdk.App:
        app, stack = _stack(outdir)
        role = _role(stack)
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"])
        )
        acknowledge_wildcards(role, unscoped={"ecr:GetAuthorizationToken": WHY})
        if planted:
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"])
            )
        return app

    probe(tmp_path, planted=False).synth()  # as declared: Resource::* names its one action
    resource = "AwsSolutions::AwsSolutions-IAM5[Resource::*]"
    assert _acks(tmp_path)[("Probe/Role/DefaultPolicy", resource)] == (
        f"*: ecr:GetAuthorizationToken: {WHY}"
    )
    with pytest.raises(RuntimeError, match=r"action 's3:GetObject' on every resource \('\*'\)"):
        probe(tmp_path / "planted", planted=True).synth()


def test_star_declared_as_a_resource_is_refused(tmp_path: Path) -> None:
    """resources={"*": why} would acknowledge Resource::* for whatever is granted on it."""
    app, stack = _stack(tmp_path)
    role = _role(stack)
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"])
    )
    acknowledge_wildcards(role, resources={"*": WHY})
    with pytest.raises(RuntimeError, match=r"resource '\*' declared with resources=: name each"):
        app.synth()


def test_a_managed_policy_gets_no_inline_policy_acknowledgement(tmp_path: Path) -> None:
    app, stack = _stack(tmp_path)
    managed = iam.ManagedPolicy(
        stack,
        "Managed",
        statements=[iam.PolicyStatement(actions=["logs:Put*"], resources=["arn:aws:logs:*"])],
    )
    acknowledge_wildcards(managed, actions={"logs:Put*": WHY}, resources={"arn:aws:logs:*": WHY})
    app.synth()
    assert sorted(a for _, a in _acks(tmp_path)) == [
        "AwsSolutions::AwsSolutions-IAM5[Action::logs:Put*]",
        "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:logs:*]",
    ]


def test_a_role_with_nothing_declared_and_no_wildcards_passes(tmp_path: Path) -> None:
    app, stack = _stack(tmp_path)
    role = _role(stack)
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::b/k"])
    )
    acknowledge_wildcards(role)
    app.synth()
    assert all("IAM5" not in a for _, a in _acks(tmp_path))
