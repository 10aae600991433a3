"""labctl shadow report: the shadow variant's answers and latency against production's, as
text (and ``--json``). The report itself is ops/shadow_report.py; the local shadow endpoint
``labctl serve --local --shadow-version`` runs is lab/endpoint/shadow.py.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from labctl.options import add_examples, add_region, add_workdir, resolve_region
from ops import aws_client
from ops.errors import UsageError
from ops.shadow_report import cloud_report, local_report


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
            region = resolve_region(args.region)
            s3 = s3 or aws_client("s3", region)
            cloudwatch = cloudwatch or aws_client("cloudwatch", region)
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
