"""Delivery per serving kind: which approvals start it, what the build publishes, how the smoke
test invokes. Each kind's DeliveryStack is synthesized alone, through the compliance gate."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from core.config import load_profile
from infra.compliance.packs import ComplianceReport, acknowledgements, add_compliance_gate
from infra.platform import cdk_json_context
from infra.stacks.delivery_stack import DeliveryStack

KINDS = ("real_time", "multi_model", "multi_container", "async")


@pytest.fixture(scope="module")
def delivery(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[dict, ComplianceReport, list]]:
    out = {}
    lab = load_profile("lab")
    for kind in KINDS:
        config = dataclasses.replace(lab, serving=dataclasses.replace(lab.serving, kind=kind))
        outdir = tmp_path_factory.mktemp(f"delivery-{kind}")
        app = cdk.App(outdir=str(outdir), context=cdk_json_context())
        env = cdk.Environment(account=config.account, region=config.region)
        helper = cdk.Stack(app, "Alerts", env=env)
        topic = sns.Topic.from_topic_arn(helper, "Topic", "arn:aws:sns:us-east-1:111111111111:a")
        stack = DeliveryStack(app, "Delivery", config=config, alert_topic=topic, env=env)
        add_compliance_gate(app)
        try:
            app.synth()
        except RuntimeError as err:
            if "alidation" not in str(err):
                raise
        template = json.loads((Path(outdir) / f"{stack.stack_name}.template.json").read_text())
        out[kind] = (template, ComplianceReport.read(outdir), acknowledgements(outdir))
    return out


def _specs(template: dict) -> dict[str, dict]:
    projects = Template.from_json(template).find_resources("AWS::CodeBuild::Project")
    return {
        key: json.loads(json.dumps(p["Properties"]["Source"]["BuildSpec"]))
        for key, p in projects.items()
    }


def _build_text(template: dict, prefix: str) -> str:
    """The project's buildspec as text (Fn::Join of tokens kept as JSON)."""
    (spec,) = [s for k, s in _specs(template).items() if k.startswith(prefix)]
    return json.dumps(spec)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_passes_the_compliance_gate(delivery, kind: str) -> None:  # type: ignore[no-untyped-def]
    _, report, acks = delivery[kind]
    assert report.violations == [], report.describe_violations()
    assert report.unmatched(acks) == []


@pytest.mark.parametrize(
    ("kind", "groups"),
    [
        ("real_time", ["lab-digits-xgboost"]),
        ("multi_model", ["lab-digits-xgboost"]),
        ("multi_container", ["lab-digits-xgboost", "lab-digits-baseline"]),
        ("async", ["lab-digits-xgboost"]),
    ],
)
def test_approvals_of_the_hosted_groups_start_the_pipeline(
    delivery, kind: str, groups: list
) -> None:  # type: ignore[no-untyped-def]
    """config/lab.json names the groups; a baseline approval matters only to multi_container."""
    rules = Template.from_json(delivery[kind][0]).find_resources("AWS::Events::Rule")
    # the other rule is the failure alert (issue 26): tests/infra/test_event_flows.py
    (rule,) = [r for k, r in rules.items() if not k.startswith("PipelineFailures")]
    assert rule["Properties"]["EventPattern"]["detail"]["ModelPackageGroupName"] == groups


def test_multi_model_build_publishes_to_the_mme_prefix_and_may_write_only_there(delivery) -> None:  # type: ignore[no-untyped-def]
    template = delivery["multi_model"][0]
    build = _build_text(template, "DeliveryBuild")
    assert "labctl release publish --profile lab" in build
    assert "lab-lake-artifacts-bucket-name" in build and "lab-lake-key-arn" in build
    assert build.index("release resolve") < build.index("release publish") < build.index(" synth ")
    policies = Template.from_json(template).find_resources("AWS::IAM::Policy")
    (build_policy,) = [p for k, p in policies.items() if k.startswith("DeliveryBuildRole")]
    puts = [
        s
        for s in build_policy["Properties"]["PolicyDocument"]["Statement"]
        if "s3:PutObject" in json.dumps(s["Action"])
    ]
    assert puts, "the build role cannot write the MME prefix"
    for statement in puts:
        resources = json.dumps(statement["Resource"])
        assert resources.count("/mme/*") == resources.count("lake-artifacts-bucket-arn"), resources


@pytest.mark.parametrize("kind", ["real_time", "multi_container"])
def test_other_kinds_publish_nothing(delivery, kind: str) -> None:  # type: ignore[no-untyped-def]
    assert "release publish" not in _build_text(delivery[kind][0], "DeliveryBuild")


@pytest.mark.parametrize(
    ("kind", "flag"),
    [
        ("real_time", None),
        ("multi_model", "--target-model-from $CODEBUILD_SRC_DIR_Assembly/release/lab.json"),
        ("multi_container", "--target-container xgboost"),
        ("async", "--async --input-location s3://"),
    ],
)
def test_smoke_test_invokes_the_way_the_kind_is_addressed(
    delivery, kind: str, flag: str | None
) -> None:  # type: ignore[no-untyped-def]
    template = delivery[kind][0]
    smoke = _build_text(template, "DeliverySmokeTest")
    if flag is None:
        assert "--target-" not in smoke
    else:
        assert flag in smoke
    (pipeline,) = (
        Template.from_json(template).find_resources("AWS::CodePipeline::Pipeline").values()
    )
    (stage,) = [s for s in pipeline["Properties"]["Stages"] if s["Name"] == "SmokeTest"]
    inputs = [a["Name"] for a in stage["Actions"][0]["InputArtifacts"]]
    # CodeBuild exposes a secondary input artifact as CODEBUILD_SRC_DIR_<artifact name>;
    # every kind reads the release file there (the released version's smoke samples).
    assert inputs == ["Source", "Assembly"]
    assert "--samples-from-release $CODEBUILD_SRC_DIR_Assembly/release/lab.json" in smoke


def test_async_smoke_test_may_upload_invoke_async_and_read_answers_only(delivery) -> None:  # type: ignore[no-untyped-def]
    """The staging endpoint of an async copy answers only InvokeEndpointAsync: the smoke role
    may call it, upload under the staging input prefix and read its output/failure prefixes."""
    template = delivery["async"][0]
    smoke = _build_text(template, "DeliverySmokeTest")
    assert "/async/input/lab-digits-staging/" in smoke
    policies = Template.from_json(template).find_resources("AWS::IAM::Policy")
    (policy,) = [p for k, p in policies.items() if k.startswith("DeliverySmokeTestRole")]
    text = json.dumps(policy["Properties"]["PolicyDocument"]["Statement"])
    assert "sagemaker:InvokeEndpointAsync" in text and "endpoint/lab-digits-staging" in text
    for prefix in ("input", "output", "failure"):
        assert f"/async/{prefix}/lab-digits-staging/*" in text
    assert "/async/output/lab-digits/*" not in text  # not production's answers
