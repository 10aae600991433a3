"""Lineage of a prediction in a deployed copy: capture record -> model version -> pipeline
execution -> training-data manifest -> raw objects and event IDs (``labctl lineage``).

Each hop reads what AWS holds, never a guess:

- the prediction: the endpoint config's ``DataCaptureConfig.DestinationS3Uri``, then the capture
  JSON lines under ``<destination>/<endpoint>/`` whose ``eventMetadata.inferenceId`` or
  ``eventId`` is the one asked for (ListObjectsV2 paginated, narrowed to the hour of ``--at``);
- the model version: the variant's model (DescribeEndpoint -> DescribeEndpointConfig ->
  DescribeModel ``ModelPackageName``), only when the endpoint was last updated before the
  prediction (an earlier config is not described by the endpoint any more);
- the execution and the manifest: the version's CustomerMetadataProperties
  (model_code/lineage.py keys; ``MetadataProperties.GeneratedBy`` as the execution when the key
  is absent), DescribePipelineExecution, GetObject of the manifest;
- the raw objects: HeadObject on each one the manifest lists (the raw zone may have expired it).

A hop that cannot be followed ends the chain with ``Hop(found=False)`` naming what is missing.
``Chain``/``Hop`` and their rendering are shared with the lab's chain (lab/lineage.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from model_code import lineage

HOPS = ("prediction", "model version", "pipeline execution", "training manifest", "raw events")


@dataclass
class Hop:
    name: str  # one of HOPS
    found: bool
    what: str  # what was found, or what is missing
    where: str  # where it was looked up (a URI, an ARN, a path)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Chain:
    start: str
    hops: list[Hop] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return len(self.hops) == len(HOPS) and all(h.found for h in self.hops)

    def add(self, hop: Hop) -> bool:
        self.hops.append(hop)
        return hop.found

    def missing(self, name: str, what: str, where: str) -> Chain:
        self.hops.append(Hop(name, False, what, where))
        return self

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "complete": self.complete,
            "hops": [asdict(h) for h in self.hops],
        }

    def render(self) -> str:
        lines = [f"lineage of {self.start}"]
        for hop in self.hops:
            mark = "" if hop.found else "NOT FOUND: "
            lines.append(f"  {hop.name:<19} {mark}{hop.what}  [{hop.where}]")
        return "\n".join(lines)

    def failure(self) -> str | None:
        """One line for stderr when a hop was not found; None when the chain is complete."""
        bad = next((h for h in self.hops if not h.found), None)
        if bad is None:
            return None if self.complete else "lineage incomplete"
        return f"lineage stops at the {bad.name}: {bad.what} ({bad.where})"


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (``2026-12-07T18:00:00Z``); naive times are UTC. ValueError if not."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def capture_time(record: dict[str, Any]) -> datetime | None:
    text = (record.get("eventMetadata") or {}).get("inferenceTime")
    try:
        return parse_time(text) if isinstance(text, str) else None
    except ValueError:
        return None


def event_hop(manifest: dict[str, Any], where: str, exists: dict[str, bool]) -> Hop:
    """The last hop: the manifest's raw objects (each checked in ``exists``) and event IDs."""
    objects = manifest["objects"]
    ids = sorted({i for o in objects for i in o["event_ids"]})
    gone = [o["uri"] for o in objects if not exists.get(o["uri"], False)]
    details = {
        "objects": [o["uri"] for o in objects],
        "event_ids": ids,
        "missing_objects": gone,
    }
    if gone:
        return Hop(
            "raw events",
            False,
            f"{len(gone)} of {len(objects)} raw object(s) the manifest lists no longer exist "
            f"(first: {gone[0]}; the raw zone may have expired them)",
            where,
            details,
        )
    return Hop(
        "raw events",
        True,
        f"{len(ids)} event ID(s) in {len(objects)} raw object(s)",
        where,
        details,
    )


# -- the cloud chain --------------------------------------------------------------------------
def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _hours(at: datetime, around: int = 1) -> list[str]:
    """yyyy/mm/dd/hh of ``at`` and its neighbours (a record may land in the next hour's file)."""
    return [(at + timedelta(hours=d)).strftime("%Y/%m/%d/%H") for d in range(-around, around + 1)]


def find_cloud_capture(
    s3: Any, destination: str, endpoint: str, wanted: str, at: datetime | None = None
) -> tuple[dict[str, Any], str] | None:
    """(record, s3 URI of its file) of the capture line with inference/event id ``wanted``."""
    bucket, key = _split(destination)
    base = f"{key.rstrip('/')}/{endpoint}/" if key else f"{endpoint}/"
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=base):
        for obj in page.get("Contents", []):
            name = obj["Key"]
            if at is not None and not any(f"/{h}/" in name for h in _hours(at)):
                continue
            body = s3.get_object(Bucket=bucket, Key=name)["Body"].read().decode("utf-8", "replace")
            record = lineage.find_capture(body.splitlines(), wanted)
            if record is not None:
                return record, f"s3://{bucket}/{name}"
    return None


