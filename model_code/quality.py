"""Model quality: captured predictions joined with labels that arrive later.

Runs beside the drift job (numpy only, no SDK). A prediction is joined by its capture
record's ``inferenceId`` (the client sends the event id as InferenceId) with the label of the
same id found in the labels' window, which extends ``label_lag`` past the predictions' window
because labels arrive late. Labels come from raw-zone events (``event_id``, ``label``) or from
Model Monitor ground-truth records (``groundTruthData`` + ``eventMetadata.eventId``).

Only single-row records join (one inference id names one row). Label coverage, the share of
joinable predictions that found a label, is published with the metrics so that missing
labels are never read as decay; below ``min_labeled`` joined rows it reports without judging.
Confusion matrices merge by addition, so shards combine like the drift job's histograms.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

try:
    from model_code import monitoring_contract as contract
    from model_code.drift import RecordError, Window, capture_files, parse_predictions
except ImportError:  # in the container model_code arrives as a second processing input
    sys.path.insert(0, os.environ.get("MODEL_CODE_LIB", "/opt/ml/processing/input/lib"))
    from model_code import monitoring_contract as contract
    from model_code.drift import RecordError, Window, capture_files, parse_predictions

N_CLASSES = 10
DEFAULT_MIN_LABELED = 100
QUALITY_REPORT_FILE = contract.QUALITY_REPORT_FILE


def read_labels(files: list[Path], start: Any, end: Any) -> tuple[dict[str, int], Counter[str]]:
    """id -> label of every labelled record in [start, end); first arrival wins."""
    labels: dict[str, int] = {}
    skipped: Counter[str] = Counter()
    for path in files:
        try:
            if path.suffix == ".gz":
                with gzip.open(path, "rt", encoding="utf-8") as handle:
                    lines = handle.read().splitlines()
            else:
                lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, EOFError, UnicodeDecodeError):
            skipped["unreadable label file"] += 1
            continue
        for line in lines:
            if not line.strip():
                continue
            try:
                key, label, when = _label_record(json.loads(line))
            except (ValueError, KeyError, TypeError):
                skipped["not a label record"] += 1
                continue
            if label is None:
                continue  # unlabelled traffic event
            if when is not None and not start <= when < end:
                skipped["label outside the label window"] += 1
                continue
            labels.setdefault(key, label)
    return labels, skipped


def _label_record(doc: dict[str, Any]) -> tuple[str, int | None, Any]:
    if "groundTruthData" in doc:  # Model Monitor's ground-truth layout
        data = doc["groundTruthData"]
        if str(data.get("encoding", "CSV")).upper() == "JSON":
            value = json.loads(data["data"])
        else:
            value = data["data"]
        return str(doc["eventMetadata"]["eventId"]), _class(value), None
    label = doc.get("label")
    return (
        str(doc["event_id"]),
        None if label is None else _class(label),
        (contract.parse_time(doc["event_time"]) if "event_time" in doc else None),
    )


def _class(value: Any) -> int:
    number = float(value)
    if not number.is_integer() or not 0 <= number < N_CLASSES:
        raise ValueError(f"label {value!r} is not a class 0-{N_CLASSES - 1}")
    return int(number)


@dataclass
class QualitySummary:
    confusion: np.ndarray = field(default_factory=lambda: np.zeros((N_CLASSES, N_CLASSES), int))
    predictions: int = 0  # joinable predictions (single row, with an inference id)
    joined: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def merge(self, other: QualitySummary) -> QualitySummary:
        self.confusion += other.confusion
        self.predictions += other.predictions
        self.joined += other.joined
        self.skipped.update(other.skipped)
        return self


def join(files: list[Path], labels: dict[str, int], window: Window) -> QualitySummary:
    out = QualitySummary()
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            out.skipped["unreadable capture file"] += 1
            continue
        for line in lines:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                meta = record.get("eventMetadata", {})
                when = contract.parse_time(meta["inferenceTime"])
                if window.deployed_at is not None and when < window.deployed_at:
                    raise RecordError("captured before the deployed model version went live")
                if not window.start <= when < window.end:
                    raise RecordError("outside the window")
                inference_id = meta.get("inferenceId")
                if not inference_id:
                    raise RecordError("no inferenceId: cannot join a label")
                predicted = parse_predictions(record["captureData"]["endpointOutput"])
                if len(predicted) != 1:
                    raise RecordError("several rows under one inferenceId: not joinable")
            except RecordError as err:
                out.skipped[str(err)] += 1
                continue
            except (ValueError, KeyError, TypeError, AttributeError):
                out.skipped["not a usable capture record"] += 1
                continue
            out.predictions += 1
            label = labels.get(inference_id)
            if label is not None:
                out.joined += 1
                out.confusion[label, predicted[0]] += 1
    return out


def metrics(confusion: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1 over the classes seen (labels or predictions), per-class recall."""
    total = confusion.sum()
    tp = np.diag(confusion).astype(float)
    actual = confusion.sum(axis=1).astype(float)
    predicted = confusion.sum(axis=0).astype(float)
    seen = (actual + predicted) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(actual > 0, tp / actual, 0.0)
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return {
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "macro_f1": float(f1[seen].mean()) if seen.any() else 0.0,
        "recall": {str(c): float(recall[c]) for c in range(N_CLASSES) if actual[c] > 0},
    }


