"""The stages of `make lab` chained as the lab runs them: ingest -> train -> serve.

Each stage has its own tests; this one guards the hand-offs between them (what train registers
is what serve finds). The env-prefixed cloud group names once broke exactly this while every
other test passed.
"""

from __future__ import annotations

from pathlib import Path

from labctl.lab import LabContext, _ingest_stage, _serve_stage, _train_stage


def test_train_registers_what_serve_then_serves(tmp_path: Path) -> None:
    ctx = LabContext(profile="lab", workdir=tmp_path)
    assert "events" in _ingest_stage(ctx)
    trained = _train_stage(ctx)
    assert "xgboost" in trained
    served = _serve_stage(ctx)
    # The serve stage invokes with boto3 and checks the study guide's first sample is a 6.
    assert "digits-xgboost v1" in served, served
    # The async stage serves the same registered model through the queue (labctl.lab_async).
    from labctl.lab import _async_stage

    queued = _async_stage(ctx)
    assert "equal to the real-time endpoint" in queued and "failure file" in queued, queued
