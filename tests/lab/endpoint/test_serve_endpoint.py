"""The local endpoint's HTTP contract: routing by kind, errors, MME cache, capture, boto3."""

from __future__ import annotations

import http.client
import json
import random
import threading
from datetime import UTC, datetime
from pathlib import Path

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError

from lab.endpoint import (
    CaptureWriter,
    EndpointSettings,
    EndpointSetupError,
    LocalEndpoint,
    ModelCache,
    capture_record,
    load_archive,
)
from lab.endpoint.fixtures import build_registry
from lab.registry import settings_from_registry
from ops.invoke import digits_test_rows
from tests.lab.endpoint.oracles import booster_predictions

NAME = "test-digits"
MME_XGB1, MME_XGB2, MME_BASE = (
    "xgboost-v1.tar.gz",
    "xgboost-v2.tar.gz",
    "baseline-v1.tar.gz",
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lab")
    build_registry(path)
    return path


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return digits_test_rows(5)[0]


@pytest.fixture(scope="module")
def labelled() -> tuple[np.ndarray, np.ndarray]:
    """The 360 held-out Digits rows (the fixtures train on the rest) and their labels."""
    return digits_test_rows(360)


def joblib_predictions(archive: Path, x: np.ndarray) -> np.ndarray:
    import io
    import tarfile

    import joblib

    with tarfile.open(archive) as tar:
        member = tar.extractfile("model.joblib")
        assert member is not None
        return np.asarray(joblib.load(io.BytesIO(member.read())).predict(x)).astype(int)


def csv_of(rows: np.ndarray) -> bytes:
    return "".join(",".join(str(int(v)) for v in row) + "\n" for row in rows).encode()


def start(workdir: Path, kind: str, **overrides: object) -> LocalEndpoint:
    return LocalEndpoint(
        settings_from_registry(workdir, kind, endpoint_name=NAME, **overrides)
    ).start()


@pytest.fixture(scope="module")
def real_time(workdir: Path):
    endpoint = start(workdir, "real_time", capture_dir=workdir / "capture")
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="module")
def mce(workdir: Path):
    endpoint = start(workdir, "multi_container")
    yield endpoint
    endpoint.stop()


@pytest.fixture
def mme(workdir: Path):
    # Function-scoped: each test sees a cold cache.
    endpoint = start(workdir, "multi_model", max_models=2)
    yield endpoint
    endpoint.stop()


