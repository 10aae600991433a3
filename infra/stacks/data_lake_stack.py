"""Stack: the governed data lake (stateful), and its audit trail when the profile asks.

The trail lives here, not in Operations: its S3 data-event selectors name the lake's buckets,
and Operations is deployed before the lake and may not reference it (``infra.platform``).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
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
