"""Stack: the isolated network (only when network.mode = 'isolated')."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from core.config import PlatformConfig
from infra.network.construct import IsolatedNetwork


class NetworkStack(cdk.Stack):
    def __init__(
        self, scope: Construct, id_: str, *, config: PlatformConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, id_, **kwargs)
        self.network = IsolatedNetwork(
            self, "Network", max_azs=config.network.max_azs, retain=not config.destroyable
        )
