"""Errors the CLI turns into exit codes: 2 for bad input, 1 for a failed operation."""

from __future__ import annotations


class UsageError(Exception):
    """Bad arguments or unreadable input: exit code 2, nothing sent anywhere."""

    exit_code = 2


class OperationFailed(Exception):
    """The operation ran and did not succeed (findings, undelivered records): exit code 1."""

    exit_code = 1
