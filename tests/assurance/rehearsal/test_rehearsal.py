"""The rehearsal over every profile and serving kind: nothing a real deployment would trip on.

Prints its report (roles, requirements per source, findings, known gaps) with ``-s``/on failure.
"""

from __future__ import annotations

import dataclasses
from fnmatch import fnmatchcase

import pytest

from assurance.rehearsal.authority import role_policies
from assurance.rehearsal.known_gaps import KNOWN_GAPS, UNCHECKED_ROLES
from core.config import ConfigError, load_profile
from tests.assurance.rehearsal.conftest import VARIANTS
from tests.conftest import serving_variant


def test_every_serving_kind_is_rehearsed_on_both_profiles_where_valid() -> None:
    assert VARIANTS == [
        "lab/real_time",
        "lab/serverless",
        "lab/multi_model",
        "lab/multi_container",
        "lab/async",
        "prod-like/real_time",
        "prod-like/multi_model",
        "prod-like/multi_container",
        "prod-like/async",
    ]
    # The one left out is left out because the configuration rejects it, not by choice here.
    with pytest.raises(ConfigError, match="serverless"):
        serving_variant(load_profile("prod-like"), "serverless")


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_source_contributes_requirements(rehearsals, variant: str) -> None:  # type: ignore[no-untyped-def]
    report = rehearsals(variant).report
    sources = report.by_source()
    # two deploy actions (staging, production): at least 3 calls each + passing the role
    assert sources["deploy-actions"] >= 8
    assert sources["cdk-bootstrap-parameter"] == 1  # the one parameter path, both stacks
    assert sources["provider-schemas"] > 100
    assert sources["service-role-table"] > 20
    print(report.summary())


@pytest.mark.parametrize("variant", VARIANTS)
def test_rehearsal_finds_nothing_unreviewed(rehearsals, variant: str) -> None:  # type: ignore[no-untyped-def]
    rehearsal = rehearsals(variant)
    findings = [*rehearsal.report.findings, *rehearsal.lint]
    report = dataclasses.replace(rehearsal.report, findings=findings, known=[])
    report.apply(KNOWN_GAPS)
    print(report.render())
    if report.findings:
        pytest.fail(report.render(), pytrace=False)


def test_every_known_gap_still_matches_a_finding(rehearsals) -> None:  # type: ignore[no-untyped-def]
    unused = set(KNOWN_GAPS)
    for variant in VARIANTS:
        rehearsal = rehearsals(variant)
        findings = [*rehearsal.report.findings, *rehearsal.lint]
        unused -= {g for g in KNOWN_GAPS for f in findings if g.matches(f)}
    assert not unused, f"fixed, remove from assurance/rehearsal/known_gaps.py: {unused}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_role_has_a_requirement(rehearsals, variant: str) -> None:  # type: ignore[no-untyped-def]
    """A new role (a monitoring job, a reaper, a batch transform) needs its row."""
    rehearsal = rehearsals(variant)
    checked = {r.role for r in rehearsal.report.requirements}
    unchecked = sorted(
        role
        for role in role_policies(rehearsal.assembly)
        if role not in checked and not any(fnmatchcase(role, g) for g, _ in UNCHECKED_ROLES)
    )
    assert not unchecked, (
        f"roles no rehearsal row covers: {unchecked}; add a ServiceRequirement row in "
        "assurance/rehearsal/service_roles.py (docs/compliance-and-rehearsal.md) or a reviewed "
        "UNCHECKED_ROLES line"
    )
