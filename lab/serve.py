"""The local endpoint of a profile's serving kind, from the lab's local registry: its plan
(``plan_from_profile``), the endpoint (``build_endpoint``), what it serves (``banner``) and the
lab stage ``lab_serve``: start, check through boto3, stop. ``labctl serve --local`` runs it
until Ctrl-C (labctl/serve.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.endpoint import KINDS, EndpointSetupError, LocalEndpoint, load_archive
from lab.registry import (
    BASELINE_GROUP,
    XGBOOST_GROUP,
    LocalRegistry,
    mme_name,
    pick_version,
    read_registry,
    served_versions,
    settings_from_registry,
)
from ops.errors import OperationFailed, UsageError
from ops.payload import CSV, JSON

SERVERLESS_CAPTURE = (
    "serverless endpoints cannot capture data: drop --capture or choose another --kind"
)


FIRST_TEST_LABEL = 6  # the study guide's first Digits test sample


@dataclass(frozen=True)
class ServePlan:
    kind: str
    capture: bool
    capture_percent: int
    endpoint_name: str
    # The local registry's XGBoost and baseline groups (the profile's, see LocalRegistry).
    groups: tuple[str, str] = (XGBOOST_GROUP, BASELINE_GROUP)

    def registry(self, workdir: Path) -> LocalRegistry:
        return LocalRegistry(workdir, *self.groups)


def plan_from_profile(profile: str, kind: str | None, capture: bool | None) -> ServePlan:
    """The profile's serving settings with the command-line overrides applied."""
    from core.config import ConfigError, load_profile

    try:
        config = load_profile(profile)
    except ConfigError as err:
        raise UsageError(str(err)) from err
    serving = config.serving
    chosen = kind or serving.kind
    if capture is None:
        # The profile's choice, except where the kind cannot capture (an overridden kind).
        capture = serving.data_capture and chosen != "serverless"
    elif capture and chosen == "serverless":
        raise UsageError(SERVERLESS_CAPTURE)
    name = getattr(config, "endpoint_name", None) or f"{config.env_name}-digits"
    local = LocalRegistry.for_profile(Path("."), config)
    groups = (local.xgboost_group, local.baseline_group)
    return ServePlan(chosen, capture, serving.capture_sampling_percent, name, groups)


