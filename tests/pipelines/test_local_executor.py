"""The local executor runs the RENDERED definition: full runs on Digits, gate, errors."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from lab.pipeline import run_local_pipeline
from labctl import cli
from labctl.pipeline import parse_params, run
from ops.errors import OperationFailed, UsageError
from pipelines.local import jobs
from pipelines.local.executor import (
    DefinitionError,
    PropertyReferenceError,
    extract_model,
    run_local,
    walk_path,
)
from pipelines.training_pipeline import PipelineSettings, render_definition
from tests.pipelines.lake_fixture import write_digits_lake

FAST = {"MaxTuningJobs": "4", "MaxParallelTuningJobs": "2"}


def _quiet(_: str) -> None:
    pass


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return json.loads(render_definition(PipelineSettings()))


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("lake") / "raw"
    write_digits_lake(raw)
    return raw


def _workdir(base: Path, lake: Path) -> Path:
    (base / "lake").mkdir(parents=True)
    (base / "lake" / "raw").symlink_to(lake, target_is_directory=True)
    return base


@pytest.fixture(scope="module")
def gate_failed(tmp_path_factory: pytest.TempPathFactory, lake: Path) -> Any:
    workdir = _workdir(tmp_path_factory.mktemp("gate"), lake)
    lines: list[str] = []
    result = run_local_pipeline(workdir, {**FAST, "AccuracyThreshold": "0.9999"}, log=lines.append)
    result.logged = lines  # type: ignore[attr-defined]
    return result


def test_a_failed_run_ends_with_the_alert_line(gate_failed: Any) -> None:
    """Issue 26: the line the deployed StepFailures rule sends the alert topic (its rendering
    from the step event: tests/infra/test_event_flows.py), for the step that failed."""
    last = gate_failed.logged[-1]
    assert last.startswith("SageMaker pipeline step GateFailed Failed: ")
    assert "quality gate failed" in last and "AccuracyThreshold 0.9999" in last
    assert last.endswith(
        f" (pipeline local, execution {gate_failed.execution_dir.name}, local). "
        f"More: {gate_failed.report_dir / 'run.json'}"
    )
    assert sum("SageMaker pipeline step" in line for line in gate_failed.logged) == 1


def test_gate_failure_ends_in_fail_step_with_bounds(gate_failed: Any) -> None:
    """Threshold 0.9999 cannot be met: GateFailed stops the run and names the bounds."""
    assert gate_failed.status == "Failed"
    assert gate_failed.failure.startswith("GateFailed: quality gate failed")
    assert "AccuracyThreshold 0.9999" in gate_failed.failure
    assert gate_failed.failure.endswith("champion's accuracy minus the margin 0.0")
    statuses = {s.name: s.status for s in gate_failed.steps}
    assert statuses == {
        "Preprocess": "Succeeded",
        "Tune": "Succeeded",
        "TrainBaseline": "Succeeded",
        "Evaluate": "Succeeded",
        "MonitorBaseline": "Succeeded",
        "QualityGate": "Failed",
        "GateFailed": "Failed",
        "RegisterXGBoost-RegisterModel": "NotExecuted",
        "RegisterBaseline-RegisterModel": "NotExecuted",
    }
    assert gate_failed.registry is None


def test_tuning_honours_limits_and_exposes_the_best_job(gate_failed: Any) -> None:
    tuning = gate_failed.tuning_jobs
    assert [j["number"] for j in tuning] == [1, 2, 3, 4]
    assert gate_failed.best_job["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == max(
        j["objective"] for j in tuning
    )
    for job in tuning:  # the study-guide ranges from the JSON
        hp = job["hyperparameters"]
        assert 0.01 <= float(hp["alpha"]) <= 0.5 and 0.1 <= float(hp["eta"]) <= 0.5
        assert 1 <= int(hp["max_depth"]) <= 10 and 0 <= float(hp["min_child_weight"]) <= 2


def test_evaluate_scored_the_best_tuning_job(gate_failed: Any, tmp_path: Path) -> None:
    """Steps.Tune.TrainingJobSummaries[0] resolved to the best job's model.tar.gz."""
    best = gate_failed.best_job["TrainingJobName"]
    archive = next(gate_failed.execution_dir.glob(f"Tune/{best}/output/model.tar.gz"))
    booster = xgb.Booster()
    booster.load_model(bytearray((extract_model(archive, tmp_path) / "xgboost-model").read_bytes()))
    test = pd.read_csv(
        gate_failed.execution_dir / "Preprocess/test/test.csv", header=None
    ).to_numpy()
    accuracy = float(np.mean(booster.predict(xgb.DMatrix(test[:, 1:])) == test[:, 0]))
    reported = gate_failed.metrics["xgboost"]["multiclass_classification_metrics"]
    assert reported["accuracy"]["value"] == pytest.approx(accuracy)
    assert gate_failed.metrics["test_rows"] == len(test) == 270


