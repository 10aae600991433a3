"""The rendered pipeline definition: schema, graph, defaults, study-guide ranges, security."""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pipelines.checks import check_definition, iter_steps
from pipelines.local.executor import plan
from pipelines.training_pipeline import (
    KMS_KEY_ARN,
    ROLE_ARN,
    PipelineSettings,
    render_definition,
)

SCHEMA = next(
    (
        p / "shared" / "specs" / "sagemaker-pipeline-definition.schema.json"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "specs" / "sagemaker-pipeline-definition.schema.json").exists()
    ),
    Path(__file__).resolve().parents[3] / "shared/specs/sagemaker-pipeline-definition.schema.json",
)


def extend_schema(schema: dict) -> dict:
    """The published schema predates fields SDK 2.257 emits; add exactly those, nothing else.

    Each entry is a documented lag, not a loosening: Std:Join/Std:JsonGet values, AppManaged,
    S3DataDistributionType, HyperParameterTuningResourceConfig, parameterised tuning limits,
    RegisterModel's approval/validation fields and DriftCheckBaselines (CreateModelPackage
    API), experiment config.
    """
    s = copy.deepcopy(schema)
    d = s["definitions"]
    d["JsonGetFunction"] = {
        "type": "object",
        "required": ["Std:JsonGet"],
        "additionalProperties": False,
        "properties": {
            "Std:JsonGet": {
                "type": "object",
                "required": ["PropertyFile", "Path"],
                "additionalProperties": False,
                "properties": {
                    "PropertyFile": {"$ref": "#/definitions/GetFunction"},
                    "Path": {"type": "string"},
                },
            }
        },
    }
    # As published, JoinFunction has no "properties" under Std:Join, so it rejects every Join.
    d["JoinFunction"]["properties"]["Std:Join"] = {
        "type": "object",
        "required": ["Values"],
        "additionalProperties": False,
        "properties": {
            "On": {"type": "string"},
            "Values": {
                "type": "array",
                "items": {
                    "oneOf": [
                        {"type": ["string", "number", "boolean"]},
                        {"$ref": "#/definitions/GetFunction"},
                        {"$ref": "#/definitions/JsonGetFunction"},
                    ]
                },
            },
        },
    }
    for kind in ("String", "Integer", "Float", "Boolean"):
        d[f"{kind}ArgumentValue"]["oneOf"] += [
            {"$ref": "#/definitions/JoinFunction"},
            {"$ref": "#/definitions/JsonGetFunction"},
        ]
    outputs = d["ProcessingArgs"]["properties"]["ProcessingOutputConfig"]["properties"]["Outputs"]
    outputs["items"]["properties"]["AppManaged"] = {"type": "boolean"}
    inputs = d["ProcessingArgs"]["properties"]["ProcessingInputs"]
    inputs["items"]["properties"]["AppManaged"] = {"type": "boolean"}
    hp_def = d["HyperParameterTrainingJobDefinition"]
    props = hp_def["properties"]
    props["HyperParameterTuningResourceConfig"] = props["ResourceConfig"]
    hp_def["required"] = [r for r in hp_def["required"] if r != "ResourceConfig"]
    limits = d["TuningStep"]["properties"]["Arguments"]["properties"][
        "HyperParameterTuningJobConfig"
    ]["properties"]["ResourceLimits"]["properties"]
    for name in ("MaxNumberOfTrainingJobs", "MaxParallelTrainingJobs"):
        limits[name] = {"$ref": "#/definitions/IntegerArgumentValue"}
    register = d["RegisterModelStep"]["properties"]["Arguments"]["properties"]
    register["ModelApprovalStatus"] = {"$ref": "#/definitions/StringArgumentValue"}
    register["SkipModelValidation"] = {"type": "string"}
    # CreateModelPackage's DriftCheckBaselines: the data-quality part has ModelMetrics' shape.
    register["DriftCheckBaselines"] = {
        "type": "object",
        "properties": {
            "ModelDataQuality": register["ModelMetrics"]["properties"]["ModelDataQuality"]
        },
        "additionalProperties": False,
    }
    register["InferenceSpecification"]["properties"]["Containers"]["items"]["properties"][
        "Environment"
    ] = {"type": "object", "additionalProperties": {"type": "string"}}
    d["TrainingStep"]["properties"]["Arguments"]["properties"]["ProfilerConfig"] = {
        "type": "object",
        "properties": {"DisableProfiler": {"type": "boolean"}},
        "additionalProperties": False,
    }
    d["ProcessingStep"]["properties"]["PropertyFiles"] = {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["PropertyFileName", "OutputName", "FilePath"],
            "additionalProperties": False,
            "properties": {
                name: {"type": "string"} for name in ("PropertyFileName", "OutputName", "FilePath")
            },
        },
    }
    # The SDK writes null when the pipeline opts out of experiment tracking.
    s["properties"]["PipelineExperimentConfig"] = {"type": ["object", "null"]}
    return s


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """The published schema (must exist: a missing file fails, never skips), lag-extended."""
    assert SCHEMA.exists(), f"schema not found at {SCHEMA}"
    return extend_schema(json.loads(SCHEMA.read_text()))


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return json.loads(render_definition(PipelineSettings()))


