"""The README's figures are what the commands produce now, not typed once and left to rot:
the `make lab` stage table, the idle-cost table (`labctl cost --all-kinds`) and the input
columns `labctl ingest --file` accepts. (The ML Lens counts are checked beside the review's
own synth, in tests/labctl/test_review.py.)"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from lab.paths import REPO
from labctl.cli import main

README = (REPO / "README.md").read_text()
NUMBERS = {"six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}


def _table_after(heading: str) -> list[list[str]]:
    """Rows (cells stripped) of the Markdown table whose header row starts with ``heading``."""
    lines = README[README.index(heading) :].splitlines()
    rows = []
    for line in lines[2:]:  # past the header and the |---| line
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    assert rows, heading
    return rows


def test_the_lab_stage_table_lists_the_stages_labctl_lab_runs() -> None:
    from labctl.lab import STAGES

    documented = [row[0].strip("`") for row in _table_after("| stage | what happens")]
    assert documented == [s.name for s in STAGES]
    (count,) = re.findall(r"\(`make lab`, (\w+) stages", README)
    assert NUMBERS[count] == len(STAGES)


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_the_idle_cost_table_is_what_labctl_cost_prints(
    synth, monkeypatch, capsys, profile
) -> None:  # type: ignore[no-untyped-def]
    """Each README cost row (its kinds, USD/day, USD/month) against `labctl cost --profile P
    --all-kinds --json`; the templates it prices come from the session's synths of the same
    configuration (asserted), so no extra synth per test."""
    import labctl.cost

    def templates(config, outdir):  # type: ignore[no-untyped-def]
        variant = synth.variant(profile, config.serving.kind)
        assert variant.platform.config == config  # the very configuration labctl cost built
        return variant.templates

    monkeypatch.setattr(labctl.cost, "synthesized_templates", templates)
    assert main(["cost", "--profile", profile, "--all-kinds", "--json"]) == 0
    kinds = json.loads(capsys.readouterr().out)["kinds"]
    rows = [
        r for r in _table_after("| profile (region) | serving kind") if r[0].startswith(profile)
    ]
    assert rows, f"README has no cost row for {profile}"
    for row in rows:
        for kind in (k.strip() for k in row[1].split(",")):
            if row[2] == "-":  # documented as impossible: labctl cost must agree
                assert "error" in kinds[kind], kind
                continue
            got = kinds[kind]
            assert (f"{got['daily_usd']:.2f}", f"{got['monthly_usd']:.2f}") == (
                row[2],
                row[3],
            ), (profile, kind)


def _documented_columns() -> list[str]:
    return [row[0].strip("`") for row in _table_after("| column | meaning | when absent")]


def test_the_documented_ingest_columns_are_the_readers() -> None:
    from model_code.events import N_FEATURES
    from ops.producer.readers import RESERVED_COLUMNS

    assert sorted(_documented_columns()) == sorted(RESERVED_COLUMNS)
    (count,) = re.findall(r"exactly \*\*(\d+)\*\* numeric feature columns", README)
    assert int(count) == N_FEATURES


def test_a_file_with_the_documented_columns_is_read_and_one_more_pixel_is_refused(
    tmp_path: Path,
) -> None:
    """The README's columns, written by hand: every documented column lands in the event;
    a 65th feature column is refused (the oracle is the README text, not the reader)."""
    from ops.errors import UsageError
    from ops.producer.readers import file_events

    documented = _documented_columns()
    (count,) = map(int, re.findall(r"exactly \*\*(\d+)\*\* numeric feature columns", README))
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
