"""The one "newest Approved version" rule that labctl's release and the drift Lambda share."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
from botocore.stub import Stubber

from model_code.registry_contract import newest_approved_summary
from ops.release import newest_approved

GROUP = "lab-digits-xgboost"
ARN = "arn:aws:sagemaker:us-east-1:111111111111:model-package/lab-digits-xgboost/{}"
T1 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)


def _summary(version: int, created: datetime, status: str = "Completed") -> dict:
    return {
        "ModelPackageArn": ARN.format(version),
        "ModelPackageGroupName": GROUP,
        "ModelPackageVersion": version,
        "CreationTime": created,
        "ModelPackageStatus": status,
        "ModelApprovalStatus": "Approved",
    }


def _client(summaries: list[dict]) -> tuple[object, Stubber]:
    client = boto3.client("sagemaker", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_response(
        "list_model_packages",
        {"ModelPackageSummaryList": summaries},
        {
            "ModelPackageGroupName": GROUP,
            "ModelApprovalStatus": "Approved",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 20,
        },
    )
    return client, stub


def test_newest_completed_wins_and_the_version_breaks_a_creation_time_tie() -> None:
    """Version 5 is still registering (no usable artifact), versions 3 and 4 share a creation
    time: the answer is 4, whatever order the service lists them in."""
    client, stub = _client([_summary(5, T2, "InProgress"), _summary(3, T1), _summary(4, T1)])
    with stub:
        assert newest_approved_summary(client, GROUP)["ModelPackageArn"] == ARN.format(4)


def test_no_usable_version_is_none() -> None:
    """Only a version still registering: nothing is approved and usable yet."""
    client, stub = _client([_summary(2, T2, "Pending")])
    with stub:
        assert newest_approved_summary(client, GROUP) is None


def test_labctl_release_picks_the_same_version_as_the_contract() -> None:
    """labctl's release entry names the version the rule picks (the drift Lambda calls the same
    function: tests/infra/test_monitoring_runtime.py)."""
    client, stub = _client([_summary(5, T2, "InProgress"), _summary(4, T1)])
    stub.add_response(
        "describe_model_package",
        {
            "ModelPackageName": GROUP,
            "ModelPackageArn": ARN.format(4),
            "ModelPackageVersion": 4,
            "CreationTime": T1,
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": []},
            "InferenceSpecification": {
                "Containers": [{"Image": "img", "ModelDataUrl": "s3://b/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        },
        {"ModelPackageName": ARN.format(4)},
    )
    with stub:
        assert newest_approved(client, GROUP)["package_arn"] == ARN.format(4)
