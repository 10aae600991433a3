"""The lab's local model registry: one work folder, one registry file, the profile's groups.

The file and its lock are pipelines/local/registry_file.py; this class says where it is
(``registry_file.location``) and which groups the lab registers into and serves from: the
profile's base names (``training.model_package_group`` / ``baseline_package_group``, e.g.
digits-xgboost). The cloud's groups carry the environment prefix
(``PlatformConfig.model_package_group``, e.g. lab-digits-xgboost) because several copies may
share an account; a work folder is already one copy's own.

What the local endpoint serves from it (``<workdir>/registry/registry.json``).

Only what was approved is served: single-model kinds serve the newest Approved XGBoost
version, multi-container the newest Approved version of the XGBoost and baseline groups (the
baseline through its registered scikit-learn entry point), multi-model every Approved version
of every group from ``<workdir>/serving/models/<model>-v<version>.tar.gz``, the TargetModel
names ``labctl release publish`` gives the cloud's ``mme/`` prefix (``mme_target_model``).
With ``allow_pending`` a group without an Approved version falls back to its newest
PendingManualApproval one (never Rejected). A bare work folder means the default groups.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from core.config import PlatformConfig, TrainingConfig
from core.release import mme_target_model
from lab.endpoint.server import EndpointSettings, EndpointSetupError
from ops.errors import UsageError
from ops.registry import accuracy_text

if TYPE_CHECKING:
    from pipelines.training_pipeline import PipelineSettings

T = TypeVar("T")
_DEFAULTS = TrainingConfig()


@dataclass(frozen=True)
class LocalRegistry:
    workdir: Path
    xgboost_group: str = _DEFAULTS.model_package_group
    baseline_group: str = _DEFAULTS.baseline_package_group

    @classmethod
    def for_profile(cls, workdir: Path, config: PlatformConfig) -> LocalRegistry:
        """The registry of ``workdir`` with ``config``'s group names."""
        t = config.training
        return cls(Path(workdir), t.model_package_group, t.baseline_package_group)

    @property
    def path(self) -> Path:
        from pipelines.local import registry_file

        return registry_file.location(self.workdir)

    @property
    def container_groups(self) -> dict[str, str]:
        """Multi-container hostname -> the group its model comes from."""
        return {"xgboost": self.xgboost_group, "baseline": self.baseline_group}

    def artifact(self, version: dict[str, Any]) -> Path:
        """Where ``version``'s model.tar.gz is: registered artifacts are relative to the work
        folder (older registries: absolute), so resolve them here, never against the current
        folder a command happens to run from."""
        return (Path(self.workdir) / str(version.get("artifact", ""))).absolute()

    def read(self) -> dict[str, Any]:
        """The registry; FileNotFoundError when there is none, RegistryFileError if corrupt."""
        from pipelines.local import registry_file

        return registry_file.read(self.path)

    def update(self, change: Callable[[dict[str, Any]], T], *, create: bool = True) -> T:
        """``change`` applied under the registry's lock (registry_file.update)."""
        from pipelines.local import registry_file

        return registry_file.update(self.path, change, create=create)

    def pipeline_settings(self, settings: PipelineSettings) -> PipelineSettings:
        """``settings`` registering into this registry's groups (a local run's)."""
        return replace(
            settings, xgboost_group=self.xgboost_group, baseline_group=self.baseline_group
        )


# The default profile's groups (LocalRegistry's defaults), for callers without a profile.
XGBOOST_GROUP = LocalRegistry.xgboost_group
BASELINE_GROUP = LocalRegistry.baseline_group


def local_registry(where: Path | LocalRegistry) -> LocalRegistry:
    """``where`` as a LocalRegistry: a bare work folder has the default group names."""
    return where if isinstance(where, LocalRegistry) else LocalRegistry(Path(where))


def read_registry(where: Path | LocalRegistry) -> dict[str, Any]:
    from pipelines.local import registry_file

    local = local_registry(where)
    workdir, path = local.workdir, local.path
    try:
        registry = local.read()
    except FileNotFoundError as err:
        raise EndpointSetupError(
            f"no local registry at {path}: run `labctl lab --only ingest,train` first"
        ) from err
    except registry_file.RegistryFileError as err:
        raise EndpointSetupError(str(err)) from err
    registry["workdir"] = str(workdir)  # where relative artifact paths start
    return registry


