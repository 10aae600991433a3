"""bias.py against numbers worked out by hand from the formulas in the Clarify docs.

Every expected value below is written from the formula (CI = (n_a - n_d)/(n_a + n_d),
DPL = q_a - q_d, AD = ACC_a - ACC_d), never read back from the code; the AD fixture is the
worked example of the AWS page itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_code import bias

# 7 rows in facet a, then 3 in facet d.
D_MASK = np.array([False] * 7 + [True] * 3)


def test_class_imbalance_seven_a_three_d_is_0_4() -> None:
    """CI = (7 - 3) / (7 + 3) = 0.4; with the facets swapped (3 - 7) / 10 = -0.4."""
    assert bias.class_imbalance(D_MASK) == pytest.approx(0.4)
    assert bias.class_imbalance(~D_MASK) == pytest.approx(-0.4)
    assert bias.facet_counts(D_MASK) == (7, 3)


def test_dpl_binary_label() -> None:
    """a: 4 of 7 positive, d: 1 of 3 positive -> DPL = 4/7 - 1/3 = 5/21."""
    labels = [1, 1, 1, 1, 0, 0, 0] + [1, 0, 0]
    assert bias.label_proportions(labels, D_MASK, 1) == pytest.approx((4 / 7, 1 / 3))
    assert bias.difference_in_proportions(labels, D_MASK, 1) == pytest.approx(5 / 21)


def test_dpl_multiclass_is_one_vs_rest_per_class() -> None:
    """a = [0,0,1,2,2,2,2], d = [0,1,1]:
    DPL:0 = 2/7 - 1/3 = -1/21, DPL:1 = 1/7 - 2/3 = -11/21, DPL:2 = 4/7 - 0/3 = 12/21;
    a declared class 5 nobody has: 0/7 - 0/3 = 0."""
    labels = [0, 0, 1, 2, 2, 2, 2] + [0, 1, 1]
    report = bias.pretraining(labels, D_MASK, classes=[0, 1, 2, 5])
    assert report["n_a"] == 7 and report["n_d"] == 3
    assert report["CI"] == pytest.approx(0.4)
    assert report["DPL"] == pytest.approx({"0": -1 / 21, "1": -11 / 21, "2": 12 / 21, "5": 0.0})
    # Without classes, the labels seen, sorted.
    assert list(bias.pretraining(labels, D_MASK)["DPL"]) == ["0", "1", "2"]


def test_dpl_with_several_positive_labels_counts_them_together() -> None:
    """Labels {1, 2} positive: a has 5 of 7, d has 2 of 3 -> 5/7 - 2/3 = 1/21."""
    labels = [0, 0, 1, 2, 2, 2, 2] + [0, 1, 1]
    assert bias.difference_in_proportions(labels, D_MASK, [1, 2]) == pytest.approx(1 / 21)


def _confusion_rows(tp: int, tn: int, fp: int, fn: int) -> tuple[list[int], list[int]]:
    """Binary (y_true, y_pred) rows holding exactly these confusion counts."""
    true = [1] * tp + [0] * tn + [0] * fp + [1] * fn
    pred = [1] * tp + [0] * tn + [1] * fp + [0] * fn
    return true, pred


def test_accuracy_difference_is_the_aws_worked_example() -> None:
    """The AD page's example: facet a TP 60, TN 10, FP 10, FN 20 -> ACC_a = 0.7; facet d
    TP 40, TN 10, FP 10, FN 40 -> ACC_d = 0.5; AD = 0.2."""
    true_a, pred_a = _confusion_rows(60, 10, 10, 20)
    true_d, pred_d = _confusion_rows(40, 10, 10, 40)
    mask = np.array([False] * 100 + [True] * 100)
    report = bias.posttraining(true_a + true_d, pred_a + pred_d, mask, classes=[0, 1])
    assert report["accuracy"] == pytest.approx({"a": 0.7, "d": 0.5})
    assert report["AD"] == pytest.approx(0.2)
    # recall of class 1 = TP / (TP + FN): a 60/80, d 40/80, both 100/160.
    assert report["recall_a"]["1"] == pytest.approx(0.75)
    assert report["recall_d"]["1"] == pytest.approx(0.5)
    assert report["recall"]["1"] == pytest.approx(100 / 160)
    # recall of class 0 = TN / (TN + FP): a 10/20, d 10/20.
    assert report["recall"]["0"] == pytest.approx(0.5)


def test_per_class_recall_and_a_class_without_rows_is_none() -> None:
    """true [0,0,0,1,1,2], pred [0,0,1,1,0,2]: recall 0 = 2/3, 1 = 1/2, 2 = 1/1; class 3 has
    no rows, so there is no recall (None), not a recall of 0."""
    got = bias.per_class_recall([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 0, 2], [0, 1, 2, 3])
    assert got == pytest.approx({"0": 2 / 3, "1": 0.5, "2": 1.0, "3": None})


@pytest.mark.parametrize(
    ("mask", "empty"),
    [(np.zeros(5, dtype=bool), "d"), (np.ones(5, dtype=bool), "a")],
    ids=["no-row-in-d", "single-group"],
)
def test_an_empty_facet_is_a_clear_error(mask: np.ndarray, empty: str) -> None:
    """A facet with no rows (facet d value absent, or every row in one group) cannot be
    compared: each measure raises and says which facet is empty."""
    labels = [0, 1, 0, 1, 0]
    with pytest.raises(ValueError, match=f"facet {empty} has no rows"):
        bias.class_imbalance(mask)
    with pytest.raises(ValueError, match=f"facet {empty} has no rows"):
        bias.pretraining(labels, mask)
    with pytest.raises(ValueError, match=f"facet {empty} has no rows"):
        bias.posttraining(labels, labels, mask)


def test_bad_masks_and_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="must be boolean"):
        bias.pretraining([0, 1], [0, 1])
    with pytest.raises(ValueError, match="shape"):
        bias.pretraining([0, 1, 1], [True, False])
    with pytest.raises(ValueError, match="labels but"):
        bias.posttraining([0, 1], [0], [True, False])


def test_facet_mask_by_values_or_threshold() -> None:
    assert bias.facet_mask(["x", "y", "x", "z"], d_values=["x", "z"]).tolist() == [
        True,
        False,
        True,
        True,
    ]
    assert bias.facet_mask([1, 5, 3, 2], threshold=2).tolist() == [False, True, True, False]
    with pytest.raises(ValueError, match="exactly one"):
        bias.facet_mask([1, 2])
    with pytest.raises(ValueError, match="exactly one"):
        bias.facet_mask([1, 2], d_values=[1], threshold=1)
    with pytest.raises(ValueError, match="empty"):
        bias.facet_mask([1, 2], d_values=[])


def test_judge_names_each_value_outside_its_range_and_bounds_are_inclusive() -> None:
    """CI 0.4 passes |CI| <= 0.4 (boundary) and fails |CI| <= 0.3; a family range ("DPL")
    covers every class, an exact name ("DPL:2") overrides it."""
    labels = [0, 0, 1, 2, 2, 2, 2] + [0, 1, 1]
    report = bias.pretraining(labels, D_MASK)  # DPL 0: -1/21, 1: -11/21, 2: 12/21
    assert bias.judge(report, {"CI": bias.symmetric(0.4)}) == []
    assert bias.judge(report, {"CI": bias.symmetric(0.3)}) == [
        {"measure": "CI", "value": pytest.approx(0.4), "range": [-0.3, 0.3]}
    ]
    got = bias.judge(report, {"DPL": bias.symmetric(0.5), "DPL:2": (-1.0, 1.0)})
    assert got == [{"measure": "DPL:1", "value": pytest.approx(-11 / 21), "range": [-0.5, 0.5]}]


def test_judge_fails_what_it_could_not_measure_and_rejects_unknown_names() -> None:
    report = {
        "AD": 0.0,
        "recall": bias.per_class_recall([0, 0, 1], [0, 0, 1], [0, 1, 2]),
    }  # recall 0 = 1, 1 = 1, 2 = None (no rows)
    assert bias.judge(report, {"recall": (0.9, 1.0)}) == [
        {"measure": "recall:2", "value": None, "range": [0.9, 1.0]}
    ]
    with pytest.raises(ValueError, match="no measure named DPPL"):
        bias.judge(report, {"DPPL": (0.0, 1.0)})
    with pytest.raises(ValueError, match="empty"):
        bias.judge(report, {"AD": (0.1, -0.1)})
    with pytest.raises(ValueError, match=">= 0"):
        bias.symmetric(-0.1)


masks = st.lists(st.booleans(), min_size=2, max_size=60).filter(lambda m: 0 < sum(m) < len(m))


@settings(max_examples=150, deadline=None)
@given(mask=masks, data=st.data())
def test_property_ci_bounded_and_swapping_facets_negates_ci_and_dpl(
    mask: list[bool], data: st.DataObject
) -> None:
    """For any two non-empty facets: CI lies in [-1, 1], and exchanging a and d negates CI
    and every DPL (both are differences a - d)."""
    labels = data.draw(st.lists(st.integers(0, 3), min_size=len(mask), max_size=len(mask)))
    m = np.array(mask)
    ci = bias.class_imbalance(m)
    assert -1.0 <= ci <= 1.0
    assert bias.class_imbalance(~m) == -ci
    here, swapped = bias.pretraining(labels, m, range(4)), bias.pretraining(labels, ~m, range(4))
    assert swapped["CI"] == -here["CI"]
    assert swapped["DPL"] == {k: -v for k, v in here["DPL"].items()}
    assert all(-1.0 <= v <= 1.0 for v in here["DPL"].values())


def test_null_labels_are_refused_rather_than_counted_as_negative() -> None:
    """An unlabelled row would count in n_d but never as positive (q_d 1/3 instead of 1/2)."""
    with pytest.raises(ValueError, match="labels hold 1 null"):
        bias.pretraining([1, 0, 0, 1, None, 0], np.array([False] * 3 + [True] * 3))
    with pytest.raises(ValueError, match="labels hold 1 null"):
        bias.difference_in_proportions([1.0, 0.0, np.nan, 1.0], np.array([0, 0, 1, 1]) == 1, 1)
    with pytest.raises(ValueError, match="predictions hold 1 null"):
        bias.posttraining([1, 0], [1, None], np.array([False, True]))
