"""labctl cost: the idle cost per profile and serving kind, through the real entry point."""

from __future__ import annotations

import json

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
