"""Hyperparameter tuning settings: the rules, validated once, for the profile and the pipeline.

core/config/ ``TrainingConfig`` (the profile's ``training.max_tuning_jobs`` ...) and
pipelines/training_pipeline.py ``PipelineSettings`` (what the definition renders) both ask
``tuning_problem``, each naming the fields in its own words. Standard library only.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, get_args

# HyperParameterTuningJobConfig.Strategy, valid values (SageMaker API reference).
TuningStrategy = Literal["Bayesian", "Random", "Hyperband", "Grid"]
STRATEGIES: tuple[str, ...] = get_args(TuningStrategy)
# Automatic model tuning limits: up to 500 training jobs per tuning job, 100 in parallel.
MAX_TRAINING_JOBS = 500
MAX_PARALLEL_TRAINING_JOBS = 100


class FieldNames(NamedTuple):
    """How the caller calls each setting, so the message names what the user wrote."""

    max_jobs: str
    max_parallel_jobs: str
    strategy: str
    early_stopping: str


PIPELINE_FIELDS = FieldNames("max_jobs", "max_parallel_jobs", "strategy", "early_stopping")


def tuning_problem(
    max_jobs: int,
    max_parallel_jobs: int,
    strategy: str,
    early_stopping: bool,
    names: FieldNames = PIPELINE_FIELDS,
) -> str | None:
    """Why these tuning settings cannot run, or None."""
    if strategy not in STRATEGIES:
        return f"{names.strategy} {strategy!r}: use one of {', '.join(STRATEGIES)}"
    if not 1 <= max_jobs <= MAX_TRAINING_JOBS:
        return f"{names.max_jobs} must be 1-{MAX_TRAINING_JOBS}, got {max_jobs}"
    if not 1 <= max_parallel_jobs <= min(MAX_PARALLEL_TRAINING_JOBS, max_jobs):
        return (
            f"{names.max_parallel_jobs} must be between 1 and {names.max_jobs} (and <= "
            f"{MAX_PARALLEL_TRAINING_JOBS}), got {max_parallel_jobs}"
        )
    if strategy == "Hyperband" and early_stopping:
        # "Because the Hyperband strategy has its own advanced internal early stopping
        # mechanism, TrainingJobEarlyStoppingType must be OFF to use Hyperband."
        # (SageMaker API reference, HyperParameterTuningJobConfig)
        return (
            f"{names.strategy}='Hyperband' stops jobs early itself: turn {names.early_stopping} off"
        )
    return None
