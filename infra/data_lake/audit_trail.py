"""The lake's audit trail (issue 26). Stateful: the log bucket holds audit evidence.

Provisions a CloudTrail trail (management events, read and write; S3 data events on the
lake's raw, curated and artifacts buckets), its own rotating KMS key, and an SSE-KMS log bucket
(``infra.storage.kms_bucket``: TLS-only, versioned, access-logged to the lake's access-log
bucket, retained with the lake in retain mode). Log file validation is on.
Exposes: trail, key, bucket, trail_arn, data_buckets.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.compliance.packs import acknowledge_packs
from infra.storage import kms_bucket

CLOUDTRAIL = "cloudtrail.amazonaws.com"
# "Amazon S3 bucket policy for CloudTrail" (CloudTrail User Guide): GetBucketAcl on the bucket,
# PutObject under AWSLogs/<account>/ with the bucket-owner-full-control ACL, and, as a security
# best practice, aws:SourceArn naming the trail.
DOC_BUCKET_POLICY = (
    "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/"
    "create-s3-bucket-policy-for-cloudtrail.html"
)
# "Configure AWS KMS key policies for CloudTrail": kms:GenerateDataKey* with the
# kms:EncryptionContext:aws:cloudtrail:arn condition, kms:DescribeKey; aws:SourceArn as best
# practice. With an S3 Bucket Key (kms_bucket turns it on) both are required to create the
# trail at all ("Encrypting CloudTrail log files with AWS KMS keys").
DOC_KEY_POLICY = (
    "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/"
    "create-kms-key-policy-for-cloudtrail.html"
)


class AuditTrail(Construct):
    """A single-region trail of this account's management events and the S3 object calls on
    ``data_buckets``.

    The bucket and key policies for CloudTrail are written here, each with ``aws:SourceArn``
    naming this trail. CDK's ``Trail`` L2 (aws-cdk-lib 2.275) writes the bucket statements
    without ``aws:SourceArn`` and no key statements at all, so it is handed a reference to the
    log bucket that takes no policy (``from_bucket_attributes``), and the trail waits for the
    real bucket's policy and the key's policy itself: CreateTrail checks both.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        trail_name: str,
        data_buckets: Sequence[s3.IBucket],
        access_log_bucket: s3.IBucket,
        retain: bool,
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        removal = cdk.RemovalPolicy.RETAIN if retain else cdk.RemovalPolicy.DESTROY
        self.data_buckets = list(data_buckets)
        self.trail_arn = stack.format_arn(
            service="cloudtrail", resource="trail", resource_name=trail_name
        )
        self.key = kms.Key(
            self,
            "Key",
            description="Audit trail log files (CloudTrail SSE-KMS)",
            enable_key_rotation=True,
            removal_policy=removal,
            pending_window=cdk.Duration.days(30 if retain else 7),
        )
        # The house convention for logs (infra.storage.access_log_bucket): a year in retain
        # mode, 90 days in the lab; the bucket itself is retained in retain mode.
        expiry = s3.LifecycleRule(
            id="ExpireAuditLogs", expiration=cdk.Duration.days(365 if retain else 90)
        )
        self.bucket = kms_bucket(
            self,
            "Bucket",
            key=self.key,
            log_bucket=access_log_bucket,
            log_prefix="audit-trail",
            retain=retain,
            rules=[expiry],
        )
        self._allow_cloudtrail(stack)
        self.trail = cloudtrail.Trail(
            self,
            "Trail",
            trail_name=trail_name,
            bucket=s3.Bucket.from_bucket_attributes(
                self,
                "BucketForTrail",
                bucket_arn=self.bucket.bucket_arn,
                bucket_name=self.bucket.bucket_name,
            ),
            encryption_key=self.key,
            enable_file_validation=True,
            include_global_service_events=True,
            # One region: the lake and its callers are in the profile's region; a multi-region
            # trail would also record every other region's management events (more to read,
            # still free as the first copy) but no lake data events.
            is_multi_region_trail=False,
            management_events=cloudtrail.ReadWriteType.ALL,
        )
        # Object-level calls (GetObject, PutObject, DeleteObject...) on every key of each bucket.
        # Management events are in the trail's first selector already (management_events).
        self.trail.add_s3_event_selector(
            [cloudtrail.S3EventSelector(bucket=b) for b in self.data_buckets],
            include_management_events=False,
            read_write_type=cloudtrail.ReadWriteType.ALL,
        )
        resource = self.trail.node.default_child
        assert isinstance(resource, cdk.CfnResource)
        resource.node.add_dependency(self.bucket.policy)  # type: ignore[arg-type]
        resource.node.add_dependency(self.key)
        if not retain:
            # Lab: CDK empties the bucket before deleting it; the trail must be gone first, or
            # a log file it delivers after the emptying fails the bucket's deletion.
            empty = self.bucket.node.find_child("AutoDeleteObjectsCustomResource")
            empty.node.add_dependency(self.trail)
        acknowledge_packs(
            self.trail,
            "CloudTrailCloudWatchLogsEnabled",
            "Audit log files go to the KMS-encrypted, validated S3 log bucket and are read "
            "there (Athena, or CloudTrail's own event history for 90 days of management "
            "events); copying every lake data event into CloudWatch Logs as well would bill "
            "ingestion per GB a second time.",
        )

    def _allow_cloudtrail(self, stack: cdk.Stack) -> None:
        principal = iam.ServicePrincipal(CLOUDTRAIL)
        this_trail = {"aws:SourceArn": self.trail_arn}
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailAclCheck",
                principals=[principal],
                actions=["s3:GetBucketAcl"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringEquals": this_trail},
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailWrite",
                principals=[principal],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"AWSLogs/{stack.account}/*")],
                conditions={
                    "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **this_trail}
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailEncryptLogs",
                principals=[principal],
                actions=["kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringEquals": this_trail,
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:{stack.partition}:cloudtrail:*:{stack.account}:trail/*"
                        )
                    },
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailDescribeKey",
                principals=[principal],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": this_trail},
            )
        )
        # The log bucket uses an S3 Bucket Key: "kms:Decrypt permissions are required to
        # create or update a trail with SSE-KMS encryption enabled" ("Configure AWS KMS key
        # policies for CloudTrail"); the page does not say whose, so CloudTrail gets it for
        # this trail only (the deploying role has it through the key's account statement).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailDecryptWithBucketKey",
                principals=[principal],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": this_trail},
            )
        )
