"""Shadow variant in the cloud: the endpoint config's ShadowProductionVariants, the synth-time
rules (SageMaker "Shadow tests: exclusions"), and the release's challenger entry."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns

from core.config import ConfigError, ServingConfig, ShadowConfig, config_from_dict, load_profile
from core.release import Release
from infra.compliance.packs import ComplianceReport, add_compliance_gate
from infra.platform import EXAMPLE_RELEASE, cdk_json_context
from infra.stacks.serving_stack import ServingStack

CHALLENGER_ARN = "arn:aws:sagemaker:us-east-1:111111111111:model-package/digits-xgboost/2"


def _release(challenger: bool = True) -> Release:
    data = json.loads(EXAMPLE_RELEASE.read_text())
    if challenger:
        data["challenger"] = {**data["xgboost"], "package_arn": CHALLENGER_ARN, "version": 2}
    return Release.from_dict(data, "test-release")


def _synth(tmp: Path, serving: ServingConfig, release: Release) -> tuple[dict, ComplianceReport]:
    lab = load_profile("lab")
    config = dataclasses.replace(lab, serving=serving)
    app = cdk.App(outdir=str(tmp), context=cdk_json_context())
    env = cdk.Environment(account=config.account, region=config.region)
    topic = sns.Topic.from_topic_arn(
        cdk.Stack(app, "Alerts", env=env), "Topic", "arn:aws:sns:us-east-1:111111111111:alerts"
    )
    stack = ServingStack(
        app,
        "Serving",
        config=config,
        serving=serving,
        endpoint_name=config.endpoint_name,
        release=release,
        alert_topic=topic,
        network=None,
        env=env,
    )
    add_compliance_gate(app)
    app.synth()
    template = json.loads((tmp / f"{stack.stack_name}.template.json").read_text())
    return template, ComplianceReport.read(tmp)


@pytest.fixture(scope="module")
def shadowed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, ComplianceReport]:
    serving = ServingConfig(shadow=ShadowConfig(enabled=True, sampling_percentage=40))
    return _synth(tmp_path_factory.mktemp("shadow"), serving, _release())


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def test_endpoint_config_has_one_shadow_variant_of_the_challenger(shadowed) -> None:  # type: ignore[no-untyped-def]
    """One production variant (AllTraffic, unchanged) and one shadow variant serving the
    challenger package, isolated, with the replicated share as its weight; data capture on,
    so both variants' answers are captured."""
    template, _ = shadowed
    (config,) = _of_type(template, "AWS::SageMaker::EndpointConfig").values()
    props = config["Properties"]
    assert [v["VariantName"] for v in props["ProductionVariants"]] == ["AllTraffic"]
    (shadow,) = props["ShadowProductionVariants"]
    assert shadow["VariantName"] == "Shadow"
    assert shadow["InitialVariantWeight"] == 0.4
    assert shadow["InstanceType"] == "ml.m5.large"
    assert props["DataCaptureConfig"]["EnableCapture"] is True
    models = _of_type(template, "AWS::SageMaker::Model")
    shadow_model = models[shadow["ModelName"]["Fn::GetAtt"][0]]["Properties"]
    assert shadow_model["PrimaryContainer"] == {"ModelPackageName": CHALLENGER_ARN}
    assert shadow_model["EnableNetworkIsolation"] is True
    production = models[props["ProductionVariants"][0]["ModelName"]["Fn::GetAtt"][0]]
    assert production["Properties"]["PrimaryContainer"]["ModelPackageName"].endswith("/1")


def test_shadow_endpoint_passes_the_compliance_gate(shadowed) -> None:  # type: ignore[no-untyped-def]
    _, report = shadowed
    assert report.violations == []


def test_without_shadow_the_config_has_none(tmp_path: Path) -> None:
    template, _ = _synth(tmp_path, ServingConfig(), _release())
    (config,) = _of_type(template, "AWS::SageMaker::EndpointConfig").values()
    assert "ShadowProductionVariants" not in config["Properties"]
    assert len(_of_type(template, "AWS::SageMaker::Model")) == 1


def test_staging_never_has_a_shadow() -> None:
    serving = ServingConfig(shadow=ShadowConfig(enabled=True))
    assert serving.for_staging().shadow.enabled is False


