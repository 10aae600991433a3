"""The dependency rule (docs/architecture.md) and no import circles among our modules.

The rule itself is import-linter's contracts in pyproject.toml (`make lint` runs them too;
docs/architecture.md explains it).
The circle check is ours: grimp's graph counts every import, including those inside functions
and under ``TYPE_CHECKING``, and any strongly connected group of two or more modules fails.
"""

from __future__ import annotations

import os
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
    text = (REPO / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(text[text.index("[tool.importlinter]") :])
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "model_code" / "preprocess.py").write_text("")
    for name in ("evaluate", "drift", "quality", "monitor_baseline", "train_baseline"):
        (tmp_path / "model_code" / f"{name}.py").write_text("")
    for name in ("baseline_inference", "batch_capture", "bias", "data_quality"):
        (tmp_path / "model_code" / f"{name}.py").write_text("")
    (tmp_path / "core" / "planted.py").write_text("import infra\n")
    (tmp_path / "lab" / "planted.py").write_text("def later():\n    import aws_cdk\n")
    (tmp_path / "ops" / "planted.py").write_text("from labctl import cli\n")
    (tmp_path / "labctl" / "cli.py").write_text("")
    run = _linter(tmp_path, tmp_path / "pyproject.toml")
    assert run.returncode != 0, run.stdout
    for chain in ("core.planted -> infra", "lab.planted -> aws_cdk", "ops.planted -> labctl.cli"):
        assert chain in run.stdout, run.stdout
