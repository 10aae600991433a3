"""Every stack's resources, by logical ID, type and a digest of the rest, against a record.

The oracle for moves that must not change what deploys (issue 23): the record was written by
the commit *before* the move, from the same session synths every other test reads (lab,
prod-like, the three-account profile, all with the example release). A failure lists each
logical ID added, removed or changed per stack, so an intended difference is named in the
commit that re-records it:

    TEMPLATE_INVENTORY=write .venv/bin/python -m pytest tests/accounts/test_template_inventory.py

``Metadata`` (construct paths, nag acknowledgements) is left out: it does not deploy anything.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

RECORD = Path(__file__).resolve().parent / "template_inventory.json"
SECTIONS = ("Resources", "Outputs", "Parameters", "Conditions", "Mappings")


def inventory(templates: dict[str, dict]) -> dict[str, dict[str, str]]:
    """stack -> "Section.LogicalId" -> "Type sha256[:16]" of the entry without Metadata."""
    found: dict[str, dict[str, str]] = {}
    for stack, template in sorted(templates.items()):
        rows: dict[str, str] = {}
        for section in SECTIONS:
            for logical_id, body in sorted(template.get(section, {}).items()):
                entry = (
                    {k: v for k, v in body.items() if k != "Metadata"}
                    if isinstance(body, dict)
                    else body
                )
                digest = hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()
                kind = body.get("Type", section) if isinstance(body, dict) else section
                rows[f"{section}.{logical_id}"] = f"{kind} {digest[:16]}"
        found[stack] = rows
    return found


def differences(recorded: dict[str, dict[str, str]], now: dict[str, dict[str, str]]) -> list[str]:
    lines = []
    for stack in sorted(set(recorded) | set(now)):
        if stack not in now:
            lines.append(f"{stack}: stack removed")
            continue
        if stack not in recorded:
            lines.append(f"{stack}: stack added")
            continue
        before, after = recorded[stack], now[stack]
        for key in sorted(set(before) | set(after)):
            if key not in after:
                lines.append(f"{stack}: {key} removed ({before[key].split()[0]})")
            elif key not in before:
                lines.append(f"{stack}: {key} added ({after[key].split()[0]})")
            elif before[key] != after[key]:
                lines.append(f"{stack}: {key} changed ({after[key].split()[0]})")
    return lines


@pytest.fixture(scope="module")
def current(synth, multi) -> dict[str, dict[str, dict[str, str]]]:  # type: ignore[no-untyped-def]
    found = {p: inventory(synth(p).templates) for p in ("lab", "prod-like")}
    found["multi-account"] = inventory(multi.templates)
    if os.environ.get("TEMPLATE_INVENTORY") == "write":
        RECORD.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    return found


@pytest.mark.parametrize("profile", ["lab", "prod-like", "multi-account"])
def test_templates_match_the_recorded_inventory(current, profile: str) -> None:  # type: ignore[no-untyped-def]
    recorded = json.loads(RECORD.read_text())[profile]
    changed = differences(recorded, current[profile])
    assert not changed, "templates differ from the record:\n" + "\n".join(changed)


def test_the_comparison_names_each_kind_of_change() -> None:
    before = {"S": {"Resources.A": "T 1", "Resources.B": "T 2", "Resources.C": "T 3"}}
    after = {"S": {"Resources.A": "T 1", "Resources.B": "T 9", "Resources.D": "T 4"}, "N": {}}
    assert differences(before, after) == [
        "N: stack added",
        "S: Resources.B changed (T)",
        "S: Resources.C removed (T)",
        "S: Resources.D added (T)",
    ]
    assert differences(after, before)[0] == "N: stack removed"


def test_metadata_does_not_count_but_a_property_does() -> None:
    def one(resource: dict) -> dict[str, dict[str, str]]:
        return inventory({"S": {"Resources": {"R": resource}}})

    base = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "a"}}
    noted = {**base, "Metadata": {"aws:cdk:path": "S/R"}}
    renamed = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "b"}}
    assert one(base) == one(noted)
    assert one(base) != one(renamed)
