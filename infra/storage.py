"""Hardened S3 buckets shared by the lake and the delivery pipeline.

``kms_bucket``: SSE-KMS with bucket keys, versioning, TLS-only, Block Public Access,
server access logs, lifecycle hygiene. ``access_log_bucket``: the SSE-S3 log destination
(S3 server access logging cannot deliver to SSE-KMS buckets). Both carry the one
acknowledgement a single-region sandbox needs (no cross-region replication).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.compliance.packs import acknowledge_packs

REPLICATION_REASON = (
    "Single-region lab platform: this data is re-creatable from its source and protected "
    "by versioning, KMS and (retain mode) retained buckets; cross-region replication would "
    "double storage cost for a sandbox."
)


def _removal(retain: bool) -> cdk.RemovalPolicy:
    return cdk.RemovalPolicy.RETAIN if retain else cdk.RemovalPolicy.DESTROY


def access_log_bucket(scope: Construct, id_: str, *, retain: bool) -> s3.Bucket:
    bucket = s3.Bucket(
        scope,
        id_,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=_removal(retain),
        auto_delete_objects=not retain,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="ExpireAccessLogs",
                expiration=cdk.Duration.days(365 if retain else 90),
                noncurrent_version_expiration=cdk.Duration.days(7),
            )
        ],
    )
    acknowledge_packs(
        bucket,
        "S3DefaultEncryptionKMS",
        "S3 server access logging only delivers to SSE-S3 buckets (SSE-KMS targets are "
        "unsupported), so this bucket uses S3-managed keys; it holds only access logs.",
    )
    acknowledge_packs(bucket, "S3BucketReplicationEnabled", REPLICATION_REASON)
    return bucket


def kms_bucket(
    scope: Construct,
    id_: str,
    *,
    key: kms.IKey,
    log_bucket: s3.IBucket,
    log_prefix: str,
    retain: bool,
    rules: Sequence[s3.LifecycleRule] = (),
    event_bridge: bool = False,
) -> s3.Bucket:
    bucket = s3.Bucket(
        scope,
        id_,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=log_bucket,
        server_access_logs_prefix=f"{log_prefix}/",
        removal_policy=_removal(retain),
        auto_delete_objects=not retain,
        event_bridge_enabled=event_bridge or None,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="AbortIncompleteUploads",
                abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
            ),
            s3.LifecycleRule(
                id="ExpireNoncurrentVersions",
                noncurrent_version_expiration=cdk.Duration.days(30),
            ),
            *rules,
        ],
    )
    acknowledge_packs(bucket, "S3BucketReplicationEnabled", REPLICATION_REASON)
    return bucket


def logs_capable_key(scope: Construct, id_: str, *, description: str, retain: bool) -> kms.Key:
    """A rotating CMK that CloudWatch Logs in this region may use for log groups."""
    key = kms.Key(
        scope,
        id_,
        description=description,
        enable_key_rotation=True,
        removal_policy=_removal(retain),
    )
    region = cdk.Stack.of(scope).region
    key.grant_encrypt_decrypt(iam.ServicePrincipal(f"logs.{region}.amazonaws.com"))
    return key
