"""labctl pipeline run (cloud): start the deployed pipeline and poll it, via a stubbed client."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from labctl import cli
from labctl.pipeline import run
from ops.errors import OperationFailed
from ops.pipeline import run_cloud

ARN = "arn:aws:sagemaker:us-east-1:111111111111:pipeline/digits-training/execution/abc"
NOW = datetime(2026, 11, 29, tzinfo=UTC)


def _client() -> tuple[Any, Stubber]:
    client = boto3.client("sagemaker", region_name="us-east-1")
    return client, Stubber(client)


def _describe(stub: Stubber, status: str, reason: str | None = None) -> None:
    response = {"PipelineExecutionArn": ARN, "PipelineExecutionStatus": status}
    if reason:
        response["FailureReason"] = reason
    stub.add_response("describe_pipeline_execution", response, {"PipelineExecutionArn": ARN})


def _steps(
    stub: Stubber, steps: list[tuple[str, str]], token: str | None = None, after: str | None = None
) -> None:
    response: dict[str, Any] = {
        "PipelineExecutionSteps": [
            {"StepName": n, "StepStatus": s, "StartTime": NOW} for n, s in steps
        ]
    }
    if token:
        response["NextToken"] = token
    params: dict[str, Any] = {"PipelineExecutionArn": ARN}
    if after:
        params["NextToken"] = after
    stub.add_response("list_pipeline_execution_steps", response, params)


def test_run_cloud_starts_with_parameters_and_polls_to_success() -> None:
    client, stub = _client()
    stub.add_response(
        "start_pipeline_execution",
        {"PipelineExecutionArn": ARN},
        {
            "PipelineName": "digits-training",
            "ClientRequestToken": ANY,
            "PipelineParameters": [{"Name": "MaxTuningJobs", "Value": "4"}],
        },
    )
    _describe(stub, "Executing")
    _steps(stub, [("Tune", "Executing")], token="t1")
    _steps(stub, [("Preprocess", "Succeeded")], after="t1")
    _describe(stub, "Succeeded")
    _steps(stub, [("Evaluate", "Succeeded"), ("Tune", "Succeeded"), ("Preprocess", "Succeeded")])
    lines: list[str] = []
    sleeps: list[float] = []
    with stub:
        final = run_cloud(
            client,
            "digits-training",
            {"MaxTuningJobs": "4"},
            poll_seconds=7,
            log=lines.append,
            sleep=sleeps.append,
        )
    stub.assert_no_pending_responses()
    assert final["PipelineExecutionStatus"] == "Succeeded"
    assert sleeps == [7]
    assert [line.split()[0] for line in lines[1:]] == ["Preprocess", "Tune", "Tune", "Evaluate"]


def test_cloud_command_turns_a_failed_execution_into_operation_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, stub = _client()
    _approved(stub, [])  # no champion yet: the default (threshold alone)
    stub.add_response(
        "start_pipeline_execution",
        {"PipelineExecutionArn": ARN},
        # No --pipeline-name: the lab profile's, which the environment prefixes.
        {
            "PipelineName": "lab-digits-training",
            "ClientRequestToken": ANY,
            "PipelineParameters": [],
        },
    )
    _describe(stub, "Failed", "Step failure: GateFailed")
    _steps(stub, [])
    monkeypatch.setattr(boto3, "client", lambda *a, **k: client)
    parser = cli.build_parser("pipeline")  # the product registers the command, not the test
    args = parser.parse_args(["pipeline", "run", "--region", "us-east-1"])
    with stub, pytest.raises(OperationFailed, match="Failed: Step failure: GateFailed"):
        run(args)


def _approved(stub: Stubber, packages: list[dict[str, Any]]) -> None:
    stub.add_response(
        "list_model_packages",
        {"ModelPackageSummaryList": packages},
        {
            "ModelPackageGroupName": "lab-digits-xgboost",
            "ModelApprovalStatus": "Approved",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 20,
        },
    )


def test_cloud_command_passes_the_approved_champion(monkeypatch: pytest.MonkeyPatch) -> None:
    client, stub = _client()
    package = "arn:aws:sagemaker:us-east-1:111111111111:model-package/lab-digits-xgboost/3"
    _approved(
        stub,
        [
            {
                "ModelPackageArn": package,
                "ModelPackageGroupName": "lab-digits-xgboost",
                "ModelPackageVersion": 3,
                "CreationTime": datetime(2026, 11, 30, tzinfo=UTC),
                "ModelPackageStatus": "Completed",
                "ModelApprovalStatus": "Approved",
            }
        ],
    )
    stub.add_response(
        "describe_model_package",
        {
            "ModelPackageName": "lab-digits-xgboost",
            "ModelPackageArn": package,
            "ModelPackageVersion": 3,
            "CreationTime": datetime(2026, 11, 30, tzinfo=UTC),
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            "InferenceSpecification": {
                "Containers": [{"Image": "img:1", "ModelDataUrl": "s3://a/v3/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        },
        {"ModelPackageName": package},
    )
    stub.add_response(
        "start_pipeline_execution",
        {"PipelineExecutionArn": ARN},
        {
            "PipelineName": "lab-digits-training",
            "ClientRequestToken": ANY,
            "PipelineParameters": [
                {"Name": "ChampionModelData", "Value": "s3://a/v3/model.tar.gz"}
            ],
        },
    )
    _describe(stub, "Succeeded")
    _steps(stub, [])
    monkeypatch.setattr(boto3, "client", lambda *a, **k: client)
    args = cli.build_parser("pipeline").parse_args(["pipeline", "run", "--region", "us-east-1"])
    with stub:
        assert run(args) == 0
    stub.assert_no_pending_responses()
