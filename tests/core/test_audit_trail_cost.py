"""Issue 26: the audit trail's monthly cost, hand-computed from core/prices.json."""

from __future__ import annotations

import json

import pytest

from core.cost import PRICES_PATH, PriceError, PriceTable, audit_trail_cost
from labctl.cli import main

TRAIL = {"Resources": {"T": {"Type": "AWS::CloudTrail::Trail", "Properties": {}}}}
NONE: dict[str, object] = {"Resources": {}}


def _vendored(region: str, item: str) -> float:
    return float(json.loads(PRICES_PATH.read_text())["regions"][region][item]["usd"])


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_data_events_are_priced_per_100k_plus_the_key(region: str) -> None:
    per_100k = _vendored(region, "cloudtrail_data_events_per_100k")
    key = _vendored(region, "kms_key_month")
    cost = audit_trail_cost({"s": TRAIL}, region, 2_500_000)
    assert cost.deployed
    assert cost.data_events_usd == pytest.approx(25 * per_100k)  # 2.5M / 100k = 25 units
    assert cost.monthly_usd == pytest.approx(25 * per_100k + key)
    assert cost.usd_per_100k.status == "verify" and cost.usd_per_100k.date


def test_management_events_alone_cost_only_the_key() -> None:
    cost = audit_trail_cost({"s": NONE}, "us-east-1", 0)
    assert not cost.deployed
    assert cost.monthly_usd == pytest.approx(_vendored("us-east-1", "kms_key_month"))
    assert "off (audit.trail=false)" in cost.render()


def test_a_region_without_the_price_says_so() -> None:
    table = PriceTable.load()
    bare = PriceTable(table.as_of, table.hours_per_month, {"us-east-1": {"kms_key_month": {}}})
    with pytest.raises(PriceError, match="cloudtrail_data_events_per_100k"):
        audit_trail_cost({"s": TRAIL}, "us-east-1", 1, bare)


def test_labctl_cost_prints_the_trail_of_prod_like(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--profile", "prod-like", "--json"]) == 0
    audit = json.loads(capsys.readouterr().out)["audit_trail"]
    per_100k = _vendored("eu-west-1", "cloudtrail_data_events_per_100k")
    # prod-like assumes the default 1,000,000 data events a month: 10 x the per-100k price
    assert audit["deployed"] is True
    assert audit["assumed_data_events_per_month"] == 1_000_000
    assert audit["monthly_usd"] == pytest.approx(10 * per_100k + 1.0, abs=0.01)
