"""Single-account templates are unchanged by the multi-account work (issue 17).

Oracle: the hashes recorded on the commit before it (``golden.py``); and a profile whose
``accounts`` block names its own account three times synthesizes the same templates as the
profile without the block.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile

import pytest

from core.config import AccountsConfig
from infra.platform import synth_templates
from tests.accounts.golden import GOLDEN, hashes


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_single_account_templates_match_the_recorded_hashes(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    """If another change alters these templates on purpose, it regenerates the file
    (``python -m tests.accounts.golden --write``) and says so in its commit."""
    recorded = json.loads(GOLDEN.read_text())[profile]
    assert hashes(synth(profile).templates) == recorded


def test_an_accounts_block_of_one_account_changes_nothing(synth) -> None:  # type: ignore[no-untyped-def]
    base = synth("lab")
    config = base.platform.config
    same = config.account
    config = dataclasses.replace(
        config, accounts=AccountsConfig(tooling=same, staging=same, production=same)
    )
    assert not config.multi_account
    with tempfile.TemporaryDirectory() as outdir:
        templates = synth_templates(config, outdir)
    assert hashes(templates) == hashes(base.templates)
