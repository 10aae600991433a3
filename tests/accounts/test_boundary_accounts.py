"""The permissions boundary across accounts (issue 26): each account's roles carry that
account's boundary, defined by the account's first stack. Oracle: ARNs written out by hand."""

from __future__ import annotations

from tests.infra.test_permissions_boundary import _boundary_policies, _roles

MULTI = {
    "111111111111": "arn:aws:iam::111111111111:policy/multi-permissions-boundary",
    "333333333333": "arn:aws:iam::333333333333:policy/multi-permissions-boundary",
    "444444444444": "arn:aws:iam::444444444444:policy/multi-permissions-boundary",
}


def test_multi_account_bounds_every_role_with_its_own_accounts_boundary(multi) -> None:  # type: ignore[no-untyped-def]
    homes = {"multi-Operations", "multi-StagingTarget", "multi-ProductionTarget"}
    for stack, logical, props in _roles(multi.templates):
        account = multi.stack_accounts[stack]
        boundary = props.get("PermissionsBoundary")
        if stack in homes:  # a reference: CloudFormation creates the policy first
            (policy,) = _boundary_policies(multi.templates[stack])
            assert boundary == {"Ref": policy}, f"{stack}/{logical}"
        else:
            assert boundary == MULTI[account], f"{stack}/{logical}"
    for stack in homes:
        (props,) = _boundary_policies(multi.templates[stack]).values()
        assert props["ManagedPolicyName"] == "multi-permissions-boundary"
        assert not any(props.get(k) for k in ("Roles", "Users", "Groups"))


def _after(manifest: dict, stack: str) -> set[str]:  # type: ignore[type-arg]
    """Every stack ``stack`` deploys after (cdk deploy's order: the manifest's dependencies)."""
    seen: set[str] = set()
    todo = [stack]
    while todo:
        for dep in manifest["artifacts"][todo.pop()].get("dependencies", []):
            if dep not in seen and not dep.endswith(".assets"):
                seen.add(dep)
                todo.append(dep)
    return seen


def test_every_stack_deploys_after_the_stack_that_defines_its_accounts_boundary(multi) -> None:  # type: ignore[no-untyped-def]
    """A role naming a policy that does not exist yet fails to create: each stack whose roles
    name the boundary by ARN deploys after the defining stack of its own account."""
    import json

    manifest = json.loads((multi.outdir / "manifest.json").read_text())
    homes = {
        multi.stack_accounts[s]: s
        for s in multi.templates
        if _boundary_policies(multi.templates[s])
    }
    assert sorted(homes) == sorted(MULTI)  # one defining stack in each account
    for stack, _, props in _roles(multi.templates):
        if isinstance(props.get("PermissionsBoundary"), str):
            assert homes[multi.stack_accounts[stack]] in _after(manifest, stack), stack


def test_the_project_boundary_without_a_service_the_copy_needs_is_named(multi) -> None:  # type: ignore[no-untyped-def]
    """The real project boundary, one service short: production's boundary without ``kms:*``.
    The rehearsal must name production's roles and the boundary, and nothing in the other
    accounts (their boundaries are untouched). Control: the copy as synthesized."""
    from assurance.rehearsal import rehearse

    assert rehearse(multi.assembly(), lint=False, release=multi.release).findings == []
    a = multi.assembly()
    (policy,) = _boundary_policies(a.templates["multi-ProductionTarget"]).values()
    (allow,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "PlatformServices"]
    allow["Action"].remove("kms:*")
    found = [
        f
        for f in rehearse(a, lint=False, release=multi.release).findings
        if f.check != "dead-grant"  # the grants kms:* no longer reaches are named there too
    ]
    blocked = f"blocked by permissions boundary {MULTI['444444444444']}"
    assert found
    assert all(blocked in f.detail and " kms:" in f" {f.detail}" for f in found), found
    assert {f.subject.split("/")[0] for f in found} <= {
        "multi-ProductionTarget",
        "multi-Serving",
        "multi-Monitoring",
    }
    assert "multi-Serving/EndpointRole47E61C54" in {f.subject for f in found}


def test_tooling_roles_may_assume_only_roles_of_the_copys_accounts(multi) -> None:  # type: ignore[no-untyped-def]
    """Tooling's boundary names the copy's three accounts in OnlyThisCopysRoles: without
    staging's, the delivery roles' assumptions into staging are blocked, and named."""
    from assurance.rehearsal import rehearse

    a = multi.assembly()
    (policy,) = _boundary_policies(a.templates["multi-Operations"]).values()
    (only,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "OnlyThisCopysRoles"]
    assert "arn:aws:iam::333333333333:role/multi-*" in only["NotResource"]
    only["NotResource"].remove("arn:aws:iam::333333333333:role/multi-*")
    found = rehearse(a, lint=False, release=multi.release).findings
    assert found
    blocked = f"blocked by permissions boundary {MULTI['111111111111']}"
    assert all(
        "sts:AssumeRole" in f.detail
        and ":333333333333:role/multi-target/" in f.detail
        and blocked in f.detail
        for f in found
    ), [f.detail for f in found]
    assert {f.subject.split("/")[0] for f in found} == {"multi-Delivery"}
