"""``labctl synth``'s rehearsal with an organisation's boundary (issue 26): without its document
every bounded role is unchecked and the synth fails; with it, identity ∩ boundary is evaluated,
and a boundary that blocks a call the copy needs is named. Oracle: the documents and the
blocked call are written here by hand."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from core.config import SecurityConfig, load_profile

ORG = "arn:aws:iam::999999999999:policy/org/SandboxBoundary"
IN_LAB = "arn:aws:iam::111111111111:policy/org/SandboxBoundary"  # the lab account's copy


def _config(document: Path | None) -> Any:
    security = SecurityConfig(
        permissions_boundary=ORG, permissions_boundary_document=str(document or "")
    )
    return dataclasses.replace(load_profile("lab"), security=security)


@pytest.fixture(scope="module")
def org_copy(synth):  # type: ignore[no-untyped-def]
    return synth.config_variant("lab/org-boundary", _config(None))


def _rehearse(org_copy, document: dict[str, Any] | None, tmp_path: Path) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    from labctl.synth import _rehearse

    path = None
    if document is not None:
        path = tmp_path / "org-boundary.json"
        path.write_text(json.dumps(document))
    return _rehearse(_config(path), org_copy.outdir, list(org_copy.templates))


def test_without_its_document_the_boundary_is_a_finding(org_copy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    summary, findings = _rehearse(org_copy, None, tmp_path)
    assert "under a permissions boundary" in summary
    assert IN_LAB in findings
    assert "[boundary]" in findings


def test_an_organisation_boundary_that_allows_the_platform_passes(org_copy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": ["iam:CreateUser", "organizations:*"], "Resource": "*"},
        ],
    }
    summary, findings = _rehearse(org_copy, document, tmp_path)
    assert findings == "", findings
    assert "0 findings" in summary


def test_an_organisation_boundary_that_blocks_a_needed_call_is_named(
    org_copy, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            # a sandbox that forbids creating training jobs: the pipeline's Tune step needs it
            {
                "Effect": "Deny",
                "Action": "sagemaker:CreateHyperParameterTuningJob",
                "Resource": "*",
            },
        ],
    }
    _, findings = _rehearse(org_copy, document, tmp_path)
    assert "missing sagemaker:CreateHyperParameterTuningJob" in findings
    assert f"blocked by permissions boundary {IN_LAB}" in findings
    assert "lab-Training/ExecutionRole" in findings
