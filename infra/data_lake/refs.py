"""Named exports of the data lake, and the view of them that consumer stacks build.

Consumer stacks never hold object references into the lake stack: they import these
explicitly named exports. A named export (``<env>-lake-raw-bucket-arn``) keeps cross-stack
references stable across refactors and keeps IAM findings readable and acknowledgeable
(``Resource::lab-lake-raw-bucket-arn/*``) instead of CDK's generated output hashes.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.data_lake.construct import DataLake

ZONES = ("raw", "curated", "artifacts")


def export_name(env_name: str, item: str) -> str:
    return f"{env_name}-lake-{item}"


def export_lake(lake: DataLake, env_name: str) -> None:
    """Publish the lake's ARNs and names as stack outputs with fixed export names."""
    stack = cdk.Stack.of(lake)
    buckets = {
        "raw": lake.raw_bucket,
        "curated": lake.curated_bucket,
        "artifacts": lake.artifacts_bucket,
    }
    for zone, bucket in buckets.items():
        cdk.CfnOutput(
            stack,
            f"{zone.title()}BucketArn",
            value=bucket.bucket_arn,
            export_name=export_name(env_name, f"{zone}-bucket-arn"),
        )
        cdk.CfnOutput(
            stack,
            f"{zone.title()}BucketName",
            value=bucket.bucket_name,
            export_name=export_name(env_name, f"{zone}-bucket-name"),
        )
    cdk.CfnOutput(
        stack, "KeyArn", value=lake.key.key_arn, export_name=export_name(env_name, "key-arn")
    )
    cdk.CfnOutput(
        stack,
        "DatabaseName",
        value=lake.database_name,
        export_name=export_name(env_name, "database-name"),
    )


class LakeRefs(Construct):
    """The lake as seen from another stack: imported buckets (with their key) and key.

    Exposes: key, raw_bucket, curated_bucket, artifacts_bucket, database_name.
    """

    def __init__(self, scope: Construct, id_: str, *, env_name: str, database_name: str) -> None:
        super().__init__(scope, id_)
        self.env_name = env_name
        self.database_name = database_name
        self.key = kms.Key.from_key_arn(
            self, "Key", cdk.Fn.import_value(export_name(env_name, "key-arn"))
        )

        def bucket(zone: str) -> s3.IBucket:
            return s3.Bucket.from_bucket_attributes(
                self,
                f"{zone.title()}Bucket",
                bucket_arn=cdk.Fn.import_value(export_name(env_name, f"{zone}-bucket-arn")),
                bucket_name=cdk.Fn.import_value(export_name(env_name, f"{zone}-bucket-name")),
                encryption_key=self.key,
            )

        self.raw_bucket = bucket("raw")
        self.curated_bucket = bucket("curated")
        self.artifacts_bucket = bucket("artifacts")
