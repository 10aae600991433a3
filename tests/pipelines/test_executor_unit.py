"""The local executor on small hand-written definitions (no SDK, no training: seconds).

Each step is a one-line Python job, so what the executor did (order, branch taken, value
read) is observable in files the jobs write, not in the executor's own bookkeeping.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipelines.local.executor import plan, run_local

BUCKET = "s3://unit"


def _quiet(_: str) -> None:
    pass


def job(name: str, code: str, *, depends: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    """A processing step running ``python3 -c code`` with $LOG pointing at a shared file."""
    return {
        "Name": name,
        "Type": "Processing",
        **({"DependsOn": list(depends)} if depends else {}),
        "Arguments": {
            "AppSpecification": {
                "ImageUri": "local",
                "ContainerEntrypoint": ["python3", "-c", code],
            },
            "Environment": {"STEP": name},
            "ProcessingInputs": [],
            "ProcessingOutputConfig": {"Outputs": []},
            **extra,
        },
    }


APPEND = "import os; open(os.environ['LOG'], 'a').write(os.environ['STEP'] + chr(10))"


def _run(tmp_path: Path, steps: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, **params):
    log = tmp_path / "order.log"
    monkeypatch.setenv("LOG", str(log))
    definition = {"Version": "2020-12-01", "Parameters": [], "Steps": steps}
    for name, value in params.items():
        definition["Parameters"].append({"Name": name, "Type": "Float", "DefaultValue": value})
    # The unit bucket is mounted on a fixed folder, so a job can be told where its output is.
    result = run_local(
        definition, tmp_path / "work", mounts={BUCKET: tmp_path / "unit"}, log=_quiet
    )
    ran = log.read_text().split() if log.exists() else []
    return result, ran


def test_shuffled_steps_run_after_what_they_depend_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A diamond plus a chain, listed in a shuffled order: every job runs after its
    dependencies, whether declared by DependsOn or implied by a property reference."""
    steps = [
        job("A", APPEND),
        job("B", APPEND, depends=("A",)),
        job("C", APPEND, depends=("A",)),
        # D reads a property of C (implicit dependency) and depends on B explicitly.
        job(
            "D",
            APPEND,
            depends=("B",),
            ContainerArguments=[{"Get": "Steps.C.ProcessingJobName"}],
        ),
        job("E", APPEND, depends=("D",)),
    ]
    edges = {("A", "B"), ("A", "C"), ("B", "D"), ("C", "D"), ("D", "E")}
    for seed in range(3):
        shuffled = steps[:]
        random.Random(seed).shuffle(shuffled)
        result, ran = _run(tmp_path / str(seed), shuffled, monkeypatch)
        assert result.status == "Succeeded"
        assert sorted(ran) == ["A", "B", "C", "D", "E"]
        for before, after in edges:
            assert ran.index(before) < ran.index(after), (seed, ran)


def test_plan_orders_a_reversed_chain() -> None:
    steps = [job(n, APPEND, depends=(d,) if d else ()) for n, d in (("Z", "Y"), ("Y", "X"))]
    steps.append(job("X", APPEND))
    assert plan(steps) == ["X", "Y", "Z"]


def _evaluation_job(value: float) -> dict[str, Any]:
    """Writes report.json {"model": {"accuracy": value}} to an output with a property file."""
    code = (
        "import json, os; os.makedirs('/opt/ml/processing/output', exist_ok=True); "
        f"json.dump({{'model': {{'accuracy': {value!r}}}}}, "
        "open(os.environ['OUT'] + '/report.json', 'w'))"
    )
    step = job(
        "Evaluate",
        code,
        ProcessingOutputConfig={
            "Outputs": [
                {
                    "OutputName": "evaluation",
                    "S3Output": {
                        "S3Uri": f"{BUCKET}/evaluate",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
    )
    step["PropertyFiles"] = [
        {"PropertyFileName": "Report", "OutputName": "evaluation", "FilePath": "report.json"}
    ]
    return step


JSON_GET = {
    "Std:JsonGet": {
        "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.Report"},
        "Path": "model.accuracy",
    }
}


def _gate(conditions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Name": "Gate",
        "Type": "Condition",
        "Arguments": {
            "Conditions": conditions,
            "IfSteps": [job("Passed", APPEND)],
            "ElseSteps": [
                {
                    "Name": "Failed",
                    "Type": "Fail",
                    "Arguments": {
                        "ErrorMessage": {"Std:Join": {"On": " ", "Values": ["read", JSON_GET]}}
                    },
                }
            ],
        },
    }


def _ge(left: Any, right: Any) -> dict[str, Any]:
    return {"Type": "GreaterThanOrEqualTo", "LeftValue": left, "RightValue": right}


@pytest.fixture
def out_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The Evaluate job finds its output folder through $OUT (mapped like /opt/ml/...).
    out = tmp_path / "unit" / "evaluate"  # BUCKET is mounted on tmp_path / "unit" (_run)
    monkeypatch.setenv("OUT", str(out))
    return out


def test_gate_whose_later_condition_fails_takes_the_else_branch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out_env: Path
) -> None:
    """Conditions are ANDed: the first holds, the second does not, so the Fail step runs."""
    steps = [
        _evaluation_job(0.8),
        _gate([_ge(JSON_GET, 0.5), _ge(JSON_GET, 0.9)]),
    ]
    result, ran = _run(tmp_path, steps, monkeypatch)
    assert result.status == "Failed" and "Passed" not in ran
    assert result.step("Passed").status == "NotExecuted"
    # The Fail message joins the value the JsonGet read: 0.8, from the job's file.
    assert result.failure == "Failed: read 0.8"


@pytest.mark.parametrize(("accuracy", "passes"), [(0.75, True), (0.65, False)])
def test_gate_reads_the_value_at_the_json_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out_env: Path, accuracy: float, passes: bool
) -> None:
    """Same definition, only the job's output differs: the outcome follows the file."""
    steps = [
        _evaluation_job(accuracy),
        _gate([_ge(JSON_GET, {"Get": "Parameters.Threshold"})]),
    ]
    result, ran = _run(tmp_path, steps, monkeypatch, Threshold=0.7)
    assert (result.status == "Succeeded") is passes
    assert ("Passed" in ran) is passes
    if not passes:
        assert result.failure == f"Failed: read {accuracy}"
    report = json.loads((out_env / "report.json").read_text())
    assert report == {"model": {"accuracy": accuracy}}


def test_first_condition_failing_alone_also_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out_env: Path
) -> None:
    steps = [_evaluation_job(0.3), _gate([_ge(JSON_GET, 0.5), _ge(JSON_GET, 0.1)])]
    result, ran = _run(tmp_path, steps, monkeypatch)
    assert result.status == "Failed" and "Passed" not in ran


