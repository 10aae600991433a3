"""LocalRegistry: one home for the lab registry's path and its group names (the profile's)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from core.config import load_profile
from core.pipeline_settings import pipeline_settings
from lab.endpoint.server import EndpointSetupError
from lab.registry import LocalRegistry, served_versions


def _renamed():
    config = load_profile("lab")
    training = replace(
        config.training, model_package_group="mnist-xgb", baseline_package_group="mnist-base"
    )
    return replace(config, training=training)


def test_groups_are_the_profiles_base_names_and_the_path_is_the_documented_one(
    tmp_path: Path,
) -> None:
    """A profile that renames its groups renames the lab's (no env prefix: one work folder
    is one copy), and the file is <workdir>/registry/registry.json as the README says."""
    local = LocalRegistry.for_profile(tmp_path, _renamed())
    assert (local.xgboost_group, local.baseline_group) == ("mnist-xgb", "mnist-base")
    assert local.path == tmp_path / "registry" / "registry.json"
    assert LocalRegistry(tmp_path).xgboost_group == "digits-xgboost"  # the lab profile's


def test_a_local_run_registers_into_the_registrys_groups(tmp_path: Path) -> None:
    """The lab's pipeline settings keep everything of the profile but the group names."""
    config = _renamed()
    cloud = pipeline_settings(config)
    local = LocalRegistry.for_profile(tmp_path, config).pipeline_settings(cloud)
    assert (cloud.xgboost_group, local.xgboost_group) == ("lab-mnist-xgb", "mnist-xgb")
    assert local.baseline_group == "mnist-base"
    assert replace(local, xgboost_group="x", baseline_group="y") == replace(
        cloud, xgboost_group="x", baseline_group="y"
    )


def test_serving_reads_the_groups_it_is_given(tmp_path: Path) -> None:
    """The endpoint picks versions from the registry's own groups, not fixed names."""
    version = {"version": 1, "approval_status": "Approved", "artifact": "m.tar.gz"}
    registry = {"groups": {"mnist-xgb": {"versions": [version]}}, "workdir": str(tmp_path)}
    local = LocalRegistry(tmp_path, "mnist-xgb", "mnist-base")
    assert served_versions(registry, "real_time", groups=local) == [("mnist-xgb", version)]
    with pytest.raises(EndpointSetupError, match="no versions of digits-xgboost"):
        served_versions(registry, "real_time")
