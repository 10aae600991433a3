"""Preprocess raw Digits events into built-in-XGBoost CSVs plus baseline statistics.

Runs in the SageMaker scikit-learn processing container (no SDK imports). Reads every
gzip JSON-lines object under the input dir, validates, de-duplicates, imputes, splits
(stratified), and writes train/validation/test CSVs (label first, no header), the training
baseline statistics and a rejected-records report. With --bias-facet-value it also gates on
pre-training bias over the events' source (``bias_gate``: baseline/bias.json, and
test/facet.json for evaluate's per-group metrics). Every path is a CLI argument.
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
    from model_code import bias, data_quality, lineage
    from model_code.events import N_CLASSES, N_FEATURES, validate_event
except ImportError:  # in the container model_code arrives as a second processing input
    sys.path.insert(0, os.environ.get("MODEL_CODE_LIB", "/opt/ml/processing/input/lib"))
    from model_code import bias, data_quality, lineage
    from model_code.events import N_CLASSES, N_FEATURES, validate_event

RANDOM_STATE = 42
FEATURES = [f"f{i}" for i in range(N_FEATURES)]
LABEL = "label"
FACET = "source"  # the events' field the bias checks split the rows by
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


def read_events(input_dir: Path, dedupe: bool = True) -> Dataset:
    """Read and validate every *.gz JSON-lines file under input_dir (recursively).

    Rows come sorted by event_time (first arrival first); ``dedupe=False`` keeps later copies
    of an event id, so the data-quality gate can count and quarantine them."""
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
                    source=event["source"],
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
    frame = pd.DataFrame(rows, columns=[*FEATURES, "event_id", "event_time", FACET, LABEL])
    before = len(frame)
    # First arrival wins: Firehose may redeliver, and a replay must not weigh twice.
    frame = frame.sort_values("event_time", kind="stable")
    if dedupe:
        frame = frame.drop_duplicates("event_id")
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


@dataclass(frozen=True)
class BiasBounds:
    """The pre-training bias gate: rows whose source is in ``facet_values`` are facet d;
    |CI| and every class's |DPL| must stay within the bounds (inclusive)."""

    facet_values: tuple[str, ...]
    max_abs_ci: float
    max_abs_dpl: float


def bias_gate(
    frame: pd.DataFrame, test_part: pd.DataFrame, output_dir: Path, bounds: BiasBounds
) -> dict[str, Any]:
    """CI and DPL of the labelled rows over the source facet, judged against ``bounds``.

    Writes ``baseline/bias.json`` (the measures, bounds and violations) and, for evaluate's
    per-group metrics, ``test/facet.json``: the facet of each test row in test.csv's order
    plus these pre-training figures. Raises ValueError naming each measure outside its bound
    (the value and the bound), so the run stops before training.
    """
    output_dir = Path(output_dir)
    sources = frame[FACET].astype(str)
    in_d = bias.facet_mask(sources.to_numpy(), d_values=bounds.facet_values)
    try:
        report = bias.pretraining(frame[LABEL].to_numpy(), in_d)
    except ValueError as err:  # one facet empty: the data or the profile's facet is wrong
        seen = ", ".join(sorted(sources.unique())[:5])
        raise ValueError(
            f"bias gate: facet d is source in {list(bounds.facet_values)}, the data's sources "
            f"are {seen}: {err} (bias.facet_values in the profile)"
        ) from err
    ranges = {"CI": bias.symmetric(bounds.max_abs_ci), "DPL": bias.symmetric(bounds.max_abs_dpl)}
    violations = bias.judge(report, ranges)
    result = {
        "facet": FACET,
        "facet_values": list(bounds.facet_values),
        "pretraining": report,
        "bounds": {"max_abs_ci": bounds.max_abs_ci, "max_abs_dpl": bounds.max_abs_dpl},
        "violations": violations,
    }
    (output_dir / "baseline").mkdir(parents=True, exist_ok=True)
    (output_dir / "baseline" / "bias.json").write_text(json.dumps(result, indent=2))
    (output_dir / "test").mkdir(parents=True, exist_ok=True)
    facet_rows = {**result, "rows": test_part[FACET].astype(str).tolist()}
    (output_dir / "test" / "facet.json").write_text(json.dumps(facet_rows))
    if violations:
        named = "; ".join(
            f"{v['measure']} = {v['value']:.4f} outside [{v['range'][0]:g}, {v['range'][1]:g}]"
            for v in violations
        )
        raise ValueError(
            f"bias gate failed: {named} (facet d: source in {list(bounds.facet_values)}, "
            f"n_a={report['n_a']}, n_d={report['n_d']}; report baseline/bias.json)"
        )
    return result


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Label first, no header, no index: the built-in XGBoost CSV convention."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame[[LABEL, *FEATURES]].to_csv(path, header=False, index=False)


