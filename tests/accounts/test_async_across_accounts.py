"""issue 25: ``serving.kind='async'`` in the three-account layout. Requests, answers, failures,
their key, the notification topics and the scaling live in the target account that hosts the
endpoint; the staging smoke test is an async client there, as the staging smoke role. The
expected accounts, prefixes and names are written out here (the profile's accounts block, the
async contract's documented layout), not taken from the code under test."""

from __future__ import annotations

import json
from typing import Any

from assurance.rehearsal import rehearse
from assurance.rehearsal.assembly import Assembly
from assurance.rehearsal.cross_account import owner
from core.accounts import cross_account_references

STAGING, PRODUCTION, TOOLING = "333333333333", "444444444444", "111111111111"
# (serving stack, its account, its target stack, its endpoint)
UNITS = (
    ("multi-ServingStaging", STAGING, "multi-StagingTarget", "multi-digits-staging"),
    ("multi-Serving", PRODUCTION, "multi-ProductionTarget", "multi-digits"),
)
SMOKE_ROLE = "multi-StagingTarget/SmokeTestRole434B99C6"


def _one(a: Assembly, stack: str, type_: str) -> Any:
    (found,) = a.resources(stack, type_)
    return found


def _props(a: Assembly, stack: str, type_: str) -> dict[str, Any]:
    res = _one(a, stack, type_)
    return dict(a.resolve(stack, res.properties))


def _bucket_of(a: Assembly, stack: str, prefix: str) -> str:
    (bucket,) = [
        b for b in a.resources(stack, "AWS::S3::Bucket") if b.logical_id.startswith(prefix)
    ]
    return a.name_of(stack, bucket.logical_id)


def _key_of(a: Assembly, stack: str) -> str:
    """The target stack's own key (construct id "Key"; the alert topic and the network have
    theirs)."""
    (key,) = [k for k in a.resources(stack, "AWS::KMS::Key") if k.logical_id.startswith("Key")]
    return str(a.get_att(stack, key.logical_id, "Arn"))


def _findings(a: Assembly, release: dict[str, Any]) -> str:
    found = rehearse(a, lint=False, release=release).findings
    return "\n".join(f"{f.subject}: {f.detail} ({f.source})" for f in found)


def _smoke_statements(a: Assembly) -> list[dict[str, Any]]:
    (policy,) = [
        p
        for p in a.resources("multi-StagingTarget", "AWS::IAM::Policy")
        if p.logical_id.startswith("SmokeTestRoleDefaultPolicy")
    ]
    statements: list[dict[str, Any]] = policy.properties["PolicyDocument"]["Statement"]
    return statements  # the template's own list: plants edit it


# -- the synth and the rehearsal -------------------------------------------------------------


def test_the_async_profile_synthesizes_through_the_gate_with_no_rehearsal_finding(
    multi_async,  # type: ignore[no-untyped-def]
) -> None:
    assert multi_async.error == ""
    assert _findings(multi_async.assembly(), multi_async.release) == ""


def test_no_template_reads_another_accounts_stack(multi_async) -> None:  # type: ignore[no-untyped-def]
    accounts = {name: multi_async.stack_accounts[name] for name in multi_async.templates}
    assert cross_account_references(multi_async.templates, accounts) == []
    for stack, _account, _target, _endpoint in UNITS:
        text = json.dumps(multi_async.templates[stack])
        assert "Fn::ImportValue" not in text and "multi-lake-" not in text


# -- where the async resources are --------------------------------------------------------------


def test_requests_answers_and_failures_are_in_the_hosting_accounts_bucket_and_key(
    multi_async,  # type: ignore[no-untyped-def]
) -> None:
    a = multi_async.assembly()
    for stack, account, target, endpoint in UNITS:
        assert multi_async.stack_accounts[stack] == account
        out = _props(a, stack, "AWS::SageMaker::EndpointConfig")["AsyncInferenceConfig"][
            "OutputConfig"
        ]
        bucket = _bucket_of(a, target, "CaptureBucket")
        assert out["S3OutputPath"] == f"s3://{bucket}/async/output/{endpoint}"
        assert out["S3FailurePath"] == f"s3://{bucket}/async/failure/{endpoint}"
        assert owner(a, f"arn:aws:s3:::{bucket}/x") == account
        assert out["KmsKeyId"] == _key_of(a, target)
        assert f":{account}:key/" in out["KmsKeyId"]


def test_the_topics_are_in_the_hosting_account_encrypted_with_its_key(multi_async) -> None:  # type: ignore[no-untyped-def]
    a = multi_async.assembly()
    for stack, account, target, _endpoint in UNITS:
        out = _props(a, stack, "AWS::SageMaker::EndpointConfig")["AsyncInferenceConfig"][
            "OutputConfig"
        ]
        topics = a.resources(stack, "AWS::SNS::Topic")
        assert len(topics) == 2
        arns = {str(a.ref(stack, t.logical_id)) for t in topics}
        notify = out["NotificationConfig"]
        assert {notify["SuccessTopic"], notify["ErrorTopic"]} == arns
        assert all(f":sns:us-east-1:{account}:" in arn for arn in arns)
        for t in topics:
            key = a.resolve(stack, t.properties)["KmsMasterKeyId"]
            assert key == _key_of(a, target)


