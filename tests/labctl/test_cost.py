"""labctl cost: the idle cost per profile and serving kind, through the real entry point."""

from __future__ import annotations

import json
import re

import pytest

from labctl.cli import main


def test_cost_json_for_lab_real_time(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--profile", "lab", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    lab = report["kinds"]["real_time"]
    # Two ml.m5.large endpoints at $0.115/h, an on-demand stream at $0.04/h, 6 keys, 20 alarms
    # (<env>-Monitoring: its log key, the drift and the quality alarm; one per dead-letter
    # queue: the runner's, the retrain bridge's and the reaper's).
    assert lab["monthly_usd"] == pytest.approx(2 * 0.115 * 730 + 0.04 * 730 + 6 + 2.0, abs=0.01)
    assert lab["region"] == "us-east-1" and report["prices_as_of"] == lab["prices_as_of"]


def test_cost_of_a_kind_the_profile_cannot_run_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["cost", "--profile", "prod-like", "--kind", "serverless"]) == 2
    assert "cannot run in a VPC" in capsys.readouterr().err


def test_cost_of_an_unknown_profile_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--profile", "nope"]) == 2
    assert "no profile 'nope'" in capsys.readouterr().err


def test_cost_of_async_has_no_idle_instance(capsys: pytest.CaptureFixture[str]) -> None:
    """lab as an async copy: both endpoints scale to zero; what remains is the stream, the
    keys and 24 alarms (two more per serving stack than real time), by hand."""
    assert main(["cost", "--profile", "lab", "--kind", "async", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["kinds"]["async"]
    assert report["monthly_usd"] == pytest.approx(0.04 * 730 + 6 + 2.4, abs=0.01)


@pytest.mark.parametrize("release", [None, "example"])
def test_budget_advice_prices_what_the_build_deploys(
    release: str | None, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """`labctl synth`'s budget advice is the cost `labctl cost` prints, with or without a
    release in the synth: a synth that leaves serving out once advised $36 for lab, and the
    delivery Build, which serves a release, then failed at $204.80."""
    import re
    from pathlib import Path

    from labctl.synth import synthesize
    from ops.errors import UsageError

    assert main(["cost", "--profile", "lab"]) == 0
    printed = capsys.readouterr().out.splitlines()[0]
    cost = float(re.search(r"\$([\d.]+)/month", printed).group(1))  # type: ignore[union-attr]
    with pytest.raises(UsageError) as err:
        synthesize("lab", Path(str(tmp_path)), {"budget": {"monthly_limit_usd": 10}}, release)
    advice = str(err.value)
    priced = re.search(r"idle cost of this copy \(\$([\d.]+)/month", advice)
    at_least = re.search(r"raise it to at least (\d+)", advice)
    assert priced and at_least, advice
    assert float(priced.group(1)) == cost
    assert int(at_least.group(1)) == int(cost) + 1


# -- each account's part (issue 25) -----------------------------------------------------------


def _prices() -> dict[str, float]:
    """The prices these hand computations use, read from the vendored table itself."""
    from core.cost import PRICES_PATH

    table = json.loads(PRICES_PATH.read_text())["regions"]["us-east-1"]
    return {
        "m5": table["sagemaker_instance_hour"]["ml.m5.large"]["usd"],
        "az": table["vpc_interface_endpoint_az_hour"]["usd"],
        "stream": table["kinesis_on_demand_stream_hour"]["usd"],
        "key": table["kms_key_month"]["usd"],
        "alarm": table["cloudwatch_alarm_month"]["usd"],
    }


def test_cost_prices_each_account_of_the_multi_account_profile(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """config/multi-account.json, by hand from prices.json (730 h/month). Each target account:
    its target stack's isolated network (8 interface endpoints x 2 AZs: infra/network/), three
    keys (the account's, the flow logs', the alert topic's); its serving stack's ml.m5.large
    instances (staging 1, production min_instances 2) and 5 alarms (5XX, model errors, latency,
    and target tracking's two). Tooling: the same network and its flow-log key, the on-demand
    stream, a key in each of Operations, DataLake, Ingestion, Training, Delivery, and the
    ingestion stack's 5 alarms. Monitoring (engine custom, issue 25): in production its log key
    and 3 alarms (drift, quality, the runner's dead letters); in tooling the retrain bridge's
    log key and its dead letters' alarm. The audit trail (issue 26, on in this profile): its
    key in tooling (its data events bill per event, not idle)."""
    p = _prices()
    network = 8 * 2 * p["az"] * 730 + p["key"]
    target = network + 2 * p["key"]
    serving_alarms = 5 * p["alarm"]
    expected = {
        ("tooling", "111111111111"): network
        + p["stream"] * 730
        + (5 + 1 + 1) * p["key"]
        + (5 + 1) * p["alarm"],
        ("staging", "333333333333"): target + 1 * p["m5"] * 730 + serving_alarms,
        ("production", "444444444444"): target
        + 2 * p["m5"] * 730
        + serving_alarms
        + p["key"]
        + 3 * p["alarm"],
    }
    assert main(["cost", "--profile", "multi-account", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["kinds"]["real_time"]
    rows = {(r["name"], r["account"]): r for r in report["accounts"]}
    assert list(rows) == list(expected)  # tooling, staging, production, in that order
    for key, monthly in expected.items():
        assert rows[key]["monthly_usd"] == pytest.approx(monthly, abs=0.01), key
        assert rows[key]["daily_usd"] == pytest.approx(monthly / 730 * 24, abs=0.01), key
    assert sum(r["monthly_usd"] for r in rows.values()) == pytest.approx(
        report["monthly_usd"], abs=0.01 * len(rows)
    )
    assert report["monthly_usd"] == pytest.approx(sum(expected.values()), abs=0.01)
    assert rows[("staging", "333333333333")]["stacks"] == [
        "multi-ServingStaging",
        "multi-StagingTarget",
    ]
    assert rows[("production", "444444444444")]["stacks"] == [
        "multi-Serving",
        "multi-Monitoring",
        "multi-ProductionTarget",
    ]


def test_cost_table_shows_each_account_and_the_total(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--profile", "multi-account"]) == 0
    out = capsys.readouterr().out
    head = out.splitlines()[0]
    total = re.search(r"\$([\d.]+)/month", head).group(1)  # type: ignore[union-attr]
    found = {
        m.group(1): float(m.group(3))
        for m in re.finditer(
            r"^    (tooling|staging|production) (\d{12}) +[\d.]+ +([\d.]+)$", out, re.M
        )
    }
    assert set(found) == {"tooling", "staging", "production"}, out
    (shown,) = re.findall(r"^    total +[\d.]+ +([\d.]+)$", out, re.M)
    assert shown == total
    assert sum(found.values()) == pytest.approx(float(total), abs=0.03)


def test_single_account_cost_is_one_account_part(capsys: pytest.CaptureFixture[str]) -> None:
    """A single-account copy has one part, the profile's account, holding every stack."""
    assert main(["cost", "--profile", "lab", "--kind", "serverless", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["kinds"]["serverless"]
    (part,) = report["accounts"]
    assert (part["name"], part["account"]) == ("tooling, staging, production", "111111111111")
    assert part["monthly_usd"] == report["monthly_usd"]
    assert "lab-Serving" in part["stacks"] and "lab-Ingestion" in part["stacks"]


def test_all_kinds_table_adds_a_row_per_kind_by_account() -> None:
    """`--all-kinds` with separate accounts: after the per-kind table, one row per kind with each
    account's USD/month and the total (hand-made lines: $73 in tooling, $146 in staging,
    nothing in production); a kind the profile cannot run has no account row."""
    from datetime import date

    from core.cost import AccountCost, CostLine, IdleCost
    from labctl.cost import render_kinds

    cost = IdleCost("us-east-1", 730, date(2026, 11, 15))
    cost.lines = [
        CostLine("t-Lake", "K", "KMS keys", 1, "key", 0.1),
        CostLine("t-Serving", "C", "endpoint instances", 1, "ml.m5.large", 0.2),
    ]
    parts = [
        AccountCost("tooling", "111111111111", ("t-Lake",), 0.1),
        AccountCost("staging", "333333333333", ("t-Serving",), 0.2),
        AccountCost("production", "444444444444", (), 0.0),
    ]
    out = render_kinds("p", {"real_time": cost, "async": "no"}, {"real_time": parts})
    by_account = out.split("USD/month by account:\n")[1].splitlines()
    assert by_account[0].split() == [
        "serving",
        "tooling",
        "111111111111",
        "staging",
        "333333333333",
        "production",
        "444444444444",
        "total",
    ]
    assert by_account[1].split() == ["real_time", "73.00", "146.00", "0.00", "219.00"]
    assert len(by_account) == 2
    single = render_kinds("p", {"real_time": cost}, {"real_time": parts[:1]})
    assert "by account" not in single  # one account: nothing to split
