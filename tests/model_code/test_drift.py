"""The drift job's statistics against scipy and hand computations, its verdicts on Digits
traffic (each drift kind detected, no false alarm across seeds) and its bad-input reports."""

from __future__ import annotations

import base64
import json
import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from lab.monitor import DEFAULT_DRIFTS
from model_code import drift
from model_code import monitoring_contract as contract
from ops.producer import apply_drift, parse_drift
from tests.model_code.drift_fixture import (
    T0,
    record_line,
    sample,
    write_baseline,
    write_capture,
)

WINDOW = drift.Window(T0, T0 + timedelta(hours=2))


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> drift.Baseline:
    return drift.load_baseline(write_baseline(tmp_path_factory.mktemp("baseline")))


def judge_rows(
    baseline: drift.Baseline, rows: np.ndarray, preds: np.ndarray, **thresholds: float
) -> dict:
    summary = drift.Summary(baseline.counts.shape[1] - 2)
    drift._add_rows(summary, baseline, rows)
    summary.class_counts += np.bincount(preds, minlength=10)
    summary.predicted_rows = len(preds)
    return drift.judge(summary, baseline, drift.Thresholds(**thresholds), WINDOW)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- statistics


def test_psi_of_identical_histograms_is_zero() -> None:
    counts = np.array([0, 5, 17, 0, 3])
    assert drift.psi(counts, counts) == 0.0
    assert drift.psi(counts * 7, counts) == pytest.approx(0.0, abs=1e-15)  # proportions equal


def test_psi_matches_a_hand_computation_with_an_empty_bin() -> None:
    """actual [10, 0], expected [5, 5]; proportions +1e-4, renormalized by 1.0002."""
    a1, a2, e = 1.0001 / 1.0002, 0.0001 / 1.0002, 0.5
    by_hand = (a1 - e) * math.log(a1 / e) + (a2 - e) * math.log(a2 / e)
    assert drift.psi(np.array([10, 0]), np.array([5, 5])) == pytest.approx(by_hand, rel=1e-12)
    assert math.isfinite(drift.psi(np.array([0, 10]), np.array([10, 0])))


def test_binned_ks_equals_scipy_for_integer_pixels_on_half_integer_edges() -> None:
    rng = np.random.default_rng(7)
    a = rng.integers(0, 17, 300).astype(float)
    b = rng.integers(0, 15, 1000).astype(float)
    edges = np.arange(-0.5, 17.0, 1.0)
    d, p = drift.ks_from_histograms(drift.histogram(a, edges), drift.histogram(b, edges))
    expected = stats.ks_2samp(a, b, method="asymp")
    assert d == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9)


def test_binned_ks_is_a_lower_bound_for_continuous_values() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.3, 1, 500), rng.normal(0, 1, 800)
    edges = np.linspace(-3, 3, 11)
    d, _ = drift.ks_from_histograms(drift.histogram(a, edges), drift.histogram(b, edges))
    exact = stats.ks_2samp(a, b).statistic
    assert 0 < d <= exact + 1e-12
    assert d > 0.5 * exact  # ten bins still see most of the gap


def test_histogram_bins_like_numpy_inside_and_counts_outside() -> None:
    edges = np.array([0.0, 4.0, 8.0, 16.0])
    values = np.array([-1.0, 0.0, 3.9, 4.0, 15.0, 16.0, 16.5, 20.0])
    counts = drift.histogram(values, edges)
    inner, _ = np.histogram(values[(values >= 0) & (values <= 16)], bins=edges)
    assert counts.tolist() == [1, *inner.tolist(), 2]  # 16.0 (the max) is inside, as numpy


def test_benjamini_hochberg_matches_scipy_and_a_hand_example() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted .005 .01 .03 .04 -> x4/rank: .02 .02 .04 .04 (already monotone)
    assert drift.benjamini_hochberg(p).tolist() == pytest.approx([0.02, 0.04, 0.04, 0.02])
    rng = np.random.default_rng(1)
    many = rng.uniform(0, 0.2, 64)
    assert drift.benjamini_hochberg(many) == pytest.approx(stats.false_discovery_control(many))


