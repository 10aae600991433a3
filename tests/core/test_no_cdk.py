"""core/ is the platform model without CDK or boto3 (issue 23): lab, ops and the review read it
without pulling in either. Each module is imported in a fresh interpreter, so one that imports
aws_cdk (or boto3, or infra) fails here by name, whatever the other tests imported before."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core"
# Not ours to load from core: CDK (only infra imports it), boto3 (only ops), and our upper layers.
FORBIDDEN = ("aws_cdk", "constructs", "jsii", "boto3", "botocore", "infra", "labctl")


def _modules() -> list[str]:
    """Every module under core/, from the files (not from core's own imports)."""
    found = []
    for path in sorted(CORE.rglob("*.py")):
        parts = path.relative_to(CORE.parent).with_suffix("").parts
        found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def test_the_modules_are_found() -> None:
    found = _modules()
    for name in ("core.config", "core.accounts", "core.release", "core.cost"):
        assert name in found


@pytest.mark.parametrize("module", _modules())
def test_core_module_imports_neither_cdk_nor_boto3(module: str) -> None:
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        f"print(json.dumps(sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == [], f"importing {module} loads {', '.join(loaded)}"


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement in ``path`` names, lazy (in a function) ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_no_core_module_imports_them_even_lazily() -> None:
    """The subprocess check above sees only what importing loads; an import inside a function
    runs later (a synth, a boto3 call), so every import statement is read too."""
    lazy = [
        f"{path.relative_to(CORE.parent)}:{line} imports {module}"
        for path in sorted(CORE.rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[0] in FORBIDDEN
    ]
    assert lazy == []


def test_the_static_check_names_a_lazy_import(tmp_path: Path) -> None:
    """Planted defect: a function-level ``from infra.platform import ...``."""
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from infra.platform import synth_templates\n")
    assert _imports(planted) == [(2, "infra.platform")]
