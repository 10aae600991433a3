"""labctl cost: the idle cost per profile and serving kind, through the real entry point."""

from __future__ import annotations

import json

import pytest

from labctl.cli import main


def test_cost_json_for_lab_real_time(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--profile", "lab", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    lab = report["kinds"]["real_time"]
    # Two ml.m5.large endpoints at $0.115/h, an on-demand stream at $0.04/h, 6 keys, 17 alarms
    # (<env>-Monitoring: its log key, the drift and the quality alarm).
    assert lab["monthly_usd"] == pytest.approx(2 * 0.115 * 730 + 0.04 * 730 + 6 + 1.7, abs=0.01)
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
    keys and 21 alarms (two more per serving stack than real time), by hand."""
    assert main(["cost", "--profile", "lab", "--kind", "async", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["kinds"]["async"]
    assert report["monthly_usd"] == pytest.approx(0.04 * 730 + 6 + 2.1, abs=0.01)
