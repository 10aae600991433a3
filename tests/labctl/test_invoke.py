"""labctl invoke: against the local endpoint, and against a Stubber-stubbed runtime client."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from lab.endpoint import LocalEndpoint
from lab.endpoint.fixtures import build_registry
from lab.registry import settings_from_registry
from labctl import cli
from ops.invoke import digits_test_rows

NAME = "test-digits"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lab")
    build_registry(path)
    return path


@pytest.fixture(scope="module")
def endpoint(workdir: Path):
    running = LocalEndpoint(settings_from_registry(workdir, "real_time", endpoint_name=NAME))
    yield running.start()
    running.stop()


@pytest.fixture(scope="module")
def mme(workdir: Path):
    running = LocalEndpoint(settings_from_registry(workdir, "multi_model", endpoint_name=NAME))
    yield running.start()
    running.stop()


@pytest.fixture
def labctl():
    return cli.main  # the product's own command list, as `labctl` builds it


@pytest.fixture(scope="module")
def first_row() -> str:
    return ",".join(str(int(v)) for v in digits_test_rows(1)[0][0])


def test_digits_against_the_local_endpoint(labctl, endpoint, capsys) -> None:
    # The Digits labels, not the endpoint's own model: the fixture model gets these 3 right.
    expect = ",".join(str(int(label)) for label in digits_test_rows(3)[1])
    argv = ["invoke", "--endpoint", NAME, "--local-url", endpoint.url, "--digits", "3"]
    assert labctl([*argv, "--expect", expect]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{expect}\n") and "all 3 predictions match" in out
    assert (
        labctl(
            [
                *argv,
                "--accept",
                "application/json",
                "--content-type",
                "application/json",
                "--expect",
                expect,
            ]
        )
        == 0
    )


def test_expect_mismatch_exits_1(labctl, endpoint, first_row, capsys) -> None:
    argv = ["invoke", "--endpoint", NAME, "--local-url", endpoint.url, "--csv", first_row]
    assert labctl([*argv, "--expect", "5"]) == 1
    assert "row 1: expected 5, got 6" in capsys.readouterr().err
    assert labctl([*argv, "--expect", "6,6"]) == 1
    assert "expected 2 predictions, the endpoint returned 1" in capsys.readouterr().err


def test_file_input_and_target_model(labctl, mme, first_row, tmp_path, capsys) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text(f"{first_row}\n{first_row}\n")
    argv = ["invoke", "--endpoint", NAME, "--local-url", mme.url, "--file", str(rows)]
    assert labctl([*argv, "--target-model", "baseline-v1.tar.gz", "--expect", "6,6"]) == 0
    # An MME without a target model: the endpoint names its HTTP header, labctl the flag.
    assert labctl(argv) == 2
    err = capsys.readouterr().err
    assert "--target-model" in err and "X-Amzn-SageMaker-Target-Model" not in err
    assert labctl([*argv, "--target-model", "nope.tar.gz"]) == 1
    assert "Model nope.tar.gz not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--csv", "1,2,3"], "--csv: row 1 has 3 values, expected 64"),
        (["--csv", ",".join(["x"] * 64)], "'x' is not a number"),
        (["--file", "/nonexistent/rows.csv"], "cannot read /nonexistent/rows.csv"),
        (["--digits", "0"], "--digits must be 1-360"),
        (["--digits", "1", "--expect", "six"], "--expect must be comma-separated numbers"),
        (["--digits", "1", "--local-url", "ftp://x"], "--local-url must be an http:// URL"),
    ],
)
def test_bad_arguments_exit_2(labctl, extra, message, capsys) -> None:
    assert labctl(["invoke", "--endpoint", NAME, *extra]) == 2
    assert message in capsys.readouterr().err


def test_unreachable_local_endpoint_exits_1(labctl, capsys) -> None:
    argv = ["invoke", "--endpoint", NAME, "--local-url", "http://127.0.0.1:9", "--digits", "1"]
    assert labctl(argv) == 1
    assert "Could not connect" in capsys.readouterr().err


# --- a deployed endpoint, stubbed ------------------------------------------------------


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch):
    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def _body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def test_stubbed_deployed_endpoint_smoke_test(labctl, stubbed, first_row, capsys) -> None:
    # The SageMaker XGBoost container answers "6.0": the comparison is numeric.
    expected_params = {
        "EndpointName": "staging-digits",
        "Body": f"{first_row}\n".encode(),
        "ContentType": "text/csv",
        "Accept": "text/csv",
        "TargetContainerHostname": "xgboost",
    }
    for answer in (b"6.0", b"5.0"):
        stubbed.add_response(
            "invoke_endpoint", {"Body": _body(answer), "ContentType": "text/csv"}, expected_params
        )
    argv = [
        "invoke",
        "--endpoint",
        "staging-digits",
        "--region",
        "us-east-1",
        "--digits",
        "1",
        "--target-container",
        "xgboost",
        "--expect",
        "6",
    ]
    assert labctl(argv) == 0
    assert labctl(argv) == 1
    assert "expected 6, got 5" in capsys.readouterr().err


def test_stubbed_json_scores_and_client_error(labctl, stubbed, capsys) -> None:
    body = b'{"predictions": [{"score": 6.0}, {"score": 9.0}]}'
    stubbed.add_response(
        "invoke_endpoint", {"Body": _body(body), "ContentType": "application/json"}
    )
    stubbed.add_client_error(
        "invoke_endpoint",
        service_error_code="ValidationError",
        service_message="Endpoint staging-digits of account 1 not found.",
        http_status_code=400,
    )
    argv = ["invoke", "--endpoint", "staging-digits", "--region", "us-east-1", "--digits", "2"]
    assert labctl([*argv, "--accept", "application/json", "--expect", "6,9"]) == 0
    assert labctl(argv) == 1
    assert "ValidationError: Endpoint staging-digits of account 1 not found." in (
        capsys.readouterr().err
    )


def test_target_model_from_a_release_file(labctl, mme, first_row, tmp_path, capsys) -> None:
    """The delivery smoke test of a multi_model endpoint: the TargetModel comes from the
    release file the build wrote, in the same <model>-v<version> names the lab serves."""
    release = tmp_path / "lab.json"
    release.write_text('{"xgboost": {"target_model": "xgboost-v2.tar.gz"}}')
    argv = ["invoke", "--endpoint", NAME, "--local-url", mme.url, "--csv", first_row]
    assert labctl([*argv, "--target-model-from", str(release), "--expect", "6"]) == 0
    assert "xgboost-v2.tar.gz" in mme.cache.loaded()
    release.write_text('{"xgboost": {"version": 2}}')
    assert labctl([*argv, "--target-model-from", str(release)]) == 2
    assert "xgboost has no target_model" in capsys.readouterr().err


def _samples(tmp_path: Path, n: int, wrong: int = 0) -> Path:
    x, y = digits_test_rows(n)
    labels = [int(v) for v in y]
    for i in range(wrong):  # mislabel: the endpoint's right answers now count as wrong
        labels[i] = (labels[i] + 1) % 10
    path = tmp_path / "smoke_samples.json"
    path.write_text(json.dumps({"rows": x.tolist(), "labels": labels}))
    return path


def test_samples_check_accuracy_against_their_labels(labctl, endpoint, tmp_path, capsys) -> None:
    argv = ["invoke", "--endpoint", NAME, "--local-url", endpoint.url, "--samples"]
    assert labctl([*argv, str(_samples(tmp_path, 20))]) == 0
    assert "held-out samples right" in capsys.readouterr().out
    # 10 of 20 labels flipped: at most 10 right, below the 0.85 default.
    assert labctl([*argv, str(_samples(tmp_path, 20, wrong=10))]) == 1
    assert "< --min-accuracy 0.85" in capsys.readouterr().err
    assert labctl([*argv, str(_samples(tmp_path, 20, wrong=10)), "--min-accuracy", "0.4"]) == 0


def test_samples_from_s3_and_bad_samples(labctl, endpoint, tmp_path, capsys) -> None:
    from moto import mock_aws

    argv = ["invoke", "--endpoint", NAME, "--local-url", endpoint.url, "--samples"]
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="artifacts")
        s3.put_object(
            Bucket="artifacts",
            Key="Evaluate/evaluation/smoke_samples.json",
            Body=_samples(tmp_path, 5).read_bytes(),
        )
        uri = "s3://artifacts/Evaluate/evaluation/smoke_samples.json"
        assert labctl([*argv, uri]) == 0
        assert labctl([*argv, "s3://artifacts/missing.json"]) == 1
    (tmp_path / "bad.json").write_text('{"rows": [[1, 2]]}')
    assert labctl([*argv, str(tmp_path / "bad.json")]) == 2
    assert labctl([*argv, str(_samples(tmp_path, 3)), "--expect", "6"]) == 2


def test_samples_from_release_are_the_released_versions_own(
    labctl, endpoint, tmp_path, capsys
) -> None:
    """The delivery smoke test: the release file names the version's metrics, in the
    evaluation folder of the execution that trained it; its samples lie beside them. A newer
    execution's folder (here: labels the endpoint gets wrong) must not be read instead."""
    from moto import mock_aws

    folder = "pipelines/lab-digits-training/Evaluate/{}/evaluation"
    release = tmp_path / "lab.json"
    argv = ["invoke", "--endpoint", NAME, "--local-url", endpoint.url]
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="artifacts")
        for execution, wrong in (("old-run", 0), ("new-run", 5)):
            s3.put_object(
                Bucket="artifacts",
                Key=f"{folder.format(execution)}/smoke_samples.json",
                Body=_samples(tmp_path, 5, wrong=wrong).read_bytes(),
            )
        metrics = f"s3://artifacts/{folder.format('old-run')}/xgboost_metrics.json"
        release.write_text(json.dumps({"xgboost": {"metrics_uri": metrics}}))
        assert labctl([*argv, "--samples-from-release", str(release)]) == 0
        assert "5 of 5 held-out samples right" in capsys.readouterr().out
        metrics = metrics.replace("old-run", "new-run")
        release.write_text(json.dumps({"xgboost": {"metrics_uri": metrics}}))
        assert labctl([*argv, "--samples-from-release", str(release)]) == 1
    release.write_text(json.dumps({"xgboost": {"version": 1}}))
    assert labctl([*argv, "--samples-from-release", str(release)]) == 2
    assert "xgboost has no metrics_uri" in capsys.readouterr().err