def servable(version: dict[str, Any], allow_pending: bool = False) -> bool:
    status = version.get("approval_status")
    return status == "Approved" or (allow_pending and status == "PendingManualApproval")


def pick_version(
    registry: dict[str, Any], group: str, allow_pending: bool = False
) -> dict[str, Any]:
    """The newest Approved version; with ``allow_pending`` else the newest pending one."""
    versions = registry.get("groups", {}).get(group, {}).get("versions", [])
    if not versions:
        raise EndpointSetupError(f"the local registry has no versions of {group}")
    newest = lambda vs: max(vs, key=lambda v: int(v["version"]))  # noqa: E731
    approved = [v for v in versions if servable(v)]
    if approved:
        return dict(newest(approved))
    pending = [v for v in versions if servable(v, allow_pending=True)]
    if allow_pending and pending:
        return dict(newest(pending))
    counts = ", ".join(f"v{v['version']} {v.get('approval_status')}" for v in versions[-5:])
    raise EndpointSetupError(
        f"no Approved version of {group} to serve ({counts}): approve one with "
        f"`labctl model approve --local --group {group} --version N`, or pass "
        "--allow-pending to serve the newest pending version"
    )


def _artifact(version: dict[str, Any], group: str, workdir: Path | None = None) -> Path:
    path = LocalRegistry(workdir or Path(".")).artifact(version)
    if not version.get("artifact") or not path.is_file():
        raise EndpointSetupError(
            f"{group} version {version.get('version')}: artifact {path} is missing"
        )
    return path


def mme_name(group: str, version: int | str, groups: LocalRegistry | None = None) -> str:
    """The TargetModel of a group's version: the same name the cloud release publishes."""
    models = {g: model for model, g in local_registry(groups or Path(".")).container_groups.items()}
    return mme_target_model(models.get(group, group), int(version))


def populate_model_folder(
    registry: dict[str, Any],
    folder: Path,
    allow_pending: bool = False,
    groups: LocalRegistry | None = None,
) -> list[str]:
    """Copy every servable version of every group into ``folder``; returns the model names.

    A name whose version is no longer servable (rejected since) is removed from the folder.
    """
    folder.mkdir(parents=True, exist_ok=True)
    workdir = Path(registry.get("workdir", "."))
    names = []
    for group, entry in sorted(registry.get("groups", {}).items()):
        for version in entry.get("versions", []):
            if not servable(version, allow_pending):
                (folder / mme_name(group, version["version"], groups)).unlink(missing_ok=True)
                continue
            source = _artifact(version, group, workdir)
            name = mme_name(group, version["version"], groups)
            target = folder / name
            stat = source.stat()
            # Copy only when changed: registry versions are immutable, reruns stay cheap.
            if not target.exists() or target.stat().st_size != stat.st_size:
                shutil.copy2(source, target)
            names.append(name)
    if not names:
        raise EndpointSetupError(
            "the local registry holds no Approved model versions: approve one with "
            "`labctl model approve --local --group G --version N`, or pass --allow-pending"
        )
    return names


