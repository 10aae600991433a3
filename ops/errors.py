"""Errors the CLI turns into exit codes: 2 for bad input, 1 for a failed operation, and the
one-line messages for a cloud command that cannot start (labctl/cli.py adds where the
command's local alternative is, labctl/options.py has the region rule)."""

from __future__ import annotations

NO_REGION = (
    "no AWS region: pass --region, set AWS_REGION or AWS_DEFAULT_REGION, or use an "
    "AWS_PROFILE that has a region"
)
NO_CREDENTIALS = (
    "no AWS credentials: set AWS_PROFILE (aws configure / aws sso login) or "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


class UsageError(Exception):
    """Bad arguments or unreadable input: exit code 2, nothing sent anywhere."""

    exit_code = 2


class OperationFailed(Exception):
    """The operation ran and did not succeed (findings, undelivered records): exit code 1."""

    exit_code = 1
