"""Cost section: the idle cost from the cost estimator (``labctl cost``) when this build has
it, and the main cost drivers under load as the templates declare them (no prices invented).

The estimator is looked up by name, ``core.cost.idle_cost(templates, region)``; when it
is absent (or fails), the section says so explicitly instead of showing a number.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from assurance.review.assembly import Assembly
from assurance.review.lens import get, pipeline_parameters

ESTIMATOR = ("core.cost", "idle_cost")
NOT_AVAILABLE = "cost estimate not available in this build"


@dataclass
class CostSection:
    idle: dict[str, Any] | None
    idle_note: str
    drivers: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # (resource, driver, scales with)


def _optional(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def idle_estimate(assembly: Assembly) -> tuple[dict[str, Any] | None, str]:
    estimator = _optional(*ESTIMATOR)
    if estimator is None:
        return None, f"{NOT_AVAILABLE} ({ESTIMATOR[0]}.{ESTIMATOR[1]} is missing)"
    templates = {s.name: s.template for s in assembly.stacks}
    try:
        result = estimator(templates, assembly.stacks[0].region)
        data = result.to_json() if hasattr(result, "to_json") else dict(result)
    except Exception as err:  # the estimator's own errors (stale prices, unknown region)
        return None, f"{NOT_AVAILABLE}: {type(err).__name__}: {err}"
    return data, "idle: nobody sends events, trains or invokes; from the dated price table"


def drivers(assembly: Assembly) -> list[tuple[str, str, str]]:
    """What grows the bill under load, read from the templates."""
    out = []
    targets = {
        get(t.properties, "ResourceId"): t
        for t in assembly.of_type("AWS::ApplicationAutoScaling::ScalableTarget")
    }
    for config in assembly.of_type("AWS::SageMaker::EndpointConfig"):
        for v in config.properties.get("ProductionVariants", []):
            if "ServerlessConfig" in v:
                out.append(
                    (
                        f"{config.stack}/{config.logical_id}",
                        "serverless inference",
                        (
                            f"invocations x duration at "
                            f"{v['ServerlessConfig'].get('MemorySizeInMB')} MB"
                        ),
                    )
                )
                continue
            scaling = next((t for t in targets.values() if t.stack == config.stack), None)
            top = (
                scaling.properties.get("MaxCapacity") if scaling else v.get("InitialInstanceCount")
            )
            out.append(
                (
                    f"{config.stack}/{config.logical_id}",
                    f"{v.get('InstanceType')} instance hours",
                    f"{v.get('InitialInstanceCount')} idle, up to {top} under load (autoscaling)",
                )
            )
    for s in assembly.of_type("AWS::Kinesis::Stream"):
        mode = get(s.properties, "StreamModeDetails.StreamMode") or "PROVISIONED"
        out.append(
            (
                f"{s.stack}/{s.logical_id}",
                f"Kinesis {mode.lower()}",
                "GB ingested (+ stream hours)"
                if mode == "ON_DEMAND"
                else f"{s.properties.get('ShardCount')} shard hours; shards added under load",
            )
        )
    for f in assembly.of_type("AWS::KinesisFirehose::DeliveryStream"):
        out.append(
            (f"{f.stack}/{f.logical_id}", "Firehose ingestion", "GB delivered to the raw zone")
        )
    for p in assembly.of_type("AWS::SageMaker::Pipeline"):
        params = pipeline_parameters(p.properties.get("PipelineDefinition"))
        sizing = ", ".join(
            f"{k}={v}" for k, v in params.items() if k.endswith(("InstanceType", "Jobs"))
        )
        out.append(
            (
                f"{p.stack}/{p.logical_id}",
                "training and processing jobs",
                f"per pipeline run (parameter defaults): {sizing or 'not found'}",
            )
        )
    for c in assembly.of_type("AWS::CodeBuild::Project"):
        out.append(
            (
                f"{c.stack}/{c.logical_id}",
                "CodeBuild minutes",
                f"{get(c.properties, 'Environment.ComputeType')} per delivery run",
            )
        )
    for b in assembly.of_type("AWS::S3::Bucket"):
        if "Lake" in b.path and "AccessLog" not in b.path:
            out.append(
                (
                    f"{b.stack}/{b.logical_id}",
                    "S3 storage + requests",
                    "GB stored (versioned) and requests",
                )
            )
    return out


def section(assembly: Assembly) -> CostSection:
    idle, note = idle_estimate(assembly)
    return CostSection(idle, note, drivers(assembly))
