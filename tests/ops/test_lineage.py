"""labctl lineage in the cloud: S3 in moto (capture lines, the manifest, raw objects) and
SageMaker as a botocore Stubber with planted registry metadata; each answer written out here."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from labctl.cli import main
from model_code import lineage

REGION = "us-east-1"
ARN = "arn:aws:sagemaker:us-east-1:111111111111"
ARTIFACTS = "lab-artifacts-bucket"
RAW = "lab-raw-bucket"
ENDPOINT = "lab-digits"
CONFIG = "lab-digits-config-2"
MODEL = "lab-digits-model-2"
PACKAGE = "arn:aws:sagemaker:us-east-1:111111111111:model-package/lab-digits-xgboost/3"
EXECUTION = "arn:aws:sagemaker:us-east-1:111111111111:pipeline/lab-digits-training/execution/abc123"
MANIFEST = (
    f"s3://{ARTIFACTS}/pipelines/lab-digits-training/Preprocess/abc123/manifest/manifest.json"
)
DEPLOYED = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
RAW_KEYS = (
    "events/year=2026/month=12/day=01/hour=10/lab-1-2026-12-01-10-00-00-a.gz",
    "events/year=2026/month=12/day=01/hour=11/lab-1-2026-12-01-11-00-00-b.gz",
)
IDS = {RAW_KEYS[0]: ["ev-1", "ev-2"], RAW_KEYS[1]: ["ev-3"]}


def _capture_line(inference_id: str, event_id: str, when: str) -> str:
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": "0,1",
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": "text/csv",
                    "mode": "OUTPUT",
                    "data": "6",
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {
                "eventId": event_id,
                "inferenceId": inference_id,
                "inferenceTime": when,
            },
            "eventVersion": "0",
        }
    )


@pytest.fixture
def s3() -> Any:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        for bucket in (ARTIFACTS, RAW):
            client.create_bucket(Bucket=bucket)
        client.put_object(
            Bucket=ARTIFACTS,
            Key=f"capture/{ENDPOINT}/AllTraffic/2026/12/07/10/00-00-000-x.jsonl",
            Body="\n".join(
                [
                    _capture_line("other", "e-0", "2026-12-07T10:00:00Z"),
                    _capture_line("req-42", "e-1", "2026-12-07T10:05:00Z"),
                ]
            ),
        )
        manifest = lineage.build_manifest(
            f"s3://{RAW}/events/",
            [(f"s3://{RAW}/{key}", ids) for key, ids in IDS.items()],
        )
        client.put_object(
            Bucket=ARTIFACTS, Key=MANIFEST.split(f"{ARTIFACTS}/", 1)[1], Body=json.dumps(manifest)
        )
        for key in RAW_KEYS:
            client.put_object(Bucket=RAW, Key=key, Body=b"x")
        yield client


def _sagemaker(
    metadata: dict[str, str] | None, updated: datetime = DEPLOYED
) -> tuple[Any, Stubber]:
    client = boto3.client(
        "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(client)
    stub.add_response(
        "describe_endpoint",
        {
            "EndpointName": ENDPOINT,
            "EndpointArn": f"arn:aws:sagemaker:us-east-1:111111111111:endpoint/{ENDPOINT}",
            "EndpointConfigName": CONFIG,
            "EndpointStatus": "InService",
            "CreationTime": DEPLOYED,
            "LastModifiedTime": updated,
        },
        {"EndpointName": ENDPOINT},
    )
    stub.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": CONFIG,
            "EndpointConfigArn": f"{ARN}:endpoint-config/{CONFIG}",
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": MODEL}],
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": 100,
                "DestinationS3Uri": f"s3://{ARTIFACTS}/capture",
                "CaptureOptions": [{"CaptureMode": "Input"}],
            },
            "CreationTime": DEPLOYED,
        },
        {"EndpointConfigName": CONFIG},
    )
    if updated > datetime(2026, 12, 7, 10, 5, tzinfo=UTC):
        return client, stub
    stub.add_response(
        "describe_model",
        {
            "ModelName": MODEL,
            "ModelArn": f"arn:aws:sagemaker:us-east-1:111111111111:model/{MODEL}",
            "CreationTime": DEPLOYED,
            "PrimaryContainer": {"ModelPackageName": PACKAGE},
        },
        {"ModelName": MODEL},
    )
    package: dict[str, Any] = {
        "ModelPackageName": "lab-digits-xgboost",
        "ModelPackageGroupName": "lab-digits-xgboost",
        "ModelPackageVersion": 3,
        "ModelPackageArn": PACKAGE,
        "CreationTime": DEPLOYED,
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "ModelApprovalStatus": "Approved",
    }
    if metadata is not None:
        package["CustomerMetadataProperties"] = metadata
    stub.add_response("describe_model_package", package, {"ModelPackageName": PACKAGE})
    if metadata and lineage.EXECUTION_KEY in metadata:
        stub.add_response(
            "describe_pipeline_execution",
            {"PipelineExecutionArn": EXECUTION, "PipelineExecutionStatus": "Succeeded"},
            {"PipelineExecutionArn": EXECUTION},
        )
    return client, stub


PLANTED = {lineage.EXECUTION_KEY: EXECUTION, lineage.MANIFEST_KEY: MANIFEST}


def _run(sagemaker: Any, s3: Any, *args: str) -> int:
    return main(
        ["lineage", "--profile", "lab", "--endpoint", ENDPOINT, *args], sagemaker=sagemaker, s3=s3
    )


def test_a_captured_prediction_leads_to_the_planted_events(s3, capsys) -> None:  # type: ignore[no-untyped-def]
    sagemaker, stub = _sagemaker(PLANTED)
    with stub:
        assert _run(sagemaker, s3, "--id", "req-42", "--json") == 0
        stub.assert_no_pending_responses()
    chain = json.loads(capsys.readouterr().out)
    hops = {h["name"]: h for h in chain["hops"]}
    assert hops["prediction"]["details"]["eventMetadata"]["eventId"] == "e-1"
    assert hops["model version"]["where"] == PACKAGE
    assert hops["pipeline execution"]["where"] == EXECUTION
    assert hops["training manifest"]["where"] == MANIFEST
    assert hops["raw events"]["details"]["event_ids"] == ["ev-1", "ev-2", "ev-3"]
    assert hops["raw events"]["details"]["objects"] == [f"s3://{RAW}/{k}" for k in RAW_KEYS]


def test_the_event_id_finds_the_same_record(s3, capsys) -> None:  # type: ignore[no-untyped-def]
    sagemaker, stub = _sagemaker(PLANTED)
    with stub:
        assert _run(sagemaker, s3, "--id", "e-1", "--at", "2026-12-07T10:05:00Z") == 0
    out = capsys.readouterr().out
    assert (
        "lab-digits-xgboost version 3 (Approved)" in out
        and "3 event ID(s) in 2 raw object(s)" in out
    )


def test_a_version_without_lineage_metadata_stops_at_the_execution(s3, capsys) -> None:  # type: ignore[no-untyped-def]
    sagemaker, stub = _sagemaker(None)
    with stub:
        assert _run(sagemaker, s3, "--id", "req-42") == 1
    err = capsys.readouterr().err
    assert "lineage stops at the pipeline execution: the version names no pipeline execution" in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_manifest_object_stops_at_the_manifest(s3, capsys) -> None:  # type: ignore[no-untyped-def]
    s3.delete_object(Bucket=ARTIFACTS, Key=MANIFEST.split(f"{ARTIFACTS}/", 1)[1])
    sagemaker, stub = _sagemaker(PLANTED)
    with stub:
        assert _run(sagemaker, s3, "--id", "req-42") == 1
    assert "lineage stops at the training manifest: cannot read it" in capsys.readouterr().err


def test_an_expired_raw_object_is_named(s3, capsys) -> None:  # type: ignore[no-untyped-def]
    s3.delete_object(Bucket=RAW, Key=RAW_KEYS[1])
    sagemaker, stub = _sagemaker(PLANTED)
    with stub:
        assert _run(sagemaker, s3, "--id", "req-42") == 1
    err = capsys.readouterr().err
    assert "1 of 2 raw object(s)" in err and RAW_KEYS[1] in err


def test_a_prediction_older_than_the_endpoints_last_update_has_no_model(s3, capsys) -> None:  # type: ignore[no-untyped-def]
    """The endpoint's current config was deployed after the prediction: it need not be the
    one that answered, so the chain says so rather than name the current model."""
    sagemaker, stub = _sagemaker(PLANTED, updated=datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    with stub:
        assert _run(sagemaker, s3, "--id", "req-42") == 1
    assert (
        "lineage stops at the model version: the endpoint was last updated"
        in capsys.readouterr().err
    )


def test_an_unknown_id_stops_at_the_prediction(s3, capsys) -> None:  # type: ignore[no-untyped-def]
    sagemaker, stub = _sagemaker(PLANTED, updated=datetime(2027, 1, 1, tzinfo=UTC))
    with stub:
        assert _run(sagemaker, s3, "--id", "nope") == 1
    assert (
        "lineage stops at the prediction: no capture record with inferenceId or eventId nope"
        in (capsys.readouterr().err)
    )
