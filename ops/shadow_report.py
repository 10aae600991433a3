"""The shadow variant's answers and latency against production's (``labctl shadow report``
renders it), and the challenger a shadow release runs.

Both variants capture in SageMaker's layout (``<capture>/<endpoint>/AllTraffic/`` and
``.../Shadow/``). Requests are paired by ``inferenceId`` (send one with each request; the
local endpoint sets one per request on both variants), falling back to the request body and
its second when a record has none. The report gives, over the paired rows: agreement (the
share of rows both variants answer alike), the confusion between them (rows: production's
answer, columns: the shadow's) and each variant's model latency p50/p99, read locally from the
endpoint's latency log and in the cloud from CloudWatch ``ModelLatency`` per variant.
Promotion stays the delivery pipeline's job: this only reports.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.shadow_rules import SHADOW_VARIANT
from ops.errors import OperationFailed, UsageError

PRODUCTION_VARIANT = "AllTraffic"


def resolve_challenger(
    client: Any, group: str, newest_approved: Callable[..., dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(production entry, challenger entry): the newest Approved version of ``group`` runs
    as the shadow, the newest Approved one before it keeps production."""
    challenger = newest_approved(client, group, "serving.shadow runs it as the challenger")

    class _Older:
        """The same registry without the challenger, for ``newest_approved``."""

        def list_model_packages(self, **kwargs: Any) -> dict[str, Any]:
            page = client.list_model_packages(**kwargs)
            return {
                **page,
                "ModelPackageSummaryList": [
                    s
                    for s in page["ModelPackageSummaryList"]
                    if s["ModelPackageArn"] != challenger["package_arn"]
                ],
            }

        def describe_model_package(self, **kwargs: Any) -> dict[str, Any]:
            result: dict[str, Any] = client.describe_model_package(**kwargs)
            return result

    try:
        production = newest_approved(_Older(), group, "serving.shadow keeps it in production")
    except OperationFailed as err:
        raise OperationFailed(
            f"serving.shadow needs two Approved versions of {group} (production and the "
            f"challenger), found one ({challenger['package_arn']}): deploy with "
            "serving.shadow.enabled=false first, then approve a challenger"
        ) from err
    return production, challenger


def _records(lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    for line in lines:
        if line.strip():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "captureData" in record:
                yield record


def _key(record: dict[str, Any]) -> str:
    meta = record.get("eventMetadata", {})
    if meta.get("inferenceId"):
        return f"id:{meta['inferenceId']}"
    data = record["captureData"]["endpointInput"].get("data", "")
    return f"body:{meta.get('inferenceTime', '')}:{data}"


def _answers(record: dict[str, Any]) -> list[int] | None:
    from model_code.drift import RecordError, parse_predictions

    try:
        return parse_predictions(record["captureData"]["endpointOutput"])
    except (RecordError, KeyError, ValueError):
        return None


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (CloudWatch's pNN is also a rank statistic)."""
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 100)))
    return ordered[rank - 1]


def build_report(
    production: Iterable[str],
    shadow: Iterable[str],
    latency_us: dict[str, list[float]],
) -> dict[str, Any]:
    """The report from the two variants' capture lines and their model latencies (us)."""
    prod = {_key(r): r for r in _records(production)}
    shad = {_key(r): r for r in _records(shadow)}
    paired = sorted(set(prod) & set(shad))
    confusion: Counter[tuple[int, int]] = Counter()
    unreadable = 0
    for key in paired:
        a, b = _answers(prod[key]), _answers(shad[key])
        if a is None or b is None or len(a) != len(b):
            unreadable += 1
            continue
        confusion.update(zip(a, b, strict=True))
    rows = sum(confusion.values())
    agree = sum(n for (a, b), n in confusion.items() if a == b)
    latency = {
        variant: {
            "count": len(values),
            "p50_ms": round(statistics.median(values) / 1000, 3),
            "p99_ms": round(percentile(values, 99) / 1000, 3),
        }
        for variant, values in latency_us.items()
        if values
    }
    classes = sorted({c for pair in confusion for c in pair})
    return {
        "paired_requests": len(paired) - unreadable,
        "rows": rows,
        "agreement": round(agree / rows, 4) if rows else None,
        "disagreements": rows - agree,
        "production_only": len(set(prod) - set(shad)),
        "shadow_only": len(set(shad) - set(prod)),
        "unreadable_pairs": unreadable,
        "confusion": {
            str(a): {str(b): confusion[(a, b)] for b in classes if confusion[(a, b)]}
            for a in classes
            if any(confusion[(a, b)] for b in classes)
        },
        "latency": latency,
    }


def local_report(capture_dir: Path, metrics_dir: Path, endpoint: str) -> dict[str, Any]:
    def lines(variant: str) -> list[str]:
        folder = capture_dir / endpoint / variant
        return [
            line
            for path in sorted(folder.rglob("*.jsonl"))
            for line in path.read_text().splitlines()
        ]

    latency: dict[str, list[float]] = {}
    for variant in (PRODUCTION_VARIANT, SHADOW_VARIANT):
        path = metrics_dir / endpoint / f"{variant}.jsonl"
        if path.is_file():
            latency[variant] = [
                float(json.loads(line)["model_latency_us"])
                for line in path.read_text().splitlines()
                if line.strip()
            ]
    if not (capture_dir / endpoint / SHADOW_VARIANT).is_dir():
        raise UsageError(
            f"no shadow capture under {capture_dir / endpoint / SHADOW_VARIANT}: serve a shadow "
            "variant first (labctl serve --local --shadow-version N, N a registered version; "
            "labctl model list --local), invoke it, then run this again"
        )
    return build_report(lines(PRODUCTION_VARIANT), lines(SHADOW_VARIANT), latency)


def cloud_report(
    s3: Any, cloudwatch: Any, capture_uri: str, endpoint: str, hours: int
) -> dict[str, Any]:
    """The same report over S3 capture of the last ``hours`` and CloudWatch ModelLatency."""
    from model_code.monitoring_contract import capture_hour_prefixes

    if not capture_uri.startswith("s3://"):
        raise UsageError(f"--capture-uri must be s3://bucket/prefix, got {capture_uri!r}")
    bucket, _, prefix = capture_uri[5:].partition("/")
    end = datetime.now(UTC)
    start = end - timedelta(hours=hours)

    def lines(variant: str) -> list[str]:
        out: list[str] = []
        for hour in capture_hour_prefixes(prefix, endpoint, variant, start, end):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=hour):
                for item in page.get("Contents", []):
                    body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                    out += body.decode("utf-8", errors="replace").splitlines()
        return out

    report = build_report(lines(PRODUCTION_VARIANT), lines(SHADOW_VARIANT), {})
    for variant in (PRODUCTION_VARIANT, SHADOW_VARIANT):
        stats = cloudwatch.get_metric_statistics(
            Namespace="AWS/SageMaker",
            MetricName="ModelLatency",
            Dimensions=[
                {"Name": "EndpointName", "Value": endpoint},
                {"Name": "VariantName", "Value": variant},
            ],
            StartTime=start,
            EndTime=end,
            Period=hours * 3600,
            ExtendedStatistics=["p50", "p99"],
            Unit="Microseconds",
        )["Datapoints"]
        if stats:
            point = stats[0]["ExtendedStatistics"]
            report["latency"][variant] = {
                "count": int(stats[0].get("SampleCount", 0)),
                "p50_ms": round(point["p50"] / 1000, 3),
                "p99_ms": round(point["p99"] / 1000, 3),
            }
    return report
