"""Stack: Model Monitor's ground-truth upload in the tooling account (three accounts only).

With ``monitoring.engine='model_monitor'`` and separate accounts (issue 25), the labels stay
where they land, in tooling's raw zone, and so does their conversion to Model Monitor's layout
(``GroundTruthUpload``, which in a single account sits in ``<env>-Monitoring``): it writes the
lake's ``monitoring/ground-truth/`` prefix, which production's model-quality job reads across
accounts (infra/monitoring/ground_truth.py says why). Its own logs-capable key. Not stateful.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_sns as sns
from constructs import Construct

from core.config import PlatformConfig
from infra.data_lake.refs import LakeRefs
from infra.monitoring.ground_truth import GroundTruthUpload
from infra.storage import logs_capable_key


class GroundTruthStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        alert_topic: sns.ITopic,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id_, **kwargs)
        lake = LakeRefs(self, "Lake", env_name=config.env_name, database_name=config.lake_database)
        log_key = logs_capable_key(
            self, "LogKey", description="Ground-truth upload logs", retain=not config.destroyable
        )
        self.ground_truth = GroundTruthUpload(
            self, "GroundTruth", lake=lake, log_key=log_key, alert_topic=alert_topic
        )
