"""labctl model approve|reject: local registry and the SageMaker registry (moto)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from labctl.cli import main


def _registry(workdir: Path) -> Path:
    path = workdir / "registry" / "registry.json"
    path.parent.mkdir(parents=True)
    versions = [{"version": v, "approval_status": "PendingManualApproval"} for v in (1, 2)]
    path.write_text(json.dumps({"groups": {"digits-xgboost": {"versions": versions}}}))
    return path


def test_local_approve_marks_the_newest_version(tmp_path: Path) -> None:
    path = _registry(tmp_path)
    assert main(["model", "approve", "--local", "--workdir", str(tmp_path)]) == 0
    versions = json.loads(path.read_text())["groups"]["digits-xgboost"]["versions"]
    assert [v["approval_status"] for v in versions] == ["PendingManualApproval", "Approved"]


def test_local_reject_of_a_missing_version_exits_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    _registry(tmp_path)
    code = main(["model", "reject", "--local", "--workdir", str(tmp_path), "--version", "9"])
    assert code == 2
    assert "no version 9" in capsys.readouterr().err


def test_local_without_registry_exits_2(tmp_path: Path) -> None:
    assert main(["model", "approve", "--local", "--workdir", str(tmp_path)]) == 2


# The lab profile's XGBoost group: the environment prefixes the base name.
GROUP = "lab-digits-xgboost"


@mock_aws
def test_cloud_approve_updates_the_newest_package() -> None:
    sm = boto3.client("sagemaker", region_name="us-east-1")
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    for _ in range(2):
        sm.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [{"Image": "xgb:3.0-5", "ModelDataUrl": "s3://b/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )
    assert main(["model", "approve", "--region", "us-east-1"]) == 0
    packages = sm.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    statuses = {p["ModelPackageArn"].rsplit("/", 1)[1]: p["ModelApprovalStatus"] for p in packages}
    assert statuses == {"1": "PendingManualApproval", "2": "Approved"}


@mock_aws
def test_cloud_approve_of_an_empty_group_fails() -> None:
    boto3.client("sagemaker", region_name="us-east-1").create_model_package_group(
        ModelPackageGroupName=GROUP
    )
    assert main(["model", "approve", "--region", "us-east-1"]) == 1


@pytest.mark.parametrize(
    "argv", [["model"], ["model", "promote"], ["model", "approve", "--version", "x"]]
)
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