@pytest.fixture(scope="module")
def steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Name"]: s for s in iter_steps(definition["Steps"])}


def test_definition_validates_against_the_published_schema(definition: dict, schema: dict) -> None:
    jsonschema.validate(definition, schema)
    jsonschema.validate(json.loads(render_definition(PipelineSettings(use_vpc=True))), schema)


def test_schema_still_rejects_broken_definitions(definition: dict, schema: dict) -> None:
    """The lag extensions must not turn the schema into accept-anything."""
    for mutate in (
        lambda d: d["Steps"][0].update(Type="Bogus"),
        lambda d: d["Steps"][1]["Arguments"]["HyperParameterTuningJobConfig"][
            "ResourceLimits"
        ].update(MaxParallelTrainingJobs="three"),
        lambda d: d["Steps"][0]["Arguments"]["ProcessingInputs"][0].update(Extra=1),
        lambda d: d["Parameters"].append({"Name": "bad name!", "Type": "String"}),
    ):
        broken = copy.deepcopy(definition)
        mutate(broken)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)


def test_steps_and_edges(definition: dict, steps: dict) -> None:
    top = [s["Name"] for s in definition["Steps"]]
    assert top == ["Preprocess", "Tune", "TrainBaseline", "Evaluate", "QualityGate"]
    order = plan(definition["Steps"])
    assert order.index("Preprocess") < order.index("Tune") < order.index("Evaluate")
    assert order.index("TrainBaseline") < order.index("Evaluate") < order.index("QualityGate")
    gate = steps["QualityGate"]["Arguments"]
    assert [s["Name"] for s in gate["IfSteps"]] == [
        "RegisterXGBoost-RegisterModel",
        "RegisterBaseline-RegisterModel",
    ]
    assert [(s["Name"], s["Type"]) for s in gate["ElseSteps"]] == [("GateFailed", "Fail")]
    evaluate = json.dumps(steps["Evaluate"]["Arguments"])
    assert "Steps.Tune.TrainingJobSummaries[0].TrainingJobName" in evaluate
    assert "Steps.TrainBaseline.ModelArtifacts.S3ModelArtifacts" in evaluate
    assert steps["Evaluate"]["PropertyFiles"] == [
        {
            "FilePath": "evaluation.json",
            "OutputName": "evaluation",
            "PropertyFileName": "EvaluationReport",
        }
    ]


def test_quality_gate_compares_threshold_and_baseline(steps: dict) -> None:
    conditions = steps["QualityGate"]["Arguments"]["Conditions"]
    assert [c["Type"] for c in conditions] == ["GreaterThanOrEqualTo", "GreaterThan"]
    assert conditions[0]["RightValue"] == {"Get": "Parameters.AccuracyThreshold"}
    assert (
        conditions[1]["RightValue"]["Std:JsonGet"]["Path"]
        == "baseline.multiclass_classification_metrics.accuracy.value"
    )
    message = json.dumps(steps["GateFailed"]["Arguments"]["ErrorMessage"])
    assert "Parameters.AccuracyThreshold" in message and "baseline" in message


def test_parameters_and_defaults(definition: dict) -> None:
    params = {p["Name"]: (p["Type"], p.get("DefaultValue")) for p in definition["Parameters"]}
    assert params == {
        "InputDataUrl": ("String", "s3://__RAW_BUCKET__/events/"),
        "ProcessingInstanceType": ("String", "ml.m5.large"),
        "TrainingInstanceType": ("String", "ml.m5.large"),
        "AccuracyThreshold": ("Float", 0.95),
        "ModelApprovalStatus": ("String", "PendingManualApproval"),
        "MaxTuningJobs": ("Integer", 20),
        "MaxParallelTuningJobs": ("Integer", 3),
    }


