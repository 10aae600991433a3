"""Every command the README and docs/ show exists as shown.

A concrete command (a ``bash`` block line, or a table row whose first cell is a ``labctl``
code span) must parse with labctl's own argument parser (placeholders like ``<port>`` become
a value); a synopsis line of docs/cli.md (with ``[...]``, ``|`` or ``(...)``) must name an
existing command and only flags that command (or one of its sub-commands) takes. Each
``make X`` must be a Makefile rule. Nothing is run.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from labctl.cli import build_parser

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PREFIXES = (".venv/bin/python -m labctl ", "python -m labctl ", ".venv/bin/labctl ", "labctl ")


def _bash_lines(text: str) -> list[str]:
    """Lines of ```bash blocks, continuation lines joined, comments dropped."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        joined = block.replace("\\\n", " ")
        for raw in joined.splitlines():
            line = raw.split("  #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if raw.startswith(" ") and lines:  # a synopsis wrapped onto the next line
                lines[-1] += " " + line
            else:
                lines.append(line)
    return lines


def _table_spans(text: str) -> list[str]:
    """Commands that are a table's first cell (the README's command table); a command named
    inside a sentence or a later cell is a mention, not an example."""
    return re.findall(r"^\| `(labctl [^`]+)` \|", text, re.M)


def _commands() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text()
        for line in [*_bash_lines(text), *_table_spans(text)]:
            for prefix in PREFIXES:
                if line.startswith(prefix):
                    found.append((page.name, "labctl " + line[len(prefix) :]))
                    break
            else:
                if line.startswith("make "):
                    found.append((page.name, line))
    return found


COMMANDS = _commands()
SYNOPSIS = re.compile(r"[\[\]|()]")


def _is_synopsis(command: str) -> bool:
    return bool(SYNOPSIS.search(re.sub(r"<[^>]+>", "", command)))


def _parsers(parser: argparse.ArgumentParser):  # type: ignore[no-untyped-def]
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


def test_the_pages_show_commands_of_every_kind() -> None:
    """The collection itself: README's table and First deploy, and docs/cli.md's synopsis."""
    pages = {page for page, _ in COMMANDS}
    assert {"README.md", "cli.md", "operations.md", "ingestion.md"} <= pages
    assert any(_is_synopsis(c) for p, c in COMMANDS if p == "cli.md")
    assert sum(1 for p, c in COMMANDS if p == "README.md" and c.startswith("labctl ")) >= 15


@pytest.mark.parametrize(
    "page,command",
    [(p, c) for p, c in COMMANDS if c.startswith("labctl ") and not _is_synopsis(c)],
    ids=lambda v: v[:70],
)
def test_every_shown_labctl_command_parses(page: str, command: str) -> None:
    argv = shlex.split(re.sub(r"<[^>]+>", "placeholder", command))[1:]
    if argv in (["--help"], ["--version"]):
        return
    args = build_parser(argv[0]).parse_args(argv)  # SystemExit(2): unknown command or flag
    assert callable(args.handler), (page, command)


@pytest.mark.parametrize(
    "page,command",
    [(p, c) for p, c in COMMANDS if c.startswith("labctl ") and _is_synopsis(c)],
    ids=lambda v: v[:70],
)
def test_every_synopsis_names_a_command_and_its_own_flags(page: str, command: str) -> None:
    words = command.split()
    name = words[1]
    parser = build_parser(name)
    options = {o for p in _parsers(parser) for a in p._actions for o in a.option_strings}
    flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", command))
    assert flags <= options, f"{page}: `{command}` shows flags {sorted(flags - options)}"

    # the sub-command words right after the command (`model approve|reject`, `release resolve`)
    def choices(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        return {
            k: v
            for a in p._actions
            if isinstance(a, argparse._SubParsersAction)
            for k, v in a.choices.items()
        }

    subcommands = set(choices(choices(parser)[name]))
    if subcommands and len(words) > 2 and not words[2].startswith(("-", "[", "(")):
        for word in words[2].split("|"):
            assert word in subcommands, f"{page}: `{command}`: no sub-command {word}"


@pytest.mark.parametrize(
    "page,command", [(p, c) for p, c in COMMANDS if c.startswith("make ")], ids=lambda v: v[:70]
)
def test_every_make_target_shown_is_a_rule(page: str, command: str) -> None:
    makefile = (REPO / "Makefile").read_text()
    rules = set(re.findall(r"^([\w-]+):", makefile, re.M))
    assert command.split()[1] in rules, f"{page} runs `{command}`, the Makefile has no such rule"
