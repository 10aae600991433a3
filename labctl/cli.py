"""labctl: operate the MLOps reference platform, in an AWS account or as a local lab.

Exit codes: 0 success, 1 the operation failed, 2 bad arguments or unreadable input,
130 interrupted. Errors are one line on stderr; --debug adds the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Sequence

from ops.errors import NO_CREDENTIALS, NO_REGION, OperationFailed, UsageError

# Modules with register(subparsers); each adds one top-level command.
COMMAND_MODULES = (
    "labctl.synth",
    "labctl.lab",
    "labctl.ingest",
    "labctl.pipeline",
    "labctl.model",
    "labctl.release",
    "labctl.deploy",
    "labctl.serve",
    "labctl.invoke",
    "labctl.teardown",
    "labctl.cost",
    "labctl.review",
    "labctl.batch",
    "labctl.shadow",
    "labctl.lineage",
)

# Command name and one-line help of the modules above, so `labctl --help` lists them without
# importing any (pip's lazy command registry does the same). Only the command being run is
# imported. A module missing here still works: it is imported to register itself.
# tests/labctl/test_cli.py checks every line against the module's own register().
SUMMARIES = {
    "labctl.synth": ("synth", "synthesize a profile through the compliance gate"),
    "labctl.lab": ("lab", "run the local lab (no AWS account needed)"),
    "labctl.ingest": ("ingest", "send events to a Kinesis stream or a local lake"),
    "labctl.pipeline": ("pipeline", "run the training pipeline"),
    "labctl.model": ("model", "list, approve or reject registered model versions"),
    "labctl.release": (
        "release",
        "pin approved models; publish them (multi_model); upload the source",
    ),
    "labctl.deploy": ("deploy", "delivery pipeline and endpoint deployment state"),
    "labctl.serve": ("serve", "serve the approved models on a local endpoint"),
    "labctl.invoke": ("invoke", "send rows to an endpoint and print predictions"),
    "labctl.teardown": (
        "teardown",
        "plan, destroy, sweep and verify one copy of the platform (dry run unless --yes)",
    ),
    "labctl.cost": (
        "cost",
        "idle cost of a profile per day and month, by kind and account; one training "
        "pipeline run on demand vs Spot",
    ),
    "labctl.review": ("review", "write a reference-architecture review of a profile"),
    "labctl.batch": ("batch", "score a curated prefix with the approved model"),
    "labctl.shadow": ("shadow", "compare a shadow variant's answers and latency with production"),
    "labctl.lineage": (
        "lineage",
        "trace a captured prediction back to its model, run, manifest and raw events",
    ),
}

EPILOG = """\
start with `labctl lab` (everything on this machine, no AWS account), then
`labctl <command> --help` for one command.
exit codes: 0 success, 1 the operation failed, 2 bad arguments or unreadable input,
130 interrupted."""


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("mlops-reference-platform")
    except PackageNotFoundError:  # run from a checkout without installing
        return "0.1.0 (not installed)"


def _quiet_toolchain() -> None:
    # jsii prints a banner per run on Node 20; the CDK CLI must not phone home offline.
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
    # The project renders its pipeline with SageMaker SDK v2 on purpose
    # (docs/training-pipeline.md): the SDK's v2->v3 notice (a SageMakerV2DeprecationWarning, a
    # FutureWarning, plus the same text logged by sagemaker.deprecations) would be printed by
    # every command that synthesizes, and by the subprocesses it starts. The SDK's own switch
    # silences exactly that notice; the filters catch it should the switch be set empty.
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    warnings.filterwarnings(
        "ignore", message="You are using the SageMaker Python SDK v2", category=FutureWarning
    )
    logging.getLogger("sagemaker.deprecations").addFilter(_NotV2Notice())
    # "sagemaker.config INFO - Not applying SDK defaults from location: ..." on every
    # Session: the SDK only sets this logger up while its level is unset.
    logging.getLogger("sagemaker.config").setLevel(logging.WARNING)


class _NotV2Notice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Python SDK v2, which is on path of deprecation" not in record.getMessage()


def _command_in(argv: Sequence[str]) -> str | None:
    """The command word: the first argument that is not an option (top-level ones take none)."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (all of them when it is None
    or unknown, so argparse can name the choices)."""
    parser = argparse.ArgumentParser(
        prog="labctl",
        description=__doc__.splitlines()[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"labctl {version()}")
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of an error as well"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        name, summary = SUMMARIES.get(module, (None, ""))
        if name is not None and command != name:
            sub.add_parser(name, help=summary, add_help=False)  # listed, not imported
        else:
            importlib.import_module(module).register(sub)
    return parser


# A path that is missing, of the wrong kind or not ours to write: the caller's to fix.
PATH_ERRORS = (
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
    FileExistsError,
    PermissionError,
)


def _user_error(err: BaseException) -> str | None:
    """One line for the errors that are the caller's to fix (exit 2), else None."""
    from core.config import ConfigError

    if isinstance(err, ConfigError):
        return str(err)
    from pipelines.local.registry_file import RegistryFileError

    if isinstance(err, RegistryFileError):
        return str(err)
    if "botocore" in sys.modules:
        from botocore.exceptions import (
            NoCredentialsError,
            NoRegionError,
            PartialCredentialsError,
            ProfileNotFound,
        )

        if isinstance(err, NoRegionError):
            return NO_REGION
        if isinstance(err, (NoCredentialsError, PartialCredentialsError)):
            return NO_CREDENTIALS
        if isinstance(err, ProfileNotFound):
            return (
                f"no AWS credentials: AWS_PROFILE {err.kwargs.get('profile')!r} is not in "
                "~/.aws/config or ~/.aws/credentials (aws configure --profile NAME, or unset it)"
            )
    if isinstance(
        err,
        (
            FileNotFoundError,
            NotADirectoryError,
            IsADirectoryError,
            FileExistsError,
            PermissionError,
        ),
    ):
        return f"{err.strerror or err}: {err.filename}" if err.filename else str(err)
    return None


