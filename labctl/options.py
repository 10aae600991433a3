"""The options several commands share, declared once: --profile, --account, --region and
--workdir, and the examples every subcommand's --help ends with. A command adds the ones it
takes with these functions, so each reads the same (name, default, metavar, help) in every
``labctl <command> --help``; ``purpose`` adds what the option does in that command.

The region rule (one for every command; ``resolve_region`` applies it, REGION_HELP says it):

1. ``--region``;
2. else the region of the platform profile (``--profile``), for a command that takes one:
   the profile names a copy of the platform deployed in one region, and a shell's
   AWS_DEFAULT_REGION must not silently point a teardown or a synth at another one (the CDK
   CLI likewise keeps a stack's explicit ``env`` over CDK_DEFAULT_REGION);
3. else ``AWS_REGION``, else ``AWS_DEFAULT_REGION`` (the AWS CLI reads them in that order);
4. else the region of the AWS CLI profile in use (``AWS_PROFILE``, ``~/.aws/config``), as
   boto3 and the AWS CLI read it.

A cloud command that still has no region, or has no credentials, fails with one line that
says how to give them and, where the command has ``--local``, that ``--local`` runs it on
this machine instead (``labctl/cli.py``).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from lab.paths import default_workdir, workdir_help

DEFAULT_PROFILE = "lab"

REGION_HELP = (
    "AWS region (default: the --profile's region where the command takes --profile, else "
    "AWS_REGION, else AWS_DEFAULT_REGION, else the region of your AWS_PROFILE)"
)


def _help(text: str, purpose: str | None) -> str:
    return f"{text}; {purpose}" if purpose else text


def add_profile(parser: Any, purpose: str | None = None) -> argparse.Action:
    """--profile NAME|FILE: config/<NAME>.json or a profile JSON file of your own."""
    action: argparse.Action = parser.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        metavar="NAME|FILE",
        help=_help(
            f"config/<NAME>.json, or the path of a profile JSON file (default {DEFAULT_PROFILE})",
            purpose,
        ),
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


def add_region(parser: Any, purpose: str | None = None) -> argparse.Action:
    """--region REGION, defaulting by the rule above (REGION_HELP)."""
    action: argparse.Action = parser.add_argument(
        "--region", metavar="REGION", help=_help(REGION_HELP, purpose)
    )
    return action


def resolve_region(explicit: str | None, profile_region: str | None = None) -> str | None:
    """The region by the rule above; None leaves it to boto3 (the AWS_PROFILE's region)."""
    return (
        explicit
        or profile_region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or None
    )


def add_workdir(parser: Any) -> argparse.Action:
    """--workdir DIR: the lab work folder (lab/paths.py)."""
    action: argparse.Action = parser.add_argument(
        "--workdir", default=default_workdir(), metavar="DIR", help=workdir_help()
    )
    return action


def add_examples(parser: argparse.ArgumentParser, *lines: str) -> None:
    """End ``parser``'s --help with examples: each line is one ``labctl ...`` command, with
    an optional ``  # comment``. tests/labctl/test_help.py parses every one of them."""
    import textwrap

    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keeps the lines as given
    if parser.description and parser.epilog is None:  # raw from here on: wrapped once now
        parser.description = textwrap.fill(parser.description, 78)
    examples = "examples:\n" + "\n".join(f"  {line}" for line in lines)
    parser.epilog = f"{parser.epilog}\n\n{examples}" if parser.epilog else examples


def example_commands(parser: argparse.ArgumentParser) -> list[list[str]]:
    """The argument lists of ``parser``'s examples (the words after ``labctl``)."""
    import shlex

    _, found, examples = (parser.epilog or "").partition("examples:\n")
    if not found:
        return []
    commands = []
    for line in examples.splitlines():
        words = shlex.split(line.split("  #")[0])
        if words and words[0] == "labctl":
            commands.append(words[1:])
    return commands
