"""The multi-account example profile: placement, authority on both sides, deployment, the
compliance gate and the rehearsal. Expected values are written from the AWS pages cited in
``core/accounts.py`` and from the profile, not read back from the code under test."""

from __future__ import annotations

import json
from typing import Any

from assurance.rehearsal import rehearse
from assurance.rehearsal.authority import role_policies
from infra.compliance.packs import ComplianceReport, acknowledgements

TOOLING, STAGING, PRODUCTION = "111111111111", "333333333333", "444444444444"
ROOTS = [f"arn:aws:iam::{STAGING}:root", f"arn:aws:iam::{PRODUCTION}:root"]


def _resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def _one(template: dict[str, Any], type_: str, prefix: str = "") -> dict[str, Any]:
    (found,) = [v for k, v in _resources(template, type_).items() if k.startswith(prefix)]
    return found["Properties"]


def _statement(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    (found,) = [s for s in statements if s.get("Sid") == sid]
    return found


# -- placement ---------------------------------------------------------------------------------


def test_each_stack_lands_in_its_account(multi) -> None:  # type: ignore[no-untyped-def]
    assert multi.stack_accounts == {
        "multi-Operations": TOOLING,
        "multi-DataLake": TOOLING,
        "multi-Network": TOOLING,
        "multi-Ingestion": TOOLING,
        "multi-Training": TOOLING,
        "multi-Delivery": TOOLING,
        "multi-ServingStaging": STAGING,
        "multi-StagingTarget": STAGING,
        "multi-Serving": PRODUCTION,
        "multi-ProductionTarget": PRODUCTION,
        "multi-Monitoring": PRODUCTION,  # issue 25: beside the endpoint it watches
    }


def test_a_target_stack_holds_its_key_capture_bucket_network_and_roles(multi) -> None:  # type: ignore[no-untyped-def]
    t = multi.templates["multi-StagingTarget"]
    keys = [k["Properties"]["Description"] for k in _resources(t, "AWS::KMS::Key").values()]
    assert "Endpoint volumes and data capture in this account" in keys
    assert _resources(t, "AWS::S3::Bucket"), "its own capture bucket"
    assert _resources(t, "AWS::EC2::VPC"), "network.mode='isolated': the target has its VPC"
    roles = {
        p["Properties"].get("RoleName"): p["Properties"]
        for p in _resources(t, "AWS::IAM::Role").values()
    }
    assert {"multi-deploy-action", "multi-deploy-cfn", "multi-smoke-test"} <= set(roles)
    assert all(roles[n]["Path"] == "/multi-target/" for n in ("multi-deploy-action",))
    production = multi.templates["multi-ProductionTarget"]
    names = {
        p["Properties"].get("RoleName") for p in _resources(production, "AWS::IAM::Role").values()
    }
    assert "multi-retrain-forward" in names and "multi-smoke-test" not in names


def test_serving_in_a_target_writes_capture_to_its_own_bucket_and_key(multi) -> None:  # type: ignore[no-untyped-def]
    config = _one(multi.templates["multi-Serving"], "AWS::SageMaker::EndpointConfig")
    capture = config["DataCaptureConfig"]
    for value in (capture["DestinationS3Uri"], capture["KmsKeyId"], config["KmsKeyId"]):
        assert "multi-ProductionTarget" in str(value), value


# -- authority on both sides ------------------------------------------------------------------


def test_group_policy_lets_the_targets_read_and_create_models_only(multi) -> None:  # type: ignore[no-untyped-def]
    group = _one(
        multi.templates["multi-Training"], "AWS::SageMaker::ModelPackageGroup", "TrainingXGBoost"
    )
    every = group["ModelPackageGroupPolicy"]["Statement"]
    statements = [s for s in every if s["Sid"].startswith("Targets")]
    on_group, on_versions = statements
    # and production's monitoring roles describe versions only (issue 25)
    (monitoring,) = [s for s in every if s not in statements]
    assert monitoring["Action"] == ["sagemaker:DescribeModelPackage"]
    assert monitoring["Condition"] == {
        "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{PRODUCTION}:role/multi-monitoring/*"}
    }
    assert on_group["Action"] == ["sagemaker:DescribeModelPackageGroup"]
    assert on_group["Resource"].endswith(f"{TOOLING}:model-package-group/multi-digits-xgboost")
    assert sorted(on_versions["Action"]) == [
        "sagemaker:CreateModel",
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
    ]
    assert on_versions["Resource"].endswith(":model-package/multi-digits-xgboost/*")
    for s in statements:
        assert s["Principal"] == {"AWS": ROOTS}
        assert s["Condition"] == {
            "ArnLike": {
                "aws:PrincipalArn": [
                    f"arn:aws:iam::{STAGING}:role/multi-target/multi-deploy-cfn",
                    f"arn:aws:iam::{PRODUCTION}:role/multi-target/multi-deploy-cfn",
                ]
            }
        }


