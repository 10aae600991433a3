"""Per-account budgets with separate accounts: each AWS Budgets budget sees only its own
account's spend, so each account has its own limit (``budget.account_limits_usd``, by role),
summing to at most the copy's ``monthly_limit_usd``; the synth checks each account's idle cost
against that account's limit.

Oracles are written by hand: the limits copied from ``config/multi-account.json``, idle costs
from the vendored prices (us-east-1 ml.m5.large $0.115/h, KMS key $1/month, 730 h/month).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from core.config import AccountLimits, ConfigError, config_from_dict
from core.config.load import CONFIG_DIR
from core.cost import PriceTable, check_account_budgets

TOOLING, STAGING, PRODUCTION = "111111111111", "333333333333", "444444444444"
# config/multi-account.json's budget.account_limits_usd, copied by hand
LIMITS = {"tooling": 200, "staging": 250, "production": 350}
PRICES = PriceTable.load()
M5_LARGE_MONTH = 0.115 * 730  # $83.95


def _profile(**budget: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CONFIG_DIR / "multi-account.json").read_text())
    data["budget"] = {**data["budget"], **budget}
    return data


def _budget_amount(template: dict[str, Any]) -> Any:
    (budget,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Budgets::Budget"]
    return budget["Properties"]["Budget"]["BudgetLimit"]


# -- each account's template ---------------------------------------------------------------


def test_each_accounts_budget_is_the_profiles_limit_for_that_account(multi) -> None:  # type: ignore[no-untyped-def]
    """Tooling's Operations stack and each target stack: one budget, whose amount is that
    account's number in the profile, never the copy's whole 800 three times over."""
    by_stack = {
        "multi-Operations": LIMITS["tooling"],
        "multi-StagingTarget": LIMITS["staging"],
        "multi-ProductionTarget": LIMITS["production"],
    }
    for stack, amount in by_stack.items():
        assert _budget_amount(multi.templates[stack]) == {"Amount": amount, "Unit": "USD"}, stack
    budgets = [s for s, t in multi.templates.items() if "AWS::Budgets::Budget" in json.dumps(t)]
    assert sorted(budgets) == sorted(by_stack)  # one per account, nowhere else
    assert sum(LIMITS.values()) <= 800  # within the profile's ceiling


# -- the synth's check, per account ----------------------------------------------------------


def _hand_templates() -> dict[str, dict[str, Any]]:
    """Tooling: one KMS key ($1); staging: nothing billed; production: one ml.m5.large
    ($83.95)."""
    endpoint = {
        "Type": "AWS::SageMaker::EndpointConfig",
        "Properties": {
            "ProductionVariants": [{"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}]
        },
    }
    return {
        "multi-DataLake": {"Resources": {"K": {"Type": "AWS::KMS::Key"}}},
        "multi-ServingStaging": {"Resources": {}},
        "multi-Serving": {"Resources": {"C": endpoint}},
    }


def test_an_account_over_its_own_limit_fails_naming_it() -> None:
    """Production's limit 80 is below its hand-computed idle cost ($83.95), although the
    copy's total ($84.95) is far below its ceiling (800): the per-account check names the
    production account, its id and its setting, and neither other account."""
    config = config_from_dict(
        _profile(account_limits_usd={"tooling": 200, "staging": 250, "production": 80})
    )
    with pytest.raises(ConfigError) as err:
        check_account_budgets(config, _hand_templates(), PRICES)
    message = str(err.value)
    assert "the production account 444444444444's budget" in message
    assert "budget.account_limits_usd.production = 80" in message
    assert f"${M5_LARGE_MONTH:.2f}/month" in message and "at least 84" in message
    assert "tooling" not in message and "staging" not in message
    assert "\n" not in message


def test_accounts_within_their_limits_pass() -> None:
    """The same templates with production's limit 84 (> $83.95): nothing to report."""
    config = config_from_dict(
        _profile(account_limits_usd={"tooling": 200, "staging": 250, "production": 84})
    )
    assert check_account_budgets(config, _hand_templates(), PRICES) is None