# The checked rows' columns, in the order the Glue table (infra/training/data_quality.py)
# declares them.
DATASET_COLUMNS = ["event_id", "event_time", LABEL, *FEATURES]


class DataQualityFailed(ValueError):
    """The data broke a declared constraint; the message is data_quality.summary's line."""


def digits_constraints(
    *,
    min_rows: int | None = None,
    max_rejected_share: float | None = None,
    max_missing_share: float | None = None,
    feature_range: tuple[float, float] | None = None,
    max_duplicate_share: float | None = None,
    min_class_count: int | None = None,
    max_class_imbalance: float | None = None,
) -> data_quality.Constraints:
    """The profile's data_quality limits over the Digits columns: one missing share and one
    range for every pixel f0..f63, the classes 0-9 declared (a class with no rows counts)."""
    return data_quality.Constraints(
        min_rows=min_rows,
        max_rejected_share=max_rejected_share,
        max_missing_share={f: max_missing_share for f in FEATURES}
        if max_missing_share is not None
        else {},
        value_ranges={f: (float(feature_range[0]), float(feature_range[1])) for f in FEATURES}
        if feature_range
        else {},
        max_duplicate_share=max_duplicate_share,
        min_class_count=min_class_count,
        max_class_imbalance=max_class_imbalance,
        classes=tuple(range(N_CLASSES)),
    )


def quality_gate(
    data: Dataset,
    constraints: data_quality.Constraints,
    report_dir: Path,
    quarantine_dir: Path,
    dataset_dir: Path | None = None,
) -> pd.DataFrame:
    """Judge the rows read (duplicates still in) against ``constraints``; write the report
    (data_quality.json) and every row not kept to the quarantine: quarantined rows with their
    reasons (rows.csv) and each record the schema rejected (rejected.jsonl, all of them, not
    the capped examples). With ``dataset_dir``, the rows checked are also written there as
    DATASET_COLUMNS CSV without a header: the Glue table the same rules run on in DQDL.
    Returns the kept rows; raises DataQualityFailed after writing."""
    result = data_quality.check(data.frame, constraints, rejected=len(data.rejected))
    if dataset_dir is not None:
        Path(dataset_dir).mkdir(parents=True, exist_ok=True)
        data.frame[DATASET_COLUMNS].to_csv(
            Path(dataset_dir) / "events.csv", header=False, index=False
        )
    report_dir.mkdir(parents=True, exist_ok=True)
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    report = {**result.report, "summary": data_quality.summary(result.report)}
    (report_dir / "data_quality.json").write_text(json.dumps(report, indent=2))
    if len(result.quarantined):
        result.quarantined.to_csv(quarantine_dir / "rows.csv", index=False)
    if data.rejected:
        with (quarantine_dir / "rejected.jsonl").open("w") as out:
            for item in data.rejected:
                out.write(json.dumps(item) + "\n")
    if not result.passed:
        raise DataQualityFailed(report["summary"])
    return result.kept