def test_tuning_matches_the_study_guide(steps: dict) -> None:
    args = steps["Tune"]["Arguments"]
    config, job = args["HyperParameterTuningJobConfig"], args["TrainingJobDefinition"]
    assert config["Strategy"] == "Bayesian"
    assert config["HyperParameterTuningJobObjective"] == {
        "MetricName": "validation:accuracy",
        "Type": "Maximize",
    }
    assert config["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": {"Get": "Parameters.MaxTuningJobs"},
        "MaxParallelTrainingJobs": {"Get": "Parameters.MaxParallelTuningJobs"},
    }
    ranges = config["ParameterRanges"]
    continuous = {
        r["Name"]: (float(r["MinValue"]), float(r["MaxValue"]))
        for r in ranges["ContinuousParameterRanges"]
    }
    assert continuous == {"alpha": (0.01, 0.5), "eta": (0.1, 0.5), "min_child_weight": (0, 2)}
    assert [
        (r["Name"], r["MinValue"], r["MaxValue"]) for r in ranges["IntegerParameterRanges"]
    ] == [("max_depth", "1", "10")]
    static = job["StaticHyperParameters"]
    assert (static["objective"], static["num_class"], static["num_round"]) == (
        "multi:softmax",
        "10",
        "100",
    )
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith("sagemaker-xgboost:3.0-5")


