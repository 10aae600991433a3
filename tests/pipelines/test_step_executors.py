"""The local executor's step table (pipelines/local/steps STEP_EXECUTORS): the one place a
step type is registered, so a new type (e.g. Transform) is one class and one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipelines.local.errors import DefinitionError
from pipelines.local.executor import run_local
from pipelines.local.steps import STEP_EXECUTORS
from pipelines.local.steps.base import StepExecutor
from pipelines.training_pipeline import PipelineSettings, render_definition


def _types(steps: list[dict[str, Any]]) -> set[str]:
    found = set()
    for step in steps:
        found.add(step["Type"])
        args = step.get("Arguments", {})
        found |= _types(args.get("IfSteps", []) + args.get("ElseSteps", []))
    return found


def test_every_step_type_the_pipeline_renders_has_a_local_executor() -> None:
    """A step type added to training_pipeline.py without its executor fails here, not
    halfway through a lab run."""
    rendered = _types(json.loads(render_definition(PipelineSettings()))["Steps"])
    # Written out: what the DAG in training_pipeline's docstring draws.
    assert rendered == {"Processing", "Tuning", "Training", "Condition", "RegisterModel", "Fail"}
    assert rendered <= set(STEP_EXECUTORS)


def test_an_unregistered_step_type_is_refused_by_name(tmp_path: Path) -> None:
    definition = {"Steps": [{"Name": "Score", "Type": "Transform", "Arguments": {}}]}
    with pytest.raises(DefinitionError, match="'Transform' is not supported locally"):
        run_local(definition, tmp_path, log=lambda _: None)


def test_a_registered_class_runs_its_steps_and_later_steps_read_its_properties(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One class plus one STEP_EXECUTORS entry is all a new step type needs: it gets resolved
    arguments, and what it records is what a later step's Get reads."""

    class Echo(StepExecutor):
        def execute(self) -> str:
            args = self.execution.resolve(self.step["Arguments"], self.name)
            self.execution.properties[self.name] = {"Said": args["Say"]}
            return f"said {args['Say']}"

    monkeypatch.setitem(STEP_EXECUTORS, "Echo", Echo)
    definition = {
        "Parameters": [{"Name": "Word", "Type": "String", "DefaultValue": "hello"}],
        "Steps": [
            {"Name": "First", "Type": "Echo", "Arguments": {"Say": {"Get": "Parameters.Word"}}},
            {"Name": "Second", "Type": "Echo", "Arguments": {"Say": {"Get": "Steps.First.Said"}}},
        ],
    }
    result = run_local(definition, tmp_path, log=lambda _: None)
    assert result.status == "Succeeded"
    assert [(s.name, s.detail) for s in result.steps] == [
        ("First", "said hello"),
        ("Second", "said hello"),
    ]
