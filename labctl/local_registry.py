"""The lab's local model registry: one work folder, one registry file, the profile's groups.

The file and its lock are pipelines/local/registry_file.py; this class says where it is
(``registry_file.location``) and which groups the lab registers into and serves from: the
profile's base names (``training.model_package_group`` / ``baseline_package_group``, e.g.
digits-xgboost). The cloud's groups carry the environment prefix
(``PlatformConfig.model_package_group``, e.g. lab-digits-xgboost) because several copies may
share an account; a work folder is already one copy's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from core.config import PlatformConfig, TrainingConfig

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
