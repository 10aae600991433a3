"""Staging and production in one account (the known failure: the same principal twice)."""

from __future__ import annotations

from assurance.rehearsal import rehearse
from assurance.rehearsal.cross_account import _policies

TOOLING, SHARED = "111111111111", "333333333333"


def test_one_target_stack_holds_both_serving_stacks_roles(two_accounts) -> None:  # type: ignore[no-untyped-def]
    assert {k: v for k, v in two_accounts.stack_accounts.items() if v == SHARED} == {
        "multi-Target": SHARED,
        "multi-ServingStaging": SHARED,
        "multi-Serving": SHARED,
        "multi-Monitoring": SHARED,  # beside the production endpoint
    }


def test_every_policy_names_the_shared_account_once(two_accounts) -> None:  # type: ignore[no-untyped-def]
    a = two_accounts.assembly()
    seen = 0
    for _stack, key, st in _policies(a):
        principal = st.get("Principal")
        names = principal.get("AWS", []) if isinstance(principal, dict) else []
        names = names if isinstance(names, list) else [names]
        assert len(names) == len(set(names)), (key, names)
        seen += f"arn:aws:iam::{SHARED}:root" in names
    assert seen >= 5  # both groups (2 each), the artifacts bucket, the lake key, the pipeline


def test_the_two_account_copy_passes_the_gate_and_the_rehearsal(two_accounts) -> None:  # type: ignore[no-untyped-def]
    assert two_accounts.error == ""
    report = rehearse(two_accounts.assembly(), lint=False, release=two_accounts.release)
    assert report.findings == [], report.render()
