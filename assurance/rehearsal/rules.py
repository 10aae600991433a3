"""Rules SageMaker enforces when it runs what the templates describe, and cfn-lint's rules.

No resource schema carries the SageMaker rules below: CloudFormation accepts the template and
the service rejects the call (or silently does something else) at deploy or release time.
Each rule cites the page that states it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from assurance.rehearsal.assembly import Assembly, Resource
from assurance.rehearsal.authority import Finding

DOC_CANARY = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-canary.html"
)
DOC_LINEAR = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-linear.html"
)
DOC_SERVERLESS = "https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html#serverless-endpoints-how-it-works-exclusions"
DOC_MME = "https://docs.aws.amazon.com/sagemaker/latest/dg/create-multi-model-endpoint.html"
DOC_NVME = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html#sagemaker-CreateEndpointConfig-request-KmsKeyId"
DOC_NAMES = (
    "issue 9 / AWS-FACTS: account-scoped names without the environment collide between profiles"
)
DOC_TARGETS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html"
DOC_CONCURRENCY = "https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html ; https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html"
DOC_MONITOR_STOP = (
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_MonitoringStoppingCondition.html"
)
# SageMaker checks that the endpoint a schedule monitors exists when the schedule is created
# (and a job definition's EndpointInput names it): aws/sagemaker-python-sdk#4873.
DOC_SCHEDULE_ENDPOINT = "https://github.com/aws/sagemaker-python-sdk/issues/4873"
DOC_VARIANT = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html"
)


@dataclass(frozen=True)
class Rule:
    id: str
    doc: str
    check: Callable[[Assembly], Iterator[tuple[str, str]]]  # yields (subject, message)


def _configs(a: Assembly) -> dict[tuple[str, str], tuple[Resource, dict[str, Any]]]:
    """(stack, endpoint-config name) -> (resource, resolved properties)."""
    return {
        (c.stack, a.name_of(c.stack, c.logical_id)): (c, a.resolve(c.stack, c.properties))
        for c in a.resources(type_="AWS::SageMaker::EndpointConfig")
    }


def _models(a: Assembly, stack: str, config: dict[str, Any]) -> list[dict[str, Any]]:
    names = {v.get("ModelName") for v in config.get("ProductionVariants", [])}
    return [
        a.resolve(m.stack, m.properties)
        for m in a.resources(stack=stack, type_="AWS::SageMaker::Model")
        if a.name_of(m.stack, m.logical_id) in names
    ]


def _endpoints(a: Assembly) -> Iterator[tuple[Resource, dict[str, Any], dict[str, Any]]]:
    configs = _configs(a)
    for e in a.resources(type_="AWS::SageMaker::Endpoint"):
        props = a.resolve(e.stack, e.properties)
        found = configs.get((e.stack, props.get("EndpointConfigName")))
        if found:
            yield e, props, found[1]


def _step_instances(size: dict[str, Any], fleet: int) -> int:
    """Whole instances one canary/linear step turns on. The pages give no rounding for a
    CAPACITY_PERCENT size; rounded down (an instance is on or off: a step that rounds to zero
    moves nothing), the conservative reading."""
    if size["Type"] == "INSTANCE_COUNT":
        return int(size["Value"])
    return fleet * int(size["Value"]) // 100


def _fleet(a: Assembly, e: Resource, variant: dict[str, Any]) -> int:
    """The smallest fleet the variant can have when an update starts: its initial count, or
    the autoscaling minimum if that is lower."""
    fleet = int(variant.get("InitialInstanceCount", 1))
    endpoint = a.resolve(e.stack, e.properties).get("EndpointName", "")
    for t in a.resources(stack=e.stack, type_="AWS::ApplicationAutoScaling::ScalableTarget"):
        props = a.resolve(t.stack, t.properties)
        if props.get("ResourceId") == f"endpoint/{endpoint}/variant/{variant.get('VariantName')}":
            fleet = min(fleet, int(props["MinCapacity"]))
    return fleet


def guardrail_sizes(a: Assembly) -> Iterator[tuple[str, str]]:
    """CloudFormation TrafficRoutingConfig: CanarySize "must be less than or equal to 50% of the
    variant's total instance count", LinearStepSize "10-50% of the variant's total instance
    count": a step is 1..floor(n/2) whole instances, so one instance takes no step at all."""
    for e, props, config in _endpoints(a):
        routing = (
            props.get("DeploymentConfig", {})
            .get("BlueGreenUpdatePolicy", {})
            .get("TrafficRoutingConfiguration", {})
        )
        kind = routing.get("Type")
        if kind not in ("CANARY", "LINEAR"):
            continue
        size = routing.get("CanarySize" if kind == "CANARY" else "LinearStepSize", {})
        for variant in config.get("ProductionVariants", []):
            if "ServerlessConfig" in variant:
                yield e.key, f"{kind} traffic shifting on a serverless variant (all-at-once only)"
                continue
            fleet = _fleet(a, e, variant)
            step = _step_instances(size, fleet)
            if not 1 <= step <= fleet // 2:
                yield (
                    e.key,
                    f"{kind} size {size['Value']} {size['Type']} is {step} whole instance(s) of "
                    f"a {fleet}-instance variant {variant['VariantName']}: a step must be "
                    f"1-{fleet // 2} instances (at most 50 % of the instance count)",
                )


