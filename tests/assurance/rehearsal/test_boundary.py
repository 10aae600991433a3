"""Permissions boundaries (issue 26, part 6): planted into copies of the session's synthesized
templates the way the infra aspect writes them (a ``<env>-permissions-boundary`` managed policy
attached to nothing, and every role's ``PermissionsBoundary`` naming it by its constructed ARN),
each plant with its control. The expectations are written by hand: the role and action chosen,
and the boundary's ARN as IAM forms it (``arn:aws:iam::<account>:policy/<name>``).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from assurance.rehearsal import rehearse, requirements
from assurance.rehearsal.assembly import Assembly
from assurance.rehearsal.authority import Finding, dead_grants, role_policies
from tests.accounts.conftest import multi  # noqa: F401  (the session's multi-account synth)
from tests.assurance.rehearsal.test_planted_defects import _authority, _role, _set_policy

LAB = "111111111111"
BOUNDARY = f"arn:aws:iam::{LAB}:policy/lab-permissions-boundary"
ORG_BOUNDARY = f"arn:aws:iam::{LAB}:policy/org/workload-boundary"
ALLOW_ALL = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]


def _copy(rehearsals, **options: Any) -> Assembly:  # type: ignore[no-untyped-def]
    a = rehearsals("lab/real_time").assembly
    return Assembly(copy.deepcopy(a.templates), a.account, a.region, **options)


def _document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def _constructed(name: str) -> dict[str, Any]:
    """The boundary's ARN as a template builds it (no import of the stack that defines it)."""
    return {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, name],
        ]
    }


def _bound(
    a: Assembly,
    statements: list[dict[str, Any]] | None,
    *,
    arn: Any = None,
    stack: str = "lab-Operations",
    name: str = "lab-permissions-boundary",
    stacks: tuple[str, ...] = (),
) -> None:
    """Every role (of ``stacks``, or all) gets ``arn`` (the planted policy's constructed ARN by
    default) as its PermissionsBoundary; ``statements``: the boundary policy planted in
    ``stack`` (None: none, the organisation's)."""
    if statements is not None:
        a.templates[stack]["Resources"]["PlantedBoundary"] = {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"ManagedPolicyName": name, "PolicyDocument": _document(statements)},
        }
    for stack_name, template in a.templates.items():
        if stacks and stack_name not in stacks:
            continue
        for body in template["Resources"].values():
            if body["Type"] == "AWS::IAM::Role":
                body["Properties"]["PermissionsBoundary"] = arn or _constructed(f":policy/{name}")


def _strip_boundaries(a: Assembly) -> Assembly:
    """The copy without the boundaries its profile set (multi-account: the project's in each
    account), so a test plants the only one."""
    for template in a.templates.values():
        resources = template["Resources"]
        for logical, body in list(resources.items()):
            name = str(body.get("Properties", {}).get("ManagedPolicyName", ""))
            if body["Type"] == "AWS::IAM::ManagedPolicy" and name.endswith("permissions-boundary"):
                del resources[logical]
            elif body["Type"] == "AWS::IAM::Role":
                body["Properties"].pop("PermissionsBoundary", None)
    return a


def _grant_boundary_puts(a: Assembly, boundary: str) -> None:
    """The deploying role may put exactly ``boundary`` on the roles it creates: the grant a
    profile with boundaries needs (a bounded role's first update after the setting adds it)."""
    stack, logical = _role(a, "Delivery", "DeliveryDeploymentRole").split("/")
    a.templates[stack]["Resources"]["PlantedBoundaryGrant"] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "planted-boundary-grant",
            "Roles": [{"Ref": logical}],
            "PolicyDocument": _document(
                [
                    {
                        "Effect": "Allow",
                        "Action": "iam:PutRolePermissionsBoundary",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}},
                    }
                ]
            ),
        },
    }


def _keys(findings: list[Finding]) -> set[str]:
    return {f.key for f in findings}


def _new(a: Assembly, baseline: list[Finding]) -> list[Finding]:
    known = _keys(baseline)
    return [f for f in rehearse(a, lint=False).findings if f.key not in known]


def _details(findings: list[Finding]) -> str:
    return "\n".join(f"[{f.check}] {f.subject}: {f.detail}" for f in findings)


# -- identity ∩ boundary ----------------------------------------------------------------------


