"""Issue 25, monitoring (engine=custom) in the production account of the three-account layout:
where the Monitoring stack lands, what it reads across accounts, and the planted defects the
cross-account rehearsal must name. One synth (`labctl synth --profile <JSON> --release
example`, the ``monitored`` session fixture); each planted defect edits a fresh copy of it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from assurance.rehearsal import cross_account
from assurance.rehearsal.assembly import Assembly

# Oracles written out, not derived from the code under test: the profile's accounts
# (config/multi-account.json), the example release's artifacts bucket and key
# (config/examples/release.json) and the role path issue 25 fixed (/<env>-monitoring/).
TOOLING, PRODUCTION = "111111111111", "444444444444"
EXAMPLE_BUCKET = "example-artifacts"
EXAMPLE_KEY = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE_PATH = "/multi-monitoring/"
MONITORING, LAKE, TARGET = "multi-Monitoring", "multi-DataLake", "multi-ProductionTarget"


def _details(a: Assembly) -> str:
    return "\n".join(f"{f.subject}: {f.detail}" for f in cross_account.check(a))


def _resource(a: Assembly, stack: str, type_: str, prefix: str) -> Any:
    (found,) = [r for r in a.resources(stack=stack, type_=type_) if r.logical_id.startswith(prefix)]
    return found


def _runner_env(a: Assembly) -> dict[str, Any]:
    runner = _resource(a, MONITORING, "AWS::Lambda::Function", "MonitoringRunner")
    return dict(a.resolve(MONITORING, runner.properties["Environment"]["Variables"]))


def _statements(a: Assembly, stack: str, type_: str, prefix: str) -> list[dict[str, Any]]:
    props = _resource(a, stack, type_, prefix).properties
    doc = props.get("PolicyDocument") or props["KeyPolicy"]
    statements: list[dict[str, Any]] = doc["Statement"]
    return statements


def _drop(statements: list[dict[str, Any]], sid: str) -> None:
    (found,) = [s for s in statements if s.get("Sid") == sid]
    statements.remove(found)


def test_labctl_synth_passes_gate_and_rehearsal(monitored) -> None:  # type: ignore[no-untyped-def]
    assert monitored.exit_code == 0, monitored.output
    assert "0 unacknowledged findings" in monitored.output
    assert "0 findings" in monitored.output
    assert "multi-Monitoring" in monitored.output


def test_the_monitoring_stack_deploys_into_production(monitored) -> None:  # type: ignore[no-untyped-def]
    manifest = json.loads((monitored.outdir / "manifest.json").read_text())
    stack = manifest["artifacts"][MONITORING]
    assert stack["environment"] == f"aws://{PRODUCTION}/us-east-1"
    # after production's target stack (capture store, topic, network), in the same account
    assert f"{TARGET}" in stack.get("dependencies", [])


def test_capture_outputs_and_the_jobs_key_are_productions(monitored) -> None:  # type: ignore[no-untyped-def]
    a = monitored.assembly()
    env = _runner_env(a)
    capture = _resource(a, TARGET, "AWS::S3::Bucket", "CaptureBucket")
    bucket = a.name_of(TARGET, capture.logical_id)
    assert bucket.startswith("multi-productiontarget-capturebucket")
    assert env["CAPTURE_BUCKET"] == env["ARTIFACTS_BUCKET"] == bucket
    key = _resource(a, TARGET, "AWS::KMS::Key", "Key")
    assert env["KMS_KEY_ARN"] == a.get_att(TARGET, key.logical_id, "Arn")
    assert f":{PRODUCTION}:key/" in env["KMS_KEY_ARN"]


def test_the_jobs_read_toolings_baselines_code_and_labels_by_arn(monitored) -> None:  # type: ignore[no-untyped-def]
    a = monitored.assembly()
    env = _runner_env(a)
    assert env["CODE_URI"] == f"s3://{EXAMPLE_BUCKET}/code/model_code/"
    assert env["RAW_BUCKET"] == f"multi-raw-{TOOLING}-us-east-1" and "RAW_PREFIX" not in env
    assert env["MODEL_PACKAGE_GROUP"] == (
        f"arn:aws:sagemaker:us-east-1:{TOOLING}:model-package-group/multi-digits-xgboost"
    )
    job = _resource(a, MONITORING, "AWS::IAM::Role", "MonitoringJobRole")
    runner = _resource(a, MONITORING, "AWS::IAM::Role", "MonitoringRunnerRole")
    assert job.properties["Path"] == runner.properties["Path"] == ROLE_PATH
    policy = json.dumps(
        [
            a.resolve(MONITORING, p.properties["PolicyDocument"])
            for p in a.resources(stack=MONITORING, type_="AWS::IAM::Policy")
            if p.logical_id.startswith("MonitoringJobRole")
        ]
    )
    for resource in (
        f"arn:aws:s3:::{EXAMPLE_BUCKET}/pipelines/*",
        f"arn:aws:s3:::{EXAMPLE_BUCKET}/code/model_code/*",
        f"arn:aws:s3:::multi-raw-{TOOLING}-us-east-1/events/*",
        EXAMPLE_KEY,
    ):
        assert f'"{resource}"' in policy


def test_no_template_imports_across_accounts(monitored) -> None:  # type: ignore[no-untyped-def]
    from core.accounts import cross_account_references

    manifest = json.loads((monitored.outdir / "manifest.json").read_text())
    accounts = {
        name: art["environment"].split("/")[2]
        for name, art in manifest["artifacts"].items()
        if art.get("type") == "aws:cloudformation:stack"
    }
    a = monitored.assembly()
    assert accounts[MONITORING] == PRODUCTION
    assert cross_account_references(a.templates, accounts) == []
    assert "multi-lake-" not in json.dumps(a.templates[MONITORING])  # no tooling export


def test_the_rehearsal_sees_the_monitoring_reads(monitored) -> None:  # type: ignore[no-untyped-def]
    """The flows exist (so the 0 findings are about them): job reads and lists in tooling,
    the runner lists the labels and describes the deployed version in tooling's registry."""
    a = monitored.assembly()

    def role(flow: Any) -> str:
        return "job" if "MonitoringJobRole" in flow.role else "runner"

    flows = {(role(f), f.action, f.resource) for f in cross_account.drift_monitoring_flows(a)}
    artifacts, raw = f"arn:aws:s3:::{EXAMPLE_BUCKET}", f"arn:aws:s3:::multi-raw-{TOOLING}-us-east-1"
    version = f"arn:aws:sagemaker:us-east-1:{TOOLING}:model-package/multi-digits-xgboost/1"
    assert {
        ("job", "s3:GetObject", f"{artifacts}/pipelines/R4ND0M/object"),
        ("job", "s3:GetObject", f"{artifacts}/code/model_code/R4ND0M/object"),
        ("job", "s3:ListBucket", artifacts),
        ("job", "kms:Decrypt", EXAMPLE_KEY),
        ("job", "s3:GetObject", f"{raw}/events/R4ND0M/object"),
        ("runner", "s3:ListBucket", raw),
        ("runner", "sagemaker:DescribeModelPackage", version),
    } <= flows
    assert cross_account.check(a) == []  # control


