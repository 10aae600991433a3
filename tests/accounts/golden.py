"""Hashes of the single-account templates, the oracle for "no accounts block, no change".

``python -m tests.accounts.golden --write`` records them (run on the commit *before* a change
that must not alter single-account templates, then commit the file); the test compares a fresh
synth with the recorded hashes. Another change that legitimately alters the templates
regenerates the file in the same commit, and says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "single_account_templates.json"
PROFILES = ("lab", "prod-like")


def digest(template: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()


def hashes(templates: dict[str, dict[str, object]]) -> dict[str, str]:
    return {name: digest(t) for name, t in sorted(templates.items())}


def main(argv: list[str]) -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("CDK_VALIDATION", "false")
    os.environ.setdefault("PIPELINE_CACHE", "off")
    from core.config import load_profile
    from infra.platform import synth_templates

    found = {}
    for profile in PROFILES:
        with tempfile.TemporaryDirectory() as outdir:
            found[profile] = hashes(synth_templates(load_profile(profile), outdir))
    text = json.dumps(found, indent=2, sort_keys=True) + "\n"
    if "--write" in argv:
        GOLDEN.write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
