"""Issue 26: lens row MLSEC03-BP01 (least privilege) with permissions boundaries. In prod-like
every role's boundary is evidence and the boundary policy (service:* on purpose) is judged as a
boundary, attached to nothing; a hand edit that drops one role's boundary, or attaches the
boundary to a role as a grant, fails the row."""

from __future__ import annotations

from pathlib import Path

from assurance.review import lens
from assurance.review.assembly import Assembly
from tests.assurance.review.test_review import _copy, _edit

ROW = "MLSEC03-BP01"


def _row(folder: Path) -> lens.Row:
    (row,) = [r for r in lens.evaluate(Assembly.read(folder)) if r.id == ROW]
    return row


def test_prod_like_passes_with_each_roles_boundary_as_evidence(synth) -> None:  # type: ignore[no-untyped-def]
    result = synth("prod-like")
    row = _row(result.outdir)
    assert row.status == lens.PASS, [e.render() for e in row.evidence if not e.holds]
    roles = {
        (stack, logical)
        for stack, t in result.templates.items()
        for logical, r in t["Resources"].items()
        if r["Type"] == "AWS::IAM::Role"
    }
    bounded = {(e.stack, e.logical_id) for e in row.evidence if e.prop == "PermissionsBoundary"}
    assert bounded == roles
    (boundary,) = [e for e in row.evidence if e.note.startswith("a permissions boundary")]
    assert boundary.stack == "prodlike-Operations"


def test_a_role_without_the_boundary_fails_the_row(synth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = _copy(synth("prod-like").outdir, tmp_path)

    def drop(resources):  # type: ignore[no-untyped-def]
        role = next(r for r in resources.values() if r["Type"] == "AWS::IAM::Role")
        del role["Properties"]["PermissionsBoundary"]

    _edit(folder, "prodlike-Training", drop)
    assert _row(folder).status == lens.FAIL


def test_the_boundary_attached_as_a_grant_fails_the_row(synth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = _copy(synth("prod-like").outdir, tmp_path)

    def attach(resources):  # type: ignore[no-untyped-def]
        (policy,) = [r for r in resources.values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
        policy["Properties"]["Roles"] = ["some-role"]

    _edit(folder, "prodlike-Operations", attach)
    assert _row(folder).status == lens.FAIL


def test_lab_has_no_boundary_evidence(synth) -> None:  # type: ignore[no-untyped-def]
    row = _row(synth("lab").outdir)
    assert row.status == lens.PASS
    assert not [e for e in row.evidence if e.prop == "PermissionsBoundary"]
