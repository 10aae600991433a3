"""Where labctl keeps the local lab, so its commands work from any folder.

The work folder defaults to ``.lab`` in the checkout labctl runs from (``make bootstrap``
installs the checkout in editable mode), or ``$LABCTL_WORKDIR`` when set; every command
that reads or writes it takes ``--workdir``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def default_workdir() -> Path:
    return Path(os.environ.get("LABCTL_WORKDIR") or REPO / ".lab")


def lake_raw(workdir: Path) -> Path:
    """The lab's raw zone: where ingest writes and the local pipeline reads the events."""
    return Path(workdir) / "lake" / "raw"


def lake_quarantine(workdir: Path) -> Path:
    """The lab's quarantine: rows the data-quality gate did not keep, one folder per run."""
    return Path(workdir) / "lake" / "quarantine"


def workdir_help() -> str:
    return f"lab work folder (default {default_workdir()}; $LABCTL_WORKDIR overrides)"