def test_scaling_to_zero_on_the_backlog_is_in_the_hosting_account(multi_async) -> None:  # type: ignore[no-untyped-def]
    a = multi_async.assembly()
    for stack, account, _target, endpoint in UNITS:
        assert multi_async.stack_accounts[stack] == account
        target = _props(a, stack, "AWS::ApplicationAutoScaling::ScalableTarget")
        assert target["MinCapacity"] == 0
        assert target["ResourceId"] == f"endpoint/{endpoint}/variant/AllTraffic"
        policies = [
            a.resolve(stack, p.properties)
            for p in a.resources(stack, "AWS::ApplicationAutoScaling::ScalingPolicy")
        ]
        tracked = [
            p["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]
            for p in policies
            if "TargetTrackingScalingPolicyConfiguration" in p
        ]
        assert [m["MetricName"] for m in tracked] == ["ApproximateBacklogSizePerInstance"]
        assert any("StepScalingPolicyConfiguration" in p for p in policies)  # from zero


# -- who may do what -----------------------------------------------------------------------------


def test_the_hosting_role_reads_requests_only_under_its_endpoints_input_prefix(
    multi_async,  # type: ignore[no-untyped-def]
) -> None:
    a = multi_async.assembly()
    for stack, _account, target, endpoint in UNITS:
        bucket = _bucket_of(a, target, "CaptureBucket")
        (policy,) = [
            p
            for p in a.resources(stack, "AWS::IAM::Policy")
            if p.logical_id.startswith("EndpointRoleDefaultPolicy")
        ]
        statements = a.resolve(stack, policy.properties["PolicyDocument"])["Statement"]
        (read,) = [s for s in statements if s.get("Sid") == "AsyncReadRequests"]
        assert read["Action"] == "s3:GetObject"
        assert read["Resource"] == f"arn:aws:s3:::{bucket}/async/input/{endpoint}/*"


def test_the_staging_smoke_role_is_an_async_client_of_the_staging_endpoint_only(
    multi_async,  # type: ignore[no-untyped-def]
) -> None:
    a = multi_async.assembly()
    bucket = f"arn:aws:s3:::{_bucket_of(a, 'multi-StagingTarget', 'CaptureBucket')}"
    key = _key_of(a, "multi-StagingTarget")
    granted = set()
    for st in _smoke_statements(a):
        st = a.resolve("multi-StagingTarget", st)
        assert st["Effect"] == "Allow"
        for action in st["Action"] if isinstance(st["Action"], list) else [st["Action"]]:
            for res in st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]:
                granted.add((action, res))
    assert granted == {
        (
            "sagemaker:InvokeEndpointAsync",
            f"arn:aws:sagemaker:us-east-1:{STAGING}:endpoint/multi-digits-staging",
        ),
        ("s3:PutObject", f"{bucket}/async/input/multi-digits-staging/*"),
        ("s3:GetObject", f"{bucket}/async/output/multi-digits-staging/*"),
        ("s3:GetObject", f"{bucket}/async/failure/multi-digits-staging/*"),
        ("s3:ListBucket", bucket),  # HeadBucket, and 404 (not 403) for an answer not yet there
        ("kms:GenerateDataKey", key),
        ("kms:Decrypt", key),
        (
            "cloudformation:DescribeStacks",
            f"arn:aws:cloudformation:us-east-1:{STAGING}:stack/multi-StagingTarget/*",
        ),
    }
    # production has no smoke role; the tooling smoke build grants itself nothing async
    assert not [
        r
        for r in a.resources("multi-ProductionTarget", "AWS::IAM::Role")
        if r.logical_id.startswith("SmokeTestRole")
    ]
    assert "async/" not in json.dumps(multi_async.templates["multi-Delivery"]).replace(
        "async/input/multi-digits-staging/", ""
    )


