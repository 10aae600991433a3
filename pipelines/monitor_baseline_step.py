"""The pipeline's MonitorBaseline step and what the registered package carries from it.

    Preprocess (train) ──┐
                         ├─► MonitorBaseline ──► Register* (ModelMetrics, DriftCheckBaselines)
    Evaluate (metrics) ──┘

Runs model_code/monitor_baseline.py on the scikit-learn image (numpy only), writing Model
Monitor's statistics/constraints files under a per-execution prefix
(``<artifacts>/pipelines/<pipeline>/<execution id>/MonitorBaseline``), so a later run never
overwrites the baseline of a version already registered. Model Monitor's own baselining
image is closed to new customers (Developer Guide, "Amazon SageMaker Model Monitor
availability change"), hence no QualityCheckStep. SageMaker SDK objects only; imported by
training_pipeline.build_pipeline inside its offline environment.
"""

from __future__ import annotations

from typing import Any

STEP_NAME = "MonitorBaseline"
OUTPUT_NAME = "monitor-baseline"
# Files under the step's output prefix (model_code/monitor_baseline.py writes them).
DATA_STATISTICS = "data-quality/statistics.json"
DATA_CONSTRAINTS = "data-quality/constraints.json"
MODEL_STATISTICS = "model-quality/statistics.json"
MODEL_CONSTRAINTS = "model-quality/constraints.json"
ANALYSIS_CONFIG = "explainability/analysis_config.json"
# The drift job's own baseline (Preprocess's), copied so each version keeps its own; the
# drift job mounts its folder and reads this name (drift_runner.start_window).
DRIFT_STATISTICS = "drift/baseline_statistics.json"


def monitor_baseline_step(
    *,
    processor: Any,
    code: str,
    output_root: str,
    train_uri: Any,
    evaluation_uri: Any,
    statistics_uri: Any,
    accuracy_threshold: Any,
    lib_input: Any,
) -> Any:
    """The ProcessingStep; ``processor`` is the pipeline's ScriptProcessor (KMS, network)."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.steps import ProcessingStep

    destination = Join(
        on="/", values=[output_root, ExecutionVariables.PIPELINE_EXECUTION_ID, STEP_NAME]
    )
    return ProcessingStep(
        STEP_NAME,
        step_args=processor.run(
            code=f"{code}/monitor_baseline.py",
            inputs=[
                ProcessingInput(
                    source=train_uri,
                    destination="/opt/ml/processing/input/train",
                    input_name="train",
                ),
                ProcessingInput(
                    source=statistics_uri,
                    destination="/opt/ml/processing/input/statistics",
                    input_name="statistics",
                ),
                ProcessingInput(
                    source=evaluation_uri,
                    destination="/opt/ml/processing/input/evaluation",
                    input_name="evaluation",
                ),
                lib_input,
            ],
            outputs=[
                ProcessingOutput(
                    output_name=OUTPUT_NAME,
                    source="/opt/ml/processing/output/baseline",
                    destination=destination,
                )
            ],
            arguments=[
                "--train-dir",
                "/opt/ml/processing/input/train",
                "--evaluation-dir",
                "/opt/ml/processing/input/evaluation",
                "--drift-statistics-dir",
                "/opt/ml/processing/input/statistics",
                "--output-dir",
                "/opt/ml/processing/output/baseline",
                "--accuracy-threshold",
                accuracy_threshold.to_string(),
            ],
        ),
    )


def baseline_file(step: Any, name: str) -> Any:
    """The S3 URI of one of the step's files (a pipeline expression)."""
    from sagemaker.workflow.functions import Join

    uri = step.properties.ProcessingOutputConfig.Outputs[OUTPUT_NAME].S3Output.S3Uri
    return Join(on="/", values=[uri, name])


def _source(step: Any, name: str) -> Any:
    from sagemaker.model_metrics import MetricsSource

    return MetricsSource(s3_uri=baseline_file(step, name), content_type="application/json")


def model_monitor_metrics(step: Any, model_quality: bool) -> dict[str, Any]:
    """ModelMetrics sources: data quality (statistics + constraints) and, for the served
    model, the model-quality constraints; the model-quality statistics stay Evaluate's,
    registered by the caller."""
    sources = {
        "model_data_statistics": _source(step, DATA_STATISTICS),
        "model_data_constraints": _source(step, DATA_CONSTRAINTS),
    }
    if model_quality:
        sources["model_constraints"] = _source(step, MODEL_CONSTRAINTS)
    return sources


def drift_check_baselines(step: Any, model_quality: bool) -> dict[str, Any]:
    """DriftCheckBaselines sources. ``model_data_statistics`` is the platform drift job's own
    baseline (infra/monitoring/runtime/drift_runner.py reads it from the deployed version),
    copied under this execution's prefix; Model Monitor's data-quality constraints beside it
    and, for the served model, its model-quality statistics and constraints."""
    sources = {
        "model_data_statistics": _source(step, DRIFT_STATISTICS),
        "model_data_constraints": _source(step, DATA_CONSTRAINTS),
    }
    if model_quality:
        sources["model_statistics"] = _source(step, MODEL_STATISTICS)
        sources["model_constraints"] = _source(step, MODEL_CONSTRAINTS)
    return sources
