"""Asynchronous inference, locally and against the cloud API shapes.

Local: the async contract of ``labctl serve --local`` answers what the real-time path of an
endpoint on the same model answers (the oracle is the real-time endpoint and the known Digits
labels, not the async code). Cloud: ``labctl invoke --async`` against moto's S3 and a Stubber
for sagemaker-runtime (moto has no InvokeEndpointAsync).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import boto3
import numpy as np
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from lab.endpoint import LocalEndpoint
from lab.endpoint.fixtures import build_registry
from lab.registry import settings_from_registry
from labctl.invoke import run as invoke_run
from ops.errors import OperationFailed, UsageError
from ops.invoke import digits_test_rows, invoke_rows, local_client
from ops.invoke_async import LOCAL_BUCKET, LocalBucket, invoke_async
from ops.payload import encode_rows

NAME = "lab-digits"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lab")
    build_registry(path)
    return path


@pytest.fixture(scope="module")
def endpoints(workdir: Path):  # type: ignore[no-untyped-def]
    """An async endpoint and, as the oracle, a real-time endpoint on the same model."""
    real_time = LocalEndpoint(settings_from_registry(workdir, "real_time", endpoint_name=NAME))
    asynchronous = LocalEndpoint(
        settings_from_registry(workdir, "async", endpoint_name=NAME, async_max_concurrent=2)
    )
    with real_time, asynchronous:
        yield real_time, asynchronous


def _args(url: str, workdir: Path, **extra: object) -> argparse.Namespace:
    base = {
        "endpoint": NAME,
        "local_url": url,
        "region": None,
        "csv": None,
        "file": None,
        "digits": None,
        "samples": None,
        "expect": None,
        "min_accuracy": 0.85,
        "target_model": None,
        "target_model_from": None,
        "target_container": None,
        "content_type": "text/csv",
        "accept": "text/csv",
        "async_": True,
        "input_location": None,
        "timeout": 30.0,
        "poll_seconds": 0.05,
        "workdir": str(workdir),
    }
    base.update(extra)
    return argparse.Namespace(**base)


def test_async_answers_equal_the_real_time_answers_and_the_labels(  # type: ignore[no-untyped-def]
    endpoints, workdir: Path, capsys
) -> None:
    real_time, asynchronous = endpoints
    rows, labels = digits_test_rows(40)
    expected = invoke_rows(local_client(real_time.url), NAME, rows)
    assert invoke_run(_args(asynchronous.url, workdir, digits=40)) == 0
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    answers = [float(v) for v in printed.split(",")]
    assert answers == [float(v) for v in expected]
    assert np.mean(np.asarray(answers) == labels) > 0.85  # known labels, not the code


def test_many_async_requests_complete_once_each(endpoints, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    """20 requests of one row each, two workers: every request gets exactly its own answer."""
    real_time, asynchronous = endpoints
    rows, _ = digits_test_rows(20)
    runtime = local_client(asynchronous.url)
    bucket = LocalBucket(workdir / "bucket")
    (bucket.root / LOCAL_BUCKET).mkdir(parents=True, exist_ok=True)
    before = asynchronous.async_queue.done
    sent = []
    for i, row in enumerate(rows):
        key = f"async/input/{NAME}/many-{i}.csv"
        bucket.put_object(Bucket=LOCAL_BUCKET, Key=key, Body=encode_rows(row[None, :], "text/csv"))
        response = runtime.invoke_endpoint_async(
            EndpointName=NAME,
            InputLocation=f"s3://{LOCAL_BUCKET}/{key}",
            ContentType="text/csv",
            InferenceId=f"many-{i}",
        )
        sent.append(response["OutputLocation"])
    assert len(set(sent)) == 20
    assert asynchronous.async_queue.drain(30)
    assert asynchronous.async_queue.done - before == 20
    expected = invoke_rows(local_client(real_time.url), NAME, rows)
    for location, want in zip(sent, expected, strict=True):
        _, _, key = location.removeprefix("s3://").partition("/")
        assert float(bucket.path(LOCAL_BUCKET, key).read_text().strip()) == float(want)


def test_a_repeated_inference_id_is_not_answered_twice(endpoints, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    _, asynchronous = endpoints
    bucket = LocalBucket(workdir / "bucket")
    key = f"async/input/{NAME}/repeat.csv"
    rows, _ = digits_test_rows(1)
    bucket.put_object(Bucket=LOCAL_BUCKET, Key=key, Body=encode_rows(rows, "text/csv"))
    runtime = local_client(asynchronous.url)
    queue = asynchronous.async_queue
    assert queue.drain(30)
    before = queue.done + queue.failed
    first, second = (
        runtime.invoke_endpoint_async(
            EndpointName=NAME, InputLocation=f"s3://{LOCAL_BUCKET}/{key}", InferenceId="same-id"
        )
        for _ in range(2)
    )
    assert first["OutputLocation"] == second["OutputLocation"]
    assert queue.drain(30)
    assert queue.done + queue.failed - before == 1


def test_a_failing_request_writes_the_failure_file(endpoints, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    """A malformed payload: the model path refuses it, the failure location gets the error,
    and labctl reports it (exit 1 through OperationFailed), not a hang until the timeout."""
    _, asynchronous = endpoints
    bucket = LocalBucket(workdir / "bucket")
    (bucket.root / LOCAL_BUCKET).mkdir(parents=True, exist_ok=True)
    with pytest.raises(OperationFailed, match="could not answer request"):
        invoke_async(
            local_client(asynchronous.url),
            bucket,
            NAME,
            b"1,2,3\n",  # 3 features, the model needs 64
            input_location=f"s3://{LOCAL_BUCKET}/async/input/{NAME}/",
            content_type="text/csv",
            accept="text/csv",
            timeout_seconds=30,
            poll_seconds=0.05,
            progress=lambda line: None,
        )


def test_a_missing_input_object_is_bad_input(endpoints, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    _, asynchronous = endpoints
    args = _args(
        asynchronous.url,
        workdir,
        digits=1,
        input_location=f"s3://{LOCAL_BUCKET}/async/input/{NAME}/nothing-here.csv",
    )
    with pytest.raises(UsageError, match="does not exist"):
        invoke_run(args)


def test_real_time_invocations_of_an_async_endpoint_are_refused(endpoints) -> None:  # type: ignore[no-untyped-def]
    from botocore.exceptions import ClientError

    _, asynchronous = endpoints
    with pytest.raises(ClientError, match="only receives asynchronous invocations"):
        invoke_rows(local_client(asynchronous.url), NAME, digits_test_rows(1)[0])


# -- cloud: moto S3 + Stubber for sagemaker-runtime -------------------------------------------

BUCKET = "lab-artifacts"
PREFIX = f"async/input/{NAME}/"


def _runtime_stub(output: str, failure: str, inference_id: object = ANY) -> tuple:
    """One InvokeEndpointAsync call allowed: a second (a retry) fails the test."""
    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1")
    stub = Stubber(runtime)
    expected = {
        "EndpointName": NAME,
        "InputLocation": ANY
        if inference_id is ANY
        else f"s3://{BUCKET}/{PREFIX}{inference_id}.csv",
        "ContentType": "text/csv",
        "Accept": "text/csv",
        "InferenceId": inference_id,
        "InvocationTimeoutSeconds": ANY,
    }
    stub.add_response(
        "invoke_endpoint_async",
        {"InferenceId": "svc-id", "OutputLocation": output, "FailureLocation": failure},
        expected,
    )
    return runtime, stub


@mock_aws
def test_cloud_invoke_uploads_once_invokes_once_and_reads_the_answer() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    output = f"s3://{BUCKET}/async/output/{NAME}/svc-id.out"
    failure = f"s3://{BUCKET}/async/failure/{NAME}/svc-id-error.out"
    runtime, stub = _runtime_stub(output, failure, inference_id="req-1")
    polls = []

    def sleep(_: float) -> None:  # the endpoint answers after the second poll
        polls.append(1)
        if len(polls) == 2:
            s3.put_object(Bucket=BUCKET, Key=f"async/output/{NAME}/svc-id.out", Body=b"6\n")

    with stub:
        answer = invoke_async(
            runtime,
            s3,
            NAME,
            b"0,1\n",
            input_location=f"s3://{BUCKET}/{PREFIX}",
            content_type="text/csv",
            accept="text/csv",
            timeout_seconds=60,
            inference_id="req-1",
            progress=lambda line: None,
            sleep=sleep,
        )
        stub.assert_no_pending_responses()
    assert answer.body == b"6\n" and len(polls) == 2
    objects = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)["Contents"]
    assert [o["Key"] for o in objects] == [f"{PREFIX}req-1.csv"]
    assert s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}req-1.csv")["Body"].read() == b"0,1\n"


@mock_aws
def test_cloud_input_bucket_that_does_not_exist_is_bad_input() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1")
    with Stubber(runtime) as stub, pytest.raises(UsageError, match="does not exist"):
        invoke_async(
            runtime,
            s3,
            NAME,
            b"0\n",
            input_location="s3://no-such-bucket/async/input/",
            content_type="text/csv",
            accept="text/csv",
            timeout_seconds=5,
        )
    stub.assert_no_pending_responses()  # nothing was invoked


@mock_aws
def test_cloud_poll_times_out_with_where_the_answer_will_be() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    output = f"s3://{BUCKET}/async/output/{NAME}/svc-id.out"
    runtime, stub = _runtime_stub(output, f"s3://{BUCKET}/async/failure/{NAME}/e.out")
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with stub, pytest.raises(OperationFailed, match=r"no answer .* after 10 s.*svc-id\.out"):
        invoke_async(
            runtime,
            s3,
            NAME,
            b"0\n",
            input_location=f"s3://{BUCKET}/{PREFIX}",
            content_type="text/csv",
            accept="text/csv",
            timeout_seconds=10,
            poll_seconds=2,
            progress=lambda line: None,
            clock=lambda: now[0],
            sleep=sleep,
        )


class _DeniedReads:
    """An S3 client whose GetObject is refused, as for a caller without s3:GetObject."""

    def __init__(self, inner: object) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def get_object(self, **kwargs: object) -> object:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "GetObject")


@mock_aws
def test_cloud_output_without_permission_is_named_and_not_resent() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    output = f"s3://{BUCKET}/async/output/{NAME}/svc-id.out"
    runtime, stub = _runtime_stub(output, f"s3://{BUCKET}/async/failure/{NAME}/e.out")
    with stub, pytest.raises(OperationFailed, match="no permission to read .*nothing is re-sent"):
        invoke_async(
            runtime,
            _DeniedReads(s3),
            NAME,
            b"0\n",
            input_location=f"s3://{BUCKET}/{PREFIX}",
            content_type="text/csv",
            accept="text/csv",
            timeout_seconds=10,
            progress=lambda line: None,
        )
        stub.assert_no_pending_responses()


def test_cli_exit_codes_for_async_bad_input(tmp_path: Path) -> None:
    """Through the CLI: --async without an input location for a deployed endpoint is exit 2."""
    from labctl.cli import main

    code = main(["invoke", "--endpoint", NAME, "--region", "us-east-1", "--digits", "1", "--async"])
    assert code == 2


def test_the_upload_the_invocation_and_the_read_all_use_the_callers_aws_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cross-account smoke test runs `AWS_PROFILE=staging labctl invoke --async` (issue 25,
    infra/cross_account.smoke_in_staging): both clients, the one that uploads and reads (S3)
    and the one that calls InvokeEndpointAsync, must carry that profile's credentials, never
    the build's own. The oracle is the key written in the profile file."""
    (tmp_path / "credentials").write_text(
        "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n"
        "[staging]\naws_access_key_id = AKIASTAGING\naws_secret_access_key = s\n"
    )
    (tmp_path / "config").write_text("[default]\n[profile staging]\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "staging")
    # a fresh process (the CodeBuild command) starts without boto3's cached default session
    monkeypatch.setattr("boto3.DEFAULT_SESSION", None)
    seen: dict[str, str] = {}

    def capture(runtime, s3, endpoint, body, **_):  # type: ignore[no-untyped-def]
        for name, client in (("runtime", runtime), ("s3", s3)):
            seen[name] = client._request_signer._credentials.access_key
        raise OperationFailed("stop here: no AWS")

    monkeypatch.setattr("labctl.invoke.invoke_async", capture)
    args = _args(None, tmp_path, region="us-east-1", digits=1)  # type: ignore[arg-type]
    args.input_location = f"s3://{BUCKET}/{PREFIX}"
    with pytest.raises(OperationFailed, match="stop here"):
        invoke_run(args)
    assert seen == {"runtime": "AKIASTAGING", "s3": "AKIASTAGING"}