def test_a_release_without_challenger_is_refused(tmp_path: Path) -> None:
    serving = ServingConfig(shadow=ShadowConfig(enabled=True))
    with pytest.raises(ValueError, match="names no challenger: resolve it again"):
        _synth(tmp_path, serving, _release(challenger=False))


@pytest.mark.parametrize(
    ("serving", "message"),
    [
        (
            {"kind": "multi_model"},
            "multi_model endpoints cannot have a shadow variant .*shadow tests exclude",
        ),
        ({"kind": "multi_container"}, "multi_container endpoints cannot have a shadow"),
        (
            {"kind": "serverless", "data_capture": False},
            "serverless endpoints cannot have a shadow variant",
        ),
        ({"instance_type": "ml.inf1.xlarge"}, r"ml.inf1.xlarge \(Inf1\) endpoints cannot have"),
        ({"data_capture": False}, "serving.shadow needs serving.data_capture=true"),
        ({"shadow": {"enabled": True, "sampling_percentage": 0}}, "sampling_percentage must be"),
    ],
)
def test_shadow_rules_fail_at_synth(serving: dict, message: str) -> None:
    data = json.loads((Path(__file__).parents[2] / "config" / "lab.json").read_text())
    data["monitoring"] = {"engine": "none"}
    data["serving"] = {"shadow": {"enabled": True}, **serving}
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)


def test_challenger_must_be_newer_and_in_the_xgboost_group() -> None:
    data = json.loads(EXAMPLE_RELEASE.read_text())
    data["challenger"] = dict(data["xgboost"])
    with pytest.raises(ValueError, match="challenger version 1 must be newer"):
        Release.from_dict(data)
    data["challenger"] = {
        **data["baseline"],
        "package_arn": data["baseline"]["package_arn"][:-1] + "2",
        "version": 2,
    }
    groups = {"xgboost": "digits-xgboost", "baseline": "digits-baseline"}
    with pytest.raises(ValueError, match="challenger.package_arn is in group 'digits-baseline'"):
        Release.from_dict(data, groups=groups)


def test_resolve_takes_the_newest_approved_as_challenger() -> None:
    """With serving.shadow on, `labctl release resolve` pins the newest Approved version as
    the challenger and the newest before it as production (botocore Stubber as SageMaker)."""
    from datetime import UTC, datetime

    import boto3
    from botocore.stub import ANY, Stubber

    from ops.release import resolve_release

    lab = load_profile("lab")
    config = dataclasses.replace(
        lab, serving=dataclasses.replace(lab.serving, shadow=ShadowConfig(enabled=True))
    )
    group = config.model_package_group
    client = boto3.client("sagemaker", region_name="us-east-1")
    arn = f"arn:aws:sagemaker:us-east-1:111111111111:model-package/{group}/"
    listing = {
        "ModelPackageSummaryList": [
            {
                "ModelPackageArn": arn + str(v),
                "ModelPackageGroupName": group,
                "ModelPackageVersion": v,
                "CreationTime": datetime(2026, 12, 1, v, tzinfo=UTC),
                "ModelPackageStatus": "Completed",
            }
            for v in (3, 2)
        ]
    }

    def describe(v: int) -> dict:
        return {
            "ModelPackageName": group,
            "ModelPackageArn": arn + str(v),
            "ModelPackageVersion": v,
            "CreationTime": datetime(2026, 12, 1, tzinfo=UTC),
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": []},
            "InferenceSpecification": {
                "Containers": [{"Image": "img:1", "ModelDataUrl": f"s3://b/v{v}.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        }

    with Stubber(client) as stub:
        # the first (xgboost) lookup of resolve_release, then challenger, then production
        for v in (3, 3, 2):
            stub.add_response(
                "list_model_packages",
                listing,
                {
                    k: ANY
                    for k in (
                        "ModelPackageGroupName",
                        "ModelApprovalStatus",
                        "SortBy",
                        "SortOrder",
                        "MaxResults",
                    )
                },
            )
            stub.add_response("describe_model_package", describe(v), {"ModelPackageName": ANY})
        release = resolve_release(client, config)
    assert (release["xgboost"]["version"], release["challenger"]["version"]) == (2, 3)
