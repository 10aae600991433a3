"""Idle cost from the synthesized templates, and the budget check at synth.

Expected figures are computed by hand from the vendored prices (us-east-1 ml.m5.large
$0.115/h, eu-west-1 $0.128/h, 730 h/month), not by the estimator.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from core.config import ConfigError, load_profile
from core.cost import PriceTable, check_budget, idle_cost

PRICES = PriceTable.load()


def _templates(synth: object, profile: str) -> dict[str, dict]:
    return synth(profile).templates  # type: ignore[operator,attr-defined,no-any-return]


def test_lab_idle_cost_counts_both_endpoints_stream_keys_and_alarms(synth: object) -> None:
    """Lab: staging + production endpoint, one ml.m5.large each, around the clock."""
    cost = idle_cost(_templates(synth, "lab"), "us-east-1", PRICES).by_kind()
    assert cost["endpoint instances"] == pytest.approx(2 * 0.115 * 730)  # 167.90
    assert cost["streams"] == pytest.approx(0.04 * 730)  # one on-demand stream
    assert cost["interface endpoints"] == 0  # lab network mode has no VPC
    # 5 + the monitoring unit's Lambda log key (<env>-Monitoring; it was in <env>-Serving
    # before, so this figure already was 6 on the integration branch)
    assert cost["KMS keys"] == pytest.approx(6.0)


def test_prod_like_idle_cost_uses_autoscaling_minimum_shards_and_endpoint_azs(
    synth: object,
) -> None:
    """prod-like: staging 1 + production 2 (min_instances) instances; 2 shards; 8 interface
    endpoints in 2 AZs (the S3 gateway endpoint is free)."""
    cost = idle_cost(_templates(synth, "prod-like"), "eu-west-1", PRICES).by_kind()
    assert cost["endpoint instances"] == pytest.approx(3 * 0.128 * 730)
    assert cost["streams"] == pytest.approx(2 * 0.017 * 730)
    assert cost["interface endpoints"] == pytest.approx(8 * 2 * 0.011 * 730)


def _endpoint_template(variant: dict, min_capacity: int | None = None) -> dict:
    resources: dict = {
        "Config": {
            "Type": "AWS::SageMaker::EndpointConfig",
            "Properties": {"ProductionVariants": [{"VariantName": "AllTraffic", **variant}]},
        }
    }
    if min_capacity is not None:
        resources["Target"] = {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Properties": {
                "ServiceNamespace": "sagemaker",
                "ResourceId": "endpoint/x/variant/AllTraffic",
                "MinCapacity": min_capacity,
                "MaxCapacity": 10,
            },
        }
    return {"Resources": resources}


def test_idle_instances_are_the_autoscaling_minimum_not_the_initial_count() -> None:
    template = _endpoint_template(
        {"InstanceType": "ml.m5.large", "InitialInstanceCount": 4}, min_capacity=1
    )
    cost = idle_cost({"s": template}, "us-east-1", PRICES)
    assert cost.monthly_usd == pytest.approx(1 * 0.115 * 730)
    without_scaling = _endpoint_template({"InstanceType": "ml.m5.large", "InitialInstanceCount": 4})
    assert idle_cost({"s": without_scaling}, "us-east-1", PRICES).monthly_usd == pytest.approx(
        4 * 0.115 * 730
    )


def test_serverless_costs_only_its_provisioned_concurrency() -> None:
    on_demand = _endpoint_template(
        {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}
    )
    assert idle_cost({"s": on_demand}, "us-east-1", PRICES).monthly_usd == 0
    provisioned = _endpoint_template(
        {
            "ServerlessConfig": {
                "MemorySizeInMB": 2048,
                "MaxConcurrency": 5,
                "ProvisionedConcurrency": 3,
            }
        }
    )
    # 3 x 2 GB x $0.0000048/GB-s x 3600 s x 730 h
    assert idle_cost({"s": provisioned}, "us-east-1", PRICES).monthly_usd == pytest.approx(
        3 * 2 * 0.0000048 * 3600 * 730
    )


def test_unknown_instance_type_is_an_error_not_a_zero() -> None:
    template = _endpoint_template({"InstanceType": "ml.p5.48xlarge", "InitialInstanceCount": 1})
    with pytest.raises(ValueError, match=r"sagemaker_instance_hour\[ml.p5.48xlarge\]"):
        idle_cost({"s": template}, "us-east-1", PRICES)


def test_every_price_names_its_source_and_date() -> None:
    for region, table in PRICES.regions.items():
        for item, entry in table.items():
            entries = entry.values() if "usd" not in entry else [entry]
            for e in entries:
                assert e["source"] and date.fromisoformat(e["date"]), (region, item)
                assert e["usd"] > 0


def test_price_table_warns_after_90_days() -> None:
    assert PRICES.staleness_warning(PRICES.as_of + timedelta(days=90)) is None
    warning = PRICES.staleness_warning(PRICES.as_of + timedelta(days=91))
    assert warning is not None and "91 days old" in warning


def test_budget_below_idle_cost_fails_with_what_to_change(synth: object) -> None:
    with pytest.raises(
        ConfigError, match=r"budget.monthly_limit_usd \(100\) is below .* at least 206"
    ):
        check_budget(100, _templates(synth, "lab"), "us-east-1", PRICES)


def test_profile_budgets_cover_their_idle_cost(synth: object) -> None:
    for profile in ("lab", "prod-like"):
        config = load_profile(profile)
        assert (
            check_budget(config.budget.monthly_limit_usd, _templates(synth, profile), config.region)
            is None
        )


def test_region_without_prices_warns_instead_of_passing_silently(synth: object) -> None:
    config = dataclasses.replace(load_profile("lab"))
    warning = check_budget(config.budget.monthly_limit_usd, _templates(synth, "lab"), "ap-south-2")
    assert warning is not None and "no prices for region ap-south-2" in warning


def test_async_scaled_to_zero_idles_at_the_cost_of_what_remains(synth: object) -> None:
    """lab/async against lab/real_time, by hand: no idle instance in either serving stack
    (minimum capacity 0), and per stack two more alarms (InvocationFailures, backlog age and
    the HasBacklogWithoutCapacity step alarm replace InvocationModelErrors) at $0.10/month."""
    real_time = idle_cost(_templates(synth, "lab"), "us-east-1", PRICES)
    variant = synth.variant("lab", "async").templates  # type: ignore[attr-defined]
    asynchronous = idle_cost(variant, "us-east-1", PRICES)
    assert asynchronous.by_kind()["endpoint instances"] == 0
    expected = real_time.monthly_usd - 2 * 0.115 * 730 + 2 * 2 * 0.10
    assert asynchronous.monthly_usd == pytest.approx(expected)
    units = {line.unit for line in asynchronous.lines if line.kind == "endpoint instances"}
    assert units == {"ml.m5.large (async, scales to zero)"}


def test_each_account_bills_the_lines_of_its_stacks() -> None:
    """Hand-made templates in three accounts: tooling a key ($1), staging an ml.m5.large
    ($0.115 x 730 = $83.95), production an on-demand stream ($0.04 x 730 = $29.20) and an
    alarm ($0.10); a stack not placed is tooling's; an account with nothing billed still has
    its row. The parts sum to the total."""
    templates = {
        "t-Lake": {"Resources": {"K": {"Type": "AWS::KMS::Key"}}},
        "t-ServingStaging": {
            "Resources": {
                "C": {
                    "Type": "AWS::SageMaker::EndpointConfig",
                    "Properties": {
                        "ProductionVariants": [
                            {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
                        ]
                    },
                }
            }
        },
        "t-Serving": {
            "Resources": {
                "S": {
                    "Type": "AWS::Kinesis::Stream",
                    "Properties": {"StreamModeDetails": {"StreamMode": "ON_DEMAND"}},
                },
                "A": {"Type": "AWS::CloudWatch::Alarm"},
            }
        },
        "t-Empty": {"Resources": {}},
    }
    placed = {"t-ServingStaging": "333333333333", "t-Serving": "444444444444"}
    names = {
        "111111111111": "tooling",
        "333333333333": "staging",
        "444444444444": "production",
        "555555555555": "spare",
    }
    cost = idle_cost(templates, "us-east-1", PRICES)
    parts = cost.by_account(placed, names, "111111111111", templates)
    monthly = {p.name: p.hourly_usd * 730 for p in parts}
    assert monthly == pytest.approx(
        {"tooling": 1.0, "staging": 0.115 * 730, "production": 0.04 * 730 + 0.10, "spare": 0.0}
    )
    assert [p.stacks for p in parts] == [
        ("t-Lake", "t-Empty"),
        ("t-ServingStaging",),
        ("t-Serving",),
        (),
    ]
    assert sum(monthly.values()) == pytest.approx(cost.monthly_usd)
    with pytest.raises(ValueError, match="accounts \\['999999999999'\\]"):
        cost.by_account({"t-Serving": "999999999999"}, names, "111111111111", templates)