def test_report_folder_holds_evaluation_and_plots(gate_failed: Any) -> None:
    report = gate_failed.report_dir
    for name in ("evaluation.json", "tuning.png", "confusion_matrix.png", "run.json"):
        assert (report / name).stat().st_size > 0, name
    assert json.loads((report / "run.json").read_text())["status"] == "Failed"


def test_passing_gate_registers_both_models(tmp_path: Path, lake: Path, definition: dict) -> None:
    """First run, no champion: the threshold alone decides, so 0.5 passes."""
    passing = definition
    result = run_local_pipeline(
        _workdir(tmp_path, lake),
        {
            "MaxTuningJobs": "2",
            "MaxParallelTuningJobs": "2",
            "AccuracyThreshold": "0.5",
            "ModelApprovalStatus": "Approved",
        },
        definition=passing,
        log=_quiet,
    )
    assert result.status == "Succeeded", result.failure
    registry = json.loads(result.registry.read_text())["groups"]
    assert sorted(registry) == ["digits-baseline", "digits-xgboost"]
    xgb_version = registry["digits-xgboost"]["versions"][0]
    assert (xgb_version["version"], xgb_version["approval_status"]) == (1, "Approved")
    assert xgb_version["metrics"] == result.metrics["xgboost"]
    assert (result.workdir / xgb_version["artifact"]).is_file()
    assert not Path(xgb_version["artifact"]).is_absolute()  # the work folder can move
    assert registry["digits-baseline"]["versions"][0]["metrics"] == result.metrics["baseline"]
    # The baseline is registered with its serving entry point, and the archive carries it:
    # the local multi-container endpoint loads it the way the scikit-learn container does.
    baseline = registry["digits-baseline"]["versions"][0]
    assert baseline["environment"]["SAGEMAKER_PROGRAM"] == "baseline_inference.py"
    from lab.endpoint import LocalEndpoint
    from lab.endpoint.entry_point import EntryPointModel
    from lab.registry import settings_from_registry

    endpoint = LocalEndpoint(settings_from_registry(result.workdir, "multi_container"))
    try:
        assert isinstance(endpoint.containers["baseline"], EntryPointModel)
    finally:
        endpoint.stop()
    # the model card's facts: this run's evaluation report, its training data, the status
    # the version was registered with (lab/model_card.py renders them)
    assert json.loads((result.workdir / xgb_version["evaluation"]).read_text()) == result.metrics
    assert result.execution_id in xgb_version["evaluation"]
    train = [p for p in xgb_version["training_data"] if p.endswith("/train")]
    assert len(train) == 1 and any((result.workdir / train[0]).glob("*.csv"))
    assert xgb_version["approval_history"][0]["status"] == "Approved"
    from lab.model_card import local_card

    card = local_card(result.workdir, "digits-xgboost", 1)
    quality = card["evaluation_details"][0]["metric_groups"][0]["metric_data"]
    accuracy = result.metrics["xgboost"]["multiclass_classification_metrics"]["accuracy"]
    assert quality[0]["value"] == accuracy["value"]
    statistics = json.loads((result.workdir / xgb_version["drift_baseline"]).read_text())
    assert statistics["row_counts"]["train"] > 1000 and len(statistics["features"]) == 64
    # ... from this execution's own prefix (a later run cannot overwrite it), beside the
    # Model Monitor baseline files the MonitorBaseline step wrote for the version
    baseline_dir = (result.workdir / xgb_version["drift_baseline"]).parents[1]
    assert result.execution_id in xgb_version["drift_baseline"]
    assert baseline_dir.name == "MonitorBaseline"
    for name in ("data-quality/statistics.json", "model-quality/constraints.json"):
        assert (baseline_dir / name).is_file()
    assert result.metrics["champion"] is None and result.metrics["gate"]["champion_bar"] == 0.0
    # The smoke samples are held-out test rows, with their labels.
    run_dir = result.execution_dir
    assert run_dir is not None
    evaluation = run_dir / "Evaluate" / result.execution_id / "evaluation"
    samples = json.loads((evaluation / "smoke_samples.json").read_text())
    test = pd.read_csv(run_dir / "Preprocess/test/test.csv", header=None).to_numpy()
    assert samples["rows"] == test[: len(samples["rows"]), 1:].tolist()
    assert samples["labels"] == test[: len(samples["rows"]), 0].astype(int).tolist()


