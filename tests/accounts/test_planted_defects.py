"""Negative proof for issue 17: plant one defect in a copy of the multi-account templates (or
its release) and see the check name it; each test also runs the control without the plant."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest

from assurance.rehearsal import rehearse
from assurance.rehearsal.assembly import Assembly
from assurance.rehearsal.authority import Finding
from core.release import Release
from infra.compliance.no_cross_account_refs import NoReferencesAcrossAccounts

STAGING_ROOT = "arn:aws:iam::333333333333:root"


def _findings(a: Assembly, release: dict[str, Any]) -> list[Finding]:
    return rehearse(a, lint=False, release=release).findings


def _details(findings: list[Finding]) -> str:
    return "\n".join(f"{f.subject}: {f.detail}" for f in findings)


def _resource(a: Assembly, stack: str, type_: str, prefix: str = "") -> dict[str, Any]:
    (found,) = [
        body
        for logical, body in a.templates[stack]["Resources"].items()
        if body["Type"] == type_ and logical.startswith(prefix)
    ]
    return found["Properties"]


def _sid(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    (found,) = [s for s in statements if s.get("Sid") == sid]
    return found


def test_control_has_no_cross_account_findings(multi) -> None:  # type: ignore[no-untyped-def]
    assert _findings(multi.assembly(), multi.release) == []


def test_staging_root_missing_from_the_key_policy(multi) -> None:  # type: ignore[no-untyped-def]
    a = multi.assembly()
    key = _resource(a, "multi-DataLake", "AWS::KMS::Key", "LakeKey")
    statement = _sid(key["KeyPolicy"]["Statement"], "TargetEndpointsDecryptModelsViaS3")
    statement["Principal"]["AWS"].remove(STAGING_ROOT)
    found = _details(_findings(a, multi.release))
    assert "multi-ServingStaging/EndpointRole" in found
    assert "does not allow kms:Decrypt" in found
    assert "multi-Serving/EndpointRole" not in found.replace("multi-ServingStaging", "")


def test_create_model_missing_from_the_group_policy(multi) -> None:  # type: ignore[no-untyped-def]
    a = multi.assembly()
    group = _resource(a, "multi-Training", "AWS::SageMaker::ModelPackageGroup", "TrainingXGBoost")
    versions = _sid(group["ModelPackageGroupPolicy"]["Statement"], "TargetsUseVersions")
    versions["Action"].remove("sagemaker:CreateModel")
    found = _details(_findings(a, multi.release))
    for target in ("multi-StagingTarget", "multi-ProductionTarget"):
        assert f"{target}/DeploymentRole" in found
    assert "does not allow sagemaker:CreateModel" in found


def test_a_package_name_instead_of_an_arn_in_the_release(multi) -> None:  # type: ignore[no-untyped-def]
    release = json.loads(json.dumps(multi.release))
    release["xgboost"]["package_arn"] = "multi-digits-xgboost"
    with pytest.raises(ValueError, match="is not a model package version ARN"):
        Release.from_dict(release)
    # and in a template, whatever wrote it: the model would resolve the name in its own account
    a = multi.assembly()
    model = _resource(a, "multi-Serving", "AWS::SageMaker::Model")
    model["PrimaryContainer"]["ModelPackageName"] = "multi-digits-xgboost"
    found = _details(_findings(a, multi.release))
    assert "ModelPackageName 'multi-digits-xgboost' is not a model package version ARN" in found


def test_a_serving_stack_importing_a_tooling_export(multi) -> None:  # type: ignore[no-untyped-def]
    a = multi.assembly()
    model = _resource(a, "multi-Serving", "AWS::SageMaker::Model")
    model["Tags"] = [{"Key": "lake", "Value": {"Fn::ImportValue": "multi-lake-key-arn"}}]
    found = _details(_findings(a, multi.release))
    assert "multi-Serving (account 444444444444): Fn::ImportValue multi-lake-key-arn" in found
    assert "exported by multi-DataLake (account 111111111111)" in found


def test_the_synth_time_check_refuses_an_import_across_accounts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The plugin the platform adds in multi-account mode fails the synth itself."""

    def app(account: str) -> cdk.App:
        app = cdk.App(outdir=str(tmp_path / account))
        tooling = cdk.Stack(
            app, "Tooling", env=cdk.Environment(account="111111111111", region="us-east-1")
        )
        cdk.CfnOutput(tooling, "Key", value="k", export_name="tooling-key")
        serving = cdk.Stack(
            app, "Serving", env=cdk.Environment(account=account, region="us-east-1")
        )
        cdk.CfnOutput(serving, "Read", value=cdk.Fn.import_value("tooling-key"))
        accounts = {"Tooling": "111111111111", "Serving": account}
        cdk.Validations.of(app).add_plugins(NoReferencesAcrossAccounts(accounts))
        return app

    app("111111111111").synth()  # control: the same account
    with pytest.raises(RuntimeError, match="(?i)validation"):
        app("444444444444").synth()
    report = json.loads((tmp_path / "444444444444" / "validation-report.json").read_text())
    assert "tooling-key is exported by Tooling" in json.dumps(report)


