"""No import circle among core, infra, pipelines and model_code (issue 23): the circles that were
cut (config <-> accounts <-> serving, serving_stack <-> target_stack, the local executor <->
its steps) stay cut. Every import statement counts, lazy and TYPE_CHECKING ones too: a lazy
import is still a dependency, only deferred."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "infra", "pipelines", "model_code")
# Leaving infra for assurance/ in the same issue; its arns <-> assembly circle goes with it.
ELSEWHERE = ("assurance.rehearsal",)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if not name.startswith(ELSEWHERE):
                found[name] = path
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of ``modules`` it imports (``from a import b`` counts as a.b when
    that is a module, else as a)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    target = f"{node.module}.{a.name}"
                    if target in modules:
                        found.add(target)
                    elif node.module in modules:
                        found.add(node.module)
        graph[name] = found - {name}
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle of ``graph``, or []."""
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as err:
        return list(err.args[1])
    return []


def test_no_import_circle() -> None:
    modules = _modules()
    assert "core.config" in modules and "infra.platform" in modules
    assert cycle(import_graph(modules)) == []


def test_the_check_names_a_lazy_circle(tmp_path: Path) -> None:
    """Planted defect: b imports a inside a function, a imports b at the top."""
    (tmp_path / "a.py").write_text("import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from a import x\n")
    found = cycle(import_graph({"a": tmp_path / "a.py", "b": tmp_path / "b.py"}))
    assert set(found) == {"a", "b"}