def test_a_boundary_allowing_everything_adds_no_finding(rehearsals) -> None:  # type: ignore[no-untyped-def]
    baseline = rehearse(_copy(rehearsals), lint=False).findings
    a = _copy(rehearsals)
    _bound(a, ALLOW_ALL)
    _grant_boundary_puts(a, BOUNDARY)
    roles = role_policies(a)
    assert len(roles) > 10
    assert {e.boundary for e in roles.values()} == {BOUNDARY}
    assert all(e.boundary_document is not None for e in roles.values())
    assert _new(a, baseline) == []


def test_a_boundary_without_sagemaker_blocks_the_roles_that_need_it(rehearsals) -> None:  # type: ignore[no-untyped-def]
    baseline = rehearse(_copy(rehearsals), lint=False).findings
    a = _copy(rehearsals)
    _bound(a, [{"Effect": "Allow", "NotAction": "sagemaker:*", "Resource": "*"}])
    _grant_boundary_puts(a, BOUNDARY)
    found = _new(a, baseline)
    execution = _role(a, "Training", "ExecutionRole")
    mine = [f for f in found if f.subject == execution]
    assert any(
        f.detail.startswith("missing sagemaker:CreateTrainingJob on arn:aws:sagemaker:")
        for f in mine
    ), _details(found)
    # every new authority finding is a SageMaker call the boundary alone blocks; the rest are
    # the SageMaker grants the boundary leaves dead
    authority = [f for f in found if f.check == "authority"]
    assert authority and all(
        f.detail.startswith("missing sagemaker:")
        and f.detail.endswith(f"(blocked by permissions boundary {BOUNDARY})")
        for f in authority
    ), _details(found)
    dead = [f for f in found if f.check != "authority"]
    assert {f.check for f in dead} == {"dead-grant"}
    assert all("allows no sagemaker:* action" in f.detail for f in dead), _details(dead)
    assert execution in {f.subject for f in dead}


def test_an_explicit_deny_in_the_boundary_beats_the_identity_allow(rehearsals) -> None:  # type: ignore[no-untyped-def]
    baseline = rehearse(_copy(rehearsals), lint=False).findings
    a = _copy(rehearsals)
    deny = {"Effect": "Deny", "Action": "sagemaker:CreateEndpoint", "Resource": "*"}
    _bound(a, [*ALLOW_ALL, deny])
    _grant_boundary_puts(a, BOUNDARY)
    found = _new(a, baseline)
    deployer = _role(a, "Delivery", "DeliveryDeploymentRole")
    # the denied grant is also dead: a Deny of that one action on every resource
    dead = [f for f in found if f.check == "dead-grant"]
    assert [(f.subject, "['sagemaker:CreateEndpoint']" in f.detail) for f in dead] == [
        (deployer, True)
    ], _details(dead)
    found = [f for f in found if f.check != "dead-grant"]
    assert {(f.subject, f.detail.split(" on ")[0]) for f in found} == {
        (deployer, "missing sagemaker:CreateEndpoint")
    }, _details(found)
    endpoint = f"arn:aws:sagemaker:us-east-1:{LAB}:endpoint/lab-digits"
    assert any(
        f.detail.startswith(f"missing sagemaker:CreateEndpoint on {endpoint}") for f in found
    )
    assert all(f"blocked by permissions boundary {BOUNDARY}" in f.detail for f in found)


def test_a_boundary_grants_nothing_the_identity_policies_do_not(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals)
    execution = _role(a, "Training", "ExecutionRole")
    nothing = [{"Effect": "Allow", "Action": "none:Nothing", "Resource": "*"}]
    _set_policy(a, execution, nothing)
    unbounded = _authority(a, execution)
    _bound(a, ALLOW_ALL)
    found = _authority(a, execution)
    assert found and len(found) == len(unbounded)
    assert {f.detail for f in found} == {f.detail for f in unbounded}
    assert not any("boundary" in f.detail for f in found)


def test_missing_on_both_sides_says_the_boundary_would_block_it_too(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals)
    execution = _role(a, "Training", "ExecutionRole")
    _set_policy(a, execution, [{"Effect": "Allow", "NotAction": "sagemaker:*", "Resource": "*"}])
    _bound(a, [{"Effect": "Allow", "NotAction": "sagemaker:*", "Resource": "*"}])
    found = [f for f in _authority(a, execution) if "CreateTrainingJob" in f.detail]
    assert found and all(
        f.detail.endswith(f"(permissions boundary {BOUNDARY} does not allow it either)")
        for f in found
    ), _details(found)