def serverless_exclusions(a: Assembly) -> Iterator[tuple[str, str]]:
    for (stack, _name), (c, config) in _configs(a).items():
        variants = config.get("ProductionVariants", [])
        if not any("ServerlessConfig" in v for v in variants):
            continue
        if len(variants) > 1:
            yield c.key, "serverless endpoint with more than one production variant"
        if config.get("DataCaptureConfig"):
            yield c.key, "serverless endpoint configured with data capture"
        for model in _models(a, stack, config):
            if model.get("VpcConfig"):
                yield c.key, "serverless variant serves a model with VpcConfig"
            if model.get("EnableNetworkIsolation"):
                yield c.key, "serverless variant serves a model with network isolation"
            if model.get("PrimaryContainer", {}).get("Mode") == "MultiModel":
                yield c.key, "serverless variant serves a multi-model container"
            if len(model.get("Containers", [])) > 1:
                yield c.key, "serverless variant serves a multi-container model"


def multi_model(a: Assembly) -> Iterator[tuple[str, str]]:
    for m in a.resources(type_="AWS::SageMaker::Model"):
        props = a.resolve(m.stack, m.properties)
        containers = [props.get("PrimaryContainer", {}), *props.get("Containers", [])]
        mme = [c for c in containers if c.get("Mode") == "MultiModel"]
        if not mme:
            continue
        if len([c for c in containers if c]) != 1:
            yield m.key, "a multi-model endpoint serves one container (one image)"
        (container,) = mme[:1]
        url = str(container.get("ModelDataUrl", ""))
        if not url.startswith("s3://") or not url.endswith("/"):
            yield (
                m.key,
                f"MultiModel needs ModelDataUrl = an S3 prefix ending in '/', got {url!r}",
            )
        if "Image" not in container:
            yield m.key, "MultiModel container must name its Image (an MME-capable serving image)"


# Instance families with NVMe instance storage (SageMaker instance-type pages; 'd' suffix = local
# NVMe SSD, plus the GPU/accelerator families that always carry one).
_NVME = re.compile(r"^ml\.([a-z]+\d+[a-z]*d[a-z]*|g4dn|g5|g6|g6e|p3dn|p4d|p4de|p5|trn1|inf2)\.")


def kms_on_nvme(a: Assembly) -> Iterator[tuple[str, str]]:
    for (_stack, _name), (c, config) in _configs(a).items():
        if not config.get("KmsKeyId"):
            continue
        for v in config.get("ProductionVariants", []):
            itype = str(v.get("InstanceType", ""))
            if _NVME.match(itype):
                yield c.key, f"KmsKeyId set on {itype}, an instance type with NVMe instance storage"


def env_prefixed_names(a: Assembly) -> Iterator[tuple[str, str]]:
    """Account-scoped names people address must carry the environment (two copies, one account)."""
    envs = {name.split("-")[0] for name in a.templates}
    named = {
        "AWS::SageMaker::Pipeline": "PipelineName",
        "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupName",
    }
    for type_, prop in named.items():
        for r in a.resources(type_=type_):
            env = r.stack.split("-")[0]
            value = str(a.resolve(r.stack, r.properties.get(prop, "")))
            if len(envs) and not value.startswith(f"{env}-"):
                yield r.key, f"{prop} {value!r} does not start with the environment '{env}-'"


