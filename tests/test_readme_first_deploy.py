"""README "First deploy": every command in it exists, in the order a fresh machine needs.

Each ``make`` target must be a Makefile rule; each ``labctl`` line must parse with labctl's
own argument parser (placeholders like ``<lab-Ingestion StreamName>`` become a value).
Nothing is run: the commands need a real AWS account.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from labctl.cli import build_parser

REPO = Path(__file__).resolve().parent.parent


def _first_deploy_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## First deploy", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip() and line[0] != "#"]


def _without_comment(line: str) -> str:
    return line.split("  #", 1)[0].strip()


def test_the_section_exists_in_the_order_a_fresh_machine_needs() -> None:
    commands = [_without_comment(c) for c in _first_deploy_commands()]
    order = [
        "make bootstrap",
        "make cdk-bootstrap",
        "make deploy",
        "labctl ingest",
        "labctl pipeline run",
        "labctl release upload",
        "labctl model approve",
        "labctl deploy status",
        "labctl invoke",
        "make destroy",
    ]
    positions = [next(i for i, c in enumerate(commands) if step in c) for step in order]
    assert positions == sorted(positions), list(zip(order, positions, strict=True))


def test_every_make_target_exists_and_cdk_bootstrap_installs_node_modules_first() -> None:
    makefile = (REPO / "Makefile").read_text()
    rules = {m.group(1): m.group(2) for m in re.finditer(r"^([\w-]+):([^\n]*)$", makefile, re.M)}
    targets = [
        shlex.split(_without_comment(c))[1]
        for c in _first_deploy_commands()
        if c.startswith("make ")
    ]
    assert targets
    for target in targets:
        assert target in rules, f"README runs `make {target}`, the Makefile has no such rule"
    # `cdk bootstrap` runs the pinned CLI from node_modules: it must be installed first.
    assert "node_modules/.installed" in rules["cdk-bootstrap"]


@pytest.mark.parametrize(
    "line", [c for c in _first_deploy_commands() if " -m labctl " in c], ids=lambda c: c[:60]
)
def test_every_labctl_command_parses(line: str) -> None:
    command = re.sub(r"<[^>]+>", "placeholder", _without_comment(line))
    argv = shlex.split(command.split(" -m labctl ", 1)[1])
    args = build_parser(argv[0]).parse_args(argv)  # SystemExit(2): unknown command or flag
    assert callable(args.handler)
