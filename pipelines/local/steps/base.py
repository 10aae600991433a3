"""The base of the step executors: one class per pipeline step type (see __init__.py).

A step executor gets the execution (parameters, resolved references, S3 mapping, log,
properties) and one step of the definition; ``execute()`` runs it, records the step's
properties in ``execution.properties[name]`` (what later steps ``Get``) and returns a one-line
detail for the log and run.json. It raises StepFailed for a job that failed and
DefinitionError for a step that cannot run here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from pipelines.local.errors import StepFailed


class Execution(Protocol):
    """What a step executor uses of the running execution (``executor.LocalExecution``).

    A protocol, not an import: the executor imports the steps, so the steps name only the
    members they use."""

    code_dir: Path
    log: Callable[[str], Any]
    execution_id: str
    nthread: int
    pipeline_dir: Path
    properties: dict[str, dict[str, Any]]
    registry_path: Path
    result: Any  # executor.RunResult
    tuning_jobs: list[dict[str, Any]]
    workdir: Path

    def local(self, uri: str) -> Path: ...

    def resolve(self, node: Any, step: str) -> Any: ...

    def run_steps(self, steps: list[dict[str, Any]]) -> None: ...

    def not_executed(self, step: dict[str, Any]) -> None: ...


class StepExecutor:
    """Runs one step of one type (cf. the SageMaker SDK's local/pipeline.py _StepExecutor)."""

    def __init__(self, execution: Execution, step: dict[str, Any]) -> None:
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

    def checkpoints(self, job: dict[str, Any], job_name: str | None = None) -> Path | None:
        """The job's CheckpointConfig.S3Uri as a local folder (a tuning job's trials each get
        <uri>/<training job name>/), or None: the job does not checkpoint."""
        uri = job.get("CheckpointConfig", {}).get("S3Uri")
        if not uri:
            return None
        folder = self.execution.local(uri)
        return folder / job_name if job_name else folder

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
