"""The rendered pipeline definition: schema, graph, defaults, study-guide ranges, security."""

from __future__ import annotations

import copy
import json
import os
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
    clear_render_cache,
    render_definition,
)

# Vendored beside this file (specs/README.md gives its source), so a clone alone runs it.
SCHEMA = Path(__file__).resolve().parent / "specs" / "sagemaker-pipeline-definition.schema.json"


def extend_schema(schema: dict) -> dict:
    """The published schema predates fields SDK 2.257 emits; add exactly those, nothing else.

    Each entry is a documented lag, not a loosening: Std:Join/Std:JsonGet values, AppManaged,
    S3DataDistributionType, HyperParameterTuningResourceConfig, parameterised tuning limits,
    RegisterModel's approval/validation fields, DriftCheckBaselines and
    CustomerMetadataProperties (CreateModelPackage API), experiment config.
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
    # CreateModelPackage's DriftCheckBaselines: the data- and model-quality parts have
    # ModelMetrics' shape (API reference: DriftCheckModelDataQuality, DriftCheckModelQuality,
    # each Statistics + Constraints MetricsSource).
    register["DriftCheckBaselines"] = {
        "type": "object",
        "properties": {
            "ModelDataQuality": register["ModelMetrics"]["properties"]["ModelDataQuality"],
            "ModelQuality": register["ModelMetrics"]["properties"]["ModelQuality"],
        },
        "additionalProperties": False,
    }
    # CreateModelPackage's CustomerMetadataProperties (a string map; the SDK's RegisterModel
    # step passes it since sagemaker-python-sdk#2935): the lineage keys, model_code/lineage.py.
    register["CustomerMetadataProperties"] = {
        "type": "object",
        "additionalProperties": {"$ref": "#/definitions/StringArgumentValue"},
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
    assert top == [
        "Preprocess",
        "Tune",
        "TrainBaseline",
        "Evaluate",
        "MonitorBaseline",
        "QualityGate",
    ]
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


def test_quality_gate_compares_threshold_and_champion(steps: dict) -> None:
    conditions = steps["QualityGate"]["Arguments"]["Conditions"]
    assert [c["Type"] for c in conditions] == ["GreaterThanOrEqualTo", "GreaterThanOrEqualTo"]
    assert conditions[0]["RightValue"] == {"Get": "Parameters.AccuracyThreshold"}
    for condition in conditions:
        assert (
            condition["LeftValue"]["Std:JsonGet"]["Path"]
            == "xgboost.multiclass_classification_metrics.accuracy.value"
        )
    assert conditions[1]["RightValue"]["Std:JsonGet"]["Path"] == "gate.champion_bar"
    message = json.dumps(steps["GateFailed"]["Arguments"]["ErrorMessage"])
    assert "Parameters.AccuracyThreshold" in message and "gate.champion_bar" in message


def test_evaluate_reads_the_champion_named_by_a_parameter(steps: dict, definition: dict) -> None:
    args = steps["Evaluate"]["Arguments"]
    champion = next(i for i in args["ProcessingInputs"] if i["InputName"] == "champion")
    assert champion["S3Input"]["S3Uri"] == {"Get": "Parameters.ChampionModelData"}
    command = args["AppSpecification"]["ContainerArguments"]
    assert command[command.index("--champion-model") + 1] == champion["S3Input"]["LocalPath"]
    assert command[command.index("--champion-margin") + 1] == "0.005"
    default = next(p for p in definition["Parameters"] if p["Name"] == "ChampionModelData")
    assert default["DefaultValue"].endswith("/model_code/no_champion/")


def test_parameters_and_defaults(definition: dict) -> None:
    params = {p["Name"]: (p["Type"], p.get("DefaultValue")) for p in definition["Parameters"]}
    assert params == {
        "InputDataUrl": ("String", "s3://__RAW_BUCKET__/events/"),
        "ProcessingInstanceType": ("String", "ml.m5.large"),
        "TrainingInstanceType": ("String", "ml.m5.large"),
        "AccuracyThreshold": ("Float", 0.95),
        "ModelApprovalStatus": ("String", "PendingManualApproval"),
        "ChampionModelData": ("String", "s3://__ARTIFACTS_BUCKET__/code/model_code/no_champion/"),
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
    assert len(check_definition(definition, require_vpc=True)) == 5
    vpc = json.loads(render_definition(PipelineSettings(use_vpc=True)))
    assert check_definition(vpc, require_vpc=True) == []
    tune = next(s for s in vpc["Steps"] if s["Name"] == "Tune")
    assert tune["Arguments"]["TrainingJobDefinition"]["VpcConfig"]["Subnets"] == [
        "__SUBNET_1__",
        "__SUBNET_2__",
    ]


def test_rendering_is_deterministic_and_offline_placeholders(definition: dict) -> None:
    clear_render_cache()
    again = render_definition(PipelineSettings())
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

    _cache_on(tmp_path, monkeypatch, sdk_config=False)
    settings = tp.PipelineSettings(max_jobs=7, max_parallel_jobs=2)
    cache = tp._cache_file(settings)
    assert cache is not None and str(cache).startswith(str(tmp_path))
    tp.clear_render_cache()
    first = tp.render_definition(settings)
    assert cache.read_text() == first
    assert tp._render(settings) == first
    tp.clear_render_cache()
    cache.write_text(first.replace("digits-training", "served-from-disk"))
    assert "served-from-disk" in tp.render_definition(settings)  # read back, not re-rendered
    tp.clear_render_cache()


def _cache_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, sdk_config: bool = True) -> None:
    """The disk cache on, under ``tmp_path``; with ``sdk_config``, the SDK's two config files
    overridden by empty ones (the cache key reads them). A test that really renders leaves
    them out: with a config file the SDK validates its schema on every value it looks up
    (about 7 s a render instead of 1)."""
    for name in ("PIPELINE_CACHE", "CI", "CODEBUILD_BUILD_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if not sdk_config:
        for variable in ("SAGEMAKER_USER_CONFIG_OVERRIDE", "SAGEMAKER_ADMIN_CONFIG_OVERRIDE"):
            monkeypatch.delenv(variable, raising=False)
        return
    user, admin = tmp_path / "user.yaml", tmp_path / "admin.yaml"
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(user))
    monkeypatch.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", str(admin))
    for path in (user, admin):  # the SDK refuses an override that names no file
        path.write_text(SDK_CONFIG)


SDK_CONFIG = "SchemaVersion: '1.0'\n"


def _change_user_config(tmp_path: Path, mp: pytest.MonkeyPatch) -> None:
    (tmp_path / "user.yaml").write_text(SDK_CONFIG + "SageMaker: {}\n")


def _change_admin_config(tmp_path: Path, mp: pytest.MonkeyPatch) -> None:
    (tmp_path / "admin.yaml").write_text(SDK_CONFIG + "SageMaker: {}\n")


def _move_user_config(tmp_path: Path, mp: pytest.MonkeyPatch) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "config.yaml").write_text(SDK_CONFIG)
    mp.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(tmp_path / "elsewhere"))


def _sdk_variable(tmp_path: Path, mp: pytest.MonkeyPatch) -> None:
    mp.setenv("SAGEMAKER_SOME_SETTING", "1")


def _aws_variable(tmp_path: Path, mp: pytest.MonkeyPatch) -> None:
    mp.setenv("AWS_DEFAULT_REGION", "eu-west-3")


def _package_version(package: str) -> Any:
    def change(tmp_path: Path, mp: pytest.MonkeyPatch) -> None:
        import importlib.metadata

        real = importlib.metadata.version
        mp.setattr(
            importlib.metadata,
            "version",
            lambda name: "99.0" if name == package else real(name),
        )

    return change


def _step_source(tmp_path: Path, mp: pytest.MonkeyPatch) -> None:
    from pipelines import monitor_baseline_step as mb

    copy = tmp_path / "monitor_baseline_step.py"
    copy.write_text(Path(mb.__file__).read_text() + "\n# a change\n")
    mp.setattr(mb, "__file__", str(copy))


def _module_source(tmp_path: Path, mp: pytest.MonkeyPatch) -> None:
    from pipelines import training_pipeline as tp

    copy = tmp_path / "training_pipeline.py"
    copy.write_text(Path(tp.__file__).read_text() + "\n# a change\n")
    mp.setattr(tp, "__file__", str(copy))


@pytest.mark.parametrize(
    "change",
    [
        _change_user_config,
        _change_admin_config,
        _move_user_config,
        _sdk_variable,
        _aws_variable,
        _module_source,
        _step_source,
        *(_package_version(p) for p in ("sagemaker", "boto3", "botocore", "sagemaker-core")),
    ],
    ids=[
        "user-config",
        "admin-config",
        "user-config-location",
        "sagemaker-variable",
        "aws-variable",
        "module-source",
        "step-module-source",
        "sagemaker-version",
        "boto3-version",
        "botocore-version",
        "sagemaker-core-version",
    ],
)
def test_every_rendering_input_changes_the_cache_key(tmp_path, monkeypatch, change) -> None:  # type: ignore[no-untyped-def]
    from pipelines import training_pipeline as tp

    _cache_on(tmp_path, monkeypatch)
    settings = tp.PipelineSettings()
    before = tp._cache_file(settings)
    assert before is not None and tp._cache_file(settings) == before  # stable when unchanged
    change(tmp_path, monkeypatch)
    assert tp._cache_file(settings) not in (None, before)


def test_every_setting_changes_the_cache_key(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from pipelines import training_pipeline as tp

    _cache_on(tmp_path, monkeypatch)
    base = tp.PipelineSettings()
    keys = {tp._cache_file(base)}
    changed = {
        "region": "eu-west-1",
        "max_jobs": 21,
        "accuracy_threshold": 0.5,
        "use_vpc": True,
        "code_prefix": "s3://other/code",
        "strategy": "Random",
        "max_abs_ci": 0.3,
        "bias_facet_values": ("other",),
    }
    for name, value in changed.items():
        keys.add(tp._cache_file(dataclasses.replace(base, **{name: value})))
    assert len(keys) == 1 + len(changed)


@pytest.mark.parametrize("variable", ["PIPELINE_CACHE", "CI", "CODEBUILD_BUILD_ID"])
def test_disk_cache_is_off_where_correctness_matters(tmp_path, monkeypatch, variable) -> None:  # type: ignore[no-untyped-def]
    from pipelines import training_pipeline as tp

    _cache_on(tmp_path, monkeypatch)
    assert tp._cache_file(tp.PipelineSettings()) is not None
    monkeypatch.setenv(variable, "off" if variable == "PIPELINE_CACHE" else "true")
    assert tp._cache_file(tp.PipelineSettings()) is None


def test_in_process_cache_renders_again_when_an_input_changes(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Same settings, changed SDK config in the same process: a fresh render, not the last."""
    from pipelines import training_pipeline as tp

    _cache_on(tmp_path, monkeypatch)
    monkeypatch.setenv("PIPELINE_CACHE", "off")
    renders: list[str] = []
    monkeypatch.setattr(tp, "_render", lambda s: renders.append("r") or f"render {len(renders)}")
    tp.clear_render_cache()
    settings = tp.PipelineSettings(max_jobs=9, max_parallel_jobs=1)
    assert tp.render_definition(settings) == "render 1"
    assert tp.render_definition(settings) == "render 1"  # cached in process
    _change_user_config(tmp_path, monkeypatch)
    assert tp.render_definition(settings) == "render 2"
    tp.clear_render_cache()


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
    RegisterModel names the copy of Preprocess's baseline_statistics.json that
    MonitorBaseline keeps under the execution's own prefix (Preprocess's outputs are
    overwritten by the next run)."""
    gate = steps["QualityGate"]["Arguments"]
    monitor = (
        "Steps.MonitorBaseline.ProcessingOutputConfig.Outputs['monitor-baseline'].S3Output.S3Uri"
    )
    for register in gate["IfSteps"]:
        uri = register["Arguments"]["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]
        assert uri["ContentType"] == "application/json"
        values = uri["S3Uri"]["Std:Join"]["Values"]
        assert values == [{"Get": monitor}, "drift/baseline_statistics.json"]
    output = steps["MonitorBaseline"]["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]
    assert {"Get": "Execution.PipelineExecutionId"} in output["S3Output"]["S3Uri"]["Std:Join"][
        "Values"
    ]
    inputs = {i["InputName"]: i for i in steps["MonitorBaseline"]["Arguments"]["ProcessingInputs"]}
    assert inputs["statistics"]["S3Input"]["S3Uri"] == {
        "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"
    }


def test_served_model_carries_model_monitor_baselines(steps: dict) -> None:
    """The XGBoost package names Model Monitor's data- and model-quality baselines of its own
    execution (ModelMetrics and DriftCheckBaselines); the scikit-learn baseline package only
    the data-quality ones (its accuracy is not what the model-quality schedule watches)."""
    gate = {s["Name"]: s["Arguments"] for s in steps["QualityGate"]["Arguments"]["IfSteps"]}

    def file(source: dict) -> str:
        return source["S3Uri"]["Std:Join"]["Values"][1]

    xgboost = gate["RegisterXGBoost-RegisterModel"]
    assert file(xgboost["ModelMetrics"]["ModelDataQuality"]["Statistics"]) == (
        "data-quality/statistics.json"
    )
    assert file(xgboost["ModelMetrics"]["ModelQuality"]["Constraints"]) == (
        "model-quality/constraints.json"
    )
    assert file(xgboost["DriftCheckBaselines"]["ModelQuality"]["Statistics"]) == (
        "model-quality/statistics.json"
    )
    baseline = gate["RegisterBaseline-RegisterModel"]
    assert "ModelQuality" not in baseline["DriftCheckBaselines"]
    assert "Constraints" not in baseline["ModelMetrics"]["ModelQuality"]


def test_rendering_leaves_no_fake_credentials_behind(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The SDK renders with fake keys; left in os.environ they would outrank a profile or an
    instance role for every later boto3 call in the process (teardown synthesizes, then
    deletes), signing real requests with 'offline' keys."""
    import pipelines.training_pipeline as tp

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    definition = json.loads(tp._render(tp.PipelineSettings()))
    assert boto3.DEFAULT_SESSION is None  # no default session caching the fake keys
    assert definition["Steps"]  # it did render
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        assert key not in os.environ, key
    assert os.environ["AWS_EC2_METADATA_DISABLED"] == "false"