def preprocess(
    input_dir: Path,
    output_dir: Path,
    validation: float = 0.15,
    test: float = 0.15,
    constraints: data_quality.Constraints | None = None,
    quarantine_dir: Path | None = None,
    dataset_dir: Path | None = None,
    bias_bounds: BiasBounds | None = None,
    input_uri: str | None = None,
) -> dict[str, Any]:
    """The whole step; returns the row counts. Outputs land in output_dir/<name>/.

    With ``constraints`` the data-quality gate runs first (``quality_gate``): its report goes
    to output_dir/data_quality/, rows it does not keep to ``quarantine_dir``
    (default output_dir/quarantine/), and a violated constraint stops the step. With
    ``bias_bounds`` the bias gate runs on the labelled rows before anything is written
    for training (``bias_gate``). The lineage manifest (model_code/lineage.py) goes to
    output_dir/manifest/: each raw object read (``input_uri`` + its path under input_dir) with
    the IDs of its events in the dataset."""
    output_dir = Path(output_dir)
    data = read_events(Path(input_dir), dedupe=constraints is None)
    if constraints is not None:
        kept = quality_gate(
            data,
            constraints,
            output_dir / "data_quality",
            Path(quarantine_dir or output_dir / "quarantine"),
            dataset_dir,
        )
        duplicates = int(data.frame["event_id"].duplicated().sum())
        kept = kept.drop_duplicates("event_id")  # when no duplicate limit quarantined them
        data = Dataset(kept, data.files, data.records, data.rejected, duplicates, data.objects)
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
    if bias_bounds is not None:
        bias_gate(frame, tst, output_dir, bias_bounds)
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
    # The data-quality gate's limits (the profile's data_quality section); none given: no gate.
    gate = parser.add_argument_group("data-quality gate")
    gate.add_argument("--min-rows", type=int)
    gate.add_argument("--max-rejected-share", type=float)
    gate.add_argument("--max-missing-share", type=float, help="per feature")
    gate.add_argument("--feature-range", type=float, nargs=2, metavar=("LOW", "HIGH"))
    gate.add_argument("--max-duplicate-share", type=float)
    gate.add_argument("--min-class-count", type=int)
    gate.add_argument("--max-class-imbalance", type=float)
    gate.add_argument("--quarantine-dir", help="default <output-dir>/quarantine")
    gate.add_argument("--dataset-dir", help="write the rows checked here (the Glue table's)")
    gate.add_argument(
        "--exit-message",
        help="also write a failure here (/opt/ml/output/message: the job's ExitMessage)",
    )
    parser.add_argument(
        "--bias-facet-value",
        action="append",
        help="a source value of facet d (repeatable); without one the bias gate is off",
    )
    parser.add_argument("--max-abs-ci", type=float, default=1.0)
    parser.add_argument("--max-abs-dpl", type=float, default=1.0)
    # The S3 prefix mounted at --input-dir, so the manifest names the objects' S3 URIs.
    parser.add_argument("--input-uri", default=None)
    args = parser.parse_args(argv)
    limits = {
        name: getattr(args, name)
        for name in (
            "min_rows",
            "max_rejected_share",
            "max_missing_share",
            "feature_range",
            "max_duplicate_share",
            "min_class_count",
            "max_class_imbalance",
        )
    }
    bounds = (
        BiasBounds(tuple(args.bias_facet_value), args.max_abs_ci, args.max_abs_dpl)
        if args.bias_facet_value
        else None
    )
    try:
        constraints = (
            digits_constraints(**limits) if any(v is not None for v in limits.values()) else None
        )
        counts = preprocess(
            Path(args.input_dir),
            Path(args.output_dir),
            args.validation_fraction,
            args.test_fraction,
            constraints=constraints,
            quarantine_dir=Path(args.quarantine_dir) if args.quarantine_dir else None,
            dataset_dir=Path(args.dataset_dir) if args.dataset_dir else None,
            bias_bounds=bounds,
            input_uri=args.input_uri,
        )
    except ValueError as err:
        message = f"preprocess failed: {str(err) or repr(err)}"
        if args.exit_message:
            # DescribeProcessingJob's ExitMessage holds the first 1 KB of this file:
            # https://docs.aws.amazon.com/sagemaker/latest/dg/byoc-metadata.html
            path = Path(args.exit_message)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(message[:1024], encoding="utf-8")
        print(message, file=sys.stderr)
        return 1
    bias_gate_state = "passed" if bounds is not None else "off"  # off: no --bias-facet-value
    print(
        "preprocess: "
        + ", ".join(f"{k}={v}" for k, v in counts.items())
        + f", bias={bias_gate_state}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