def test_a_grant_the_boundary_leaves_dead_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    """The build role's policy grants CodeBuild report actions no requirement models: a
    boundary without CodeBuild blocks no modelled call of that role, only the dead-grant
    check names it."""
    baseline = rehearse(_copy(rehearsals), lint=False).findings
    a = _copy(rehearsals)
    _bound(a, [{"Effect": "Allow", "NotAction": "codebuild:*", "Resource": "*"}])
    _grant_boundary_puts(a, BOUNDARY)
    found = _new(a, baseline)
    build = _role(a, "Delivery", "DeliveryBuildRole")
    mine = [f for f in found if f.subject == build]
    assert [f.check for f in mine] == ["dead-grant"], _details(found)
    assert "codebuild:" in mine[0].detail
    assert f"permissions boundary {BOUNDARY} allows no codebuild:* action" in mine[0].detail
    # a Deny of the whole service is as dead; a Deny of one action is not
    a = _copy(rehearsals)
    _bound(a, [*ALLOW_ALL, {"Effect": "Deny", "Action": "codebuild:*", "Resource": "*"}])
    assert build in {f.subject for f in dead_grants(role_policies(a))}
    a = _copy(rehearsals)
    _bound(a, [*ALLOW_ALL, {"Effect": "Deny", "Action": "codebuild:StartBuild", "Resource": "*"}])
    assert build not in {f.subject for f in dead_grants(role_policies(a))}


# -- a boundary whose document the rehearsal cannot see ------------------------------------------


def test_an_unknown_boundary_is_one_loud_finding_until_its_document_is_given(rehearsals) -> None:  # type: ignore[no-untyped-def]
    baseline = rehearse(_copy(rehearsals), lint=False).findings
    a = _copy(rehearsals)
    _bound(a, None, arn=ORG_BOUNDARY)
    _grant_boundary_puts(a, ORG_BOUNDARY)
    found = _new(a, baseline)
    assert [(f.check, f.subject) for f in found] == [("boundary", ORG_BOUNDARY)], _details(found)
    assert "permissions boundary document unknown" in found[0].detail
    assert "unchecked against it" in found[0].detail
    assert "Assembly.boundary_documents" in found[0].detail

    # given by the profile: evaluated, and the SageMaker calls it withholds are named
    given = {
        ORG_BOUNDARY: _document([{"Effect": "Allow", "NotAction": "sagemaker:*", "Resource": "*"}])
    }
    a = _copy(rehearsals, boundary_documents=given)
    _bound(a, None, arn=ORG_BOUNDARY)
    _grant_boundary_puts(a, ORG_BOUNDARY)
    found = _new(a, baseline)
    assert not [f for f in found if f.check == "boundary"], _details(found)
    execution = _role(a, "Training", "ExecutionRole")
    assert any(
        f.subject == execution
        and "missing sagemaker:CreateTrainingJob" in f.detail
        and f.detail.endswith(f"(blocked by permissions boundary {ORG_BOUNDARY})")
        for f in found
    ), _details(found)


def test_a_boundary_document_in_another_stack_of_the_same_account_is_found(rehearsals) -> None:  # type: ignore[no-untyped-def]
    """The managed policy is in Operations, the roles elsewhere: found by ARN, not by stack."""
    a = _copy(rehearsals)
    _bound(a, ALLOW_ALL, stack="lab-Operations")
    serving = role_policies(a)[_role(a, "Serving", "EndpointRole")]
    assert serving.role.stack == "lab-Serving"
    assert serving.boundary == BOUNDARY
    assert serving.boundary_document == _document(ALLOW_ALL)
    # the boundary is not an identity policy of the role: it is not among its documents
    assert _document(ALLOW_ALL) not in serving.documents


# -- the deploying role and iam:PermissionsBoundary ---------------------------------------------

TYPICAL = [
    *ALLOW_ALL,
    {
        # "a boundary's usual guard": roles are created or changed only with this boundary
        "Effect": "Deny",
        "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
        "Resource": "*",
        "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": BOUNDARY}},
    },
]