def _operational(err: BaseException) -> str | None:
    if "botocore" in sys.modules:
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(err, (BotoCoreError, ClientError)):
            return str(err)
    if isinstance(err, OSError):
        return str(err)
    return None


def main(argv: Sequence[str] | None = None, **inject: object) -> int:
    """Run one command. ``inject`` reaches the handler (tests pass stubbed clients)."""
    _quiet_toolchain()
    argv = list(sys.argv[1:] if argv is None else argv)
    # --debug is accepted anywhere on the line (no command has an option of that name).
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser(_command_in(argv))
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args, **inject)
        return result
    except KeyboardInterrupt:
        print("labctl: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if debug:
            traceback.print_exc()
        if isinstance(err, UsageError):
            print(f"labctl: error: {_one_line(_cloud_hint(str(err), args))}", file=sys.stderr)
            return UsageError.exit_code
        if isinstance(err, OperationFailed):
            # A failure whose cause is the caller's to fix (no region, no credentials) is
            # a user error however deep it was wrapped.
            if err.__cause__ is not None and (message := _user_error(err.__cause__)):
                print(f"labctl: error: {_one_line(_cloud_hint(message, args))}", file=sys.stderr)
                return UsageError.exit_code
            print(f"labctl: failed: {_one_line(str(err))}", file=sys.stderr)
            return OperationFailed.exit_code
        if (message := _user_error(err)) is not None:
            print(f"labctl: error: {_one_line(_cloud_hint(message, args))}", file=sys.stderr)
            return UsageError.exit_code
        if (message := _operational(err)) is not None:
            print(f"labctl: failed: {_one_line(message)}", file=sys.stderr)
            return OperationFailed.exit_code
        print(
            f"labctl: failed: {type(err).__name__}: {_one_line(str(err))}"
            + ("" if debug else " (rerun with --debug for the traceback)"),
            file=sys.stderr,
        )
        return OperationFailed.exit_code


# The option that runs a cloud command on this machine instead, by its argparse dest.
LOCAL_OPTIONS = (
    ("local", "--local"),
    ("local_url", "--local-url URL (labctl serve --local)"),
    ("local_lake", "--local-lake DIR"),
)


def _cloud_hint(message: str, args: argparse.Namespace) -> str:
    """A cloud command that cannot start also says how to run it without AWS, if it can."""
    if not message.startswith(("no AWS region", "no AWS credentials")):
        return message
    for dest, flag in LOCAL_OPTIONS:
        if hasattr(args, dest):
            return f"{message}; or pass {flag} to run it on this machine, without AWS"
    return message


def _one_line(text: str) -> str:
    return " ".join(text.split())
