"""Fail steps: end the execution Failed with the step's ErrorMessage."""

from __future__ import annotations

from pipelines.local.errors import StepFailed
from pipelines.local.steps.base import StepExecutor, text


class FailStep(StepExecutor):
    def execute(self) -> str:
        step = self.step
        message = self.execution.resolve(
            step.get("Arguments", {}).get("ErrorMessage", ""), step["Name"]
        )
        raise StepFailed(f"{step['Name']}: {text(message)}")
