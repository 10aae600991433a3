"""Condition steps: the conditions (ANDed) choose IfSteps or ElseSteps, which run in turn;
the other branch is recorded as NotExecuted."""

from __future__ import annotations

from typing import Any

from pipelines.local.errors import PropertyReferenceError
from pipelines.local.steps.base import StepExecutor


class ConditionStep(StepExecutor):
    def evaluate_condition(self, condition: dict[str, Any], step: str) -> bool:
        kind = condition.get("Type")
        binary = {
            "Equals": lambda a, b: a == b,
            "GreaterThan": lambda a, b: a > b,
            "GreaterThanOrEqualTo": lambda a, b: a >= b,
            "LessThan": lambda a, b: a < b,
            "LessThanOrEqualTo": lambda a, b: a <= b,
        }
        if kind in binary:
            left = self.execution.resolve(condition["LeftValue"], step)
            right = self.execution.resolve(condition["RightValue"], step)
            try:
                return bool(binary[kind](left, right))
            except TypeError as err:
                raise PropertyReferenceError(
                    step, condition, f"cannot compare {left!r} and {right!r}"
                ) from err
        if kind == "In":
            return self.execution.resolve(condition["QueryValue"], step) in self.execution.resolve(
                condition["Values"], step
            )
        if kind == "Not":
            return not self.evaluate_condition(condition["Condition"], step)
        if kind == "Or":
            return any(self.evaluate_condition(c, step) for c in condition["Conditions"])
        if kind == "And":
            return all(self.evaluate_condition(c, step) for c in condition["Conditions"])
        raise PropertyReferenceError(step, condition, f"unknown condition type {kind!r}")

    def execute(self) -> str:
        step = self.step
        name, args = step["Name"], step["Arguments"]
        # SageMaker ANDs the list of conditions.
        outcome = all(self.evaluate_condition(c, name) for c in args.get("Conditions", []))
        self.execution.properties[name] = {"Outcome": outcome}
        chosen, skipped = ("IfSteps", "ElseSteps") if outcome else ("ElseSteps", "IfSteps")
        self.execution.log(
            f"[{name}] outcome {str(outcome).lower()}: running "
            f"{', '.join(s['Name'] for s in args.get(chosen, [])) or 'nothing'}"
        )
        for inner in args.get(skipped, []):
            self.execution.not_executed(inner)
        self.execution.run_steps(list(args.get(chosen, [])))
        return f"outcome {str(outcome).lower()}"