def test_role_requests_carry_the_boundary_they_set(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals)
    _bound(a, TYPICAL)
    reqs, excluded = requirements(a)
    deployer = _role(a, "Delivery", "DeliveryDeploymentRole")
    endpoint_role = re.compile(rf"arn:aws:iam::{LAB}:role/(\S+/)?lab-Serving-EndpointRole")
    for action in ("iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"):
        (req,) = [
            r
            for r in reqs
            if r.role == deployer and r.action == action and endpoint_role.match(r.resource)
        ]
        assert ("iam:PermissionsBoundary", BOUNDARY) in req.context, req
    assert not [r for r in reqs if r.action == "iam:DeleteRolePermissionsBoundary"]
    assert any(e.startswith("AWS::IAM::Role iam:DeleteRolePermissionsBoundary") for e in excluded)


def test_a_put_boundary_grant_for_another_boundary_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    baseline = rehearse(_copy(rehearsals), lint=False).findings
    a = _copy(rehearsals)
    _bound(a, TYPICAL)
    _grant_boundary_puts(a, BOUNDARY)
    assert _new(a, baseline) == []  # control: the typical guard and the conditioned grant pass

    a = _copy(rehearsals)
    _bound(a, TYPICAL)
    _grant_boundary_puts(a, f"arn:aws:iam::{LAB}:policy/some-other-boundary")
    found = _new(a, baseline)
    deployer = _role(a, "Delivery", "DeliveryDeploymentRole")
    assert found and {f.subject for f in found} == {deployer}, _details(found)
    assert all(
        f.detail.startswith("missing iam:PutRolePermissionsBoundary on arn:aws:iam::")
        and f"[iam:PermissionsBoundary={BOUNDARY}]" in f.detail
        for f in found
    ), _details(found)
    assert any("lab-Serving-EndpointRole" in f.detail for f in found)


# -- across accounts ------------------------------------------------------------------------------

STAGING = "333333333333"
STAGING_BOUNDARY = f"arn:aws:iam::{STAGING}:policy/multi-permissions-boundary"


def _cross(a: Assembly, release: dict[str, Any]) -> list[Finding]:
    return [
        f
        for f in rehearse(a, lint=False, release=release).findings
        if f.check in ("cross-account", "boundary")
    ]


def test_a_cross_account_read_blocked_by_the_callers_boundary_is_named(multi) -> None:  # type: ignore[no-untyped-def,no-redef]  # noqa: F811
    staging = (
        "multi-ServingStaging",
    )  # the staging endpoint's role; its boundary in StagingTarget
    a = _strip_boundaries(multi.assembly())
    _bound(
        a, ALLOW_ALL, stack="multi-StagingTarget", name="multi-permissions-boundary", stacks=staging
    )
    assert (
        role_policies(a)["multi-ServingStaging/EndpointRole47E61C54"].boundary == STAGING_BOUNDARY
    )
    assert _cross(a, multi.release) == []  # control

    a = _strip_boundaries(multi.assembly())
    deny = {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}
    _bound(
        a,
        [*ALLOW_ALL, deny],
        stack="multi-StagingTarget",
        name="multi-permissions-boundary",
        stacks=staging,
    )
    found = _cross(a, multi.release)
    assert found, "a boundary denying the model archive's decrypt went unnoticed"
    assert {f.subject for f in found} == {"multi-ServingStaging/EndpointRole47E61C54"}
    assert all(
        re.fullmatch(
            rf"kms:Decrypt on arn:aws:kms:us-east-1:111111111111:key/\S+ "
            rf"blocked by permissions boundary {re.escape(STAGING_BOUNDARY)}",
            f.detail,
        )
        for f in found
    ), _details(found)


def test_a_boundary_defined_only_in_another_account_is_unknown(multi) -> None:  # type: ignore[no-untyped-def,no-redef]  # noqa: F811
    """Tooling defines ``multi-permissions-boundary``; the staging roles name staging's own
    (their ``AWS::AccountId``), which no staging template defines."""
    a = _strip_boundaries(multi.assembly())
    _bound(
        a,
        ALLOW_ALL,
        stack="multi-Operations",
        name="multi-permissions-boundary",
        stacks=("multi-ServingStaging",),
    )
    found = _cross(a, multi.release)
    assert [(f.check, f.subject) for f in found] == [("boundary", STAGING_BOUNDARY)], _details(
        found
    )