def _lab_with_champion(base: Path, lake: Path, champion_rows: tuple[Any, Any], rounds: int) -> Path:
    """A work folder whose registry holds an Approved v1 champion trained on ``champion_rows``
    and a newer, useless pending v2, with artifact paths relative to the work folder as the
    RegisterModel step writes them."""
    from sklearn.datasets import load_digits

    from lab.endpoint.fixtures import train_xgboost

    workdir = _workdir(base / "lab", lake)
    x, y = champion_rows
    train_xgboost(x, y, workdir / "models" / "champion" / "model.tar.gz", rounds=rounds)
    dx, dy = load_digits(return_X_y=True)
    train_xgboost(dx[:20], dy[:20], workdir / "models" / "useless" / "model.tar.gz", rounds=1)
    versions = [
        {"version": 1, "approval_status": "Approved", "artifact": "models/champion/model.tar.gz"},
        {
            "version": 2,
            "approval_status": "PendingManualApproval",
            "artifact": "models/useless/model.tar.gz",
        },
    ]
    (workdir / "registry").mkdir()
    (workdir / "registry" / "registry.json").write_text(
        json.dumps({"groups": {"digits-xgboost": {"versions": versions}}})
    )
    return workdir


def _registered(workdir: Path) -> list[int]:
    registry = json.loads((workdir / "registry" / "registry.json").read_text())
    return [v["version"] for v in registry["groups"]["digits-xgboost"]["versions"]]


GATE_RUN = {"MaxTuningJobs": "2", "MaxParallelTuningJobs": "2", "AccuracyThreshold": "0.5"}


