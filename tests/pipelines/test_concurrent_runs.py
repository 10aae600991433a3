"""Two local pipeline runs at once on one work folder: neither tramples the other.

Two `labctl pipeline run --local` processes start together on the same work folder (same
lake, same registry). Oracle independent of the executor: each registered XGBoost artifact
is loaded and scored on the test set of the run that registered it; the accuracy must equal
the metrics registered with it, and the artifact must live in that run's own folder.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from pipelines.local.executor import extract_model
from pipelines.training_pipeline import PipelineSettings, render_definition
from tests.pipelines.lake_fixture import write_digits_lake

REPO = Path(__file__).resolve().parents[2]


def _passing_definition(path: Path) -> Path:
    # The gate reduced to the threshold (as in test_local_executor), so both runs register.
    definition = json.loads(render_definition(PipelineSettings()))
    passing = copy.deepcopy(definition)
    gate = next(s for s in passing["Steps"] if s["Name"] == "QualityGate")
    gate["Arguments"]["Conditions"] = gate["Arguments"]["Conditions"][:1]
    path.write_text(json.dumps(passing))
    return path


def test_two_runs_at_once_keep_their_own_outputs_and_versions(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    write_digits_lake(workdir / "lake" / "raw")
    definition = _passing_definition(tmp_path / "definition.json")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    commands = [
        [sys.executable, "-m", "labctl", "pipeline", "run", "--local"]
        + ["--workdir", str(workdir), "--definition", str(definition)]
        + ["--param", "AccuracyThreshold=0.5", "--param", "MaxParallelTuningJobs=1"]
        + ["--param", f"MaxTuningJobs={jobs}"]
        for jobs in (1, 2)  # different searches, so different models
    ]
    processes = [
        subprocess.Popen(c, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for c in commands
    ]
    outputs = [p.communicate(timeout=600)[0].decode() for p in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert "Traceback" not in output

    registry = json.loads((workdir / "registry" / "registry.json").read_text())["groups"]
    for group in ("digits-xgboost", "digits-baseline"):
        versions = registry[group]["versions"]
        assert sorted(v["version"] for v in versions) == [1, 2], group  # no lost update
        assert len({v["pipeline_execution"] for v in versions}) == 2
        assert len({v["artifact"] for v in versions}) == 2  # each its own archive

    for version in registry["digits-xgboost"]["versions"]:
        run_dir = workdir / "pipeline" / "executions" / version["pipeline_execution"]
        artifact = workdir / version["artifact"]
        assert artifact.resolve().is_relative_to(run_dir.resolve())
        booster = xgb.Booster()
        model = extract_model(artifact, tmp_path / version["pipeline_execution"])
        booster.load_model(bytearray((model / "xgboost-model").read_bytes()))
        test = pd.read_csv(run_dir / "Preprocess" / "test" / "test.csv", header=None).to_numpy()
        accuracy = float(np.mean(booster.predict(xgb.DMatrix(test[:, 1:])) == test[:, 0]))
        registered = version["metrics"]["multiclass_classification_metrics"]["accuracy"]["value"]
        assert registered == accuracy
        report = json.loads((run_dir / "report" / "evaluation.json").read_text())
        assert report["xgboost"] == version["metrics"]
        run = json.loads((run_dir / "report" / "run.json").read_text())
        assert run["execution_id"] == version["pipeline_execution"]
        assert run["status"] == "Succeeded"

    # Each execution evaluates into its own folder (Evaluate/<execution id>/evaluation), so
    # in one shared bucket a later run never overwrites the metrics an earlier version names.
    settings = PipelineSettings()
    for group, metrics in (("digits-xgboost", "xgboost"), ("digits-baseline", "baseline")):
        uris = set()
        for version in registry[group]["versions"]:
            execution = version["pipeline_execution"]
            expected = (
                f"{settings.artifacts_prefix}/{settings.pipeline_name}/Evaluate/{execution}/"
                f"evaluation/{metrics}_metrics.json"
            )
            assert version["metrics_uri"] == expected
            uris.add(version["metrics_uri"])
            run_dir = workdir / "pipeline" / "executions" / execution
            written = run_dir / "Evaluate" / execution / "evaluation" / f"{metrics}_metrics.json"
            assert json.loads(written.read_text()) == version["metrics"]
            assert (written.parent / "smoke_samples.json").is_file()
        assert len(uris) == 2, group

    # The newest-report link points at one of the two runs' reports.
    newest = (workdir / "pipeline" / "report").resolve()
    assert newest.parent.name in {
        v["pipeline_execution"] for v in registry["digits-xgboost"]["versions"]
    }
