"""What the local executor raises: shared by the execution and each step executor."""

from __future__ import annotations

import json
from typing import Any


class DefinitionError(ValueError):
    """The definition cannot run: unknown step, cycle, unsupported step or image."""


class PropertyReferenceError(DefinitionError):
    """A Get / JsonGet / condition that cannot be resolved; names the step and the reference."""

    def __init__(self, step: str, reference: Any, reason: str) -> None:
        super().__init__(f"step {step!r}: cannot resolve {json.dumps(reference)}: {reason}")
        self.step, self.reference = step, reference


class StepFailed(Exception):
    """A job ran and failed (non-zero exit, missing input): the run ends Failed."""