def post(
    endpoint: LocalEndpoint,
    body: bytes | str,
    content_type: str | None = "text/csv",
    path: str = "/invocations",
    **headers: str,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(endpoint.url.removeprefix("http://"), timeout=10)
    sent = {k.replace("_", "-"): v for k, v in headers.items()}
    if content_type is not None:
        sent["Content-Type"] = content_type
    conn.request("POST", path, body=body, headers=sent)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def error_of(data: bytes) -> str:
    return str(json.loads(data)["Message"])


def runtime(endpoint: LocalEndpoint):
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


# --- the contract ---------------------------------------------------------------------


def test_ping(real_time: LocalEndpoint) -> None:
    conn = http.client.HTTPConnection(real_time.url.removeprefix("http://"))
    conn.request("GET", "/ping")
    assert conn.getresponse().status == 200


def test_csv_one_row_is_a_six_and_many_rows_one_line_each(real_time, rows) -> None:
    status, headers, data = post(real_time, csv_of(rows[:1]))
    assert (status, headers["content-type"], data) == (200, "text/csv", b"6\n")
    status, _, data = post(real_time, csv_of(rows))
    reference = booster_predictions(real_time.settings.model, rows)
    assert data.decode().splitlines() == [str(int(p)) for p in reference]


def test_real_time_predictions_match_known_labels_and_an_independent_booster(
    real_time, labelled
) -> None:
    """Oracles outside the endpoint's code: the Digits labels (accuracy bound) and a Booster
    read straight from the archive by xgboost itself. A constant answer scores about 0.1."""
    x, y = labelled
    status, _, data = post(real_time, csv_of(x))
    predicted = np.array([int(float(v)) for v in data.decode().splitlines()])
    assert status == 200 and len(predicted) == len(y)
    assert (predicted == y).mean() >= 0.85
    assert predicted.tolist() == booster_predictions(real_time.settings.model, x).tolist()


@pytest.mark.parametrize(
    "doc",
    [
        lambda r: {"instances": r.tolist()},
        lambda r: {"instances": [{"features": row} for row in r.tolist()]},
        lambda r: {"features": r.tolist()[0]},
    ],
)
def test_json_shapes(real_time, rows, doc) -> None:
    status, headers, data = post(real_time, json.dumps(doc(rows[:2])), "application/json")
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(data)["predictions"][0] == 6


def test_accept_chooses_the_response_type(real_time, rows) -> None:
    _, headers, data = post(real_time, csv_of(rows[:1]), Accept="application/json")
    assert headers["content-type"] == "application/json"
    assert json.loads(data) == {"predictions": [6]}
    body = json.dumps({"instances": rows[:1].tolist()})
    _, headers, data = post(real_time, body, "application/json", Accept="text/csv")
    assert (headers["content-type"], data) == ("text/csv", b"6\n")
    _, headers, _ = post(real_time, body, "application/json", Accept="*/*")
    assert headers["content-type"] == "application/json"
    status, _, data = post(real_time, csv_of(rows[:1]), Accept="image/png")
    assert status == 406 and "image/png" in error_of(data)


def _row_with(rows: np.ndarray, index: int, value: str) -> str:
    values = [str(int(v)) for v in rows[0]]
    values[index] = value
    return ",".join(values)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        ("1," * 62 + "1", "text/csv", 400, "row 1 has 63 values, expected 64"),
        (None, "text/csv", 400, "row 2, column 5: 'abc' is not a number"),
        ("", "text/csv", 400, "empty body"),
        ("\n\n", "text/csv", 400, "empty body"),
        ('{"instances": [[1, 2]]}', "application/json", 400, "row 1 has 2 values, expected 64"),
        ('{"instances": [', "application/json", 400, "not valid JSON"),
        ('{"rows": []}', "application/json", 400, '{"instances"'),
        ("1,2", "application/x-npy", 415, "unsupported content type application/x-npy"),
        ("1,2", None, 415, "unsupported content type (none)"),
    ],
)
def test_bad_payloads_are_refused_and_the_server_keeps_serving(
    real_time, rows, body, content_type, status, message
) -> None:
    if body is None:
        body = csv_of(rows[:1]).decode() + _row_with(rows, 4, "abc")
    got, headers, data = post(real_time, body, content_type)
    assert got == status
    assert headers["x-amzn-errortype"] == "ModelError"
    assert message in error_of(data)
    assert post(real_time, csv_of(rows[:1]))[2] == b"6\n"


def test_errors_on_one_keep_alive_connection_do_not_break_it(real_time, rows) -> None:
    conn = http.client.HTTPConnection(real_time.url.removeprefix("http://"))
    for body, expected in (
        (b"x", 400),
        (csv_of(rows[:1]), 200),
        (b"", 400),
        (csv_of(rows[:1]), 200),
    ):
        conn.request("POST", "/invocations", body=body, headers={"Content-Type": "text/csv"})
        response = conn.getresponse()
        response.read()
        assert response.status == expected


def test_routes_and_endpoint_names(real_time, rows) -> None:
    assert post(real_time, csv_of(rows[:1]), path=f"/endpoints/{NAME}/invocations")[0] == 200
    status, _, data = post(real_time, csv_of(rows[:1]), path="/endpoints/other/invocations")
    assert status == 404 and "Endpoint other not found" in error_of(data)
    assert post(real_time, b"", path="/nowhere")[0] == 404


def test_single_model_endpoint_refuses_routing_headers(real_time, rows) -> None:
    status, headers, data = post(
        real_time, csv_of(rows[:1]), **{"X-Amzn-SageMaker-Target-Model": MME_XGB1}
    )
    assert (status, headers["x-amzn-errortype"]) == (400, "ValidationError")
    assert "not a multi-model endpoint" in error_of(data)
    status, _, data = post(
        real_time, csv_of(rows[:1]), **{"X-Amzn-SageMaker-Target-Container-Hostname": "xgboost"}
    )
    assert status == 400 and "not a multi-container endpoint" in error_of(data)


def test_unknown_kind_and_missing_model_fail_at_setup(tmp_path: Path) -> None:
    with pytest.raises(EndpointSetupError, match="kind must be one of"):
        LocalEndpoint(EndpointSettings(kind="batch"))
    with pytest.raises(EndpointSetupError, match="needs a model archive"):
        LocalEndpoint(EndpointSettings(kind="real_time"))
    with pytest.raises(EndpointSetupError, match="no local registry"):
        settings_from_registry(tmp_path, "real_time")


