"""Stack: the governed data lake (stateful)."""

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
        if config.multi_account:  # issue 17: target endpoints read the model archives
            from infra.cross_account import model_key_statement, model_read_statement

            bucket = self.lake.artifacts_bucket
            bucket.add_to_resource_policy(model_read_statement(config, bucket.bucket_arn))
            self.lake.key.add_to_resource_policy(model_key_statement(config))
        if config.multi_account and config.monitoring.engine == "model_monitor":
            # issue 25: production's model-quality job reads the ground truth kept here
            from infra.cross_account import monitoring_ground_truth_statements

            bucket = self.lake.artifacts_bucket
            for statement in monitoring_ground_truth_statements(config, bucket.bucket_arn):
                bucket.add_to_resource_policy(statement)
