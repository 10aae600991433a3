"""The compliance gate: zero unacknowledged findings, every acknowledgement precise and live."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from infra.compliance.packs import (
    MIN_REASON_CHARS,
    ComplianceReport,
    acknowledge,
    acknowledgements,
    add_compliance_gate,
)
from infra.config import REQUIRED_TAGS

PROFILES = ("lab", "prod-like")


@pytest.mark.parametrize("profile", PROFILES)
def test_no_unacknowledged_findings(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    report = ComplianceReport.read(synth(profile).outdir)
    assert report.violations == [], report.describe_violations()


@pytest.mark.parametrize("profile", PROFILES)
def test_every_acknowledgement_has_a_reviewable_reason(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    acks = acknowledgements(synth(profile).outdir)
    assert acks, "a hardened design still has structural findings; none recorded is suspicious"
    short = [a for a in acks if len(a.reason.strip()) < MIN_REASON_CHARS]
    assert short == []


@pytest.mark.parametrize("profile", PROFILES)
def test_no_stale_acknowledgements(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    """An acknowledgement that matches no live finding misleads reviewers: remove it."""
    result = synth(profile)
    report = ComplianceReport.read(result.outdir)
    assert report.unmatched(acknowledgements(result.outdir)) == []


@pytest.mark.parametrize("profile", PROFILES)
def test_acknowledgements_name_one_rule_on_one_construct(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    """No stack- or app-wide blanket acknowledgements."""
    result = synth(profile)
    stack_paths = {s.node.path for s in result.platform.stacks}
    for ack in acknowledgements(result.outdir):
        assert ack.path not in stack_paths and ack.path != "", ack
        assert "::" in ack.ack_id and not ack.ack_id.endswith("-"), ack


def _taggable(resource_type: str, region: str) -> bool:
    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except Exception:  # custom resources have no provider schema
        return False
    return "Tags" in schema.get("properties", {})


@pytest.mark.parametrize("profile", PROFILES)
def test_every_taggable_resource_carries_the_cost_tags(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    result = synth(profile)
    config = result.platform.config
    checked = 0
    for name, template in result.templates.items():
        for logical_id, resource in template["Resources"].items():
            if not _taggable(resource["Type"], config.region):
                continue
            checked += 1
            tags = resource.get("Properties", {}).get("Tags")
            # Some schemas model Tags as a map, most as a list of {Key, Value}.
            pairs = tags if isinstance(tags, dict) else {t["Key"]: t["Value"] for t in tags or []}
            for key in REQUIRED_TAGS:
                assert pairs.get(key) == config.tags[key], f"{name}/{logical_id} lacks tag {key}"
    assert checked >= 5  # the check ran over real resources


def test_short_reason_is_refused() -> None:
    app = cdk.App()
    bucket = s3.Bucket(cdk.Stack(app, "S"), "B")
    with pytest.raises(ValueError, match="at least 40 characters"):
        acknowledge(bucket, "AwsSolutions-S1", "because")


def test_gate_reports_findings_and_detects_stale_acknowledgements(tmp_path: Path) -> None:
    """The detectors themselves work: a bare bucket fails, a bogus acknowledgement is stale."""
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Probe", env=cdk.Environment(account="111111111111", region="us-east-1"))
    bucket = s3.Bucket(stack, "Bare")
    acknowledge(bucket, "AwsSolutions-S1", "probe: acknowledged to check the report records it")
    acknowledge(bucket, "AwsSolutions-KDF1", "probe: a Firehose rule on a bucket matches nothing")
    add_compliance_gate(app)
    with pytest.raises(RuntimeError, match="Validation ?[Ff]ailed"):
        app.synth()
    report = ComplianceReport.read(tmp_path)
    rules = {v["ruleName"] for v in report.violations}
    assert "AwsSolutions-S10" in rules  # TLS not enforced
    assert "AwsSolutions-S1" not in rules  # acknowledged
    stale = report.unmatched(acknowledgements(tmp_path))
    assert [a.ack_id for a in stale] == ["AwsSolutions::AwsSolutions-KDF1"]
    assert json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
