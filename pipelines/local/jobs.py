"""Local stand-ins for the built-in XGBoost training container and for HPO tuning jobs.

train_xgboost() mirrors the 3.0-5 container: label-first CSV channels, the same
hyperparameter names, "xgboost-model" inside model.tar.gz, and (a job with a CheckpointConfig)
checkpoints named like the container's, xgboost-checkpoint.<round>, resumed from the newest.
tune() runs the JSON's strategy with optuna, MaxParallelTrainingJobs trials at a time on
threads (xgboost releases the GIL).
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# Hyperparameters of the built-in algorithm that are not xgboost.train params.
_NON_PARAMS = {"num_round", "early_stopping_rounds", "csv_weights", "save_model_on_termination"}
_INT_PARAMS = {"max_depth", "num_class", "max_bin", "max_leaves", "seed"}


def _load_csv_dir(channel: Path) -> tuple[np.ndarray, np.ndarray]:
    files = sorted(channel.glob("*.csv")) if channel.is_dir() else [channel]
    if not files or not files[0].exists():
        raise ValueError(f"channel {channel} holds no CSV files")
    # Keyed by each file's path, size and mtime: the tuning jobs of one run share the read,
    # and a later run that rewrote the channel in the same folder reads the new rows.
    return _read_csv_files(tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files))


@lru_cache(maxsize=16)
def _read_csv_files(files: tuple[tuple[str, int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    data = pd.concat([pd.read_csv(f, header=None) for f, _, _ in files]).to_numpy(dtype=float)
    return data[:, 1:], data[:, 0]


def _params(hyperparameters: dict[str, str], nthread: int) -> tuple[dict[str, Any], int]:
    params: dict[str, Any] = {"nthread": nthread, "seed": 0}
    for name, raw in hyperparameters.items():
        if name.startswith(("_", "sagemaker_")) or name in _NON_PARAMS:
            continue
        value: Any = raw
        try:
            value = float(raw)
            if name in _INT_PARAMS:
                value = int(value)
        except ValueError:
            pass
        params[name] = value
    return params, int(float(hyperparameters.get("num_round", "100")))


# The container's checkpoint file name (aws/sagemaker-xgboost-container, checkpointing.py:
# CHECKPOINT_FILENAME, one file per round, "<name>.<round>", the newest resumed).
CHECKPOINT_FILENAME = "xgboost-checkpoint"
# Locally a checkpoint every 50 rounds, two pieces of the pipeline's 100 (each piece costs a
# booster set-up); the container writes one per round and keeps 5.
CHECKPOINT_EVERY = 50


def latest_checkpoint(folder: Path) -> tuple[Path | None, int]:
    """The newest xgboost-checkpoint.<round> in ``folder`` and the rounds it holds (round + 1),
    or (None, 0): what the container's load_checkpoint finds."""
    found = [
        (int(p.suffix[1:]), p)
        for p in folder.glob(f"{CHECKPOINT_FILENAME}.*")
        if p.suffix[1:].isdigit()
    ]
    if not found:
        return None, 0
    last, path = max(found)
    return path, last + 1


def _boost(
    params: dict[str, Any],
    evals: list[Any],
    rounds: int,
    history: dict[str, dict[str, list[float]]],
    checkpoint_dir: Path | None,
    callbacks: list[Any],
) -> Any:
    """xgb.train, or (with a checkpoint folder) xgb.train in CHECKPOINT_EVERY-round pieces,
    each continued from the newest checkpoint on disk (``xgb_model=``) and saved as the next.

    Row and column sampling draw from xgboost's random generator, whose state a saved model
    does not carry: a run resumed mid-way would sample differently from the round it resumes
    at. So every piece starts the way a resumed one does, from the file, seeded with
    ``seed + first round``: an interrupted run resumed from its last checkpoint performs
    exactly the uninterrupted run's steps and ends with the same model."""
    import xgboost as xgb

    dtrain = evals[0][0]
    if checkpoint_dir is None:
        return xgb.train(
            params,
            dtrain,
            num_boost_round=rounds,
            evals=evals,
            evals_result=history,
            verbose_eval=False,
            callbacks=callbacks or None,
        )
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    path, done = latest_checkpoint(checkpoint_dir)
    booster = None
    # The last piece writes no checkpoint (the model is the job's output), so a resumed job
    # always has rounds left to train.
    while booster is None or done < rounds:
        piece = min(CHECKPOINT_EVERY, rounds - done)
        history.clear()
        booster = xgb.train(
            {**params, "seed": int(params.get("seed", 0)) + done},
            dtrain,
            num_boost_round=piece,
            evals=evals,
            evals_result=history,
            verbose_eval=False,
            xgb_model=_load(path) if path else None,
            callbacks=[_Offset(cb, done) for cb in callbacks] or None,
        )
        done += piece
        if done < rounds:
            saving = checkpoint_dir / f".{CHECKPOINT_FILENAME}.{done - 1}.ubj"
            booster.save_model(saving)  # UBJSON (by the suffix); renamed: atomic
            path = saving.replace(checkpoint_dir / f"{CHECKPOINT_FILENAME}.{done - 1}")
    return booster


def _load(path: Path) -> Any:
    """A checkpoint file (UBJSON without a suffix, as the container names them) as a Booster."""
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(bytearray(path.read_bytes()))
    return booster


class _Offset:
    """A TrainingCallback seen through a piece of a checkpointed run: ``epoch`` counts from
    the run's first round, as in one uninterrupted xgb.train."""

    def __new__(cls, callback: Any, offset: int) -> Any:
        import xgboost as xgb

        class Offset(xgb.callback.TrainingCallback):
            def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
                return bool(callback.after_iteration(model, epoch + offset, evals_log))

        return Offset()