def test_a_write_action_granted_to_a_target(multi) -> None:  # type: ignore[no-untyped-def]
    a = multi.assembly()
    group = _resource(a, "multi-Training", "AWS::SageMaker::ModelPackageGroup", "TrainingXGBoost")
    _sid(group["ModelPackageGroupPolicy"]["Statement"], "TargetsUseVersions")["Action"].append(
        "sagemaker:UpdateModelPackage"
    )
    found = _details(_findings(a, multi.release))
    assert "grants ['sagemaker:UpdateModelPackage'] to another account" in found


def test_a_duplicated_principal(multi) -> None:  # type: ignore[no-untyped-def]
    a = multi.assembly()
    key = _resource(a, "multi-DataLake", "AWS::KMS::Key", "LakeKey")
    statement = _sid(key["KeyPolicy"]["Statement"], "TargetEndpointsDecryptModelsViaS3")
    statement["Principal"]["AWS"].append(STAGING_ROOT)
    found = _details(_findings(a, multi.release))
    assert f"principal named twice: ['{STAGING_ROOT}']" in found


def test_a_deployment_role_the_action_role_cannot_pass(multi) -> None:  # type: ignore[no-untyped-def]
    a = multi.assembly()
    policy = _resource(
        a, "multi-ProductionTarget", "AWS::IAM::Policy", "DeployActionRoleDefaultPolicy"
    )
    statements = policy["PolicyDocument"]["Statement"]
    statements.remove(_sid(statements, "PassDeploymentRole"))
    found = _details(_findings(a, multi.release))
    assert "multi-ProductionTarget/DeployActionRole" in found
    assert (
        "missing iam:PassRole on arn:aws:iam::444444444444:role/multi-target/multi-deploy-cfn"
        in found
    )


# -- issue 25: production forwards the monitoring alarms to tooling's default bus ----------------

TOOLING_BUS = "arn:aws:events:us-east-1:111111111111:event-bus/default"
FORWARD_ROLE = "multi-ProductionTarget/RetrainForwardRole"


def _forward_findings(found: list[Finding]) -> list[str]:
    return [
        f"{f.subject}: {f.detail}"
        for f in found
        if f.subject.startswith(FORWARD_ROLE) and TOOLING_BUS in f.detail
    ]


def test_the_tooling_bus_policy_dropped(multi) -> None:  # type: ignore[no-untyped-def]
    """Without the bus policy, production's forward role cannot put events on tooling's bus:
    the rehearsal names the role and the bus."""
    a = multi.assembly()
    assert _forward_findings(_findings(a, multi.release)) == []  # control
    resources = a.templates["multi-Training"]["Resources"]
    (policy,) = [k for k, v in resources.items() if v["Type"] == "AWS::Events::EventBusPolicy"]
    del resources[policy]
    (found,) = _forward_findings(_findings(a, multi.release))
    assert f"resource policy of {TOOLING_BUS} does not allow events:PutEvents (no policy)" in found


def test_the_tooling_bus_policy_narrowed_to_another_role(multi) -> None:  # type: ignore[no-untyped-def]
    a = multi.assembly()
    policy = _resource(a, "multi-Training", "AWS::Events::EventBusPolicy")
    condition = policy["Statement"]["Condition"]["ArnEquals"]
    assert condition["aws:PrincipalArn"] == (
        "arn:aws:iam::444444444444:role/multi-target/multi-retrain-forward"
    )
    condition["aws:PrincipalArn"] = "arn:aws:iam::444444444444:role/multi-target/other-role"
    (found,) = _forward_findings(_findings(a, multi.release))
    assert "does not allow events:PutEvents (no statement matches)" in found


def test_the_forward_role_lost_its_put_events_grant(multi) -> None:  # type: ignore[no-untyped-def]
    """The cross-account flow comes from the rule's target, not from the role's policy: a role
    whose policy lost the grant is still checked there (beside the service-role row)."""
    a = multi.assembly()
    policy = _resource(a, "multi-ProductionTarget", "AWS::IAM::Policy", "RetrainForwardRole")
    statements = policy["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if s["Action"] != "events:PutEvents"]
    found = "\n".join(_forward_findings(_findings(a, multi.release)))
    assert f"identity policy does not allow events:PutEvents on {TOOLING_BUS}" in found
    assert (
        f"missing events:PutEvents on {TOOLING_BUS} for multi-ProductionTarget/ForwardRetrain"
        in (found)
    )
