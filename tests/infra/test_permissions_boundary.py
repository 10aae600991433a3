"""The permissions boundary (issue 26, ``security.permissions_boundary``).

Oracles: the boundary ARNs are written out by hand from the profiles' account ids and
env names; the project boundary's behaviour is asked of a real policy evaluator
(principalmapper, as the rehearsal uses) with hand-written expectations.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from core.config import ConfigError, SecurityConfig, load_profile

PROD_LIKE_BOUNDARY = "arn:aws:iam::222222222222:policy/prodlike-permissions-boundary"
SERVING_POLICY = "arn:aws:iam::222222222222:policy/prodlike-Serving/invoke"


def _roles(templates: dict[str, dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (stack, logical, body["Properties"])
        for stack, template in templates.items()
        for logical, body in template["Resources"].items()
        if body["Type"] == "AWS::IAM::Role"
    ]


def _boundary_policies(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical: body["Properties"]
        for logical, body in template["Resources"].items()
        if body["Type"] == "AWS::IAM::ManagedPolicy"
        and str(body["Properties"].get("ManagedPolicyName", "")).endswith("permissions-boundary")
    }


def test_prod_like_puts_the_project_boundary_on_every_role(synth) -> None:  # type: ignore[no-untyped-def]
    s = synth("prod-like")
    roles = _roles(s.templates)
    assert len(roles) > 20  # the CDK-made custom-resource roles included
    (home,) = _boundary_policies(s.template("Operations"))
    for stack, logical, props in roles:
        assert props.get("PermissionsBoundary") == PROD_LIKE_BOUNDARY, f"{stack}/{logical}"
    for unit in ("DataLake", "Training", "Serving", "Delivery", "Monitoring"):
        assert _boundary_policies(s.template(unit)) == {}, unit  # one policy per account
    # named by ARN: every stack deploys after Operations (tests/infra/test_operations.py)


def test_lab_has_no_boundary(synth) -> None:  # type: ignore[no-untyped-def]
    s = synth("lab")
    assert all("PermissionsBoundary" not in p for _, _, p in _roles(s.templates))
    assert all(_boundary_policies(t) == {} for t in s.templates.values())


def test_an_organisation_boundary_is_named_in_each_stack_and_nothing_is_created(synth) -> None:  # type: ignore[no-untyped-def]
    base = load_profile("lab")
    org = "arn:aws:iam::999999999999:policy/org/SandboxBoundary"
    config = dataclasses.replace(base, security=SecurityConfig(permissions_boundary=org))
    s = synth.config_variant("lab/org-boundary", config)
    expected = "arn:aws:iam::111111111111:policy/org/SandboxBoundary"  # the stacks' account
    for stack, logical, props in _roles(s.templates):
        assert props.get("PermissionsBoundary") == expected, f"{stack}/{logical}"
    assert all(_boundary_policies(t) == {} for t in s.templates.values())


@pytest.mark.parametrize(
    ("setting", "document", "message"),
    [
        ("projects", "", "must be 'none', 'project' or the ARN"),
        ("arn:aws:iam::aws:policy/AdministratorAccess", "", "customer managed policy"),
        ("arn:aws:iam::12345:policy/x", "", "must be 'none', 'project' or the ARN"),
        ("project", "org.json", "set security.permissions_boundary to its ARN"),
    ],
)
def test_bad_boundary_settings_are_refused_by_name(
    setting: str, document: str, message: str
) -> None:
    with pytest.raises(ConfigError, match="security.permissions_boundary") as err:
        SecurityConfig(permissions_boundary=setting, permissions_boundary_document=document)
    assert message in str(err.value)


# -- the project boundary, evaluated ------------------------------------------------------------


def _evaluate(doc: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> str:
    from assurance.rehearsal.authority import is_allowed

    return "allow" if is_allowed([doc], action, resource, context) else "deny"


@pytest.fixture(scope="module")
def boundary(synth) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    (props,) = _boundary_policies(synth("prod-like").template("Operations")).values()
    return props["PolicyDocument"]  # type: ignore[no-any-return]


OWN = {"iam:PermissionsBoundary": PROD_LIKE_BOUNDARY}
OTHER = {"iam:PermissionsBoundary": "arn:aws:iam::222222222222:policy/Other"}
ROLE = "arn:aws:iam::222222222222:role/prodlike-Serving/x"
DEPLOY_ROLE = "arn:aws:iam::222222222222:role/cdk-hnb659fds-deploy-role-222222222222-eu-west-1"
EXEC_ROLE = "arn:aws:iam::222222222222:role/cdk-hnb659fds-cfn-exec-role-222222222222-eu-west-1"


@pytest.mark.parametrize(
    ("action", "resource", "context", "expected"),
    [
        ("s3:GetObject", "arn:aws:s3:::lake/x", {}, "allow"),
        ("sagemaker:CreateTrainingJob", "*", {}, "allow"),
        # services the platform does not use are outside the boundary
        ("cloudtrail:StopLogging", "*", {}, "deny"),
        ("organizations:LeaveOrganization", "*", {}, "deny"),
        ("dynamodb:Scan", "*", {}, "deny"),
        ("sts:AssumeRoleWithWebIdentity", "*", {}, "deny"),
        # a role made or changed by a bounded role carries this boundary
        ("iam:CreateRole", ROLE, OWN, "allow"),
        ("iam:CreateRole", ROLE, {}, "deny"),
        ("iam:PutRolePermissionsBoundary", ROLE, OTHER, "deny"),
        ("iam:PutRolePolicy", ROLE, OWN, "allow"),
        ("iam:PutRolePolicy", ROLE, {}, "deny"),  # an unbounded role
        ("iam:AttachRolePolicy", ROLE, OTHER, "deny"),
        ("iam:UpdateAssumeRolePolicy", ROLE, {}, "deny"),
        ("iam:DeleteRole", ROLE, OWN, "allow"),
        ("iam:DeleteRolePermissionsBoundary", ROLE, OWN, "deny"),
        # the boundary itself cannot be edited; other policies can
        ("iam:CreatePolicyVersion", PROD_LIKE_BOUNDARY, {}, "deny"),
        ("iam:CreatePolicyVersion", SERVING_POLICY, {}, "allow"),
        # no users, keys or groups
        ("iam:CreateUser", "*", {}, "deny"),
        ("iam:CreateAccessKey", "*", {}, "deny"),
        ("iam:AddUserToGroup", "*", {}, "deny"),
        # passing and assuming: the copy's roles only (in any of its accounts), never the CDK
        # bootstrap's, in any account
        ("iam:PassRole", ROLE, {}, "allow"),
        ("sts:AssumeRole", "arn:aws:iam::222222222222:role/prodlike-Delivery-Action", {}, "allow"),
        ("sts:AssumeRole", DEPLOY_ROLE, {}, "deny"),
        ("sts:AssumeRole", DEPLOY_ROLE.replace("222222222222", "333333333333"), {}, "deny"),
        ("iam:PassRole", EXEC_ROLE, {}, "deny"),
        ("iam:PassRole", "arn:aws:iam::222222222222:role/OrgAdmin", {}, "deny"),
        ("sts:AssumeRole", "arn:aws:iam::222222222222:role/other-team/x", {}, "deny"),
        # a look-alike name in an account that is not the copy's
        ("sts:AssumeRole", "arn:aws:iam::999999999999:role/prodlike-Delivery-x", {}, "deny"),
        ("iam:PassRole", "arn:aws:iam::999999999999:role/prodlike-x", {}, "deny"),
        # and the copy's policies only: no new version of a policy someone else attached
        ("iam:CreatePolicyVersion", "arn:aws:iam::222222222222:policy/TeamPolicy", {}, "deny"),
        ("iam:SetDefaultPolicyVersion", SERVING_POLICY, {}, "deny"),  # not granted at all
    ],
)
def test_the_project_boundary_allows_the_platform_and_closes_the_ways_out(
    boundary: dict[str, Any], action: str, resource: str, context: dict[str, str], expected: str
) -> None:
    assert _evaluate(boundary, action, resource, context) == expected, json.dumps(context)


def test_pipeline_deployed_stacks_are_destroyed_before_the_role_that_deployed_them(synth) -> None:  # type: ignore[no-untyped-def]
    """DeleteStack uses the role a stack was deployed with (CloudFormation API reference): the
    serving stacks, deployed with Delivery's deployment role, must go before Delivery, or
    their roles stay behind holding the boundary Operations then cannot delete."""
    from core.assembly import CloudAssembly

    s = synth("prod-like")
    manifest = json.loads((s.outdir / "manifest.json").read_text())
    for unit in ("prodlike-ServingStaging", "prodlike-Serving"):
        assert "prodlike-Delivery" in manifest["artifacts"][unit]["dependencies"], unit
    order = CloudAssembly.read(s.outdir).destroy_order()
    assert order.index("prodlike-Serving") < order.index("prodlike-Delivery")
    assert order.index("prodlike-ServingStaging") < order.index("prodlike-Delivery")