def test_a_shared_target_account_is_checked_against_the_sum_of_both_limits() -> None:
    """Staging and production in one account: its budget is staging + production (40 + 40 =
    80 < $83.95), named by both settings; with 40 + 44 = 84 it passes."""
    data = _profile(account_limits_usd={"tooling": 200, "staging": 40, "production": 40})
    data["accounts"] = {"tooling": TOOLING, "staging": STAGING, "production": STAGING}
    with pytest.raises(ConfigError) as err:
        check_account_budgets(config_from_dict(data), _hand_templates(), PRICES)
    assert (
        "the staging, production account 333333333333's budget (budget.account_limits_usd."
        "staging + budget.account_limits_usd.production = 80)"
    ) in str(err.value)
    data["budget"]["account_limits_usd"]["production"] = 44
    assert check_account_budgets(config_from_dict(data), _hand_templates(), PRICES) is None


def test_the_synths_budget_check_is_per_account(multi) -> None:  # type: ignore[no-untyped-def]
    """What `labctl synth` and app.py run (``check_deployed_budget``) on the real templates:
    production runs two ml.m5.large (serving.min_instances 2), $167.90 by hand before its
    VPC endpoints, so a production limit of 150 fails naming production, while the copy's
    total stays below its ceiling of 800."""
    from infra.platform import check_deployed_budget

    config = dataclasses.replace(
        multi.config,
        budget=dataclasses.replace(
            multi.config.budget,
            account_limits_usd=AccountLimits(tooling=200, staging=250, production=150),
        ),
    )
    with pytest.raises(ConfigError, match=r"the production account 444444444444's budget"):
        check_deployed_budget(config, multi.templates, serves_release=True)
    assert check_deployed_budget(multi.config, multi.templates, serves_release=True) is None


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (
            {"tooling": 300, "staging": 250, "production": 350},
            r"^budget.account_limits_usd sum to 900 \(tooling 300 \+ staging 250 \+ "
            r"production 350\), above budget.monthly_limit_usd \(800\)",
        ),
        (
            {"tooling": 200, "production": 350},
            r"^budget.account_limits_usd sets no limit for staging: give each of tooling, "
            "staging, production a positive amount",
        ),
        (
            {"tooling": 200, "staging": 0, "production": 350},
            r"^budget.account_limits_usd sets no limit for staging",
        ),
        (
            {"tooling": 200, "staging": -5, "production": 350},
            r"^budget.account_limits_usd.staging must be a positive amount \(USD/month\), got -5",
        ),
        (None, r"^separate accounts need budget.account_limits_usd: .* 3 times it"),
        (
            {"tooling": 200, "targets": 600},
            r"^unknown key\(s\) targets in budget.account_limits_usd",
        ),
        (
            {"tooling": 200, "staging": "250", "production": 350},
            r"^budget.account_limits_usd.staging must be a int",
        ),
    ],
)
def test_bad_account_limits_are_one_line_config_errors(
    limits: dict[str, Any] | None, message: str
) -> None:
    data = _profile(account_limits_usd=limits)
    if limits is None:
        del data["budget"]["account_limits_usd"]
    with pytest.raises(ConfigError, match=message) as err:
        config_from_dict(data)
    assert "\n" not in str(err.value)


def test_account_limits_in_a_single_account_profile_are_refused() -> None:
    """One account has one budget (monthly_limit_usd): per-account limits there would be
    silently ignored, so the profile is refused; without them it is accepted."""
    data = _profile()
    del data["accounts"]
    with pytest.raises(
        ConfigError, match=r"^budget.account_limits_usd needs separate accounts"
    ) as err:
        config_from_dict(data)
    assert "\n" not in str(err.value)
    del data["budget"]["account_limits_usd"]
    assert not config_from_dict(data).multi_account


def test_a_bad_limit_is_one_line_on_stderr_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the CLI: the profile is refused before any synth."""
    from labctl.cli import main

    path = tmp_path / "over.json"
    path.write_text(
        json.dumps(_profile(account_limits_usd={"tooling": 500, "staging": 250, "production": 350}))
    )
    assert main(["cost", "--profile", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "sum to 1100" in err, err