def test_every_call_of_the_smoke_test_to_staging_runs_as_the_staging_role(multi_async) -> None:  # type: ignore[no-untyped-def]
    """The bucket lookup, and labctl invoke --async (upload, InvokeEndpointAsync, read: one
    boto3 default session, which reads AWS_PROFILE) run with the staging profile; the bucket
    is the staging target stack's output that names its capture bucket."""
    a = multi_async.assembly()
    (project,) = [
        p
        for p in a.resources("multi-Delivery", "AWS::CodeBuild::Project")
        if p.logical_id.startswith("DeliverySmokeTest")
    ]
    spec = json.loads(str(a.resolve(project.stack, project.properties["Source"]["BuildSpec"])))
    commands = spec["phases"]["build"]["commands"]
    assert spec["version"] == "0.2"  # one shell: ASYNC_BUCKET reaches the next command
    lookup, invoke = commands[-2:]
    assert lookup.startswith("ASYNC_BUCKET=$(AWS_PROFILE=staging aws cloudformation ")
    assert "--stack-name multi-StagingTarget " in lookup
    assert invoke.startswith("AWS_PROFILE=staging .venv/bin/python -m labctl invoke ")
    assert "--async --input-location s3://${ASYNC_BUCKET}/async/input/multi-digits-staging/" in (
        invoke
    )
    # the output the lookup names exists and is the capture bucket
    outputs = multi_async.templates["multi-StagingTarget"]["Outputs"]
    (name,) = [k for k in outputs if f"OutputKey=='{k}'" in lookup]
    (bucket,) = [
        b.logical_id
        for b in a.resources("multi-StagingTarget", "AWS::S3::Bucket")
        if b.logical_id.startswith("CaptureBucket")
    ]
    assert outputs[name]["Value"] == {"Ref": bucket}


# -- planted defects -----------------------------------------------------------------------------


def test_a_smoke_role_that_cannot_read_the_answers_is_named(multi_async) -> None:  # type: ignore[no-untyped-def]
    a = multi_async.assembly()
    statements = _smoke_statements(a)
    (read,) = [s for s in statements if s["Action"] == "s3:GetObject"]
    read["Resource"] = [r for r in read["Resource"] if "/async/output/" not in json.dumps(r)]
    found = _findings(a, multi_async.release)
    bucket = _bucket_of(a, "multi-StagingTarget", "CaptureBucket")
    assert f"{SMOKE_ROLE}: missing s3:GetObject on arn:aws:s3:::{bucket}/async/output/" in found
    assert "service-role row smoke-role-reads-async-answer" in found
    assert "/async/failure/" not in found  # the failure read is still there


def test_a_smoke_role_that_cannot_list_the_bucket_is_named(multi_async) -> None:  # type: ignore[no-untyped-def]
    """Without s3:ListBucket the client's HeadBucket is refused and a poll for an answer not
    written yet is 403, not 404 (fresh reader, issue 25)."""
    a = multi_async.assembly()
    statements = _smoke_statements(a)
    statements[:] = [s for s in statements if s["Action"] != "s3:ListBucket"]
    found = _findings(a, multi_async.release)
    bucket = _bucket_of(a, "multi-StagingTarget", "CaptureBucket")
    assert f"{SMOKE_ROLE}: missing s3:ListBucket on arn:aws:s3:::{bucket}" in found
    assert "service-role row smoke-role-lists-async-bucket" in found


def test_a_smoke_role_that_cannot_find_the_bucket_is_named(multi_async) -> None:  # type: ignore[no-untyped-def]
    a = multi_async.assembly()
    statements = _smoke_statements(a)
    statements[:] = [s for s in statements if s.get("Sid") != "FindAsyncBucket"]
    found = _findings(a, multi_async.release)
    assert f"{SMOKE_ROLE}: missing cloudformation:DescribeStacks on " in found
    assert f":{STAGING}:stack/multi-StagingTarget/" in found


def test_a_hosting_role_that_cannot_read_requests_is_named(multi_async) -> None:  # type: ignore[no-untyped-def]
    a = multi_async.assembly()
    (policy,) = [
        p
        for p in a.resources("multi-Serving", "AWS::IAM::Policy")
        if p.logical_id.startswith("EndpointRoleDefaultPolicy")
    ]
    statements = policy.properties["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if s.get("Sid") != "AsyncReadRequests"]
    found = _findings(a, multi_async.release)
    assert "multi-Serving/EndpointRole" in found and "async-reads-requests" in found
    assert "missing s3:GetObject on arn:aws:s3:::multi-productiontarget-capturebucket" in found
    assert "multi-ServingStaging/" not in found


def test_a_deployment_role_that_cannot_create_the_topics_is_named(multi_async) -> None:  # type: ignore[no-untyped-def]
    """deployment_statements covers the async types in the target account: without its topic
    statement the deploy-cfn role misses sns:CreateTopic (the provider schema's create
    handler)."""
    a = multi_async.assembly()
    (policy,) = [
        p
        for p in a.resources("multi-StagingTarget", "AWS::IAM::ManagedPolicy")
        if p.logical_id.startswith("DeploymentPolicy")
    ]
    statements = policy.properties["PolicyDocument"]["Statement"]
    assert [s for s in statements if s.get("Sid") == "NotificationTopics"]
    statements[:] = [s for s in statements if s.get("Sid") != "NotificationTopics"]
    found = _findings(a, multi_async.release)
    assert "multi-StagingTarget/DeploymentRole" in found
    assert f"missing sns:CreateTopic on arn:aws:sns:us-east-1:{STAGING}:" in found
