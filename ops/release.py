"""The release against a deployed copy: pin the approved models (``resolve_release``), copy
them into the multi-model prefix (``publish_release``), and zip the source deterministically
for the delivery pipeline's S3 source (``build_bundle``, ``upload_bundle``). ``labctl release``
is the command (labctl/release.py).

The release file schema is documented (and enforced) in ``core/release.py``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import zipfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.release import (
    MME_PREFIX,
    MODEL_KEYS,
    REPO_ROOT,
    mme_target_model,
    read_release,
    release_groups,
    release_path,
    served_models,
    validate_release,
)
from ops.errors import OperationFailed, UsageError

# Never bundled: local environments, build output, lab state and caches.
EXCLUDED_PARTS = frozenset(
    {
        ".venv",
        "node_modules",
        ".lab",
        "__pycache__",
        ".git",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",  # the property-based tests' working folder
    }
)


# 1980-01-01 is the earliest time a zip entry can hold; a fixed stamp makes bundles
# byte-identical across checkouts, so an unchanged tree yields the same ETag.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def newest_approved(client: Any, group: str, why: str = "") -> dict[str, Any]:
    """The newest Approved package of ``group`` as a release entry; OperationFailed if none.

    ``why`` (e.g. "serving.kind 'multi_container' hosts the baseline") goes into the error.
    """
    from botocore.exceptions import ClientError

    from model_code.registry_contract import newest_approved_summary

    try:
        newest = newest_approved_summary(client, group)
    except ClientError as err:
        raise OperationFailed(f"cannot list model package group {group!r}: {err}") from err
    if newest is None:
        raise OperationFailed(
            f"no approved model package in group {group!r}{f' ({why})' if why else ''}: "
            f"approve one with `labctl model approve --group {group}`"
        )
    arn = newest["ModelPackageArn"]
    desc = client.describe_model_package(ModelPackageName=arn)
    containers = desc.get("InferenceSpecification", {}).get("Containers", [])
    if not containers or not containers[0].get("Image") or not containers[0].get("ModelDataUrl"):
        raise OperationFailed(
            f"{arn}: its InferenceSpecification has no container with Image and ModelDataUrl"
        )
    version = desc.get("ModelPackageVersion") or int(arn.rsplit("/", 1)[1])
    entry: dict[str, Any] = {
        "package_arn": arn,
        "image": containers[0]["Image"],
        "model_data_url": containers[0]["ModelDataUrl"],
        "version": int(version),
    }
    # The training execution's own evaluation folder (its smoke samples lie beside it).
    metrics = desc.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {})
    if metrics.get("S3Uri"):
        entry["metrics_uri"] = metrics["S3Uri"]
    baseline = monitor_baseline_prefix(desc)
    if baseline:
        entry["monitor_baseline"] = baseline
    return entry


def monitor_baseline_prefix(package: dict[str, Any]) -> str | None:
    """The prefix of the Model Monitor baselines the pipeline registered with a version
    (its ModelMetrics.ModelDataQuality.Statistics, ``<prefix>/data-quality/statistics.json``);
    None for a version registered before the pipeline produced them."""
    from pipelines.monitor_baseline_step import DATA_STATISTICS

    uri = (
        package.get("ModelMetrics", {})
        .get("ModelDataQuality", {})
        .get("Statistics", {})
        .get("S3Uri", "")
    )
    suffix = "/" + DATA_STATISTICS
    return uri[: -len(suffix)] if uri.startswith("s3://") and uri.endswith(suffix) else None


def resolve_release(client: Any, config: Any) -> dict[str, Any]:
    """Release dict for a PlatformConfig: the newest Approved package of each group the
    serving kind hosts (the baseline only for multi_container); for multi_model each entry
    also names its TargetModel, which ``publish`` creates under ``mme/``."""
    kind = config.serving.kind
    groups = release_groups(config)
    models = served_models(kind)
    release: dict[str, Any] = {}
    for model in models:
        why = f"serving.kind {kind!r} hosts the {model} model"
        entry = newest_approved(client, groups[model], why)
        if kind == "multi_model":
            entry["target_model"] = mme_target_model(model, entry["version"])
        release[model] = entry
    if config.serving.shadow.enabled:
        # The newest Approved version runs as the shadow; the newest before it keeps
        # production. Promotion is a release with serving.shadow off (or a newer approval).
        from ops.shadow_report import resolve_challenger

        release["xgboost"], release["challenger"] = resolve_challenger(
            client, groups["xgboost"], newest_approved
        )
    release["resolved_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    validate_release(release, groups=groups, required=models)
    return release


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise UsageError(f"{uri!r} is not an s3://bucket/key URI")
    return bucket, key


def publish_release(
    client: Any, release: Mapping[str, Any], bucket: str, kms_key_id: str
) -> list[str]:
    """Copy every released artifact with a ``target_model`` to ``s3://bucket/mme/<name>``.

    Server-side copy with SSE-KMS under the lake key, so the hosting role (which reads the
    prefix with that key) can load it. Returns the S3 URIs written. Existing objects are
    overwritten with the same bytes: names carry the version, so a name never changes meaning.
    """
    from botocore.exceptions import ClientError

    written = []
    for model in MODEL_KEYS:
        entry = release.get(model)
        if not entry or not entry.get("target_model"):
            continue
        source_bucket, source_key = split_s3(entry["model_data_url"])
        key = MME_PREFIX + entry["target_model"]
        try:
            client.copy_object(
                Bucket=bucket,
                Key=key,
                CopySource={"Bucket": source_bucket, "Key": source_key},
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=kms_key_id,
                MetadataDirective="REPLACE",
                Metadata={"model-package-arn": entry["package_arn"]},
                ContentType="application/x-gzip",
            )
        except ClientError as err:
            raise OperationFailed(
                f"cannot publish {entry['model_data_url']} to s3://{bucket}/{key}: {err}"
            ) from err
        written.append(f"s3://{bucket}/{key}")
    return written


def write_release(path: Path | str, release: Mapping[str, Any]) -> Path:
    """Validate and write atomically (a synth never reads half a file); returns the path."""
    path = Path(path)
    validate_release(dict(release), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(release, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


# Read and validate a release file (the one reader: core/release.py).
load_release = read_release


def release_for(config: Any, root: Path = REPO_ROOT) -> dict[str, Any] | None:
    """The validated release of a PlatformConfig's environment, or None when none was resolved.

    For the serving stack at synth; a present but malformed file raises ValueError.
    """
    path = release_path(config.env_name, root)
    if not path.exists():
        return None
    return load_release(path, release_groups(config), served_models(config.serving.kind))


def _excluded(rel: str) -> bool:
    parts = rel.split("/")
    return any(p in EXCLUDED_PARTS or p == "cdk.out" or p.startswith("cdk.out.") for p in parts)


def _git_files(root: Path) -> list[str] | None:
    """Tracked plus untracked-but-not-ignored files, or None outside a git work tree."""
    try:
        out = subprocess.run(
            # --others: a freshly resolved release/<env>.json must ship before it is committed.
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [name for name in out.decode().split("\0") if name]


def _walk_files(root: Path) -> list[str]:
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        dirnames[:] = [d for d in dirnames if not _excluded(d)]
        for name in filenames:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            files.append(rel)
    return files


def source_files(root: Path) -> list[str]:
    """Sorted repo-relative paths to bundle (git's view when available, else a filtered walk)."""
    listed = _git_files(root)
    names = listed if listed is not None else _walk_files(root)
    # Tracked-but-deleted files are still listed by git; symlinks and sockets are skipped.
    return sorted(
        n
        for n in set(names)
        if not _excluded(n) and (root / n).is_file() and not (root / n).is_symlink()
    )


def build_bundle(root: Path, files: Iterable[str] | None = None) -> bytes:
    """Deterministic zip: sorted names, fixed timestamps and modes (exec bit kept)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for rel in sorted(files if files is not None else source_files(root)):
            src = root / rel
            info = zipfile.ZipInfo(rel, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if os.access(src, os.X_OK) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            zf.writestr(info, src.read_bytes())
    return buf.getvalue()


def git_commit(root: Path) -> str | None:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "--short=12", "HEAD"],
                cwd=root,
                capture_output=True,
                check=True,
                text=True,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.CalledProcessError):
        return None


def bucket_kms_key(client: Any, bucket: str) -> str | None:
    """The bucket's default SSE-KMS key, or None (no default, SSE-S3, or not readable).

    put_object with ``aws:kms`` and no key id encrypts with the AWS managed ``aws/s3`` key,
    not the bucket's default key, so the pipeline role could be unable to decrypt it.
    """
    from botocore.exceptions import ClientError

    try:
        rules = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"][
            "Rules"
        ]
    except ClientError:
        return None
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm", "").startswith("aws:kms") and default.get("KMSMasterKeyID"):
            key: str = default["KMSMasterKeyID"]
            return key
    return None


def upload_bundle(
    client: Any,
    bucket: str,
    key: str,
    bundle: bytes,
    kms_key_id: str | None = None,
    summary: str | None = None,
) -> str | None:
    """put_object with SSE-KMS; returns the object version id (None if unversioned).
    OperationFailed when S3 refuses it."""
    kwargs: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "Body": bundle,
        "ServerSideEncryption": "aws:kms",
        "ContentType": "application/zip",
    }
    if kms_key_id:
        kwargs["SSEKMSKeyId"] = kms_key_id
    if summary:
        # CodePipeline shows this metadata as the S3 source revision's summary.
        kwargs["Metadata"] = {"codepipeline-artifact-revision-summary": summary[:2048]}
    from botocore.exceptions import ClientError

    try:
        version_id: str | None = client.put_object(**kwargs).get("VersionId")
    except ClientError as err:
        raise OperationFailed(f"upload to s3://{bucket}/{key} failed: {err}") from err
    return version_id
