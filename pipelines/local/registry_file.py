"""The local model registry file: read it, or change it under a lock with an atomic replace.

Several writers share ``<workdir>/registry/registry.json``: concurrent local pipeline runs
registering versions and ``labctl model approve|reject --local``. Each update holds an
exclusive ``fcntl`` lock on ``registry.json.lock`` while it reads, changes and writes the
registry; the write goes to a temporary file in the same folder that replaces the registry
with ``os.replace``, so a reader without the lock sees the old or the new file, never half.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# Where a work folder keeps its registry; every reader and writer asks location().
RELATIVE_PATH = Path("registry") / "registry.json"


def location(workdir: Path) -> Path:
    """The registry file of a work folder: ``<workdir>/registry/registry.json``."""
    return Path(workdir) / RELATIVE_PATH


class RegistryFileError(ValueError):
    """The registry file exists but is not a registry (bad JSON, wrong shape)."""


def empty() -> dict[str, Any]:
    return {"groups": {}}


def read(path: Path) -> dict[str, Any]:
    """The registry; FileNotFoundError when there is none, RegistryFileError when corrupt."""
    try:
        registry = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise RegistryFileError(f"{path} is not valid JSON ({err}): fix or delete it") from err
    except UnicodeDecodeError as err:
        raise RegistryFileError(f"{path} is not a text file: fix or delete it") from err
    check(registry, path)
    return registry  # type: ignore[no-any-return]


def check(registry: Any, path: Path) -> None:
    groups = registry.get("groups") if isinstance(registry, dict) else None
    if not isinstance(groups, dict) or not all(
        isinstance(g, dict) and isinstance(g.get("versions"), list) for g in groups.values()
    ):
        raise RegistryFileError(
            f'{path} is not a model registry (expected {{"groups": {{NAME: {{"versions": '
            "[...]}}}}): fix or delete it"
        )
    for group in groups.values():
        for version in group["versions"]:
            if not isinstance(version, dict) or not isinstance(version.get("version"), int):
                raise RegistryFileError(
                    f"{path}: a version entry without an integer 'version': fix or delete it"
                )


@contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write(path: Path, registry: dict[str, Any]) -> None:
    """Atomic replace; call it holding ``locked(path)`` when others may write."""
    descriptor, temporary = tempfile.mkstemp(prefix=".registry-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(registry, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def update(path: Path, change: Callable[[dict[str, Any]], T], *, create: bool = True) -> T:
    """Apply ``change`` to the registry under the lock and write the result; returns what
    ``change`` returned. A missing registry starts empty when ``create``, else raises
    FileNotFoundError."""
    with locked(path):
        try:
            registry = read(path)
        except FileNotFoundError:
            if not create:
                raise
            registry = empty()
        outcome = change(registry)
        write(path, registry)
        return outcome
