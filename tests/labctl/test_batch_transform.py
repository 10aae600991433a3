"""Local batch transform: the service's line splitting, output format and faults.

Oracle: the real-time path. Every row is sent alone over HTTP to a local endpoint serving the
same approved model, and the batch job's ``<id>,<prediction>`` lines must equal those answers.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest
from sklearn.datasets import load_digits

from lab.endpoint import CaptureWriter, LocalEndpoint
from lab.endpoint.batch import (
    BatchTransformError,
    read_output,
    transform,
    write_scoring_input,
)
from lab.endpoint.fixtures import build_registry
from lab.registry import settings_from_registry

ROWS = 150


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> LocalEndpoint:
    workdir = tmp_path_factory.mktemp("lab")
    build_registry(workdir, xgboost_versions=1)
    ep = LocalEndpoint(settings_from_registry(workdir, "real_time", endpoint_name="lab-digits"))
    ep.start()
    yield ep
    ep.stop()


def _curated(folder: Path, rows: int = ROWS, files: int = 2) -> dict[str, list[float]]:
    """Digits rows with ids, spread over ``files`` CSV objects (id first, no header)."""
    x, _ = load_digits(return_X_y=True)
    data = {f"digits-{i:05d}": [float(v) for v in x[i]] for i in range(rows)}
    ids = list(data)
    for f in range(files):
        chunk = ids[f::files]
        text = "".join(i + "," + ",".join(f"{v:g}" for v in data[i]) + "\n" for i in chunk)
        (folder / f"day={f}").mkdir(parents=True, exist_ok=True)
        (folder / f"day={f}" / "part-00000.csv").write_text(text)
    return data


def _real_time(ep: LocalEndpoint, features: list[float]) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", int(ep.url.rsplit(":", 1)[1]), timeout=10)
    conn.request(
        "POST",
        "/invocations",
        body=",".join(f"{v:g}" for v in features),
        headers={"Content-Type": "text/csv", "Accept": "text/csv"},
    )
    response = conn.getresponse()
    body = response.read().decode().strip()
    conn.close()
    assert response.status == 200, body
    return body


def test_batch_output_equals_real_time_answers(endpoint: LocalEndpoint, tmp_path: Path) -> None:
    """Each input object gets <key>.out with one <id>,<prediction> line per record, in input
    order, and each prediction is what the real-time endpoint answers for that row alone."""
    data = _curated(tmp_path / "in")
    result = transform(endpoint, tmp_path / "in", tmp_path / "out", max_payload_mb=1)
    outs = sorted(p.relative_to(tmp_path / "out").as_posix() for p in result.outputs)
    assert outs == ["day=0/part-00000.csv.out", "day=1/part-00000.csv.out"]
    first = (tmp_path / "out" / outs[0]).read_text().splitlines()
    assert [line.split(",")[0] for line in first] == list(data)[0::2]  # input order kept
    batch = read_output(tmp_path / "out")
    assert len(batch) == ROWS
    expected = {i: _real_time(endpoint, features) for i, features in data.items()}
    assert batch == expected
    assert result.records == ROWS and result.objects == 2


def test_mini_batches_respect_max_payload(endpoint: LocalEndpoint, tmp_path: Path) -> None:
    """MultiRecord: as many lines per request as fit in MaxPayloadInMB. 150 rows (about 30 KB)
    fit one 1 MB request per object; 9,000 rows of one object (1-2 MB of features) need two."""
    _curated(tmp_path / "in")
    result = transform(endpoint, tmp_path / "in", tmp_path / "out", max_payload_mb=1)
    assert result.requests == 2
    x, _ = load_digits(return_X_y=True)
    line = ",".join(f"{v:g}" for v in x[0])
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "a.csv").write_text("".join(f"r{i},{line}\n" for i in range(9000)))
    payload = 9000 * (len(line) + 1)
    assert 1024 * 1024 < payload < 2 * 1024 * 1024
    big = transform(endpoint, tmp_path / "big", tmp_path / "big-out", max_payload_mb=1)
    assert (big.requests, big.records) == (2, 9000)


def test_malformed_line_fails_the_job_and_writes_nothing(
    endpoint: LocalEndpoint, tmp_path: Path
) -> None:
    """A bad record fails the whole job, as the service does; no .out is left behind."""
    _curated(tmp_path / "in")
    bad = tmp_path / "in" / "day=1" / "part-00000.csv"
    lines = bad.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",not-a-number"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(BatchTransformError, match=r"day=1/part-00000.csv lines 1-75.*not a numb"):
        transform(endpoint, tmp_path / "in", tmp_path / "out")
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


def test_a_line_without_an_id_names_its_line(endpoint: LocalEndpoint, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("x1," + ",".join(["0"] * 64) + "\n,1,2\n")
    with pytest.raises(BatchTransformError, match=r"a.csv line 2: a record is <id>"):
        transform(endpoint, tmp_path / "in", tmp_path / "out")


def test_empty_prefix_fails(endpoint: LocalEndpoint, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    with pytest.raises(BatchTransformError, match="no input objects under"):
        transform(endpoint, tmp_path / "in", tmp_path / "out")
    with pytest.raises(BatchTransformError, match="does not exist"):
        transform(endpoint, tmp_path / "missing", tmp_path / "out")


def test_record_over_max_payload_fails(endpoint: LocalEndpoint, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    huge = "big," + ",".join(["1"] * 64) + "," + "9" * (1024 * 1024 + 10)
    (tmp_path / "in" / "a.csv").write_text(huge + "\n")
    with pytest.raises(BatchTransformError, match=r"a.csv line 1: a record of \d+ bytes exceeds"):
        transform(endpoint, tmp_path / "in", tmp_path / "out", max_payload_mb=1)
    with pytest.raises(BatchTransformError, match="max_payload_mb must be 1-100"):
        transform(endpoint, tmp_path / "in", tmp_path / "out", max_payload_mb=101)


class _Recorder:
    """An endpoint that answers 0 per line and keeps each request body it was sent."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def invoke(self, headers: dict[str, str], body: bytes) -> object:
        from types import SimpleNamespace

        self.bodies.append(body)
        return SimpleNamespace(status=200, body=b"0\n" * body.count(b"\n"))