def judge(
    summary: QualitySummary, window: Window, label_lag: timedelta, min_labeled: int
) -> dict[str, Any]:
    coverage = summary.joined / summary.predictions if summary.predictions else 0.0
    report: dict[str, Any] = {
        "window": {"start": contract.iso(window.start), "end": contract.iso(window.end)},
        "label_window_end": contract.iso(window.end + label_lag),
        "predictions": summary.predictions,
        "labeled": summary.joined,
        "label_coverage": round(coverage, 6),
        "skipped": dict(sorted(summary.skipped.items())),
        "metrics": {contract.METRIC_LABEL_COVERAGE: coverage},
    }
    if summary.joined < min_labeled:
        report["status"] = "insufficient_labels"
        report["verdict"] = (
            f"not judged: {summary.joined} labelled predictions, at least {min_labeled} are "
            f"needed (coverage {coverage:.0%}; labels may still be arriving)"
        )
        return report
    m = metrics(summary.confusion)
    report.update(status="judged", confusion=summary.confusion.tolist(), **m)
    report["verdict"] = (
        f"accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f} on {summary.joined} "
        f"labelled predictions (coverage {coverage:.0%})"
    )
    report["metrics"].update(
        {contract.METRIC_ACCURACY: m["accuracy"], contract.METRIC_MACRO_F1: m["macro_f1"]}
    )
    return report


def run(
    *,
    capture_dir: Path,
    labels_dir: Path,
    output_dir: Path,
    window: Window,
    label_lag: timedelta,
    min_labeled: int = DEFAULT_MIN_LABELED,
    all_files: bool = False,
) -> dict[str, Any]:
    label_files = sorted(
        p for p in Path(labels_dir).rglob("*") if p.is_file() and p.suffix in (".gz", ".jsonl")
    )
    labels, label_skips = read_labels(label_files, window.start, window.end + label_lag)
    files = capture_files(Path(capture_dir), None if all_files else window)
    summary = join(files, labels, window)
    summary.skipped.update({f"labels: {k}": v for k, v in label_skips.items()})
    report = judge(summary, window, label_lag, min_labeled)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / QUALITY_REPORT_FILE).write_text(json.dumps(report, indent=2))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="model quality: predictions joined to labels")
    parser.add_argument("--capture-dir", type=Path, default=Path("/opt/ml/processing/capture"))
    parser.add_argument("--labels-dir", type=Path, default=Path("/opt/ml/processing/labels"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument("--start", required=True)
    parser.add_argument("--end", required=True)
    parser.add_argument("--deployed-at")
    parser.add_argument("--label-lag-hours", type=float, default=24.0)
    parser.add_argument("--min-labeled", type=int, default=DEFAULT_MIN_LABELED)
    parser.add_argument(
        "--all-files", action="store_true", help="the capture input is already the window"
    )
    args = parser.parse_args(argv)
    try:
        window = Window(
            contract.parse_time(args.start),
            contract.parse_time(args.end),
            contract.parse_time(args.deployed_at) if args.deployed_at else None,
        )
    except ValueError as err:
        print(f"quality: bad time: {err}", file=sys.stderr)
        return 2
    report = run(
        capture_dir=args.capture_dir,
        labels_dir=args.labels_dir,
        output_dir=args.output_dir,
        window=window,
        label_lag=timedelta(hours=args.label_lag_hours),
        min_labeled=args.min_labeled,
        all_files=args.all_files,
    )
    print(f"quality: {report['status']}: {report['verdict']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
