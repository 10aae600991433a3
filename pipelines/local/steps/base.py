"""The base of the step executors: one class per pipeline step type (see __init__.py).

A step executor gets the execution (parameters, resolved references, S3 mapping, log,
properties) and one step of the definition; ``execute()`` runs it, records the step's
properties in ``execution.properties[name]`` (what later steps ``Get``) and returns a one-line
detail for the log and run.json. It raises StepFailed for a job that failed and
DefinitionError for a step that cannot run here.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.local.errors import StepFailed

if TYPE_CHECKING:
    from pipelines.local.executor import LocalExecution


class StepExecutor:
    """Runs one step of one type (cf. the SageMaker SDK's local/pipeline.py _StepExecutor)."""

    def __init__(self, execution: LocalExecution, step: dict[str, Any]) -> None:
        self.execution = execution
        self.step = step
        self.name: str = step["Name"]

    def execute(self) -> str:
        raise NotImplementedError

    def channels(
        self, job: dict[str, Any], step: str, skip: tuple[str, ...] = ()
    ) -> dict[str, Path]:
        """The job's input channels as local folders (StepFailed for one with no data)."""
        channels = {}
        for channel in job.get("InputDataConfig", []):
            if channel["ChannelName"] in skip:
                continue
            uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
            channels[channel["ChannelName"]] = self.execution.local(uri)
            if not channels[channel["ChannelName"]].exists():
                raise StepFailed(f"{step}: channel {channel['ChannelName']!r}: nothing at {uri}")
        return channels

    def run_command(self, name: str, command: list[str], env: dict[str, str], cwd: Path) -> None:
        cwd.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            command, env=env, cwd=cwd, capture_output=True, text=True, check=False
        )
        log_file = self.execution.pipeline_dir / name / "job.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.write_text(done.stdout + done.stderr)
        for line in done.stdout.strip().splitlines()[-3:]:
            self.execution.log(f"    {line}")
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise StepFailed(f"{name}: job exited {done.returncode}: {tail} (log {log_file})")


def under(root: Path, container_path: str) -> Path:
    return root / container_path.lstrip("/")


def text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
