"""labctl shadow report: the shadow variant's answers and latency against production's.

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

import argparse
import json
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra.serving.shadow_rules import SHADOW_VARIANT
from labctl.options import add_examples, add_region, add_workdir, resolve_region
from ops.errors import OperationFailed, UsageError

PRODUCTION_VARIANT = "AllTraffic"


# ---------------------------------------------------------------- resolve (release)


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


# ---------------------------------------------------------------- the local shadow endpoint


def local_shadow_endpoint(workdir: Path, settings: Any, version: int, percent: int) -> Any:
    """`labctl serve --local --shadow-version N`: the registry's version N (Approved, newer
    than production's, as the cloud's challenger must be) shadows the served model."""
    from lab.endpoint.shadow import ShadowEndpoint
    from lab.registry import XGBOOST_GROUP, _artifact, read_registry

    if settings.kind != "real_time":
        raise UsageError(
            f"--shadow-version needs --kind real_time (shadow exclusions), got {settings.kind}"
        )
    if settings.capture_dir is None:
        raise UsageError("--shadow-version needs data capture (--capture): the report reads it")
    if not 1 <= percent <= 100:
        raise UsageError(f"--shadow-percent must be 1-100, got {percent}")
    versions = read_registry(workdir)["groups"].get(XGBOOST_GROUP, {}).get("versions", [])
    chosen = [v for v in versions if int(v["version"]) == version]
    if not chosen or chosen[0].get("approval_status") != "Approved":
        raise UsageError(f"{XGBOOST_GROUP} has no Approved version {version} to shadow")
    return ShadowEndpoint(settings, _artifact(chosen[0], XGBOOST_GROUP, workdir), percent)


# ---------------------------------------------------------------- pairing and the report


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


def render(endpoint: str, report: dict[str, Any]) -> str:
    lines = [f"shadow report for {endpoint}"]
    lines.append(
        f"  paired requests {report['paired_requests']} ({report['rows']} rows); production "
        f"only {report['production_only']} (not sampled), shadow only {report['shadow_only']}"
        + (f", unreadable {report['unreadable_pairs']}" if report["unreadable_pairs"] else "")
    )
    if report["rows"]:
        lines.append(
            f"  agreement {report['rows'] - report['disagreements']}/{report['rows']} rows = "
            f"{report['agreement'] * 100:.1f} %, {report['disagreements']} disagreements"
        )
        classes = sorted(
            {int(a) for a in report["confusion"]}
            | {int(b) for row in report["confusion"].values() for b in row}
        )
        lines.append("  confusion (rows: production answer, columns: shadow answer)")
        lines.append("        " + "".join(f"{c:>6}" for c in classes))
        for a in classes:
            row = report["confusion"].get(str(a), {})
            lines.append(f"  {a:>6}" + "".join(f"{row.get(str(b), 0):>6}" for b in classes))
    else:
        lines.append("  no paired rows: is the shadow variant deployed and capturing?")
    for variant, stats in report["latency"].items():
        lines.append(
            f"  latency {variant}: p50 {stats['p50_ms']} ms, p99 {stats['p99_ms']} ms "
            f"({stats['count']} invocations)"
        )
    return "\n".join(lines)


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


def run(args: argparse.Namespace, s3: Any = None, cloudwatch: Any = None) -> int:
    if args.local and args.region:
        raise UsageError("--local reads this machine's capture: drop --region (or --local)")
    if args.local:
        workdir = Path(args.workdir)
        report = local_report(workdir / "capture", workdir / "metrics", args.endpoint)
    else:
        if not args.capture_uri:
            raise UsageError(
                "a deployed endpoint's report needs --capture-uri s3://<artifacts bucket>/capture; "
                "or pass --local for the lab's endpoint"
            )
        if args.hours < 1 or args.hours > 24 * 30:
            raise UsageError(f"--hours must be 1-720, got {args.hours}")
        if s3 is None or cloudwatch is None:
            import boto3

            region = resolve_region(args.region)
            s3 = s3 or boto3.client("s3", region_name=region)
            cloudwatch = cloudwatch or boto3.client("cloudwatch", region_name=region)
        report = cloud_report(s3, cloudwatch, args.capture_uri, args.endpoint, args.hours)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    print(render(args.endpoint, report))
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "shadow", help="compare a shadow variant's answers and latency with production"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_examples(
        parser,
        "labctl shadow report --local",
    )
    report = actions.add_parser("report", help="agreement, confusion and latency of the variants")
    report.add_argument("--local", action="store_true", help="the lab's capture and latency log")
    add_workdir(report)
    add_region(report, "a deployed endpoint: S3 capture + CloudWatch")
    report.add_argument("--capture-uri", help="s3://<artifacts bucket>/capture (with --region)")
    report.add_argument("--hours", type=int, default=24, help="cloud window (default 24)")
    report.add_argument("--endpoint", default="lab-digits", help="endpoint name")
    report.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    add_examples(
        report,
        "labctl shadow report --local",
        "labctl shadow report --region us-east-1 --capture-uri s3://lab-artifacts/capture "
        "--json shadow.json",
    )
    report.set_defaults(handler=run)
