"""The ``accounts`` block: optional, validated, single-account when absent or all equal."""

from __future__ import annotations

import json

import pytest

from core import accounts
from core.config import ConfigError, config_from_dict
from core.config.load import CONFIG_DIR

TOOLING, STAGING, PRODUCTION = "111111111111", "333333333333", "444444444444"


def _profile(**changes: object) -> dict[str, object]:
    data = json.loads((CONFIG_DIR / "multi-account.json").read_text())
    data.update(changes)
    return data


def _accounts(**block: str) -> dict[str, object]:
    return _profile(accounts=block)


def test_the_example_profile_places_three_accounts() -> None:
    config = config_from_dict(_profile())
    assert config.multi_account
    assert (config.tooling_account, config.staging_account, config.production_account) == (
        TOOLING,
        STAGING,
        PRODUCTION,
    )
    assert accounts.target_accounts(config) == (STAGING, PRODUCTION)


def test_no_accounts_block_is_single_account() -> None:
    data = _profile()
    del data["accounts"]
    del data["budget"]["account_limits_usd"]  # per-account budgets need separate accounts
    config = config_from_dict(data)
    assert not config.multi_account
    assert config.staging_account == config.production_account == config.account
    assert accounts.target_accounts(config) == ()


def test_all_three_equal_is_single_account() -> None:
    data = _accounts(tooling=TOOLING, staging=TOOLING, production=TOOLING)
    del data["budget"]["account_limits_usd"]  # type: ignore[attr-defined,index]
    config = config_from_dict(data)
    assert not config.multi_account
    assert accounts.target_accounts(config) == ()


def test_staging_and_production_in_one_account_collapse_to_one_principal() -> None:
    """The known failure: two targets in one account listed twice in a policy."""
    config = config_from_dict(_accounts(staging=STAGING, production=STAGING))
    assert accounts.target_accounts(config) == (STAGING,)
    for statement in accounts.group_policy(config, "g")["Statement"]:
        assert statement["Principal"] == {"AWS": [f"arn:aws:iam::{STAGING}:root"]}
    assert accounts.target_stack_name(config, STAGING) == "multi-Target"
    # both serving stacks' endpoint roles, one principal
    assert len(accounts.hosting_role_patterns(config)) == 2


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"staging": "12345"}, r"accounts.staging '12345' must be a 12-digit AWS account id"),
        ({"production": "4444444444445"}, r"accounts.production .* 12-digit"),
        ({"tooling": "abcdefghijkl"}, r"accounts.tooling .* 12-digit"),
        (
            {"tooling": "999999999999", "staging": STAGING, "production": PRODUCTION},
            r"accounts.tooling \(999999999999\) must equal account \(111111111111\)",
        ),
        (
            {"staging": TOOLING, "production": PRODUCTION},
            r"accounts.staging equals the tooling account while the other target does not",
        ),
    ],
)
def test_bad_accounts_are_config_errors(block: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_dict(_accounts(**block))


def test_unknown_key_in_accounts_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown key.*qa.*accounts"):
        config_from_dict(_accounts(qa=STAGING))


def test_the_reaper_across_accounts_is_accepted() -> None:
    """Each target stack runs its own reaper (issue 25), so expiry no longer refuses accounts;
    its own range rule still holds."""
    config = config_from_dict(_profile(expiry={"endpoint_hours": 12}))
    assert config.multi_account and config.expiry.endpoint_hours == 12
    with pytest.raises(ConfigError, match="expiry.endpoint_hours must be 0 \\(never\\) to 720"):
        config_from_dict(_profile(expiry={"endpoint_hours": 721}))


def test_a_three_account_profile_with_custom_monitoring_is_accepted() -> None:
    """Issue 25: the monitoring unit lives in the production account (was refused)."""
    config = config_from_dict(_profile(monitoring={"engine": "custom"}))
    assert config.multi_account and config.monitoring.engine == "custom"
    assert config.monitoring.labels_account == "tooling"  # the raw zone, by default
    assert accounts.stack_accounts(config)["multi-Monitoring"] == PRODUCTION


def test_labels_in_production_need_separate_accounts() -> None:
    both = {"engine": "custom", "labels_account": "production"}
    assert config_from_dict(_profile(monitoring=both)).monitoring.labels_account == "production"
    data = _profile(monitoring=both)
    del data["accounts"]
    with pytest.raises(ConfigError, match="labels_account='production' needs separate accounts"):
        config_from_dict(data)
    with pytest.raises(ConfigError, match="labels_account"):
        config_from_dict(_profile(monitoring={"engine": "custom", "labels_account": "staging"}))


def test_the_group_policy_admits_productions_monitoring_roles_read_only() -> None:
    """The runner in production describes the deployed XGBoost version (its baselines): the
    XGBoost group's policy names production's root narrowed to the monitoring path; the
    baseline group and a profile without monitoring name no monitoring role."""
    config = config_from_dict(_profile(monitoring={"engine": "custom"}))

    def monitoring(group: str, cfg: object = config) -> list[dict[str, object]]:
        policy = accounts.group_policy(cfg, group)  # type: ignore[arg-type]
        return [s for s in policy["Statement"] if s["Sid"].startswith("ProductionMonitoring")]

    (statement,) = monitoring("multi-digits-xgboost")
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{PRODUCTION}:root"}
    assert statement["Condition"] == {
        "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{PRODUCTION}:role/multi-monitoring/*"}
    }
    assert statement["Action"] == ["sagemaker:DescribeModelPackage"]
    assert monitoring("multi-digits-baseline") == []
    unmonitored = config_from_dict(_profile(monitoring={"engine": "none"}))
    assert monitoring("multi-digits-xgboost", unmonitored) == []
    serving = {**_profile()["serving"], "kind": "multi_model"}  # type: ignore[dict-item]
    mme = config_from_dict(_profile(monitoring={"engine": "custom"}, serving=serving))
    (statement,) = monitoring("multi-digits-xgboost", mme)
    assert statement["Action"] == [
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
    ]
