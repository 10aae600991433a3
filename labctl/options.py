"""The options several commands share, declared once: --profile, --account, --region and
--workdir. A command adds the ones it takes with these functions, so each reads the same
(name, default, metavar, help) in every ``labctl <command> --help``; ``purpose`` adds what
the option does in that command.
"""

from __future__ import annotations

import argparse
from typing import Any

from labctl.paths import default_workdir, workdir_help

DEFAULT_PROFILE = "lab"


def _help(text: str, purpose: str | None) -> str:
    return f"{text}; {purpose}" if purpose else text


def add_profile(parser: Any, purpose: str | None = None) -> argparse.Action:
    """--profile NAME: config/<NAME>.json (default lab)."""
    action: argparse.Action = parser.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        metavar="NAME",
        help=_help(f"config/<NAME>.json (default {DEFAULT_PROFILE})", purpose),
    )
    return action


def add_account(parser: Any, purpose: str | None = None) -> argparse.Action:
    """--account ID: overrides the profile's account."""
    action: argparse.Action = parser.add_argument(
        "--account",
        metavar="ID",
        help=_help("12-digit AWS account id (default: the profile's)", purpose),
    )
    return action


def add_region(parser: Any, purpose: str | None = None, *, default: str = "") -> argparse.Action:
    """--region REGION; ``default`` says where it comes from when not given."""
    where = default or "the profile's"
    action: argparse.Action = parser.add_argument(
        "--region", metavar="REGION", help=_help(f"AWS region (default: {where})", purpose)
    )
    return action


# Where a command without a profile takes its region from: boto3's own chain.
BOTO3_REGION = "AWS_DEFAULT_REGION or the AWS_PROFILE's"


def add_workdir(parser: Any) -> argparse.Action:
    """--workdir DIR: the lab work folder (labctl/paths.py)."""
    action: argparse.Action = parser.add_argument(
        "--workdir", default=default_workdir(), metavar="DIR", help=workdir_help()
    )
    return action
