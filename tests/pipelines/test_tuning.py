"""Tuning settings are validated once (pipelines/tuning.py) for the profile and the pipeline;
each names the field the way its user wrote it."""

from __future__ import annotations

import pytest

from core.config import ConfigError, TrainingConfig
from core.pipeline_settings import pipeline_settings
from pipelines.training_pipeline import PipelineSettings


@pytest.mark.parametrize(
    ("profile", "pipeline", "message"),
    [
        ({"max_tuning_jobs": 501}, {"max_jobs": 501}, "max_{}jobs must be 1-500"),
        (
            {"max_tuning_jobs": 200, "max_parallel_tuning_jobs": 101},
            {"max_jobs": 200, "max_parallel_jobs": 101},
            "max_parallel_{}jobs must be between 1",
        ),
        (
            {"tuning_strategy": "Hyperband", "early_stopping": True},
            {"strategy": "Hyperband", "early_stopping": "Auto"},
            "{}strategy='Hyperband' stops jobs early itself",
        ),
    ],
)
def test_profile_and_pipeline_refuse_the_same_settings(
    profile: dict, pipeline: dict, message: str
) -> None:
    """The API's limits (500 jobs, 100 in parallel; Hyperband only without early stopping)
    hold for a profile and for settings built by hand alike."""
    with pytest.raises(ConfigError, match="training." + message.format("tuning_")):
        TrainingConfig(**profile)
    with pytest.raises(ValueError, match=message.format("")):
        PipelineSettings(**pipeline)


def test_a_valid_profile_renders_to_the_same_tuning_settings() -> None:
    """What the profile accepts, the pipeline accepts unchanged (no second opinion)."""
    from core.config import load_profile

    config = load_profile("lab")
    training = TrainingConfig(
        tuning_strategy="Hyperband", max_tuning_jobs=500, max_parallel_tuning_jobs=100
    )
    settings = pipeline_settings(type(config)(**{**config.__dict__, "training": training}))
    assert (settings.strategy, settings.max_jobs, settings.max_parallel_jobs) == (
        "Hyperband",
        500,
        100,
    )
    assert settings.early_stopping == "Off"