MIB = 1024 * 1024


def _record(total_bytes: int) -> str:
    """Features whose payload line (the features and its newline: InputFilter $[1:], one
    line per record) is ``total_bytes`` long; ASCII, so characters are bytes."""
    return "1," * 63 + "1" + " " * (total_bytes - 1 - len("1," * 63 + "1"))


@pytest.mark.parametrize(("record_bytes", "fits"), [(MIB, True), (MIB + 1, False)])
def test_a_record_exactly_at_max_payload_passes_one_byte_over_fails(
    tmp_path: Path, record_bytes: int, fits: bool
) -> None:
    """MaxPayloadInMB 1 = 1,048,576 bytes per request (CreateTransformJob: MB of 2^20)."""
    (tmp_path / "in").mkdir()
    features = _record(record_bytes)
    assert len((features + "\n").encode()) == record_bytes
    (tmp_path / "in" / "a.csv").write_text(f"id-1,{features}\n")
    endpoint = _Recorder()
    if fits:
        transform(endpoint, tmp_path / "in", tmp_path / "out", max_payload_mb=1)  # type: ignore[arg-type]
        assert [len(b) for b in endpoint.bodies] == [MIB]
    else:
        with pytest.raises(BatchTransformError, match=f"a record of {MIB + 1} bytes exceeds"):
            transform(endpoint, tmp_path / "in", tmp_path / "out", max_payload_mb=1)  # type: ignore[arg-type]
        assert endpoint.bodies == []


