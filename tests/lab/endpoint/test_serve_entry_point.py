"""The local multi-container endpoint loads the baseline through the scikit-learn container's
entry point contract (SAGEMAKER_PROGRAM / SAGEMAKER_SUBMIT_DIRECTORY from the registered
package), and a failing model answers HTTP 424 ModelError, as InvokeEndpoint does."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError

from lab.endpoint import EndpointSetupError, LocalEndpoint
from lab.endpoint.entry_point import EntryPointModel
from lab.endpoint.fixtures import build_registry, copy_of_shared_registry
from lab.registry import settings_from_registry
from ops.invoke import digits_test_rows

NAME = "test-digits"
HOST = "X-Amzn-SageMaker-Target-Container-Hostname"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lab")
    shared = os.environ.get("ENDPOINT_FIXTURE_DIR")  # mutation runs: train once per run
    if shared:
        copy_of_shared_registry(path, Path(shared))
    else:
        build_registry(path)
    return path


def _registry(workdir: Path) -> dict[str, Any]:
    return json.loads((workdir / "registry" / "registry.json").read_text())


def _variant(tmp_path: Path, registry: dict[str, Any]) -> Path:
    """Another lab workdir with an edited registry (same artifacts)."""
    path = tmp_path / "registry" / "registry.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(registry))
    return tmp_path


def _endpoint(workdir: Path, kind: str = "multi_container") -> LocalEndpoint:
    return LocalEndpoint(settings_from_registry(workdir, kind, endpoint_name=NAME))


def _client(endpoint: LocalEndpoint) -> Any:
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def _csv(rows: np.ndarray) -> bytes:
    return "".join(",".join(str(int(v)) for v in row) + "\n" for row in rows).encode()


def test_baseline_is_served_by_the_entry_point_in_the_archive(workdir: Path) -> None:
    rows, labels = digits_test_rows(5)
    with _endpoint(workdir) as endpoint:
        baseline = endpoint.containers["baseline"]
        assert isinstance(baseline, EntryPointModel)
        # The module came out of model.tar.gz (code/), not from the repository's model_code.
        module_file = Path(baseline.module.__file__ or "")
        assert module_file.name == "baseline_inference.py"
        assert module_file.parent.name == "code" and "model_code" not in module_file.parts
        assert baseline.handlers == ("input_fn", "predict_fn", "output_fn")
        response = _client(endpoint).invoke_endpoint(
            EndpointName=NAME,
            Body=_csv(rows[:1]),
            ContentType="text/csv",
            Accept="application/json",
            TargetContainerHostname="baseline",
        )
        assert response["ContentType"] == "application/json"
        # The study guide's first test sample is a 6 (independent of the model under test).
        assert json.loads(response["Body"].read()) == {"predictions": [6]}
        assert labels[0] == 6


@pytest.mark.parametrize("drop", ["SAGEMAKER_PROGRAM", "SAGEMAKER_SUBMIT_DIRECTORY"])
def test_a_package_without_the_entry_point_does_not_load(
    workdir: Path, tmp_path: Path, drop: str
) -> None:
    """As in the cloud: the scikit-learn container has no default model_fn."""
    registry = _registry(workdir)
    registry["groups"]["digits-baseline"]["versions"][0]["environment"].pop(drop)
    with pytest.raises(EndpointSetupError, match="no default model_fn.*SAGEMAKER_PROGRAM"):
        _endpoint(_variant(tmp_path, registry))


def test_a_submit_directory_in_s3_is_refused(workdir: Path, tmp_path: Path) -> None:
    """A network-isolated endpoint cannot download its code: it must ship in model.tar.gz."""
    registry = _registry(workdir)
    env = registry["groups"]["digits-baseline"]["versions"][0]["environment"]
    env["SAGEMAKER_SUBMIT_DIRECTORY"] = "s3://artifacts/code/sourcedir.tar.gz"
    with pytest.raises(EndpointSetupError, match="cannot download code"):
        _endpoint(_variant(tmp_path, registry))


def test_an_archive_without_the_script_is_refused(workdir: Path, tmp_path: Path) -> None:
    registry = _registry(workdir)
    version = registry["groups"]["digits-baseline"]["versions"][0]
    stripped = tmp_path / "no-code.tar.gz"
    with tarfile.open(version["artifact"]) as src, tarfile.open(stripped, "w:gz") as dst:
        for member in src.getmembers():
            if not member.name.startswith("code"):
                handle = src.extractfile(member)
                dst.addfile(member, io.BytesIO(handle.read()) if handle else None)
    version["artifact"] = str(stripped)
    with pytest.raises(EndpointSetupError, match="baseline_inference.py not found"):
        _endpoint(_variant(tmp_path / "w", registry))


class _Broken:
    def predict(self, rows: Any) -> Any:
        raise RuntimeError("weights are corrupt")

    def inplace_predict(self, rows: Any) -> Any:
        raise RuntimeError("weights are corrupt")


@pytest.mark.parametrize("kind", ["real_time", "multi_container"])
def test_a_failing_model_is_a_424_model_error_and_bad_input_stays_4xx(
    workdir: Path, kind: str
) -> None:
    rows, _ = digits_test_rows(1)
    with _endpoint(workdir, kind) as endpoint:
        extra: dict[str, str] = {}
        if kind == "multi_container":
            baseline = endpoint.containers["baseline"]
            assert isinstance(baseline, EntryPointModel)
            baseline.model = _Broken()  # predict_fn calls model.predict
            extra = {"TargetContainerHostname": "baseline"}
        else:
            assert endpoint.model is not None
            endpoint.model.predictor = _Broken()
        client = _client(endpoint)
        with pytest.raises(ClientError) as failed:
            client.invoke_endpoint(
                EndpointName=NAME, Body=_csv(rows), ContentType="text/csv", **extra
            )
        error = failed.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
        assert error["Error"]["Code"] == "ModelError"
        assert error["OriginalStatusCode"] == 500
        assert "weights are corrupt" in error["OriginalMessage"]
        with pytest.raises(ClientError) as malformed:
            client.invoke_endpoint(
                EndpointName=NAME, Body=b"1,2,3\n", ContentType="text/csv", **extra
            )
        status = malformed.value.response["ResponseMetadata"]["HTTPStatusCode"]
        assert 400 <= status < 424, status
        # The server survives both and still answers.
        endpoint_ok = endpoint.invocations
        assert endpoint.errors == 2 and endpoint_ok == 0
