"""``labctl model card --local``: the model card of a version of the lab's registry, built by
the same content builder as the cloud's (core/model_card.py) from the registry entry and the
local run's evaluation report (``evaluation``, recorded by the register step)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.model_card import ApprovalChange, CardFacts, card_content
from lab.registry import LocalRegistry, read_local
from ops.errors import UsageError


def local_version(workdir: Path, group: str, version: int | None) -> dict[str, Any]:
    """The entry of ``group``'s ``version`` (default: the newest); UsageError if unknown."""
    registry = read_local(workdir)
    groups = registry.get("groups", {})
    if group not in groups:
        raise UsageError(
            f"no group {group!r} in the local registry; groups: {', '.join(sorted(groups))}"
        )
    versions = groups[group].get("versions", [])
    if not versions:
        raise UsageError(f"group {group!r} has no versions")
    if version is None:
        return dict(max(versions, key=lambda v: int(v["version"])))
    chosen = next((v for v in versions if int(v["version"]) == version), None)
    if chosen is None:
        known = ", ".join(str(v["version"]) for v in versions)
        raise UsageError(f"group {group!r} has no version {version} (versions: {known})")
    return dict(chosen)


def local_facts(
    workdir: Path, group: str, entry: dict[str, Any], model: str = "xgboost"
) -> CardFacts:
    """CardFacts of a local registry entry; an unreadable evaluation report is no report."""
    evaluation = None
    relative = entry.get("evaluation")
    if relative:
        path = LocalRegistry(Path(workdir)).workdir / relative
        try:
            evaluation = json.loads(path.read_text())
        except (OSError, ValueError):
            evaluation = None
    history = [
        ApprovalChange(
            status=str(h.get("status", "")),
            time=str(h.get("time", "")),
            description=str(h.get("description", "")),
            by=str(h.get("by", "")),
        )
        for h in entry.get("approval_history") or []
    ] or [ApprovalChange(str(entry.get("approval_status")), str(entry.get("created", "")))]
    return CardFacts(
        package_arn=str(entry.get("arn", "")),
        group=group,
        version=int(entry["version"]),
        approval_status=str(entry.get("approval_status")),
        evaluation=evaluation,
        evaluation_uri=str(relative or ""),
        model_data_url=str(entry.get("model_data_url") or ""),
        image=str(entry.get("image") or ""),
        training_data=tuple(entry.get("training_data") or ()),
        approval_history=tuple(history),
        pipeline_execution=str(entry.get("pipeline_execution") or ""),
        model=model,
    )


def local_card(
    workdir: Path, group: str, version: int | None, model: str = "xgboost"
) -> dict[str, Any]:
    """The card content of a local version (core/model_card.py ``card_content``); ``model``
    is the evaluation report's key for the group (xgboost, baseline)."""
    entry = local_version(workdir, group, version)
    return card_content(local_facts(workdir, group, entry, model))
