"""Training unit: the deployed pipeline definition, registry groups, triggers, role."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from pipelines import training_pipeline as tp
from pipelines.checks import check_definition


@pytest.fixture(scope="module", params=["lab", "prod-like"])
def training(request: pytest.FixtureRequest, synth) -> tuple[object, dict]:  # type: ignore[no-untyped-def]
    result = synth(request.param)
    return result.platform.config, result.template("Training")


def _pipeline(template: dict) -> dict:
    pipelines = Template.from_json(template).find_resources("AWS::SageMaker::Pipeline").values()
    # The Training stack also holds the scoring pipeline (tests/infra/test_scoring_pipeline.py).
    (pipeline,) = [p for p in pipelines if "-digits-training" in str(p["Properties"])]
    return pipeline["Properties"]


def test_definition_tokens_resolve_to_fn_join_without_placeholders(training) -> None:  # type: ignore[no-untyped-def]
    """The offline-rendered JSON reaches CloudFormation as Fn::Join over real references."""
    config, template = training
    props = _pipeline(template)
    # Env-prefixed so two profiles can share an account (hand-written, not derived).
    assert (
        props["PipelineName"]
        == {"lab": "lab", "prod-like": "prodlike"}[config.profile] + "-digits-training"
    )
    body = props["PipelineDefinition"]["PipelineDefinitionBody"]
    assert set(body) == {"Fn::Join"}
    text = json.dumps(body)
    for placeholder in tp.PLACEHOLDERS:
        assert placeholder not in text, placeholder
    env = config.env_name
    for export in ("artifacts-bucket-name", "raw-bucket-name", "key-arn"):
        assert {"Fn::ImportValue": f"{env}-lake-{export}"} in body["Fn::Join"][1], export
    assert any(isinstance(p, dict) and "Fn::GetAtt" in p for p in body["Fn::Join"][1])


def test_deployed_definition_passes_the_job_checks(training) -> None:  # type: ignore[no-untyped-def]
    """Joining the template's parts with stand-ins gives a definition every job check accepts."""
    config, template = training
    parts = _pipeline(template)["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Join"][1]
    definition = json.loads("".join(p if isinstance(p, str) else "resolved" for p in parts))
    assert check_definition(definition, require_vpc=config.network.mode == "isolated") == []
    names = {s["Name"] for s in definition["Steps"]}
    assert {"Preprocess", "Tune", "TrainBaseline", "Evaluate", "QualityGate"} <= names


def test_model_package_groups_exist_for_both_models(training) -> None:  # type: ignore[no-untyped-def]
    config, template = training
    groups = Template.from_json(template).find_resources("AWS::SageMaker::ModelPackageGroup")
    names = {g["Properties"]["ModelPackageGroupName"] for g in groups.values()}
    env = config.env_name
    assert names == {f"{env}-digits-xgboost", f"{env}-digits-baseline"}


def test_triggers_start_the_pipeline_with_parameters(training) -> None:  # type: ignore[no-untyped-def]
    config, template = training
    every = Template.from_json(template).find_resources("AWS::Events::Rule")
    # the failure alerts (issue 26) go to the alert topic: tests/infra/test_event_flows.py
    alerts = {k for k in every if k.startswith(("PipelineFailures", "StepFailures"))}
    assert len(alerts) == 2, sorted(every)
    rules = {k: r for k, r in every.items() if k not in alerts}
    patterns = {
        json.dumps(r["Properties"]["EventPattern"], sort_keys=True): r for r in rules.values()
    }
    assert len(rules) == 2
    for rule in rules.values():
        (target,) = rule["Properties"]["Targets"]
        assert f"pipeline/{config.env_name}-digits-training" in json.dumps(target["Arn"])
        params = target["SageMakerPipelineParameters"]["PipelineParameterList"]
        assert [p["Name"] for p in params] == ["InputDataUrl"]
    drift = [r for k, r in patterns.items() if "RetrainRequested" in k]
    assert drift and drift[0]["Properties"]["EventPattern"]["source"] == ["mlops.platform"]
    dataset = [r for k, r in patterns.items() if "Object Created" in k][0]
    assert dataset["Properties"]["EventPattern"]["detail"]["object"] == {
        "key": [{"prefix": "datasets/"}]
    }


def test_pipeline_role_passes_only_itself_to_sagemaker(training) -> None:  # type: ignore[no-untyped-def]
    _, template = training
    policies = Template.from_json(template).find_resources("AWS::IAM::Policy")
    run = [p for k, p in policies.items() if "PipelineRunPolicy" in k][0]
    statements = {s["Sid"]: s for s in run["Properties"]["PolicyDocument"]["Statement"]}
    passrole = statements["PassOwnRoleToJobs"]
    assert passrole["Action"] == "iam:PassRole"
    assert passrole["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    assert "ExecutionRole" in json.dumps(passrole["Resource"])
    assert (
        "*" not in json.dumps(statements["RegisterModels"]["Resource"]).split("model-package/")[0]
    )


def test_pipeline_role_pulls_only_the_definitions_images_and_grants_only_for_jobs(training) -> None:  # type: ignore[no-untyped-def]
    config, template = training
    policies = Template.from_json(template).find_resources("AWS::IAM::Policy")
    run = [p for k, p in policies.items() if "PipelineRunPolicy" in k][0]
    statements = {s["Sid"]: s for s in run["Properties"]["PolicyDocument"]["Statement"]}
    repos = json.dumps(statements["PullJobImages"]["Resource"])
    assert f":ecr:{config.region}:" in repos
    assert "repository/sagemaker-xgboost" in repos and "repository/sagemaker-scikit-learn" in repos
    grants = statements["JobVolumeKeyGrants"]
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert grants["Resource"] == {"Fn::ImportValue": f"{config.env_name}-lake-key-arn"}


def test_deployed_baseline_package_carries_its_serving_entry_point(training) -> None:  # type: ignore[no-untyped-def]
    """The synthesized pipeline registers the baseline with the environment the scikit-learn
    serving container needs to import model_fn (the multi_container endpoint loads it)."""
    _, template = training
    parts = _pipeline(template)["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Join"][1]
    definition = json.loads("".join(p if isinstance(p, str) else "resolved" for p in parts))
    gate = next(s for s in definition["Steps"] if s["Name"] == "QualityGate")
    (baseline,) = [
        s for s in gate["Arguments"]["IfSteps"] if s["Name"].startswith("RegisterBaseline")
    ]
    (container,) = baseline["Arguments"]["InferenceSpecification"]["Containers"]
    assert container["Environment"] == {
        "SAGEMAKER_PROGRAM": "baseline_inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    }
