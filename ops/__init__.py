"""boto3 against a deployed copy of the platform (issue 23): the client side of every
cloud command. Imports core, pipelines and model_code; never infra, aws_cdk or labctl."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def aws_client(service: str, region: str | None = None, **kwargs: Any) -> Any:
    """A boto3 client (imported here, on first use: ``labctl --help`` never loads boto3)."""
    import boto3

    return boto3.client(service, region_name=region, **kwargs)


def require_credentials(region: str, hint: str = "") -> None:
    """Fail in one line (exit 2) when boto3 finds no AWS credentials for ``region``: before a
    command spends seconds (a synth) on work it cannot finish. ``hint`` says what to do."""
    import boto3

    from ops.errors import NO_CREDENTIALS, UsageError

    if boto3.Session(region_name=region).get_credentials() is None:
        raise UsageError(f"{NO_CREDENTIALS}{'; ' + hint if hint else ''}")


def as_one_line(what: str, call: Callable[[], T]) -> T:
    """``call()`` with botocore's errors as one line (exit 1) naming ``what`` was being done."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ops.errors import OperationFailed

    try:
        return call()
    except (BotoCoreError, ClientError) as err:
        raise OperationFailed(f"{what}: {err}") from err
