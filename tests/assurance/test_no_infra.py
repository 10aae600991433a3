"""assurance/ and ops/ never import infra or aws_cdk (issue 23, PLAN23's dependency rule): they
judge a synthesized assembly and act on a deployed copy, so they must run where CDK is absent.

Two checks, because either alone misses something:
- at run time: every module of ``assurance``, ``ops.teardown`` and ``core.assembly`` imported in
  a fresh interpreter, then ``sys.modules`` is read (catches what an import drags in indirectly);
- in the source: every ``import``, including the lazy ones inside functions, and every string
  that names a module (``importlib.import_module("infra...")``), which no import runs.

``PENDING_CORE``: CDK-free infra modules another helper moves to core/ in the same issue. One is
allowed only while its core home does not exist; once it does, the old name fails here.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("assurance", "ops.teardown")
MODULES = ("core.assembly",)
FORBIDDEN_ROOTS = ("infra", "aws_cdk", "constructs")

PENDING_CORE = {
    "infra.config": "core.config",
    "infra.accounts": "core.accounts",
    "infra.serving.release": "core.release",
    "infra.serving.async_contract": "core.async_contract",
    "infra.serving.shadow_rules": "core.shadow_rules",
    "infra.cost.idle": "core.cost",
    "infra.training.settings": "core.pipeline_settings",
}


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def allowed(*, packages: bool = True) -> set[str]:
    """The infra modules still allowed (their core home is missing), with their packages
    (``infra``, ``infra.serving``: loaded by importing a module inside them) unless not asked."""
    found = set()
    for old, new in PENDING_CORE.items():
        if not _exists(new):
            parts = old.split(".")
            found |= {
                ".".join(parts[: i + 1])
                for i in range(0 if packages else len(parts) - 1, len(parts))
            }
    return found


def _forbidden(module: str, ok: set[str], roots: tuple[str, ...] = FORBIDDEN_ROOTS) -> bool:
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
    ok = allowed()
    bad = [m for m in seen["modules"] if _forbidden(m, ok)]
    assert bad == [], f"importing assurance/ops loaded {bad}"


_MODULE_STRING = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")  # dotted: not a bare word like "lab"


def offenders(root: Path, ok: set[str], roots: tuple[str, ...] = FORBIDDEN_ROOTS) -> list[str]:
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
                # ``from infra.config import X``: allowed when infra.config is;
                # ``from infra.serving import release``: when infra.serving.release is
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
    ok = allowed(packages=False)
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
    (pkg / "clean.py").write_text("from infra.config import load_profile\nimport json\n")
    (pkg / "lazy.py").write_text(
        "def synth():\n    from infra.platform import synth_templates\n    return synth_templates\n"
    )
    (pkg / "by_name.py").write_text('ESTIMATOR = ("infra.stacks.serving_stack", "ServingStack")\n')
    (pkg / "cdk.py").write_text("import aws_cdk as cdk\n")
    (pkg / "parent.py").write_text("from infra.serving import release, construct\n")
    (pkg / "fine.py").write_text("from infra.serving import release\n")
    ok = {"infra.config", "infra.serving.release"}
    assert offenders(pkg, ok) == [
        "pkg/by_name.py:1 infra.stacks.serving_stack",
        "pkg/cdk.py:1 aws_cdk",
        "pkg/lazy.py:2 infra.platform",
        "pkg/parent.py:1 infra.serving",
    ]


def test_a_pending_module_is_forbidden_once_its_core_home_exists(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """After the core move, the old name is no longer an excuse (find_spec answers for it)."""
    monkeypatch.setitem(PENDING_CORE, "infra.config", "json")  # a module that exists
    assert "infra.config" not in allowed()
    assert "infra.accounts" in allowed() or _exists("core.accounts")
