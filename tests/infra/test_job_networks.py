"""The isolated-network promise of prod-like (DEPLOYABILITY class 9), for every SageMaker job.

prod-like says ``network.mode='isolated'``: every job it runs is placed in its VPC's isolated
subnets with the workload security group. This walks every job the synthesized templates
define or a Lambda starts, in the profile as shipped (custom monitoring engine) and with
``monitoring.engine='model_monitor'`` and explainability:

- pipeline steps (training, batch scoring) inside each ``AWS::SageMaker::Pipeline``;
- ``AWS::SageMaker::*JobDefinition`` (Model Monitor, Clarify) and models;
- the processing jobs the drift runner Lambda starts (drift summarize, judge, quality), built
  by its own code from the environment the template gives the function.

The oracle is the Network template: its ``AWS::EC2::Subnet`` resources and its workload
security group, reached through the exports the other stacks import.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Synth

JOB_DEFINITIONS = {
    "AWS::SageMaker::DataQualityJobDefinition",
    "AWS::SageMaker::ModelQualityJobDefinition",
    "AWS::SageMaker::ModelExplainabilityJobDefinition",
    "AWS::SageMaker::ModelBiasJobDefinition",
}
WORKLOAD_SG = "SageMaker jobs and endpoints: HTTPS to VPC endpoints only"
JOB_ACTIONS = re.compile(
    r"^sagemaker:Create(Processing|Training|Transform|HyperParameterTuning)Job$"
)
Ref = tuple[str, str]  # (stack, logical id) in the Network stack


@pytest.fixture(scope="module")
def model_monitor_variant(synth: Any) -> Synth:
    """prod-like with Model Monitor and Clarify (one synth, no compliance packs)."""
    from core.config import load_profile

    config = load_profile("prod-like")
    monitoring = dataclasses.replace(
        config.monitoring,
        engine="model_monitor",
        explainability=True,
        # the example release names no baselines (they come from a real registration)
        model_monitor_baseline_uri="s3://example-baselines/digits",
    )
    config = dataclasses.replace(config, monitoring=monitoring)
    return synth.config_variant("prod-like/model_monitor", config)


class Network:
    """The profile's network, from the Network template, and a resolver of references to it."""

    def __init__(self, synth: Synth) -> None:
        self.stack = synth.platform.config.stack_name("Network")  # type: ignore[attr-defined]
        resources = synth.templates[self.stack]["Resources"]
        self.subnets = {
            (self.stack, lid) for lid, r in resources.items() if r["Type"] == "AWS::EC2::Subnet"
        }
        (self.security_group,) = (
            (self.stack, lid)
            for lid, r in resources.items()
            if r["Type"] == "AWS::EC2::SecurityGroup"
            and r["Properties"]["GroupDescription"] == WORKLOAD_SG
        )
        assert len(self.subnets) >= 2, self.subnets
        self.outputs = {
            (stack, name): out["Value"]
            for stack, t in synth.templates.items()
            for name, out in t.get("Outputs", {}).items()
        }
        self.exports = {
            out["Export"]["Name"]: (stack, out["Value"])
            for stack, t in synth.templates.items()
            for out in t.get("Outputs", {}).values()
            if "Export" in out
        }

    def ref(self, value: Any) -> Ref | None:
        """The resource a value refers to, followed through exports and stack outputs
        (``Fn::ImportValue``, ``Fn::GetStackOutput``); None for anything else."""
        stack = None  # a bare Ref / GetAtt here would be the consumer's own resource
        if isinstance(value, dict) and "Fn::ImportValue" in value:
            stack, value = self.exports.get(value["Fn::ImportValue"], (None, None))
        elif isinstance(value, dict) and "Fn::GetStackOutput" in value:
            out = value["Fn::GetStackOutput"]
            stack = out["StackName"]
            value = self.outputs.get((stack, out["OutputName"]))
        if stack is None or not isinstance(value, dict):
            return None
        if "Ref" in value:
            return (stack, value["Ref"])
        if "Fn::GetAtt" in value:
            return (stack, value["Fn::GetAtt"][0])
        return None

    def check(self, where: str, vpc: dict[str, Any] | None, tokens: dict[str, Any]) -> str | None:
        """None when ``vpc`` names exactly the isolated subnets and the workload group."""
        if not vpc:
            return f"{where}: no VpcConfig"

        def refs(values: Any) -> set[Ref | None]:
            return {self.ref(tokens.get(v, v) if isinstance(v, str) else v) for v in values}

        subnets = refs(vpc.get("Subnets", []))
        groups = refs(vpc.get("SecurityGroupIds", []))
        if subnets != self.subnets or groups != {self.security_group}:
            return f"{where}: VpcConfig {vpc} is not the profile's subnets and security group"
        return None


