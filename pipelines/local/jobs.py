"""Local stand-ins for the built-in XGBoost training container and for HPO tuning jobs.

train_xgboost() mirrors the 3.0-5 container: label-first CSV channels, the same
hyperparameter names, "xgboost-model" inside model.tar.gz. tune() runs the JSON's strategy
with optuna, MaxParallelTrainingJobs trials at a time on threads (xgboost releases the GIL).
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


def train_xgboost(
    hyperparameters: dict[str, str], channels: dict[str, Path], model_dir: Path, nthread: int = 1
) -> dict[str, float]:
    """Train like the built-in container; returns final metrics (e.g. validation:accuracy)."""
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
    booster = xgb.train(
        params,
        evals[0][0],
        num_boost_round=rounds,
        evals=evals,
        evals_result=history,
        verbose_eval=False,
    )
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