# --- multi-model ----------------------------------------------------------------------


def mme_post(endpoint: LocalEndpoint, rows: np.ndarray, target: str):
    return post(endpoint, csv_of(rows[:1]), **{"X-Amzn-SageMaker-Target-Model": target})


def test_mme_folder_holds_every_version_of_every_group(mme) -> None:
    assert mme.cache.available() == [MME_BASE, MME_XGB1, MME_XGB2]
    assert mme.cache.loaded() == []  # nothing loads before first use


def test_mme_answers_from_the_target_model(mme, labelled) -> None:
    """Each target's answers match that archive read by xgboost/joblib directly; the three
    models disagree on some rows, so a wrong target (or a stale cache entry) shows."""
    x, y = labelled
    folder = mme.settings.model_folder
    oracle = {
        MME_XGB1: booster_predictions(folder / MME_XGB1, x),
        MME_XGB2: booster_predictions(folder / MME_XGB2, x),
        MME_BASE: joblib_predictions(folder / MME_BASE, x),
    }
    assert (oracle[MME_XGB1] != oracle[MME_XGB2]).any() and (
        oracle[MME_XGB1] != oracle[MME_BASE]
    ).any()
    for target in (MME_XGB1, MME_BASE, MME_XGB2, MME_XGB1):
        status, _, data = post(mme, csv_of(x), **{"X-Amzn-SageMaker-Target-Model": target})
        assert status == 200
        assert data.decode().splitlines() == [str(int(p)) for p in oracle[target]]


def test_mme_loads_on_first_use_and_evicts_least_recently_used(mme, rows) -> None:
    for target in (MME_XGB1, MME_XGB2, MME_XGB1):
        assert mme_post(mme, rows, target)[2] == b"6\n"
    assert mme.cache.stats.loads == 2 and mme.cache.stats.hits == 1
    mme_post(mme, rows, MME_BASE)  # cap 2: evicts v2, the least recently used
    assert mme.cache.stats.evicted == [MME_XGB2]
    assert mme.cache.loaded() == [MME_XGB1, MME_BASE]
    mme_post(mme, rows, MME_XGB2)  # loads again, evicting v1
    assert mme.cache.stats.evicted == [MME_XGB2, MME_XGB1]
    assert mme.cache.stats.loads == 4


def test_mme_byte_budget_evicts(workdir: Path, rows) -> None:
    folder = workdir / "serving" / "models"
    one = load_archive(folder / MME_XGB1).size_bytes
    cache = ModelCache(folder, max_models=None, max_bytes=one + 1)
    cache.get(MME_XGB1)
    _, cold = cache.get(MME_XGB2)
    assert cold and cache.loaded() == [MME_XGB2] and cache.stats.evicted == [MME_XGB1]
    assert cache.get(MME_XGB2) == (cache.get(MME_XGB2)[0], False)


def test_mme_concurrent_first_requests_load_once(workdir: Path) -> None:
    cache = ModelCache(workdir / "serving" / "models", max_models=4)
    threads = [threading.Thread(target=cache.get, args=(MME_XGB1,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.stats.loads == 1 and cache.stats.hits == 5


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 400, "missing a target model header"),
        (
            {"X-Amzn-SageMaker-Target-Model": "xgboost-v9.tar.gz"},
            404,
            "Model xgboost-v9.tar.gz not found",
        ),
        (
            {"X-Amzn-SageMaker-Target-Model": "../registry/registry.json"},
            400,
            "must be a path inside the model folder",
        ),
        (
            {"X-Amzn-SageMaker-Target-Container-Hostname": "xgboost"},
            400,
            "not a multi-container endpoint",
        ),
    ],
)
def test_mme_routing_errors(mme, rows, headers, status, message) -> None:
    got, response_headers, data = post(mme, csv_of(rows[:1]), **headers)
    assert got == status and response_headers["x-amzn-errortype"] == "ValidationError"
    assert message in error_of(data)
    assert mme_post(mme, rows, MME_XGB1)[0] == 200


# --- multi-container ------------------------------------------------------------------


