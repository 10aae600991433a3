"""Lineage contract: the training-data manifest and the registry metadata that point at it.

The Preprocess step writes ``manifest.json`` (``MANIFEST_FILE``) into its ``manifest`` output,
which lands under the execution's own prefix (``<pipeline>/Preprocess/<execution id>/manifest``)
so a later run never overwrites the manifest of a registered version. Each Register step puts
the execution ARN and the manifest's URI in the version's ``CustomerMetadataProperties``
(``EXECUTION_KEY``, ``MANIFEST_KEY``). ``labctl lineage`` (lab/lineage.py, ops/lineage.py)
follows them from a captured prediction to the raw objects and event IDs listed here.

Standard library only: it runs in the processing container (Python 3.9/3.10), at render time
and in the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MANIFEST_OUTPUT = "manifest"
MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1
# CustomerMetadataProperties keys (CreateModelPackage: keys match
# ^([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)$, 1-128 characters; values at most 256 characters;
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackage.html).
EXECUTION_KEY = "lineage:pipeline-execution"
MANIFEST_KEY = "lineage:training-manifest"


def object_uri(input_uri: str | None, input_dir: Path, path: Path) -> str:
    """Where a raw object lives: ``<input_uri>/<path under input_dir>`` when the S3 prefix the
    job read is known (the pipeline passes it), else the local path it was read from."""
    relative = Path(path).relative_to(input_dir).as_posix()
    if input_uri:
        return input_uri.rstrip("/") + "/" + relative
    return str(Path(path))


def build_manifest(
    input_uri: str | None, objects: Iterable[tuple[str, Iterable[str]]]
) -> dict[str, Any]:
    """The manifest: every raw object read, with the IDs of its events that made the dataset
    (valid, first arrival, labelled), in reading order; sorted object URIs, sorted IDs."""
    listed: list[dict[str, Any]] = [
        {"uri": uri, "event_ids": sorted(set(ids))} for uri, ids in sorted(objects)
    ]
    return {
        "version": MANIFEST_VERSION,
        "input": input_uri,
        "objects": listed,
        "event_count": sum(len(o["event_ids"]) for o in listed),
    }


def write_manifest(output_dir: Path, manifest: dict[str, Any]) -> Path:
    path = Path(output_dir) / MANIFEST_OUTPUT / MANIFEST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    # Compact: one line per run's object list stays small (about 40 bytes per event).
    path.write_text(json.dumps(manifest, separators=(",", ":")))
    return path


class ManifestError(ValueError):
    """Not a training-data manifest."""


def parse_manifest(text: str, where: str) -> dict[str, Any]:
    """A manifest read back; ManifestError (naming ``where``) when it is not one."""
    try:
        manifest = json.loads(text)
    except ValueError as err:
        raise ManifestError(f"{where} is not JSON ({err})") from err
    objects = manifest.get("objects") if isinstance(manifest, dict) else None
    if not isinstance(objects, list) or not all(
        isinstance(o, dict)
        and isinstance(o.get("uri"), str)
        and isinstance(o.get("event_ids"), list)
        for o in objects
    ):
        raise ManifestError(
            f'{where} is not a training manifest (no "objects" with uri, event_ids)'
        )
    return manifest  # type: ignore[no-any-return]


def find_capture(lines: Iterable[str], wanted: str) -> dict[str, Any] | None:
    """The capture record (SageMaker's JSON-lines format) whose eventMetadata inferenceId or
    eventId is ``wanted``; None when no line has it. Lines that are not JSON are skipped."""
    for line in lines:
        if wanted not in line:  # cheap pre-filter: most lines are other predictions
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        meta = record.get("eventMetadata") if isinstance(record, dict) else None
        if isinstance(meta, dict) and wanted in (meta.get("inferenceId"), meta.get("eventId")):
            return record  # type: ignore[no-any-return]
    return None
