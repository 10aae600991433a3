"""ops/ and lab/ stand below the CLI and beside the CDK app (issue 23): neither imports labctl,
aws_cdk or constructs, directly or through what it imports, and from infra only the CDK-free
modules that move to core/ (the integrator rewrites those imports with that move's map).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("ops", "lab")
# infra modules that are CDK-free and move to core/ in the same issue (PLAN23.md): the only
# infra ops/ and lab/ may name until then.
CORE_BOUND = {
    "core.config",
    "core.release",
    "core.async_contract",
    "core.shadow_rules",
    "core.pipeline_settings",
}
FORBIDDEN_ROOTS = ("labctl", "aws_cdk", "constructs")


def imported_modules(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def problems(root: Path) -> list[str]:
    bad = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            for line, module in imported_modules(path.read_text()):
                top = module.split(".")[0]
                if top in FORBIDDEN_ROOTS or (top == "infra" and module not in CORE_BOUND):
                    bad.append(f"{rel}:{line} imports {module}")
                if package == "ops" and top == "lab":  # lab builds on ops, not the reverse
                    bad.append(f"{rel}:{line} imports {module}")
    return bad


def test_ops_and_lab_name_no_cli_no_cdk_and_only_core_bound_infra() -> None:
    assert problems(REPO) == []


@pytest.mark.parametrize(
    ("target", "planted"),
    [
        ("ops/deploy_status.py", "from labctl.options import resolve_region\n"),
        ("lab/batch.py", "def f():\n    import aws_cdk\n"),
        ("ops/registry.py", "from infra.monitoring.runtime.drift_runner import _package_of\n"),
        ("ops/invoke.py", "from lab.endpoint import LocalEndpoint\n"),
    ],
)
def test_a_planted_import_is_named(tmp_path: Path, target: str, planted: str) -> None:
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            copy = tmp_path / path.relative_to(REPO)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(path.read_text())
    assert problems(tmp_path) == []
    (tmp_path / target).write_text((tmp_path / target).read_text() + "\n" + planted)
    (bad,) = problems(tmp_path)
    assert bad.startswith(f"{target}:")


def test_importing_every_module_loads_no_cdk_and_no_cli() -> None:
    """Indirectly too: a fresh interpreter imports every ops/ and lab/ module and lists what
    got loaded (an allowed infra module that pulled in aws_cdk would show here)."""
    script = (
        "import importlib, json, pkgutil, sys\n"
        "for name in ('ops', 'lab'):\n"
        "    pkg = importlib.import_module(name)\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, name + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout)
    assert [m for m in loaded if m.split(".")[0] in FORBIDDEN_ROOTS] == []
    infra = {m for m in loaded if m.split(".")[0] == "infra"}
    assert infra <= CORE_BOUND | {"infra", "infra.serving", "infra.training"}, infra