def test_channel_reader_does_not_return_the_previous_runs_rows(tmp_path: Path) -> None:
    """Same channel folder, rewritten by a later run: the reader sees the new rows."""
    from pipelines.local import jobs

    channel = tmp_path / "train"
    channel.mkdir()
    (channel / "train.csv").write_text("1,0.5,0.25\n")
    x, y = jobs._load_csv_dir(channel)
    assert y.tolist() == [1.0] and x.tolist() == [[0.5, 0.25]]
    (channel / "train.csv").write_text("2,0.75,0.125\n")
    x, y = jobs._load_csv_dir(channel)
    assert y.tolist() == [2.0] and x.tolist() == [[0.75, 0.125]]


def test_lab_summary_gives_this_runs_accuracy_and_the_expected_range(tmp_path: Path) -> None:
    from lab.pipeline import summary_line
    from pipelines.local.executor import RunResult

    def metric(value: float) -> dict[str, Any]:
        return {"multiclass_classification_metrics": {"accuracy": {"value": value}}}

    result = RunResult("Succeeded", "local-1", tmp_path, {}, seconds=12.0)
    result.metrics = {"xgboost": metric(0.9667), "baseline": metric(0.81), "champion": None}
    line = summary_line(result)
    assert "this run's test accuracy xgboost 0.9667, baseline 0.8100" in line
    assert "expected xgboost 0.966 ± 0.005, range 0.959–0.970 over 10 seeded runs" in line


def test_lab_prints_ci_dpl_and_ad_one_line_each() -> None:
    """From the evaluation report's bias section: CI, the largest |DPL| (class 3's -0.08 beats
    class 1's 0.05) and AD per model, each with its bound where one applies."""
    from lab.pipeline import bias_lines

    section = {
        "facet": "source",
        "facet_values": ["sklearn-digits/scanner-b"],
        "pretraining": {"n_a": 7, "n_d": 3, "CI": 0.4, "DPL": {"1": 0.05, "3": -0.08}},
        "bounds": {"max_abs_ci": 0.5, "max_abs_dpl": 0.1},
        "xgboost": {"AD": 0.2, "accuracy": {"a": 0.7, "d": 0.5}},
        "baseline": {"AD": -0.1, "accuracy": {"a": 0.6, "d": 0.7}},
    }
    ci, dpl, ad = bias_lines({"xgboost": {}, "bias": section})
    assert ci.startswith("bias CI  +0.4000 (bound |CI| <= 0.5; facet d: source in ")
    assert "n_a 7, n_d 3" in ci
    assert dpl.startswith("bias DPL -0.0800 at class 3, the largest |DPL| of 2 classes")
    assert dpl.endswith("(bound |DPL| <= 0.1)")
    assert ad.startswith("bias AD  xgboost +0.2000 (accuracy a 0.7000, d 0.5000), ")
    assert "baseline -0.1000 (accuracy a 0.6000, d 0.7000)" in ad
    assert bias_lines({"xgboost": {}, "bias": None}) == [] and bias_lines(None) == []


def test_evaluate_names_a_champion_folder_without_a_model(tmp_path: Path) -> None:
    """A champion input whose model.tar.gz is a broken link (a relative artifact linked from
    the wrong folder) fails with a reason that names it, never an empty `evaluate failed:`."""
    from model_code import evaluate

    champion = tmp_path / "champion"
    champion.mkdir()
    (champion / "model.tar.gz").symlink_to("pipeline/executions/x/model.tar.gz")
    with pytest.raises(ValueError, match="broken link to pipeline/executions/x/model.tar.gz"):
        evaluate.predict_xgboost(champion, np.zeros((1, 64)))


def test_local_champion_is_found_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registry's artifact paths are relative to the work folder, not to the folder a
    command runs from; a champion whose artifact is gone is an error, not a silent no-gate."""
    from lab.pipeline import local_champion
    from ops.errors import UsageError

    workdir = tmp_path / "lab"
    (workdir / "m").mkdir(parents=True)
    (workdir / "m" / "model.tar.gz").write_bytes(b"x")
    (workdir / "registry").mkdir()
    versions = [{"version": 1, "approval_status": "Approved", "artifact": "m/model.tar.gz"}]
    (workdir / "registry" / "registry.json").write_text(
        json.dumps({"groups": {"g": {"versions": versions}}})
    )
    monkeypatch.chdir(tmp_path)  # not the work folder
    assert local_champion(workdir, "g") == (workdir / "m" / "model.tar.gz").absolute()
    (workdir / "m" / "model.tar.gz").unlink()
    with pytest.raises(UsageError, match="g version 1 .*no artifact at .*lab/m/model.tar.gz"):
        local_champion(workdir, "g")
