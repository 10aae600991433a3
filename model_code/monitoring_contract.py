"""What monitoring shares between the drift job, its Lambdas, the lab and the CDK code.

The retraining event (source, detail type, detail fields), the capture layout's hour folders,
the CloudWatch namespace and metric names, and the report file names. Standard library only:
it runs in the SageMaker scikit-learn container (Python 3.9+), in Lambda and at synth.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

# The training stack's EventBridge rule starts the pipeline on exactly this pair.
RETRAIN_SOURCE = "mlops.platform"
RETRAIN_DETAIL_TYPE = "RetrainRequested"
# Every RetrainRequested detail carries these; `metrics` maps metric name -> value.
RETRAIN_FIELDS = ("reason", "endpoint", "window", "metrics", "requested_at", "trigger")

# CloudWatch: one namespace, dimension EndpointName (the fixed endpoint name).
METRIC_NAMESPACE = "MLOpsPlatform/Monitoring"
METRIC_DIMENSION = "EndpointName"
METRIC_DRIFTED_SHARE = "DriftedFeatureShare"
METRIC_MAX_PSI = "MaxFeaturePSI"
METRIC_CLASS_MIX_P = "PredictedClassMixPValue"
METRIC_SAMPLES = "DriftSamples"
METRIC_SKIPPED = "SkippedRecords"
METRIC_DRIFT_VERDICT = "DriftDetected"  # 1 drift, 0 no drift; absent when not judged
METRIC_ACCURACY = "Accuracy"
METRIC_MACRO_F1 = "MacroF1"
METRIC_LABEL_COVERAGE = "LabelCoverage"

# Files the drift job writes into its output folder.
REPORT_FILE = "drift_report.json"
QUALITY_REPORT_FILE = "quality_report.json"  # the quality job's (model_code/quality.py)
VIOLATIONS_FILE = "constraint_violations.json"  # Model Monitor's name and format
SUMMARY_FILE = "summary.json"  # one per shard; summaries merge by addition
STATISTICS_FILE = "statistics.json"  # Model Monitor writes it for every completed analysis


def model_monitor_schedule_name(endpoint: str, monitoring_type: str) -> str:
    """The Model Monitor schedule of ``endpoint`` for ``monitoring_type`` (``DATA_QUALITY``,
    ``MODEL_QUALITY``, ``MODEL_EXPLAINABILITY``): ``<endpoint>-data-quality`` and so on. The
    runner tells an execution's kind by it, never by which files it finds."""
    return f"{endpoint}-{monitoring_type.lower().replace('_', '-')}"


UTC = _dt.timezone.utc  # noqa: UP017  (the container's Python may predate datetime.UTC)


def parse_time(text: str) -> _dt.datetime:
    """ISO-8601 with Z or an offset; naive times are taken as UTC."""
    when = _dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def iso(when: _dt.datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def capture_hour_prefixes(
    prefix: str, endpoint: str, variant: str, start: _dt.datetime, end: _dt.datetime
) -> list[str]:
    """The capture folders ``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/`` covering [start, end).

    SageMaker names the hour folder after the UTC hour of the inference, so a window across
    midnight (or a month end) spans folders of two days; each is listed separately.
    """
    if end <= start:
        return []
    base = "/".join(p.strip("/") for p in (prefix, endpoint, variant) if p.strip("/"))
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    out = []
    while hour < end:
        out.append(f"{base}/{hour:%Y/%m/%d/%H}/" if base else f"{hour:%Y/%m/%d/%H}/")
        hour += _dt.timedelta(hours=1)
    return out


def raw_hour_prefixes(start: _dt.datetime, end: _dt.datetime) -> list[str]:
    """The raw zone's Firehose partitions (``events/year=/month=/day=/hour=/``) for a window."""
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    out = []
    while hour < end:
        out.append(f"events/year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}/")
        hour += _dt.timedelta(hours=1)
    return out


def retrain_detail(
    *,
    reason: str,
    endpoint: str,
    window: dict[str, str],
    metrics: dict[str, float],
    requested_at: _dt.datetime,
    trigger: str,
) -> dict[str, Any]:
    """The RetrainRequested detail; raises ValueError when a field is unusable."""
    if not reason.strip():
        raise ValueError("a retrain request needs a reason")
    if not {"start", "end"} <= set(window):
        raise ValueError("window must have start and end")
    return {
        "reason": reason,
        "endpoint": endpoint,
        "window": {"start": window["start"], "end": window["end"]},
        "metrics": {k: float(v) for k, v in sorted(metrics.items())},
        "requested_at": iso(requested_at),
        "trigger": trigger,
    }


def retrain_entry(detail: dict[str, Any], bus: str = "default") -> dict[str, Any]:
    """One PutEvents entry (EventBridge API) for a RetrainRequested detail."""
    import json

    missing = [f for f in RETRAIN_FIELDS if f not in detail]
    if missing:
        raise ValueError(f"RetrainRequested detail lacks {', '.join(missing)}")
    return {
        "Source": RETRAIN_SOURCE,
        "DetailType": RETRAIN_DETAIL_TYPE,
        "Detail": json.dumps(detail, sort_keys=True),
        "EventBusName": bus,
    }
