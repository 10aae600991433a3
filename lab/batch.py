"""The lab's batch transform: score a curated prefix with the newest Approved XGBoost version
of the lab's registry (``run_local``, lab/endpoint/batch.py), capturing each row for the drift
job, and the lab stage ``lab_batch`` that checks every prediction against the model's own.
``labctl batch transform --local`` runs ``run_local``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ops.errors import OperationFailed, UsageError

SCORING_PREFIX = "scoring"
PREDICTIONS_PREFIX = "predictions"


def run_local(
    workdir: Path,
    input_prefix: str,
    *,
    endpoint_name: str = "lab-digits",
    max_payload_mb: int = 6,
    capture: bool = True,
    allow_pending: bool = False,
) -> tuple[str, Path]:
    """Transform ``<workdir>/lake/curated/<input_prefix>``; (one-line result, output folder)."""
    from lab.endpoint import CaptureWriter, EndpointSetupError, LocalEndpoint
    from lab.endpoint.batch import BatchTransformError, transform
    from lab.registry import (
        local_registry,
        read_registry,
        served_versions,
        settings_from_registry,
    )

    curated = workdir / "lake" / "curated"
    source = curated / input_prefix.strip("/")
    # scoring/day=D/ -> predictions/day=D/: the predictions sit beside their input's partition
    partition = input_prefix.strip("/").removeprefix(SCORING_PREFIX).strip("/")
    output = curated / PREDICTIONS_PREFIX / partition
    try:
        settings = settings_from_registry(
            workdir, "real_time", allow_pending, endpoint_name=endpoint_name
        )
        endpoint = LocalEndpoint(settings)  # in process: the batch job needs no HTTP
        # The version settings_from_registry picked, said out loud: which model scored.
        ((group, version),) = served_versions(
            read_registry(workdir), "real_time", allow_pending, groups=local_registry(workdir)
        )
    except EndpointSetupError as err:
        raise UsageError(str(err)) from err
    writer = CaptureWriter(workdir / "capture", endpoint_name) if capture else None
    try:
        result = transform(endpoint, source, output, max_payload_mb=max_payload_mb, capture=writer)
    except BatchTransformError as err:
        raise OperationFailed(f"batch transform failed: {err}") from err
    finally:
        if writer is not None:
            writer.close()
    scored_by = f"model {group} v{version['version']} ({version.get('approval_status')})"
    return f"{scored_by}: {result.one_line()}; output {output.relative_to(workdir)}", output


def lab_batch(workdir: Path, endpoint_name: str, capture: bool) -> str:
    """The lab stage: curate today's raw events into a scoring prefix, transform it, and check
    every prediction against the same model's in-process prediction of that row."""
    from lab.endpoint.batch import read_output, write_scoring_input
    from lab.endpoint.models import load_archive
    from lab.registry import settings_from_registry

    day = datetime.now(UTC).strftime("%Y-%m-%d")
    prefix = f"{SCORING_PREFIX}/day={day}"
    rows = write_scoring_input(workdir / "lake" / "raw", workdir / "lake" / "curated" / prefix)
    if rows == 0:
        raise OperationFailed("no valid raw events to score: run the ingest stage first")
    line, output = run_local(workdir, prefix, endpoint_name=endpoint_name, capture=capture)
    predictions = read_output(output)
    import numpy as np

    source = workdir / "lake" / "curated" / prefix / "part-00000.csv"
    ids, features = [], []
    for text in source.read_text().splitlines():
        record_id, _, values = text.partition(",")
        ids.append(record_id)
        features.append([float(v) for v in values.split(",")])
    # The model the endpoint serves, loaded again on its own (the newest Approved version).
    served = settings_from_registry(workdir, "real_time").model
    assert served is not None  # a real_time setting always names its model
    model = load_archive(served)
    reference = [str(int(p)) for p in model.predict(np.asarray(features))]
    wrong = [i for i, r in zip(ids, reference, strict=True) if predictions.get(i) != r]
    if wrong or len(predictions) != len(ids):
        raise OperationFailed(
            f"batch output differs from the model's own predictions for {len(wrong)} rows "
            f"(e.g. {wrong[:3]})"
        )
    return f"{line}; all {len(ids)} equal the model's own predictions"