def test_preprocess_receives_the_profiles_bias_gate(steps: dict) -> None:
    """The profile's bias section reaches the Preprocess job's command line in the SDK-built
    definition (the bounds the container enforces), and the defaults are the lab's."""
    from core.config import config_from_dict, load_profile
    from core.pipeline_settings import pipeline_settings

    def gate(arguments: list[str]) -> tuple[list[str], str, str]:
        values = [arguments[i + 1] for i, a in enumerate(arguments) if a == "--bias-facet-value"]
        at = arguments.index
        return values, arguments[at("--max-abs-ci") + 1], arguments[at("--max-abs-dpl") + 1]

    default = steps["Preprocess"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert gate(default) == (["sklearn-digits/scanner-b"], "0.5", "0.1")

    data = json.loads((Path(load_profile.__globals__["CONFIG_DIR"]) / "lab.json").read_text())
    data["bias"] = {"facet_values": ["cam-1", "cam-2"], "max_abs_ci": 0.3, "max_abs_dpl": 0.07}
    settings = pipeline_settings(config_from_dict(data))
    rendered = json.loads(render_definition(settings))
    pre = next(s for s in iter_steps(rendered["Steps"]) if s["Name"] == "Preprocess")
    arguments = pre["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert gate(arguments) == (["cam-1", "cam-2"], "0.3", "0.07")


def test_settings_reject_bias_bounds_outside_the_measures_range() -> None:
    with pytest.raises(ValueError, match="max_abs_ci must be within 0..1"):
        PipelineSettings(max_abs_ci=1.2)
    with pytest.raises(ValueError, match="bias_facet_values"):
        PipelineSettings(bias_facet_values=())
