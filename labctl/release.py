"""labctl release resolve|publish|upload: pin the approved models, publish them, ship the source.

``resolve`` writes ``release/<env_name>.json``, which the serving stack reads at synth, so a
deploy is reproducible from the bundle alone. It asks the registry only for the models the
profile's serving kind hosts (``served_models``): the baseline only for multi_container.
``publish`` copies each released artifact that has a ``target_model`` into the multi-model
prefix (``mme/`` in the artifacts bucket) with the lake key: a multi-model endpoint serves
only what is under that prefix. ``upload`` zips the source deterministically into the
versioned S3 bucket the delivery CodePipeline's S3 source action watches.

The release file schema is documented (and enforced) in ``core/release.py``; the
boto3 work and the bundle are ops/release.py.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any

from core.release import (
    MODEL_KEYS,
    REPO_ROOT,
    release_groups,
    release_path,
    served_models,
)
from labctl.options import add_examples, add_profile, add_region, resolve_region
from ops import aws_client
from ops.errors import OperationFailed, UsageError
from ops.release import (
    bucket_kms_key,
    build_bundle,
    git_commit,
    load_release,
    publish_release,
    resolve_release,
    source_files,
    upload_bundle,
    write_release,
)


def run_resolve(args: argparse.Namespace, client: Any = None) -> int:
    from core.config import ConfigError, load_profile

    try:
        config = load_profile(args.profile)
    except ConfigError as err:
        raise UsageError(f"profile {args.profile!r}: {err}") from err
    if client is None:
        client = aws_client("sagemaker", resolve_region(args.region, config.region))
    release = resolve_release(client, config)
    bucket_arn, key_arn = (
        getattr(args, "artifacts_bucket_arn", None),
        getattr(args, "artifacts_key_arn", None),
    )
    if bool(bucket_arn) != bool(key_arn):
        raise UsageError("--artifacts-bucket-arn and --artifacts-key-arn go together")
    if bucket_arn:  # issue 17: what serving outside the tooling account reads from tooling
        release["artifacts"] = {"bucket_arn": bucket_arn, "key_arn": key_arn}
    elif config.multi_account:
        raise UsageError(
            f"profile {args.profile!r} serves outside the tooling account: pass "
            "--artifacts-bucket-arn and --artifacts-key-arn (the lake's artifacts bucket and key)"
        )
    out = Path(args.out) if args.out else release_path(config.env_name)
    write_release(out, release)
    for model in MODEL_KEYS:
        if model not in release:
            if model == "challenger":
                continue
            print(f"{model}: not served by serving.kind {config.serving.kind!r}, not resolved")
            continue
        entry = release[model]
        target = f" TargetModel {entry['target_model']}" if "target_model" in entry else ""
        print(f"{model}: version {entry['version']} {entry['package_arn']}{target}")
    print(f"wrote {out}")
    return 0


def run_publish(args: argparse.Namespace, client: Any = None) -> int:
    from core.config import ConfigError, load_profile

    try:
        config = load_profile(args.profile)
    except ConfigError as err:
        raise UsageError(f"profile {args.profile!r}: {err}") from err
    path = Path(args.release) if args.release else release_path(config.env_name)
    try:
        release = load_release(path, release_groups(config), served_models(config.serving.kind))
    except ValueError as err:
        raise UsageError(str(err)) from err
    if config.serving.kind != "multi_model":
        print(f"serving.kind {config.serving.kind!r} serves no S3 prefix: nothing to publish")
        return 0
    if not any(isinstance(e, dict) and e.get("target_model") for e in release.values()):
        raise UsageError(f"{path}: no entry names a target_model; run `labctl release resolve`")
    if client is None:
        client = aws_client("s3", resolve_region(args.region, config.region))
    for uri in publish_release(client, release, args.bucket, args.kms_key_id):
        print(f"published {uri}")
    return 0


def run_upload(args: argparse.Namespace, client: Any = None, root: Path | None = None) -> int:
    root = root or REPO_ROOT
    if not args.key.endswith(".zip"):
        raise UsageError(f"--key {args.key!r} must end in .zip (the S3 source action reads a zip)")
    files = source_files(root)
    if not files:
        raise UsageError(f"no source files found under {root}")
    bundle = build_bundle(root, files)
    digest = hashlib.sha256(bundle).hexdigest()[:16]
    commit = git_commit(root)
    print(
        f"bundle: {len(files)} files, {len(bundle)} bytes, sha256 {digest}"
        + (f", commit {commit}" if commit else "")
    )
    if args.dry_run:
        print(f"dry run: would upload to s3://{args.bucket}/{args.key}")
        return 0
    if client is None:
        client = aws_client("s3", resolve_region(args.region))
    kms_key_id = args.kms_key_id or bucket_kms_key(client, args.bucket)
    if kms_key_id is None:
        print("note: no --kms-key-id and no bucket default KMS key: S3 uses the aws/s3 key")
    summary = f"labctl release upload {commit or 'untracked tree'} sha256 {digest}"
    version_id = upload_bundle(client, args.bucket, args.key, bundle, kms_key_id, summary)
    if version_id in (None, "null"):
        # CodePipeline's S3 source requires versioning; without it nothing triggers.
        raise OperationFailed(
            f"s3://{args.bucket}/{args.key} uploaded but the bucket is not versioned; "
            "the pipeline's S3 source needs a versioned bucket"
        )
    print(f"uploaded s3://{args.bucket}/{args.key} version {version_id}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "release", help="pin approved models; publish them (multi_model); upload the source"
    )
    commands = parser.add_subparsers(dest="release_command", required=True, metavar="ACTION")
    add_examples(
        parser,
        "labctl release resolve --profile lab",
        "labctl release upload --bucket lab-source --dry-run",
    )

    p = commands.add_parser("resolve", help="write release/<env>.json from the model registry")
    add_profile(p)
    add_region(p)
    p.add_argument("--out", help="release file (default release/<env_name>.json in the repo)")
    p.add_argument(
        "--artifacts-bucket-arn",
        help="the lake's artifacts bucket ARN (required when serving is in other accounts)",
    )
    p.add_argument(
        "--artifacts-key-arn",
        help="the lake key ARN (required when serving is in other accounts)",
    )
    add_examples(
        p,
        "labctl release resolve --profile lab",
    )
    p.set_defaults(handler=run_resolve)

    p = commands.add_parser(
        "publish",
        help="multi_model: copy the released artifacts to mme/<target_model> (no-op otherwise)",
    )
    add_profile(p)
    p.add_argument("--bucket", required=True, help="the artifacts bucket (the MME's S3 prefix)")
    p.add_argument("--kms-key-id", required=True, help="the lake key (SSE-KMS of the copies)")
    p.add_argument("--release", help="release file (default release/<env_name>.json)")
    add_region(p)
    add_examples(
        p,
        "labctl release publish --profile lab --bucket lab-artifacts --kms-key-id alias/lab-lake",
    )
    p.set_defaults(handler=run_publish)

    p = commands.add_parser("upload", help="zip the source and put it in the pipeline bucket")
    p.add_argument("--bucket", required=True, help="versioned source bucket")
    p.add_argument("--key", default="source/bundle.zip", help="object key (default %(default)s)")
    p.add_argument("--kms-key-id", help="KMS key for SSE-KMS (default: the bucket's default key)")
    add_region(p)
    p.add_argument("--dry-run", action="store_true", help="build the bundle, upload nothing")
    add_examples(
        p,
        "labctl release upload --bucket lab-source --dry-run",
        "labctl release upload --bucket lab-source --region us-east-1",
    )
    p.set_defaults(handler=run_upload)
