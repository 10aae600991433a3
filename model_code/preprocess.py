"""Preprocess raw Digits events into built-in-XGBoost CSVs plus baseline statistics.

Runs in the SageMaker scikit-learn processing container (no SDK imports). Reads every
gzip JSON-lines object under the input dir, validates, de-duplicates, imputes, splits
(stratified), and writes train/validation/test CSVs (label first, no header), the training
baseline statistics and a rejected-records report. Every path is a CLI argument.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gzip
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

# model_code must run on the containers' Python (3.9/3.10 in the sklearn 1.2-1 and XGBoost
# 3.0-5 images, verify per image), so no zip(strict=...), match or 3.11-only stdlib here.
# events.py imports datetime.UTC (3.11+): alias it on older interpreters before importing.
if not hasattr(_dt, "UTC"):
    _dt.UTC = _dt.timezone.utc  # type: ignore[attr-defined,misc]  # noqa: UP017

try:
    from model_code import lineage
    from model_code.events import N_FEATURES, validate_event
except ImportError:  # in the container model_code arrives as a second processing input
    sys.path.insert(0, os.environ.get("MODEL_CODE_LIB", "/opt/ml/processing/input/lib"))
    from model_code import lineage
    from model_code.events import N_FEATURES, validate_event

RANDOM_STATE = 42
FEATURES = [f"f{i}" for i in range(N_FEATURES)]
LABEL = "label"
# The rejected report keeps at most this many examples so a bad day cannot blow it up.
MAX_REJECTED_EXAMPLES = 1000


@dataclass
class Dataset:
    """Valid, de-duplicated events: one row per event_id, features may hold NaN."""

    frame: pd.DataFrame
    files: int
    records: int
    rejected: list[dict[str, Any]]
    duplicates: int
    # raw object path -> the IDs of its valid events (the lineage manifest's source)
    objects: dict[Path, list[str]] = field(default_factory=dict)


def read_events(input_dir: Path) -> Dataset:
    """Read and validate every *.gz JSON-lines file under input_dir (recursively)."""
    files = sorted(p for p in Path(input_dir).rglob("*.gz") if p.is_file())
    if not files:
        raise ValueError(f"no event files (*.gz) under input prefix {input_dir}")
    rows: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    objects: dict[Path, list[str]] = {}
    records = 0
    for path in files:
        objects[path] = []
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                records += 1
                try:
                    event = json.loads(line)
                    reasons = validate_event(event)
                except json.JSONDecodeError as err:
                    event, reasons = None, [f"not JSON: {err.msg}"]
                if reasons:
                    rejected.append(
                        {
                            "file": str(path.relative_to(input_dir)),
                            "line": line_no,
                            "event_id": event.get("event_id") if isinstance(event, dict) else None,
                            "reasons": reasons,
                        }
                    )
                    continue
                row = {name: event["features"][i] for i, name in enumerate(FEATURES)}
                row.update(
                    event_id=event["event_id"],
                    event_time=event["event_time"],
                    label=event.get("label"),
                )
                rows.append(row)
                objects[path].append(str(event["event_id"]))
    if not rows:
        raise ValueError(
            f"no valid events under {input_dir}: all {records} record(s) in {len(files)} "
            f"file(s) were invalid"
            if records
            else f"no events in {len(files)} file(s)"
        )
    frame = pd.DataFrame(rows, columns=[*FEATURES, "event_id", "event_time", LABEL])
    before = len(frame)
    # First arrival wins: Firehose may redeliver, and a replay must not weigh twice.
    frame = frame.sort_values("event_time", kind="stable").drop_duplicates("event_id")
    return Dataset(frame, len(files), records, rejected, before - len(frame), objects)


def labeled(frame: pd.DataFrame) -> pd.DataFrame:
    """Only labelled rows can train; raise when none are left."""
    out = frame[frame[LABEL].notna()].copy()
    if out.empty:
        raise ValueError("label missing: no labelled events to train on")
    out[LABEL] = out[LABEL].astype(int)
    return out


def split(
    frame: pd.DataFrame, validation: float, test: float, random_state: int = RANDOM_STATE
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stratified train/validation/test split; every class needs enough rows for each part."""
    if not (0 < validation < 1 and 0 < test < 1 and validation + test < 1):
        raise ValueError(f"bad split fractions validation={validation} test={test}")
    counts = frame[LABEL].value_counts()
    # Two stratified cuts need at least one row per class per part, so 3 rows per class.
    too_few = counts[counts < 3]
    if not too_few.empty:
        raise ValueError(
            "too few rows per class to stratify (need >= 3): "
            + ", ".join(f"class {k}: {v}" for k, v in too_few.sort_index().items())
        )
    try:
        rest, test_part = train_test_split(
            frame, test_size=test, stratify=frame[LABEL], random_state=random_state
        )
        train_part, val_part = train_test_split(
            rest,
            test_size=validation / (1 - test),
            stratify=rest[LABEL],
            random_state=random_state,
        )
    except ValueError as err:  # sklearn: a part smaller than the number of classes
        raise ValueError(f"too few rows per class to stratify: {err}") from err
    return train_part, val_part, test_part


