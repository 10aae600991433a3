"""Issue 25, monitoring (engine=custom) in the production account of the three-account layout:
where the Monitoring stack lands, what it reads across accounts, and the planted defects the
cross-account rehearsal must name. One synth (`labctl synth --profile <JSON> --release
example`, the ``monitored`` session fixture); each planted defect edits a fresh copy of it."""

from __future__ import annotations

import json
from typing import Any

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

    flows = {(role(f), f.action, f.resource) for f in cross_account.monitoring_flows(a)}
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
