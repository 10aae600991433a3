"""boto3 against a deployed copy of the platform (issue 23): the client side of every
cloud command. Imports core, pipelines and model_code; never infra, aws_cdk or labctl."""

from __future__ import annotations

from typing import Any


def aws_client(service: str, region: str | None = None, **kwargs: Any) -> Any:
    """A boto3 client (imported here, on first use: ``labctl --help`` never loads boto3)."""
    import boto3

    return boto3.client(service, region_name=region, **kwargs)
