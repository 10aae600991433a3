"""Model Monitor in the three-account layout (issue 25): placement of the schedules, their
reports and role in production, the ground truth in tooling, the deploy role's rights, and the
rehearsal's view of the job role's reads across accounts (with planted defects).

Expected values are written from the profile (env ``multi``, accounts 111.../444...) and the
AWS pages cited in infra/monitoring/model_monitor.py and ground_truth.py, not read back from
the code under test.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from assurance.rehearsal import rehearse
from assurance.rehearsal.authority import Finding, is_allowed
from core.accounts import cross_account_references

TOOLING, PRODUCTION = "111111111111", "444444444444"
ROLE = "multi-Serving/ModelMonitorRole"
KINDS = ("DataQuality", "ModelQuality")


def _findings(a: Any, release: dict[str, Any]) -> list[Finding]:
    return rehearse(a, lint=False, release=release).findings


def _details(findings: list[Finding]) -> str:
    return "\n".join(f"{f.subject}: {f.detail}" for f in findings)


def _definitions(a: Any) -> dict[str, dict[str, Any]]:
    """Kind -> resolved properties of the production stack's job definitions."""
    found = {}
    for kind in KINDS:
        (res,) = a.resources("multi-Serving", f"AWS::SageMaker::{kind}JobDefinition")
        found[kind] = a.resolve(res.stack, res.properties)
    return found


def _one(a: Any, stack: str, type_: str, prefix: str = "") -> Any:
    (found,) = [r for r in a.resources(stack, type_) if r.logical_id.startswith(prefix)]
    return found


def _lake_policy(a: Any) -> list[dict[str, Any]]:
    pol = _one(a, "multi-DataLake", "AWS::S3::BucketPolicy", "LakeArtifactsBucketPolicy")
    return pol.properties["PolicyDocument"]["Statement"]


# -- placement ---------------------------------------------------------------------------------


def test_schedules_write_reports_to_productions_capture_bucket_with_its_key(  # type: ignore[no-untyped-def]
    multi_model_monitor,
) -> None:
    """Reports (and the job volumes) stay in production: its capture bucket, its key; never
    the tooling lake the release names."""
    a = multi_model_monitor.assembly()
    capture = _one(a, "multi-ProductionTarget", "AWS::S3::Bucket", "CaptureBucket")
    bucket = a.name_of(capture.stack, capture.logical_id)
    key = a.get_att(
        "multi-ProductionTarget",
        _one(a, "multi-ProductionTarget", "AWS::KMS::Key", "Key").logical_id,
        "Arn",
    )
    assert f":{PRODUCTION}:" in key
    for kind, props in _definitions(a).items():
        output = props[f"{kind}JobOutputConfig"]
        (uri,) = [o["S3Output"]["S3Uri"] for o in output["MonitoringOutputs"]]
        assert uri.startswith(f"s3://{bucket}/monitoring/model-monitor/"), (kind, uri)
        assert output["KmsKeyId"] == key, kind
        assert props["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key, kind
        assert (
            props["RoleArn"]
            == f"arn:aws:iam::{PRODUCTION}:role/multi-monitoring/multi-model-monitor"
        )


def test_job_role_sits_under_the_monitoring_path_tooling_names(multi_model_monitor) -> None:  # type: ignore[no-untyped-def]
    """``/<env>-monitoring/``: tooling's policies name production's root narrowed to it."""
    a = multi_model_monitor.assembly()
    role = _one(a, "multi-Serving", "AWS::IAM::Role", "ModelMonitorRole")
    assert role.properties["Path"] == "/multi-monitoring/"
    arn = a.get_att(role.stack, role.logical_id, "Arn")
    assert fnmatch.fnmatch(arn, f"arn:aws:iam::{PRODUCTION}:role/multi-monitoring/*")


def test_ground_truth_is_read_in_tooling_where_the_upload_writes_it(multi_model_monitor) -> None:  # type: ignore[no-untyped-def]
    """The upload runs in tooling beside the raw zone; the model-quality job reads the same
    bucket and prefix across accounts; no upload in production."""
    m = multi_model_monitor
    assert m.stack_accounts["multi-GroundTruth"] == TOOLING
    a = m.assembly()
    (function,) = [
        f
        for f in a.resources("multi-GroundTruth", "AWS::Lambda::Function")
        if f.properties.get("Handler") == "ground_truth.handler"
    ]
    env = a.resolve(function.stack, function.properties)["Environment"]["Variables"]
    lake = _one(a, "multi-DataLake", "AWS::S3::Bucket", "LakeArtifactsBucket")
    assert env["ARTIFACTS_BUCKET"] == a.name_of(lake.stack, lake.logical_id)
    truth = _definitions(a)["ModelQuality"]["ModelQualityJobInput"]["GroundTruthS3Input"]
    assert truth["S3Uri"] == f"s3://{env['ARTIFACTS_BUCKET']}/{env['GROUND_TRUTH_PREFIX']}"
    for stack, account in m.stack_accounts.items():
        handlers = [
            f.properties.get("Handler") for f in a.resources(stack, "AWS::Lambda::Function")
        ]
        if account != TOOLING:
            assert "ground_truth.handler" not in handlers, stack


def test_no_template_imports_across_accounts(multi_model_monitor) -> None:  # type: ignore[no-untyped-def]
    m = multi_model_monitor
    assert m.error == "", m.error  # the synth's NoReferencesAcrossAccounts plugin and packs
    assert cross_account_references(m.templates, m.stack_accounts) == []
    serving = json.dumps(m.templates["multi-Serving"])
    assert "Fn::ImportValue" not in serving


# -- the deploy role -----------------------------------------------------------------------------


def test_production_deploy_role_may_create_and_pass_exactly_the_monitor_role(  # type: ignore[no-untyped-def]
    multi_model_monitor,
) -> None:
    a = multi_model_monitor.assembly()
    docs = {}
    for target in ("multi-StagingTarget", "multi-ProductionTarget"):
        pol = _one(a, target, "AWS::IAM::ManagedPolicy", "DeploymentPolicy")
        docs[target] = [a.resolve(target, pol.properties["PolicyDocument"])]
    role = f"arn:aws:iam::{PRODUCTION}:role/multi-monitoring/multi-model-monitor"
    other = f"arn:aws:iam::{PRODUCTION}:role/multi-monitoring/multi-drift-runner"
    schedule = (
        f"arn:aws:sagemaker:us-east-1:{PRODUCTION}:monitoring-schedule/multi-digits-data-quality"
    )
    passed = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    prod = docs["multi-ProductionTarget"]
    assert is_allowed(prod, "iam:CreateRole", role, {})
    assert is_allowed(prod, "iam:PutRolePolicy", role, {})
    assert is_allowed(prod, "iam:PassRole", role, passed)
    assert not is_allowed(
        prod, "iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"}
    )
    assert is_allowed(prod, "sagemaker:CreateMonitoringSchedule", schedule, {})
    # nothing else under the monitoring path (the drift roles there are not the stack's)
    assert not is_allowed(prod, "iam:CreateRole", other, {})
    assert not is_allowed(prod, "iam:PutRolePolicy", other, {})
    staging = docs["multi-StagingTarget"]
    assert not is_allowed(staging, "sagemaker:CreateMonitoringSchedule", schedule, {})


