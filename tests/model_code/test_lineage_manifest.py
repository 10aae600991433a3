"""The training-data manifest preprocess writes (model_code/lineage.py): per raw object, the IDs
of its events that made the dataset; rejected, unlabelled and redelivered copies are known here
in advance and must land where the comments say."""

from __future__ import annotations

import json
from pathlib import Path

from model_code import lineage, preprocess
from tests.pipelines.lake_fixture import digits_events, write_events

N = 120


def _events() -> list[dict]:
    events = [{**e, "event_id": f"id-{i:03d}"} for i, e in enumerate(digits_events(N))]
    unlabelled = {**events[0], "event_id": "unlabelled", "label": None}
    # id-001 again, later: a redelivery (the first arrival wins in the dataset)
    redelivered = {**events[1], "event_time": "2026-11-30T00:00:00Z"}
    # index 120 goes to object 0, id-001 (index 1) to object 1: two objects hold id-001
    return [*events, redelivered, unlabelled]


def test_the_manifest_lists_each_object_with_the_ids_that_made_the_dataset(tmp_path: Path) -> None:
    events = _events()
    raw = tmp_path / "raw"
    files = write_events(raw, events, files=3, extra_lines=['{"event_id": "broken"'])
    preprocess.preprocess(raw, tmp_path / "out", input_uri="s3://raw-bucket/")
    manifest = json.loads((tmp_path / "out" / "manifest" / "manifest.json").read_text())
    # The oracle: which object each event went to is write_events' round robin (events[p::3]).
    expected = {
        f"s3://raw-bucket/{path.relative_to(raw).as_posix()}": sorted(
            {e["event_id"] for e in events[part::3]} - {"unlabelled"}
        )
        for part, path in enumerate(files)
    }
    assert {o["uri"]: o["event_ids"] for o in manifest["objects"]} == expected
    ids = {i for o in manifest["objects"] for i in o["event_ids"]}
    assert ids == {f"id-{i:03d}" for i in range(N)}
    assert manifest["input"] == "s3://raw-bucket/"
    # the redelivered id-001 is listed under both objects it was read from
    assert manifest["event_count"] == N + 1


def test_without_an_input_uri_the_manifest_names_local_paths(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    files = write_events(raw, _events()[:N], files=2)
    preprocess.preprocess(raw, tmp_path / "out")
    manifest = lineage.parse_manifest(
        (tmp_path / "out" / "manifest" / "manifest.json").read_text(), "manifest"
    )
    assert [o["uri"] for o in manifest["objects"]] == sorted(str(p) for p in files)


def test_find_capture_matches_the_inference_or_event_id_only() -> None:
    lines = [
        "not json id-7",
        json.dumps({"eventMetadata": {"eventId": "e-1", "inferenceId": "id-77"}}),
        json.dumps({"eventMetadata": {"eventId": "id-7"}}),
    ]
    assert lineage.find_capture(lines, "id-7") == {"eventMetadata": {"eventId": "id-7"}}
    assert lineage.find_capture(lines, "id-77")["eventMetadata"]["eventId"] == "e-1"  # type: ignore[index]
    assert lineage.find_capture(lines, "id-") is None
