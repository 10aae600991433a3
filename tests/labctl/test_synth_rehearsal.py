"""labctl synth runs the cheap part of the rehearsal on what it synthesized and fails on it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from labctl.synth import _rehearse


def test_synth_reports_the_rehearsal_and_its_findings(synth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = synth("lab")
    config = result.platform.config
    names = list(result.templates)
    summary, findings = _rehearse(config, result.outdir, names)
    assert summary.startswith("rehearsal: ") and "cfn-lint in make test" in summary
    assert findings == ""

    # plant: the hosting role loses every permission it has
    for name in names:
        shutil.copy(result.outdir / f"{name}.template.json", tmp_path)
    serving = tmp_path / f"{config.stack_name('Serving')}.template.json"
    template = json.loads(serving.read_text())
    for body in template["Resources"].values():
        if body["Type"] == "AWS::IAM::Policy":
            body["Properties"]["Roles"] = []
    serving.write_text(json.dumps(template))
    _, findings = _rehearse(config, tmp_path, names)
    assert "missing cloudwatch:DescribeAlarms" in findings or "missing s3:PutObject" in findings
    assert f"{config.stack_name('Serving')}/EndpointRole" in findings


@pytest.mark.parametrize(("flag", "expected"), [(False, False), (True, True)])
def test_labctl_synth_skips_cdks_cloudformation_validation_unless_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, flag: bool, expected: bool
) -> None:
    """The inner loop's synth turns CDK's built-in plugin off; --cfn-validate turns it on."""
    from labctl import synth as command

    seen: dict[str, object] = {}

    def fake_new_app(*args: object, **kwargs: object) -> None:
        seen.update(kwargs)
        raise RuntimeError("stop before synthesizing")

    monkeypatch.setattr(command, "new_app", fake_new_app)
    with pytest.raises(RuntimeError, match="stop before"):
        command.synthesize("lab", tmp_path, release="none", cfn_validate=flag)
    assert seen["cfn_validation"] is expected


def test_cfn_validate_refuses_an_environment_that_disables_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """CDK_VALIDATION=false overrides the App's setting, so asking for both is an error."""
    from labctl.cli import main

    monkeypatch.setenv("CDK_VALIDATION", "false")
    assert main(["synth", "--profile", "lab", "--outdir", str(tmp_path), "--cfn-validate"]) == 2