# -- the rehearsal -----------------------------------------------------------------------------


def _tooling_monitoring_reads(a: Any) -> bool:
    """Whether tooling's lake admits production's monitoring roles on ``pipelines/`` (the
    statements the custom-engine work adds, issue 25 "mon"): until they exist, the baseline
    reads are the only findings, and each is named."""
    return any(
        "multi-monitoring" in json.dumps(s.get("Condition", {}))
        and "/pipelines/" in json.dumps(a.resolve("multi-DataLake", s.get("Resource")))
        for s in _lake_policy(a)
    )


def _baseline_findings(findings: list[Finding]) -> list[Finding]:
    return [
        f
        for f in findings
        if f.subject.startswith(ROLE)
        and f.detail.startswith("resource policy of")
        and ("/MonitorBaseline/" in f.detail or ":kms:" in f.detail)
    ]


def test_rehearsal_reports_no_findings(multi_model_monitor) -> None:  # type: ignore[no-untyped-def]
    a = multi_model_monitor.assembly()
    assert _tooling_monitoring_reads(a)  # tooling admits the baseline reads
    findings = _findings(a, multi_model_monitor.release)
    assert findings == [], _details(findings)


def test_a_monitor_role_that_cannot_list_its_baselines_is_named(multi_model_monitor) -> None:  # type: ignore[no-untyped-def]
    """The executions list each baseline input with the job's role; across accounts nothing
    else gives it s3:ListBucket on tooling's bucket (fresh reader, issue 25)."""
    a = multi_model_monitor.assembly()
    (policy,) = [
        p
        for p in a.resources("multi-Serving", "AWS::IAM::Policy")
        if p.logical_id.startswith("ModelMonitorRoleDefaultPolicy")
    ]
    statements = policy.properties["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if s.get("Sid") != "ToolingBaselineListing"]
    found = _details(_findings(a, multi_model_monitor.release))
    assert f"{ROLE}" in found
    assert "identity policy does not allow s3:ListBucket" in found


def test_schedules_created_beside_the_endpoint_are_named(multi_model_monitor) -> None:  # type: ignore[no-untyped-def]
    """SageMaker refuses a schedule on an endpoint that does not exist yet: without the
    dependency CloudFormation creates both at once (fresh reader, issue 25)."""
    a = multi_model_monitor.assembly()
    assert [
        f
        for f in _findings(a, multi_model_monitor.release)
        if f.source == "schedule-after-endpoint"
    ] == []
    schedules = [r for r in a.resources("multi-Serving", "AWS::SageMaker::MonitoringSchedule")]
    assert len(schedules) == 2  # data and model quality
    for r in schedules:
        a.templates["multi-Serving"]["Resources"][r.logical_id].pop("DependsOn", None)
    found = [
        f
        for f in _findings(a, multi_model_monitor.release)
        if f.source == "schedule-after-endpoint"
    ]
    assert {f.subject for f in found} == {r.key for r in schedules}
    assert all("names endpoint multi-digits" in f.detail for f in found)


def test_dropping_tooling_baseline_statements_names_the_monitor_role(multi_model_monitor) -> None:  # type: ignore[no-untyped-def]
    a = multi_model_monitor.assembly()
    pol = _one(a, "multi-DataLake", "AWS::S3::BucketPolicy", "LakeArtifactsBucketPolicy")
    statements = pol.properties["PolicyDocument"]["Statement"]
    statements[:] = [
        s
        for s in statements
        if not (
            "multi-monitoring" in json.dumps(s.get("Condition", {}))
            and "/pipelines/" in json.dumps(a.resolve("multi-DataLake", s.get("Resource")))
        )
    ]
    found = _details(_findings(a, multi_model_monitor.release))
    assert f"{ROLE}" in found
    assert "MonitorBaseline/model-quality/constraints.json does not allow s3:GetObject" in found


def test_a_monitor_role_missing_its_baseline_grant_is_named(multi_model_monitor) -> None:  # type: ignore[no-untyped-def]
    """Flows come from the job definitions too: a role that forgets a read is named."""
    a = multi_model_monitor.assembly()
    (policy,) = [
        p
        for p in a.resources("multi-Serving", "AWS::IAM::Policy")
        if p.logical_id.startswith("ModelMonitorRoleDefaultPolicy")
    ]
    statements = policy.properties["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if s.get("Sid") != "Baselines"]
    found = _details(_findings(a, multi_model_monitor.release))
    assert f"{ROLE}" in found
    assert "identity policy does not allow s3:GetObject" in found
    assert "MonitorBaseline/data-quality/statistics.json" in found


def test_dropping_the_ground_truth_statements_is_named(multi_model_monitor) -> None:  # type: ignore[no-untyped-def]
    control = _details(_findings(multi_model_monitor.assembly(), multi_model_monitor.release))
    assert "ground-truth" not in control
    for sid, action in (
        ("ProductionMonitoringReadsGroundTruth", "s3:GetObject"),
        ("ProductionMonitoringListsGroundTruth", "s3:ListBucket"),
    ):
        a = multi_model_monitor.assembly()
        pol = _one(a, "multi-DataLake", "AWS::S3::BucketPolicy", "LakeArtifactsBucketPolicy")
        statements = pol.properties["PolicyDocument"]["Statement"]
        before = len(statements)
        statements[:] = [s for s in statements if s.get("Sid") != sid]
        assert len(statements) == before - 1, sid
        findings = [
            f for f in _findings(a, multi_model_monitor.release) if f.subject.startswith(ROLE)
        ]
        assert any(
            "resource policy of" in f.detail
            and f"does not allow {action}" in f.detail
            and ("ground-truth" in f.detail or action == "s3:ListBucket")
            for f in findings
        ), (sid, _details(findings))


def test_dropping_the_monitor_role_grant_from_the_deploy_role_is_named(multi_model_monitor) -> None:  # type: ignore[no-untyped-def]
    a = multi_model_monitor.assembly()
    pol = _one(a, "multi-ProductionTarget", "AWS::IAM::ManagedPolicy", "DeploymentPolicy")
    statements = pol.properties["PolicyDocument"]["Statement"]
    statements[:] = [
        s for s in statements if s.get("Sid") not in ("MonitorRole", "PassMonitorRole")
    ]
    found = _details(_findings(a, multi_model_monitor.release))
    assert "multi-ProductionTarget/DeploymentRole" in found
    assert (
        "iam:CreateRole on arn:aws:iam::444444444444:role/multi-monitoring/multi-model-monitor"
        in found
    )
    assert (
        "iam:PassRole on arn:aws:iam::444444444444:role/multi-monitoring/multi-model-monitor"
        in found
    )


def test_a_monitor_role_that_cannot_write_productions_reports_is_named(multi_model_monitor) -> None:  # type: ignore[no-untyped-def]
    """Service-role rows: the executions write their reports where the output config says
    (production's capture bucket) and encrypt them with its key."""
    a = multi_model_monitor.assembly()
    (policy,) = [
        p
        for p in a.resources("multi-Serving", "AWS::IAM::Policy")
        if p.logical_id.startswith("ModelMonitorRoleDefaultPolicy")
    ]
    statements = policy.properties["PolicyDocument"]["Statement"]
    statements[:] = [
        s for s in statements if not {"s3:PutObject", "kms:GenerateDataKey*"} & set(s["Action"])
    ]
    found = _details(_findings(a, multi_model_monitor.release))
    assert f"{ROLE}" in found
    assert "missing s3:PutObject on arn:aws:s3:::multi-productiontarget-capturebucket" in found
    assert f"missing kms:GenerateDataKey on arn:aws:kms:us-east-1:{PRODUCTION}:key/" in found