def test_judge_corrects_for_64_tests_with_benjamini_hochberg(
    baseline: drift.Baseline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verdict per feature uses BH-adjusted p-values, by hand at alpha 0.01 with n = 64:
    f0..f3 have p = .0001, .0004, .0004, .001 and the rest .5. p*64/rank: .0064, .0128,
    .00853, .016; step-up (the minimum over higher ranks) gives f1 .00853, so f0, f1, f2
    drift; f3 (.016) does not, though its raw p < .01 (uncorrected: 4 features) and though
    Bonferroni would keep only f0 (.0004 * 64 = .0256)."""
    planted = [1e-4, 4e-4, 4e-4, 1e-3] + [0.5] * 60
    tests = iter(planted)
    monkeypatch.setattr(drift, "ks_from_histograms", lambda actual, expected: (0.5, next(tests)))
    monkeypatch.setattr(drift, "psi", lambda actual, expected: 1.0)  # PSI never decides here
    x, y = sample(300, 7)
    report = judge_rows(baseline, x, y, alpha=0.01)
    assert report["drifted_features"] == ["f0", "f1", "f2"]
    adjusted = [report["features"][f"f{j}"]["ks_p_adjusted"] for j in range(4)]
    assert adjusted == pytest.approx([0.0064, 4e-4 * 64 / 3, 4e-4 * 64 / 3, 0.016])


def test_class_mix_chi_square_by_hand_and_unseen_class() -> None:
    chi2, p = drift.class_mix_test(np.array([30, 10]), np.array([1, 1]))
    assert chi2 == pytest.approx(10.0)  # (30-20)^2/20 + (10-20)^2/20
    assert p == pytest.approx(stats.chi2.sf(10.0, 1))
    chi2, p = drift.class_mix_test(np.array([5, 5, 1]), np.array([1, 1, 0]))
    assert math.isinf(chi2) and p == 0.0


def test_constant_pixels_are_handled(baseline: drift.Baseline) -> None:
    """Digits pixel 0 is 0 in every image: identical traffic is not drift, a shift is."""
    assert baseline.counts[0, 1:-1].sum() == baseline.counts[0].sum()  # f0 all in one bin
    x, y = sample(400, 5)
    assert np.all(x[:, 0] == 0)
    report = judge_rows(baseline, x, y)
    f0 = report["features"]["f0"]
    assert f0["psi"] == 0.0 and f0["ks"] == 0.0 and not f0["drifted"]
    shifted = judge_rows(baseline, x + 2, y)["features"]["f0"]
    assert shifted["drifted"] and math.isfinite(shifted["psi"]) and shifted["psi"] > 1


# ----------------------------------------------------------------------------- verdicts


@pytest.mark.parametrize("kind", sorted(DEFAULT_DRIFTS))
def test_each_drift_kind_at_default_strength_is_detected(
    baseline: drift.Baseline, kind: str
) -> None:
    x, y = sample(300, 99)
    events = [{"features": [float(v) for v in row]} for row in x]
    drifted = apply_drift(events, [parse_drift(DEFAULT_DRIFTS[kind])], seed=1)
    rows = np.array([e["features"] for e in drifted])
    report = judge_rows(baseline, rows, y)
    assert report["status"] == "drift", report["verdict"]
    assert report["drifted_share"] >= 0.5


def test_no_drift_traffic_stays_below_threshold_across_seeds(baseline: drift.Baseline) -> None:
    """25 seeds of 300 rows resampled from Digits itself: no false alarm (measured 0/400 at
    n=200 and n=1000 as well, see docs/monitoring.md)."""
    alarms = []
    for seed in range(25):
        x, y = sample(300, 1000 + seed)
        report = judge_rows(baseline, x, y)
        assert report["drifted_share"] < drift.DEFAULT_SHARE_THRESHOLD
        if report["status"] != "no_drift":
            alarms.append((seed, report["verdict"]))
    assert alarms == []


def test_class_mix_shift_alone_is_drift(baseline: drift.Baseline) -> None:
    x, y = sample(600, 3)
    report = judge_rows(baseline, x, np.where(y == 1, 7, y))  # every 1 predicted as 7
    assert report["status"] == "drift" and report["class_mix"]["drifted"]
    assert report["drifted_share"] < 0.2  # the features alone did not move


def test_below_min_samples_it_reports_and_does_not_judge(baseline: drift.Baseline) -> None:
    x, y = sample(50, 1)
    report = judge_rows(baseline, x + 5, y)  # heavily drifted but too few rows
    assert report["status"] == "insufficient_data"
    assert "not judged" in report["verdict"] and "50 usable rows" in report["verdict"]
    assert "drifted_share" not in report
    assert contract.METRIC_DRIFT_VERDICT not in report["metrics"]


# ----------------------------------------------------------------------------- capture files


def test_shard_summaries_merge_to_the_single_pass_result(
    tmp_path: Path, baseline: drift.Baseline
) -> None:
    x, y = sample(240, 4)
    root = write_capture(tmp_path / "cap", x, y)
    files = drift.capture_files(root)
    assert len(files) >= 2  # 40 minutes of traffic from 23:30: two hour folders
    whole = drift.summarize_capture(files, baseline, WINDOW)
    merged = drift.Summary(whole.bins)
    for f in files:
        part = drift.summarize_capture([f], baseline, WINDOW)
        merged.merge(drift.Summary.from_json(json.loads(json.dumps(part.to_json()))))
    assert np.array_equal(merged.counts, whole.counts) and merged.rows == whole.rows == 240
    # independent oracle: numpy's own histogram of pixel 20 over the baseline's edges
    inner, _ = np.histogram(x[:, 20], bins=baseline.edges[20])
    assert merged.counts[20, 1:-1].tolist() == inner.tolist()
    assert merged.class_counts.tolist() == np.bincount(y, minlength=10).tolist()


def test_windowed_listing_crosses_hour_and_day_boundaries(tmp_path: Path) -> None:
    root = tmp_path / "cap"
    for hour in ("2026/11/30/22", "2026/11/30/23", "2026/12/01/00", "2026/12/01/01"):
        (root / hour).mkdir(parents=True)
        (root / hour / "a.jsonl").write_text("")
    window = drift.Window(T0, T0 + timedelta(hours=1))  # 23:30 - 00:30
    got = [str(p.relative_to(root).parent) for p in drift.capture_files(root, window)]
    assert got == ["2026/11/30/23", "2026/12/01/00"]


def _record(rows: np.ndarray, encoding: str, data: str, when=T0, content="text/csv") -> str:
    line = json.loads(record_line(rows, [0] * len(rows), when))
    line["captureData"]["endpointInput"].update(
        encoding=encoding, data=data, observedContentType=content
    )
    return json.dumps(line)


def test_bad_records_are_skipped_with_reasons_never_a_crash(
    tmp_path: Path, baseline: drift.Baseline
) -> None:
    x, y = sample(6, 2)
    csv_row = ",".join(f"{v:g}" for v in x[0])
    good = record_line(x[:1], [int(y[0])], T0 + timedelta(minutes=1))
    lines = [
        good,
        good[: len(good) // 2],  # truncated (the last line of an interrupted upload)
        "this is not json",
        _record(x[:1], "XML", "<row/>"),  # unknown encoding
        _record(x[:1], "BASE64", base64.b64encode(csv_row.encode()).decode()),  # usable
        _record(x[:1], "BASE64", base64.b64encode(b"NUMPY\x01").decode(), content="x/npy"),
        _record(x[:1], "BASE64", base64.b64encode(b"\xff\xfe").decode()),  # not UTF-8
        record_line(x[:1], [1], T0 - timedelta(hours=1)),  # before the version went live
        record_line(x[:2], [1, 2], T0 + timedelta(minutes=2), fmt="json"),  # two rows, JSON
        _record(x[:1], "CSV", ",".join(["1"] * 63)),  # 63 features
    ]
    folder = tmp_path / "2026/11/30/23"
    folder.mkdir(parents=True)
    (folder / "mixed.jsonl").write_text("\n".join(lines) + "\n")
    window = drift.Window(T0 - timedelta(hours=2), T0 + timedelta(hours=1), deployed_at=T0)
    summary = drift.summarize_capture(drift.capture_files(tmp_path), baseline, window, tmp_path)
    assert summary.records == 10 and summary.rows == 4  # good, base64 csv, two JSON rows
    assert summary.skipped == {
        "not JSON (truncated or corrupt line)": 2,
        "unknown encoding 'XML'": 1,
        "BASE64 payload does not decode to UTF-8 text": 1,
        "BASE64 payload of content type 'x/npy'": 1,
        "captured before the deployed model version went live": 1,
        f"request row without exactly {drift.N_FEATURES} features": 1,
    }
    report = drift.judge(summary, baseline, drift.Thresholds(min_samples=3), window)
    assert report["skipped"]["records"] == 7
    assert {e["where"] for e in report["skipped"]["examples"]} >= {"2026/11/30/23/mixed.jsonl:2"}


def test_empty_window_reports_no_data(tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = drift.run(
        capture_dir=tmp_path / "nothing",
        baseline_path=write_baseline(tmp_path),
        output_dir=out,
        window=WINDOW,
    )
    assert report["status"] == "no_data" and "not judged" in report["verdict"]
    assert "no capture files" in report["note"]
    assert json.loads((out / contract.VIOLATIONS_FILE).read_text()) == {"violations": []}


def test_missing_or_foreign_baseline_is_reported_not_judged(tmp_path: Path) -> None:
    x, y = sample(300, 1)
    root = write_capture(tmp_path / "cap", x, y)
    missing = drift.run(
        capture_dir=root,
        baseline_path=tmp_path / "none.json",
        output_dir=tmp_path / "a",
        window=WINDOW,
    )
    assert missing["status"] == "no_baseline" and "is missing" in missing["verdict"]
    foreign = drift.run(
        capture_dir=root,
        baseline_path=write_baseline(tmp_path, model_version=3),
        output_dir=tmp_path / "b",
        window=WINDOW,
        model_version=4,
    )
    assert foreign["status"] == "baseline_mismatch"
    assert "model version 3" in foreign["verdict"] and "deployed version is 4" in foreign["verdict"]


def test_raw_zone_fallback_when_there_is_no_capture(tmp_path: Path) -> None:
    import gzip

    x, _ = sample(250, 8)
    raw = tmp_path / "raw"
    for i, row in enumerate(x):
        when = T0 + timedelta(seconds=20 * i)
        part = raw / contract.raw_hour_prefixes(when, when + timedelta(seconds=1))[0]
        part.mkdir(parents=True, exist_ok=True)
        event = {"event_id": f"e{i}", "event_time": contract.iso(when), "features": row.tolist()}
        with gzip.open(part / "s-1.gz", "at") as handle:
            handle.write(json.dumps(event) + "\n")
    report = drift.run(
        capture_dir=tmp_path / "nocapture",
        baseline_path=write_baseline(tmp_path),
        output_dir=tmp_path / "out",
        window=WINDOW,
        raw_dir=raw,
    )
    assert report["source"] == "raw" and report["samples"]["rows"] == 250
    assert report["status"] == "no_drift" and report["class_mix"]["drifted"] is None
    assert "raw zone" in report["note"]


def test_constraint_violations_use_model_monitor_fields(
    tmp_path: Path, baseline: drift.Baseline
) -> None:
    x, y = sample(300, 6)
    report = judge_rows(baseline, x + 2, y)
    violations = drift.constraint_violations(report)["violations"]
    assert len(violations) == len(report["drifted_features"]) > 0
    for v in violations:
        assert set(v) == {"feature_name", "constraint_check_type", "description"}
        assert v["constraint_check_type"] == "baseline_drift_check"


def test_cli_phases_summarize_then_judge_equal_one_run(tmp_path: Path) -> None:
    x, y = sample(300, 12)
    root = write_capture(tmp_path / "cap", x + 1, y)
    base = write_baseline(tmp_path)
    args = [
        "--baseline",
        str(base),
        "--start",
        contract.iso(T0),
        "--end",
        contract.iso(T0 + timedelta(hours=2)),
        "--capture-dir",
        str(root),
    ]
    assert drift.main(["run", *args, "--output-dir", str(tmp_path / "one")]) == 0
    assert drift.main(["summarize", *args, "--output-dir", str(tmp_path / "sums")]) == 0
    assert (
        drift.main(
            [
                "judge",
                *args,
                "--summaries-dir",
                str(tmp_path / "sums"),
                "--output-dir",
                str(tmp_path / "two"),
            ]
        )
        == 0
    )
    one = json.loads((tmp_path / "one" / contract.REPORT_FILE).read_text())
    two = json.loads((tmp_path / "two" / contract.REPORT_FILE).read_text())
    assert one["status"] == two["status"] == "drift"
    assert one["features"] == two["features"]
    assert drift.main([*args[:2], "--start", "yesterday", "--end", "x"]) == 2


def test_sharded_phase_reads_the_raw_zone_when_the_runner_found_no_capture(
    tmp_path: Path,
) -> None:
    import gzip

    x, _ = sample(220, 9)
    raw = tmp_path / "raw" / "events/year=2026/month=11/day=30/hour=23"
    raw.mkdir(parents=True)
    with gzip.open(raw / "s-1.gz", "wt") as handle:
        for i, row in enumerate(x):
            when = contract.iso(T0 + timedelta(seconds=i))
            handle.write(
                json.dumps({"event_id": f"e{i}", "event_time": when, "features": row.tolist()})
                + "\n"
            )
    base = write_baseline(tmp_path)
    args = [
        "--baseline",
        str(base),
        "--start",
        contract.iso(T0),
        "--end",
        contract.iso(T0 + timedelta(hours=1)),
    ]
    assert (
        drift.main(
            [
                "summarize",
                *args,
                "--raw-dir",
                str(tmp_path / "raw"),
                "--all-files",
                "--output-dir",
                str(tmp_path / "sums"),
            ]
        )
        == 0
    )
    assert (
        drift.main(
            [
                "judge",
                *args,
                "--summaries-dir",
                str(tmp_path / "sums"),
                "--output-dir",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "out" / contract.REPORT_FILE).read_text())
    assert report["source"] == "raw" and report["samples"]["rows"] == 220
    assert report["status"] == "no_drift"


def test_a_run_that_cannot_judge_reports_its_endpoint_window_and_why() -> None:
    """The failure report's shape, literally (window in UTC, seconds, Z)."""
    report = drift.failure_report("no baseline", "no_baseline", WINDOW, "lab-digits")
    assert report == {
        "endpoint": "lab-digits",
        "window": {"start": "2026-11-30T23:30:00Z", "end": "2026-12-01T01:30:00Z"},
        "status": "no_baseline",
        "verdict": "not judged: no baseline",
        "samples": {"rows": 0},
        "skipped": {"records": 0, "reasons": {}, "examples": []},
        "metrics": {},
    }


def test_skipped_examples_stop_at_twenty_and_prediction_notes_are_no_skipped_records(
    baseline: drift.Baseline,
) -> None:
    """25 skips keep 20 examples ({where, reason}) and count all 25; a prediction note (the
    record's features were still used) is listed among the reasons, not counted as skipped."""
    summary = drift.Summary(baseline.counts.shape[1] - 2)
    for i in range(25):
        summary.skip("not JSON", f"f.jsonl:{i}")
    summary.skip("prediction not a class", "f.jsonl:99")
    assert len(summary.examples) == 20
    assert summary.examples[0] == {"where": "f.jsonl:0", "reason": "not JSON"}
    report = drift.judge(summary, baseline, drift.Thresholds(), WINDOW)
    assert report["skipped"]["records"] == 25
    assert report["skipped"]["reasons"] == {"not JSON": 25, "prediction not a class": 1}