def test_records_fill_a_request_up_to_the_byte(tmp_path: Path) -> None:
    """Two records of half the limit share one request (exactly 1 MiB); a third byte over
    starts a second request."""
    (tmp_path / "in").mkdir()
    half = _record(MIB // 2)
    lines = [f"a,{half}", f"b,{half}", f"c,{_record(MIB // 2 + 1)}"]
    (tmp_path / "in" / "a.csv").write_text("".join(line + "\n" for line in lines))
    endpoint = _Recorder()
    transform(endpoint, tmp_path / "in", tmp_path / "out", max_payload_mb=1)  # type: ignore[arg-type]
    assert [len(b) for b in endpoint.bodies] == [MIB, MIB // 2 + 1]


def test_capture_feeds_monitoring_like_endpoint_capture(
    endpoint: LocalEndpoint, tmp_path: Path
) -> None:
    """One capture record per row, inferenceId = the row's id, in the endpoint's layout: the
    drift job's own parser reads back the rows and predictions the batch wrote."""
    from model_code import drift

    data = _curated(tmp_path / "in", rows=20, files=1)
    writer = CaptureWriter(tmp_path / "capture", "lab-digits")
    transform(endpoint, tmp_path / "in", tmp_path / "out", capture=writer)
    writer.close()
    files = sorted((tmp_path / "capture" / "lab-digits" / "AllTraffic").rglob("*.jsonl"))
    records = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert [r["eventMetadata"]["inferenceId"] for r in records] == list(data)
    batch = read_output(tmp_path / "out")
    for record in records:
        rows = drift.parse_rows(record["captureData"]["endpointInput"])
        assert rows.tolist() == [data[record["eventMetadata"]["inferenceId"]]]
        predicted = drift.parse_predictions(record["captureData"]["endpointOutput"])
        assert [str(p) for p in predicted] == [batch[record["eventMetadata"]["inferenceId"]]]


def test_scoring_input_from_raw_events(tmp_path: Path) -> None:
    import gzip

    raw = tmp_path / "raw" / "events" / "year=2026"
    raw.mkdir(parents=True)
    good = {
        "event_id": "e1",
        "event_time": "2026-12-01T00:00:00Z",
        "source": "t",
        "features": [1.0] * 64,
        "label": 3,
    }
    with gzip.open(raw / "a.gz", "wt") as handle:
        handle.write(json.dumps(good) + "\n" + "not json\n" + json.dumps(good) + "\n")
    assert write_scoring_input(tmp_path / "raw", tmp_path / "curated") == 1
    line = (tmp_path / "curated" / "part-00000.csv").read_text()
    assert line == "e1," + ",".join(["1"] * 64) + "\n"


def test_lab_stage_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The lab stage curates raw events, transforms them and checks each row; the CLI exits 1
    on a failed job (an empty prefix) and 2 without an approved model."""
    from datetime import UTC, datetime

    from lab.batch import lab_batch
    from labctl.cli import main
    from ops.producer import utc_stamp, write_local_lake

    x, y = load_digits(return_X_y=True)
    now = utc_stamp(datetime.now(UTC))
    events = [
        {
            "event_id": f"ev-{i}",
            "event_time": now,
            "features": [float(v) for v in x[i]],
            "label": int(y[i]),
            "source": "test",
        }
        for i in range(40)
    ]
    assert main(["batch", "transform", "--local", "--workdir", str(tmp_path)]) == 2
    assert "no local registry" in capsys.readouterr().err
    build_registry(tmp_path, xgboost_versions=1)
    write_local_lake(events, tmp_path / "lake" / "raw", "digits-events")
    line = lab_batch(tmp_path, "lab-digits", capture=True)
    assert "40 rows from 1 object(s)" in line and "all 40 equal" in line
    (tmp_path / "lake" / "curated" / "scoring" / "empty").mkdir(parents=True)
    code = main(
        [
            "batch",
            "transform",
            "--local",
            "--workdir",
            str(tmp_path),
            "--input-prefix",
            "scoring/empty",
        ]
    )
    assert code == 1
    assert "no input objects under" in capsys.readouterr().err


def test_region_starts_the_scoring_pipeline_with_the_released_package(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--region: the package production serves (endpoint -> config -> model), passed to the
    scoring pipeline with the prefix and payload limit (botocore Stubber as SageMaker)."""
    from datetime import UTC, datetime

    import boto3
    from botocore.stub import Stubber

    from labctl.cli import main

    package = "arn:aws:sagemaker:us-east-1:111111111111:model-package/lab-digits-xgboost/4"
    client = boto3.client("sagemaker", region_name="us-east-1")
    when = datetime(2026, 12, 1, tzinfo=UTC)
    with Stubber(client) as stub:
        stub.add_response(
            "describe_endpoint",
            {
                "EndpointName": "lab-digits",
                "EndpointArn": "arn:aws:sagemaker:us-east-1:111111111111:endpoint/lab-digits",
                "EndpointConfigName": "cfg-1",
                "EndpointStatus": "InService",
                "CreationTime": when,
                "LastModifiedTime": when,
            },
            {"EndpointName": "lab-digits"},
        )
        stub.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": "cfg-1",
                "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:111111111111:endpoint-config/c",
                "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m-1"}],
                "CreationTime": when,
            },
            {"EndpointConfigName": "cfg-1"},
        )
        stub.add_response(
            "describe_model",
            {
                "ModelName": "m-1",
                "ModelArn": "arn:aws:sagemaker:us-east-1:111111111111:model/m-1",
                "PrimaryContainer": {"ModelPackageName": package},
                "CreationTime": when,
            },
            {"ModelName": "m-1"},
        )
        stub.add_response(
            "start_pipeline_execution",
            {"PipelineExecutionArn": "arn:aws:sagemaker:us-east-1:1:pipeline/x/execution/e1"},
            {
                "PipelineName": "lab-digits-scoring",
                "PipelineParameters": [
                    {"Name": "ModelPackageArn", "Value": package},
                    {"Name": "InputPrefix", "Value": "scoring/day=2026-12-01/"},
                    {"Name": "MaxPayloadInMB", "Value": "12"},
                ],
            },
        )
        code = main(
            [
                "batch",
                "transform",
                "--region",
                "us-east-1",
                "--input-prefix",
                "scoring/day=2026-12-01",
                "--max-payload-mb",
                "12",
            ],
            sagemaker=client,
        )
        stub.assert_no_pending_responses()
    assert code == 0
    assert "execution arn:aws:sagemaker" in capsys.readouterr().out
    assert main(["batch", "transform", "--local", "--region", "us-east-1"]) == 2


