"""labctl pipeline run --upsert: the deployed stacks' outputs spliced into the definition."""

from __future__ import annotations

import dataclasses
import json

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from core.config import NetworkConfig, load_profile
from ops.errors import OperationFailed, UsageError
from ops.pipeline import upsert
from pipelines import training_pipeline as tp

OUTPUTS = {
    "lab-DataLake": {
        "ArtifactsBucketName": "lab-artifacts-123",
        "RawBucketName": "lab-raw-123",
        "KeyArn": "arn:aws:kms:us-east-1:111111111111:key/abcd",
    },
    "lab-Training": {"ExecutionRoleArn": "arn:aws:iam::111111111111:role/lab-Training-Exec"},
}


def _cfn(outputs: dict[str, dict[str, str]]) -> boto3.client:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    stub = Stubber(cfn)
    for name, values in outputs.items():
        stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": name,
                        "CreationTime": "2026-11-29T00:00:00Z",
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in values.items()],
                    }
                ]
            },
            {"StackName": name},
        )
    stub.activate()
    return cfn


@mock_aws
def test_upsert_creates_then_updates_with_real_values() -> None:
    sm = boto3.client("sagemaker", region_name="us-east-1")
    config = load_profile("lab")
    assert upsert(sm, _cfn(OUTPUTS), config) == "created"
    body = sm.describe_pipeline(PipelineName="lab-digits-training")["PipelineDefinition"]
    for placeholder in (tp.ROLE_ARN, tp.ARTIFACTS_BUCKET, tp.RAW_BUCKET, tp.KMS_KEY_ARN):
        assert placeholder not in body
    assert "s3://lab-raw-123/events/" in body and "lab-artifacts-123" in body
    assert json.loads(body)["Steps"]
    assert upsert(sm, _cfn(OUTPUTS), config) == "updated"


def test_missing_output_says_redeploy() -> None:
    broken = {**OUTPUTS, "lab-Training": {}}
    with pytest.raises(OperationFailed, match="lack output 'ExecutionRoleArn'"):
        upsert(
            boto3.client("sagemaker", region_name="us-east-1"), _cfn(broken), load_profile("lab")
        )


def test_isolated_network_refuses_and_points_to_make_deploy() -> None:
    config = dataclasses.replace(load_profile("lab"), network=NetworkConfig(mode="isolated"))
    with pytest.raises(UsageError, match="make deploy"):
        upsert(None, None, config)
