"""What Lambda code passes to SageMaker is declared as data (``LAMBDA_KEY_CALLS``), and the
declaration is checked against the code itself: every runtime module is parsed with ``ast``
and each SageMaker create call that takes a customer key must have its row (and each row its
call). The rehearsal's row ``lambda-code-passes-key-to-sagemaker`` then asks the function's
role for ``kms:CreateGrant`` on that key."""

from __future__ import annotations

import ast
from pathlib import Path

from assurance.rehearsal.service_roles import LAMBDA_KEY_CALLS, SAGEMAKER_KEY_CALLS

INFRA = Path(__file__).resolve().parents[3] / "infra"


def _runtime_modules() -> list[Path]:
    """Every module under a runtime folder, nested ones included (runtime/<function>/)."""
    return sorted(
        {
            p
            for d in INFRA.rglob("*")
            if d.is_dir() and (d.name == "runtime" or d.name.endswith("_runtime"))
            for p in d.rglob("*.py")
        }
    )


def key_calls(source: str) -> set[str]:
    """Names of the SageMaker key-taking methods the source calls (``x.create_..._job(...)``)."""
    return {
        node.func.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in SAGEMAKER_KEY_CALLS
    }


def test_the_scanner_sees_a_create_call() -> None:
    assert key_calls("sm.create_training_job(**request)\nsm.describe_training_job()") == {
        "create_training_job"
    }
    assert key_calls("create_processing_job = 1") == set()


def test_every_runtime_modules_sagemaker_key_call_is_declared() -> None:
    modules = _runtime_modules()
    # runtime/<function>/ folders too (the reaper's: infra/operations/runtime/reaper/)
    assert {"drift_runner", "reaper"} <= {p.stem for p in modules}, modules
    found = {(p.stem, call) for p in modules for call in key_calls(p.read_text())}
    declared = {(c.module, c.call) for c in LAMBDA_KEY_CALLS}
    assert found == declared, (
        f"undeclared: {sorted(found - declared)}; stale: {sorted(declared - found)} "
        "(assurance/rehearsal/service_roles.py LAMBDA_KEY_CALLS)"
    )
