"""Lineage of a prediction in the lab: the same hops as ops/lineage.py, read from the work folder.

- the prediction: ``<workdir>/capture/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl`` (the local
  endpoint's capture, lab/endpoint/capture.py), the line whose inferenceId or eventId is asked;
- the model version: ``<workdir>/serving/deployments.jsonl``, one line per start of the local
  endpoint with what it served (``record_deployment``; the cloud's endpoint config), the last
  start of that endpoint at or before the prediction;
- the execution and the manifest: the version's entry in the local registry
  (``pipeline_execution``, ``customer_metadata_properties``, ``manifest``: register step),
  ``<workdir>/pipeline/executions/<id>/``;
- the raw objects: the manifest's S3 URIs mapped to the local lake (lab.pipeline.default_mounts).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from model_code import lineage
from ops.lineage import Chain, Hop, capture_time, event_hop, parse_time


def deployments_path(workdir: Path) -> Path:
    return Path(workdir) / "serving" / "deployments.jsonl"


def record_deployment(
    workdir: Path,
    endpoint: str,
    variant: str,
    kind: str,
    served: list[tuple[str, dict[str, Any]]],
    when: datetime | None = None,
) -> None:
    """Append what the local endpoint serves from now on (group, version, ARN per model)."""
    path = deployments_path(workdir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = {
        "endpoint": endpoint,
        "variant": variant,
        "kind": kind,
        # whole seconds, rounded down: capture records carry whole seconds too
        "started": (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "models": [
            {"group": group, "version": v["version"], "arn": v.get("arn")} for group, v in served
        ],
    }
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


def _find_local_capture(
    workdir: Path, endpoint: str, wanted: str
) -> tuple[dict[str, Any], Path] | None:
    base = Path(workdir) / "capture" / endpoint
    for path in sorted(base.rglob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            record = lineage.find_capture(handle, wanted)
        if record is not None:
            return record, path
    return None


def _deployment_at(workdir: Path, endpoint: str, when: datetime) -> dict[str, Any] | None:
    path = deployments_path(workdir)
    if not path.is_file():
        return None
    chosen = None
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            started = parse_time(entry["started"])
        except (ValueError, KeyError, TypeError):
            continue
        later = chosen is None or started >= parse_time(chosen["started"])
        if entry.get("endpoint") == endpoint and started <= when and later:
            chosen = entry
    return chosen


def local_chain(
    workdir: Path,
    endpoint: str,
    *,
    inference_id: str | None = None,
    at: datetime | None = None,
) -> Chain:
    from lab.paths import lake_raw
    from lab.pipeline import default_mounts
    from lab.registry import LocalRegistry
    from pipelines.local import registry_file
    from pipelines.training_pipeline import PipelineSettings

    workdir = Path(workdir).resolve()
    chain = Chain(
        f"{inference_id or 'the prediction'} on local endpoint {endpoint}"
        + (f" at {at.isoformat()}" if at else "")
    )
    when = at
    if inference_id:
        found = _find_local_capture(workdir, endpoint, inference_id)
        if found is None:
            return chain.missing(
                "prediction",
                f"no capture record with inferenceId or eventId {inference_id}",
                str(workdir / "capture" / endpoint),
            )
        record, path = found
        when = capture_time(record)
        meta = record["eventMetadata"]
        chain.add(
            Hop(
                "prediction",
                True,
                f"capture record {meta.get('eventId')} at {meta.get('inferenceTime')}",
                str(path),
                {"eventMetadata": meta},
            )
        )
    else:
        chain.add(Hop("prediction", True, f"a prediction at {when}", f"local endpoint {endpoint}"))
    if when is None:
        return chain.missing("model version", "the capture record has no inferenceTime", "capture")
    deployment = _deployment_at(workdir, endpoint, when)
    if deployment is None:
        return chain.missing(
            "model version",
            f"no start of local endpoint {endpoint} recorded at or before {when.isoformat()}",
            str(deployments_path(workdir)),
        )
    models = deployment.get("models") or []
    if len(models) != 1:
        named = ", ".join(f"{m.get('group')} v{m.get('version')}" for m in models)
        return chain.missing(
            "model version",
            f"the {deployment.get('kind')} endpoint served {len(models)} models ({named}): "
            "the capture record does not say which answered",
            str(deployments_path(workdir)),
        )
    group, number = models[0]["group"], models[0]["version"]
    local = LocalRegistry(workdir)
    try:
        registry = local.read()
    except (FileNotFoundError, registry_file.RegistryFileError) as err:
        return chain.missing("model version", str(err), str(local.path))
    version = next(
        (
            v
            for v in registry["groups"].get(group, {}).get("versions", [])
            if v["version"] == number
        ),
        None,
    )
    if version is None:
        return chain.missing(
            "model version", f"{group} version {number} is not in the registry", str(local.path)
        )
    chain.add(
        Hop(
            "model version",
            True,
            f"{group} version {number} ({version.get('approval_status')}), served since "
            f"{deployment['started']}",
            f"{local.path} ({version.get('arn')})",
            {"group": group, "version": number, "arn": version.get("arn")},
        )
    )
    execution = version.get("pipeline_execution")
    folder = workdir / "pipeline" / "executions" / str(execution)
    if not execution or not folder.is_dir():
        return chain.missing(
            "pipeline execution",
            f"the version names execution {execution!r}, which has no folder",
            str(folder if execution else local.path),
        )
    status = "unknown"
    run_json = folder / "report" / "run.json"
    if run_json.is_file():
        status = json.loads(run_json.read_text()).get("status", status)
    chain.add(Hop("pipeline execution", True, f"{execution} ({status})", str(folder)))
    manifest_rel = version.get("manifest")
    if not manifest_rel:
        return chain.missing(
            "training manifest",
            f"the version names no training manifest (no {lineage.MANIFEST_KEY})",
            str(local.path),
        )
    manifest_path = workdir / manifest_rel
    try:
        manifest = lineage.parse_manifest(manifest_path.read_text(), str(manifest_path))
    except FileNotFoundError:
        return chain.missing("training manifest", "the file is gone", str(manifest_path))
    except lineage.ManifestError as err:
        return chain.missing("training manifest", str(err), str(manifest_path))
    chain.add(
        Hop(
            "training manifest",
            True,
            f"{len(manifest['objects'])} raw object(s), {manifest.get('event_count')} event(s)",
            str(manifest_path),
        )
    )
    mounts = default_mounts(workdir, PipelineSettings())
    exists = {}
    for obj in manifest["objects"]:
        local_path = _mapped(obj["uri"], mounts)
        exists[obj["uri"]] = local_path is not None and local_path.is_file()
    chain.add(event_hop(manifest, str(lake_raw(workdir)), exists))
    return chain


def _mapped(uri: str, mounts: dict[str, Path]) -> Path | None:
    """The local file of an s3:// URI under one of the run's mounts; a plain path as is."""
    if not uri.startswith("s3://"):
        return Path(uri)
    for prefix in sorted(mounts, key=len, reverse=True):
        if uri.startswith(prefix):
            return mounts[prefix] / uri[len(prefix) :]
    return None