def served_versions(
    registry: dict[str, Any],
    kind: str,
    allow_pending: bool = False,
    groups: LocalRegistry | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """(group, version entry) of every model ``kind`` serves from this registry."""
    local = local_registry(groups or Path(registry.get("workdir", ".")))
    if kind in ("real_time", "serverless", "async"):
        group = local.xgboost_group
        return [(group, pick_version(registry, group, allow_pending))]
    if kind == "multi_container":
        return [
            (group, pick_version(registry, group, allow_pending))
            for group in local.container_groups.values()
        ]
    if kind == "multi_model":
        return [
            (group, version)
            for group, entry in sorted(registry.get("groups", {}).items())
            for version in entry.get("versions", [])
            if servable(version, allow_pending)
        ]
    raise EndpointSetupError(f"unknown serving kind {kind!r}")


def settings_from_registry(
    where: Path | LocalRegistry, kind: str, allow_pending: bool = False, **overrides: Any
) -> EndpointSettings:
    """EndpointSettings for ``kind`` built from the registry of a work folder (its default
    groups) or of a LocalRegistry (its groups)."""
    local = local_registry(where)
    workdir = local.workdir
    registry = read_registry(local)
    settings = EndpointSettings(kind=kind, **overrides)
    if kind in ("real_time", "serverless", "async"):
        version = pick_version(registry, local.xgboost_group, allow_pending)
        settings.model = _artifact(version, local.xgboost_group, workdir)
        if kind == "async" and settings.async_root is None:
            settings.async_root = workdir / "bucket"  # labctl invoke --async --local-url
    elif kind == "multi_container":
        hosts = local.container_groups
        chosen = {
            host: pick_version(registry, group, allow_pending) for host, group in hosts.items()
        }
        settings.containers = {
            host: _artifact(chosen[host], hosts[host], workdir) for host in chosen
        }
        # The registered container environment: the baseline's entry point lives there.
        settings.container_env = {
            host: dict(version.get("environment") or {}) for host, version in chosen.items()
        }
    elif kind == "multi_model":
        settings.model_folder = workdir / "serving" / "models"
        populate_model_folder(registry, settings.model_folder, allow_pending, local)
    else:
        raise EndpointSetupError(f"unknown serving kind {kind!r}")
    return settings


def local_registry_path(workdir: Path) -> Path:
    from lab.registry import LocalRegistry

    return LocalRegistry(workdir).path


def read_local(workdir: Path) -> dict[str, Any]:
    from pipelines.local import registry_file

    path = local_registry_path(workdir)
    try:
        return registry_file.read(path)
    except FileNotFoundError as err:
        raise UsageError(f"no local registry at {path}: run `labctl pipeline run --local`") from err
    except registry_file.RegistryFileError as err:
        raise UsageError(str(err)) from err


def record_status(version: dict[str, Any], status: str, description: str | None, by: str) -> None:
    """Set a registry entry's ModelApprovalStatus and append the change to its
    ``approval_history`` (oldest first), which the model card shows (core/model_card.py)."""
    version["approval_status"] = status
    if description:
        version["approval_description"] = description
    version.setdefault("approval_history", []).append(
        {
            "status": status,
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "description": description or "",
            "by": by,
        }
    )


def set_local_status(
    workdir: Path, group: str, version: int | None, status: str, description: str | None
) -> dict[str, Any]:
    from pipelines.local import registry_file

    path = local_registry_path(workdir)
    read_local(workdir)  # a missing or corrupt registry is a UsageError, before the lock

    def change(registry: dict[str, Any]) -> dict[str, Any]:
        groups = registry["groups"]
        if group not in groups:
            raise UsageError(f"no group {group!r} in {path}; groups: {', '.join(sorted(groups))}")
        versions = groups[group]["versions"]
        if not versions:
            raise UsageError(f"group {group!r} has no versions")
        chosen = (
            max(versions, key=lambda v: v["version"])
            if version is None
            else next((v for v in versions if v["version"] == version), None)
        )
        if chosen is None:
            raise UsageError(f"group {group!r} has no version {version}")
        record_status(chosen, status, description, "labctl model")
        return dict(chosen)

    try:
        return registry_file.update(path, change, create=False)
    except registry_file.RegistryFileError as err:
        raise UsageError(str(err)) from err


def local_rows(workdir: Path, group: str | None) -> list[tuple[str, int, str, str, str]]:
    """(group, version, status, accuracy, created) of every local version, oldest first."""
    registry = read_local(workdir)
    groups = registry["groups"]
    if group is not None and group not in groups:
        raise UsageError(f"no group {group!r} in the local registry; groups: {', '.join(groups)}")
    return [
        (
            name,
            v["version"],
            str(v.get("approval_status")),
            accuracy_text(v.get("metrics")),
            str(v.get("created", "")),
        )
        for name in sorted(groups)
        if group is None or name == group
        for v in sorted(groups[name]["versions"], key=lambda v: v["version"])
    ]
