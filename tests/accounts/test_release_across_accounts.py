"""The release file across accounts: ARNs in tooling, written by `labctl release resolve`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from core.config import load_profile
from core.release import Release, check_release, validate_release
from labctl.cli import main

REGION = "us-east-1"
BUCKET = "arn:aws:s3:::multi-artifacts-bucket"
KEY = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _release(account: str = "111111111111", **artifacts: str) -> dict[str, Any]:
    return {
        "xgboost": {
            "package_arn": (
                f"arn:aws:sagemaker:{REGION}:{account}:model-package/multi-digits-xgboost/2"
            ),
            "image": "img:1",
            "model_data_url": "s3://b/pipelines/multi-digits-training/Tune/model.tar.gz",
            "version": 2,
        },
        "resolved_at": "2026-12-01T00:00:00+00:00",
        "artifacts": {"bucket_arn": BUCKET, "key_arn": KEY, **artifacts},
    }


def test_a_release_names_the_artifacts_bucket_and_key_by_arn() -> None:
    release = Release.from_dict(_release())
    assert (
        release.artifacts is not None and release.artifacts.bucket_name == "multi-artifacts-bucket"
    )
    check_release(load_profile("multi-account"), release)


@pytest.mark.parametrize(
    ("artifacts", "message"),
    [
        ({"bucket_arn": "multi-artifacts-bucket"}, "bucket_arn .* is not an S3 bucket ARN"),
        ({"key_arn": "alias/lake"}, "key_arn .* is not a KMS key ARN"),
        ({"extra": "x"}, "must be an object with exactly bucket_arn, key_arn"),
    ],
)
def test_bad_artifacts_entries_are_named(artifacts: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_release(_release(**artifacts))


def test_serving_across_accounts_needs_the_artifacts_entry() -> None:
    data = _release()
    del data["artifacts"]
    with pytest.raises(ValueError, match="needs 'artifacts'"):
        check_release(load_profile("multi-account"), Release.from_dict(data))


def test_a_package_of_another_account_is_refused() -> None:
    with pytest.raises(ValueError, match="is not a version in the tooling account 111111111111"):
        check_release(load_profile("multi-account"), Release.from_dict(_release("333333333333")))


@mock_aws
def test_cli_resolve_writes_the_artifacts_arns_and_requires_them(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model_package_group(ModelPackageGroupName="multi-digits-xgboost")
    sm.create_model_package(
        ModelPackageGroupName="multi-digits-xgboost",
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "img:1", "ModelDataUrl": "s3://b/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )
    out = tmp_path / "multi.json"
    base = [
        "release",
        "resolve",
        "--profile",
        "multi-account",
        "--region",
        REGION,
        "--out",
        str(out),
    ]
    assert main(base) == 2
    assert "--artifacts-bucket-arn" in capsys.readouterr().err
    assert main([*base, "--artifacts-bucket-arn", BUCKET, "--artifacts-key-arn", KEY]) == 0
    assert json.loads(out.read_text())["artifacts"] == {"bucket_arn": BUCKET, "key_arn": KEY}
