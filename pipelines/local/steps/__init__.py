"""One executor class per pipeline step type, and the table that picks it.

To run a new step type locally (for example ``Transform``), write one module here with a
``StepExecutor`` subclass (see base.py: ``execute()`` runs ``self.step``, records
``self.execution.properties[self.name]`` and returns a one-line detail) and add one line to
STEP_EXECUTORS below. The execution (executor.py) plans, resolves references and reports; it
knows no step type. Modelled on the SageMaker SDK's ``sagemaker/local/pipeline.py``
(``_StepExecutorFactory``).
"""

from __future__ import annotations

from pipelines.local.steps.base import StepExecutor
from pipelines.local.steps.condition import ConditionStep
from pipelines.local.steps.fail import FailStep
from pipelines.local.steps.processing import ProcessingStep
from pipelines.local.steps.register import RegisterModelStep
from pipelines.local.steps.training import TrainingStep
from pipelines.local.steps.tuning import TuningStep

# The definition's step "Type" -> the class that runs it here. The registration point.
STEP_EXECUTORS: dict[str, type[StepExecutor]] = {
    "Processing": ProcessingStep,
    "Training": TrainingStep,
    "Tuning": TuningStep,
    "Condition": ConditionStep,
    "RegisterModel": RegisterModelStep,
    "Fail": FailStep,
}
