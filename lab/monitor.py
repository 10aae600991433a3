"""The lab's `monitor` stage: traffic through the local endpoint, the drift job on its capture.

Normal Digits traffic, then each drift kind at its default strength, each in its own UTC
window; the drift job (``model_code.drift``, the entry point the processing job runs) judges
every window against the deployed version's own baseline; a drifted window emits the local
``RetrainRequested`` event. Outputs under ``<workdir>/monitor/``: per window a report,
``constraint_violations.json`` and a PNG (8x8 per-pixel PSI heatmap + class mix).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from model_code.layout import VARIANT
from ops.errors import OperationFailed

# One producer --drift spec per kind (ops/producer/drift.py parse_drift), at the strength the
# lab injects and the tests require the drift job to detect.
DEFAULT_DRIFTS = {
    "shift": "shift=2",
    "scale": "scale=1.3",
    "noise": "noise=1.5",
    "clip": "clip=0:8",
}
NORMAL_ROWS = 400  # single-row requests with an inference id (the quality join needs them)
DRIFT_ROWS = 300  # per drift kind, ten rows per request (capture records hold several rows)
SEED = 7


@dataclass(frozen=True)
class WindowResult:
    name: str
    start: datetime
    end: datetime
    report: dict[str, Any]
    folder: Path


def deployed_baseline(
    workdir: Path, monitor_dir: Path, xgboost_group: str | None = None
) -> tuple[int, Path]:
    """(version, baseline copy stamped with that version) for the version the lab serves."""
    from lab.registry import XGBOOST_GROUP, pick_version, read_registry

    group = xgboost_group or XGBOOST_GROUP
    version = pick_version(read_registry(workdir), group)
    recorded = version.get("drift_baseline")
    source = workdir / recorded if recorded else None  # relative to the work folder
    if source is None or not source.is_file():
        raise OperationFailed(
            f"{group} version {version['version']} has no drift baseline "
            f"({recorded or 'not recorded'}): rerun `labctl lab --only train`"
        )
    doc = json.loads(source.read_text())
    doc["model_version"] = int(version["version"])
    target = monitor_dir / f"baseline-v{version['version']}.json"
    target.write_text(json.dumps(doc))
    return int(version["version"]), target


def _next_second(now: datetime | None = None) -> datetime:
    """The next whole second, after waiting for it: capture inferenceTime has 1 s resolution,
    so windows start on a second no earlier request can carry."""
    now = now or datetime.now(UTC)
    boundary = now.replace(microsecond=0) + timedelta(seconds=1)
    time.sleep(max(0.0, (boundary - datetime.now(UTC)).total_seconds()) + 0.01)
    return boundary


def send_traffic(
    client: Any, endpoint: str, rows: np.ndarray, rows_per_request: int, ids: list[str] | None
) -> list[int]:
    from ops.payload import CSV, encode_rows, parse_predictions

    predictions: list[int] = []
    for start in range(0, len(rows), rows_per_request):
        chunk = rows[start : start + rows_per_request]
        kwargs: dict[str, Any] = {
            "EndpointName": endpoint,
            "Body": encode_rows(chunk, CSV),
            "ContentType": CSV,
            "Accept": CSV,
        }
        if ids is not None and rows_per_request == 1:
            kwargs["InferenceId"] = ids[start]
        response = client.invoke_endpoint(**kwargs)
        body = response["Body"].read()
        predictions += [int(p) for p in parse_predictions(body, response.get("ContentType"))]
    return predictions


def write_drift_png(report: dict[str, Any], path: Path) -> Path | None:
    """8x8 per-pixel PSI heatmap (drifted pixels boxed) and the predicted-class mix."""
    if "features" not in report:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle

    psi = np.array([report["features"][f"f{i}"]["psi"] for i in range(64)]).reshape(8, 8)
    drifted = np.array([report["features"][f"f{i}"]["drifted"] for i in range(64)]).reshape(8, 8)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    image = left.imshow(np.clip(psi, 1e-3, None), cmap="magma", norm=LogNorm(1e-3, 20))
    for r, c in zip(*np.nonzero(drifted), strict=True):
        left.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, color="cyan", lw=1.5))
    left.set_title(f"per-pixel PSI (boxed: drifted), share {report['drifted_share']:.2f}")
    left.set_xticks(range(8))
    left.set_yticks(range(8))
    fig.colorbar(image, ax=left, fraction=0.046)
    mix = report.get("class_mix") or {}
    classes = np.arange(10)
    if mix.get("observed_share"):
        right.bar(classes - 0.2, mix["expected_share"], 0.4, label="training prior")
        right.bar(classes + 0.2, mix["observed_share"], 0.4, label="predicted in window")
        right.set_title(f"predicted-class mix (chi-square p={mix['p']:.2g})")
        right.legend()
    else:
        right.text(0.5, 0.5, "class mix not evaluated", ha="center", va="center")
    right.set_xticks(classes)
    right.set_xlabel("digit")
    fig.suptitle(f"{report.get('endpoint', '')} {report['window']['start']}: {report['status']}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def emit_local_retrain(monitor_dir: Path, result: WindowResult, endpoint: str) -> Path:
    """The RetrainRequested PutEvents entry the cloud bridge would send, written to a file."""
    from model_code import monitoring_contract as contract

    detail = contract.retrain_detail(
        reason=result.report["verdict"],
        endpoint=endpoint,
        window=result.report["window"],
        metrics=result.report["metrics"],
        requested_at=datetime.now(UTC),
        trigger=f"lab monitor window {result.name}",
    )
    path = monitor_dir / "events" / f"retrain-requested-{result.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(contract.retrain_entry(detail), indent=2))
    return path


def _lab_quality(
    monitor_dir: Path,
    capture: Path,
    window: tuple[str, datetime, datetime],
    labels: list[tuple[str, int, list[float]]],
) -> str:
    """Labels for 80 % of the normal traffic land in a raw zone later; the join reports
    accuracy, macro-F1 and the 80 % coverage (the rest are "still arriving")."""
    from model_code import quality
    from model_code.drift import Window
    from ops.producer import utc_stamp, write_local_lake

    raw = monitor_dir / "raw"
    arrived = labels[: int(len(labels) * 0.8)]
    now = datetime.now(UTC)
    events = [
        {
            "event_id": key,
            "event_time": utc_stamp(now),
            "features": features,
            "label": label,
            "source": "lab-labels",
        }
        for key, label, features in arrived
    ]
    write_local_lake(events, raw, "lab-labels")
    _, start, end = window
    report = quality.run(
        capture_dir=capture / VARIANT,
        labels_dir=raw,
        output_dir=monitor_dir / "normal",
        window=Window(start, end, start),
        label_lag=timedelta(hours=24),
    )
    return str(report["verdict"])


def lab_monitor(
    workdir: Path,
    endpoint_name: str,
    share_threshold: float,
    normal_rows: int = NORMAL_ROWS,
    drift_rows: int = DRIFT_ROWS,
    groups: tuple[str, str] | None = None,
) -> str:
    """Serve, send normal then drifted traffic, judge each window; raise on a wrong verdict.
    ``groups``: the local registry's XGBoost and baseline groups (default: LocalRegistry's)."""
    from lab.serve import ServePlan, build_endpoint
    from model_code import drift
    from ops.invoke import local_client
    from ops.producer import apply_drift, parse_drift

    monitor_dir = workdir / "monitor"
    monitor_dir.mkdir(parents=True, exist_ok=True)
    plan = ServePlan("real_time", True, 100, endpoint_name)
    if groups:
        plan = ServePlan("real_time", True, 100, endpoint_name, groups)
    version, baseline = deployed_baseline(workdir, monitor_dir, plan.groups[0])
    capture_root = workdir / "capture"
    endpoint = build_endpoint(workdir, plan)
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(SEED)
    run_tag = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    windows: list[tuple[str, datetime, datetime]] = []
    endpoint.start()
    try:
        client = local_client(endpoint.url)
        deployed_at = _next_second()
        start = deployed_at
        idx = rng.integers(0, len(digits.target), normal_rows)
        ids = [f"monitor-{run_tag}-{i:05d}" for i in range(normal_rows)]
        send_traffic(client, endpoint_name, digits.data[idx], 1, ids)
        normal_labels = [
            (ids[i], int(digits.target[j]), [float(v) for v in digits.data[j]])
            for i, j in enumerate(idx)
        ]
        end = _next_second()
        windows.append(("normal", start, end))
        for kind, spec in DEFAULT_DRIFTS.items():
            start = end
            idx = rng.integers(0, len(digits.target), drift_rows)
            events = [{"features": [float(v) for v in row]} for row in digits.data[idx]]
            drifted = apply_drift(events, [parse_drift(spec)], seed=SEED)
            rows = np.array([e["features"] for e in drifted])
            send_traffic(client, endpoint_name, rows, 10, None)
            end = _next_second()
            windows.append((kind, start, end))
    finally:
        endpoint.stop()
    quality_line = _lab_quality(
        monitor_dir, capture_root / endpoint_name, windows[0], normal_labels
    )
    thresholds = drift.Thresholds(share=share_threshold)
    results = []
    lines = []
    for name, start, end in windows:
        folder = monitor_dir / name
        report = drift.run(
            capture_dir=capture_root / endpoint_name / VARIANT,
            baseline_path=baseline,
            output_dir=folder,
            window=drift.Window(start, end, deployed_at),
            thresholds=thresholds,
            model_version=version,
            endpoint=endpoint_name,
        )
        write_drift_png(report, folder / "drift.png")
        result = WindowResult(name, start, end, report, folder)
        results.append(result)
        found = "DRIFT FOUND" if report["status"] == "drift" else "no drift"
        if report["status"] not in ("drift", "no_drift"):
            found = f"NOT JUDGED ({report['status']})"
        lines.append(
            f"  {name:<7} {report['samples']['rows']:>4} rows  {found:<12} "
            f"share {report.get('drifted_share', float('nan')):.2f}  "
            f"max PSI {report['metrics'].get('MaxFeaturePSI', float('nan')):.2f}  "
            f"class-mix p {report['metrics'].get('PredictedClassMixPValue', float('nan')):.2g}"
        )
    print(f"drift job on {capture_root / endpoint_name} against model version {version}:")
    print("\n".join(lines))
    print(f"model quality (normal window, labels arriving later): {quality_line}")
    wrong = [
        r.name
        for r in results
        if (r.report["status"] == "drift") != (r.name != "normal")
        or r.report["status"] not in ("drift", "no_drift")
    ]
    if wrong:
        raise OperationFailed(f"wrong drift verdict for: {', '.join(wrong)} (see {monitor_dir})")
    first_drift = next(r for r in results if r.report["status"] == "drift")
    event = emit_local_retrain(monitor_dir, first_drift, endpoint_name)
    print(f"RetrainRequested (local) -> {event}:")
    print("  " + json.loads(event.read_text())["Detail"][:200] + "...")
    print("  the cloud bridge puts this event; the training rule starts the pipeline. Locally: ")
    print("  .venv/bin/python -m labctl pipeline run --local")
    detected = sum(r.report["status"] == "drift" for r in results[1:])
    return (
        f"normal traffic: no drift; {detected}/{len(DEFAULT_DRIFTS)} drift kinds found; "
        f"reports and heatmaps under {monitor_dir}"
    )
