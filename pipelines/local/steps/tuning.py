"""Tuning steps: built-in XGBoost tuned by jobs.tune (optuna for Bayesian), every trial a
local training job (checkpointing in its own folder under CheckpointConfig.S3Uri when the
definition has one); the best job and the summaries are the step's properties."""

from __future__ import annotations

import os
import time

from pipelines.local import jobs
from pipelines.local.errors import DefinitionError
from pipelines.local.steps.base import StepExecutor


class TuningStep(StepExecutor):
    def execute(self) -> str:
        step = self.step
        name = step["Name"]
        args = self.execution.resolve(step["Arguments"], name)
        config, definition = args["HyperParameterTuningJobConfig"], args["TrainingJobDefinition"]
        if "xgboost" not in definition["AlgorithmSpecification"].get("TrainingImage", ""):
            raise DefinitionError(f"step {name!r}: local tuning supports built-in XGBoost only")
        channels = self.channels(definition, name)
        static = {k: str(v) for k, v in definition.get("StaticHyperParameters", {}).items()}
        output_path = definition["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        metric = config["HyperParameterTuningJobObjective"]["MetricName"]
        total = int(config["ResourceLimits"]["MaxNumberOfTrainingJobs"])
        parallel = int(config["ResourceLimits"]["MaxParallelTrainingJobs"])
        tuning_name = f"{name.lower()}-{self.execution.execution_id.removeprefix('local-')}"
        # Cores split over the parallel jobs: 2 cores, 3 jobs -> one thread each.
        nthread = (
            max(1, (os.cpu_count() or 1) // parallel) if parallel > 1 else self.execution.nthread
        )
        self.execution.log(
            f"    {config.get('Strategy')} search, {total} jobs, {parallel} in parallel, "
            f"objective {metric} ({config['HyperParameterTuningJobObjective']['Type']})"
        )

        def run_job(number: int, tuned: dict[str, str]) -> jobs.TrialResult:
            job_name = f"{tuning_name}-{number:03d}"
            model_dir = self.execution.pipeline_dir / name / "jobs" / job_name
            started = time.perf_counter()
            metrics = jobs.train_xgboost(
                {**static, **tuned},
                channels,
                model_dir,
                nthread,
                checkpoint_dir=self.checkpoints(definition, job_name),
            )
            if metric not in metrics:
                raise DefinitionError(
                    f"step {name!r}: objective {metric!r} not emitted; "
                    f"metrics: {', '.join(metrics)}"
                )
            jobs.tar_model(
                model_dir, self.execution.local(f"{output_path}/{job_name}/output/model.tar.gz")
            )
            shown = " ".join(f"{k}={float(v):.4g}" for k, v in sorted(tuned.items()))
            self.execution.log(
                f"    job {number}/{total} {job_name}: {shown} {metric}="
                f"{metrics[metric]:.4f} ({time.perf_counter() - started:.1f} s)"
            )
            return jobs.TrialResult(number, job_name, tuned, metrics[metric], metrics)

        results = jobs.tune(config, run_job)
        maximize = config["HyperParameterTuningJobObjective"]["Type"] == "Maximize"
        # Best first; ties keep job order (sorted is stable).
        ranked = sorted(results, key=lambda r: -r.objective if maximize else r.objective)
        summaries = [
            {
                "TrainingJobName": r.job_name,
                "TrainingJobStatus": "Completed",
                "TunedHyperParameters": r.hyperparameters,
                "FinalHyperParameterTuningJobObjectiveMetric": {
                    "MetricName": metric,
                    "Value": r.objective,
                },
            }
            for r in ranked
        ]
        self.execution.tuning_jobs = [
            {
                "number": r.number,
                "job_name": r.job_name,
                "hyperparameters": r.hyperparameters,
                "objective": r.objective,
            }
            for r in results
        ]
        best = summaries[0]
        self.execution.result.best_job = {
            **best,
            "ModelArtifacts": f"{output_path}/{best['TrainingJobName']}/output/model.tar.gz",
        }
        self.execution.result.tuning_jobs = self.execution.tuning_jobs
        self.execution.properties[name] = {
            "HyperParameterTuningJobName": tuning_name,
            "HyperParameterTuningJobStatus": "Completed",
            "TrainingJobSummaries": summaries,
            "BestTrainingJob": best,
        }
        return f"best {best['TrainingJobName']} {metric}={ranked[0].objective:.4f}"