def test_artifacts_bucket_opens_the_model_prefixes_only(multi) -> None:  # type: ignore[no-untyped-def]
    a = multi.assembly()
    (policy,) = [
        p
        for p in a.resources("multi-DataLake", "AWS::S3::BucketPolicy")
        if p.logical_id.startswith("LakeArtifacts")
    ]
    doc = a.resolve(policy.stack, policy.properties["PolicyDocument"])
    s = _statement(doc["Statement"], "TargetEndpointsReadModels")
    bucket = multi.release["artifacts"]["bucket_arn"]
    assert s["Action"] == "s3:GetObject"
    assert sorted(s["Resource"]) == [
        f"{bucket}/pipelines/multi-digits-training/TrainBaseline/*",
        f"{bucket}/pipelines/multi-digits-training/Tune/*",
    ]
    assert s["Principal"] == {"AWS": ROOTS}
    assert s["Condition"]["ArnLike"]["aws:PrincipalArn"] == [
        f"arn:aws:iam::{STAGING}:role/multi-ServingStaging/*",
        f"arn:aws:iam::{PRODUCTION}:role/multi-Serving/*",
    ]


def test_lake_key_decrypts_for_the_targets_only_through_s3(multi) -> None:  # type: ignore[no-untyped-def]
    key = _one(multi.templates["multi-DataLake"], "AWS::KMS::Key", "LakeKey")
    s = _statement(key["KeyPolicy"]["Statement"], "TargetEndpointsDecryptModelsViaS3")
    assert "kms:Decrypt" in s["Action"] and s["Principal"] == {"AWS": ROOTS}
    assert s["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-east-1.amazonaws.com"}


def test_no_resource_policy_names_a_role_of_another_account(multi) -> None:  # type: ignore[no-untyped-def]
    """Principals are account roots (a role that does not exist yet is an invalid principal)."""
    a = multi.assembly()
    from assurance.rehearsal.cross_account import _policies

    for stack, key, st in _policies(a):
        principal = st.get("Principal")
        names = principal.get("AWS", []) if isinstance(principal, dict) else []
        for n in names if isinstance(names, list) else [names]:
            if f"::{TOOLING}:" not in n and n != "*":
                assert n.endswith(":root"), (stack, key, n)


def test_retrain_bus_policy_names_the_production_account(multi) -> None:  # type: ignore[no-untyped-def]
    policy = _one(multi.templates["multi-Training"], "AWS::Events::EventBusPolicy")
    assert policy["EventBusName"] == "default"
    assert policy["Statement"]["Principal"] == {"AWS": f"arn:aws:iam::{PRODUCTION}:root"}
    assert policy["Statement"]["Action"] == "events:PutEvents"


# -- deployment ---------------------------------------------------------------------------------


def test_deploy_actions_use_the_target_owned_roles(multi) -> None:  # type: ignore[no-untyped-def]
    pipeline = _one(multi.templates["multi-Delivery"], "AWS::CodePipeline::Pipeline")
    actions = {s["Name"]: s["Actions"][0] for s in pipeline["Stages"]}
    for stage, account in (("DeployStaging", STAGING), ("DeployProduction", PRODUCTION)):
        action = actions[stage]
        assert action["RoleArn"] == f"arn:aws:iam::{account}:role/multi-target/multi-deploy-action"
        assert action["Configuration"]["RoleArn"] == (
            f"arn:aws:iam::{account}:role/multi-target/multi-deploy-cfn"
        )
    assert list(actions) == [
        "Source",
        "Build",
        "DeployStaging",
        "SmokeTest",
        "Approve",
        "DeployProduction",
    ]
    assert actions["Approve"]["ActionTypeId"]["Category"] == "Approval"


