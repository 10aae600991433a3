"""labctl: the operator CLI. Each command module registers its own subcommand.

Exit codes: 0 success, 1 the operation failed, 2 bad arguments or unreadable input.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from labctl.errors import OperationFailed, UsageError

# Modules with register(subparsers); each adds one top-level command.
COMMAND_MODULES = (
    "labctl.synth",
    "labctl.lab",
    "labctl.ingest",
    "labctl.pipeline_local",
    "labctl.model",
    "labctl.release",
    "labctl.deploy_status",
    "labctl.serve",
    "labctl.invoke",
    "labctl.teardown",
    "labctl.cost",
    "labctl.review",
)


def _quiet_toolchain() -> None:
    # jsii prints a banner per run on Node 20; the CDK CLI must not phone home offline.
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labctl", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None, **inject: object) -> int:
    """Run one command. ``inject`` reaches the handler (tests pass stubbed clients)."""
    _quiet_toolchain()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args, **inject)
        return result
    except UsageError as err:
        print(f"labctl: error: {err}", file=sys.stderr)
        return UsageError.exit_code
    except OperationFailed as err:
        print(f"labctl: failed: {err}", file=sys.stderr)
        return OperationFailed.exit_code
    except KeyboardInterrupt:
        print("labctl: interrupted", file=sys.stderr)
        return 130
