"""The rehearsal: would the synthesized templates deploy and run in a real account?

Three sources, each a module: ``deployers`` (CloudFormation provider-schema handler permissions
for the roles that deploy the serving stacks), ``service_roles`` (a documented table of what
the roles AWS services assume need), ``rules`` (SageMaker run-time rules and cfn-lint),
``deliveries`` (resource and key policies that let services deliver to the copy's resources).
``authority`` evaluates the IAM requirements with a real policy evaluator, within each role's
permissions boundary (and names grants a boundary leaves dead).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from assurance.rehearsal import (
    authority,
    cross_account,
    deliveries,
    deployers,
    rules,
    service_roles,
)
from assurance.rehearsal.assembly import Assembly
from assurance.rehearsal.authority import Finding, Requirement


@dataclass(frozen=True)
class KnownGap:
    """A reviewed finding the rehearsal reports but does not fail on, with the reason."""

    check: str
    subject: str  # glob on Finding.subject
    detail: str  # glob on Finding.detail
    reason: str

    def matches(self, f: Finding) -> bool:
        return (
            self.check == f.check
            and fnmatchcase(f.subject, self.subject)
            and fnmatchcase(f.detail, self.detail)
        )


@dataclass
class Report:
    findings: list[Finding]
    requirements: list[Requirement]
    exclusions: list[str]
    roles: int
    linted: int = 0
    known: list[tuple[Finding, KnownGap]] = field(default_factory=list)
    bounded: int = 0  # roles under a permissions boundary (evaluated as identity ∩ boundary)

    def by_source(self) -> Counter[str]:
        kinds: Counter[str] = Counter()
        for r in self.requirements:
            kinds[_family(r.source)] += 1
        return kinds

    def apply(self, gaps: tuple[KnownGap, ...]) -> list[KnownGap]:
        """Move findings matched by a known gap aside; return the gaps that matched nothing."""
        used: set[KnownGap] = set()
        kept = []
        for f in self.findings:
            gap = next((g for g in gaps if g.matches(f)), None)
            if gap is None:
                kept.append(f)
            else:
                used.add(gap)
                self.known.append((f, gap))
        self.findings = kept
        return [g for g in gaps if g not in used]

    def summary(self) -> str:
        roles = {r.role for r in self.requirements}
        sources = ", ".join(f"{k} {v}" for k, v in sorted(self.by_source().items()))
        return (
            f"rehearsal: {len(roles)} of {self.roles} roles checked"
            + (f" ({self.bounded} under a permissions boundary), " if self.bounded else ", ")
            + f"{len(self.requirements)} (role, action, resource) "
            f"requirements ({sources}); {len(rules.RULES)} service rules; cfn-lint on "
            f"{self.linted} templates; {len(self.exclusions)} schema permissions excluded; "
            f"{len(self.findings)} findings, {len(self.known)} known gaps"
        )

    def render(self) -> str:
        lines = [self.summary()]
        grouped: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
        for f in self.findings:
            grouped[(f.check, f.subject, f.source, f.doc)].append(f.detail)
        for (check, subject, source, doc), details in grouped.items():
            lines.append(f"[{check}] {subject}  ({source}; {doc})")
            lines += [f"    {d}" for d in details]
        if self.known:
            lines.append("known gaps (reviewed, not failing):")
            for f, gap in self.known:
                lines.append(
                    f"    [{f.check}] {f.subject}: {f.detail}\n        reason: {gap.reason}"
                )
        return "\n".join(lines)


def _family(source: str) -> str:
    if source.startswith("cfn-lint provider schema"):
        return "provider-schemas"
    if source.startswith("service-role row"):
        return "service-role-table"
    if source.startswith("deploy action"):
        return "deploy-actions"
    return "cdk-bootstrap-parameter"


def requirements(assembly: Assembly) -> tuple[list[Requirement], list[str]]:
    deploy, excluded = deployers.requirements(assembly)
    return deploy + service_roles.requirements(assembly), excluded


def rehearse(
    assembly: Assembly,
    *,
    lint: bool = True,
    lint_only: set[str] | None = None,
    release: dict[str, Any] | None = None,
) -> Report:
    """Every check on one synthesized copy. ``lint_only``: stack names cfn-lint reads.
    ``release``: the release file the copy was synthesized with (the cross-account flows)."""
    import json

    cross_account.bind_release(assembly, release)  # before any ARN is named
    reqs, excluded = requirements(assembly)
    findings = authority.check(assembly, reqs) + rules.check(assembly)
    roles = authority.role_policies(assembly)
    findings += authority.dead_grants(roles)
    findings += deliveries.check(assembly)
    findings += cross_account.check(assembly, release)
    linted = 0
    if lint:
        for name, template in assembly.templates.items():
            if lint_only is not None and name not in lint_only:
                continue
            findings += rules.lint(name, json.dumps(template), assembly.region)
            linted += 1
    bounded = sum(1 for entry in roles.values() if entry.boundary is not None)
    return Report(findings, reqs, excluded, len(roles), linted, bounded=bounded)