def test_mce_routes_by_container_hostname(mce, labelled) -> None:
    """The two containers disagree on some rows, so answering from the wrong one shows."""
    x, _ = labelled
    oracle = {
        "xgboost": booster_predictions(mce.settings.containers["xgboost"], x),
        "baseline": joblib_predictions(mce.settings.containers["baseline"], x),
    }
    disagree = np.flatnonzero(oracle["xgboost"] != oracle["baseline"])
    assert len(disagree) >= 3, "the fixture models must disagree for this test to mean much"
    for host in ("xgboost", "baseline"):
        status, _, data = post(
            mce, csv_of(x[disagree]), **{"X-Amzn-SageMaker-Target-Container-Hostname": host}
        )
        assert status == 200
        assert data.decode().splitlines() == [str(int(p)) for p in oracle[host][disagree]]
    assert mce.containers["xgboost"].framework == "xgboost"
    assert mce.containers["baseline"].framework == "sklearn"


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 400, "missing a X-Amzn-SageMaker-Target-Container-Hostname header (one of baseline"),
        (
            {"X-Amzn-SageMaker-Target-Container-Hostname": "lightgbm"},
            404,
            "Container hostname lightgbm not found",
        ),
        ({"X-Amzn-SageMaker-Target-Model": MME_XGB1}, 400, "not a multi-model endpoint"),
    ],
)
def test_mce_routing_errors(mce, rows, headers, status, message) -> None:
    got, _, data = post(mce, csv_of(rows[:1]), **headers)
    assert got == status and message in error_of(data)
    ok = post(mce, csv_of(rows[:1]), **{"X-Amzn-SageMaker-Target-Container-Hostname": "xgboost"})
    assert ok[0] == 200


# --- data capture ---------------------------------------------------------------------


def test_capture_record_format_and_path_layout(workdir: Path, rows) -> None:
    endpoint = start(workdir, "real_time", capture_dir=workdir / "capture-layout")
    try:
        before = datetime.now(UTC)
        post(endpoint, csv_of(rows[:1]), **{"X-Amzn-SageMaker-Inference-Id": "req-1"})
        post(endpoint, json.dumps({"instances": rows[:1].tolist()}), "application/json")
        post(endpoint, b"bad", "text/csv")  # refused: not captured
    finally:
        endpoint.stop()
    files = sorted((workdir / "capture-layout").rglob("*.jsonl"))
    assert len(files) == 1
    parts = files[0].relative_to(workdir / "capture-layout").parts
    assert parts[:2] == (NAME, "AllTraffic")
    assert parts[2:6] == tuple(before.strftime("%Y/%m/%d/%H").split("/"))
    assert len(parts) == 7 and files[0].name.endswith(".jsonl")
    first, second = (json.loads(line) for line in files[0].read_text().splitlines())
    assert set(first) == {"captureData", "eventMetadata", "eventVersion"}
    assert first["eventVersion"] == "0"
    assert first["captureData"]["endpointInput"] == {
        "observedContentType": "text/csv",
        "mode": "INPUT",
        "data": csv_of(rows[:1]).decode(),
        "encoding": "CSV",
    }
    assert first["captureData"]["endpointOutput"] == {
        "observedContentType": "text/csv",
        "mode": "OUTPUT",
        "data": "6\n",
        "encoding": "CSV",
    }
    meta = first["eventMetadata"]
    assert meta["inferenceId"] == "req-1" and len(meta["eventId"]) == 36
    assert datetime.strptime(meta["inferenceTime"], "%Y-%m-%dT%H:%M:%SZ")
    assert second["captureData"]["endpointInput"]["encoding"] == "JSON"
    assert json.loads(second["captureData"]["endpointOutput"]["data"]) == {"predictions": [6]}
    assert "inferenceId" not in second["eventMetadata"]