def cloud_chain(
    sagemaker: Any,
    s3: Any,
    endpoint: str,
    *,
    inference_id: str | None = None,
    at: datetime | None = None,
) -> Chain:
    """The chain of one prediction of a deployed ``endpoint``: by its inference/event id
    (searched in the capture, within the hours around ``at`` when given) or by time alone."""
    start = f"{inference_id or 'the prediction'} on endpoint {endpoint}" + (
        f" at {at.isoformat()}" if at else ""
    )
    chain = Chain(start)
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError as err:
        return chain.missing("prediction", f"endpoint {endpoint}: {err}", "DescribeEndpoint")
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    variants = {v["VariantName"]: v for v in config.get("ProductionVariants", [])}
    variant_name: str | None = None
    when = at
    if inference_id:
        destination = (config.get("DataCaptureConfig") or {}).get("DestinationS3Uri")
        if not destination:
            return chain.missing(
                "prediction",
                f"endpoint config {config['EndpointConfigName']} captures no data, so no "
                "prediction can be found by id (use --at TIME instead)",
                "DescribeEndpointConfig DataCaptureConfig",
            )
        found = find_cloud_capture(s3, destination, endpoint, inference_id, at)
        if found is None:
            return chain.missing(
                "prediction",
                f"no capture record with inferenceId or eventId {inference_id}",
                f"{destination.rstrip('/')}/{endpoint}/",
            )
        record, uri = found
        when = capture_time(record)
        # <destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>
        variant_name = uri.split(f"/{endpoint}/", 1)[1].split("/", 1)[0]
        chain.add(
            Hop(
                "prediction",
                True,
                f"capture record {record['eventMetadata'].get('eventId')} at "
                f"{record['eventMetadata'].get('inferenceTime')}, variant {variant_name}",
                uri,
                {"eventMetadata": record["eventMetadata"], "variant": variant_name},
            )
        )
    else:
        chain.add(Hop("prediction", True, f"a prediction at {when}", f"endpoint {endpoint}"))
    if when is None:
        return chain.missing("model version", "the capture record has no inferenceTime", "capture")
    updated = described.get("LastModifiedTime")
    if isinstance(updated, datetime) and when < updated:
        return chain.missing(
            "model version",
            f"the endpoint was last updated at {updated.isoformat()}, after this prediction "
            f"({when.isoformat()}): its current config need not be the one that answered",
            f"DescribeEndpoint {endpoint}",
        )
    if variant_name is None:
        if len(variants) != 1:
            return chain.missing(
                "model version",
                f"{len(variants)} variants and no capture record to say which answered",
                f"DescribeEndpointConfig {config['EndpointConfigName']}",
            )
        variant_name = next(iter(variants))
    variant = variants.get(variant_name)
    if variant is None:
        return chain.missing(
            "model version",
            f"variant {variant_name} is not in the endpoint's config",
            f"DescribeEndpointConfig {config['EndpointConfigName']}",
        )
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    containers = [model["PrimaryContainer"]] if model.get("PrimaryContainer") else []
    containers += model.get("Containers", [])
    packages = sorted({c["ModelPackageName"] for c in containers if c.get("ModelPackageName")})
    if len(packages) != 1:
        return chain.missing(
            "model version",
            f"model {variant['ModelName']} names {len(packages)} model packages "
            f"({', '.join(packages) or 'none'}): the capture record does not say which answered",
            f"DescribeModel {variant['ModelName']}",
        )
    package = sagemaker.describe_model_package(ModelPackageName=packages[0])
    if not chain.add(
        Hop(
            "model version",
            True,
            f"{package.get('ModelPackageGroupName')} version {package.get('ModelPackageVersion')} "
            f"({package.get('ModelApprovalStatus')})",
            packages[0],
            {"model": variant["ModelName"], "arn": packages[0]},
        )
    ):
        return chain
    custom = package.get("CustomerMetadataProperties") or {}
    execution = custom.get(lineage.EXECUTION_KEY) or (
        (package.get("MetadataProperties") or {}).get("GeneratedBy")
    )
    if not execution or ":pipeline/" not in execution:
        return chain.missing(
            "pipeline execution",
            f"the version names no pipeline execution (no {lineage.EXECUTION_KEY} in its "
            "CustomerMetadataProperties, no MetadataProperties.GeneratedBy)",
            f"DescribeModelPackage {packages[0]}",
        )
    try:
        run = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution)
    except ClientError as err:
        return chain.missing(
            "pipeline execution", f"{execution}: {err}", "DescribePipelineExecution"
        )
    chain.add(
        Hop(
            "pipeline execution",
            True,
            f"{execution.rsplit('/', 1)[-1]} ({run.get('PipelineExecutionStatus')})",
            execution,
        )
    )
    manifest_uri = custom.get(lineage.MANIFEST_KEY)
    if not manifest_uri:
        return chain.missing(
            "training manifest",
            f"the version names no training manifest (no {lineage.MANIFEST_KEY} in its "
            "CustomerMetadataProperties)",
            f"DescribeModelPackage {packages[0]}",
        )
    bucket, key = _split(manifest_uri)
    try:
        text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        manifest = lineage.parse_manifest(text, manifest_uri)
    except ClientError as err:
        return chain.missing("training manifest", f"cannot read it: {err}", manifest_uri)
    except lineage.ManifestError as err:
        return chain.missing("training manifest", str(err), manifest_uri)
    chain.add(
        Hop(
            "training manifest",
            True,
            f"{len(manifest['objects'])} raw object(s), {manifest.get('event_count')} event(s)",
            manifest_uri,
        )
    )
    exists = {}
    for obj in manifest["objects"]:
        b, k = _split(obj["uri"])
        try:
            s3.head_object(Bucket=b, Key=k)
            exists[obj["uri"]] = True
        except ClientError:
            exists[obj["uri"]] = False
    chain.add(event_hop(manifest, str(manifest.get("input") or manifest_uri), exists))
    return chain
