"""Synth-time validation plugin: no template reads an export or stack output of another account.

CloudFormation resolves ``Fn::ImportValue`` and ``Fn::GetStackOutput`` only within one account
and region; the scan is ``core.accounts.cross_account_references``. Attached by
``infra/platform.py`` to a multi-account app (issue 17).
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import jsii

from core import accounts


@jsii.implements(cdk.IPolicyValidationPlugin)
class NoReferencesAcrossAccounts:
    """Synth-time check: no template reads an export or stack output of another account
    (``accounts.cross_account_references``); the serving stacks get tooling's values through
    the release file."""

    def __init__(self, stack_accounts: dict[str, str]) -> None:
        self._accounts = stack_accounts

    @property
    def name(self) -> str:
        return "NoReferencesAcrossAccounts"

    @property
    def version(self) -> str:
        return "1.0.0"

    @property
    def rule_ids(self) -> list[str]:
        return ["no-cross-account-reference"]

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        templates = {}
        by_name = {}
        for path in context.template_paths:
            name = Path(path).name.removesuffix(".template.json")
            if name in self._accounts:
                templates[name] = json.loads(Path(path).read_text())
                by_name[name] = path
        problems = accounts.cross_account_references(templates, self._accounts)
        violations = [
            cdk.PolicyViolation(
                rule_name="no-cross-account-reference",
                description=problem,
                fix="pass the value through the release file (core/accounts.py)",
                violating_resources=[
                    cdk.PolicyViolatingResource(
                        resource_logical_id=problem.split(" ", 1)[0].rstrip(":"),
                        template_path=by_name.get(problem.split(" ", 1)[0].rstrip(":"), ""),
                        locations=["Resources"],
                    )
                ],
            )
            for problem in problems
        ]
        return cdk.PolicyValidationPluginReport(success=not problems, violations=violations)


def accounts_by_stack(stacks: list[cdk.Stack]) -> dict[str, str]:
    """Stack name -> account of each stack, what ``NoReferencesAcrossAccounts`` takes."""
    return {s.stack_name: str(s.account) for s in stacks}
