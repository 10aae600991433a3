"""Stack: the governed data lake (stateful), and its audit trail when the profile asks.

The trail lives here, not in Operations: its S3 data-event selectors name the lake's buckets,
and Operations is deployed before the lake and may not reference it (``infra.platform``).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from core.config import PlatformConfig
from infra.data_lake.construct import DataLake
from infra.data_lake.refs import export_lake


class DataLakeStack(cdk.Stack):
    def __init__(
        self, scope: Construct, id_: str, *, config: PlatformConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, id_, termination_protection=not config.destroyable, **kwargs)
        self.lake = DataLake(
            self,
            "Lake",
            retain=not config.destroyable,
            raw_expiry_days=config.raw_expiry_days,
            database_name=config.lake_database,
            lake_admin_arns=config.lake_admin_arns,
        )
        export_lake(self.lake, config.env_name)
        self.audit = None
        if config.audit.trail:  # issue 26: management + S3 data events on the lake's buckets
            from infra.data_lake.audit_trail import AuditTrail

            lake = self.lake
            self.audit = AuditTrail(
                self,
                "AuditTrail",
                trail_name=config.audit_trail_name,
                data_buckets=[lake.raw_bucket, lake.curated_bucket, lake.artifacts_bucket],
                access_log_bucket=lake.log_bucket,
                retain=not config.destroyable,
            )
        if config.multi_account:  # issue 17: target endpoints read the model archives
            from infra.cross_account import model_key_statement, model_read_statement

            bucket = self.lake.artifacts_bucket
            bucket.add_to_resource_policy(model_read_statement(config, bucket.bucket_arn))
            self.lake.key.add_to_resource_policy(model_key_statement(config))
            self._monitoring_reads(config)

    def _monitoring_reads(self, config: PlatformConfig) -> None:
        """Production's monitoring roles read baselines and monitoring code, and (labels in
        tooling) the raw zone's events, which carries a fixed name for them to name
        (``accounts.lake_raw_bucket_name``); read-only, the key only through S3."""
        from core import accounts
        from infra.cross_account import monitoring_key_statement, monitoring_read_statements

        raw = self.lake.raw_bucket.node.default_child
        assert isinstance(raw, s3.CfnBucket)
        raw.bucket_name = accounts.lake_raw_bucket_name(config)
        if config.monitoring.engine == "none":
            return
        reads: list[tuple[s3.IBucket, tuple[str, ...], str]] = [
            (self.lake.artifacts_bucket, accounts.MONITORING_ARTIFACT_PREFIXES, "Artifacts")
        ]
        if config.monitoring.labels_account == "tooling":
            reads.append((self.lake.raw_bucket, accounts.MONITORING_LABEL_PREFIXES, "Labels"))
        for bucket, prefixes, sid in reads:
            for statement in monitoring_read_statements(config, bucket.bucket_arn, prefixes, sid):
                bucket.add_to_resource_policy(statement)
        if config.monitoring.engine == "model_monitor":
            # Model Monitor's model-quality job reads the ground truth the tooling upload writes
            from infra.cross_account import monitoring_ground_truth_statements

            artifacts = self.lake.artifacts_bucket
            for statement in monitoring_ground_truth_statements(config, artifacts.bucket_arn):
                artifacts.add_to_resource_policy(statement)
        self.lake.key.add_to_resource_policy(monitoring_key_statement(config))
