"""data_quality.py on small hand-built frames: every expected figure is counted by hand in
the fixture (e.g. 2 later copies of 5 rows -> duplicate share 0.4), each constraint has a
case where it is violated and the report names it, and one where it holds at its boundary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_code import data_quality as dq
from model_code import preprocess
from tests.pipelines.lake_fixture import digits_events, write_events

C = dq.Constraints


def frame(f0: list[Any], labels: list[Any] | None = None, ids: list[str] | None = None):
    """Rows e0..e<n-1> with feature f0 (given), f1 = 1.0 and the given labels (default 0)."""
    n = len(f0)
    return pd.DataFrame(
        {
            "f0": f0,
            "f1": [1.0] * n,
            "event_id": ids or [f"e{i}" for i in range(n)],
            "label": labels if labels is not None else [0] * n,
        }
    )


def named(result: dq.Result, constraint: str) -> list[dict[str, Any]]:
    return [v for v in result.report["violations"] if v["constraint"] == constraint]


# --- min_rows ----------------------------------------------------------------------------


def test_min_rows_holds_at_the_boundary_and_counts_kept_rows() -> None:
    """5 clean rows meet min_rows=5; min_rows=6 is violated with observed 5. With one row out
    of range only 4 are kept, and 4 is what the constraint sees."""
    rows = frame([1.0, 2.0, 3.0, 4.0, 5.0])
    assert dq.check(rows, C(min_rows=5)).report["violations"] == []
    assert named(dq.check(rows, C(min_rows=6)), "min_rows") == [
        {"constraint": "min_rows", "subject": None, "observed": 5, "limit": 6}
    ]
    rows.loc[4, "f0"] = 99.0
    got = dq.check(rows, C(min_rows=5, value_ranges={"f0": (0, 16)}))
    assert named(got, "min_rows")[0]["observed"] == 4


# --- max_rejected_share ------------------------------------------------------------------


def test_rejected_share_counts_schema_rejects_and_out_of_range_rows() -> None:
    """8 rows + 2 schema-rejected records = 10 records; 1 row out of range: (2 + 1) / 10 = 0.3.
    Limit 0.3 holds; 0.29 is violated."""
    rows = frame([1.0] * 7 + [20.0])
    ranges = {"f0": (0, 16)}
    held = dq.check(rows, C(max_rejected_share=0.3, value_ranges=ranges), rejected=2)
    assert held.report["observed"]["rejected_share"] == pytest.approx(0.3)
    assert named(held, "max_rejected_share") == []
    failed = dq.check(rows, C(max_rejected_share=0.29, value_ranges=ranges), rejected=2)
    assert named(failed, "max_rejected_share") == [
        {
            "constraint": "max_rejected_share",
            "subject": None,
            "observed": pytest.approx(0.3),
            "limit": 0.29,
        }
    ]
    assert failed.report["records"] == 10 and failed.report["rejected"] == 2


def test_rejected_share_with_schema_rejects_only() -> None:
    """8 rows, 2 rejected: 2 / 10 = 0.2; limit 0.2 holds, 0.1 does not."""
    rows = frame([1.0] * 8)
    assert dq.check(rows, C(max_rejected_share=0.2), rejected=2).passed
    assert named(dq.check(rows, C(max_rejected_share=0.1), rejected=2), "max_rejected_share")


# --- max_missing_share -------------------------------------------------------------------


def test_missing_share_per_feature() -> None:
    """f0 is null in 1 of 4 rows (0.25), f1 in none: limit 0.25 holds for f0, 0.2 fails and
    names f0 only."""
    rows = frame([1.0, None, 3.0, 4.0])
    held = dq.check(rows, C(max_missing_share={"f0": 0.25, "f1": 0.0}))
    assert held.passed
    assert held.report["observed"]["missing_share"] == {"f0": 0.25, "f1": 0.0}
    failed = dq.check(rows, C(max_missing_share={"f0": 0.2, "f1": 0.0}))
    assert failed.report["violations"] == [
        {"constraint": "max_missing_share", "subject": "f0", "observed": 0.25, "limit": 0.2}
    ]
    # A null is missing, not out of range: the row stays.
    assert len(dq.check(rows, C(value_ranges={"f0": (0, 16)})).kept) == 4


# --- value_ranges ------------------------------------------------------------------------


def test_value_range_bounds_are_inclusive_and_outliers_are_quarantined_with_reasons() -> None:
    """f0 = [0, 16, 17, -1, null] against [0, 16]: 0 and 16 are in range (inclusive), 17 and
    -1 are quarantined, the null stays (missingness is judged apart)."""
    rows = frame([0.0, 16.0, 17.0, -1.0, None])
    got = dq.check(rows, C(value_ranges={"f0": (0, 16)}))
    assert got.kept["event_id"].tolist() == ["e0", "e1", "e4"]
    assert got.quarantined["event_id"].tolist() == ["e2", "e3"]
    assert got.quarantined["reasons"].tolist() == [
        "f0=17 outside [0, 16]",
        "f0=-1 outside [0, 16]",
    ]
    assert got.report["violations"] == [
        {
            "constraint": "value_ranges",
            "subject": "f0",
            "observed": {"min": -1.0, "max": 17.0, "rows_out_of_range": 2},
            "limit": [0.0, 16.0],
        }
    ]
    at_bounds = dq.check(frame([0.0, 16.0, None]), C(value_ranges={"f0": (0, 16)}))
    assert at_bounds.passed and len(at_bounds.quarantined) == 0


# --- max_duplicate_share -----------------------------------------------------------------


def test_duplicates_are_quarantined_first_row_kept_and_share_judged() -> None:
    """ids [a, b, a, c, a]: 2 later copies of 5 rows -> 0.4. Limit 0.4 holds, 0.39 fails;
    either way the copies are quarantined, never dropped, and the first 'a' is kept."""
    rows = frame([1.0, 2.0, 3.0, 4.0, 5.0], ids=["a", "b", "a", "c", "a"])
    held = dq.check(rows, C(max_duplicate_share=0.4))
    assert held.passed and held.report["observed"]["duplicate_share"] == pytest.approx(0.4)
    assert held.kept["f0"].tolist() == [1.0, 2.0, 4.0]
    assert held.quarantined["f0"].tolist() == [3.0, 5.0]
    assert held.quarantined["reasons"].tolist() == ["duplicate event_id 'a'"] * 2
    failed = dq.check(rows, C(max_duplicate_share=0.39))
    assert named(failed, "max_duplicate_share") == [
        {
            "constraint": "max_duplicate_share",
            "subject": "event_id",
            "observed": pytest.approx(0.4),
            "limit": 0.39,
        }
    ]


# --- min_class_count ---------------------------------------------------------------------


def test_min_class_count_names_each_short_class_including_absent_declared_ones() -> None:
    """Kept labels [0,0,0,1,1,2] (+ one unlabelled row, + one out-of-range row labelled 2 that
    must not count); declared classes 0-3 -> counts 3, 2, 1, 0."""
    rows = frame(
        [1.0] * 7 + [99.0], labels=[0, 0, 0, 1, 1, 2, None, 2], ids=[f"e{i}" for i in range(8)]
    )
    ranges = {"f0": (0, 16)}
    got = dq.check(rows, C(min_class_count=2, classes=(0, 1, 2, 3), value_ranges=ranges))
    assert got.report["observed"]["class_counts"] == {"0": 3, "1": 2, "2": 1, "3": 0}
    assert named(got, "min_class_count") == [
        {"constraint": "min_class_count", "subject": "class 2", "observed": 1, "limit": 2},
        {"constraint": "min_class_count", "subject": "class 3", "observed": 0, "limit": 2},
    ]
    held = dq.check(rows, C(min_class_count=1, classes=(0, 1, 2), value_ranges=ranges))
    assert named(held, "min_class_count") == []
    # Without declared classes, the classes seen; and no labelled row at all cannot pass.
    assert dq.check(rows, C(min_class_count=1, value_ranges=ranges)).report["observed"][
        "class_counts"
    ] == {"0": 3, "1": 2, "2": 1}
    unlabelled = dq.check(frame([1.0, 2.0], labels=[None, None]), C(min_class_count=1))
    assert named(unlabelled, "min_class_count")[0]["subject"] == "no labelled rows"


# --- max_class_imbalance -----------------------------------------------------------------


def test_class_imbalance_is_largest_over_smallest_count() -> None:
    """Labels [0,0,0,1,1,2]: 3 / 1 = 3. Limit 3 holds, 2.9 fails; a declared class without
    rows makes the ratio unbounded: observed null, and the subject names the class."""
    rows = frame([1.0] * 6, labels=[0, 0, 0, 1, 1, 2])
    held = dq.check(rows, C(max_class_imbalance=3))
    assert held.passed and held.report["observed"]["class_imbalance"] == 3.0
    assert named(dq.check(rows, C(max_class_imbalance=2.9)), "max_class_imbalance") == [
        {"constraint": "max_class_imbalance", "subject": None, "observed": 3.0, "limit": 2.9}
    ]
    absent = dq.check(rows, C(max_class_imbalance=100, classes=(0, 1, 2, 3)))
    assert named(absent, "max_class_imbalance") == [
        {
            "constraint": "max_class_imbalance",
            "subject": "class(es) 3 without rows",
            "observed": None,
            "limit": 100,
        }
    ]


# --- the whole report --------------------------------------------------------------------


def test_every_row_is_kept_or_quarantined_and_the_report_is_strict_json() -> None:
    rows = frame([1.0, 99.0, 2.0, None], ids=["a", "b", "a", "c"], labels=[0, 1, 0, None])
    got = dq.check(
        rows.to_dict("records"),  # dicts are accepted as well as a frame
        C(
            min_rows=1,
            max_rejected_share=0.5,
            max_missing_share={"f0": 0.5},
            value_ranges={"f0": (0, 16)},
            max_duplicate_share=0.5,
            min_class_count=1,
            max_class_imbalance=2,
            classes=(0, 1),
        ),
        rejected=1,
    )
    assert len(got.kept) + len(got.quarantined) == len(rows) == got.report["rows"]
    assert sorted([*got.kept["event_id"], *got.quarantined["event_id"]]) == ["a", "a", "b", "c"]
    # strict JSON: no NaN or Infinity anywhere
    assert json.loads(json.dumps(got.report, allow_nan=False)) == got.report
    # b (99, the only class-1 row) is quarantined, so class 1 has no kept row; the rest hold:
    # missing 1/4, duplicates 1/4, rejected (1 + 1)/5 = 0.4, kept rows 2.
    assert [v["constraint"] for v in got.report["violations"]] == [
        "value_ranges",
        "min_class_count",
        "max_class_imbalance",
    ]
    assert dq.summary(got.report) == (
        "data quality: value_ranges[f0]: observed {'min': 1.0, 'max': 99.0, "
        "'rows_out_of_range': 1}, limit [0.0, 16.0]; min_class_count[class 1]: observed 0, "
        "limit 1; max_class_imbalance[class(es) 1 without rows]: observed None, limit 2"
    )
    assert dq.summary(dq.check(rows, C()).report) == "data quality: all constraints hold"


def test_configuration_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="does not have: f9"):
        dq.check(frame([1.0]), C(max_missing_share={"f9": 0.1}))
    with pytest.raises(ValueError, match=r"share in \[0, 1\]"):
        C(max_duplicate_share=1.5)
    with pytest.raises(ValueError, match="is empty: low 5 > high 1"):
        C(value_ranges={"f0": (5, 1)})
    with pytest.raises(ValueError, match="must be >= 1"):
        C(max_class_imbalance=0.5)
    with pytest.raises(ValueError, match="whole number"):
        C(min_rows=-1)
    with pytest.raises(ValueError, match="unknown constraint"):
        C.from_dict({"min_row": 5})
    with pytest.raises(ValueError, match="rejected must be"):
        dq.check(frame([1.0]), C(), rejected=-1)


def test_from_dict_reads_json_shapes() -> None:
    got = C.from_dict(
        json.loads('{"min_rows": 3, "value_ranges": {"f0": [0, 16]}, "classes": [0, 1]}')
    )
    assert got == C(min_rows=3, value_ranges={"f0": (0, 16)}, classes=(0, 1))


def test_on_preprocess_frame_a_planted_out_of_range_pixel_is_quarantined(tmp_path: Path) -> None:
    """The frame preprocess.read_events builds is what check takes: 30 Digits events (pixels
    0-16) pass, and one event whose pixel f5 is 99 is the only row quarantined."""
    events = digits_events(30)
    events[7]["features"][5] = 99.0
    write_events(tmp_path / "raw", events)
    data = preprocess.read_events(tmp_path / "raw")
    ranges = {f: (0, 16) for f in preprocess.FEATURES}
    got = dq.check(data.frame, C(value_ranges=ranges, min_class_count=1, classes=tuple(range(10))))
    assert got.quarantined["event_id"].tolist() == [events[7]["event_id"]]
    assert got.quarantined["reasons"].tolist() == ["f5=99 outside [0, 16]"]
    assert len(got.kept) == 29


# --- DQDL --------------------------------------------------------------------------------


def test_dqdl_renders_every_constraint() -> None:
    """Expected text written by hand from the DQDL reference (rule types RowCount,
    Completeness, ColumnValues, CustomSql; `between` is exclusive, so ranges are >= and <=)."""
    constraints = C(
        min_rows=100,
        max_rejected_share=0.05,
        max_missing_share={"f0": 0.07, "f1": 0.0},
        value_ranges={"f0": (0, 16)},
        max_duplicate_share=0.01,
        min_class_count=3,
        max_class_imbalance=10,
        classes=(0, 1),
    )
    assert dq.to_dqdl(constraints) == (
        "# max_rejected_share 0.05 is judged by preprocessing: records that fail the event "
        "schema never reach this table\n"
        "Rules = [\n"
        "    RowCount >= 100,\n"
        '    Completeness "f0" >= 0.93,\n'
        '    Completeness "f1" >= 1,\n'
        '    ColumnValues "f0" >= 0 where "f0 is not null",\n'
        '    ColumnValues "f0" <= 16 where "f0 is not null",\n'
        '    CustomSql "select 1.0 - count(distinct event_id) / count(*) from primary" <= 0.01,\n'
        '    RowCount >= 3 where "label = 0",\n'
        '    RowCount >= 3 where "label = 1",\n'
        '    CustomSql "select max(n) / min(n) from (select count(*) as n from primary '
        'where label is not null group by label)" <= 10\n'
        "]\n"
    )


def test_dqdl_zero_duplicates_is_isunique_and_undeclared_classes_use_the_smallest_count() -> None:
    constraints = C(value_ranges={"f3": (-0.5, 2.5)}, max_duplicate_share=0, min_class_count=5)
    assert dq.to_dqdl(constraints) == (
        "Rules = [\n"
        '    ColumnValues "f3" >= -0.5 where "f3 is not null",\n'
        '    ColumnValues "f3" <= 2.5 where "f3 is not null",\n'
        '    IsUnique "event_id",\n'
        '    CustomSql "select min(n) from (select count(*) as n from primary '
        'where label is not null group by label)" >= 5\n'
        "]\n"
    )


def test_dqdl_refuses_an_empty_ruleset_and_unsafe_column_names() -> None:
    with pytest.raises(ValueError, match="at least one"):
        dq.to_dqdl(C(max_rejected_share=0.1))
    with pytest.raises(ValueError, match="plain identifier"):
        dq.to_dqdl(C(max_missing_share={'f0" or 1=1': 0.1}))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d"]),
            st.one_of(st.none(), st.floats(-5, 25, allow_nan=False)),
        ),
        max_size=25,
    )
)
def test_property_rows_are_partitioned_never_dropped(pairs: list[tuple[str, Any]]) -> None:
    """For any rows: kept and quarantined partition them; kept holds no repeated key and no
    value outside the range; every quarantined row carries a reason."""
    rows = frame([v for _, v in pairs], ids=[k for k, _ in pairs]) if pairs else frame([])
    got = dq.check(rows, C(value_ranges={"f0": (0, 16)}, max_duplicate_share=1.0))
    assert len(got.kept) + len(got.quarantined) == len(rows)
    assert not got.kept["event_id"].duplicated().any()
    kept_values = got.kept["f0"].dropna()
    assert ((kept_values >= 0) & (kept_values <= 16)).all()
    assert all(got.quarantined["reasons"].str.len() > 0)
