"""Endpoint settings from the lab's local model registry (``<workdir>/registry/registry.json``).

Single-model kinds serve the newest Approved XGBoost version (else the newest); multi-container
serves the XGBoost and baseline groups; multi-model serves every version of every group from
``<workdir>/serving/models/<model>-v<version>.tar.gz``, the TargetModel names
``labctl release publish`` gives the cloud's ``mme/`` prefix (``mme_target_model``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from infra.serving.release import mme_target_model
from labctl.local_endpoint.server import EndpointSettings, EndpointSetupError

XGBOOST_GROUP = "digits-xgboost"
BASELINE_GROUP = "digits-baseline"
CONTAINER_GROUPS = {"xgboost": XGBOOST_GROUP, "baseline": BASELINE_GROUP}


def read_registry(workdir: Path) -> dict[str, Any]:
    path = workdir / "registry" / "registry.json"
    try:
        registry: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise EndpointSetupError(
            f"no local registry at {path}: run `labctl lab --only ingest,train` first"
        ) from err
    except json.JSONDecodeError as err:
        raise EndpointSetupError(f"{path}: not valid JSON ({err})") from err
    return registry


def pick_version(registry: dict[str, Any], group: str) -> dict[str, Any]:
    """The newest Approved version, else the newest: a lab run registers models pending."""
    versions = registry.get("groups", {}).get(group, {}).get("versions", [])
    if not versions:
        raise EndpointSetupError(f"the local registry has no versions of {group}")
    approved = [v for v in versions if v.get("approval_status") == "Approved"]
    chosen: dict[str, Any] = max(approved or versions, key=lambda v: int(v["version"]))
    return chosen


def _artifact(version: dict[str, Any], group: str) -> Path:
    path = Path(version.get("artifact", ""))
    if not path.is_file():
        raise EndpointSetupError(
            f"{group} version {version.get('version')}: artifact {path} is missing"
        )
    return path


def mme_name(group: str, version: int | str) -> str:
    """The TargetModel of a group's version: the same name the cloud release publishes."""
    models = {g: model for model, g in CONTAINER_GROUPS.items()}
    return mme_target_model(models.get(group, group), int(version))


def populate_model_folder(registry: dict[str, Any], folder: Path) -> list[str]:
    """Copy every version of every group into ``folder``; returns the target model names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for group, entry in sorted(registry.get("groups", {}).items()):
        for version in entry.get("versions", []):
            source = _artifact(version, group)
            name = mme_name(group, version["version"])
            target = folder / name
            stat = source.stat()
            # Copy only when changed: registry versions are immutable, reruns stay cheap.
            if not target.exists() or target.stat().st_size != stat.st_size:
                shutil.copy2(source, target)
            names.append(name)
    if not names:
        raise EndpointSetupError("the local registry holds no model versions")
    return names


def settings_from_registry(workdir: Path, kind: str, **overrides: Any) -> EndpointSettings:
    """EndpointSettings for ``kind`` built from the registry in ``workdir``."""
    registry = read_registry(workdir)
    settings = EndpointSettings(kind=kind, **overrides)
    if kind in ("real_time", "serverless"):
        settings.model = _artifact(pick_version(registry, XGBOOST_GROUP), XGBOOST_GROUP)
    elif kind == "multi_container":
        chosen = {host: pick_version(registry, group) for host, group in CONTAINER_GROUPS.items()}
        settings.containers = {
            host: _artifact(chosen[host], CONTAINER_GROUPS[host]) for host in chosen
        }
        # The registered container environment: the baseline's entry point lives there.
        settings.container_env = {
            host: dict(version.get("environment") or {}) for host, version in chosen.items()
        }
    elif kind == "multi_model":
        settings.model_folder = workdir / "serving" / "models"
        populate_model_folder(registry, settings.model_folder)
    else:
        raise EndpointSetupError(f"unknown serving kind {kind!r}")
    return settings
