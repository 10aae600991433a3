"""labctl release resolve|upload: registry resolution (moto), release file checks, bundle."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from core.config import GuardrailConfig, ServingConfig, load_profile
from labctl.cli import main
from ops.errors import OperationFailed
from ops.release import (
    build_bundle,
    load_release,
    release_for,
    resolve_release,
    source_files,
    write_release,
)

REGION = "us-east-1"
# The lab profile's groups: the environment prefixes the base names.
XGB, BASE = "lab-digits-xgboost", "lab-digits-baseline"


def _package(sm: Any, group: str, status: str, url: str) -> str:
    arn: str = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": f"img/{group}:1", "ModelDataUrl": url}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    return arn


def _registry(sm: Any, xgb: list[str], base: list[str]) -> None:
    for group, statuses in ((XGB, xgb), (BASE, base)):
        sm.create_model_package_group(ModelPackageGroupName=group)
        for i, status in enumerate(statuses, start=1):
            _package(sm, group, status, f"s3://models/{group}/{i}/model.tar.gz")


def _release() -> dict[str, Any]:
    def entry(group: str, n: int) -> dict[str, Any]:
        return {
            "package_arn": f"arn:aws:sagemaker:{REGION}:123456789012:model-package/{group}/{n}",
            "image": "img:1",
            "model_data_url": f"s3://models/{group}/{n}/model.tar.gz",
            "version": n,
        }

    return {
        "xgboost": entry(XGB, 3),
        "baseline": entry(BASE, 1),
        "resolved_at": "2026-11-29T02:10:47+00:00",
    }


def _config(kind: str) -> Any:
    """The lab profile with another serving kind (serverless: no capture, no monitoring)."""
    lab = load_profile("lab")
    if kind == "serverless":
        serving = ServingConfig(
            kind="serverless", data_capture=False, guardrail=GuardrailConfig(mode="all_at_once")
        )
        monitoring = dataclasses.replace(lab.monitoring, engine="none")
        return dataclasses.replace(lab, serving=serving, monitoring=monitoring)
    return dataclasses.replace(lab, serving=dataclasses.replace(lab.serving, kind=kind))


@mock_aws
def test_resolve_takes_the_newest_approved_and_ignores_pending_and_rejected() -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    _registry(sm, ["Approved", "Approved", "Rejected", "PendingManualApproval"], ["Approved"])
    release = resolve_release(sm, _config("multi_container"))
    assert release["xgboost"]["version"] == 2
    assert release["xgboost"]["package_arn"].endswith(f"model-package/{XGB}/2")
    assert release["xgboost"]["model_data_url"] == f"s3://models/{XGB}/2/model.tar.gz"
    assert release["xgboost"]["image"] == f"img/{XGB}:1"
    assert release["baseline"]["version"] == 1


@mock_aws
def test_resolve_names_the_versions_model_monitor_baselines(tmp_path: Path) -> None:
    """The release carries the prefix of the baselines registered with the approved version
    (its ModelMetrics), so the serving stack's schedules read the deployed version's; a
    version registered without them gets no key."""
    sm = boto3.client("sagemaker", region_name=REGION)
    _registry(sm, ["Approved"], [])
    prefix = "s3://art/pipelines/lab-digits-training/exec-2/MonitorBaseline"
    sm.create_model_package(
        ModelPackageGroupName=XGB,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "img:2", "ModelDataUrl": "s3://models/2/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelMetrics={
            "ModelDataQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": f"{prefix}/data-quality/statistics.json",
                }
            }
        },
    )
    release = resolve_release(sm, _config("real_time"))
    assert release["xgboost"]["version"] == 2
    assert release["xgboost"]["monitor_baseline"] == prefix
    path = tmp_path / "r.json"
    path.write_text(json.dumps(release))
    assert load_release(path)["xgboost"]["monitor_baseline"] == prefix
    from core.release import Release

    assert Release.from_file(path).xgboost.monitor_baseline == prefix
    # the first version has no ModelMetrics: no key (the serving stack then asks for one)
    from ops.release import monitor_baseline_prefix

    first = sm.list_model_packages(ModelPackageGroupName=XGB, SortBy="CreationTime")[
        "ModelPackageSummaryList"
    ]
    arns = sorted(p["ModelPackageArn"] for p in first)
    assert monitor_baseline_prefix(sm.describe_model_package(ModelPackageName=arns[0])) is None


@mock_aws
@pytest.mark.parametrize("kind", ["real_time", "serverless", "multi_model"])
def test_kinds_without_the_baseline_resolve_with_no_baseline_approved(kind: str) -> None:
    """A first release approves only XGBoost: kinds that never host the baseline must not ask
    for it (defect: the build failed until someone approved an unused baseline)."""
    sm = boto3.client("sagemaker", region_name=REGION)
    _registry(sm, ["Approved"], ["PendingManualApproval"])
    release = resolve_release(sm, _config(kind))
    assert set(release) == {"xgboost", "resolved_at"}
    assert release["xgboost"]["package_arn"].endswith(f"model-package/{XGB}/1")


@mock_aws
def test_multi_container_without_an_approved_baseline_says_which_group_and_command() -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    _registry(sm, ["Approved"], ["PendingManualApproval"])
    with pytest.raises(OperationFailed) as err:
        resolve_release(sm, _config("multi_container"))
    message = str(err.value)
    assert f"no approved model package in group '{BASE}'" in message
    assert "'multi_container' hosts the baseline model" in message
    assert f"labctl model approve --group {BASE}" in message


@mock_aws
def test_multi_model_release_names_the_target_model_by_version() -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    _registry(sm, ["Approved", "Approved", "Approved"], [])
    release = resolve_release(sm, _config("multi_model"))
    assert release["xgboost"]["target_model"] == "xgboost-v3.tar.gz"


@mock_aws
def test_resolve_without_an_approved_model_names_the_group() -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    _registry(sm, ["PendingManualApproval", "Rejected"], ["Approved"])
    with pytest.raises(OperationFailed, match=f"no approved model package in group '{XGB}'"):
        resolve_release(sm, load_profile("lab"))


@mock_aws
def test_cli_resolve_without_xgboost_exits_1(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    sm = boto3.client("sagemaker", region_name=REGION)
    _registry(sm, [], ["Approved"])
    out = tmp_path / "lab.json"
    code = main(["release", "resolve", "--profile", "lab", "--region", REGION, "--out", str(out)])
    assert code == 1
    assert f"group '{XGB}'" in capsys.readouterr().err
    assert not out.exists()


@mock_aws
def test_cli_resolve_writes_a_file_load_release_accepts(tmp_path: Path) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    _registry(sm, ["Approved", "Approved"], ["Approved"])
    out = tmp_path / "release" / "lab.json"
    code = main(["release", "resolve", "--profile", "lab", "--region", REGION, "--out", str(out)])
    assert code == 0
    release = load_release(out, groups={"xgboost": XGB, "baseline": BASE})
    assert release["xgboost"]["version"] == 2
    # lab serves real_time: the baseline is neither needed nor pinned.
    assert set(release) == {"xgboost", "resolved_at"}


def test_cli_resolve_unknown_profile_exits_2() -> None:
    assert main(["release", "resolve", "--profile", "nope"]) == 2


def test_write_then_load_round_trips(tmp_path: Path) -> None:
    path = write_release(tmp_path / "r.json", _release())
    assert load_release(path) == _release()


def test_written_release_is_stable_reviewable_json_in_a_new_folder(tmp_path: Path) -> None:
    """Sorted keys, two-space indent, final newline (diffs stay small); parents created;
    no temporary file left beside it."""
    path = write_release(tmp_path / "release" / "lab" / "r.json", _release())
    expected = json.dumps(_release(), indent=2, sort_keys=True) + "\n"
    assert path.read_text() == expected
    assert sorted(p.name for p in path.parent.iterdir()) == ["r.json"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("xgboost"), "missing key(s) xgboost"),
        (lambda r: r["xgboost"].update(target_model="latest.tar.gz"), "must be 'xgboost-v3"),
        (lambda r: r.update(extra=1), "unknown key(s) extra"),
        (lambda r: r["xgboost"].pop("image"), "xgboost: missing key(s) image"),
        (
            lambda r: r["xgboost"].update(package_arn="arn:aws:sagemaker:us-east-1:1:model/x"),
            "is not a model package version ARN",
        ),
        (lambda r: r["xgboost"].update(version=4), "does not match the ARN's /3"),
        (lambda r: r["baseline"].update(version="1"), "must be a positive integer"),
        (lambda r: r["baseline"].update(model_data_url="/tmp/m"), "s3://bucket/key"),
        (lambda r: r.update(resolved_at="yesterday"), "not an ISO-8601 time"),
        (lambda r: r["xgboost"].update(monitor_baseline="/tmp/b"), "monitor_baseline must be"),
    ],
)
def test_load_rejects_malformed_files(tmp_path: Path, mutate: Any, message: str) -> None:
    release = _release()
    mutate(release)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(release))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_release(path)


def test_baseline_is_optional_unless_the_kind_serves_it(tmp_path: Path) -> None:
    release = _release()
    release.pop("baseline")
    path = tmp_path / "r.json"
    path.write_text(json.dumps(release))
    assert "baseline" not in load_release(path)
    with pytest.raises(ValueError, match=f"missing key\\(s\\) baseline.*--group {BASE}"):
        load_release(path, {"xgboost": XGB, "baseline": BASE}, ("xgboost", "baseline"))


def test_load_rejects_missing_file_invalid_json_and_wrong_group(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no release file; run `labctl release resolve"):
        load_release(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_release(bad)
    good = write_release(tmp_path / "good.json", _release())
    with pytest.raises(ValueError, match="expected 'other'"):
        load_release(good, groups={"xgboost": "other", "baseline": BASE})


def test_release_for_reads_the_environment_file(tmp_path: Path) -> None:
    config = load_profile("lab")
    assert release_for(config, root=tmp_path) is None
    write_release(tmp_path / "release" / f"{config.env_name}.json", _release())
    assert release_for(config, root=tmp_path) == _release()


def _tree(root: Path, git: bool) -> Path:
    (root / "infra").mkdir(parents=True)
    (root / "app.py").write_text("print('app')\n")
    (root / "infra" / "x.py").write_text("X = 1\n")
    (root / ".venv" / "lib").mkdir(parents=True)
    (root / ".venv" / "lib" / "big.py").write_text("venv\n")
    (root / "cdk.out.lab").mkdir()
    (root / "cdk.out.lab" / "t.json").write_text("{}")
    (root / "infra" / "__pycache__").mkdir()
    (root / "infra" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (root / "cdk.out").mkdir()  # the default outdir, exactly (not only cdk.out.<profile>)
    (root / "cdk.out" / "manifest.json").write_text("{}")
    (root / "link.py").symlink_to(root / "app.py")  # a symlink is not shipped
    if git:
        (root / ".gitignore").write_text(".venv/\n__pycache__/\ncdk.out.*/\nsecret.txt\n")
        (root / "secret.txt").write_text("ignored\n")
        run = {"cwd": root, "check": True, "capture_output": True}
        subprocess.run(["git", "init", "-q"], **run)  # type: ignore[call-overload]
        subprocess.run(["git", "add", "app.py", ".gitignore"], **run)  # type: ignore[call-overload]
    return root


@pytest.mark.parametrize("git", [True, False])
def test_source_files_exclude_local_state(tmp_path: Path, git: bool) -> None:
    root = _tree(tmp_path / "repo", git)
    files = source_files(root)
    # git mode: tracked + untracked-but-not-ignored (infra/x.py is untracked, still shipped).
    expected = ["app.py", "infra/x.py"] + ([".gitignore"] if git else [])
    assert files == sorted(expected)


def test_bundle_is_deterministic(tmp_path: Path) -> None:
    root = _tree(tmp_path / "repo", git=False)
    first = build_bundle(root)
    (root / "app.py").touch()  # a new mtime must not change the bytes
    assert build_bundle(root) == first


@mock_aws
def test_cli_upload_puts_a_kms_encrypted_version(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="src")
    s3.put_bucket_versioning(Bucket="src", VersioningConfiguration={"Status": "Enabled"})
    code = main(["release", "upload", "--bucket", "src", "--region", REGION])
    assert code == 0
    out = capsys.readouterr().out
    head = s3.head_object(Bucket="src", Key="source/bundle.zip")
    assert f"version {head['VersionId']}" in out
    assert head["ServerSideEncryption"] == "aws:kms"
    body = s3.get_object(Bucket="src", Key="source/bundle.zip")["Body"].read()
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert "app.py" in names
    assert "labctl/release.py" in names
    assert not any(n.startswith((".venv/", ".git/", "cdk.out")) for n in names)
    assert not any("__pycache__" in n for n in names)


@mock_aws
def test_cli_upload_uses_the_bucket_default_kms_key() -> None:
    s3 = boto3.client("s3", region_name=REGION)
    key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket="src")
    s3.put_bucket_versioning(Bucket="src", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket="src",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_arn,
                    }
                }
            ]
        },
    )
    assert main(["release", "upload", "--bucket", "src", "--region", REGION]) == 0
    head = s3.head_object(Bucket="src", Key="source/bundle.zip")
    assert head["SSEKMSKeyId"] == key_arn


@mock_aws
def test_cli_upload_to_an_unversioned_bucket_exits_1(capsys) -> None:  # type: ignore[no-untyped-def]
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="plain")
    assert main(["release", "upload", "--bucket", "plain", "--region", REGION]) == 1
    assert "not versioned" in capsys.readouterr().err


def test_cli_upload_dry_run_and_bad_key(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["release", "upload", "--bucket", "b", "--dry-run"]) == 0
    assert "dry run: would upload to s3://b/source/bundle.zip" in capsys.readouterr().out
    assert main(["release", "upload", "--bucket", "b", "--key", "x.tar", "--dry-run"]) == 2


# ---------------------------------------------------------------- publish (multi_model)


def _mme_release(tmp_path: Path, source_bucket: str) -> Path:
    release = _release()
    release.pop("baseline")
    release["xgboost"]["model_data_url"] = f"s3://{source_bucket}/pipelines/Tune/model.tar.gz"
    release["xgboost"]["target_model"] = "xgboost-v3.tar.gz"
    return write_release(tmp_path / "lab.json", release)


@mock_aws
def test_publish_copies_the_package_artifact_to_the_mme_prefix_with_the_lake_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket="artifacts")
    artifact = b"\x1f\x8b model bytes"
    s3.put_object(Bucket="artifacts", Key="pipelines/Tune/model.tar.gz", Body=artifact)
    path = _mme_release(tmp_path, "artifacts")
    mme = _config("multi_model")
    monkeypatch.setattr("core.config.load_profile", lambda name, overrides=None: mme)
    argv = ["release", "publish", "--bucket", "artifacts", "--kms-key-id", key]
    assert main([*argv, "--release", str(path), "--region", REGION]) == 0
    head = s3.head_object(Bucket="artifacts", Key="mme/xgboost-v3.tar.gz")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key
    got = s3.get_object(Bucket="artifacts", Key="mme/xgboost-v3.tar.gz")["Body"].read()
    assert got == artifact
    assert "published s3://artifacts/mme/xgboost-v3.tar.gz" in capsys.readouterr().out


@mock_aws
def test_publish_of_a_missing_artifact_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="artifacts")
    path = _mme_release(tmp_path, "artifacts")  # no object at the model_data_url
    mme = _config("multi_model")
    monkeypatch.setattr("core.config.load_profile", lambda name, overrides=None: mme)
    argv = ["release", "publish", "--bucket", "artifacts", "--kms-key-id", "k"]
    assert main([*argv, "--release", str(path), "--region", REGION]) == 1
    assert "cannot publish s3://artifacts/pipelines/Tune/model.tar.gz" in capsys.readouterr().err


def test_publish_is_a_no_op_for_kinds_without_a_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_release(tmp_path / "lab.json", _release())
    argv = ["release", "publish", "--bucket", "b", "--kms-key-id", "k", "--release", str(path)]
    assert main(argv) == 0  # lab serves real_time; no client is created
    assert "nothing to publish" in capsys.readouterr().out


@mock_aws
def test_resolve_skips_newer_pending_versions_between_approved_ones() -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    statuses = [
        "Approved",
        "PendingManualApproval",
        "Approved",
        "Rejected",
        "PendingManualApproval",
    ]
    _registry(sm, statuses, ["Approved", "PendingManualApproval"])
    release = resolve_release(sm, _config("multi_container"))  # hosts both models
    assert release["xgboost"]["version"] == 3
    assert release["xgboost"]["model_data_url"] == f"s3://models/{XGB}/3/model.tar.gz"
    assert release["baseline"]["version"] == 1


@mock_aws
def test_resolve_names_the_released_versions_own_metrics() -> None:
    """Each pipeline execution evaluates into its own folder; the release carries the
    approved version's metrics URI (its smoke samples lie beside it), not a newer run's."""
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model_package_group(ModelPackageGroupName=XGB)
    folder = "s3://art/pipelines/lab-digits-training/Evaluate/{}/evaluation/xgboost_metrics.json"
    for execution, status in (("run1", "Approved"), ("run2", "PendingManualApproval")):
        sm.create_model_package(
            ModelPackageGroupName=XGB,
            ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [{"Image": "img:1", "ModelDataUrl": f"s3://m/{execution}.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelMetrics={
                "ModelQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri": folder.format(execution),
                    }
                }
            },
        )
    release = resolve_release(sm, load_profile("lab"))
    assert release["xgboost"]["metrics_uri"] == folder.format("run1")
    assert release["xgboost"]["model_data_url"] == "s3://m/run1.tar.gz"


def test_load_rejects_a_metrics_uri_that_is_not_s3(tmp_path: Path) -> None:
    release = _release()
    release["xgboost"]["metrics_uri"] = "/tmp/xgboost_metrics.json"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(release))
    with pytest.raises(ValueError, match=r"xgboost.metrics_uri must be an s3://bucket/key URI"):
        load_release(path)
    release["xgboost"]["metrics_uri"] = "s3://art/e/evaluation/xgboost_metrics.json"
    path.write_text(json.dumps(release))
    assert load_release(path) is not None
