"""Execute a rendered SageMaker pipeline definition JSON on this machine.

Reads the definition (not the SDK objects): Parameters, step order from DependsOn and from
{"Get": "Steps.X..."} references, Get/Std:Join/Std:JsonGet/conditions, then runs each step
with a local stand-in (model_code scripts in a mapped /opt/ml tree, xgboost + optuna for
the built-in algorithm and tuning, a JSON model registry). S3 URIs map to local folders.
This module plans, resolves and reports; each step type runs in its own executor class in
pipelines/local/steps/ (STEP_EXECUTORS there is where a new step type is registered).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from model_code.archive import extract
from pipelines.alert_line import step_failure_line
from pipelines.local import registry_file
from pipelines.local.errors import DefinitionError, PropertyReferenceError, StepFailed
from pipelines.local.steps import STEP_EXECUTORS
from pipelines.local.steps.base import text

_STEP_REF = re.compile(r"^Steps\.([A-Za-z0-9_-]+)\.(.+)$")
_PATH_TOKEN = re.compile(r"\.?([A-Za-z0-9_:-]+)|\[(\d+)\]|\[['\"]([^'\"]+)['\"]\]")


@dataclass
class StepResult:
    name: str
    type: str
    status: str  # Succeeded | Failed | NotExecuted
    seconds: float = 0.0
    detail: str = ""


@dataclass
class RunResult:
    status: str  # Succeeded | Failed
    execution_id: str
    workdir: Path
    parameters: dict[str, Any]
    steps: list[StepResult] = field(default_factory=list)
    failure: str | None = None
    best_job: dict[str, Any] | None = None
    tuning_jobs: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] | None = None
    registry: Path | None = None
    report_dir: Path | None = None
    seconds: float = 0.0
    execution_dir: Path | None = None  # every output of this run; nothing else writes there

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)


def walk_path(value: Any, path: str, *, what: str) -> Any:
    """Follow a property / JsonPath-like path: a.b['c'][0].d (leading '$.' allowed)."""
    path = path.removeprefix("$").removeprefix(".")
    position = 0
    while position < len(path):
        match = _PATH_TOKEN.match(path, position)
        if not match or match.end() == position:
            raise KeyError(f"bad path syntax at {path[position:]!r} in {what}")
        name, index, key = match.groups()
        position = match.end()
        try:
            value = value[int(index)] if index is not None else value[name or key]
        except (KeyError, IndexError, TypeError) as err:
            raise KeyError(f"{what}: no {name or key or index!r} ({path!r})") from err
    return value


def _references(node: Any) -> set[str]:
    """Names of steps that a JSON fragment references through {"Get": "Steps.X..."}."""
    found: set[str] = set()
    if isinstance(node, dict):
        get = node.get("Get")
        if isinstance(get, str) and (match := _STEP_REF.match(get)):
            found.add(match.group(1))
        for value in node.values():
            found |= _references(value)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value)
    return found


def _branch_steps(step: dict[str, Any]) -> list[dict[str, Any]]:
    args = step.get("Arguments", {})
    return list(args.get("IfSteps", [])) + list(args.get("ElseSteps", []))


def plan(steps: list[dict[str, Any]], known: set[str] | None = None) -> list[str]:
    """Topological order of these steps from DependsOn + implicit property references."""
    names = {s["Name"] for s in steps}
    known = (known or set()) | names
    graph: dict[str, set[str]] = {}
    for step in steps:
        deps = set(step.get("DependsOn", [])) | _references(step.get("Arguments", {}))
        deps |= _references(step.get("PropertyFiles", []))
        for inner in _branch_steps(step):  # a branch may only start after what it reads
            deps |= set(inner.get("DependsOn", [])) | _references(inner.get("Arguments", {}))
            known.add(inner["Name"])
        unknown = deps - known - _all_nested_names(step)
        if unknown:
            raise DefinitionError(
                f"step {step['Name']!r} references unknown step(s) {', '.join(sorted(unknown))}"
            )
        graph[step["Name"]] = (deps & names) - {step["Name"]}
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as err:
        raise DefinitionError(f"steps depend on each other in a cycle: {err.args[1]}") from err


def _all_nested_names(step: dict[str, Any]) -> set[str]:
    names = set()
    for inner in _branch_steps(step):
        names.add(inner["Name"])
        names |= _all_nested_names(inner)
    return names


class LocalExecution:
    """One execution of a definition in a work folder; see run_local()."""

    def __init__(
        self,
        definition: dict[str, Any],
        workdir: Path,
        parameter_overrides: dict[str, Any] | None = None,
        *,
        mounts: dict[str, Path] | None = None,
        output_prefix: str | None = None,
        code_dir: Path | None = None,
        nthread: int = 1,
        log: Any = print,
    ) -> None:
        self.definition = definition
        self.workdir = Path(workdir).resolve()
        self.execution_id = new_execution_id()
        # Each execution owns one folder, so runs sharing a work folder never share a path;
        # <workdir>/pipeline/latest and .../report point at the newest finished run.
        self.pipeline_dir = self.workdir / "pipeline" / "executions" / self.execution_id
        self.report_dir = self.pipeline_dir / "report"
        self.registry_path = registry_file.location(self.workdir)
        self.code_dir = Path(code_dir or Path(__file__).resolve().parents[2] / "model_code")
        self.nthread = nthread
        self.log = log
        self.parameters = self._parameters(parameter_overrides or {})
        # Longest prefix wins; output_prefix is this execution's folder; anything unmounted
        # lands in <execution folder>/s3/<bucket>/<key>.
        self.mounts = {k: Path(v) for k, v in (mounts or {}).items()}
        if output_prefix:
            self.mounts[output_prefix.rstrip("/") + "/"] = self.pipeline_dir
        self.properties: dict[str, dict[str, Any]] = {}
        self.tuning_jobs: list[dict[str, Any]] = []
        self.result = RunResult("Executing", self.execution_id, self.workdir, self.parameters)

    # parameters & references -------------------------------------------------------
    def _parameters(self, overrides: dict[str, Any]) -> dict[str, Any]:
        declared = {p["Name"]: p for p in self.definition.get("Parameters", [])}
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise DefinitionError(
                f"unknown parameter(s) {', '.join(unknown)}; declared: {', '.join(declared)}"
            )
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            kind = spec.get("Type", "String")
            value = overrides.get(name, spec.get("DefaultValue"))
            if value is None:
                raise DefinitionError(f"parameter {name!r} has no default: pass a value")
            try:
                if kind == "Integer":
                    value = int(value)
                elif kind == "Float":
                    value = float(value)
                elif kind == "Boolean" and isinstance(value, str):
                    if value.lower() not in ("true", "false"):
                        raise ValueError(value)
                    value = value.lower() == "true"
                else:
                    value = value if kind == "Boolean" else str(value)
            except ValueError as err:
                raise DefinitionError(f"parameter {name!r} ({kind}): bad value {value!r}") from err
            values[name] = value
        return values

    def resolve(self, node: Any, step: str) -> Any:
        """Replace every Get / Std:Join / Std:JsonGet in node with its value."""
        if isinstance(node, list):
            return [self.resolve(v, step) for v in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Get"}:
            return self._get(node["Get"], step, node)
        if set(node) == {"Std:Join"}:
            spec = node["Std:Join"]
            values = self.resolve(spec.get("Values", []), step)
            return str(spec.get("On", "")).join(text(v) for v in values)
        if set(node) == {"Std:JsonGet"}:
            return self._json_get(node, step)
        return {k: self.resolve(v, step) for k, v in node.items()}

    def _get(self, ref: str, step: str, node: Any) -> Any:
        if not isinstance(ref, str):
            raise PropertyReferenceError(step, node, "Get must name a string reference")
        if ref.startswith("Parameters."):
            name = ref.removeprefix("Parameters.")
            if name not in self.parameters:
                raise PropertyReferenceError(step, node, f"no parameter {name!r}")
            return self.parameters[name]
        if ref.startswith("Execution."):
            execution = {
                "PipelineExecutionId": self.execution_id,
                "PipelineExecutionArn": f"arn:aws:sagemaker:local:000000000000:"
                f"pipeline/local/execution/{self.execution_id}",
                "PipelineName": "local",
                "StartDateTime": self.execution_id,
            }
            key = ref.removeprefix("Execution.")
            if key not in execution:
                raise PropertyReferenceError(step, node, f"no execution variable {key!r}")
            return execution[key]
        match = _STEP_REF.match(ref)
        if not match:
            raise PropertyReferenceError(
                step, node, "expected Parameters.*, Execution.* or Steps.*"
            )
        target, path = match.groups()
        if target not in self.properties:
            raise PropertyReferenceError(
                step, node, f"step {target!r} has not run (or does not exist)"
            )
        try:
            return walk_path(self.properties[target], path, what=f"properties of {target}")
        except KeyError as err:
            raise PropertyReferenceError(step, node, str(err.args[0])) from err

    def _json_get(self, node: dict[str, Any], step: str) -> Any:
        spec = node["Std:JsonGet"]
        prop = spec.get("PropertyFile")
        record = self.resolve(prop, step) if isinstance(prop, dict) else None
        if not isinstance(record, dict) or "local_path" not in record:
            raise PropertyReferenceError(step, node, "PropertyFile does not name a property file")
        path = Path(record["local_path"])
        if not path.exists():
            raise PropertyReferenceError(step, node, f"property file {path} was not written")
        try:
            return walk_path(json.loads(path.read_text()), spec["Path"], what=path.name)
        except (KeyError, json.JSONDecodeError) as err:
            raise PropertyReferenceError(step, node, str(err)) from err

    # S3 mapping ------------------------------------------------------------------------
    def local(self, uri: str) -> Path:
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise DefinitionError(f"expected an s3:// URI, got {uri!r}")
        for prefix in sorted(self.mounts, key=len, reverse=True):
            if uri == prefix.rstrip("/") or uri.startswith(prefix.rstrip("/") + "/"):
                rest = uri[len(prefix.rstrip("/")) :].strip("/")
                return self.mounts[prefix] / rest if rest else self.mounts[prefix]
        return self.pipeline_dir / "s3" / uri.removeprefix("s3://").strip("/")

    # execution -------------------------------------------------------------------------
    def preflight(self) -> None:
        """Check what depends only on parameters before any step runs: the tuning limits
        (a bad MaxTuningJobs must not surface after preprocessing has already run)."""

        def tuning_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            for step in steps:
                if step.get("Type") == "Tuning":
                    yield step
                yield from tuning_steps(_branch_steps(step))

        for step in tuning_steps(self.definition.get("Steps", [])):
            name = step["Name"]
            try:
                limits = self.resolve(
                    step["Arguments"]["HyperParameterTuningJobConfig"]["ResourceLimits"], name
                )
                total = int(limits["MaxNumberOfTrainingJobs"])
                parallel = int(limits["MaxParallelTrainingJobs"])
            except PropertyReferenceError:
                continue  # limits that come from another step are checked when it has run
            except (KeyError, TypeError, ValueError) as err:
                raise DefinitionError(f"step {name!r}: unusable tuning limits ({err})") from err
            # ResourceLimits: both limits are at least 1 (a parallel limit above the total
            # only caps nothing, so it runs, as jobs.tune never starts more than remain).
            if total < 1 or parallel < 1:
                raise DefinitionError(
                    f"step {name!r}: tuning needs MaxNumberOfTrainingJobs ({total}) and "
                    f"MaxParallelTrainingJobs ({parallel}) of at least 1; change the parameters"
                )

    def run(self) -> RunResult:
        started = time.perf_counter()
        self.pipeline_dir.mkdir(parents=True)  # a fresh id: an existing folder is a bug
        self.result.execution_dir = self.pipeline_dir
        (self.pipeline_dir / "definition.json").write_text(json.dumps(self.definition, indent=1))
        self.log(
            f"pipeline {self.execution_id}: parameters "
            + ", ".join(f"{k}={v}" for k, v in self.parameters.items())
        )
        try:
            self.run_steps(self.definition.get("Steps", []))
            self.result.status = "Succeeded"
        except StepFailed as err:
            self.result.status, self.result.failure = "Failed", str(err)
        finally:
            self.result.seconds = time.perf_counter() - started
        self._report()
        if self.result.status == "Failed":
            self._alert()
        return self.result

    def _alert(self) -> None:
        """The line the deployed StepFailures rule sends the alert topic, for the failed step."""
        failed = [s for s in self.result.steps if s.status == "Failed"]
        step = failed[-1] if failed else StepResult("?", "?", "Failed")
        self.log(
            step_failure_line(
                step=step.name,
                status=step.status,
                reason=step.detail or str(self.result.failure),
                pipeline="local",  # a rendered definition carries no name
                execution=self.execution_id,
                where="local",
                more=str(self.report_dir / "run.json"),
            )
        )

    def run_steps(self, steps: list[dict[str, Any]]) -> None:
        by_name = {s["Name"]: s for s in steps}
        order = plan(steps, set(self.properties))
        for index, name in enumerate(order):
            try:
                self._run_step(by_name[name])
            except StepFailed:
                for rest in order[index + 1 :]:
                    self.result.steps.append(StepResult(rest, by_name[rest]["Type"], "NotExecuted"))
                raise

    def not_executed(self, step: dict[str, Any]) -> None:
        """Record a step that will not run (the branch not taken)."""
        self.result.steps.append(StepResult(step["Name"], step["Type"], "NotExecuted"))

    def _run_step(self, step: dict[str, Any]) -> None:
        name, kind = step["Name"], step["Type"]
        executor = STEP_EXECUTORS.get(kind)
        if executor is None:
            raise DefinitionError(f"step {name!r}: type {kind!r} is not supported locally")
        self.log(f"[{name}] {kind} ...")
        started = time.perf_counter()
        result = StepResult(name, kind, "Executing")
        self.result.steps.append(result)
        try:
            result.detail = executor(self, step).execute()
            result.status = "Succeeded"
        except StepFailed as err:
            result.status, result.detail = "Failed", str(err)
            raise
        except DefinitionError as err:
            result.status, result.detail = "Failed", str(err)
            raise
        finally:
            result.seconds = time.perf_counter() - started
            self.log(
                f"[{name}] {result.status} in {result.seconds:.1f} s"
                + (f": {result.detail}" if result.detail else "")
            )

    # report -----------------------------------------------------------------------------
    def _report(self) -> None:
        self.report_dir.mkdir(parents=True, exist_ok=True)
        evaluation = next(
            (
                Path(p["local_path"])
                for props in self.properties.values()
                for p in props.get("PropertyFiles", {}).values()
                # the evaluation report, not the data-quality report Preprocess writes first
                if Path(p["local_path"]).name == "evaluation.json"
                and Path(p["local_path"]).exists()
            ),
            None,
        )
        if evaluation:
            self.result.metrics = json.loads(evaluation.read_text())
            shutil.copy(evaluation, self.report_dir / evaluation.name)
        from pipelines.local import plots

        plots.write_plots(
            self.report_dir,
            self.tuning_jobs,
            self.result.metrics,
            (self.result.best_job or {}).get("TrainingJobName"),
        )
        self.result.report_dir = self.report_dir
        summary = {
            "status": self.result.status,
            "execution_id": self.execution_id,
            "failure": self.result.failure,
            "parameters": self.parameters,
            "seconds": round(self.result.seconds, 2),
            "steps": [
                {
                    "name": s.name,
                    "type": s.type,
                    "status": s.status,
                    "seconds": round(s.seconds, 2),
                    "detail": s.detail,
                }
                for s in self.result.steps
            ],
            "best_job": self.result.best_job,
            "tuning_jobs": self.tuning_jobs,
        }
        (self.report_dir / "run.json").write_text(json.dumps(summary, indent=2))
        parent = self.workdir / "pipeline"
        _point(parent / "latest", Path("executions") / self.execution_id)
        _point(parent / "report", Path("executions") / self.execution_id / "report")


def new_execution_id() -> str:
    """local-<UTC time to the microsecond>-<32 random bits>: unique however fast runs start."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"local-{stamp}-{secrets.token_hex(4)}"


