"""Processing steps: the job's command runs here in a mapped /opt/ml/processing tree.

Inputs are linked in from their local S3 folders, outputs linked out to theirs; the entry point
runs with this Python (python/python3) and the job's environment."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from pipelines.local.errors import DefinitionError, StepFailed
from pipelines.local.steps.base import StepExecutor, under


class ProcessingStep(StepExecutor):
    def execute(self) -> str:
        step = self.step
        name = step["Name"]
        args = self.execution.resolve(step["Arguments"], name)
        root = self.execution.pipeline_dir / name / "container"
        if root.exists():
            shutil.rmtree(root)
        for item in args.get("ProcessingInputs", []):
            s3 = item["S3Input"]
            # absolute: a link is read from its own folder, not from where a mount was named
            source = self.execution.local(s3["S3Uri"]).absolute()
            target = under(root, s3["LocalPath"])
            if not source.exists():
                raise StepFailed(
                    f"{name}: input {item['InputName']!r}: nothing at "
                    f"{s3['S3Uri']} (local {source})"
                )
            target.mkdir(parents=True, exist_ok=True)
            # A file URI lands inside LocalPath (as S3Prefix downloads do); a prefix is linked.
            if source.is_file():
                (target / source.name).symlink_to(source)
            else:
                target.rmdir()
                target.symlink_to(source, target_is_directory=True)
        outputs: dict[str, Any] = {}
        for item in args.get("ProcessingOutputConfig", {}).get("Outputs", []):
            s3 = item["S3Output"]
            local_out = self.execution.local(s3["S3Uri"])
            if local_out.exists():
                shutil.rmtree(local_out)
            local_out.mkdir(parents=True)
            target = under(root, s3["LocalPath"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(local_out, target_is_directory=True)
            outputs[item["OutputName"]] = {
                "OutputName": item["OutputName"],
                "S3Output": {"S3Uri": s3["S3Uri"]},
            }
        app = args["AppSpecification"]
        command = [*app.get("ContainerEntrypoint", []), *app.get("ContainerArguments", [])]
        if not command:
            raise DefinitionError(f"step {name!r}: no ContainerEntrypoint to run")
        command = [
            sys.executable
            if c in ("python", "python3")
            else str(under(root, c))
            if c.startswith("/opt/ml/")
            else str(c)
            for c in command
        ]
        env = {
            **os.environ,
            **args.get("Environment", {}),
            "MODEL_CODE_LIB": str(root / "opt/ml/processing/input/lib"),
        }
        env.pop("PYTHONPATH", None)  # the job must find model_code through its own input
        self.run_command(name, command, env, cwd=root)
        self.execution.properties[name] = {
            "ProcessingJobName": f"{name}-{self.execution.execution_id}",
            "ProcessingJobStatus": "Completed",
            "ProcessingOutputConfig": {"Outputs": outputs},
            "PropertyFiles": {
                pf["PropertyFileName"]: {
                    "local_path": str(
                        self.execution.local(outputs[pf["OutputName"]]["S3Output"]["S3Uri"])
                        / pf["FilePath"]
                    )
                }
                for pf in step.get("PropertyFiles", [])
            },
        }
        return f"outputs: {', '.join(outputs)}"
