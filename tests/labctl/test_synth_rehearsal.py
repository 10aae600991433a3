"""labctl synth runs the cheap part of the rehearsal on what it synthesized and fails on it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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