def _point(link: Path, target: Path) -> None:
    """Make ``link`` a relative symlink to ``target``, atomically (a new link, then rename)."""
    temporary = link.with_name(f".{link.name}.{secrets.token_hex(4)}")
    temporary.symlink_to(target, target_is_directory=True)
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)  # a report folder from before executions had their own
    os.replace(temporary, link)


def run_local(
    definition: dict[str, Any] | str,
    workdir: Path,
    parameter_overrides: dict[str, Any] | None = None,
    *,
    mounts: dict[str, Path] | None = None,
    output_prefix: str | None = None,
    code_dir: Path | None = None,
    log: Any = print,
) -> RunResult:
    """Execute a definition (dict or JSON text) in workdir; never raises for a failed job.

    Raises DefinitionError (incl. unresolvable references, naming the step) for a definition
    that cannot run; a job that fails or a Fail step returns status "Failed" with failure set.
    """
    if isinstance(definition, str):
        definition = json.loads(definition)
    if not isinstance(definition, dict) or "Steps" not in definition:
        raise DefinitionError("not a pipeline definition: no Steps")
    execution = LocalExecution(
        definition,
        workdir,
        parameter_overrides,
        mounts=mounts,
        output_prefix=output_prefix,
        code_dir=code_dir,
        log=log,
    )
    plan(definition["Steps"])  # fail on unknown steps / cycles before running anything
    execution.preflight()  # and on tuning limits no job could run with
    return execution.run()


def extract_model(archive: Path, target: Path) -> Path:
    """Unpack a model.tar.gz (used by tests): model_code.archive.extract, the one reader."""
    return extract(archive, target)