def event_targets_exist(a: Assembly) -> Iterator[tuple[str, str]]:
    """An EventBridge target names its SageMaker pipeline or CodePipeline by ARN: that ARN must
    be one the copy creates (a renamed pipeline leaves a rule that starts nothing)."""
    known = {
        a.get_att(p.stack, p.logical_id, "Arn")
        for t in ("AWS::SageMaker::Pipeline", "AWS::CodePipeline::Pipeline")
        for p in a.resources(type_=t)
    }
    for rule in a.resources(type_="AWS::Events::Rule"):
        for target in a.resolve(rule.stack, rule.properties).get("Targets", []):
            arn = str(target.get("Arn", ""))
            if arn.split(":")[2:3] in (["sagemaker"], ["codepipeline"]) and arn not in known:
                yield rule.key, f"target {arn} is not a pipeline this copy creates"


def reserved_concurrency(a: Assembly) -> Iterator[tuple[str, str]]:
    """PutFunctionConcurrency: "you can reserve concurrency for as many functions as you like,
    as long as you leave at least 100 simultaneous executions unreserved". Per account, the
    functions' ReservedConcurrentExecutions must fit under the quota the profile assumes
    (``lambda_concurrency_quota``; a new account's by default) minus those 100, or the
    function's stack fails to create."""
    from core.config import LAMBDA_UNRESERVED_MINIMUM, NEW_ACCOUNT_LAMBDA_CONCURRENCY

    quota = a.lambda_concurrency_quota or NEW_ACCOUNT_LAMBDA_CONCURRENCY
    reservable = max(0, quota - LAMBDA_UNRESERVED_MINIMUM)
    by_account: dict[str, list[tuple[Resource, int]]] = {}
    for f in a.resources(type_="AWS::Lambda::Function"):
        reserved = int(a.resolve(f.stack, f.properties.get("ReservedConcurrentExecutions", 0)))
        if reserved:
            by_account.setdefault(a.account_of(f.stack), []).append((f, reserved))
    for account, reserving in by_account.items():
        total = sum(n for _, n in reserving)
        if total <= reservable:
            continue
        for f, n in reserving:
            yield (
                f.key,
                f"reserves {n} concurrent executions; account {account} reserves {total} in "
                f"all, but a concurrency quota of {quota} leaves {reservable} to reserve "
                f"({LAMBDA_UNRESERVED_MINIMUM} stay unreserved): drop the reservation or set "
                "lambda_concurrency_quota to the accounts' real quota",
            )


# MonitoringStoppingCondition: "cannot exceed the frequency of the job. For data quality and
# model explainability, this can be up to 3600 seconds for an hourly schedule. For model bias
# and model quality hourly schedules, this can be up to 1800 seconds" (the ground-truth merge
# job and the analysis share the hour).
_HALF_HOUR_KINDS = ("ModelQuality", "ModelBias")


def _schedule_hours(expression: str) -> int | None:
    """Hours between runs of a Model Monitor cron (``cron(0 * ? * * *)`` hourly,
    ``cron(0 */N ? * * *)`` every N hours, ``cron(0 H ? * * *)`` daily); None if unknown."""
    fields = expression.removeprefix("cron(").removesuffix(")").split()
    if len(fields) < 2:
        return None
    hour = fields[1]
    if hour == "*":
        return 1
    if hour.startswith(("*/", "0/")):
        return int(hour.split("/")[1])
    return 24 if hour.isdigit() else None


def monitoring_stop_condition(a: Assembly) -> Iterator[tuple[str, str]]:
    """Each Model Monitor schedule's job definition stops within its schedule's period
    (half of it, for model quality and bias on an hourly schedule), or CreateMonitoringSchedule
    refuses it and the stack rolls back."""
    definitions = {  # the name a schedule gives: the last part of the definition's ARN
        str(a.get_att(r.stack, r.logical_id, "JobDefinitionArn")).rsplit("/", 1)[-1]: r
        for r in a.resources()
        if r.type.startswith("AWS::SageMaker::") and r.type.endswith("JobDefinition")
    }
    for s in a.resources(type_="AWS::SageMaker::MonitoringSchedule"):
        config = s.properties.get("MonitoringScheduleConfig", {})
        name = str(a.resolve(s.stack, config.get("MonitoringJobDefinitionName", "")))
        definition = definitions.get(name)
        expression = str(config.get("ScheduleConfig", {}).get("ScheduleExpression", ""))
        hours = _schedule_hours(expression)
        if definition is None or hours is None:
            continue
        kind = definition.type.removeprefix("AWS::SageMaker::").removesuffix("JobDefinition")
        limit = hours * 3600 // (2 if kind in _HALF_HOUR_KINDS and hours == 1 else 1)
        stop = definition.properties.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
        if stop is not None and int(a.resolve(definition.stack, stop)) > limit:
            yield (
                definition.key,
                f"MaxRuntimeInSeconds {stop} exceeds {limit} s for a {kind} job on "
                f"{expression} (schedule {s.key})",
            )


