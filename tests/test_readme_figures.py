"""The figures the README and docs/ show are what the commands produce now, not typed once and
left to rot: the `make lab` stage table (docs/cli.md), the idle-cost tables (`labctl cost`:
the README's first screen, one row per profile; docs/operations.md, every kind and item), the
cost figures quoted in docs/serving.md and docs/async-inference.md, and the input columns
`labctl ingest --file` accepts (docs/ingestion.md). (The ML Lens counts of docs/review.md are
checked beside the review's own synth, in tests/assurance/review/test_review.py.)

Timings (`make lab`, benchmarks) are measured, never asserted: docs/benchmarks.md names the
command behind each."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from lab.paths import REPO
from labctl.cli import main

README = (REPO / "README.md").read_text()
DOCS = REPO / "docs"
NUMBERS = {"six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
PROFILES = ["lab", "prod-like", "multi-account"]


def _doc(name: str) -> str:
    return (DOCS / name).read_text()


def _tables_after(text: str, heading: str) -> list[list[dict[str, str]]]:
    """Every Markdown table of ``text`` whose header row starts with ``heading``: its rows as
    {column header: cell}, cells stripped."""

    def cells(line: str) -> list[str]:
        return [c.strip() for c in line.strip().strip("|").split("|")]

    tables = []
    for start in (m.start() for m in re.finditer(re.escape(heading), text)):
        lines = text[start:].splitlines()
        header = cells(lines[0])
        rows = []
        for line in lines[2:]:  # past the header and the |---| line
            if not line.startswith("|"):
                break
            rows.append(dict(zip(header, cells(line), strict=True)))
        assert rows, heading
        tables.append(rows)
    return tables


def test_the_lab_stage_table_lists_the_stages_labctl_lab_runs() -> None:
    from labctl.lab import STAGES

    cli = _doc("cli.md")
    ((table),) = _tables_after(cli, "| stage | what happens")
    assert [row["stage"].strip("`") for row in table] == [s.name for s in STAGES]
    (count,) = re.findall(r"`make lab` runs these (\w+) stages", cli)
    assert NUMBERS[count] == len(STAGES)


@pytest.fixture(scope="module")
def costs() -> dict[str, dict[str, Any]]:
    return {}


def _cost_json(profile, synth, monkeypatch, capsys, costs) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """`labctl cost --profile P --all-kinds --json`, once per profile per module; the templates
    it prices come from the session's synths of the same configuration (asserted), so no
    extra synth per test. multi-account has no compliance-free session synth of its own, so
    its kinds are cached synths without the packs (pricing reads only the templates)."""
    if profile in costs:
        return costs[profile]
    import labctl.cost

    def templates(config, outdir):  # type: ignore[no-untyped-def]
        if profile == "multi-account":
            variant = synth.config_variant(f"{profile}/{config.serving.kind}", config)
        else:
            variant = synth.variant(profile, config.serving.kind)
        assert variant.platform.config == config  # the very configuration labctl cost built
        return variant.templates

    monkeypatch.setattr(labctl.cost, "synthesized_templates", templates)
    assert main(["cost", "--profile", profile, "--all-kinds", "--json"]) == 0
    costs[profile] = json.loads(capsys.readouterr().out)["kinds"]
    return costs[profile]


def _money(value: float) -> str:
    return f"{value:.2f}"


@pytest.mark.parametrize("profile", PROFILES)
def test_the_idle_cost_tables_are_what_labctl_cost_prints(
    synth, monkeypatch, capsys, costs, profile
) -> None:  # type: ignore[no-untyped-def]
    """The README's first-screen row (the profile's own serving kind, as `labctl cost
    --profile P` prices it) and every docs/operations.md row (each kind: USD/day, USD/month and
    USD/month per item) against `labctl cost --profile P --all-kinds --json`."""
    from core.config import load_profile

    kinds = _cost_json(profile, synth, monkeypatch, capsys, costs)
    ((first_screen),) = _tables_after(README, "| profile (region) | serving kind")
    (readme_row,) = [r for r in first_screen if r["profile (region)"].startswith(f"{profile} (")]
    own = load_profile(profile).serving.kind
    assert readme_row["serving kind"] == own
    assert (readme_row["USD/day"], readme_row["USD/month"]) == (
        _money(kinds[own]["daily_usd"]),
        _money(kinds[own]["monthly_usd"]),
    )
    assert readme_row["profile (region)"] == f"{profile} ({kinds[own]['region']})"

    ((table),) = _tables_after(_doc("operations.md"), "| profile (region) | serving kind")
    rows = [r for r in table if r["profile (region)"].split(" (")[0] == profile]
    documented = [k.strip() for r in rows for k in r["serving kind"].split(",")]
    assert sorted(documented) == sorted(kinds), f"docs/operations.md misses kinds of {profile}"
    items = [
        c for c in table[0] if c not in ("profile (region)", "serving kind", "USD/day", "USD/month")
    ]
    for row in rows:
        for kind in (k.strip() for k in row["serving kind"].split(",")):
            got = kinds[kind]
            if row["USD/day"] == "-":  # documented as impossible: labctl cost must agree
                assert "error" in got, kind
                continue
            assert row["profile (region)"] == f"{profile} ({got['region']})"
            assert (row["USD/day"], row["USD/month"]) == (
                _money(got["daily_usd"]),
                _money(got["monthly_usd"]),
            ), (profile, kind)
            assert {i: row[i] for i in items} == {
                i: _money(got["by_kind_monthly_usd"][i]) for i in items
            }, (profile, kind)


def test_the_quoted_costs_are_what_labctl_cost_prints(synth, monkeypatch, capsys, costs) -> None:  # type: ignore[no-untyped-def]
    """docs/async-inference.md's "$A/month for `lab`, against $B real time" and docs/serving.md's
    real-time instance "≈ $P/h ≈ $M/month" (one of lab's two endpoint instances, the price
    table's ml.m5.large hour)."""
    from core.cost import PRICES_PATH

    kinds = _cost_json("lab", synth, monkeypatch, capsys, costs)
    (quoted,) = re.findall(
        r"\$(\d+\.\d\d)/month for `lab`, against \$(\d+\.\d\d) real time",
        _doc("async-inference.md"),
    )
    assert quoted == (
        _money(kinds["async"]["monthly_usd"]),
        _money(kinds["real_time"]["monthly_usd"]),
    )

    (hourly, monthly) = re.findall(
        r"1 × ml\.m5\.large ≈ \$(\d+\.\d+)/h ≈ \$(\d+)/month", _doc("serving.md").replace("\n", " ")
    )[0]
    prices = json.loads(PRICES_PATH.read_text())
    assert (
        float(hourly)
        == prices["regions"]["us-east-1"]["sagemaker_instance_hour"]["ml.m5.large"]["usd"]
    )
    one_instance = kinds["real_time"]["by_kind_monthly_usd"]["endpoint instances"] / 2
    assert int(monthly) == round(one_instance)


def test_the_lab_budget_quoted_is_the_profiles_and_above_its_idle_cost(
    synth, monkeypatch, capsys, costs
) -> None:  # type: ignore[no-untyped-def]
    (budget,) = re.findall(r"The lab budget is (\d+) USD/month", _doc("operations.md"))
    profile = json.loads((REPO / "config" / "lab.json").read_text())
    assert int(budget) == profile["budget"]["monthly_limit_usd"]
    kinds = _cost_json("lab", synth, monkeypatch, capsys, costs)
    assert int(budget) > kinds["real_time"]["monthly_usd"]


def _documented_columns() -> list[str]:
    ((table),) = _tables_after(_doc("ingestion.md"), "| column | meaning | when absent")
    return [row["column"].strip("`") for row in table]


def _documented_feature_count() -> int:
    (count,) = re.findall(r"exactly \*\*(\d+)\*\* numeric feature columns", _doc("ingestion.md"))
    return int(count)


def test_the_documented_ingest_columns_are_the_readers() -> None:
    from model_code.events import N_FEATURES
    from ops.producer.readers import RESERVED_COLUMNS

    assert sorted(_documented_columns()) == sorted(RESERVED_COLUMNS)
    assert _documented_feature_count() == N_FEATURES


def test_a_file_with_the_documented_columns_is_read_and_one_more_pixel_is_refused(
    tmp_path: Path,
) -> None:
    """The documented columns, written by hand: every documented column lands in the event;
    a 65th feature column is refused (the oracle is the docs text, not the reader)."""
    from ops.errors import UsageError
    from ops.producer.readers import file_events

    documented = _documented_columns()
    count = _documented_feature_count()
    values = {
        "event_id": "e-1",
        "event_time": "2026-11-29T01:02:03Z",
        "source": "readme",
        "label": "6",
    }
    pixels = [f"p{i}" for i in range(count)]
    path = tmp_path / "events.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(documented + pixels)
        writer.writerow([values[c] for c in documented] + [str(i % 17) for i in range(count)])
    (event,) = file_events(path)
    assert event == {
        "event_id": "e-1",
        "event_time": "2026-11-29T01:02:03Z",
        "source": "readme",
        "label": 6,
        "features": [float(i % 17) for i in range(count)],
    }
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join([*pixels, "extra"]) + "\n" + ",".join(["1"] * (count + 1)) + "\n")
    with pytest.raises(UsageError, match=f"expected exactly {count} feature columns"):
        file_events(wide)


