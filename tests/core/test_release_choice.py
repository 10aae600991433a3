"""choose_release: the one decision of which release a synth serves (app.py, labctl synth)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.config import load_profile
from core.release import EXAMPLE_RELEASE, choose_release

EXAMPLE_ARN = json.loads(EXAMPLE_RELEASE.read_text())["xgboost"]["package_arn"]


def test_none_leaves_serving_out_even_when_a_release_file_exists(tmp_path: Path) -> None:
    """'none' wins over release/<env>.json: a synth without serving stays possible."""
    config = load_profile("lab")
    (tmp_path / "release").mkdir()
    shutil.copy(EXAMPLE_RELEASE, tmp_path / "release" / f"{config.env_name}.json")
    assert choose_release(config, "none", tmp_path)[0] is None


def test_no_choice_and_no_file_leaves_serving_out_and_says_where_it_looked(
    tmp_path: Path,
) -> None:
    """The first deploy has no release yet: serving is left out, not an error."""
    release, note = choose_release(load_profile("lab"), None, tmp_path)
    assert release is None and str(tmp_path / "release" / "lab.json") in note


def test_example_serves_the_example_packages() -> None:
    """'example' is the offline stand-in the lab and the tests synthesize with."""
    release, _ = choose_release(load_profile("lab"), "example")
    assert release is not None and release.xgboost.package_arn == EXAMPLE_ARN


def test_a_named_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    """A release someone names explicitly must exist: silently serving nothing would deploy
    a copy without its endpoint."""
    with pytest.raises(ValueError, match="no release file"):
        choose_release(load_profile("lab"), tmp_path / "nope.json")


def test_the_environments_file_is_checked_against_its_groups(tmp_path: Path) -> None:
    """release/<env>.json must name the profile's groups (the example's do not)."""
    config = load_profile("lab")
    (tmp_path / "release").mkdir()
    shutil.copy(EXAMPLE_RELEASE, tmp_path / "release" / "lab.json")
    with pytest.raises(ValueError, match="expected 'lab-digits-xgboost'"):
        choose_release(config, None, tmp_path)


def test_every_serving_kind_says_which_release_models_it_hosts() -> None:
    """A kind added to ServingKind (core/config/, the one list) must also say which
    release models it serves, or its first release could not be checked."""
    from core.config import SERVING_KINDS
    from core.release import SERVED_MODELS

    assert set(SERVED_MODELS) == set(SERVING_KINDS)
    assert all(models and models[0] == "xgboost" for models in SERVED_MODELS.values())
