"""Serving what was approved; `labctl model list`; the lab's own approval and pruning."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lab.endpoint import LocalEndpoint
from lab.endpoint.fixtures import build_registry
from lab.registry import (
    EndpointSetupError,
    pick_version,
    settings_from_registry,
)
from labctl.cli import main
from pipelines.local import registry_file


def _versions(*statuses: str) -> dict[str, Any]:
    return {
        "groups": {
            "g": {
                "versions": [
                    {"version": n, "approval_status": s} for n, s in enumerate(statuses, 1)
                ]
            }
        }
    }


def test_newest_approved_wins_over_newer_pending_and_rejected() -> None:
    registry = _versions("Approved", "Approved", "PendingManualApproval", "Rejected")
    assert pick_version(registry, "g")["version"] == 2
    # Explicit --allow-pending changes nothing while an approved version exists.
    assert pick_version(registry, "g", allow_pending=True)["version"] == 2


def test_without_approval_it_says_how_and_pending_only_when_asked() -> None:
    registry = _versions("Rejected", "PendingManualApproval", "Rejected")
    with pytest.raises(EndpointSetupError, match="labctl model approve --local --group g"):
        pick_version(registry, "g")
    assert pick_version(registry, "g", allow_pending=True)["version"] == 2
    with pytest.raises(EndpointSetupError, match="no Approved version"):
        pick_version(_versions("Rejected"), "g", allow_pending=True)  # never a rejected one


@pytest.fixture(scope="module")
def pending(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("pending")
    build_registry(workdir, xgboost_versions=2, rounds=2, status="PendingManualApproval")
    return workdir


def test_serve_refuses_pending_models_with_exit_2(
    pending: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def must_not_serve(self: LocalEndpoint) -> None:
        raise AssertionError("served a pending model without --allow-pending")

    monkeypatch.setattr(LocalEndpoint, "serve_forever", must_not_serve)
    assert main(["serve", "--local", "--workdir", str(pending), "--no-capture"]) == 2
    err = capsys.readouterr().err
    assert "no Approved version of digits-xgboost" in err and "--allow-pending" in err


def test_allow_pending_serves_the_newest_pending_and_the_banner_says_so(
    pending: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(self: LocalEndpoint) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(LocalEndpoint, "serve_forever", interrupted)
    argv = ["serve", "--local", "--workdir", str(pending), "--no-capture", "--allow-pending"]
    assert main(argv) == 0
    assert "serving digits-xgboost v2 (PendingManualApproval)" in capsys.readouterr().out


def test_multi_model_folder_holds_approved_versions_only(tmp_path: Path) -> None:
    build_registry(tmp_path, xgboost_versions=2, rounds=2)

    def reject(registry: dict[str, Any]) -> None:
        registry["groups"]["digits-xgboost"]["versions"][0]["approval_status"] = "Rejected"

    folder = settings_from_registry(tmp_path, "multi_model").model_folder
    assert folder is not None and (folder / "xgboost-v1.tar.gz").exists()
    registry_file.update(tmp_path / "registry" / "registry.json", reject)
    settings_from_registry(tmp_path, "multi_model")
    assert sorted(p.name for p in folder.iterdir()) == [
        "baseline-v1.tar.gz",
        "xgboost-v2.tar.gz",
    ]


def test_relative_artifacts_let_the_work_folder_move(tmp_path: Path) -> None:
    build_registry(tmp_path / "a", xgboost_versions=1, rounds=2)
    path = tmp_path / "a" / "registry" / "registry.json"
    registry = json.loads(path.read_text())
    for group in registry["groups"].values():
        for version in group["versions"]:
            version["artifact"] = str(Path(version["artifact"]).relative_to(tmp_path / "a"))
    path.write_text(json.dumps(registry))
    (tmp_path / "a").rename(tmp_path / "b")
    settings = settings_from_registry(tmp_path / "b", "real_time")
    assert settings.model == tmp_path / "b" / "models" / "xgb-1" / "model.tar.gz"


# --- model list -------------------------------------------------------------------------


def test_model_list_local_shows_versions_status_and_accuracy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = _versions("Approved", "PendingManualApproval")
    registry["groups"]["g"]["versions"][1]["metrics"] = {
        "multiclass_classification_metrics": {"accuracy": {"value": 0.9722}}
    }
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "registry.json").write_text(json.dumps(registry))
    assert main(["model", "list", "--local", "--workdir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["group", "version", "status", "accuracy", "created"]
    assert lines[1].split() == ["g", "1", "Approved", "-"]
    assert lines[2].split() == ["g", "2", "PendingManualApproval", "0.9722"]


@mock_aws
def test_model_list_cloud_reads_status_and_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    sm = boto3.client("sagemaker", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="artifacts")
    s3.put_object(
        Bucket="artifacts",
        Key="m/1.json",
        Body=json.dumps({"multiclass_classification_metrics": {"accuracy": {"value": 0.95}}}),
    )
    sm.create_model_package_group(ModelPackageGroupName="digits-xgboost")
    for uri in ("s3://artifacts/m/1.json", "s3://artifacts/m/missing.json"):
        sm.create_model_package(
            ModelPackageGroupName="digits-xgboost",
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [{"Image": "xgb:3.0-5", "ModelDataUrl": "s3://b/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelMetrics={
                "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": uri}}
            },
        )
    first = sm.list_model_packages(ModelPackageGroupName="digits-xgboost", SortBy="CreationTime")
    sm.update_model_package(
        ModelPackageArn=first["ModelPackageSummaryList"][0]["ModelPackageArn"],
        ModelApprovalStatus="Approved",
    )
    argv = ["model", "list", "--region", "us-east-1", "--group", "digits-xgboost"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split()[:4] for line in lines if line.startswith("digits-xgboost")]
    assert rows == [
        ["digits-xgboost", "1", "Approved", "0.9500"],
        ["digits-xgboost", "2", "PendingManualApproval", "unreadable"],
    ]


# --- the registry lock ------------------------------------------------------------------


def _add_versions(path: str, count: int) -> None:
    def add(registry: dict[str, Any]) -> None:
        versions = registry["groups"].setdefault("g", {"versions": []})["versions"]
        versions.append({"version": len(versions) + 1, "pid": os.getpid()})

    for _ in range(count):
        registry_file.update(Path(path), add)


def test_concurrent_registry_updates_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "registry" / "registry.json"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_add_versions, args=(str(path), 40)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    versions = json.loads(path.read_text())["groups"]["g"]["versions"]
    assert [v["version"] for v in versions] == list(range(1, 121))
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".registry-")]


# --- the lab approves its own run, and prunes old runs -----------------------------------