def lab_lineage(workdir: Path, endpoint: str, kind: str) -> str:
    """The lab's serve stage: the lineage of the endpoint's newest captured prediction, one
    line; OperationFailed when a hop is missing. Multi-model and multi-container endpoints
    serve several models and the capture record does not say which answered: said, not
    traced."""
    if kind in ("multi_model", "multi_container"):
        return f"lineage: not traced ({kind}: the capture record does not name the model)"
    files = sorted((Path(workdir) / "capture" / endpoint).rglob("*.jsonl"))
    lines = files[-1].read_text(encoding="utf-8").splitlines() if files else []
    if not lines:  # sampling below 100 % may capture none of the stage's few calls
        return f"lineage: no captured prediction of {endpoint} to trace"
    from ops.errors import OperationFailed

    event_id = json.loads(lines[-1])["eventMetadata"]["eventId"]
    chain = local_chain(workdir, endpoint, inference_id=event_id)
    failure = chain.failure()
    if failure:
        raise OperationFailed(failure)
    version, execution, raw = chain.hops[1], chain.hops[2], chain.hops[4]
    return (
        f"lineage of captured {event_id}: {version.details['group']} "
        f"v{version.details['version']} <- execution {execution.what.split(' ')[0]} <- "
        f"{raw.what} (labctl lineage --local --id {event_id})"
    )
