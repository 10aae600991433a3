"""Delivery: the CodePipeline that takes an approved model through staging to production."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template


@pytest.fixture(scope="module", params=["lab", "prod-like"])
def delivery(request: pytest.FixtureRequest, synth) -> tuple[object, dict]:  # type: ignore[no-untyped-def]
    result = synth(request.param)
    return result.platform.config, result.template("Delivery")


def _pipeline(template: dict) -> dict:
    (pipeline,) = (
        Template.from_json(template).find_resources("AWS::CodePipeline::Pipeline").values()
    )
    return pipeline["Properties"]


def test_stages_run_staging_before_approval_before_production(delivery) -> None:  # type: ignore[no-untyped-def]
    _, template = delivery
    props = _pipeline(template)
    assert props["PipelineType"] == "V2"
    assert [s["Name"] for s in props["Stages"]] == [
        "Source",
        "Build",
        "DeployStaging",
        "SmokeTest",
        "Approve",
        "DeployProduction",
    ]


def test_source_is_an_s3_bundle_by_default(delivery) -> None:  # type: ignore[no-untyped-def]
    _, template = delivery
    (action,) = _pipeline(template)["Stages"][0]["Actions"]
    assert action["ActionTypeId"]["Provider"] == "S3"
    assert action["Configuration"]["S3ObjectKey"] == "source/bundle.zip"
    assert action["Configuration"]["PollForSourceChanges"] is False


def test_deploy_stages_target_the_staging_and_production_serving_stacks(delivery) -> None:  # type: ignore[no-untyped-def]
    config, template = delivery
    stages = {s["Name"]: s["Actions"] for s in _pipeline(template)["Stages"]}
    for stage, unit in (("DeployStaging", "ServingStaging"), ("DeployProduction", "Serving")):
        (action,) = stages[stage]
        assert action["ActionTypeId"]["Provider"] == "CloudFormation"
        cfg = action["Configuration"]
        assert cfg["StackName"] == config.stack_name(unit)
        assert cfg["TemplatePath"] == f"Assembly::cdk.out/{config.stack_name(unit)}.template.json"
        assert cfg["ActionMode"] == "CREATE_UPDATE"
    (approval,) = stages["Approve"]
    assert approval["ActionTypeId"]["Category"] == "Approval"
    assert "blue/green" in approval["Configuration"]["CustomData"]
    assert "NotificationArn" in approval["Configuration"]


def _joined(value: object) -> str:
    """A buildspec with a token (the artifacts bucket's name) is an Fn::Join: the token
    becomes <token> so the JSON text can be read."""
    if isinstance(value, str):
        return value
    assert isinstance(value, dict) and set(value) == {"Fn::Join"}, value
    separator, parts = value["Fn::Join"]
    return separator.join(p if isinstance(p, str) else "<token>" for p in parts)


def test_build_resolves_the_release_then_runs_the_gate(delivery) -> None:  # type: ignore[no-untyped-def]
    config, template = delivery
    projects = Template.from_json(template).find_resources("AWS::CodeBuild::Project")
    specs = {
        k: json.loads(_joined(p["Properties"]["Source"]["BuildSpec"])) for k, p in projects.items()
    }
    build = next(s for k, s in specs.items() if k.startswith("DeliveryBuild"))
    commands = build["phases"]["build"]["commands"]
    assert commands[0].startswith(
        f".venv/bin/python -m labctl release resolve --profile {config.profile}"
    )
    assert " labctl synth " in commands[1] and "--outdir cdk.out" in commands[1]
    assert build["artifacts"]["files"] == ["cdk.out/**/*", "release/**/*"]
    smoke = next(s for k, s in specs.items() if k.startswith("DeliverySmokeTest"))
    (invoke,) = smoke["phases"]["build"]["commands"]
    assert f"--endpoint {config.staging_endpoint_name}" in invoke
    assert "--samples s3://<token>/pipelines/" in invoke
    assert invoke.endswith("/Evaluate/evaluation/smoke_samples.json")
    for project in projects.values():
        assert project["Properties"]["Environment"]["PrivilegedMode"] is False
        assert "EncryptionKey" in project["Properties"]


def test_model_approval_starts_the_pipeline(delivery) -> None:  # type: ignore[no-untyped-def]
    config, template = delivery
    (rule,) = Template.from_json(template).find_resources("AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {
            "ModelPackageGroupName": [config.training.model_package_group],
            "ModelApprovalStatus": ["Approved"],
        },
    }
    (target,) = rule["Properties"]["Targets"]
    assert "codepipeline" in json.dumps(target["Arn"])


def test_no_role_gets_administrator_access(delivery) -> None:  # type: ignore[no-untyped-def]
    _, template = delivery
    text = json.dumps(template)
    assert "AdministratorAccess" not in text
    policies = Template.from_json(template).find_resources("AWS::IAM::Policy")
    for policy in policies.values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            assert "*" not in actions and not any(a.endswith(":*") for a in actions), statement


def test_deployment_role_passes_only_serving_roles(delivery) -> None:  # type: ignore[no-untyped-def]
    config, template = delivery
    policies = Template.from_json(template).find_resources("AWS::IAM::Policy")
    deploy = next(p for k, p in policies.items() if k.startswith("DeliveryDeploymentRole"))
    statements = {s.get("Sid"): s for s in deploy["Properties"]["PolicyDocument"]["Statement"]}
    passrole = statements["PassHostingRoles"]
    assert passrole["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    assert f"role/{config.env_name}-Serving*" in json.dumps(passrole["Resource"])


def test_deployment_role_can_resolve_the_serving_templates_stack_outputs(delivery, synth) -> None:  # type: ignore[no-untyped-def]
    """Fn::GetStackOutput resolves with the deploying role: DescribeStacks on each source."""
    config, template = delivery
    serving = json.dumps(synth(config.profile).template("Serving"))
    sources = {o["StackName"] for o in _stack_outputs(json.loads(serving))}
    policies = Template.from_json(template).find_resources("AWS::IAM::Policy")
    deploy = next(p for k, p in policies.items() if k.startswith("DeliveryDeploymentRole"))
    statements = {s.get("Sid"): s for s in deploy["Properties"]["PolicyDocument"]["Statement"]}
    allowed = json.dumps(statements["ReadPlatformStackOutputs"]["Resource"])
    assert sources and all(f"stack/{name}/*" in allowed for name in sources)


def _stack_outputs(node: object) -> list[dict]:
    found = []
    if isinstance(node, dict):
        if "Fn::GetStackOutput" in node:
            found.append(node["Fn::GetStackOutput"])
        for value in node.values():
            found += _stack_outputs(value)
    elif isinstance(node, list):
        for value in node:
            found += _stack_outputs(value)
    return found


def test_smoke_test_reads_only_the_published_samples(delivery) -> None:  # type: ignore[no-untyped-def]
    _, template = delivery
    policies = Template.from_json(template).find_resources("AWS::IAM::Policy")
    smoke = [p for k, p in policies.items() if k.startswith("DeliverySmokeTest")]
    statements = [s for p in smoke for s in p["Properties"]["PolicyDocument"]["Statement"]]
    (get,) = [s for s in statements if s["Action"] == "s3:GetObject"]
    resource = json.dumps(get["Resource"])
    assert resource.endswith(
        '"/pipelines/digits-training/Evaluate/evaluation/smoke_samples.json"]]}'
    )
    assert "*" not in resource