# -- planted defects ------------------------------------------------------------------------


def test_planted_no_baseline_read_in_the_artifacts_bucket_policy(monitored) -> None:  # type: ignore[no-untyped-def]
    a = monitored.assembly()
    _drop(
        _statements(a, LAKE, "AWS::S3::BucketPolicy", "LakeArtifactsBucketPolicy"),
        "ProductionMonitoringReadsArtifacts",
    )
    found = _details(a)
    assert "multi-Monitoring/MonitoringJobRole" in found
    assert (
        f"resource policy of arn:aws:s3:::{EXAMPLE_BUCKET}/pipelines/R4ND0M/object does not "
        "allow s3:GetObject" in found
    )


def test_planted_no_prefix_listing_in_the_artifacts_bucket_policy(monitored) -> None:  # type: ignore[no-untyped-def]
    a = monitored.assembly()
    _drop(
        _statements(a, LAKE, "AWS::S3::BucketPolicy", "LakeArtifactsBucketPolicy"),
        "ProductionMonitoringListsArtifacts",
    )
    found = _details(a)
    assert "multi-Monitoring/MonitoringJobRole" in found
    assert f"resource policy of arn:aws:s3:::{EXAMPLE_BUCKET} does not allow s3:ListBucket" in found


def test_planted_no_monitoring_statement_in_the_lake_key_policy(monitored) -> None:  # type: ignore[no-untyped-def]
    a = monitored.assembly()
    _drop(_statements(a, LAKE, "AWS::KMS::Key", "LakeKey"), "ProductionMonitoringDecryptsViaS3")
    found = _details(a)
    assert "multi-Monitoring/MonitoringJobRole" in found
    assert f"resource policy of {EXAMPLE_KEY} does not allow kms:Decrypt" in found


def test_planted_no_labels_read_in_the_raw_bucket_policy(monitored) -> None:  # type: ignore[no-untyped-def]
    a = monitored.assembly()
    _drop(
        _statements(a, LAKE, "AWS::S3::BucketPolicy", "LakeRawBucketPolicy"),
        "ProductionMonitoringReadsLabels",
    )
    found = _details(a)
    assert (
        f"resource policy of arn:aws:s3:::multi-raw-{TOOLING}-us-east-1/events/R4ND0M/object "
        "does not allow s3:GetObject" in found
    )


