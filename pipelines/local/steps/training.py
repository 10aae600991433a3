"""Training steps: built-in XGBoost (xgboost on this machine; with a CheckpointConfig it
checkpoints and resumes as the container does) or script mode (the entry point from
model_code/ run with SM_* variables); the model is tarred where SageMaker puts it."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

from pipelines.local import jobs
from pipelines.local.errors import DefinitionError
from pipelines.local.steps.base import StepExecutor


class TrainingStep(StepExecutor):
    def execute(self) -> str:
        step = self.step
        name = step["Name"]
        job = self.execution.resolve(step["Arguments"], name)
        job_name = f"{name}-{self.execution.execution_id}"
        hyper = {k: str(v) for k, v in job.get("HyperParameters", {}).items()}
        # Script mode's "code" channel carries sourcedir.tar.gz; locally the entry point
        # is read from code_dir (the repo's model_code), so that channel is not mapped.
        script_mode = "sagemaker_program" in hyper
        channels = self.channels(job, name, skip=("code",) if script_mode else ())
        model_dir = self.execution.pipeline_dir / name / "model"
        if model_dir.exists():
            shutil.rmtree(model_dir)
        if script_mode:
            metrics = self._script_mode(name, hyper, channels, model_dir)
        elif "xgboost" in job["AlgorithmSpecification"].get("TrainingImage", ""):
            metrics = jobs.train_xgboost(
                hyper, channels, model_dir, nthread=2, checkpoint_dir=self.checkpoints(job)
            )
        else:
            raise DefinitionError(
                f"step {name!r}: only built-in XGBoost or script mode training runs locally"
            )
        artifact = "/".join(
            [
                job["OutputDataConfig"]["S3OutputPath"].rstrip("/"),
                job_name,
                "output",
                "model.tar.gz",
            ]
        )
        jobs.tar_model(model_dir, self.execution.local(artifact))
        self.execution.properties[name] = {
            "TrainingJobName": job_name,
            "TrainingJobStatus": "Completed",
            "ModelArtifacts": {"S3ModelArtifacts": artifact},
            "FinalMetricDataList": [{"MetricName": k, "Value": v} for k, v in metrics.items()],
            "HyperParameters": hyper,
        }
        return ", ".join(f"{k}={v:.4f}" for k, v in metrics.items())

    def _script_mode(
        self, name: str, hyper: dict[str, str], channels: dict[str, Path], model_dir: Path
    ) -> dict[str, float]:
        program = json.loads(hyper["sagemaker_program"])
        script = self.execution.code_dir / program
        if not script.exists():
            raise DefinitionError(
                f"step {name!r}: entry point {program!r} not in {self.execution.code_dir}"
            )
        # Hyperparameters reach the script as --name value, the framework containers' way.
        argv = [
            f"--{k}={json.loads(v) if v.startswith(chr(34)) else v}"
            for k, v in hyper.items()
            if not k.startswith(("sagemaker_", "_"))
        ]
        env = {
            **os.environ,
            "SM_MODEL_DIR": str(model_dir),
            "SM_OUTPUT_DATA_DIR": str(self.execution.pipeline_dir / name / "output"),
            "SM_HPS": json.dumps(hyper),
            **{f"SM_CHANNEL_{c.upper()}": str(p) for c, p in channels.items()},
        }
        env.pop("PYTHONPATH", None)
        self.run_command(
            name, [sys.executable, str(script), *argv], env, cwd=self.execution.pipeline_dir / name
        )
        log = (self.execution.pipeline_dir / name / "job.log").read_text()
        return {
            m.group(1): float(m.group(2))
            for m in re.finditer(r"^([a-z]+:[a-z_]+)=([0-9.]+)$", log, re.M)
        }
