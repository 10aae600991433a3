"""Issue 26: lens row MLSEC06-BP02 (old MLSEC-13) passes on the trail's own evidence in
prod-like, asks its question in lab (no trail), and fails when a hand edit removes a lake
bucket from the data-event selectors or turns log file validation off."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from assurance.review import lens
from assurance.review.assembly import Assembly
from tests.assurance.review.test_review import _copy

ROW = "MLSEC06-BP02"
LAKE_ZONES = ("LakeRawBucket", "LakeCuratedBucket", "LakeArtifactsBucket")


def _row(rows: list[lens.Row]) -> lens.Row:
    (row,) = [r for r in rows if r.id == ROW]
    assert row.old_id == "MLSEC-13"
    return row


def _edit_trail(folder: Path, edit) -> None:  # type: ignore[no-untyped-def]
    path = folder / "prodlike-DataLake.template.json"
    template = json.loads(path.read_text())
    (trail,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudTrail::Trail"]
    edit(trail["Properties"])
    path.write_text(json.dumps(template))


def test_prod_like_passes_with_the_trail_and_each_lake_bucket_as_evidence(synth) -> None:  # type: ignore[no-untyped-def]
    result = synth("prod-like")
    row = _row(lens.evaluate(Assembly.read(result.outdir)))
    assert row.status == lens.PASS, [e.render() for e in row.evidence]
    template = result.template("DataLake")
    zones = {
        k
        for k, r in template["Resources"].items()
        for z in LAKE_ZONES
        if k.startswith(z) and r["Type"] == "AWS::S3::Bucket"
    }
    assert len(zones) == 3
    named = {e.note.rsplit("/", 1)[-1] for e in row.evidence if e.note.startswith("S3 data")}
    assert named == zones  # exactly the lake buckets: not the trail's nor the access-log bucket
    props = {e.prop for e in row.evidence}
    assert {"EnableLogFileValidation", "KMSKeyId"} <= props


def test_lab_asks_its_question_without_a_trail(synth) -> None:  # type: ignore[no-untyped-def]
    row = _row(lens.evaluate(Assembly.read(synth("lab").outdir)))
    assert row.status == lens.MANUAL
    assert row.evidence == []
    assert "audit.trail" in row.question and "S3 data events" in row.question


def test_a_lake_bucket_dropped_from_the_selectors_fails_the_row(synth, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = _copy(synth("prod-like").outdir, tmp_path)

    def drop_curated(props: dict[str, Any]) -> None:
        for selector in props["EventSelectors"]:
            for data in selector.get("DataResources", []):
                data["Values"] = [
                    v for v in data["Values"] if "Curated" not in json.dumps(copy.deepcopy(v))
                ]

    _edit_trail(folder, drop_curated)
    row = _row(lens.evaluate(Assembly.read(folder)))
    assert row.status == lens.FAIL
    (failed,) = [e for e in row.evidence if not e.holds]
    assert "LakeCuratedBucket" in failed.note


def test_validation_off_fails_the_row(synth, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = _copy(synth("prod-like").outdir, tmp_path)
    _edit_trail(folder, lambda p: p.update(EnableLogFileValidation=False))
    row = _row(lens.evaluate(Assembly.read(folder)))
    assert row.status == lens.FAIL
    assert [e.prop for e in row.evidence if not e.holds] == ["EnableLogFileValidation"]
