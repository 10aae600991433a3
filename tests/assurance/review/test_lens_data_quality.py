"""Lens row MLSEC04-BP03 (data poisoning) is judged from the data-quality gate (issue 26):
the Preprocess step that checks every declared constraint and quarantines, the training steps
that read only its outputs, and the deployed Glue Data Quality ruleset. A copy without the
ruleset, or whose Preprocess lost its quarantine output, fails the row naming what is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assurance.review import lens
from assurance.review.assembly import Assembly
from tests.assurance.review.test_review import _copy, _edit

ROW = "MLSEC04-BP03"


def _row(outdir: Path) -> lens.Row:
    (row,) = [r for r in lens.evaluate(Assembly.read(outdir)) if r.id == ROW]
    return row


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_the_gate_and_the_ruleset_pass_the_poisoning_row(synth, profile) -> None:  # type: ignore[no-untyped-def]
    row = _row(synth(profile).outdir)
    assert row.status == lens.PASS, [e.render() for e in row.evidence]
    steps = {(e.step, e.step_type) for e in row.evidence if e.step}
    assert steps == {
        ("Preprocess", "Processing"),
        ("Tune", "Tuning"),
        ("TrainBaseline", "Training"),
    }
    assert {e.prop for e in row.evidence if not e.step} == {"Ruleset", "TargetTable.TableName"}


def _training_stack(outdir: Path) -> str:
    return next(
        p.name.removesuffix(".template.json") for p in outdir.glob("*-Training.template.json")
    )


def test_without_the_ruleset_the_row_fails(synth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copy = _copy(synth("lab").outdir, tmp_path)

    def drop(resources: dict[str, Any]) -> None:
        for lid in [
            k for k, v in resources.items() if v["Type"] == "AWS::Glue::DataQualityRuleset"
        ]:
            del resources[lid]

    _edit(copy, _training_stack(copy), drop)
    row = _row(copy)
    assert row.status == lens.FAIL
    assert [e.note for e in row.evidence if not e.holds] == ["no ruleset deployed"]


def test_a_gate_without_quarantine_fails_the_row(synth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copy = _copy(synth("lab").outdir, tmp_path)

    def no_quarantine(resources: dict[str, Any]) -> None:
        for body in resources.values():
            if body["Type"] != "AWS::SageMaker::Pipeline":
                continue
            holder = body["Properties"]["PipelineDefinition"]
            text = holder["PipelineDefinitionBody"]
            joined = isinstance(text, dict)
            parts = text["Fn::Join"][1] if joined else [text]
            for i, part in enumerate(parts):
                if isinstance(part, str) and '"OutputName": "quarantine"' in part:
                    parts[i] = part.replace('"OutputName": "quarantine"', '"OutputName": "kept"')

    _edit(copy, _training_stack(copy), no_quarantine)
    row = _row(copy)
    assert row.status == lens.FAIL
    (bad,) = [e for e in row.evidence if not e.holds]
    assert bad.step == "Preprocess" and "no quarantine output" in bad.note
