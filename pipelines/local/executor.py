"""Execute a rendered SageMaker pipeline definition JSON on this machine.

Reads the definition (not the SDK objects): Parameters, step order from DependsOn and from
{"Get": "Steps.X..."} references, Get/Std:Join/Std:JsonGet/conditions, then runs each step
with a local stand-in (model_code scripts in a mapped /opt/ml tree, xgboost + optuna for
the built-in algorithm and tuning, a JSON model registry). S3 URIs map to local folders.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from pipelines.local import jobs, registry_file

_STEP_REF = re.compile(r"^Steps\.([A-Za-z0-9_-]+)\.(.+)$")
_PATH_TOKEN = re.compile(r"\.?([A-Za-z0-9_:-]+)|\[(\d+)\]|\[['\"]([^'\"]+)['\"]\]")


class DefinitionError(ValueError):
    """The definition cannot run: unknown step, cycle, unsupported step or image."""


class PropertyReferenceError(DefinitionError):
    """A Get / JsonGet / condition that cannot be resolved; names the step and the reference."""

    def __init__(self, step: str, reference: Any, reason: str) -> None:
        super().__init__(f"step {step!r}: cannot resolve {json.dumps(reference)}: {reason}")
        self.step, self.reference = step, reference


class StepFailed(Exception):
    """A job ran and failed (non-zero exit, missing input): the run ends Failed."""


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
        self.registry_path = self.workdir / "registry" / "registry.json"
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
            return str(spec.get("On", "")).join(_text(v) for v in values)
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
            self._run_steps(self.definition.get("Steps", []))
            self.result.status = "Succeeded"
        except StepFailed as err:
            self.result.status, self.result.failure = "Failed", str(err)
        finally:
            self.result.seconds = time.perf_counter() - started
        self._report()
        return self.result

    def _run_steps(self, steps: list[dict[str, Any]]) -> None:
        by_name = {s["Name"]: s for s in steps}
        order = plan(steps, set(self.properties))
        for index, name in enumerate(order):
            try:
                self._run_step(by_name[name])
            except StepFailed:
                for rest in order[index + 1 :]:
                    self.result.steps.append(StepResult(rest, by_name[rest]["Type"], "NotExecuted"))
                raise

    def _run_step(self, step: dict[str, Any]) -> None:
        name, kind = step["Name"], step["Type"]
        handler = {
            "Processing": self._processing,
            "Training": self._training,
            "Tuning": self._tuning,
            "Condition": self._condition,
            "RegisterModel": self._register,
            "Fail": self._fail,
        }.get(kind)
        if handler is None:
            raise DefinitionError(f"step {name!r}: type {kind!r} is not supported locally")
        self.log(f"[{name}] {kind} ...")
        started = time.perf_counter()
        result = StepResult(name, kind, "Executing")
        self.result.steps.append(result)
        try:
            result.detail = handler(step)
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

    # Processing ------------------------------------------------------------------------
    def _processing(self, step: dict[str, Any]) -> str:
        name = step["Name"]
        args = self.resolve(step["Arguments"], name)
        root = self.pipeline_dir / name / "container"
        if root.exists():
            shutil.rmtree(root)
        for item in args.get("ProcessingInputs", []):
            s3 = item["S3Input"]
            source, target = self.local(s3["S3Uri"]), _under(root, s3["LocalPath"])
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
            local_out = self.local(s3["S3Uri"])
            if local_out.exists():
                shutil.rmtree(local_out)
            local_out.mkdir(parents=True)
            target = _under(root, s3["LocalPath"])
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
            else str(_under(root, c))
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
        self._subprocess(name, command, env, cwd=root)
        self.properties[name] = {
            "ProcessingJobName": f"{name}-{self.execution_id}",
            "ProcessingJobStatus": "Completed",
            "ProcessingOutputConfig": {"Outputs": outputs},
            "PropertyFiles": {
                pf["PropertyFileName"]: {
                    "local_path": str(
                        self.local(outputs[pf["OutputName"]]["S3Output"]["S3Uri"]) / pf["FilePath"]
                    )
                }
                for pf in step.get("PropertyFiles", [])
            },
        }
        return f"outputs: {', '.join(outputs)}"

    def _subprocess(self, name: str, command: list[str], env: dict[str, str], cwd: Path) -> None:
        cwd.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            command, env=env, cwd=cwd, capture_output=True, text=True, check=False
        )
        log_file = self.pipeline_dir / name / "job.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.write_text(done.stdout + done.stderr)
        for line in done.stdout.strip().splitlines()[-3:]:
            self.log(f"    {line}")
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise StepFailed(f"{name}: job exited {done.returncode}: {tail} (log {log_file})")

    # Training ---------------------------------------------------------------------------
    def _channels(
        self, job: dict[str, Any], step: str, skip: tuple[str, ...] = ()
    ) -> dict[str, Path]:
        channels = {}
        for channel in job.get("InputDataConfig", []):
            if channel["ChannelName"] in skip:
                continue
            uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
            channels[channel["ChannelName"]] = self.local(uri)
            if not channels[channel["ChannelName"]].exists():
                raise StepFailed(f"{step}: channel {channel['ChannelName']!r}: nothing at {uri}")
        return channels

    def _training(self, step: dict[str, Any]) -> str:
        name = step["Name"]
        job = self.resolve(step["Arguments"], name)
        job_name = f"{name}-{self.execution_id}"
        hyper = {k: str(v) for k, v in job.get("HyperParameters", {}).items()}
        # Script mode's "code" channel carries sourcedir.tar.gz; locally the entry point
        # is read from code_dir (the repo's model_code), so that channel is not mapped.
        script_mode = "sagemaker_program" in hyper
        channels = self._channels(job, name, skip=("code",) if script_mode else ())
        model_dir = self.pipeline_dir / name / "model"
        if model_dir.exists():
            shutil.rmtree(model_dir)
        if script_mode:
            metrics = self._script_mode(name, hyper, channels, model_dir)
        elif "xgboost" in job["AlgorithmSpecification"].get("TrainingImage", ""):
            metrics = jobs.train_xgboost(hyper, channels, model_dir, nthread=2)
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
        jobs.tar_model(model_dir, self.local(artifact))
        self.properties[name] = {
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
        script = self.code_dir / program
        if not script.exists():
            raise DefinitionError(f"step {name!r}: entry point {program!r} not in {self.code_dir}")
        # Hyperparameters reach the script as --name value, the framework containers' way.
        argv = [
            f"--{k}={json.loads(v) if v.startswith(chr(34)) else v}"
            for k, v in hyper.items()
            if not k.startswith(("sagemaker_", "_"))
        ]
        env = {
            **os.environ,
            "SM_MODEL_DIR": str(model_dir),
            "SM_OUTPUT_DATA_DIR": str(self.pipeline_dir / name / "output"),
            "SM_HPS": json.dumps(hyper),
            **{f"SM_CHANNEL_{c.upper()}": str(p) for c, p in channels.items()},
        }
        env.pop("PYTHONPATH", None)
        self._subprocess(
            name, [sys.executable, str(script), *argv], env, cwd=self.pipeline_dir / name
        )
        log = (self.pipeline_dir / name / "job.log").read_text()
        return {
            m.group(1): float(m.group(2))
            for m in re.finditer(r"^([a-z]+:[a-z_]+)=([0-9.]+)$", log, re.M)
        }

    # Tuning -----------------------------------------------------------------------------
    def _tuning(self, step: dict[str, Any]) -> str:
        name = step["Name"]
        args = self.resolve(step["Arguments"], name)
        config, definition = args["HyperParameterTuningJobConfig"], args["TrainingJobDefinition"]
        if "xgboost" not in definition["AlgorithmSpecification"].get("TrainingImage", ""):
            raise DefinitionError(f"step {name!r}: local tuning supports built-in XGBoost only")
        channels = self._channels(definition, name)
        static = {k: str(v) for k, v in definition.get("StaticHyperParameters", {}).items()}
        output_path = definition["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        metric = config["HyperParameterTuningJobObjective"]["MetricName"]
        total = int(config["ResourceLimits"]["MaxNumberOfTrainingJobs"])
        parallel = int(config["ResourceLimits"]["MaxParallelTrainingJobs"])
        tuning_name = f"{name.lower()}-{self.execution_id.removeprefix('local-')}"
        # Cores split over the parallel jobs: 2 cores, 3 jobs -> one thread each.
        nthread = max(1, (os.cpu_count() or 1) // parallel) if parallel > 1 else self.nthread
        self.log(
            f"    {config.get('Strategy')} search, {total} jobs, {parallel} in parallel, "
            f"objective {metric} ({config['HyperParameterTuningJobObjective']['Type']})"
        )

        def run_job(number: int, tuned: dict[str, str]) -> jobs.TrialResult:
            job_name = f"{tuning_name}-{number:03d}"
            model_dir = self.pipeline_dir / name / "jobs" / job_name
            started = time.perf_counter()
            metrics = jobs.train_xgboost({**static, **tuned}, channels, model_dir, nthread)
            if metric not in metrics:
                raise DefinitionError(
                    f"step {name!r}: objective {metric!r} not emitted; "
                    f"metrics: {', '.join(metrics)}"
                )
            jobs.tar_model(model_dir, self.local(f"{output_path}/{job_name}/output/model.tar.gz"))
            shown = " ".join(f"{k}={float(v):.4g}" for k, v in sorted(tuned.items()))
            self.log(
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
        self.tuning_jobs = [
            {
                "number": r.number,
                "job_name": r.job_name,
                "hyperparameters": r.hyperparameters,
                "objective": r.objective,
            }
            for r in results
        ]
        best = summaries[0]
        self.result.best_job = {
            **best,
            "ModelArtifacts": f"{output_path}/{best['TrainingJobName']}/output/model.tar.gz",
        }
        self.result.tuning_jobs = self.tuning_jobs
        self.properties[name] = {
            "HyperParameterTuningJobName": tuning_name,
            "HyperParameterTuningJobStatus": "Completed",
            "TrainingJobSummaries": summaries,
            "BestTrainingJob": best,
        }
        return f"best {best['TrainingJobName']} {metric}={ranked[0].objective:.4f}"

    # Condition / Fail / Register -------------------------------------------------------
    def evaluate_condition(self, condition: dict[str, Any], step: str) -> bool:
        kind = condition.get("Type")
        binary = {
            "Equals": lambda a, b: a == b,
            "GreaterThan": lambda a, b: a > b,
            "GreaterThanOrEqualTo": lambda a, b: a >= b,
            "LessThan": lambda a, b: a < b,
            "LessThanOrEqualTo": lambda a, b: a <= b,
        }
        if kind in binary:
            left = self.resolve(condition["LeftValue"], step)
            right = self.resolve(condition["RightValue"], step)
            try:
                return bool(binary[kind](left, right))
            except TypeError as err:
                raise PropertyReferenceError(
                    step, condition, f"cannot compare {left!r} and {right!r}"
                ) from err
        if kind == "In":
            return self.resolve(condition["QueryValue"], step) in self.resolve(
                condition["Values"], step
            )
        if kind == "Not":
            return not self.evaluate_condition(condition["Condition"], step)
        if kind == "Or":
            return any(self.evaluate_condition(c, step) for c in condition["Conditions"])
        if kind == "And":
            return all(self.evaluate_condition(c, step) for c in condition["Conditions"])
        raise PropertyReferenceError(step, condition, f"unknown condition type {kind!r}")

    def _condition(self, step: dict[str, Any]) -> str:
        name, args = step["Name"], step["Arguments"]
        # SageMaker ANDs the list of conditions.
        outcome = all(self.evaluate_condition(c, name) for c in args.get("Conditions", []))
        self.properties[name] = {"Outcome": outcome}
        chosen, skipped = ("IfSteps", "ElseSteps") if outcome else ("ElseSteps", "IfSteps")
        self.log(
            f"[{name}] outcome {str(outcome).lower()}: running "
            f"{', '.join(s['Name'] for s in args.get(chosen, [])) or 'nothing'}"
        )
        for inner in args.get(skipped, []):
            self.result.steps.append(StepResult(inner["Name"], inner["Type"], "NotExecuted"))
        self._run_steps(list(args.get(chosen, [])))
        return f"outcome {str(outcome).lower()}"

    def _fail(self, step: dict[str, Any]) -> str:
        message = self.resolve(step.get("Arguments", {}).get("ErrorMessage", ""), step["Name"])
        raise StepFailed(f"{step['Name']}: {_text(message)}")

    def _register(self, step: dict[str, Any]) -> str:
        name = step["Name"]
        args = self.resolve(step["Arguments"], name)
        group = args.get("ModelPackageGroupName")
        if not group:
            raise DefinitionError(f"step {name!r}: no ModelPackageGroupName")
        container = args["InferenceSpecification"]["Containers"][0]
        metrics_uri = (
            args.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri")
        )
        metrics = None
        if metrics_uri:
            path = self.local(metrics_uri)
            if not path.exists():
                raise StepFailed(f"{name}: model metrics not found at {metrics_uri}")
            metrics = json.loads(path.read_text())
        statistics_uri = (
            args.get("DriftCheckBaselines", {})
            .get("ModelDataQuality", {})
            .get("Statistics", {})
            .get("S3Uri")
        )
        artifact = self.local(container["ModelDataUrl"])
        if not artifact.exists():
            raise StepFailed(f"{name}: model artifact not found at {container['ModelDataUrl']}")
        entry: dict[str, Any] = {
            "approval_status": args.get("ModelApprovalStatus", "PendingManualApproval"),
            "image": container.get("Image"),
            "model_data_url": container["ModelDataUrl"],
            # Relative to the work folder, so the whole folder can be moved or copied.
            "artifact": artifact.relative_to(self.workdir).as_posix(),
            # What the serving container is told (entry point of framework containers):
            # the local endpoint loads the model through it, as SageMaker would.
            "environment": dict(container.get("Environment") or {}),
            "metrics": metrics,
            # where the metrics came from (ModelMetrics.ModelQuality.Statistics.S3Uri, as a
            # package's DescribeModelPackage reports it): this execution's evaluation folder
            "metrics_uri": metrics_uri,
            # the version's own training statistics (drift monitoring compares with them),
            # relative to the work folder like the artifact
            "drift_baseline": (
                self.local(statistics_uri).relative_to(self.workdir).as_posix()
                if statistics_uri
                else None
            ),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "pipeline_execution": self.execution_id,
        }

        def add_version(registry: dict[str, Any]) -> None:
            versions = registry["groups"].setdefault(group, {"versions": []})["versions"]
            entry["version"] = max((v["version"] for v in versions), default=0) + 1
            entry["arn"] = (
                f"arn:aws:sagemaker:local:000000000000:model-package/{group}/{entry['version']}"
            )
            versions.append(entry)

        # Another run may register at the same moment: read, add and replace under a lock.
        registry_file.update(self.registry_path, add_version)
        self.result.registry = self.registry_path
        self.properties[name] = {"ModelPackageArn": entry["arn"]}
        return f"{group} version {entry['version']} ({entry['approval_status']})"

    # report -----------------------------------------------------------------------------
    def _report(self) -> None:
        self.report_dir.mkdir(parents=True, exist_ok=True)
        evaluation = next(
            (
                Path(p["local_path"])
                for props in self.properties.values()
                for p in props.get("PropertyFiles", {}).values()
                if Path(p["local_path"]).exists()
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


def _under(root: Path, container_path: str) -> Path:
    return root / container_path.lstrip("/")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


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
    """Unpack a model.tar.gz (used by tests and by later serving stages)."""
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target
