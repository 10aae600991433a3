"""Every resource of every template gets an ARN in the Service Authorization Reference's
format for its type (issue 22 C4), and the Model Monitor engine passes the rehearsal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assurance.rehearsal import arns
from assurance.rehearsal.assembly import Assembly
from tests.assurance.rehearsal.conftest import VARIANTS
from tests.assurance.rehearsal.sar import NO_ARN, mismatches


def _assembly(synth, variant: str) -> Assembly:  # type: ignore[no-untyped-def]
    result = synth.variant(*variant.split("/"))
    config = result.platform.config
    return Assembly(result.templates, config.account, config.region)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_resource_arn_has_its_sar_format(synth, variant: str) -> None:  # type: ignore[no-untyped-def]
    """An ARN of the wrong shape never matches the policies that name the real one: the
    rehearsal would then check permissions on resources that do not exist."""
    bad, without = mismatches(_assembly(synth, variant))
    assert bad == []
    assert {t for t in without if not t.startswith("Custom::")} <= NO_ARN


# -- monitoring.engine = model_monitor, through `labctl synth --release example` --------------


@pytest.fixture(scope="module")
def model_monitor_synths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, Path]]:
    """lab and prod-like with engine=model_monitor (profile JSON variants in a temp config
    folder), each synthesized once by the CLI: exit code and cloud assembly folder."""
    import core.config.load
    from labctl.cli import main

    base = tmp_path_factory.mktemp("mm-cli")
    configs = base / "config"
    configs.mkdir()
    for src in core.config.load.CONFIG_DIR.glob("*.json"):
        data = json.loads(src.read_text())
        data["monitoring"]["engine"] = "model_monitor"
        (configs / src.name).write_text(json.dumps(data))
    results = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(core.config.load, "CONFIG_DIR", configs)
        for profile in ("lab", "prod-like"):
            out = base / profile
            argv = ["synth", "--profile", profile, "--release", "example", "--outdir", str(out)]
            results[profile] = (main(argv), out)
    return results


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_model_monitor_synthesizes_with_the_example_release(
    model_monitor_synths: dict[str, tuple[int, Path]], profile: str
) -> None:
    """The example release carries a monitor baseline, and the rehearsal names the schedules
    and job definitions as SageMaker does (``monitoring-schedule/<MonitoringScheduleName>``)."""
    code, out = model_monitor_synths[profile]
    assert code == 0
    templates = {p.name: json.loads(p.read_text()) for p in out.glob("*.template.json")}
    types = {r["Type"] for t in templates.values() for r in t.get("Resources", {}).values()}
    assert "AWS::SageMaker::MonitoringSchedule" in types


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_model_monitor_arns_have_their_sar_format(
    model_monitor_synths: dict[str, tuple[int, Path]], profile: str
) -> None:
    from core.config import load_profile

    config = load_profile(profile)
    bad, _ = mismatches(
        Assembly.from_dir(model_monitor_synths[profile][1], config.account, config.region)
    )
    assert bad == []


def test_the_old_unhyphenated_sagemaker_format_fails(
    model_monitor_synths: dict[str, tuple[int, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planted defect: the hand-written pattern the rehearsal had (``<type in lower case>/``,
    e.g. ``dataqualityjobdefinition/``) is named for the job definitions and schedules."""
    real = arns.arn_of

    def old(a: Assembly, stack: str, logical_id: str) -> str | None:
        res = a.resource(stack, logical_id)
        if res.type.startswith("AWS::SageMaker::") and "JobDefinition" in res.type:
            name = a.name_of(stack, logical_id).lower()
            return a.arn("sagemaker", f"{res.type.split('::')[2].lower()}/{name}")
        return real(a, stack, logical_id)

    monkeypatch.setattr(arns, "arn_of", old)
    bad, _ = mismatches(
        Assembly.from_dir(model_monitor_synths["lab"][1], "111111111111", "us-east-1")
    )
    assert any("dataqualityjobdefinition/" in line for line in bad), bad


def test_a_type_that_does_not_derive_asks_for_a_row() -> None:
    """No silent guess: a type whose name matches no SAR resource type is refused."""
    with pytest.raises(KeyError, match="add a row"):
        arns.sar_type("AWS::SageMaker::NoSuchThing")
    assert arns.sar_type("AWS::SageMaker::MonitoringSchedule") == (
        "sagemaker",
        "monitoring-schedule",
    )
