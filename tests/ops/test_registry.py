"""ops.registry.package_of: which model package a SageMaker model serves (botocore Stubber as
SageMaker, each case a DescribeModel answer written out here)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ops.registry import package_of

XGB = "arn:aws:sagemaker:us-east-1:111111111111:model-package/lab-digits-xgboost/4"
BASE = "arn:aws:sagemaker:us-east-1:111111111111:model-package/lab-digits-baseline/2"
WHEN = datetime(2026, 12, 1, tzinfo=UTC)


def _described(**containers: Any) -> dict[str, Any]:
    return {
        "ModelName": "m-1",
        "ModelArn": "arn:aws:sagemaker:us-east-1:111111111111:model/m-1",
        "CreationTime": WHEN,
        **containers,
    }


@pytest.mark.parametrize(
    ("described", "expected"),
    [
        (_described(PrimaryContainer={"ModelPackageName": XGB}), XGB),
        # A multi-model endpoint loads archives under mme/: no package to name.
        (_described(PrimaryContainer={"Mode": "MultiModel", "ModelDataUrl": "s3://b/mme/"}), None),
        # Multi-container: the xgboost container's package, whatever the order.
        (
            _described(
                Containers=[
                    {"ContainerHostname": "baseline", "ModelPackageName": BASE},
                    {"ContainerHostname": "xgboost", "ModelPackageName": XGB},
                ]
            ),
            XGB,
        ),
        (
            _described(Containers=[{"ContainerHostname": "baseline", "ModelPackageName": BASE}]),
            None,
        ),
    ],
)
def test_package_of_names_the_served_package(
    described: dict[str, Any], expected: str | None
) -> None:
    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response("describe_model", described, {"ModelName": "m-1"})
        assert package_of(client, "m-1") == expected
        stub.assert_no_pending_responses()