def impute(
    parts: list[pd.DataFrame], medians: pd.Series | None = None
) -> tuple[list[pd.DataFrame], pd.Series]:
    """Fill null features with the TRAINING median (parts[0]) so no test data leaks in.

    A feature that is null in every training row falls back to 0.0 (blank pixel).
    """
    if medians is None:
        medians = parts[0][FEATURES].median().fillna(0.0)
    return [p.assign(**{c: p[c].fillna(medians[c]) for c in FEATURES}) for p in parts], medians


def baseline_statistics(
    train: pd.DataFrame, counts: dict[str, int], medians: pd.Series
) -> dict[str, Any]:
    """Per-feature stats of the training features, the reference for drift checks."""
    features: dict[str, Any] = {}
    for name in FEATURES:
        col = train[name].to_numpy(dtype=float)
        hist, edges = np.histogram(col, bins=10)
        q = np.quantile(col, [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0])
        features[name] = {
            "mean": float(col.mean()),
            "std": float(col.std(ddof=0)),
            "min": float(col.min()),
            "max": float(col.max()),
            "quantiles": {
                key: float(q[i])
                for i, key in enumerate(["p0", "p5", "p25", "p50", "p75", "p95", "p100"])
            },
            "histogram": {"bin_edges": [float(e) for e in edges], "counts": [int(c) for c in hist]},
            "impute_value": float(medians[name]),
        }
    classes = train[LABEL].value_counts().sort_index()
    return {
        "version": 1,
        "row_counts": counts,
        "class_distribution": {str(k): int(v) for k, v in classes.items()},
        "features": features,
    }


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Label first, no header, no index: the built-in XGBoost CSV convention."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame[[LABEL, *FEATURES]].to_csv(path, header=False, index=False)


def preprocess(
    input_dir: Path,
    output_dir: Path,
    validation: float = 0.15,
    test: float = 0.15,
    input_uri: str | None = None,
) -> dict[str, Any]:
    """The whole step; returns the row counts. Outputs land in output_dir/<name>/, the
    lineage manifest (model_code/lineage.py) in output_dir/manifest/: each raw object read
    (``input_uri`` + its path under input_dir) with the IDs of its events in the dataset."""
    output_dir = Path(output_dir)
    data = read_events(Path(input_dir))
    report_dir = output_dir / "baseline"
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "rejected.json").write_text(
        json.dumps(
            {
                "records": data.records,
                "rejected": len(data.rejected),
                "duplicates": data.duplicates,
                "examples": data.rejected[:MAX_REJECTED_EXAMPLES],
            },
            indent=2,
        )
    )
    frame = labeled(data.frame)
    unlabeled = len(data.frame) - len(frame)
    train, val, tst = split(frame, validation, test)
    (train, val, tst), medians = impute([train, val, tst])
    counts = {
        "files": data.files,
        "records": data.records,
        "rejected": len(data.rejected),
        "duplicates": data.duplicates,
        "unlabeled": unlabeled,
        "train": len(train),
        "validation": len(val),
        "test": len(tst),
    }
    for name, part in (("train", train), ("validation", val), ("test", tst)):
        write_csv(part, output_dir / name / f"{name}.csv")
    used = set(frame["event_id"])
    lineage.write_manifest(
        output_dir,
        lineage.build_manifest(
            input_uri,
            (
                (
                    lineage.object_uri(input_uri, Path(input_dir), path),
                    [i for i in ids if i in used],
                )
                for path, ids in data.objects.items()
            ),
        ),
    )
    stats = baseline_statistics(train, counts, medians)
    (report_dir / "baseline_statistics.json").write_text(json.dumps(stats, indent=2))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", default="/opt/ml/processing/input/raw")
    parser.add_argument("--output-dir", default="/opt/ml/processing/output")
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    # The S3 prefix mounted at --input-dir, so the manifest names the objects' S3 URIs.
    parser.add_argument("--input-uri", default=None)
    args = parser.parse_args(argv)
    try:
        counts = preprocess(
            Path(args.input_dir),
            Path(args.output_dir),
            args.validation_fraction,
            args.test_fraction,
            args.input_uri,
        )
    except ValueError as err:
        print(f"preprocess failed: {str(err) or repr(err)}", file=sys.stderr)
        return 1
    print("preprocess: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
