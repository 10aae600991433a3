"""preprocess.py on real Digits events: splits, rejects, baseline stats and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model_code import preprocess
from tests.pipelines.lake_fixture import digits_events, write_events


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return digits_events(300)


def _run(tmp_path: Path, events: list, extra: list[str] | None = None) -> dict:
    write_events(tmp_path / "raw", events, extra_lines=extra)
    return preprocess.preprocess(tmp_path / "raw", tmp_path / "out")


def test_writes_label_first_headerless_stratified_splits(tmp_path: Path, events: list) -> None:
    """Built-in XGBoost reads CSV without a header, label in column 0; splits are stratified."""
    counts = _run(tmp_path, events)
    parts = {
        n: pd.read_csv(tmp_path / "out" / n / f"{n}.csv", header=None)
        for n in ("train", "validation", "test")
    }
    assert {n: len(p) for n, p in parts.items()} == {
        "train": counts["train"],
        "validation": counts["validation"],
        "test": counts["test"],
    }
    assert sum(len(p) for p in parts.values()) == 300
    assert all(p.shape[1] == 65 for p in parts.values())
    for part in parts.values():
        assert set(part[0].unique()) == set(range(10))  # every class in every split
        assert part[0].dtype.kind == "i"
    assert abs(counts["test"] - 45) <= 1 and abs(counts["validation"] - 45) <= 1


def test_invalid_duplicate_and_unlabeled_records_are_counted(tmp_path: Path, events: list) -> None:
    """Bad records land in rejected.json with reasons; duplicates/unlabeled are counted."""
    unlabeled = {**events[0], "event_id": "no-label", "label": None}
    extra = [
        "{not json",
        json.dumps({"event_id": "x", "features": [1.0]}),
        json.dumps(events[5]),
        json.dumps(unlabeled),
    ]
    counts = _run(tmp_path, events, extra)
    report = json.loads((tmp_path / "out" / "baseline" / "rejected.json").read_text())
    assert report["rejected"] == counts["rejected"] == 2
    reasons = " ".join(r for e in report["examples"] for r in e["reasons"])
    assert "not JSON" in reasons and "missing field 'event_time'" in reasons
    assert counts["duplicates"] == 1 and counts["unlabeled"] == 1
    assert counts["train"] + counts["validation"] + counts["test"] == 300


def test_baseline_statistics_describe_training_features(tmp_path: Path, events: list) -> None:
    counts = _run(tmp_path, events)
    stats = json.loads((tmp_path / "out" / "baseline" / "baseline_statistics.json").read_text())
    train = pd.read_csv(tmp_path / "out" / "train" / "train.csv", header=None).to_numpy()
    assert stats["row_counts"]["train"] == counts["train"] == len(train)
    assert sum(stats["class_distribution"].values()) == len(train)
    f10 = stats["features"]["f10"]
    assert f10["mean"] == pytest.approx(train[:, 11].mean())
    assert f10["std"] == pytest.approx(train[:, 11].std())
    assert f10["max"] == train[:, 11].max() and f10["quantiles"]["p50"] == np.median(train[:, 11])
    assert f10["min"] == train[:, 11].min() == f10["quantiles"]["p0"]
    assert f10["quantiles"]["p100"] == train[:, 11].max()
    assert sum(f10["histogram"]["counts"]) == len(train)


def test_impute_uses_training_median_only() -> None:
    """Validation/test nulls take the TRAINING median, so nothing leaks from held-out data."""
    cols = preprocess.FEATURES
    train = pd.DataFrame([[1.0] * 64, [3.0] * 64, [np.nan] * 64], columns=cols)
    test = pd.DataFrame([[np.nan] * 64, [100.0] * 64], columns=cols)
    (train_out, test_out), medians = preprocess.impute([train, test])
    assert medians["f0"] == 2.0
    assert train_out["f0"].tolist() == [1.0, 3.0, 2.0]
    assert test_out["f0"].tolist() == [2.0, 100.0]


def test_impute_takes_every_statistic_from_the_training_split_only() -> None:
    """Three parts as preprocess() passes them: validation and test nulls take the TRAINING
    median (by hand: train f0 = 1, 2, 9 -> 2; all data 1, 2, 9, 50, 60, 70 -> median 29.5,
    mean 32.3); a feature null in every training row is 0.0 even if held-out rows have it."""
    cols = preprocess.FEATURES
    train = pd.DataFrame([[1.0] * 64, [2.0] * 64, [9.0] * 64, [np.nan] * 64], columns=cols)
    train["f1"] = np.nan
    val = pd.DataFrame([[50.0] * 64, [np.nan] * 64], columns=cols)
    test = pd.DataFrame([[60.0] * 64, [70.0] * 64, [np.nan] * 64], columns=cols)
    (train_out, val_out, test_out), medians = preprocess.impute([train, val, test])
    assert medians["f0"] == 2.0 and medians["f1"] == 0.0
    assert train_out["f0"].tolist() == [1.0, 2.0, 9.0, 2.0]
    assert val_out["f0"].tolist() == [50.0, 2.0]
    assert test_out["f0"].tolist() == [60.0, 70.0, 2.0]
    assert val_out["f1"].tolist() == [50.0, 0.0] and test_out["f1"].tolist()[-1] == 0.0


def test_recorded_impute_values_are_the_training_split_medians(
    tmp_path: Path, events: list
) -> None:
    """The baseline's impute_value (what drift checks and serving fill with) is the median
    of train.csv, by numpy, for every feature; the events are chosen so that for some
    features the median of all rows differs (a leak would show there)."""
    _run(tmp_path, events)
    stats = json.loads((tmp_path / "out" / "baseline" / "baseline_statistics.json").read_text())
    train = pd.read_csv(tmp_path / "out" / "train" / "train.csv", header=None).to_numpy()
    everything = np.array([e["features"] for e in events], dtype=float)
    differs = 0
    for k, name in enumerate(preprocess.FEATURES):
        assert stats["features"][name]["impute_value"] == np.median(train[:, k + 1]), name
        differs += np.median(everything[:, k]) != np.median(train[:, k + 1])
    assert differs >= 3


def test_baseline_histograms_have_ten_equal_bins_over_the_training_range(
    tmp_path: Path, events: list
) -> None:
    """Ten bins from the training minimum to maximum (numpy's histogram, by hand here)."""
    _run(tmp_path, events)
    stats = json.loads((tmp_path / "out" / "baseline" / "baseline_statistics.json").read_text())
    train = pd.read_csv(tmp_path / "out" / "train" / "train.csv", header=None).to_numpy()
    col = train[:, 11]
    histogram = stats["features"]["f10"]["histogram"]
    width = (col.max() - col.min()) / 10
    assert histogram["bin_edges"] == pytest.approx([col.min() + i * width for i in range(11)])
    inner = [int(((col >= lo) & (col < lo + width)).sum()) for lo in histogram["bin_edges"][:9]]
    assert histogram["counts"][:9] == inner and sum(histogram["counts"]) == len(col)


def test_main_takes_its_folders_and_fractions_from_the_command_line(
    tmp_path: Path, events: list, capsys: pytest.CaptureFixture[str]
) -> None:
    """The container's entry point: 300 events at 0.2 validation / 0.1 test."""
    write_events(tmp_path / "raw", events)
    argv = ["--input-dir", str(tmp_path / "raw"), "--output-dir", str(tmp_path / "out")]
    assert preprocess.main([*argv, "--validation-fraction", "0.2", "--test-fraction", "0.1"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("preprocess: files=3, records=300, ")
    parts = dict(item.split("=") for item in line.removeprefix("preprocess: ").split(", "))
    # sklearn rounds the test part up (ceil(0.1 * 300) = 30), then the validation part of the
    # rest up (270 * 0.2 / 0.9: 60, or 61 from floating point)
    assert parts["test"] == "30" and int(parts["validation"]) in (60, 61)
    assert int(parts["train"]) == 270 - int(parts["validation"])
    assert len(pd.read_csv(tmp_path / "out" / "test" / "test.csv", header=None)) == 30
    # without fractions: 0.15 each (45 of 300, give or take sklearn's rounding)
    assert preprocess.main([*argv[:2], "--output-dir", str(tmp_path / "default")]) == 0
    parts = dict(item.split("=") for item in capsys.readouterr().out.strip()[12:].split(", "))
    assert abs(int(parts["test"]) - 45) <= 1 and abs(int(parts["validation"]) - 45) <= 1
    (tmp_path / "empty").mkdir()
    assert preprocess.main(["--input-dir", str(tmp_path / "empty")]) == 1
    assert capsys.readouterr().err.startswith("preprocess failed: no event files")


def test_empty_prefix_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    with pytest.raises(ValueError, match="no event files"):
        preprocess.preprocess(tmp_path / "raw", tmp_path / "out")
    assert (
        preprocess.main(
            ["--input-dir", str(tmp_path / "raw"), "--output-dir", str(tmp_path / "out")]
        )
        == 1
    )


def test_every_record_invalid_is_a_clear_error(tmp_path: Path, events: list) -> None:
    broken = [{k: v for k, v in e.items() if k != "features"} for e in events[:20]]
    with pytest.raises(ValueError, match="all 20 record.*invalid"):
        _run(tmp_path, broken)


def test_no_labels_is_a_clear_error(tmp_path: Path, events: list) -> None:
    with pytest.raises(ValueError, match="label missing"):
        _run(tmp_path, [{**e, "label": None} for e in events[:50]])


def test_too_few_rows_per_class_is_a_clear_error(tmp_path: Path, events: list) -> None:
    few = [e for e in events if e["label"] != 7] + [e for e in events if e["label"] == 7][:2]
    with pytest.raises(ValueError, match="too few rows per class.*class 7: 2"):
        _run(tmp_path, few)
