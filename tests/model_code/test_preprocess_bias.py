"""The pre-training bias gate in preprocess, against CI and DPL worked out by hand.

CI = (n_a - n_d) / (n_a + n_d) and DPL = q_a - q_d (model_code/bias.py cites the Clarify
pages); every expected number below is written from those formulas and hand counts, never
read back from the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.config import available_profiles, load_profile
from model_code import preprocess
from model_code.events import DIGITS_DEVICE_SOURCES, SKEWED_DIGITS_SOURCE
from ops.producer import digits_events as product_digits_events
from tests.pipelines.lake_fixture import START, digits_events, write_events

A, D = "scanner-a", "scanner-b"


def ten_rows() -> pd.DataFrame:
    """7 rows of facet a, then 3 of facet d. Labels a: 1,1,1,1,0,0,0; d: 1,0,0.
    CI = (7 - 3) / 10 = 0.4; DPL:1 = 4/7 - 1/3 = 5/21 (0.2381), DPL:0 = 3/7 - 2/3 = -5/21."""
    return pd.DataFrame(
        {
            "source": [A] * 7 + [D] * 3,
            "label": [1, 1, 1, 1, 0, 0, 0, 1, 0, 0],
        }
    )


def bounds(ci: float, dpl: float) -> preprocess.BiasBounds:
    return preprocess.BiasBounds((D,), ci, dpl)


def test_gate_measures_ci_and_dpl_of_ten_rows_and_passes_on_its_bounds(tmp_path: Path) -> None:
    """|CI| 0.4 <= 0.4 (bounds are inclusive) and |DPL| 5/21 <= 0.25: the gate passes and
    writes its report, and the facet of the test rows (rows 2 and 8: a, d) in their order."""
    frame = ten_rows()
    result = preprocess.bias_gate(frame, frame.iloc[[2, 8]], tmp_path, bounds(0.4, 0.25))
    report = json.loads((tmp_path / "baseline" / "bias.json").read_text())
    assert report == json.loads(json.dumps(result))
    assert report["pretraining"]["n_a"] == 7 and report["pretraining"]["n_d"] == 3
    assert report["pretraining"]["CI"] == pytest.approx(0.4)
    assert report["pretraining"]["DPL"] == pytest.approx({"0": -5 / 21, "1": 5 / 21})
    assert report["violations"] == []
    facet = json.loads((tmp_path / "test" / "facet.json").read_text())
    assert facet["rows"] == [A, D] and facet["facet_values"] == [D]
    assert facet["pretraining"]["CI"] == pytest.approx(0.4)


def test_gate_fails_naming_the_measure_its_value_and_the_bound(tmp_path: Path) -> None:
    frame = ten_rows()
    with pytest.raises(ValueError) as caught:
        preprocess.bias_gate(frame, frame, tmp_path, bounds(0.3, 0.25))
    assert "CI = 0.4000 outside [-0.3, 0.3]" in str(caught.value)
    assert "DPL" not in str(caught.value).split("(")[0]  # 5/21 is within 0.25
    with pytest.raises(ValueError) as caught:
        preprocess.bias_gate(frame, frame, tmp_path, bounds(0.4, 0.2))
    message = str(caught.value)
    # both classes: DPL:0 = -5/21 = -0.2381, DPL:1 = +0.2381, bound 0.2
    assert "DPL:0 = -0.2381 outside [-0.2, 0.2]" in message
    assert "DPL:1 = 0.2381 outside [-0.2, 0.2]" in message
    assert "n_a=7, n_d=3" in message
    # the report is written even when the gate fails, with the violations in it
    report = json.loads((tmp_path / "baseline" / "bias.json").read_text())
    assert [v["measure"] for v in report["violations"]] == ["DPL:0", "DPL:1"]


def test_a_facet_value_the_data_lacks_is_a_clear_error(tmp_path: Path) -> None:
    frame = ten_rows()
    wrong = preprocess.BiasBounds(("scanner-z",), 0.5, 0.5)
    with pytest.raises(ValueError, match=r"data's sources are scanner-a, scanner-b: facet d has"):
        preprocess.bias_gate(frame, frame, tmp_path, wrong)


def _marked(events: list[dict]) -> list[dict]:
    """Pixel 0 (always 0 in Digits) set to 1 on facet-d events: the test CSV then shows each
    row's facet independently of facet.json."""
    for e in events:
        e["features"][0] = 1.0 if e["source"] == SKEWED_DIGITS_SOURCE else 0.0
    return events


