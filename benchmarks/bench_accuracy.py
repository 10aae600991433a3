"""Test accuracy of the tuned XGBoost model over split seeds x tuner seeds: mean ± sd, min–max.

Each run does what the pipeline does, in process: the preprocess step's stratified
70/15/15 split (model_code.preprocess.split, with the split seed), a TPE search (the local
executor's sampler, with the tuner seed) over the pipeline's ranges and static
hyperparameters (pipelines.training_pipeline), the best job chosen on validation accuracy,
and the test split read once, to score that best job. Digits comes from scikit-learn.

Run: python benchmarks/bench_accuracy.py [--split-seeds 5] [--tuner-seeds 2] [--jobs 20]
Default: 5 x 2 = 10 runs of 20 tuning jobs (the pipeline's default MaxTuningJobs).
Prints one line per run (accuracy, seconds) and the summary; --json writes them too.

--choose-static: how the static subsample / colsample_bynode were chosen, without the test
split: 5-fold cross-validation on train + validation of 3 split seeds, for each candidate.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from any folder

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from model_code.preprocess import FEATURES, LABEL, split  # noqa: E402
from pipelines.training_pipeline import (  # noqa: E402
    HYPERPARAMETER_RANGES,
    STATIC_HYPERPARAMETERS,
)


def digits_frame() -> pd.DataFrame:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(x, columns=FEATURES)
    frame[LABEL] = y
    return frame


def _params(tuned: dict[str, float], seed: int) -> tuple[dict[str, object], int]:
    params: dict[str, object] = {"nthread": 1, "seed": seed}
    for name, value in STATIC_HYPERPARAMETERS.items():
        if name == "num_round":
            continue
        try:
            params[name] = int(value) if name == "num_class" else float(value)
        except ValueError:  # objective, eval_metric, tree_method
            params[name] = value
    params.update(tuned)
    return params, int(STATIC_HYPERPARAMETERS["num_round"])


def one_run(frame: pd.DataFrame, split_seed: int, tuner_seed: int, jobs: int) -> dict[str, float]:
    import optuna
    import xgboost as xgb

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.perf_counter()
    train, validation, test = split(frame, 0.15, 0.15, random_state=split_seed)

    def matrix(part: pd.DataFrame) -> xgb.DMatrix:
        return xgb.DMatrix(part[FEATURES].to_numpy(float), label=part[LABEL].to_numpy())

    dtrain, dvalid = matrix(train), matrix(validation)
    best: tuple[float, xgb.Booster | None] = (-1.0, None)

    def objective(trial: optuna.Trial) -> float:
        nonlocal best
        tuned = {
            name: trial.suggest_float(name, *HYPERPARAMETER_RANGES[name])
            for name in ("alpha", "eta", "min_child_weight")
        }
        low, high = HYPERPARAMETER_RANGES["max_depth"]
        tuned["max_depth"] = trial.suggest_int("max_depth", int(low), int(high))
        params, rounds = _params(tuned, seed=0)
        booster = xgb.train(params, dtrain, num_boost_round=rounds)
        accuracy = float(np.mean(booster.predict(dvalid) == validation[LABEL].to_numpy()))
        if accuracy > best[0]:
            best = (accuracy, booster)
        return accuracy

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=tuner_seed)
    )
    study.optimize(objective, n_trials=jobs)
    booster = best[1]
    assert booster is not None
    # The test split is read once, here, for the model chosen on validation.
    test_accuracy = float(np.mean(booster.predict(matrix(test)) == test[LABEL].to_numpy()))
    return {
        "split_seed": split_seed,
        "tuner_seed": tuner_seed,
        "validation_accuracy": best[0],
        "test_accuracy": test_accuracy,
        "seconds": time.perf_counter() - started,
    }


def summarize(runs: list[dict[str, float]]) -> dict[str, float]:
    accuracies = [r["test_accuracy"] for r in runs]
    seconds = [r["seconds"] for r in runs]
    return {
        "runs": len(runs),
        "mean": statistics.mean(accuracies),
        "sd": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
        "min": min(accuracies),
        "max": max(accuracies),
        "median_seconds": statistics.median(seconds),
    }


STATIC_CANDIDATES = ((1.0, 1.0), (0.8, 1.0), (1.0, 0.5), (0.8, 0.5))


def choose_static(frame: pd.DataFrame, split_seeds: int = 3) -> None:
    """Mean 5-fold CV accuracy on train + validation (the test split is never read)."""
    import xgboost as xgb
    from sklearn.model_selection import StratifiedKFold

    mid = {"eta": 0.3, "max_depth": 6, "alpha": 0.1, "min_child_weight": 1.0}  # mid-range
    for subsample, colsample in STATIC_CANDIDATES:
        scores = []
        for seed in range(split_seeds):
            train, validation, _ = split(frame, 0.15, 0.15, random_state=42 + seed)
            dev = pd.concat([train, validation])
            x, y = dev[FEATURES].to_numpy(float), dev[LABEL].to_numpy()
            folds = StratifiedKFold(5, shuffle=True, random_state=0).split(x, y)
            for fit, held in folds:
                params, rounds = _params(mid, seed=0)
                params |= {"subsample": subsample, "colsample_bynode": colsample}
                booster = xgb.train(params, xgb.DMatrix(x[fit], label=y[fit]), rounds)
                scores.append(float(np.mean(booster.predict(xgb.DMatrix(x[held])) == y[held])))
        print(
            f"subsample {subsample} colsample_bynode {colsample}: CV accuracy "
            f"{statistics.mean(scores):.4f} ± {statistics.stdev(scores):.4f} ({len(scores)} folds)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split-seeds", type=int, default=5)
    parser.add_argument("--tuner-seeds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=20, help="tuning jobs per run")
    parser.add_argument("--json", type=Path, help="also write runs and summary here")
    parser.add_argument("--choose-static", action="store_true", help="see the docstring")
    args = parser.parse_args(argv)
    frame = digits_frame()
    if args.choose_static:
        choose_static(frame)
        return 0
    runs = []
    for split_seed in range(args.split_seeds):
        for tuner_seed in range(args.tuner_seeds):
            run = one_run(frame, 42 + split_seed, 42 + tuner_seed, args.jobs)
            runs.append(run)
            print(
                f"split seed {run['split_seed']} tuner seed {run['tuner_seed']}: "
                f"validation {run['validation_accuracy']:.4f} "
                f"test {run['test_accuracy']:.4f} ({run['seconds']:.1f} s)",
                flush=True,
            )
    summary = summarize(runs)
    print(
        f"test accuracy {summary['mean']:.4f} ± {summary['sd']:.4f} (mean ± sd), "
        f"min–max {summary['min']:.4f}–{summary['max']:.4f} over {summary['runs']} runs "
        f"({args.split_seeds} split seeds x {args.tuner_seeds} tuner seeds, {args.jobs} jobs "
        f"each); median {summary['median_seconds']:.1f} s per run"
    )
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