def test_the_per_account_costs_are_what_labctl_cost_prints(
    synth, monkeypatch, capsys, costs
) -> None:  # type: ignore[no-untyped-def]
    """docs/multi-account.md's table (issue 25): one row per serving kind the three-account
    profile can run, each account's part (its name and id in the header) and the total, against
    `labctl cost --profile multi-account --all-kinds --json`."""
    kinds = _cost_json("multi-account", synth, monkeypatch, capsys, costs)
    ((table),) = _tables_after(_doc("multi-account.md"), "| serving kind | tooling")
    possible = [k for k, v in kinds.items() if "error" not in v]
    assert [row["serving kind"] for row in table] == possible
    for row in table:
        got = kinds[row["serving kind"]]
        expected = {
            f"{a['name']} {a['account']}": _money(a["monthly_usd"]) for a in got["accounts"]
        }
        assert {k: v for k, v in row.items() if k not in ("serving kind", "total")} == expected
        assert row["total"] == _money(got["monthly_usd"])


def test_the_per_account_budgets_quoted_are_the_profiles() -> None:
    """docs/multi-account.md's per-account budget bullet quotes config/multi-account.json's
    budget block (the ceiling and each account's limit) as it is."""
    text = " ".join(_doc("multi-account.md").split())
    (quoted,) = re.findall(r'`"budget": (\{"monthly_limit_usd": .*?\}\})`', text)
    profile = json.loads((REPO / "config" / "multi-account.json").read_text())["budget"]
    assert json.loads(quoted) == {
        k: profile[k] for k in ("monthly_limit_usd", "account_limits_usd")
    }
