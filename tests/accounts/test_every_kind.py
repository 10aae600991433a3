"""The three-account layout serves every kind it can, monitored by either engine: each (kind,
engine) pair the profile accepts synthesizes through the gate (every compliance pack), imports
nothing across accounts, and the rehearsal (cross-account flows included) reports 0 findings
(issue 25). Pairs another fixture already synthesizes are read from it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from assurance.rehearsal import rehearse
from core.config import ConfigError, load_profile
from tests.accounts.conftest import (
    PROFILE,
    MultiAccount,
    _run_folder,
    model_monitor_release,
    rehearsal_release,
    synth_multi,
)
from tests.conftest import SERVING_KINDS, serving_variant

ENGINES = ("custom", "model_monitor")
# Pairs the session's other fixtures synthesize (the same profile and kind, engine).
SHARED = {
    ("real_time", "custom"): "multi",
    ("real_time", "model_monitor"): "multi_model_monitor",
}


def _variant(kind: str, engine: str) -> Any:
    config = serving_variant(load_profile(PROFILE), kind)
    monitoring = dataclasses.replace(config.monitoring, engine=engine)
    return dataclasses.replace(config, monitoring=monitoring)  # __post_init__ validates


def _pairs() -> list[tuple[str, str]]:
    found = []
    for kind in SERVING_KINDS:
        for engine in ENGINES:
            try:
                _variant(kind, engine)
            except ConfigError:
                continue
            found.append((kind, engine))
    return found


PAIRS = _pairs()


def test_the_matrix_is_every_pair_the_profile_accepts() -> None:
    """Written out by hand: an isolated network takes no serverless endpoint; Model Monitor
    takes no multi-model endpoint. If validation wrongly refused a pair, it would be missing."""
    assert sorted(PAIRS) == sorted(
        [
            ("real_time", "custom"),
            ("real_time", "model_monitor"),
            ("multi_model", "custom"),
            ("multi_container", "custom"),
            ("multi_container", "model_monitor"),
            ("async", "custom"),
            ("async", "model_monitor"),
        ]
    )


@pytest.fixture(scope="module", params=PAIRS, ids=[f"{k}-{e}" for k, e in PAIRS])
def copy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> MultiAccount:
    kind, engine = request.param
    if (kind, engine) in SHARED:
        shared: MultiAccount = request.getfixturevalue(SHARED[kind, engine])
        assert (shared.config.serving.kind, shared.config.monitoring.engine) == (kind, engine)
        return shared
    config = _variant(kind, engine)
    release = (model_monitor_release if engine == "model_monitor" else rehearsal_release)(config)
    return synth_multi(_run_folder(tmp_path_factory, f"multi-{kind}-{engine}"), config, release)


def test_every_pair_passes_the_gate_and_the_rehearsal(copy: MultiAccount) -> None:
    assert copy.error == "", copy.error  # the gate (and NoReferencesAcrossAccounts) passed
    assert copy.config.multi_account
    report = rehearse(copy.assembly(), lint=False, release=copy.release)
    assert report.findings == [], report.render()
    production = {s for s, a in copy.stack_accounts.items() if a == copy.config.production_account}
    assert copy.config.stack_name("Monitoring") in production  # beside the endpoint