def test_every_job_is_encrypted_and_isolated(definition: dict, steps: dict) -> None:
    assert check_definition(definition) == []
    for name in ("Preprocess", "Evaluate"):
        cfg = steps[name]["Arguments"]
        assert cfg["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KMS_KEY_ARN
        assert cfg["ProcessingOutputConfig"]["KmsKeyId"] == KMS_KEY_ARN
        assert cfg["NetworkConfig"]["EnableNetworkIsolation"] is True
    for job in (
        steps["Tune"]["Arguments"]["TrainingJobDefinition"],
        steps["TrainBaseline"]["Arguments"],
    ):
        assert job["EnableNetworkIsolation"] is True
        assert job["EnableInterContainerTrafficEncryption"] is True
        assert job["OutputDataConfig"]["KmsKeyId"] == KMS_KEY_ARN
        assert job["RoleArn"] == ROLE_ARN
    # Debugger/Profiler are closed to new customers: the baseline job must not ask for them.
    assert "DebugHookConfig" not in steps["TrainBaseline"]["Arguments"]


def test_check_finds_a_missing_key_and_isolation(definition: dict) -> None:
    """The check must be able to fail: strip a key and isolation from copies."""
    broken = copy.deepcopy(definition)
    tune = next(s for s in broken["Steps"] if s["Name"] == "Tune")
    del tune["Arguments"]["TrainingJobDefinition"]["OutputDataConfig"]["KmsKeyId"]
    pre = next(s for s in broken["Steps"] if s["Name"] == "Preprocess")
    pre["Arguments"]["NetworkConfig"]["EnableNetworkIsolation"] = False
    assert check_definition(broken) == [
        "Preprocess: network isolation off and not exempted",
        "Tune: no KMS key for the job output",
    ]
    assert check_definition(broken, exempt={"Preprocess": "needs PyPI"}) == [
        "Tune: no KMS key for the job output"
    ]


def test_vpc_config_only_when_asked(definition: dict) -> None:
    assert "VpcConfig" not in json.dumps(definition)
    assert len(check_definition(definition, require_vpc=True)) == 4
    vpc = json.loads(render_definition(PipelineSettings(use_vpc=True)))
    assert check_definition(vpc, require_vpc=True) == []
    tune = next(s for s in vpc["Steps"] if s["Name"] == "Tune")
    assert tune["Arguments"]["TrainingJobDefinition"]["VpcConfig"]["Subnets"] == [
        "__SUBNET_1__",
        "__SUBNET_2__",
    ]


def test_rendering_is_deterministic_and_offline_placeholders(definition: dict) -> None:
    render_definition.cache_clear()
    started = time.perf_counter()
    again = render_definition(PipelineSettings())
    assert time.perf_counter() - started < 5.0  # ~1 s warm; generous for a shared machine
    assert json.loads(again) == definition
    for placeholder in (
        "__ARTIFACTS_BUCKET__",
        "__RAW_BUCKET__",
        "__KMS_KEY_ARN__",
        "__EXECUTION_ROLE__",
    ):
        assert placeholder in again
    assert "sagemaker-us-east-1" not in again  # default_bucket() was never called


def test_settings_reject_bad_combinations() -> None:
    with pytest.raises(ValueError, match="strategy"):
        PipelineSettings(strategy="Exhaustive")
    with pytest.raises(ValueError, match="max_parallel_jobs"):
        PipelineSettings(max_jobs=2, max_parallel_jobs=3)
    with pytest.raises(ValueError, match="use_vpc"):
        PipelineSettings(use_vpc=True, subnets=())


def test_disk_cache_returns_exactly_a_fresh_render(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The cross-process cache may only ever save time, never change the definition."""
    from pipelines import training_pipeline as tp

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    settings = tp.PipelineSettings(max_jobs=7, max_parallel_jobs=2)
    cache = tp._cache_file(settings)
    assert cache is not None and str(cache).startswith(str(tmp_path))
    tp.render_definition.cache_clear()
    first = tp.render_definition(settings)
    assert cache.read_text() == first
    assert tp._render(settings) == first
    tp.render_definition.cache_clear()
    assert tp.render_definition(settings) == first  # served from disk
    other = tp._cache_file(tp.PipelineSettings(max_jobs=8, max_parallel_jobs=2))
    assert other != cache  # settings are part of the key
    monkeypatch.setenv("PIPELINE_CACHE", "off")
    assert tp._cache_file(settings) is None


def test_executions_create_no_experiment_entities(definition: dict) -> None:
    """With the SDK's default PipelineExperimentConfig every execution creates an experiment
    and a trial, which the pipeline role is not allowed to create and which outlive the
    pipeline: the definition opts out (the SDK writes null, which SageMaker reads as none)."""
    assert definition["PipelineExperimentConfig"] is None
    assert "ExperimentName" not in json.dumps(definition)


def _register_containers(definition: dict) -> dict[str, dict]:
    return {
        s["Name"]: s["Arguments"]["InferenceSpecification"]["Containers"][0]
        for s in iter_steps(definition["Steps"])
        if s["Type"] == "RegisterModel"
    }


def test_baseline_package_names_the_entry_point_shipped_in_its_archive(definition: dict) -> None:
    """The scikit-learn container loads nothing without SAGEMAKER_PROGRAM/SUBMIT_DIRECTORY; the
    script must exist in model_code (train_baseline.py copies it to <model_dir>/code)."""
    containers = _register_containers(definition)
    (baseline,) = [c for n, c in containers.items() if n.startswith("RegisterBaseline")]
    assert "sagemaker-scikit-learn" in baseline["Image"]
    env = baseline["Environment"]
    assert env["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    repo = Path(__file__).resolve().parents[2]
    assert (repo / "model_code" / env["SAGEMAKER_PROGRAM"]).is_file()
    (xgboost,) = [c for n, c in containers.items() if n.startswith("RegisterXGBoost")]
    assert "SAGEMAKER_PROGRAM" not in xgboost.get("Environment", {})  # built-in algorithm


def test_check_finds_a_framework_package_without_an_entry_point(definition: dict) -> None:
    broken = copy.deepcopy(definition)
    for name, container in _register_containers(broken).items():
        if name.startswith("RegisterBaseline"):
            container["Environment"].pop("SAGEMAKER_PROGRAM")
    assert check_definition(broken) == [
        "RegisterBaseline-RegisterModel: sagemaker-scikit-learn:1.2-1-cpu-py3 has no default "
        "model_fn; its container needs SAGEMAKER_PROGRAM"
    ]


def test_registered_versions_carry_their_training_statistics(steps: dict) -> None:
    """Drift monitoring compares traffic with the deployed version's own baseline, so each
    RegisterModel names Preprocess's baseline_statistics.json as DriftCheckBaselines."""
    gate = steps["QualityGate"]["Arguments"]
    for register in gate["IfSteps"]:
        uri = register["Arguments"]["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]
        assert uri["ContentType"] == "application/json"
        values = uri["S3Uri"]["Std:Join"]["Values"]
        assert values == [
            {"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"},
            "baseline_statistics.json",
        ]


def test_rendering_leaves_no_fake_credentials_behind(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The SDK renders with fake keys; left in os.environ they would outrank a profile or an
    instance role for every later boto3 call in the process (teardown synthesizes, then
    deletes), signing real requests with 'offline' keys."""
    import pipelines.training_pipeline as tp

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
    definition = json.loads(tp._render(tp.PipelineSettings()))
    assert definition["Steps"]  # it did render
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        assert key not in os.environ, key
    assert os.environ["AWS_EC2_METADATA_DISABLED"] == "false"
