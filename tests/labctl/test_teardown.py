"""labctl teardown: empty the model registry groups, then destroy every stack of the copy."""

from __future__ import annotations

import argparse

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from infra.config import load_profile
from labctl.errors import OperationFailed, UsageError
from labctl.teardown import destroy_command, run, teardown

SPEC = {
    "Containers": [{"Image": "xgb:3.0-5", "ModelDataUrl": "s3://b/model.tar.gz"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


def _registry(sm: object, group: str, versions: int) -> None:
    sm.create_model_package_group(ModelPackageGroupName=group)  # type: ignore[attr-defined]
    for _ in range(versions):
        sm.create_model_package(  # type: ignore[attr-defined]
            ModelPackageGroupName=group, InferenceSpecification=SPEC
        )


def test_teardown_deletes_every_version_then_destroys_with_serving_stacks() -> None:
    """moto lacks DeleteModelPackage: a Stubber checks each version is deleted, in order."""
    sm = boto3.client("sagemaker", region_name="us-east-1")
    stub = Stubber(sm)
    arn = "arn:aws:sagemaker:us-east-1:111111111111:model-package/{}/{}"
    listing = {
        "lab-digits-xgboost": [
            arn.format("lab-digits-xgboost", 2),
            arn.format("lab-digits-xgboost", 1),
        ],
        "lab-digits-baseline": [arn.format("lab-digits-baseline", 1)],
    }
    for group, arns in listing.items():
        summaries = [
            {
                "ModelPackageArn": a,
                "CreationTime": "2026-11-29T00:00:00Z",
                "ModelPackageStatus": "Completed",
            }
            for a in arns
        ]
        stub.add_response(
            "list_model_packages",
            {"ModelPackageSummaryList": summaries},
            {"ModelPackageGroupName": group, "MaxResults": 100},
        )
        for a in arns:
            stub.add_response("delete_model_package", {}, {"ModelPackageName": a})
    commands: list[list[str]] = []
    with stub:
        code = teardown(
            load_profile("lab"),
            sm,
            dry_run=False,
            runner=lambda c: commands.append(list(c)) or 0,
            log=lambda s: None,
        )
    stub.assert_no_pending_responses()
    assert code == 0
    (command,) = commands
    assert command[:6] == ["npx", "--offline", "cdk", "--no-notices", "destroy", "--all"]
    # The example release puts the serving stacks (deployed by the pipeline) into the app.
    assert "release=config/examples/release.json" in command and "profile=lab" in command


@mock_aws
def test_dry_run_changes_nothing() -> None:
    sm = boto3.client("sagemaker", region_name="us-east-1")
    _registry(sm, "lab-digits-xgboost", 1)
    lines: list[str] = []
    ran: list[object] = []
    teardown(load_profile("lab"), sm, dry_run=True, runner=ran.append, log=lines.append)
    assert ran == []
    assert (
        len(
            sm.list_model_packages(ModelPackageGroupName="lab-digits-xgboost")[
                "ModelPackageSummaryList"
            ]
        )
        == 1
    )
    assert any(line.startswith("would run: npx") for line in lines)


@mock_aws
def test_failed_destroy_is_an_operation_failure() -> None:
    sm = boto3.client("sagemaker", region_name="us-east-1")
    with pytest.raises(OperationFailed, match="cdk destroy exited 1"):
        teardown(load_profile("lab"), sm, dry_run=False, runner=lambda c: 1, log=lambda s: None)


def test_teardown_needs_yes_or_dry_run() -> None:
    args = argparse.Namespace(profile="lab", account=None, region=None, yes=False, dry_run=False)
    with pytest.raises(UsageError, match="--yes"):
        run(args, client=object(), runner=lambda c: 0)


def test_destroy_command_uses_the_profile_account_and_region() -> None:
    config = load_profile("prod-like", {"account": "123456789012"})
    command = destroy_command(config)
    assert "account=123456789012" in command and "region=eu-west-1" in command
    assert "profile=prod-like" in command
