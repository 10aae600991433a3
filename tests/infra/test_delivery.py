"""Delivery: the CodePipeline that takes an approved model through staging to production."""

from __future__ import annotations

import json
import re

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
        # A failed first create (ROLLBACK_COMPLETE) is replaced in staging, never in production.
        assert cfg["ActionMode"] == (
            "REPLACE_ON_FAILURE" if stage == "DeployStaging" else "CREATE_UPDATE"
        )
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
    # The released version's own samples: the release file (build output) names its metrics.
    assert "--samples-from-release $CODEBUILD_SRC_DIR_" in invoke
    assert invoke.endswith(f"/release/{config.env_name}.json")
    for project in projects.values():
        assert project["Properties"]["Environment"]["PrivilegedMode"] is False
        assert "EncryptionKey" in project["Properties"]


def test_model_approval_starts_the_pipeline(delivery) -> None:  # type: ignore[no-untyped-def]
    config, template = delivery
    every = Template.from_json(template).find_resources("AWS::Events::Rule")
    # the failure alert (issue 26) goes to the alert topic: tests/infra/test_event_flows.py
    (rule,) = [r for k, r in every.items() if not k.startswith("PipelineFailures")]
    assert len(every) == 2, sorted(every)
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {
            "ModelPackageGroupName": [f"{config.env_name}-digits-xgboost"],
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


def _deployment_statements(template: dict) -> dict[str, dict]:
    """The statements of the managed policy attached to the role CloudFormation assumes."""
    t = Template.from_json(template)
    (role_id,) = [
        k
        for k, r in t.find_resources("AWS::IAM::Role").items()
        if k.startswith("DeliveryDeploymentRole")
    ]
    policies = t.find_resources("AWS::IAM::ManagedPolicy")
    (deploy,) = [p for p in policies.values() if {"Ref": role_id} in p["Properties"]["Roles"]]
    return {s.get("Sid"): s for s in deploy["Properties"]["PolicyDocument"]["Statement"]}


def test_deployment_role_passes_only_serving_roles(delivery) -> None:  # type: ignore[no-untyped-def]
    config, template = delivery
    passrole = _deployment_statements(template)["PassHostingRole"]
    assert passrole["Action"] == "iam:PassRole"
    assert passrole["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    # IAM ARNs have no region; the serving stacks' roles live under their stack's IAM path.
    assert sorted(passrole["Resource"]) == [
        f"arn:aws:iam::{config.account}:role/{config.stack_name(unit)}/*"
        for unit in ("Serving", "ServingStaging")
    ]


def _iam_arns(node: object) -> list[str]:
    """Every string (or Fn::Join rendered with its literal parts) that names an IAM ARN."""
    found: list[str] = []
    if isinstance(node, str):
        if ":iam:" in node:
            found.append(node)
    elif isinstance(node, dict):
        if "Fn::Join" in node:
            sep, parts = node["Fn::Join"]
            text = sep.join(p if isinstance(p, str) else json.dumps(p) for p in parts)
            return [text] if ":iam:" in text else []
        for value in node.values():
            found += _iam_arns(value)
    elif isinstance(node, list):
        for value in node:
            found += _iam_arns(value)
    return found


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_no_iam_arn_anywhere_names_a_region(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    """IAM is global: arn:aws:iam::<account>:... A region in the field never matches, so a
    statement naming one grants nothing (cfn-lint I3510). Every template of both profiles."""
    result = synth(profile)
    arns = [a for t in result.templates.values() for a in _iam_arns(t)]
    assert len(arns) >= 10  # the check ran over real ARNs (roles, policies, service-linked)
    with_region = [a for a in arns if re.search(r":iam:[^:]+:", a)]
    assert with_region == []


def test_deploy_actions_may_read_the_bootstrap_version(delivery) -> None:  # type: ignore[no-untyped-def]
    """Every CDK template has the BootstrapVersion SSM parameter: both the role CloudFormation
    assumes and each deploy action's role must be able to read it."""
    config, template = delivery
    arn = (
        f"arn:aws:ssm:{config.region}:{config.account}:parameter/cdk-bootstrap/"
        f"{config.cdk_qualifier}/version"
    )
    assert _deployment_statements(template)["BootstrapVersion"]["Resource"] == arn
    policies = Template.from_json(template).find_resources("AWS::IAM::Policy")
    for stage in ("DeployStaging", "DeployProduction"):
        (policy,) = [p for k, p in policies.items() if k.startswith(f"DeliveryPipeline{stage}")]
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert {
            "Action": "ssm:GetParameters",
            "Effect": "Allow",
            "Resource": arn,
            "Sid": ("BootstrapVersion"),
        } in statements


def test_deployment_role_can_resolve_the_serving_templates_stack_outputs(delivery, synth) -> None:  # type: ignore[no-untyped-def]
    """Fn::GetStackOutput resolves with the deploying role: DescribeStacks on each source."""
    config, template = delivery
    sources: set[str] = set()
    for unit in ("Serving", "ServingStaging"):
        sources |= {o["StackName"] for o in _stack_outputs(synth(config.profile).template(unit))}
    allowed = json.dumps(_deployment_statements(template)["PlatformStackOutputs"]["Resource"])
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
    # Under the env-prefixed pipeline's own prefix (PipelineSettings.output), one file name
    # in any execution's evaluation folder (the execution id is the one wildcard).
    assert re.search(
        r'"/pipelines/(lab|prodlike)-digits-training/Evaluate/\*/evaluation/smoke_samples\.json"'
        r"\]\]\}$",
        resource,
    ), resource
    assert resource.count("*") == 1
