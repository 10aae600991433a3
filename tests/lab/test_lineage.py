"""labctl lineage --local: a tiny lake with known event IDs -> a local run -> a captured
prediction -> the chain back to exactly those IDs and objects (known before the run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lab.pipeline import run_local_pipeline
from lab.serve import ServePlan, build_endpoint
from labctl.cli import main
from pipelines.data_quality_gate import GateLimits
from pipelines.training_pipeline import PipelineSettings
from tests.pipelines.lake_fixture import digits_events, write_events

N_EVENTS = 150  # enough rows per class to stratify three ways
FAST = {"MaxTuningJobs": "2", "MaxParallelTuningJobs": "2", "AccuracyThreshold": "0.0"}
INFERENCE_ID = "lineage-test-0001"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("lineage")
    raw = workdir / "lake" / "raw"
    # IDs of our own choosing: the oracle is this list, not the product's naming
    events = [{**e, "event_id": f"known-{i:03d}"} for i, e in enumerate(digits_events(N_EVENTS))]
    # a malformed line is read and rejected: it carries no event id into the manifest
    files = write_events(raw, events, files=3, extra_lines=["{not json"])
    # a tiny lake: the data-quality gate's row and class minimums scaled down to it, and no
    # bias bound (150 rows: DPL per class is noise; the gates have their own tests)
    result = run_local_pipeline(
        workdir,
        {**FAST, "ModelApprovalStatus": "Approved"},
        log=lambda _: None,
        settings=PipelineSettings(
            data_quality=GateLimits(min_rows=N_EVENTS // 2, min_class_count=5),
            max_abs_ci=1.0,
            max_abs_dpl=1.0,
        ),
    )
    assert result.status == "Succeeded", result
    endpoint = build_endpoint(workdir, ServePlan("real_time", True, 100, "lab-digits"))
    with endpoint:
        code = main(
            ["invoke", "--endpoint", "lab-digits", "--local-url", endpoint.url, "--digits", "1"]
            + ["--inference-id", INFERENCE_ID]
        )
    assert code == 0
    return {
        "workdir": workdir,
        "ids": {f"known-{i:03d}" for i in range(N_EVENTS)},
        "objects": {f"s3://__RAW_BUCKET__/{p.relative_to(raw).as_posix()}" for p in files},
        "execution": result.execution_id,
    }


def _lineage(workdir: Path, *args: str, capsys: Any) -> tuple[int, Any, str]:
    code = main(["lineage", "--local", "--workdir", str(workdir), "--json", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip().startswith("{") else out, err


def test_the_chain_ends_at_exactly_the_events_the_model_was_trained_on(lab, capsys) -> None:  # type: ignore[no-untyped-def]
    code, chain, err = _lineage(lab["workdir"], "--id", INFERENCE_ID, capsys=capsys)
    assert code == 0, err
    hops = {h["name"]: h for h in chain["hops"]}
    assert [h["name"] for h in chain["hops"]] == [
        "prediction",
        "model version",
        "pipeline execution",
        "training manifest",
        "raw events",
    ]
    assert hops["prediction"]["details"]["eventMetadata"]["inferenceId"] == INFERENCE_ID
    assert hops["model version"]["details"]["version"] == 1
    assert lab["execution"] in hops["pipeline execution"]["where"]
    assert lab["execution"] in hops["training manifest"]["where"]
    assert set(hops["raw events"]["details"]["event_ids"]) == lab["ids"]
    assert set(hops["raw events"]["details"]["objects"]) == lab["objects"]
    assert chain["complete"] is True


def test_the_readable_chain_is_one_line_per_hop(lab, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["lineage", "--local", "--workdir", str(lab["workdir"]), "--id", INFERENCE_ID]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 and lines[0].startswith("lineage of ")
    assert "150 event ID(s) in 3 raw object(s)" in lines[-1]


def test_an_unknown_prediction_exits_1_with_one_line(lab, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = _lineage(lab["workdir"], "--id", "no-such-id", capsys=capsys)
    assert code == 1
    assert (
        err.strip().splitlines() == [err.strip()]
        and "lineage stops at the prediction: no capture record" in err
    )


def test_a_deleted_manifest_stops_the_chain_there(lab, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import shutil

    copy = tmp_path / "w"
    shutil.copytree(lab["workdir"], copy, symlinks=True)
    for manifest in copy.rglob("manifest.json"):
        manifest.unlink()
    code, chain, err = _lineage(copy, "--id", INFERENCE_ID, capsys=capsys)
    assert code == 1 and "lineage stops at the training manifest: the file is gone" in err
    assert [h["found"] for h in chain["hops"]] == [True, True, True, False]


def test_an_expired_raw_object_is_named(lab, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import shutil

    copy = tmp_path / "w"
    shutil.copytree(lab["workdir"], copy, symlinks=True)
    gone = sorted((copy / "lake" / "raw").rglob("*.gz"))[0]
    gone.unlink()
    code, chain, err = _lineage(copy, "--id", INFERENCE_ID, capsys=capsys)
    assert code == 1 and "1 of 3 raw object(s)" in err
    assert chain["hops"][-1]["details"]["missing_objects"] == [
        f"s3://__RAW_BUCKET__/{gone.relative_to(copy / 'lake' / 'raw').as_posix()}"
    ]


def test_a_prediction_before_any_recorded_start_has_no_model(lab, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = _lineage(lab["workdir"], "--at", "2001-01-01T00:00:00Z", capsys=capsys)
    assert code == 1 and "lineage stops at the model version: no start of local endpoint" in err


def test_no_prediction_named_is_a_usage_error(lab, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["lineage", "--local", "--workdir", str(lab["workdir"])]) == 2
    assert "--id ID" in capsys.readouterr().err
    assert main(["lineage", "--local", "--at", "yesterday"]) == 2
    assert "not an ISO 8601 time" in capsys.readouterr().err


def test_invoke_refuses_an_inference_id_sagemaker_would(capsys) -> None:  # type: ignore[no-untyped-def]
    """InvokeEndpoint's InferenceId is 1-64 printable characters: refused before any call."""
    args = ["invoke", "--endpoint", "e", "--local-url", "http://127.0.0.1:9", "--digits", "1"]
    assert main([*args, "--inference-id", "x" * 65]) == 2
    assert "--inference-id must be 1-64 printable characters" in capsys.readouterr().err
