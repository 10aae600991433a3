"""Managed Spot locally (issue 26, item 7): a training job with a checkpoint folder writes
checkpoints as the built-in container names them, and a job interrupted part-way (a Spot
reclaim, here an xgboost TrainingCallback that raises) resumes from its newest checkpoint and
ends with the model an uninterrupted run makes (the oracle: that run, in another folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.datasets import load_digits

from pipelines.local import jobs
from pipelines.training_pipeline import STATIC_HYPERPARAMETERS

# The pipeline's own static hyperparameters (row and column subsampling included: what makes
# a resumed run differ unless it draws the same samples) and one tuned point.
ROUNDS = 2 * jobs.CHECKPOINT_EVERY + 10  # two checkpoints, then a shorter last piece
HYPERPARAMETERS = {
    **STATIC_HYPERPARAMETERS,
    "eta": "0.3",
    "max_depth": "4",
    "num_round": str(ROUNDS),
}


class Reclaimed(Exception):
    """Stands in for the Spot interruption."""


class InterruptAfter(xgb.callback.TrainingCallback):
    def __init__(self, rounds: int) -> None:
        self.rounds = rounds

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        if epoch + 1 == self.rounds:
            raise Reclaimed(f"reclaimed after round {epoch}")
        return False


class Rounds(xgb.callback.TrainingCallback):
    """Records the rounds a call trains (the run's round numbers)."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self.seen.append(epoch)
        return False


@pytest.fixture(scope="module")
def channels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("digits")
    x, y = load_digits(return_X_y=True)
    found = {}
    for name, rows in (("train", slice(0, 1200)), ("validation", slice(1200, None))):
        (root / name).mkdir()
        pd.DataFrame(np.column_stack([y[rows], x[rows]])).to_csv(
            root / name / "part.csv", header=False, index=False
        )
        found[name] = root / name
    return found


def _booster(model_dir: Path) -> Any:
    booster = xgb.Booster()
    booster.load_model(bytearray((model_dir / "xgboost-model").read_bytes()))
    return booster


def test_interrupted_training_resumes_from_its_checkpoint_and_ends_with_the_same_model(
    tmp_path: Path, channels: dict[str, Path]
) -> None:
    every = jobs.CHECKPOINT_EVERY
    stop_at = every + every // 2  # mid-way through the second piece
    whole = jobs.train_xgboost(
        HYPERPARAMETERS, channels, tmp_path / "whole", 1, checkpoint_dir=tmp_path / "ckpt-whole"
    )

    with pytest.raises(Reclaimed):
        jobs.train_xgboost(
            HYPERPARAMETERS,
            channels,
            tmp_path / "spot",
            1,
            checkpoint_dir=tmp_path / "ckpt-spot",
            callbacks=[InterruptAfter(stop_at)],
        )
    # the container's names: xgboost-checkpoint.<last round held>
    assert [p.name for p in (tmp_path / "ckpt-spot").iterdir()] == [
        f"{jobs.CHECKPOINT_FILENAME}.{every - 1}"
    ]
    assert not (tmp_path / "spot" / "xgboost-model").exists()

    rounds = Rounds()
    resumed = jobs.train_xgboost(
        HYPERPARAMETERS,
        channels,
        tmp_path / "spot",
        1,
        checkpoint_dir=tmp_path / "ckpt-spot",
        callbacks=[rounds],
    )
    assert rounds.seen == list(range(every, ROUNDS)), "it retrained rounds the checkpoint held"

    assert resumed == whole
    a, b = _booster(tmp_path / "whole"), _booster(tmp_path / "spot")
    assert a.num_boosted_rounds() == b.num_boosted_rounds() == ROUNDS
    assert a.get_dump() == b.get_dump()
    x = xgb.DMatrix(load_digits(return_X_y=True)[0])
    assert np.array_equal(a.predict(x), b.predict(x))


def test_a_job_without_a_checkpoint_folder_trains_in_one_go_and_writes_none(
    tmp_path: Path, channels: dict[str, Path]
) -> None:
    """On demand (no CheckpointConfig) nothing is written beside the model."""
    rounds = Rounds()
    jobs.train_xgboost(HYPERPARAMETERS, channels, tmp_path / "m", 1, callbacks=[rounds])
    assert rounds.seen == list(range(ROUNDS))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_the_executor_checkpoints_a_training_step_where_its_checkpoint_config_says(
    tmp_path: Path, channels: dict[str, Path]
) -> None:
    """A Training step with CheckpointConfig.S3Uri (the rendered lab definition's shape: a
    Join with the execution id) checkpoints into that location's local folder."""
    from pipelines.local.executor import run_local

    bucket = "s3://unit-artifacts"
    uri = {
        "Std:Join": {
            "On": "/",
            "Values": [
                f"{bucket}/checkpoints/p/Train",
                {"Get": "Execution.PipelineExecutionId"},
                "",
            ],
        }
    }
    step = {
        "Name": "Train",
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": "local/sagemaker-xgboost:3.0-5"},
            "HyperParameters": HYPERPARAMETERS,
            "InputDataConfig": [
                {
                    "ChannelName": name,
                    "DataSource": {"S3DataSource": {"S3Uri": f"{bucket}/data/{name}"}},
                }
                for name in ("train", "validation")
            ],
            "OutputDataConfig": {"S3OutputPath": f"{bucket}/models"},
            "EnableManagedSpotTraining": True,
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
            "CheckpointConfig": {"S3Uri": uri},
        },
    }
    mounted = tmp_path / "bucket"
    for name, folder in channels.items():
        (mounted / "data" / name).mkdir(parents=True)
        (mounted / "data" / name / "part.csv").write_bytes((folder / "part.csv").read_bytes())
    definition = {"Version": "2020-12-01", "Parameters": [], "Steps": [step]}
    result = run_local(definition, tmp_path / "work", mounts={bucket: mounted}, log=lambda _: None)
    assert result.status == "Succeeded", result
    folder = mounted / "checkpoints" / "p" / "Train" / result.execution_id
    every = jobs.CHECKPOINT_EVERY
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{jobs.CHECKPOINT_FILENAME}.{r - 1}" for r in range(every, ROUNDS, every)
    ]
