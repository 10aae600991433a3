"""`labctl synth --profile multi-account --release example` (the offline walkthrough of
docs/multi-account.md) passes the cross-account rehearsal: the release's artifacts key is the
lake key, whose policy the tooling template holds (issue 22 N2); and every ARN has its SAR
format there too (C4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assurance.rehearsal import cross_account
from assurance.rehearsal.assembly import Assembly
from tests.assurance.rehearsal.sar import NO_ARN, mismatches

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "release.json"


@pytest.fixture(scope="module")
def example_synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    from labctl.cli import main

    out = tmp_path_factory.mktemp("multi-example")
    argv = ["synth", "--profile", "multi-account", "--release", "example", "--outdir", str(out)]
    return main(argv), out


def _assembly(out: Path) -> Assembly:
    from core.accounts import stack_accounts
    from core.config import load_profile

    config = load_profile("multi-account")
    templates = {
        p.name.removesuffix(".template.json"): json.loads(p.read_text())
        for p in out.glob("*.template.json")
    }
    return Assembly(templates, config.account, config.region, stack_accounts=stack_accounts(config))


def test_the_offline_multi_account_walkthrough_synthesizes(example_synth) -> None:  # type: ignore[no-untyped-def]
    assert example_synth[0] == 0


def test_every_resource_arn_has_its_sar_format_across_accounts(example_synth) -> None:  # type: ignore[no-untyped-def]
    a = _assembly(example_synth[1])
    bad, without = mismatches(a)
    assert bad == []
    assert {t for t in without if not t.startswith("Custom::")} <= NO_ARN
    # the target stacks' ARNs carry their own accounts
    serving = a.resources(stack="multi-ServingStaging", type_="AWS::SageMaker::Endpoint")[0]
    assert ":333333333333:endpoint/" in a.get_att(serving.stack, serving.logical_id, "Arn")


def test_a_lake_key_without_the_staging_grant_is_named(example_synth) -> None:  # type: ignore[no-untyped-def]
    """Planted defect: the staging account's principal removed from the lake key policy. The
    example's key ARN is bound to the lake key, so the staging endpoint role's decrypt is
    checked against that policy, and now fails."""
    release = json.loads(EXAMPLE.read_text())
    a = _assembly(example_synth[1])
    cross_account.bind_release(a, release)
    assert cross_account.check(a, None) == []  # the walkthrough as synthesized
    key = a.templates["multi-DataLake"]["Resources"]["LakeKey7B6C155C"]["Properties"]
    for st in key["KeyPolicy"]["Statement"]:
        names = st["Principal"]["AWS"]
        if isinstance(names, list):
            st["Principal"]["AWS"] = [n for n in names if ":333333333333:" not in n]
    findings = [f.render() for f in cross_account.check(a, None)]
    expected = f"resource policy of {release['artifacts']['key_arn']} does not allow kms:Decrypt"
    assert any("multi-ServingStaging/EndpointRole" in f and expected in f for f in findings)
    assert not any("multi-Serving/EndpointRole" in f for f in findings)  # production's kept


def test_without_the_binding_the_example_key_has_no_policy(example_synth) -> None:  # type: ignore[no-untyped-def]
    """A key the templates do not hold stays a finding: the rehearsal does not assume a
    policy it cannot see (what `labctl synth` reported before the binding)."""
    a = _assembly(example_synth[1])
    findings = [f.render() for f in cross_account.check(a, None)]
    assert any("does not allow kms:Decrypt (no policy)" in f for f in findings)
