"""The rehearsal's evaluation where IAM differs from a naive reading (issue 26, second fresh
reader): a negated ``*Like`` condition on a key the request lacks matches; IAM requests carry
us-east-1 as their Region; a boundary that names IAM by action leaves the other IAM actions
dead. Oracles: the IAM User Guide's rules, written out as the expected decisions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from assurance.rehearsal import rehearse
from assurance.rehearsal.assembly import Assembly
from assurance.rehearsal.authority import is_allowed, requested_region

PROD_LIKE_BOUNDARY = "arn:aws:iam::222222222222:policy/prodlike-permissions-boundary"


def _allowed(statements: list[dict[str, Any]], action: str, context: dict[str, str]) -> bool:
    return is_allowed([{"Version": "2012-10-17", "Statement": statements}], action, "*", context)


TAGGED_ONLY = [
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {
        "Effect": "Deny",
        "Action": "sagemaker:*",
        "Resource": "*",
        "Condition": {"StringNotLike": {"aws:ResourceTag/team": "ml-*"}},
    },
]


@pytest.mark.parametrize(
    ("context", "allowed"),
    [
        ({}, False),  # the key is absent: StringNotLike matches, the Deny applies
        ({"aws:ResourceTag/team": "ml-platform"}, True),
        ({"aws:ResourceTag/team": "web"}, False),
    ],
)
def test_a_negated_like_condition_matches_when_its_key_is_absent(
    context: dict[str, str], allowed: bool
) -> None:
    """IAM: "If the policy condition requires that the key is not matched, such as StringNotLike
    or ArnNotLike, and the right key is not present, the condition is true"."""
    assert _allowed(TAGGED_ONLY, "sagemaker:CreateTrainingJob", context) is allowed


def test_iam_requests_carry_the_global_endpoints_region() -> None:
    assert requested_region("iam:CreateRole", "eu-west-1") == "us-east-1"
    assert requested_region("iam:PassRole", "cn-north-1", "aws-cn") == "cn-north-1"
    assert requested_region("sagemaker:CreateEndpoint", "eu-west-1") == "eu-west-1"
    assert requested_region("sts:AssumeRole", "eu-west-1") == "eu-west-1"  # regional endpoints


def _prod_like(rehearsals, statements: list[dict[str, Any]]) -> Assembly:  # type: ignore[no-untyped-def]
    """The prod-like copy with its project boundary's statements replaced."""
    a = rehearsals("prod-like/real_time").assembly
    templates = copy.deepcopy(a.templates)
    resources = templates["prodlike-Operations"]["Resources"]
    (policy,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        and r["Properties"]["ManagedPolicyName"] == "prodlike-permissions-boundary"
    ]
    policy["Properties"]["PolicyDocument"]["Statement"] = statements
    return Assembly(templates, a.account, a.region)


def test_a_region_lock_that_forgets_iam_blocks_the_role_changes(rehearsals) -> None:  # type: ignore[no-untyped-def]
    """A boundary that denies every Region but the copy's, without exempting IAM (whose
    requests go to us-east-1), blocks the IAM calls the copy needs, and only those."""
    everything = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    assert rehearse(_prod_like(rehearsals, everything), lint=False).findings == []  # control
    region_lock = {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}},
    }
    found = rehearse(_prod_like(rehearsals, [*everything, region_lock]), lint=False).findings
    authority = [f for f in found if f.check == "authority"]
    assert authority
    assert all(f.detail.startswith("missing iam:") for f in authority), [f.detail for f in found]
    assert all(
        f"blocked by permissions boundary {PROD_LIKE_BOUNDARY}" in f.detail for f in authority
    )
    subjects = {f.subject for f in authority}
    # the serving deploy role's role changes, and the training role passing itself to its jobs
    assert "prodlike-Delivery/DeliveryDeploymentRole4BC12230" in subjects
    assert any("iam:PassRole" in f.detail for f in authority if "ExecutionRole" in f.subject)


def test_an_iam_action_the_boundary_does_not_name_is_a_dead_grant(rehearsals) -> None:  # type: ignore[no-untyped-def]
    """The project boundary names IAM by action: without iam:PassRole, the roles that pass one
    hold a dead grant (and the calls they need are blocked)."""
    a = rehearsals("prod-like/real_time").assembly
    (policy,) = [
        r
        for r in a.templates["prodlike-Operations"]["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    statements = copy.deepcopy(policy["Properties"]["PolicyDocument"]["Statement"])
    (iam,) = [s for s in statements if s["Sid"] == "PlatformIam"]
    iam["Action"].remove("iam:PassRole")
    found = rehearse(_prod_like(rehearsals, statements), lint=False).findings
    dead = [f for f in found if f.check == "dead-grant"]
    assert dead and all("['iam:PassRole']" in f.detail for f in dead), [f.detail for f in dead]
    assert "prodlike-Delivery/DeliveryDeploymentRole4BC12230" in {f.subject for f in dead}
