"""Model quality: the join of captured predictions with late labels, metrics against
scikit-learn, label coverage, and what cannot be joined."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, recall_score

from lab.endpoint.capture import capture_record
from model_code import quality
from model_code.drift import Window
from tests.model_code.drift_fixture import T0, record_line

WINDOW = Window(T0, T0 + timedelta(hours=1))


def test_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 500)
    pred = np.where(rng.random(500) < 0.8, y, rng.integers(0, 10, 500))
    pred[pred == 3] = 4  # class 3 never predicted: its precision and F1 are 0
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (y, pred), 1)
    m = quality.metrics(confusion)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro", zero_division=0))
    recalls = recall_score(y, pred, average=None, labels=list(range(10)), zero_division=0)
    assert [m["recall"][str(c)] for c in range(10)] == pytest.approx(recalls.tolist())


def _capture(folder: Path, items: list[tuple[str | None, int, object]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for inference_id, pred, when in items:
        rec = capture_record(
            "text/csv", b",".join([b"0"] * 64), "text/csv", f"{pred}\n".encode(), when, inference_id
        )
        lines.append(json.dumps(rec))
    (folder / "c.jsonl").write_text("\n".join(lines) + "\n")


def test_late_labels_join_by_inference_id_and_coverage_is_reported(tmp_path: Path) -> None:
    capture = tmp_path / "capture"
    items = [(f"ev-{i}", i % 10, T0 + timedelta(seconds=5 * i)) for i in range(200)]
    items.append((None, 1, T0))  # no inference id: counted, not joinable
    _capture(capture / "2026/11/30/23", [it for it in items if it[2].hour == 23])
    _capture(capture / "2026/12/01/00", [it for it in items if it[2].hour == 0])
    raw = tmp_path / "raw" / "events/year=2026/month=12/day=01/hour=02"
    raw.mkdir(parents=True)
    events = []
    for i in range(150):  # labels for 150 of 200, two hours later; 5 of them wrong
        label = (i % 10) if i >= 5 else (i + 1) % 10
        when = T0 + timedelta(hours=2, seconds=i)
        events.append(
            {
                "event_id": f"ev-{i}",
                "event_time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "features": [0.0] * 64,
                "label": label,
                "source": "t",
            }
        )
    events.append(
        {
            "event_id": "ev-199",
            "event_time": "2026-12-09T00:00:00Z",
            "features": [0.0] * 64,
            "label": 9,
            "source": "t",
        }
    )  # beyond the lag
    with gzip.open(raw / "s-1.gz", "wt") as handle:
        handle.write("".join(json.dumps(e) + "\n" for e in events))
    report = quality.run(
        capture_dir=capture,
        labels_dir=tmp_path / "raw",
        output_dir=tmp_path / "out",
        window=WINDOW,
        label_lag=timedelta(hours=24),
        min_labeled=100,
    )
    assert report["predictions"] == 200 and report["labeled"] == 150
    assert report["label_coverage"] == pytest.approx(0.75)
    assert report["accuracy"] == pytest.approx(145 / 150)
    assert report["skipped"]["no inferenceId: cannot join a label"] == 1
    assert report["skipped"]["labels: label outside the label window"] == 1
    assert report["metrics"]["LabelCoverage"] == pytest.approx(0.75)


def test_few_labels_are_not_read_as_decay(tmp_path: Path) -> None:
    capture = tmp_path / "capture"
    _capture(capture / "2026/11/30/23", [(f"ev-{i}", 0, T0) for i in range(50)])
    gt = tmp_path / "gt" / "2026/12/01/00"
    gt.mkdir(parents=True)
    # Model Monitor's ground-truth layout, a wrong label for each of 10
    gt_lines = [
        {
            "groundTruthData": {"data": "1", "encoding": "CSV"},
            "eventMetadata": {"eventId": f"ev-{i}"},
            "eventVersion": "0",
        }
        for i in range(10)
    ]
    (gt / "gt.jsonl").write_text("".join(json.dumps(x) + "\n" for x in gt_lines))
    report = quality.run(
        capture_dir=capture,
        labels_dir=tmp_path / "gt",
        output_dir=tmp_path / "o",
        window=WINDOW,
        label_lag=timedelta(hours=24),
    )
    assert report["status"] == "insufficient_labels" and report["labeled"] == 10
    assert "Accuracy" not in report["metrics"] and report["label_coverage"] == 0.2
    assert "labels may still be arriving" in report["verdict"]


def test_multi_row_records_are_not_joined(tmp_path: Path) -> None:
    folder = tmp_path / "2026/11/30/23"
    folder.mkdir(parents=True)
    line = json.loads(record_line(np.zeros((2, 64)), [1, 2], T0))
    line["eventMetadata"]["inferenceId"] = "x"
    (folder / "m.jsonl").write_text(json.dumps(line) + "\n")
    summary = quality.join([folder / "m.jsonl"], {"x": 1}, WINDOW)
    assert summary.joined == 0
    assert summary.skipped == {"several rows under one inferenceId: not joinable": 1}