def test_gate_fails_a_challenger_worse_than_the_approved_champion(
    tmp_path: Path, lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lab's champion is the newest Approved version: here one trained on every Digits
    row (the test split included), so it scores 1.0 there and no challenger comes within
    the margin; a newer pending version that is useless must not be taken as champion.
    Run from another folder than the work folder (the registry's paths are relative to it)."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    workdir = _lab_with_champion(tmp_path, lake, (x, y), rounds=60)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    logged: list[str] = []
    result = run_local_pipeline(workdir, GATE_RUN, log=logged.append)
    # the oracle: the planted champion's accuracy on this run's test rows, from xgboost itself
    test = pd.read_csv(result.execution_dir / "Preprocess/test/test.csv", header=None).to_numpy()
    booster = xgb.Booster()
    extract_model(workdir / "models/champion/model.tar.gz", tmp_path / "champion")
    booster.load_model(bytearray((tmp_path / "champion" / "xgboost-model").read_bytes()))
    planted = float(np.mean(booster.predict(xgb.DMatrix(test[:, 1:])) == test[:, 0]))
    assert planted == 1.0
    assert any(line.startswith("champion: ") for line in logged)
    assert result.metrics["gate"]["champion_bar"] == pytest.approx(planted - 0.005)
    assert result.status == "Failed" and result.failure.startswith("GateFailed")
    assert f"{result.metrics['gate']['champion_bar']}" in result.failure
    assert _registered(workdir) == [1, 2]  # nothing registered


def test_gate_registers_a_challenger_above_a_weak_champion(
    tmp_path: Path, lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same gate with a lower bar registers: the champion predicts class 0 everywhere
    (trained on labels that are all 0), so its accuracy is the share of 0s in the test rows."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    workdir = _lab_with_champion(tmp_path, lake, (x[:200], np.zeros(200)), rounds=2)
    monkeypatch.chdir(tmp_path)
    result = run_local_pipeline(workdir, GATE_RUN, log=_quiet)
    test = pd.read_csv(result.execution_dir / "Preprocess/test/test.csv", header=None).to_numpy()
    planted = float(np.mean(test[:, 0] == 0))
    assert 0.05 < planted < 0.15
    assert result.metrics["gate"]["champion_available"] is True
    assert result.metrics["gate"]["champion_bar"] == pytest.approx(planted - 0.005)
    assert result.status == "Succeeded", result.failure
    assert _registered(workdir) == [1, 2, 3]


def test_registry_versions_increase(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.tar.gz").write_bytes(b"x")
    (tmp_path / "m" / "metrics.json").write_text('{"a": 1}')
    step = {
        "Name": "Register",
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": "g",
            "ModelApprovalStatus": {"Get": "Parameters.Status"},
            "InferenceSpecification": {
                "Containers": [{"Image": "img", "ModelDataUrl": "s3://b/m/model.tar.gz"}]
            },
            "ModelMetrics": {"ModelQuality": {"Statistics": {"S3Uri": "s3://b/m/metrics.json"}}},
        },
    }
    mini = {
        "Parameters": [
            {"Name": "Status", "Type": "String", "DefaultValue": "PendingManualApproval"}
        ],
        "Steps": [step],
    }
    for _ in range(2):
        result = run_local(mini, tmp_path, mounts={"s3://b/": tmp_path}, log=_quiet)
    versions = json.loads(result.registry.read_text())["groups"]["g"]["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["approval_status"] == "PendingManualApproval"
    assert versions[1]["metrics"] == {"a": 1}


def test_empty_raw_prefix_fails_in_preprocess(tmp_path: Path) -> None:
    (tmp_path / "lake" / "raw" / "events").mkdir(parents=True)
    result = run_local_pipeline(tmp_path, FAST, log=_quiet)
    assert result.status == "Failed"
    assert result.failure.startswith("Preprocess: job exited 1")
    assert "no event files" in result.failure
    assert {s.name: s.status for s in result.steps}["Tune"] == "NotExecuted"


def test_missing_raw_prefix_fails_clearly(tmp_path: Path) -> None:
    result = run_local_pipeline(tmp_path, FAST, log=_quiet)
    assert result.status == "Failed"
    assert "input 'raw': nothing at s3://__RAW_BUCKET__/events/" in result.failure


def test_unknown_step_reference_names_the_step(definition: dict, tmp_path: Path) -> None:
    broken = json.loads(json.dumps(definition).replace("Steps.Tune.", "Steps.Tuning."))
    with pytest.raises(DefinitionError, match="step 'Evaluate' references unknown step.*Tuning"):
        run_local(broken, tmp_path, log=_quiet)
    with pytest.raises(UsageError, match="Evaluate"):
        run_local_pipeline(tmp_path, definition=broken, log=_quiet)


def _gate(condition: dict, fail_message: Any = "failed") -> dict:
    return {
        "Parameters": [{"Name": "T", "Type": "Float", "DefaultValue": 0.5}],
        "Steps": [
            {
                "Name": "Gate",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [condition],
                    "IfSteps": [],
                    "ElseSteps": [
                        {
                            "Name": "Stop",
                            "Type": "Fail",
                            "Arguments": {"ErrorMessage": fail_message},
                        }
                    ],
                },
            }
        ],
    }


def test_unresolvable_condition_names_step_and_reference(tmp_path: Path) -> None:
    cond = {"Type": "GreaterThan", "LeftValue": {"Get": "Parameters.Nope"}, "RightValue": 1}
    with pytest.raises(
        PropertyReferenceError,
        match=r"step 'Gate': cannot resolve \{\"Get\": \"Parameters.Nope\"\}",
    ):
        run_local(_gate(cond), tmp_path, log=_quiet)
    with pytest.raises(PropertyReferenceError, match="unknown condition type 'Maybe'"):
        run_local(_gate({"Type": "Maybe"}), tmp_path, log=_quiet)


def test_conditions_and_join_in_fail_message(tmp_path: Path) -> None:
    cond = {
        "Type": "Not",
        "Condition": {
            "Type": "Or",
            "Conditions": [
                {"Type": "LessThan", "LeftValue": {"Get": "Parameters.T"}, "RightValue": 0.1},
                {"Type": "In", "QueryValue": "x", "Values": ["y"]},
            ],
        },
    }
    message = {"Std:Join": {"On": " ", "Values": ["T was", {"Get": "Parameters.T"}]}}
    result = run_local(_gate(cond, message), tmp_path, log=_quiet)
    assert result.status == "Succeeded"  # Not(Or(false, false)) is true: Fail not reached
    flipped = {"Type": "Not", "Condition": cond}
    result = run_local(_gate(flipped, message), tmp_path, {"T": "0.25"}, log=_quiet)
    assert (result.status, result.failure) == ("Failed", "Stop: T was 0.25")


def test_parameter_overrides_are_checked(definition: dict, tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="unknown parameter.*Bogus"):
        run_local(definition, tmp_path, {"Bogus": "1"}, log=_quiet)
    with pytest.raises(DefinitionError, match="MaxTuningJobs.*bad value 'many'"):
        run_local(definition, tmp_path, {"MaxTuningJobs": "many"}, log=_quiet)


def test_walk_path_reads_sdk_property_paths() -> None:
    props = {
        "ProcessingOutputConfig": {"Outputs": {"train": {"S3Output": {"S3Uri": "s3://x"}}}},
        "TrainingJobSummaries": [{"TrainingJobName": "a"}],
    }
    assert (
        walk_path(props, "ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri", what="p")
        == "s3://x"
    )
    assert walk_path(props, "TrainingJobSummaries[0].TrainingJobName", what="p") == "a"
    with pytest.raises(KeyError, match="no 'Nope'"):
        walk_path(props, "TrainingJobSummaries[0].Nope", what="p")


@pytest.mark.parametrize("strategy", ["Bayesian", "Random", "Grid"])
def test_tune_runs_max_jobs_at_most_parallel_at_once(strategy: str) -> None:
    running, peak, lock = 0, 0, threading.Lock()

    def run_job(number: int, hp: dict[str, str]) -> jobs.TrialResult:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return jobs.TrialResult(number, f"job-{number}", hp, -abs(float(hp["eta"]) - 0.3))

    config = {
        "Strategy": strategy,
        "HyperParameterTuningJobObjective": {"MetricName": "m", "Type": "Maximize"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 7, "MaxParallelTrainingJobs": 3},
        "ParameterRanges": {
            "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}],
            "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "1", "MaxValue": "3"}],
        },
    }
    results = jobs.tune(config, run_job)
    assert [r.number for r in results] == list(range(1, 8))
    assert peak <= 3 and peak >= 2
    assert all(0.1 <= float(r.hyperparameters["eta"]) <= 0.5 for r in results)


def test_cli_rejects_bad_params() -> None:
    with pytest.raises(UsageError, match="Name=Value"):
        parse_params(["MaxTuningJobs"])
    assert parse_params(["AccuracyThreshold=0.9", "X=a=b"]) == {
        "AccuracyThreshold": "0.9",
        "X": "a=b",
    }


def test_cli_local_run_reports_failure_as_operation_failed(tmp_path: Path) -> None:
    """No raw prefix: the run fails, and the command maps that to exit code 1."""
    parser = cli.build_parser("pipeline")  # the product registers the command, not the test
    args = parser.parse_args(
        ["pipeline", "run", "--local", "--workdir", str(tmp_path), "--param", "MaxTuningJobs=2"]
    )
    with pytest.raises(OperationFailed, match="input 'raw': nothing at"):
        run(args)
