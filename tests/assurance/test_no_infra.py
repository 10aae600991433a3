"""assurance/ and ops/ never import infra or aws_cdk (issue 23, PLAN23's dependency rule): they
judge a synthesized assembly and act on a deployed copy, so they must run where CDK is absent.

Two checks, because either alone misses something:
- at run time: every module of ``assurance``, ``ops.teardown`` and ``core.assembly`` imported in
  a fresh interpreter, then ``sys.modules`` is read (catches what an import drags in indirectly);
- in the source: every ``import``, including the lazy ones inside functions, and every string
  that names a module (``importlib.import_module("infra...")``), which no import runs.

import-linter's contracts (pyproject.toml) hold the same rule over the import graph; this file
adds what they cannot see: a fresh interpreter's ``sys.modules`` and module names in strings.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("assurance", "ops.teardown")
MODULES = ("core.assembly",)
FORBIDDEN_ROOTS = ("infra", "aws_cdk", "constructs")


def _forbidden(
    module: str, ok: set[str] | frozenset[str], roots: tuple[str, ...] = FORBIDDEN_ROOTS
) -> bool:
    return module.split(".")[0] in roots and module not in ok


_IMPORT_ALL = f"""
import importlib, json, pkgutil, sys
names = list({list(MODULES)!r})
for package in {list(PACKAGES)!r}:
    mod = importlib.import_module(package)
    names.append(package)
    names += [m.name for m in pkgutil.walk_packages(mod.__path__, package + ".")]
for name in names:
    importlib.import_module(name)
print(json.dumps({{"imported": names, "modules": sorted(sys.modules)}}))
"""


def test_importing_assurance_and_ops_loads_no_infra_and_no_cdk() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(out.stdout)
    assert "assurance.rehearsal.service_roles" in seen["imported"]  # the walk found the tree
    assert "assurance.review.report" in seen["imported"]
    assert "ops.teardown.plan" in seen["imported"]
    ok: frozenset[str] = frozenset()
    bad = [m for m in seen["modules"] if _forbidden(m, ok)]
    assert bad == [], f"importing assurance/ops loaded {bad}"


_MODULE_STRING = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")  # dotted: not a bare word like "lab"


def offenders(
    root: Path, ok: Collection[str], roots: tuple[str, ...] = FORBIDDEN_ROOTS
) -> list[str]:
    """``file:line module`` for every import of, or module-name string naming, a forbidden
    module in the Python files under ``root`` (a folder or one file)."""
    found = []
    for path in sorted(root.rglob("*.py") if root.is_dir() else [root]):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # ``from core.config import X``: allowed when core.config is;
                # ``from infra.serving import release``: when core.release is
                module = node.module
                if _forbidden(module, ok, roots):
                    names = [
                        f"{module}.{a.name}"
                        for a in node.names
                        if _forbidden(f"{module}.{a.name}", ok, roots)
                    ][:1] and [module]
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _MODULE_STRING.match(node.value)
            ):
                names = [node.value]
            for name in names:
                if _forbidden(name, ok, roots):
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno} {name}")
                    break
    return found


def test_no_source_line_of_assurance_or_ops_names_infra_or_cdk() -> None:
    """Nor the layers above them: assurance judges an assembly with core alone (the review's
    run-time lines from the teardown are handed over by ``labctl review``), and neither
    imports the CLI or the lab."""
    ok: frozenset[str] = frozenset()
    above = ("labctl", "lab")
    checks = [
        (REPO / "assurance", (*FORBIDDEN_ROOTS, "ops", *above)),
        (REPO / "ops" / "teardown", (*FORBIDDEN_ROOTS, "assurance", *above)),
        (REPO / "core" / "assembly.py", (*FORBIDDEN_ROOTS, "ops", "assurance", *above)),
    ]
    bad = [line for root, roots in checks for line in offenders(root, ok, roots)]
    assert bad == []


def test_the_source_check_names_a_planted_lazy_import_and_a_module_string(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "clean.py").write_text("from core.config import load_profile\nimport json\n")
    (pkg / "lazy.py").write_text(
        "def synth():\n    from infra.platform import synth_templates\n    return synth_templates\n"
    )
    (pkg / "by_name.py").write_text('ESTIMATOR = ("infra.stacks.serving_stack", "ServingStack")\n')
    (pkg / "cdk.py").write_text("import aws_cdk as cdk\n")
    (pkg / "parent.py").write_text("from infra.serving import release, construct\n")
    (pkg / "fine.py").write_text("from infra.serving import release\n")
    ok = {"infra.serving.release"}  # an allowance names one module, not its package
    assert offenders(pkg, ok) == [
        "pkg/by_name.py:1 infra.stacks.serving_stack",
        "pkg/cdk.py:1 aws_cdk",
        "pkg/lazy.py:2 infra.platform",
        "pkg/parent.py:1 infra.serving",
    ]