def test_action_roles_trust_only_the_tooling_pipeline_role(multi) -> None:  # type: ignore[no-untyped-def]
    for target in ("multi-StagingTarget", "multi-ProductionTarget"):
        role = _one(multi.templates[target], "AWS::IAM::Role", "DeployActionRole")
        (st,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert st["Principal"] == {"AWS": f"arn:aws:iam::{TOOLING}:root"}
        assert st["Condition"] == {
            "ArnLike": {
                "aws:PrincipalArn": f"arn:aws:iam::{TOOLING}:role/multi-delivery-pipeline/*"
            }
        }
    pipeline_role = _one(
        multi.templates["multi-Delivery"], "AWS::IAM::Role", "DeliveryPipelineRole"
    )
    assert pipeline_role["Path"] == "/multi-delivery-pipeline/"


def test_smoke_test_assumes_the_staging_role(multi) -> None:  # type: ignore[no-untyped-def]
    a = multi.assembly()
    (project,) = [
        p
        for p in a.resources("multi-Delivery", "AWS::CodeBuild::Project")
        if p.logical_id.startswith("DeliverySmokeTest")
    ]
    spec = str(a.resolve(project.stack, project.properties["Source"]["BuildSpec"]))
    assert f"arn:aws:iam::{STAGING}:role/multi-target/multi-smoke-test" in spec
    assert "AWS_PROFILE=staging" in spec


def test_serving_stacks_read_nothing_from_tooling_but_the_release(multi) -> None:  # type: ignore[no-untyped-def]
    import json

    for name in ("multi-ServingStaging", "multi-Serving"):
        text = json.dumps(multi.templates[name])
        assert "Fn::ImportValue" not in text
        assert "multi-lake-" not in text  # no tooling export names
        assert multi.release["xgboost"]["package_arn"] in text
        assert multi.release["artifacts"]["key_arn"] in text


# -- gate and rehearsal --------------------------------------------------------------------------


def test_the_profile_passes_the_compliance_gate(multi) -> None:  # type: ignore[no-untyped-def]
    assert multi.error == ""
    report = ComplianceReport.read(multi.outdir)
    assert report.violations == [], report.describe_violations()
    assert report.unmatched(acknowledgements(multi.outdir)) == []


def test_the_profile_passes_the_rehearsal(multi) -> None:  # type: ignore[no-untyped-def]
    a = multi.assembly()
    report = rehearse(a, lint=False, release=multi.release)
    print(report.render())
    assert report.findings == [], report.render()
    checked = {r.role for r in report.requirements}
    assert set(role_policies(a)) <= checked


def test_the_rehearsal_checks_every_cross_account_flow(multi) -> None:  # type: ignore[no-untyped-def]
    """The flows named in issue 17 are all among those checked."""
    from assurance.rehearsal.cross_account import identity_flows, pipeline_flows, release_flows

    a = multi.assembly()
    flows = identity_flows(a) + pipeline_flows(a) + release_flows(a, multi.release)
    seen = {(f.role.split("/")[0], f.action) for f in flows}
    for stack in ("multi-StagingTarget", "multi-ProductionTarget"):
        assert (stack, "sagemaker:CreateModel") in seen
        assert (stack, "sagemaker:DescribeModelPackage") in seen
        assert (stack, "s3:GetObject") in seen  # pipeline artifacts
        assert (stack, "kms:Decrypt") in seen
    for stack in ("multi-ServingStaging", "multi-Serving"):
        assert (stack, "s3:GetObject") in seen and (stack, "kms:Decrypt") in seen
    assert ("multi-Delivery", "sts:AssumeRole") in seen
    assert ("multi-ProductionTarget", "events:PutEvents") in seen


def test_the_profile_budget_covers_its_idle_cost(multi) -> None:  # type: ignore[no-untyped-def]
    """app.py refuses an account's budget below that account's idle cost; the example must
    synthesize through it."""
    from core.cost import check_account_budgets

    assert check_account_budgets(multi.config, multi.templates) is None


def test_the_staging_smoke_test_reads_the_released_versions_samples_then_invokes_as_staging(
    multi,  # type: ignore[no-untyped-def]
) -> None:
    """Across accounts the smoke build copies the samples beside the released version's metrics
    (the release file in the Assembly artifact names them) with its own role, then invokes as
    the staging account's smoke role; never a fixed Evaluate folder a newer run overwrites."""
    projects = _resources(multi.templates["multi-Delivery"], "AWS::CodeBuild::Project")
    (smoke,) = [
        json.dumps(p["Properties"]["Source"]["BuildSpec"])
        for k, p in projects.items()
        if k.startswith("DeliverySmokeTest")
    ]
    assert "release_samples" in smoke
    assert "$CODEBUILD_SRC_DIR_Assembly/release/multi.json" in smoke
    assert "AWS_PROFILE=staging" in smoke and "--samples smoke_samples.json" in smoke
    assert "Evaluate/evaluation" not in smoke