def test_planted_no_monitoring_statement_in_the_group_policy(monitored) -> None:  # type: ignore[no-untyped-def]
    a = monitored.assembly()
    group = _resource(a, "multi-Training", "AWS::SageMaker::ModelPackageGroup", "TrainingXGBoost")
    _drop(
        group.properties["ModelPackageGroupPolicy"]["Statement"],
        "ProductionMonitoringDescribesVersions",
    )
    found = _details(a)
    assert "multi-Monitoring/MonitoringRunnerRole" in found
    assert "does not allow sagemaker:DescribeModelPackage" in found


def test_planted_a_job_role_outside_the_monitoring_path(monitored) -> None:  # type: ignore[no-untyped-def]
    """The tooling policies name the path, not the role: a role elsewhere is refused."""
    a = monitored.assembly()
    job = _resource(a, MONITORING, "AWS::IAM::Role", "MonitoringJobRole")
    job.properties["Path"] = "/multi-elsewhere/"
    found = _details(a)
    assert "multi-Monitoring/MonitoringJobRole" in found
    assert f"resource policy of arn:aws:s3:::{EXAMPLE_BUCKET}/pipelines/R4ND0M/object" in found
    assert f"resource policy of {EXAMPLE_KEY} does not allow kms:Decrypt" in found
    assert "MonitoringRunnerRole" not in found  # its path is unchanged


# -- labels written in production (monitoring.labels_account='production') -----------------


@pytest.fixture(scope="module")
def labels_in_production() -> dict[str, dict[str, Any]]:
    """Only the two stacks the setting changes, in a bare app: the Monitoring stack over a
    production capture store, and tooling's DataLake stack."""
    import dataclasses

    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_sns as sns
    from aws_cdk.assertions import Template

    from core.config import load_profile
    from core.release import EXAMPLE_RELEASE, Release
    from infra.stacks.data_lake_stack import DataLakeStack
    from infra.stacks.monitoring_stack import MonitoringStack
    from infra.stacks.target_stack import CaptureStore

    base = load_profile("multi-account")
    monitoring = dataclasses.replace(base.monitoring, engine="custom", labels_account="production")
    config = dataclasses.replace(base, monitoring=monitoring)
    from infra.platform import cdk_json_context

    app = cdk.App(context=cdk_json_context())
    production = cdk.Environment(account=PRODUCTION, region="us-east-1")
    target = cdk.Stack(app, "Target", env=production)
    key = kms.Key(target, "Key")
    store = CaptureStore(s3.Bucket(target, "Capture", encryption_key=key), key)
    stack = MonitoringStack(
        app,
        "multi-Monitoring",
        config=config,
        alert_topic=sns.Topic(target, "Topic"),
        production=store,
        release=Release.from_file(EXAMPLE_RELEASE),
        env=production,
    )
    lake = DataLakeStack(
        app,
        "multi-DataLake",
        config=config,
        env=cdk.Environment(account=TOOLING, region="us-east-1"),
    )
    return {
        "monitoring": Template.from_stack(stack).to_json(),
        "lake": Template.from_stack(lake).to_json(),
    }


def test_labels_in_production_are_read_from_the_capture_bucket(labels_in_production) -> None:  # type: ignore[no-untyped-def]
    template = labels_in_production["monitoring"]
    (runner,) = [
        r
        for logical, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and logical.startswith("MonitoringRunner")
    ]
    env = runner["Properties"]["Environment"]["Variables"]
    assert env["RAW_PREFIX"] == "labels/"
    assert env["RAW_BUCKET"] == env["CAPTURE_BUCKET"]  # production's capture bucket
    assert "multi-raw-" not in json.dumps(template)  # nothing read from tooling's raw zone


def test_labels_in_production_need_nothing_of_toolings_raw_zone(labels_in_production) -> None:  # type: ignore[no-untyped-def]
    sids = [
        s.get("Sid")
        for r in labels_in_production["lake"]["Resources"].values()
        if r["Type"] in ("AWS::S3::BucketPolicy", "AWS::KMS::Key")
        for s in (r["Properties"].get("PolicyDocument") or r["Properties"]["KeyPolicy"])[
            "Statement"
        ]
    ]
    assert "ProductionMonitoringReadsLabels" not in sids
    assert "ProductionMonitoringListsLabels" not in sids
    # baselines and code still come from tooling
    assert {"ProductionMonitoringReadsArtifacts", "ProductionMonitoringDecryptsViaS3"} <= set(sids)