def test_capture_sampling_and_base64(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, NAME, sampling_percent=30, rng=random.Random(7))
    written = sum(writer.capture("text/csv", b"1", "text/csv", b"6\n") for _ in range(1000))
    writer.close()
    assert 250 < written < 350 and writer.records == written
    none = CaptureWriter(tmp_path / "none", NAME, sampling_percent=0)
    assert not none.capture("text/csv", b"1", "text/csv", b"6\n")
    record = capture_record(
        "application/x-npy",
        b"\x93NUMPY",
        "text/csv",
        b"6\n",
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    assert record["captureData"]["endpointInput"]["encoding"] == "BASE64"
    assert record["captureData"]["endpointInput"]["data"] == "k05VTVBZ"
    assert record["eventMetadata"]["inferenceTime"] == "2026-01-02T03:04:05Z"


def test_capture_hour_rollover(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, NAME)
    writer.capture(
        "text/csv", b"1", "text/csv", b"6\n", when=datetime(2026, 1, 2, 3, 59, 59, tzinfo=UTC)
    )
    writer.capture(
        "text/csv", b"1", "text/csv", b"6\n", when=datetime(2026, 1, 2, 4, 0, 1, 5000, tzinfo=UTC)
    )
    writer.close()
    names = [p.relative_to(tmp_path).as_posix() for p in writer.files]
    assert names[0].startswith(f"{NAME}/AllTraffic/2026/01/02/03/59-59-000-")
    assert names[1].startswith(f"{NAME}/AllTraffic/2026/01/02/04/00-01-005-")


# --- boto3 ----------------------------------------------------------------------------


def test_boto3_invoke_endpoint(real_time, rows) -> None:
    client = runtime(real_time)
    response = client.invoke_endpoint(
        EndpointName=NAME, Body=csv_of(rows[:1]), ContentType="text/csv", Accept="text/csv"
    )
    assert response["Body"].read() == b"6\n"
    assert response["ContentType"] == "text/csv"
    assert response["InvokedProductionVariant"] == "AllTraffic"


def test_boto3_raises_client_errors_with_the_message(real_time, mme, rows) -> None:
    with pytest.raises(ClientError) as caught:
        runtime(real_time).invoke_endpoint(EndpointName=NAME, Body=b"1,2,3", ContentType="text/csv")
    error = caught.value.response["Error"]
    assert error["Code"] == "ModelError"
    assert "row 1 has 3 values, expected 64" in error["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    client = runtime(mme)
    with pytest.raises(client.exceptions.ValidationError, match="missing a target model"):
        client.invoke_endpoint(EndpointName=NAME, Body=csv_of(rows[:1]), ContentType="text/csv")
    response = client.invoke_endpoint(
        EndpointName=NAME, Body=csv_of(rows[:1]), ContentType="text/csv", TargetModel=MME_BASE
    )
    assert response["Body"].read() == b"6\n"


def test_boto3_target_container(mce, rows) -> None:
    response = runtime(mce).invoke_endpoint(
        EndpointName=NAME,
        Body=csv_of(rows[:1]),
        ContentType="text/csv",
        TargetContainerHostname="baseline",
    )
    assert response["Body"].read() == b"6\n"


# --- which version serves ---------------------------------------------------------------


def _versions(tmp_path: Path, statuses: list[str]) -> Path:
    versions = []
    for number, status in enumerate(statuses, start=1):
        artifact = tmp_path / f"v{number}.tar.gz"
        artifact.write_bytes(b"x")
        versions.append({"version": number, "approval_status": status, "artifact": str(artifact)})
    registry = {"groups": {"digits-xgboost": {"versions": versions}}}
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "registry.json").write_text(json.dumps(registry))
    return tmp_path


@pytest.mark.parametrize(
    ("statuses", "served"),
    [
        (["Approved", "PendingManualApproval", "Approved", "Rejected", "PendingManualApproval"], 3),
        (["Approved", "Approved", "PendingManualApproval"], 2),
    ],
)
def test_single_model_serves_the_newest_approved_not_the_newest(
    tmp_path: Path, statuses: list[str], served: int
) -> None:
    settings = settings_from_registry(_versions(tmp_path, statuses), "real_time")
    assert settings.model == tmp_path / f"v{served}.tar.gz"


def test_with_none_approved_only_an_explicit_request_serves_a_pending_version(
    tmp_path: Path,
) -> None:
    """No Approved version: refuse (saying how to approve) unless pending is asked for; a
    Rejected version is never served, even when it is the newest."""
    from lab.endpoint.server import EndpointSetupError

    workdir = _versions(tmp_path, ["PendingManualApproval", "PendingManualApproval", "Rejected"])
    with pytest.raises(EndpointSetupError, match="labctl model approve"):
        settings_from_registry(workdir, "real_time")
    settings = settings_from_registry(workdir, "real_time", allow_pending=True)
    assert settings.model == tmp_path / "v2.tar.gz"
