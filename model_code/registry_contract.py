"""Which registered version is "the newest Approved": one rule, standard library only.

labctl's release resolution (``labctl/release.py``) and the drift runner Lambda (which has no
release file and is bundled with this module beside it, ``infra/monitoring/drift.py``) must
pick the same version, so the rule lives here once:

- ListModelPackages filtered to ``Approved``, newest creation time first (SageMaker API
  reference, ListModelPackages: SortBy CreationTime, SortOrder Descending);
- a version approved before its registration finished (``ModelPackageStatus`` not
  ``Completed``) has no usable artifact yet and is skipped;
- equal creation times are broken by the higher version number.
"""

from __future__ import annotations

from typing import Any

# One page is enough: a group rarely holds more than a few approved versions still in
# registration at once, and the newest Completed one is among the newest 20.
PAGE = 20


def newest_approved_summary(client: Any, group: str) -> dict[str, Any] | None:
    """The ModelPackageSummary of ``group``'s newest Approved, Completed version; None if none.
    ``client`` is a boto3 SageMaker client; its errors are the caller's to handle."""
    summaries = client.list_model_packages(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=PAGE,
    )["ModelPackageSummaryList"]
    usable = [s for s in summaries if s.get("ModelPackageStatus", "Completed") == "Completed"]
    if not usable:
        return None
    newest: dict[str, Any] = max(
        usable, key=lambda s: (s["CreationTime"], s.get("ModelPackageVersion", 0))
    )
    return newest