def test_the_cli_says_which_model_version_scored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three versions, the newest set back to pending by hand: the run names v2, the newest
    Approved one; with every version pending, --allow-pending names the newest, v3."""
    from lab.registry import LocalRegistry
    from labctl.cli import main

    build_registry(tmp_path, xgboost_versions=3, rounds=2)
    path = LocalRegistry(tmp_path).path
    registry = json.loads(path.read_text())
    group = LocalRegistry(tmp_path).xgboost_group
    (v3,) = [v for v in registry["groups"][group]["versions"] if v["version"] == 3]
    v3["approval_status"] = "PendingManualApproval"
    path.write_text(json.dumps(registry))
    _curated(tmp_path / "lake" / "curated" / "scoring", rows=10, files=1)
    args = ["batch", "transform", "--local", "--workdir", str(tmp_path), "--no-capture"]
    assert main([*args, "--input-prefix", "scoring/day=0"]) == 0
    assert f"model {group} v2 (Approved): " in capsys.readouterr().out
    for version in registry["groups"][group]["versions"]:
        version["approval_status"] = "PendingManualApproval"
    path.write_text(json.dumps(registry))
    assert main([*args, "--input-prefix", "scoring/day=0", "--allow-pending"]) == 0
    assert f"model {group} v3 (PendingManualApproval): " in capsys.readouterr().out
