"""The dependency rule (docs/architecture.md) and no import circles among our modules.

The rule itself is import-linter's contracts in pyproject.toml (`make lint` runs them too;
docs/architecture.md explains it).
The circle check is ours: grimp's graph counts every import, including those inside functions
and under ``TYPE_CHECKING``, and any strongly connected group of two or more modules fails.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("model_code", "pipelines", "core", "infra", "assurance", "ops", "lab", "labctl")


def circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of 2+ modules (Tarjan), each sorted, the list sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:  # iterative, so deep graphs do not hit the recursion limit
        nonlocal counter
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return sorted(found)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_no_import_circle_among_our_modules(graph: grimp.ImportGraph) -> None:
    assert circles(graph) == []


def test_the_circle_finder_names_a_planted_circle() -> None:
    planted = grimp.ImportGraph()
    for importer, imported in [("a.x", "a.y"), ("a.y", "a.z"), ("a.z", "a.x"), ("a.z", "a.w")]:
        planted.add_import(importer=importer, imported=imported)
    planted.add_import(importer="a.p", imported="a.p2")
    planted.add_import(importer="a.p2", imported="a.p")
    assert circles(planted) == [["a.p", "a.p2"], ["a.x", "a.y", "a.z"]]


def _linter(cwd: Path, config: Path) -> subprocess.CompletedProcess[str]:
    linter = Path(sys.executable).parent / "lint-imports"
    return subprocess.run(
        [str(linter), str(config), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(cwd)},
    )


def test_the_import_contracts_hold() -> None:
    run = _linter(REPO, REPO / "pyproject.toml")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_the_contracts_name_a_planted_breach(tmp_path: Path) -> None:
    """The same contracts over a tree of empty packages where core imports infra, lab imports
    aws_cdk and ops imports labctl: lint-imports fails and names each import."""
    import tomllib

    text = (REPO / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(text[text.index("[tool.importlinter]") :])
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    # the job scripts a contract names must exist for lint-imports to accept the contract
    contracts = tomllib.loads(text)["tool"]["importlinter"]["contracts"]
    for contract in contracts:
        for module in contract.get("forbidden_modules", []):
            if module.startswith("model_code."):
                (tmp_path / "model_code" / f"{module.split('.')[1]}.py").write_text("")
    (tmp_path / "core" / "planted.py").write_text("import infra\n")
    (tmp_path / "lab" / "planted.py").write_text("def later():\n    import aws_cdk\n")
    (tmp_path / "ops" / "planted.py").write_text("from labctl import cli\n")
    (tmp_path / "labctl" / "cli.py").write_text("")
    run = _linter(tmp_path, tmp_path / "pyproject.toml")
    assert run.returncode != 0, run.stdout
    for chain in ("core.planted -> infra", "lab.planted -> aws_cdk", "ops.planted -> labctl.cli"):
        assert chain in run.stdout, run.stdout


# What each CDK-free layer must not load when every one of its modules is imported in a fresh
# interpreter: the contracts read import statements; this sees what importing really drags in
# (a third-party package that imports boto3, a module that imports infra by name at run time).
CDK = ("aws_cdk", "constructs", "jsii", "cdk_nag", "infra")
LOADS_NOTHING_OF = {
    "core": (*CDK, "boto3", "botocore", "labctl", "assurance", "ops", "lab"),
    "assurance": (*CDK, "labctl", "ops", "lab"),
    "ops": (*CDK, "labctl", "lab", "assurance"),
    "lab": (*CDK, "labctl", "assurance"),
}
_IMPORT_EVERY_MODULE = """
import importlib, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
names = [m.name for m in pkgutil.walk_packages(package.__path__, sys.argv[1] + ".")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""


def loaded_by(package: str, cwd: Path = REPO) -> tuple[list[str], list[str]]:
    """(the modules of ``package`` imported, every module then in ``sys.modules``)."""
    run = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERY_MODULE, package],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(cwd)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    return seen["imported"], seen["loaded"]


@pytest.mark.parametrize("package", sorted(LOADS_NOTHING_OF))
def test_importing_a_layer_loads_nothing_above_it_and_no_cdk(package: str) -> None:
    imported, loaded = loaded_by(package)
    assert len(imported) >= 3, imported  # the walk found the package's modules
    bad = [m for m in loaded if m.split(".")[0] in LOADS_NOTHING_OF[package]]
    assert bad == [], f"importing every {package} module loads {bad}"


def test_the_run_time_check_sees_an_indirect_load(tmp_path: Path) -> None:
    """Planted: a module whose import pulls in a forbidden one through a third module."""
    (tmp_path / "planted").mkdir()
    (tmp_path / "planted" / "__init__.py").write_text("")
    (tmp_path / "planted" / "a.py").write_text("import planted_helper\n")
    (tmp_path / "planted" / "b.py").write_text("")
    (tmp_path / "planted" / "c.py").write_text("")
    (tmp_path / "planted_helper.py").write_text("import email.mime.text\n")
    imported, loaded = loaded_by("planted", tmp_path)
    assert sorted(imported) == ["planted.a", "planted.b", "planted.c"]
    assert "email.mime.text" in loaded


# A module named in a string (``importlib.import_module("infra...")``, a monkeypatch target)
# is an import no import statement shows.
_MODULE_STRING = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")


def module_strings(root: Path, forbidden: tuple[str, ...]) -> list[str]:
    """``file:line name`` for each string under ``root`` that names a ``forbidden`` module."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _MODULE_STRING.match(node.value)
                and node.value.split(".")[0] in forbidden
            ):
                found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.value}")
    return found


@pytest.mark.parametrize("package", sorted(LOADS_NOTHING_OF))
def test_no_layer_names_a_forbidden_module_in_a_string(package: str) -> None:
    assert module_strings(REPO / package, LOADS_NOTHING_OF[package]) == []


def test_the_string_check_names_a_planted_module_name(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "estimator.py").write_text(
        'ESTIMATOR = ("infra.cost.idle", "idle_cost")\nWORD = "infra"\nOK = "core.cost"\n'
    )
    assert module_strings(tmp_path / "pkg", CDK) == ["pkg/estimator.py:1 infra.cost.idle"]
