"""labctl through its real entry point: a new interpreter, `python -m labctl`."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from labctl import cli
from tests.conftest import REPO

# Written out here, not read from labctl.cli: the oracle is what docs/cli.md documents.
COMMANDS = {
    "synth",
    "lab",
    "ingest",
    "pipeline",
    "model",
    "release",
    "deploy",
    "serve",
    "invoke",
    "teardown",
    "cost",
    "review",
    "batch",
    "shadow",
    "lineage",
}


def labctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "labctl", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_help_lists_every_command() -> None:
    done = labctl("--help")
    assert done.returncode == 0, done.stderr
    listed = set(re.findall(r"^    ([a-z-]+)\s{2,}\S", done.stdout, re.M))
    assert listed == COMMANDS


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_answers_its_own_help(command: str, capsys) -> None:
    # In process (a subprocess per command costs seconds): the product's own parser.
    with pytest.raises(SystemExit) as done:
        cli.main([command, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: labctl {command}")


def test_unknown_command_is_a_usage_error() -> None:
    done = labctl("frobnicate")
    assert done.returncode == 2 and "invalid choice" in done.stderr


def _parsers(parser):  # type: ignore[no-untyped-def]
    """The parser and every sub-command parser below it."""
    import argparse

    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


# What docs/cli.md says of the shared options (not read from labctl.options).
SHARED = {
    "--profile": ("NAME|FILE", "lab"),
    "--account": ("ID", None),
    "--region": ("REGION", None),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_shared_options_speak_one_dialect(command: str) -> None:
    """--profile/--account/--region/--workdir are declared once (labctl/options.py): in every
    command that takes them they have the same metavar and default, so no command grows its
    own spelling of them."""
    seen = 0
    for parser in _parsers(cli.build_parser(command)):
        for action in parser._actions:
            for option in set(action.option_strings) & {*SHARED, "--workdir"}:
                seen += 1
                if option == "--workdir":
                    assert action.metavar == "DIR", command
                else:
                    assert (action.metavar, action.default) == SHARED[option], (command, option)
    assert seen, f"{command} takes none of the shared options"
