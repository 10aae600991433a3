"""The delivery CodeBuild projects as their buildspecs say, for the build-parity checks.

``projects`` reads each ``AWS::CodeBuild::Project``'s BuildSpec from a synthesized template;
``entry_modules`` names the project modules a command runs (``python -m labctl <command>``,
``python -c 'from m import ...'``); ``imported_modules`` follows them through the project's own
code (stdlib ``modulefinder``: every import statement, function-level ones included) and
returns the third-party top-level modules reached; ``unprovided`` says which of those no
distribution in a requirements file's closure installs (DEPLOYABILITY class 5).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import modulefinder
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("model_code", "pipelines", "core", "infra", "assurance", "ops", "lab", "labctl")


@dataclass(frozen=True)
class Project:
    logical_id: str
    install: list[str]
    commands: list[str]
    variables: dict[str, str]


def _text(value: Any) -> str:
    """A BuildSpec string; tokens (Fn::Join with Refs) become a placeholder."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(p if isinstance(p, str) else "TOKEN" for p in parts)
    raise ValueError(f"unexpected BuildSpec value {value!r}")


def projects(template: dict[str, Any]) -> dict[str, Project]:
    """Each CodeBuild project's install commands, build commands and variables, by logical
    id, parsed from the BuildSpec property CloudFormation will hand to CodeBuild."""
    found = {}
    for lid, r in template["Resources"].items():
        if r["Type"] != "AWS::CodeBuild::Project":
            continue
        spec = json.loads(_text(r["Properties"]["Source"]["BuildSpec"]))
        phases = spec["phases"]
        found[lid] = Project(
            lid,
            install=list(phases.get("install", {}).get("commands", [])),
            commands=list(phases.get("build", {}).get("commands", [])),
            variables=dict(spec.get("env", {}).get("variables", {})),
        )
    return found


def entry_modules(command: str) -> set[str]:
    """The project modules a buildspec command runs: ``-m labctl <command>`` is that
    command's module (``labctl.cli.SUMMARIES``) beside ``labctl.__main__``; ``-c`` code's
    ``from m import`` / ``import m`` names m. Other programs (aws, git) are the image's."""
    from labctl.cli import SUMMARIES

    by_command = {name: module for module, (name, _) in SUMMARIES.items()}
    modules: set[str] = set()
    for sub in re.findall(r"-m labctl (\S+)", command):
        modules |= {"labctl.__main__", "labctl.cli", by_command[sub]}
    for code in re.findall(r"python3? -c '([^']*)'", command):
        named = re.findall(r"(?:from|import) ([\w.]+)", code)
        modules |= {m for m in named if m.split(".")[0] in FIRST_PARTY}
    return modules


class _Finder(modulefinder.ModuleFinder):
    """Scans the project's modules only; records the other top-level modules they import
    (and which project module imports each) without loading them."""

    def __init__(self, first_party: tuple[str, ...], path: list[str]) -> None:
        super().__init__(path=[*path, str(REPO), *sys.path])
        self.first_party = first_party
        self.outside: dict[str, set[str]] = defaultdict(set)
        self._caller = ""

    def scan_code(self, co, m):  # type: ignore[no-untyped-def]
        outer, self._caller = self._caller, m.__name__
        try:
            return super().scan_code(co, m)
        finally:
            self._caller = outer

    def find_module(self, name, path, parent=None):  # type: ignore[no-untyped-def]
        if parent is None and path is None and name not in self.first_party:
            if name not in sys.stdlib_module_names and name not in sys.builtin_module_names:
                self.outside[name].add(self._caller)
            raise ImportError(name)
        return super().find_module(name, path, parent)


def imported_modules(
    entries: set[str], *, first_party: tuple[str, ...] = FIRST_PARTY, path: tuple[str, ...] = ()
) -> dict[str, set[str]]:
    """Third-party top-level module -> the project modules that import it, reached from
    ``entries`` through every import statement of the project's code (a superset of what one
    run imports: branches not taken count too, which errs on the safe side)."""
    finder = _Finder(first_party, list(path))
    for entry in sorted(entries):
        finder.import_hook(entry)
    return dict(finder.outside)


def requirement_names(path: Path) -> set[str]:
    """The distributions a requirements file pins (following ``-r``), canonical names."""
    names: set[str] = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r"):
            names |= requirement_names(path.parent / line[2:].strip())
        else:
            names.add(canonicalize_name(Requirement(line).name))
    return names


def closure(path: Path) -> set[str]:
    """The pinned distributions and, from their installed metadata, what they require (the
    environment markers evaluated for this interpreter, with the extras they were asked
    for): what ``pip install -r path`` installs."""
    todo = [(n, frozenset[str]()) for n in requirement_names(path)]
    for line in path.read_text().splitlines():  # extras asked for, e.g. moto[all]
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            r = Requirement(line)
            todo.append((canonicalize_name(r.name), frozenset(r.extras)))
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        names.add(name)
        for spec in md.distribution(name).requires or []:
            r = Requirement(spec)
            if r.marker and not any(r.marker.evaluate({"extra": e}) for e in (*extras, "")):
                continue
            todo.append((canonicalize_name(r.name), frozenset(r.extras)))
    return names


def unprovided(modules: dict[str, set[str]], requirements: Path) -> dict[str, str]:
    """Module -> why: those no distribution in ``requirements``' closure installs."""
    provided = closure(requirements)
    by_module = md.packages_distributions()
    missing = {}
    for module, importers in sorted(modules.items()):
        dists = {canonicalize_name(d) for d in by_module.get(module, [])}
        if not dists & provided:
            where = ", ".join(sorted(dists)) or "no installed distribution"
            missing[module] = f"{module} (from {where}) imported by {', '.join(sorted(importers))}"
    return missing