def _joined(value: Any) -> tuple[str, dict[str, Any]]:
    """A string property that may be an Fn::Join: the text with each token replaced by a
    placeholder, and the placeholders' values."""
    if isinstance(value, str):
        return value, {}
    sep, parts = value["Fn::Join"]
    tokens: dict[str, Any] = {}
    text = []
    for part in parts:
        if isinstance(part, str):
            text.append(part)
        else:
            name = f"__TOKEN_{len(tokens)}__"
            tokens[name] = part
            text.append(name)
    return sep.join(text), tokens


def _steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        args = step.get("Arguments", {})
        for branch in ("IfSteps", "ElseSteps"):
            yield from _steps(args.get(branch, []))


def _step_vpc(step: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    """(is a job that runs in a network, its VpcConfig). A Transform job runs in its
    model's VpcConfig (the Model step), so it has none of its own."""
    args = step.get("Arguments", {})
    kind = step["Type"]
    if kind == "Processing":
        return True, args.get("NetworkConfig", {}).get("VpcConfig")
    if kind == "Training":
        return True, args.get("VpcConfig")
    if kind == "Tuning":
        return True, args["TrainingJobDefinition"].get("VpcConfig")
    if kind == "Model":
        return True, args.get("VpcConfig")
    if kind in ("Transform", "Condition", "RegisterModel", "Fail", "Lambda", "ClarifyCheck"):
        return False, None
    raise AssertionError(f"step type {kind} unknown to this check: add where its VPC lives")


def template_jobs(synth: Synth, network: Network) -> Iterator[tuple[str, str | None]]:
    """(what, problem or None) for every job a template defines."""
    for stack, template in synth.templates.items():
        for lid, r in template["Resources"].items():
            where = f"{stack}/{lid}"
            if r["Type"] in JOB_DEFINITIONS:
                vpc = r["Properties"].get("NetworkConfig", {}).get("VpcConfig")
                yield where, network.check(where, vpc, {})
            elif r["Type"] == "AWS::SageMaker::Model":
                yield where, network.check(where, r["Properties"].get("VpcConfig"), {})
            elif r["Type"] == "AWS::SageMaker::MonitoringSchedule":
                inline = r["Properties"]["MonitoringScheduleConfig"].get("MonitoringJobDefinition")
                if inline is not None:
                    vpc = inline.get("NetworkConfig", {}).get("VpcConfig")
                    yield where, network.check(where, vpc, {})
            elif r["Type"] == "AWS::SageMaker::Pipeline":
                body = r["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
                text, tokens = _joined(body)
                for step in _steps(json.loads(text)["Steps"]):
                    runs, vpc = _step_vpc(step)
                    if runs:
                        at = f"{where} step {step['Name']}"
                        yield at, network.check(at, vpc, tokens)


def _functions_starting_jobs(synth: Synth) -> dict[str, dict[str, Any]]:
    """Lambda functions whose role may create a SageMaker job: logical id -> resource."""
    found = {}
    for template in synth.templates.values():
        resources = template["Resources"]
        roles_with_jobs = set()
        for r in resources.values():
            if r["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                continue
            actions = [
                a
                for s in r["Properties"]["PolicyDocument"]["Statement"]
                for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
            ]
            if any(JOB_ACTIONS.match(a) for a in actions):
                roles_with_jobs |= {json.dumps(x) for x in r["Properties"].get("Roles", [])}
        for lid, r in resources.items():
            if r["Type"] != "AWS::Lambda::Function":
                continue
            role = r["Properties"]["Role"]
            if json.dumps({"Ref": role["Fn::GetAtt"][0]}) in roles_with_jobs:
                found[lid] = r
    return found


NOW = datetime(2026, 12, 1, 1, 10, tzinfo=UTC)
PACKAGE = "arn:aws:sagemaker:eu-west-1:222222222222:model-package/g/3"


def runner_requests(
    function: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The drift runner's three job requests (summarize, judge, quality), built by its code
    under the function's synthesized environment (tokens as placeholders); AWS stubbed."""
    from infra.monitoring.runtime import drift_runner

    tokens: dict[str, Any] = {}
    for name, value in function["Properties"]["Environment"]["Variables"].items():
        if isinstance(value, str):
            text = value
        elif "Fn::Join" in value:
            text, more = _joined(value)
            tokens |= more
        else:
            text = f"__TOKEN_{name}__"
            tokens[text] = value
        monkeypatch.setenv(name, text)
    requests: list[dict[str, Any]] = []

    class SageMaker:  # records the requests; answers what the start_* functions read
        def describe_processing_job(self, ProcessingJobName: str) -> dict[str, str]:  # noqa: N803
            # no job of this window yet: the service's answer for an unknown name
            raise ClientError(
                {"Error": {"Code": "ValidationException", "Message": "Could not find job"}},
                "DescribeProcessingJob",
            )

        def create_processing_job(self, **request: Any) -> dict[str, str]:
            requests.append(request)
            return {"ProcessingJobArn": "arn:x"}

    monkeypatch.setattr(drift_runner, "deployed_version", lambda sm, name: (PACKAGE, NOW))
    monkeypatch.setattr(drift_runner, "baseline_uri", lambda sm, arn: "s3://b/base/stats.json")
    monkeypatch.setattr(drift_runner, "list_keys", lambda s3, bucket, prefixes: ["k.jsonl"])

    class S3:  # the manifests the runner writes
        def put_object(self, **request: Any) -> dict[str, str]:
            return {}

    drift_runner.start_window(S3(), SageMaker(), NOW)
    drift_runner.start_quality(S3(), SageMaker(), NOW)
    (summarize,) = [
        r for r in requests if r["AppSpecification"]["ContainerArguments"][0] == "summarize"
    ]
    summarize["Environment"] = {
        "DRIFT_RUN": "r",
        "DRIFT_ARGS": json.dumps(["--end", "2026-12-01T01:00:00Z"]),
    }
    drift_runner.start_judge(SageMaker(), summarize)
    assert len(requests) == 3, requests
    return requests, tokens


def _all(synth: Synth, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    network = Network(synth)
    checked, problems = [], []
    for where, problem in template_jobs(synth, network):
        checked.append(where)
        if problem:
            problems.append(problem)
    for lid, function in _functions_starting_jobs(synth).items():
        assert "drift_runner" in function["Properties"]["Handler"], (
            f"{lid} starts SageMaker jobs: teach this check how to build its requests"
        )
        requests, tokens = runner_requests(function, monkeypatch)
        for request in requests:
            where = f"{lid} -> {request['ProcessingJobName']}"
            checked.append(where)
            vpc = request["NetworkConfig"].get("VpcConfig")
            if problem := network.check(where, vpc, tokens):
                problems.append(problem)
    return checked, problems


def test_every_prod_like_job_runs_in_the_profiles_isolated_subnets(  # type: ignore[no-untyped-def]
    synth, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As shipped (custom monitoring): pipeline jobs, models and the runner's three jobs."""
    checked, problems = _all(synth("prod-like"), monkeypatch)
    assert not problems, problems
    assert sum("Runner" in c for c in checked) == 3, checked
    assert any("step" in c for c in checked) and len(checked) >= 8, checked


def test_model_monitor_executions_run_in_the_profiles_isolated_subnets(
    model_monitor_variant: Synth, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Model Monitor and Clarify: the three job definitions, and the rest as above."""
    checked, problems = _all(model_monitor_variant, monkeypatch)
    assert not problems, problems
    kinds = {"DataQuality", "ModelQuality", "ModelExplainability"}
    assert {k for k in kinds if any(f"ModelMonitor{k}" in c for c in checked)} == kinds, checked
