"""labctl is the CLI only (issue 23): argparse, rendering, exit codes. The boto3 work lives in
ops/ (against a deployed copy) and lab/ (local emulation), so no labctl module imports boto3
or botocore, at the top or inside a function.

One exception, by design: labctl/cli.py renders botocore's exception types as the CLI's error
contract (no region / no credentials -> exit 2, any other AWS error -> exit 1). It imports
``botocore.exceptions`` only, and only once a command has loaded botocore already.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

AWS_SDK = ("boto3", "botocore")
# (file, module): imports that belong in the CLI. Nothing else of boto3/botocore may appear.
ALLOWED = {("labctl/cli.py", "botocore.exceptions")}
# Files another helper moves out of labctl in the same issue (ops/teardown/residue.py ->
# ops/teardown/residue.py, labctl/teardown.py's plan -> ops/teardown/plan.py). A file listed
# here that exists and no longer imports the SDK, or no longer exists, is a stale entry: the
# test fails until it is taken off this list.


def sdk_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every boto3/botocore import in ``source``, wherever it is, including
    ``importlib.import_module("boto3")`` and ``__import__("botocore...")``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            names = [node.args[0].value]
        for name in names:
            if name.split(".")[0] in AWS_SDK:
                found.append((node.lineno, name))
    return found


def violations(root: Path) -> list[str]:
    """``file:line imports module`` for each SDK import under ``root/labctl`` not allowed."""
    bad = []
    for path in sorted((root / "labctl").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        for line, module in sdk_imports(path.read_text()):
            if (rel, module) not in ALLOWED:
                bad.append(f"{rel}:{line} imports {module}")
    return bad


def test_no_labctl_module_imports_boto3_or_botocore() -> None:
    bad = violations(REPO)
    assert not bad, "labctl is CLI only; move the AWS calls into ops/ (or lab/):\n" + "\n".join(bad)


def test_the_allowed_entries_are_still_needed() -> None:
    """No stale exemption: each allowed import is still there."""
    for rel, module in ALLOWED:
        assert module in {m for _, m in sdk_imports((REPO / rel).read_text())}, (rel, module)


@pytest.mark.parametrize(
    "planted",
    [
        "import boto3\n",
        "from botocore.exceptions import ClientError\n",
        "def f():\n    import boto3.session\n",
        "import importlib\nimportlib.import_module('boto3')\n",
        "x = __import__('botocore.config')\n",
    ],
)
def test_a_planted_import_is_named(tmp_path: Path, planted: str) -> None:
    """The check against a copy of labctl with one SDK import planted in a command module."""
    (tmp_path / "labctl").mkdir()
    for path in (REPO / "labctl").glob("*.py"):
        (tmp_path / "labctl" / path.name).write_text(path.read_text())
    assert violations(tmp_path) == []
    deploy = tmp_path / "labctl" / "deploy.py"
    deploy.write_text(deploy.read_text() + "\n" + planted)
    (bad,) = violations(tmp_path)
    assert bad.startswith("labctl/deploy.py:") and " imports b" in bad


def test_cli_may_import_botocore_exceptions_only() -> None:
    """The one exception is narrow: cli.py importing boto3 itself is still a violation."""
    source = (REPO / "labctl" / "cli.py").read_text() + "\nimport boto3\n"
    found = [(line, m) for line, m in sdk_imports(source) if ("labctl/cli.py", m) not in ALLOWED]
    assert [m for _, m in found] == ["boto3"]