def test_preprocess_writes_the_facet_of_each_test_row_in_csv_order(tmp_path: Path) -> None:
    events = _marked(digits_events(300))
    n_d = sum(e["source"] == SKEWED_DIGITS_SOURCE for e in events)  # hand count
    assert 0 < n_d < 300 and {e["source"] for e in events} == set(DIGITS_DEVICE_SOURCES)
    write_events(tmp_path / "raw", events)
    preprocess.preprocess(
        tmp_path / "raw",
        tmp_path / "out",
        bias_bounds=preprocess.BiasBounds((SKEWED_DIGITS_SOURCE,), 1.0, 1.0),
    )
    facet = json.loads((tmp_path / "out" / "test" / "facet.json").read_text())
    test = pd.read_csv(tmp_path / "out" / "test" / "test.csv", header=None)
    assert [s == SKEWED_DIGITS_SOURCE for s in facet["rows"]] == (test[1] == 1.0).tolist()
    assert facet["pretraining"]["CI"] == pytest.approx((300 - 2 * n_d) / 300)


def test_main_stops_before_any_training_data_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two drifted batches (every drifted Digits event comes from scanner-b, as `labctl
    ingest --drift` sends them) outnumber scanner-a: with 300 normal events holding n_a
    scanner-a rows, CI = (n_a - (300 - n_a + 600)) / 900, beyond the default bound 0.5."""
    normal = digits_events(300)
    drifted = [
        product_digits_events(300, base_time=START, run_id=run, source=SKEWED_DIGITS_SOURCE)
        for run in ("drift1", "drift2")
    ]
    n_a = sum(e["source"] != SKEWED_DIGITS_SOURCE for e in normal)
    ci = (n_a - (300 - n_a + 600)) / 900
    assert ci < -0.5
    write_events(tmp_path / "raw", normal + drifted[0] + drifted[1])
    argv = ["--input-dir", str(tmp_path / "raw"), "--output-dir", str(tmp_path / "out")]
    gate = ["--bias-facet-value", SKEWED_DIGITS_SOURCE, "--max-abs-ci", "0.5"]
    assert preprocess.main([*argv, *gate, "--max-abs-dpl", "0.1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"preprocess failed: bias gate failed: CI = {ci:.4f} outside [-0.5, 0.5]")
    assert not (tmp_path / "out" / "train" / "train.csv").exists()
    # One drifted batch is within the bound: the same command passes and says so.
    write_events(tmp_path / "one", normal + drifted[0])
    argv = ["--input-dir", str(tmp_path / "one"), "--output-dir", str(tmp_path / "ok")]
    assert preprocess.main([*argv, *gate, "--max-abs-dpl", "0.1"]) == 0
    assert capsys.readouterr().out.strip().endswith("bias=passed")


@pytest.mark.parametrize("profile", available_profiles())
def test_every_shipped_profiles_bounds_pass_the_labs_real_digits(
    profile: str, tmp_path: Path
) -> None:
    """All 1,797 Digits events as the lab ingests them: CI and the largest |DPL| from hand
    counts (Python, not bias.py) lie within each shipped profile's bounds, so `make lab` and
    a first cloud run train; the gate agrees."""
    events = product_digits_events()
    config = load_profile(profile).bias
    in_d = [e["source"] in config.facet_values for e in events]
    n_d = sum(in_d)
    n_a = len(events) - n_d
    ci = (n_a - n_d) / (n_a + n_d)
    dpl = {
        c: sum(1 for e, d in zip(events, in_d, strict=True) if not d and e["label"] == c) / n_a
        - sum(1 for e, d in zip(events, in_d, strict=True) if d and e["label"] == c) / n_d
        for c in range(10)
    }
    assert abs(ci) <= config.max_abs_ci and max(map(abs, dpl.values())) <= config.max_abs_dpl
    frame = pd.DataFrame(
        {"source": [e["source"] for e in events], "label": [e["label"] for e in events]}
    )
    bounds = preprocess.BiasBounds(config.facet_values, config.max_abs_ci, config.max_abs_dpl)
    result = preprocess.bias_gate(frame, frame.head(3), tmp_path, bounds)
    assert result["pretraining"]["CI"] == pytest.approx(ci)
    assert result["pretraining"]["DPL"] == pytest.approx({str(c): v for c, v in dpl.items()})
