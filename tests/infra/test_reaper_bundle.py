"""The reaper's Lambda asset runs on its own (DEPLOYABILITY class 5: build environment parity).

Apart from tests/infra/test_reaper.py so that its mutation run (tests/mutation/run.py reaper)
does not import a mutated, mutmut-instrumented bundle in a bare interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any


def test_the_reaper_bundle_imports_on_its_own(synth: Any) -> None:
    """Lambda runs the asset alone: the handler and the stack contract it imports are in it
    (DEPLOYABILITY class 5), so a fresh interpreter with only the asset on its path loads it."""
    lab = synth("lab")
    function = next(
        f
        for f in lab.template("Ingestion")["Resources"].values()
        if f["Type"] == "AWS::Lambda::Function"
        and f["Properties"].get("Handler") == "reaper.handler"
    )
    asset = lab.outdir / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    probe = "import reaper; print(reaper.managing_stack({'aws:cloudformation:stack-name': 's'}))"
    # -I -S: isolated, without site-packages (where the repository is installed editable)
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, '.'); {probe}"],
        cwd=asset,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0 and out.stdout.strip() == "s", out.stderr
