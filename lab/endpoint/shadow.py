"""A local endpoint with a shadow variant, as SageMaker runs one.

The production variant answers every request; a copy of ``sampling_percentage`` % of them goes
to the shadow model, whose answer is captured but never returned (SageMaker developer guide,
"Shadow variants"). Both variants capture in SageMaker's layout, each under its own variant
folder (``<capture>/<endpoint>/AllTraffic/`` and ``.../Shadow/``), with the same
``inferenceId`` (the client's, or one generated per request) so the report can pair them.
Model latency per invocation (CloudWatch's ``ModelLatency`` in the cloud, microseconds) goes to
``<metrics>/<endpoint>/<variant>.jsonl``.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import Any

from core.shadow_rules import SHADOW_VARIANT
from lab.endpoint.capture import CaptureWriter
from lab.endpoint.models import LoadedModel, load_archive
from lab.endpoint.server import (
    INFERENCE_ID,
    EndpointSettings,
    LocalEndpoint,
    Reply,
)
from ops.payload import format_predictions, parse, response_type


class LatencyLog:
    """One JSON line per invocation: ``{"time", "model_latency_us"}`` (ModelLatency's unit)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()

    def add(self, microseconds: float) -> None:
        line = json.dumps(
            {
                "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "model_latency_us": round(microseconds, 1),
            }
        )
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


class ShadowEndpoint(LocalEndpoint):
    """``LocalEndpoint`` (real_time) plus a shadow model fed a sample of its requests."""

    def __init__(
        self,
        settings: EndpointSettings,
        shadow_model: Path,
        sampling_percentage: int = 100,
        metrics_dir: Path | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if settings.kind != "real_time":
            raise ValueError("a shadow variant needs a real_time endpoint (shadow exclusions)")
        if settings.capture_dir is None:
            raise ValueError("a shadow variant needs data capture: the report reads it")
        if not 1 <= sampling_percentage <= 100:
            raise ValueError(f"sampling percentage must be 1-100, got {sampling_percentage}")
        super().__init__(settings)
        self.shadow: LoadedModel = load_archive(shadow_model)
        self.sampling_percentage = sampling_percentage
        self._rng = rng or random.Random()
        self.shadow_capture = CaptureWriter(settings.capture_dir, self.name, SHADOW_VARIANT)
        metrics = metrics_dir or settings.capture_dir.parent / "metrics"
        self.latency = {
            settings.variant: LatencyLog(metrics / self.name / f"{settings.variant}.jsonl"),
            SHADOW_VARIANT: LatencyLog(metrics / self.name / f"{SHADOW_VARIANT}.jsonl"),
        }
        self.shadow_invocations = 0
        self.shadow_errors = 0

    def invoke(
        self,
        headers: Mapping[str, str] | Message[str, str],
        body: bytes,
        endpoint: str | None = None,
    ) -> Reply:
        # Both variants' capture records carry one inferenceId so the report can pair them.
        inference_id = headers.get(INFERENCE_ID) or str(uuid.uuid4())
        tagged: Message[str, str] = Message()  # case-insensitive, as HTTP headers are
        for key, value in headers.items():
            if key.lower() != INFERENCE_ID.lower():
                tagged[key] = value
        tagged[INFERENCE_ID] = inference_id
        started = time.perf_counter()
        reply = super().invoke(tagged, body, endpoint)
        self.latency[self.settings.variant].add((time.perf_counter() - started) * 1e6)
        if reply.status == 200 and self._rng.random() * 100 < self.sampling_percentage:
            self._shadow(tagged, body, inference_id)
        return reply

    def _shadow(self, headers: Message[str, str], body: bytes, inference_id: str) -> None:
        """The replicated request: answered, captured and timed, never returned. A shadow
        failure is counted and never reaches the client (the service's behaviour)."""
        content_type = headers.get("Content-Type")
        started = time.perf_counter()
        try:
            out_type = response_type(headers.get("Accept"), content_type)
            data = format_predictions(self.shadow.predict(parse(content_type, body)), out_type)
        except Exception:  # noqa: BLE001  (any shadow failure stays in the shadow)
            self.shadow_errors += 1
            return
        self.latency[SHADOW_VARIANT].add((time.perf_counter() - started) * 1e6)
        self.shadow_invocations += 1
        self.shadow_capture.capture(content_type, body, out_type, data, inference_id)

    def stop(self) -> None:
        super().stop()
        self.shadow_capture.close()


def local_shadow_endpoint(workdir: Path, settings: Any, version: int, percent: int) -> Any:
    """`labctl serve --local --shadow-version N`: the registry's version N (Approved, newer
    than production's, as the cloud's challenger must be) shadows the served model."""
    from lab.registry import XGBOOST_GROUP, _artifact, read_registry
    from ops.errors import UsageError

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
