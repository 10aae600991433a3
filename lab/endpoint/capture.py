"""Data capture in SageMaker's layout and record format, written to a local folder.

Path: ``<root>/<endpoint>/<variant>/yyyy/mm/dd/hh/<MM>-<SS>-<mmm>-<uuid>.jsonl`` (UTC hour of
the inference, file named after its first record). One JSON line per captured invocation.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from model_code.layout import VARIANT
from ops.payload import media_type

# The deployed endpoint config sets CaptureContentTypeHeader to exactly these
# (infra/serving/construct.py); anything else is captured base64-encoded.
CSV_TYPES = ("text/csv",)
JSON_TYPES = ("application/json",)


def encoding_for(content_type: str | None) -> str:
    kind = media_type(content_type)
    if kind in CSV_TYPES:
        return "CSV"
    if kind in JSON_TYPES:
        return "JSON"
    return "BASE64"


def _payload(content_type: str | None, body: bytes, mode: str) -> dict[str, str]:
    encoding = encoding_for(content_type)
    try:
        data = body.decode("utf-8") if encoding != "BASE64" else None
    except UnicodeDecodeError:
        encoding, data = "BASE64", None
    if data is None:
        data = base64.b64encode(body).decode("ascii")
    return {
        "observedContentType": content_type or "",
        "mode": mode,
        "data": data,
        "encoding": encoding,
    }


def capture_record(
    request_type: str | None,
    request_body: bytes,
    response_type: str,
    response_body: bytes,
    when: datetime,
    inference_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """One capture line, field for field as SageMaker writes it."""
    metadata: dict[str, str] = {"eventId": event_id or str(uuid.uuid4())}
    if inference_id:
        metadata["inferenceId"] = inference_id
    metadata["inferenceTime"] = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "captureData": {
            "endpointInput": _payload(request_type, request_body, "INPUT"),
            "endpointOutput": _payload(response_type, response_body, "OUTPUT"),
        },
        "eventMetadata": metadata,
        "eventVersion": "0",
    }


class CaptureWriter:
    """Samples invocations and appends their records, one open file per UTC hour."""

    def __init__(
        self,
        root: Path,
        endpoint: str,
        variant: str = VARIANT,
        sampling_percent: int = 100,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 <= sampling_percent <= 100:
            raise ValueError(f"sampling percent must be 0-100, got {sampling_percent}")
        self.base = root / endpoint / variant
        self.sampling_percent = sampling_percent
        self.records = 0
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._hour: str | None = None
        self._file: IO[str] | None = None
        self.files: list[Path] = []

    def sampled(self) -> bool:
        return self._rng.random() * 100 < self.sampling_percent

    def capture(
        self,
        request_type: str | None,
        request_body: bytes,
        response_type: str,
        response_body: bytes,
        inference_id: str | None = None,
        when: datetime | None = None,
    ) -> bool:
        """Write one record if this invocation is sampled; True when written."""
        if not self.sampled():
            return False
        when = when or datetime.now(UTC)
        line = json.dumps(
            capture_record(
                request_type, request_body, response_type, response_body, when, inference_id
            ),
            separators=(",", ":"),
        )
        with self._lock:
            handle = self._open(when)
            handle.write(line + "\n")
            handle.flush()  # readers (drift checks, tests) see each record at once
            self.records += 1
        return True

    def _open(self, when: datetime) -> IO[str]:
        when = when.astimezone(UTC)
        hour = when.strftime("%Y/%m/%d/%H")
        if self._file is None or hour != self._hour:
            if self._file is not None:
                self._file.close()
            folder = self.base / hour
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{when:%M-%S}-{when.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
            path = folder / name
            self._file = path.open("a", encoding="utf-8")
            self._hour = hour
            self.files.append(path)
        return self._file

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
                self._hour = None