def train_xgboost(
    hyperparameters: dict[str, str],
    channels: dict[str, Path],
    model_dir: Path,
    nthread: int = 1,
    *,
    checkpoint_dir: Path | None = None,
    callbacks: list[Any] | None = None,
) -> dict[str, float]:
    """Train like the built-in container; returns final metrics (e.g. validation:accuracy).

    ``checkpoint_dir``: the job's CheckpointConfig folder; training resumes from its newest
    checkpoint and writes one every CHECKPOINT_EVERY rounds. ``callbacks``: xgboost
    TrainingCallbacks (``after_iteration`` sees the run's round, e.g. to interrupt it)."""
    import xgboost as xgb

    if "train" not in channels:
        raise ValueError("built-in XGBoost needs a 'train' channel")
    params, rounds = _params(hyperparameters, nthread)
    evals = []
    for name in ("train", "validation"):
        if name in channels:
            x, y = _load_csv_dir(Path(channels[name]))
            evals.append((xgb.DMatrix(x, label=y), name))
    history: dict[str, dict[str, list[float]]] = {}
    booster = _boost(params, evals, rounds, history, checkpoint_dir, list(callbacks or []))
    metrics: dict[str, float] = {}
    for channel, series in history.items():
        for metric, values in series.items():
            metrics[f"{channel}:{metric}"] = float(values[-1])
            if metric == "merror":  # the container's accuracy metric is 1 - merror
                metrics[f"{channel}:accuracy"] = 1.0 - float(values[-1])
    model_dir.mkdir(parents=True, exist_ok=True)
    # The container's file name has no extension; write UBJSON explicitly (what 3.x defaults to).
    (model_dir / "xgboost-model").write_bytes(bytes(booster.save_raw("ubj")))
    return metrics


def tar_model(model_dir: Path, target: Path) -> Path:
    """model.tar.gz with the model dir's files at the archive root, as SageMaker packs it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w:gz") as tar:
        for path in sorted(model_dir.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(model_dir)))
    return target


@dataclass
class TrialResult:
    number: int
    job_name: str
    hyperparameters: dict[str, str]
    objective: float
    metrics: dict[str, float] = field(default_factory=dict)


def _sampler(strategy: str, ranges: dict[str, Any], max_jobs: int) -> Any:
    import optuna

    if strategy == "Bayesian":
        return optuna.samplers.TPESampler(seed=42)
    if strategy in ("Random", "Hyperband"):  # Hyperband's early stopping is not emulated
        return optuna.samplers.RandomSampler(seed=42)
    if strategy == "Grid":
        grid: dict[str, list[Any]] = {}
        for kind, items in ranges.items():
            for item in items:
                if kind == "CategoricalParameterRanges":
                    grid[item["Name"]] = list(item["Values"])
                elif kind == "IntegerParameterRanges":
                    grid[item["Name"]] = list(
                        range(int(item["MinValue"]), int(item["MaxValue"]) + 1)
                    )
                else:
                    grid[item["Name"]] = [
                        float(v)
                        for v in np.linspace(float(item["MinValue"]), float(item["MaxValue"]), 3)
                    ]
        del max_jobs  # the grid is cut by MaxNumberOfTrainingJobs in tune()
        return optuna.samplers.GridSampler(grid, seed=42)
    raise ValueError(f"tuning strategy {strategy!r} not supported locally")


def _suggest(trial: Any, ranges: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in ranges.get("ContinuousParameterRanges", []):
        log = item.get("ScalingType") == "Logarithmic"
        values[item["Name"]] = repr(
            float(
                trial.suggest_float(
                    item["Name"], float(item["MinValue"]), float(item["MaxValue"]), log=log
                )
            )
        )
    for item in ranges.get("IntegerParameterRanges", []):
        log = item.get("ScalingType") == "Logarithmic"
        values[item["Name"]] = str(
            trial.suggest_int(item["Name"], int(item["MinValue"]), int(item["MaxValue"]), log=log)
        )
    for item in ranges.get("CategoricalParameterRanges", []):
        values[item["Name"]] = str(trial.suggest_categorical(item["Name"], item["Values"]))
    return values


def tune(
    config: dict[str, Any],
    run_job: Callable[[int, dict[str, str]], TrialResult],
) -> list[TrialResult]:
    """Run HyperParameterTuningJobConfig (resolved): batches of MaxParallel, in job order."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    limits = config["ResourceLimits"]
    max_jobs = int(limits["MaxNumberOfTrainingJobs"])
    parallel = int(limits["MaxParallelTrainingJobs"])
    if max_jobs < 1 or parallel < 1:
        raise ValueError(f"bad tuning limits: {limits}")
    objective = config["HyperParameterTuningJobObjective"]
    direction = (
        optuna.study.StudyDirection.MAXIMIZE
        if objective["Type"] == "Maximize"
        else optuna.study.StudyDirection.MINIMIZE
    )
    ranges = config["ParameterRanges"]
    study = optuna.create_study(
        direction=direction, sampler=_sampler(config.get("Strategy", "Bayesian"), ranges, max_jobs)
    )
    results: list[TrialResult] = []
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        while len(results) < max_jobs:
            batch = [study.ask() for _ in range(min(parallel, max_jobs - len(results)))]
            params = [_suggest(trial, ranges) for trial in batch]
            futures = [pool.submit(run_job, len(results) + i + 1, p) for i, p in enumerate(params)]
            for trial, future in zip(batch, futures, strict=True):
                result = future.result()
                study.tell(trial, result.objective)
                results.append(result)
    return results
