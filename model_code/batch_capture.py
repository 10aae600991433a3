"""Batch transform output as endpoint capture: what feeds the drift and quality jobs.

Runs as the scoring pipeline's ``FeedMonitoring`` processing step (scikit-learn container,
Python 3.9+, standard library only). Reads the transform's input objects (``<id>,<64 numbers>``
lines) and its ``<key>.out`` outputs (``<id>,<prediction>`` lines, ``OutputFilter $[0,-1]``) and
writes one SageMaker data-capture record per row (``captureData.endpointInput/endpointOutput``,
CSV, ``eventMetadata.inferenceId`` = the row's id) into ``yyyy/mm/dd/hh/`` folders of the output
dir, which the step uploads to ``capture/<endpoint>/AllTraffic/``: the drift job and the label
join read batch-scored rows exactly as they read endpoint capture. A row without an output, or
an output without its row, fails the step (the transform would have failed first).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

UTC = _dt.timezone.utc  # noqa: UP017  (the container's Python may predate datetime.UTC)


def _lines(folder: Path, suffix: str | None) -> Iterator[tuple[str, str]]:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if suffix is not None and not path.name.endswith(suffix):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record_id, _, rest = line.partition(",")
                yield record_id, rest


def capture_record(
    record_id: str, features: str, prediction: str, when: _dt.datetime
) -> dict[str, Any]:
    """One capture line, field for field as SageMaker's endpoint capture writes it."""

    def payload(data: str, mode: str) -> dict[str, str]:
        return {"observedContentType": "text/csv", "mode": mode, "data": data, "encoding": "CSV"}

    return {
        "captureData": {
            "endpointInput": payload(features + "\n", "INPUT"),
            "endpointOutput": payload(prediction + "\n", "OUTPUT"),
        },
        "eventMetadata": {
            "eventId": str(uuid.uuid4()),
            "inferenceId": record_id,
            "inferenceTime": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "eventVersion": "0",
    }


def feed(input_dir: Path, predictions_dir: Path, output_dir: Path, when: _dt.datetime) -> int:
    """Write the capture file for one transform run; returns the number of rows."""
    predictions = dict(_lines(predictions_dir, ".out"))
    folder = output_dir / when.astimezone(UTC).strftime("%Y/%m/%d/%H")
    folder.mkdir(parents=True, exist_ok=True)
    seen = 0
    name = f"{when:%M-%S}-{when.microsecond // 1000:03d}-batch-{uuid.uuid4()}.jsonl"
    with (folder / name).open("w", encoding="utf-8") as out:
        for record_id, features in _lines(input_dir, None):
            if record_id not in predictions:
                raise ValueError(f"row {record_id!r} has no prediction in {predictions_dir}")
            record = capture_record(record_id, features, predictions[record_id], when)
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
            seen += 1
    if seen != len(predictions):
        raise ValueError(f"{len(predictions)} predictions for {seen} input rows")
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", type=Path, default=Path("/opt/ml/processing/input/rows"))
    parser.add_argument(
        "--predictions-dir", type=Path, default=Path("/opt/ml/processing/input/predictions")
    )
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/capture"))
    args = parser.parse_args(argv)
    rows = feed(args.input_dir, args.predictions_dir, args.output_dir, _dt.datetime.now(UTC))
    print(f"wrote {rows} capture records")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