def build_endpoint(
    workdir: Path,
    plan: ServePlan,
    port: int = 0,
    max_models: int | None = 8,
    max_bytes: int | None = None,
    allow_pending: bool = False,
) -> LocalEndpoint:
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be 0-65535, got {port}")
    for flag, value in (("--max-models", max_models), ("--max-model-bytes", max_bytes)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be positive, got {value}")
    try:
        settings = settings_from_registry(
            plan.registry(workdir),
            plan.kind,
            allow_pending,
            endpoint_name=plan.endpoint_name,
            port=port,
            max_models=max_models,
            max_bytes=max_bytes,
            capture_dir=workdir / "capture" if plan.capture else None,
            capture_percent=plan.capture_percent,
        )
        endpoint = LocalEndpoint(settings)
        if plan.capture:  # what answers the captured predictions (labctl lineage --local)
            from lab.lineage import record_deployment

            local = plan.registry(workdir)
            served = served_versions(read_registry(local), plan.kind, allow_pending, local)
            record_deployment(workdir, plan.endpoint_name, settings.variant, plan.kind, served)
        return endpoint
    except EndpointSetupError as err:
        raise UsageError(str(err)) from err


def banner(where: Path | LocalRegistry, kind: str, allow_pending: bool = False) -> str:
    """Group, version and approval status of every model the endpoint serves."""
    local = where if isinstance(where, LocalRegistry) else LocalRegistry(where)
    served = served_versions(read_registry(local), kind, allow_pending, local)
    return ", ".join(f"{group} v{v['version']} ({v.get('approval_status')})" for group, v in served)


def lab_serve(
    workdir: Path,
    kind: str,
    capture: bool,
    capture_percent: int = 100,
    endpoint_name: str = "lab-digits",
    groups: tuple[str, str] = (XGBOOST_GROUP, BASELINE_GROUP),
) -> str:
    """Start the local endpoint of ``kind``, check it through boto3, stop it; one line back.

    Checks: the first Digits test sample comes back a 6 and every answer equals the
    artifact's own in-process prediction (CSV and JSON); a bad payload is refused with a
    ModelError and the endpoint keeps serving; MCE: both containers; MME: two target models
    under a one-model cache, so one eviction and a reload; capture: one record per success.
    """
    from botocore.exceptions import ClientError

    from ops.invoke import digits_test_rows, invoke_rows, local_client

    if kind not in KINDS:
        raise UsageError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if capture and kind == "serverless":
        raise UsageError(SERVERLESS_CAPTURE)
    plan = ServePlan(kind, capture, capture_percent, endpoint_name, groups)
    local = plan.registry(workdir)
    endpoint = build_endpoint(workdir, plan, max_models=1)
    rows, _ = digits_test_rows(5)
    targets = _lab_targets(local, endpoint)
    endpoint.start()
    try:
        client = local_client(endpoint.url)
        calls = 0
        for label, headers, artifact in targets:
            reference = [int(p) for p in load_archive(artifact).predict(rows)]
            for content_type, accept in ((CSV, CSV), (JSON, JSON)):
                got = invoke_rows(
                    client, endpoint_name, rows, content_type=content_type, accept=accept, **headers
                )
                calls += 1
                if got[0] != FIRST_TEST_LABEL:
                    raise OperationFailed(
                        f"{kind} {label}: the first Digits test sample came "
                        f"back {got[0]}, expected {FIRST_TEST_LABEL}"
                    )
                if got != reference:
                    raise OperationFailed(
                        f"{kind} {label} ({content_type}): served {got}, "
                        f"the artifact predicts {reference}"
                    )
        first_headers = targets[0][1]
        try:
            invoke_rows(client, endpoint_name, rows[:, :63], **first_headers)
        except ClientError as err:
            if err.response["Error"]["Code"] != "ModelError":
                raise OperationFailed(f"63-column row: expected ModelError, got {err}") from err
        else:
            raise OperationFailed("a 63-column row was accepted")
        invoke_rows(client, endpoint_name, rows[:1], **first_headers)  # still serving
        calls += 1
        parts = [
            f"{kind}: serving {banner(local, kind)}",
            f"{calls} boto3 invocations at {endpoint.url}",
            f"first test sample -> {FIRST_TEST_LABEL} from " + ", ".join(t[0] for t in targets),
            "63-column row -> ModelError, still serving",
        ]
        if endpoint.cache is not None:
            stats = endpoint.cache.stats
            if not stats.evicted:
                raise OperationFailed("multi-model cache (max 1 model) evicted nothing")
            parts.append(
                f"{stats.loads} loads on first use, {len(stats.evicted)} LRU "
                "evictions (cap 1 model)"
            )
        if endpoint.capture is not None:
            records = sum(len(p.read_text().splitlines()) for p in endpoint.capture.files)
            expected = calls if capture_percent == 100 else None
            if expected is not None and records != expected:
                raise OperationFailed(f"captured {records} records, expected {expected}")
            for path in endpoint.capture.files:
                for line in path.read_text().splitlines():
                    json.loads(line)["captureData"]["endpointInput"]["data"]
            parts.append(
                f"{records} capture records under {endpoint.capture.base.relative_to(workdir)}"
            )
        return "; ".join(parts)
    except ClientError as err:
        raise OperationFailed(f"local {kind} endpoint: {err}") from err
    finally:
        endpoint.stop()


def _lab_targets(
    local: LocalRegistry, endpoint: LocalEndpoint
) -> list[tuple[str, dict[str, Any], Path]]:
    """(label, invoke_rows headers, artifact) per model the lab stage checks."""
    settings = endpoint.settings
    if endpoint.kind == "multi_container":
        return [
            (f"container {host}", {"target_container": host}, path)
            for host, path in settings.containers.items()
        ]
    if endpoint.kind == "multi_model":
        assert settings.model_folder is not None
        registry = read_registry(local)
        names = [
            mme_name(group, pick_version(registry, group)["version"], local)
            for group in (local.xgboost_group, local.baseline_group)
        ]
        # The first model again after the second: with a one-model cache it was evicted.
        names.append(names[0])
        return [(name, {"target_model": name}, settings.model_folder / name) for name in names]
    assert settings.model is not None
    version = pick_version(read_registry(local), local.xgboost_group)["version"]
    return [(f"{local.xgboost_group} v{version}", {}, settings.model)]
