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


def _cloud_group(sm, group: str, n: int = 1) -> None:  # type: ignore[no-untyped-def]
    sm.create_model_package_group(ModelPackageGroupName=group)
    for _ in range(n):
        sm.create_model_package(
            ModelPackageGroupName=group,
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [{"Image": "img:1", "ModelDataUrl": "s3://b/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )


def _statuses(sm, group: str) -> list[str]:  # type: ignore[no-untyped-def]
    packages = sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    by_version = sorted(packages, key=lambda p: int(p["ModelPackageArn"].rsplit("/", 1)[1]))
    return [p["ModelApprovalStatus"] for p in by_version]


@mock_aws
@pytest.mark.parametrize(
    ("flags", "xgboost", "baseline"),
    [
        ([], ["PendingManualApproval", "Approved"], ["PendingManualApproval"]),
        (["--baseline"], ["PendingManualApproval", "PendingManualApproval"], ["Approved"]),
        (["--both"], ["PendingManualApproval", "Approved"], ["Approved"]),
    ],
)
def test_cloud_approve_picks_the_profiles_groups(
    flags: list[str], xgboost: list[str], baseline: list[str]
) -> None:
    """The lab profile's groups are lab-digits-xgboost and lab-digits-baseline (env-prefixed
    from config/lab.json); a look-alike group without the prefix is left alone."""
    sm = boto3.client("sagemaker", region_name="us-east-1")
    _cloud_group(sm, "lab-digits-xgboost", 2)
    _cloud_group(sm, "lab-digits-baseline", 1)
    _cloud_group(sm, "digits-xgboost", 1)
    assert main(["model", "approve", "--region", "us-east-1", *flags]) == 0
    assert _statuses(sm, "lab-digits-xgboost") == xgboost
    assert _statuses(sm, "lab-digits-baseline") == baseline
    assert _statuses(sm, "digits-xgboost") == ["PendingManualApproval"]


def test_local_both_approves_each_group(tmp_path: Path) -> None:
    path = tmp_path / "registry" / "registry.json"
    path.parent.mkdir(parents=True)
    pending = [{"version": 1, "approval_status": "PendingManualApproval"}]
    groups = {g: {"versions": list(pending)} for g in ("digits-xgboost", "digits-baseline")}
    path.write_text(json.dumps({"groups": groups}))
    assert main(["model", "approve", "--local", "--workdir", str(tmp_path), "--both"]) == 0
    saved = json.loads(path.read_text())["groups"]
    assert {g: v["versions"][0]["approval_status"] for g, v in saved.items()} == {
        "digits-xgboost": "Approved",
        "digits-baseline": "Approved",
    }


@pytest.mark.parametrize(
    "argv",
    [
        ["model", "approve", "--both", "--version", "2"],
        ["model", "approve", "--profile", "nope"],
    ],
)
def test_ambiguous_or_unknown_selection_exits_2(argv: list[str]) -> None:
    assert main(argv) == 2


def test_help_says_when_the_baseline_is_needed(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        main(["model", "approve", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "only when serving.kind is multi_container" in out
