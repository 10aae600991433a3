"""One rehearsal per (profile, serving kind), shared by the session; cfn-lint once per template."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pytest

from assurance.rehearsal import Report, rehearse
from assurance.rehearsal.assembly import Assembly
from assurance.rehearsal.authority import Finding
from assurance.rehearsal.rules import lint
from core.config import ConfigError, load_profile
from tests.conftest import PROFILES, SERVING_KINDS, computed_once, serving_variant


def _valid(profile: str, kind: str) -> bool:
    try:
        serving_variant(load_profile(profile), kind)
    except ConfigError:
        return False
    return True


VARIANTS = [f"{p}/{k}" for p in PROFILES for k in SERVING_KINDS if _valid(p, k)]


@dataclass
class Rehearsal:
    assembly: Assembly
    report: Report
    lint: list[Finding]


class _Rehearsals:
    def __init__(self, synth) -> None:  # type: ignore[no-untyped-def]
        self.synth = synth
        self.cache: dict[str, Rehearsal] = {}
        self.lint_cache: dict[str, list[Finding]] = {}

    def __call__(self, variant: str) -> Rehearsal:
        if variant not in self.cache:
            profile, kind = variant.split("/")
            result = self.synth.variant(profile, kind)
            config = result.platform.config
            assembly = Assembly(
                result.templates,
                config.account,
                config.region,
                lambda_concurrency_quota=config.lambda_concurrency_quota,
            )
            report = rehearse(assembly, lint=False)
            findings: list[Finding] = []
            for name, template in assembly.templates.items():
                text = json.dumps(template, sort_keys=True)
                digest = hashlib.sha256(text.encode()).hexdigest()
                if digest not in self.lint_cache:  # templates shared between kinds: lint once
                    self.lint_cache[digest] = computed_once(  # and once across xdist workers
                        self.synth.base / "lint" / f"{digest}-{config.region}",
                        lambda name=name, text=text: lint(name, text, config.region),
                    )
                findings += self.lint_cache[digest]
            report.linted = len(assembly.templates)
            self.cache[variant] = Rehearsal(assembly, report, findings)
        return self.cache[variant]


@pytest.fixture(scope="session")
def rehearsals(synth) -> _Rehearsals:  # type: ignore[no-untyped-def]
    return _Rehearsals(synth)