def _references(node: Any) -> set[str]:
    """Logical ids a value names with Ref or Fn::GetAtt (an implicit dependency)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt" and isinstance(value, list) and value:
                found.add(str(value[0]))
            else:
                found |= _references(value)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value)
    return found


def schedules_after_their_endpoint(a: Assembly) -> Iterator[tuple[str, str]]:
    """A Model Monitor schedule or job definition naming an endpoint of its own stack is
    created after that endpoint (DependsOn, Ref or GetAtt): otherwise CloudFormation creates
    them side by side, SageMaker refuses the schedule (no such endpoint) and the stack rolls
    back on its first deploy."""
    kinds = ("AWS::SageMaker::MonitoringSchedule",) + tuple(
        f"AWS::SageMaker::{k}JobDefinition"
        for k in ("DataQuality", "ModelQuality", "ModelBias", "ModelExplainability")
    )
    for r in a.resources():
        if r.type not in kinds:
            continue
        text = str(a.resolve(r.stack, r.properties))
        for e in a.resources(stack=r.stack, type_="AWS::SageMaker::Endpoint"):
            name = str(a.name_of(e.stack, e.logical_id))
            if f"'{name}'" not in text:
                continue
            template = a.templates[r.stack]["Resources"][r.logical_id]
            depends = template.get("DependsOn", [])
            depends = {depends} if isinstance(depends, str) else set(depends)
            if e.logical_id not in depends | _references(r.properties):
                yield (
                    r.key,
                    f"names endpoint {name} ({e.key}) but is not created after it: add a "
                    "dependency on the endpoint",
                )


# botocore's sagemaker model, shape CustomerMetadataMap (what CreateModelPackage checks):
# at most 50 entries, keys 1-128 and values 1-256 characters of \p{L}\p{Z}\p{N}_.:/=+-@.
DOC_METADATA = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackage.html#sagemaker-CreateModelPackage-request-CustomerMetadataProperties"
_METADATA_CHARS = re.compile(r"[\w\s.:/=+\-@]*")  # \w: letters, digits and _ (\p{L}, \p{N})
# A pipeline execution id is 12 characters (lowercase letters and digits), e.g. the ARNs in
# DescribePipelineExecution; the length a value built from it will have.
_EXECUTION_ID = "x" * 12


def _pipeline_value(
    a: Assembly, r: Resource, node: Any, steps: dict[str, dict[str, Any]]
) -> str | None:
    """The string a pipeline expression evaluates to at run time (execution ids at their
    length), or None when it depends on what only the run knows."""
    if isinstance(node, str | int | float):
        return str(node)
    if not isinstance(node, dict):
        return None
    if "Std:Join" in node:
        parts = [_pipeline_value(a, r, v, steps) for v in node["Std:Join"].get("Values", [])]
        return None if None in parts else str(node["Std:Join"].get("On", "")).join(parts)  # type: ignore[arg-type]
    ref = node.get("Get")
    if ref == "Execution.PipelineExecutionId":
        return _EXECUTION_ID
    if ref == "Execution.PipelineExecutionArn":
        name = str(a.resolve(r.stack, r.properties.get("PipelineName"))).lower()
        return (
            f"arn:{a.partition}:sagemaker:{a.region}:{a.account_of(r.stack)}:pipeline/{name}"
            f"/execution/{_EXECUTION_ID}"
        )
    output = re.fullmatch(
        r"Steps\.([^.]+)\.ProcessingOutputConfig\.Outputs\['([^']+)'\]\.S3Output\.S3Uri",
        str(ref),
    )
    if output:
        outputs = get_path(steps.get(output[1], {}), "Arguments.ProcessingOutputConfig.Outputs")
        for o in outputs or []:
            if o.get("OutputName") == output[2]:
                return _pipeline_value(a, r, o.get("S3Output", {}).get("S3Uri"), steps)
    return None


def get_path(node: Any, path: str) -> Any:
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def model_package_metadata(a: Assembly) -> Iterator[tuple[str, str]]:
    """Each RegisterModel step's CustomerMetadataProperties fit CreateModelPackage's limits once
    the run fills them in (the lineage keys, model_code/lineage.py: the execution ARN and the
    manifest URI grow with the pipeline and bucket names). Otherwise the pipeline trains and
    then fails at registration."""
    import json

    for r in a.resources(type_="AWS::SageMaker::Pipeline"):
        body = a.resolve(r.stack, r.properties.get("PipelineDefinition", {})).get(
            "PipelineDefinitionBody"
        )
        try:
            definition = json.loads(body) if isinstance(body, str) else {}
        except ValueError:
            continue  # not this rule's to judge: the pipeline rows name an unreadable body
        todo, steps = list(definition.get("Steps", [])), {}
        while todo:
            step = todo.pop()
            steps[step.get("Name")] = step
            args = step.get("Arguments", {})
            todo += args.get("IfSteps", []) + args.get("ElseSteps", [])
        for name, step in sorted(steps.items()):
            metadata = step.get("Arguments", {}).get("CustomerMetadataProperties")
            if step.get("Type") != "RegisterModel" or not metadata:
                continue
            if len(metadata) > 50:
                yield (r.key, f"step {name}: {len(metadata)} CustomerMetadataProperties (max 50)")
            for key, node in metadata.items():
                value = _pipeline_value(a, r, node, steps)
                if not 0 < len(key) <= 128 or not _METADATA_CHARS.fullmatch(key):
                    yield (
                        r.key,
                        f"step {name}: metadata key {key!r} is not 1-128 allowed characters",
                    )
                if value is None:
                    yield (
                        r.key,
                        f"step {name}: metadata {key!r} has a value this rule cannot evaluate",
                    )
                elif not 0 < len(value) <= 256 or not _METADATA_CHARS.fullmatch(value):
                    yield (
                        r.key,
                        f"step {name}: metadata {key!r} will be {len(value)} characters "
                        f"({value[:60]}...): CreateModelPackage takes 1-256 of letters, digits, "
                        "spaces and _.:/=+-@",
                    )


RULES = (
    Rule("guardrail-size", f"{DOC_CANARY} ; {DOC_LINEAR}", guardrail_sizes),
    Rule("serverless-exclusions", DOC_SERVERLESS, serverless_exclusions),
    Rule("multi-model", DOC_MME, multi_model),
    Rule("kms-on-nvme", DOC_NVME, kms_on_nvme),
    Rule("env-prefixed-names", DOC_NAMES, env_prefixed_names),
    Rule("event-targets-exist", DOC_TARGETS, event_targets_exist),
    Rule("lambda-reserved-concurrency", DOC_CONCURRENCY, reserved_concurrency),
    Rule("monitoring-stop-condition", DOC_MONITOR_STOP, monitoring_stop_condition),
    Rule("schedule-after-endpoint", DOC_SCHEDULE_ENDPOINT, schedules_after_their_endpoint),
    Rule("model-package-metadata", DOC_METADATA, model_package_metadata),
)


def check(a: Assembly, rules: tuple[Rule, ...] = RULES) -> list[Finding]:
    return [
        Finding("rule", subject, message, rule.id, rule.doc)
        for rule in rules
        for subject, message in rule.check(a)
    ]


# -- cfn-lint -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LintAck:
    rule: str
    message: str  # regular expression on the message
    reason: str


# Reviewed: findings that are CDK's way of writing templates, not defects.
LINT_ACKS = (
    LintAck("I1022", ".*", "style: CDK renders ARNs with Fn::Join; Fn::Sub would be equivalent"),
    LintAck(
        "W3005",
        ".*dependency already enforced.*",
        "CDK adds explicit DependsOn on policies next to GetAtt; redundant, harmless",
    ),
    LintAck(
        "W3010",
        "Avoid hardcoding availability zones 'dummy1[a-c]'",
        "offline synth has no AZ context lookups; `cdk deploy` looks the real AZs up and "
        "re-synthesizes before anything reaches CloudFormation",
    ),
)


def lint(name: str, template_text: str, region: str) -> list[Finding]:
    """cfn-lint with the informational rules on one template; acknowledged findings dropped."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    findings = []
    for match in cfn_lint(template_text, config=ManualArgs(include_checks=["I"], regions=[region])):
        rule, message = match.rule.id, match.message
        if any(ack.rule == rule and re.fullmatch(ack.message, message) for ack in LINT_ACKS):
            continue
        path = "/".join(str(p) for p in (match.path or [])[:2])
        findings.append(
            Finding(
                "cfn-lint",
                f"{name}/{path}",
                f"{rule}: {message}",
                f"cfn-lint {rule}",
                match.rule.source_url,
            )
        )
    return findings
