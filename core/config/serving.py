"""The profile's ``serving`` section: kind, fleet, guardrails, async inference and shadow, with
the rules that need only this section (``async_problems``, ``guardrail_step_problem``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, get_args

from core.async_contract import BACKLOG_PER_INSTANCE, DOC_ASYNC, DOC_AUTOSCALE
from core.config.sections import _require
from core.shadow_rules import shadow_problem

ServingKind = Literal["real_time", "serverless", "multi_model", "multi_container", "async"]
# The serving kinds, in order: the one list (labctl cost, the local endpoint, serve --kind).
SERVING_KINDS: tuple[ServingKind, ...] = get_args(ServingKind)
GuardrailMode = Literal["all_at_once", "canary", "linear"]


@dataclass(frozen=True)
class GuardrailConfig:
    """SageMaker blue/green deployment guardrails (sizes from the study guide). The default
    mode is all-at-once because the default fleet has one instance, on which no canary or
    linear step exists (``guardrail_step_problem``)."""

    mode: GuardrailMode = "all_at_once"
    canary_percent: int = 30
    linear_step_percent: int = 20
    bake_seconds: int = 600
    termination_wait_seconds: int = 600
    max_execution_timeout_seconds: int = 3600

    def __post_init__(self) -> None:
        # Limits from the SageMaker API reference (TrafficRoutingConfig, BlueGreenUpdatePolicy).
        _require(
            1 <= self.canary_percent <= 50,
            f"serving.guardrail.canary_percent must be 1-50 (a canary is at most half the "
            f"green fleet), got {self.canary_percent}",
        )
        _require(
            10 <= self.linear_step_percent <= 50,
            f"serving.guardrail.linear_step_percent must be 10-50, got {self.linear_step_percent}",
        )
        _require(
            0 <= self.bake_seconds <= 3600,
            f"serving.guardrail.bake_seconds must be 0-3600, got {self.bake_seconds}",
        )
        _require(
            0 <= self.termination_wait_seconds <= 3600,
            "serving.guardrail.termination_wait_seconds must be 0-3600, "
            f"got {self.termination_wait_seconds}",
        )
        _require(
            600 <= self.max_execution_timeout_seconds <= 28800,
            "serving.guardrail.max_execution_timeout_seconds must be 600-28800, "
            f"got {self.max_execution_timeout_seconds}",
        )


def guardrail_step_instances(percent: int, instances: int) -> int:
    """Whole instances a CAPACITY_PERCENT step of ``percent`` turns on in a fleet of
    ``instances``. CloudFormation's TrafficRoutingConfig says CanarySize "must be less than or
    equal to 50% of the variant's total instance count" and LinearStepSize "must be 10-50% of
    the variant's total instance count" (AWS::SageMaker::Endpoint TrafficRoutingConfig; the
    developer guide's "Use canary traffic shifting": "less than or equal to 50% of the new
    fleet's capacity"). Neither page states how a percentage becomes instances, so this
    assumes the conservative reading: rounded down (an instance is on or off), and a step that
    rounds to zero instances or exceeds the bound is not possible."""
    return percent * instances // 100


def guardrail_step_problem(g: GuardrailConfig, instances: int) -> str | None:
    """Why ``g`` cannot shift traffic on a fleet of ``instances`` (min_instances: the size
    the green fleet may have), or None. All-at-once always works."""
    if g.mode == "all_at_once":
        return None
    percent = g.canary_percent if g.mode == "canary" else g.linear_step_percent
    step = guardrail_step_instances(percent, instances)
    limit = instances // 2  # canary <= 50 % and linear step <= 50 % of the instance count
    if step >= 1 and step <= limit:
        return None
    what = "canary" if g.mode == "canary" else "linear step"
    if instances < 2:
        return (
            f"serving.guardrail.mode={g.mode!r} needs at least 2 instances: a {what} is at most "
            f"50 % of the variant's instance count, and {instances} instance cannot be split; set "
            "serving.guardrail.mode='all_at_once' or serving.min_instances >= 2"
        )
    return (
        f"serving.guardrail: a {percent} % {what} of {instances} instances is {step} whole "
        f"instance(s) (rounded down); it must be 1-{limit} (at most 50 % of the variant's "
        f"instance count): raise the percentage to at least {-(-100 // instances)} % or "
        "serving.min_instances"
    )


@dataclass(frozen=True)
class AsyncInferenceConfig:
    """``serving.kind='async'`` only: SageMaker Asynchronous Inference (queued requests, payload
    in S3, answers in S3 and on SNS). Defaults from the developer guide's "Autoscale an
    asynchronous endpoint" example (backlog target 5 per instance, scale-in cooldown 600 s,
    scale-out 300 s). Validated in ``async_problems`` below."""

    max_concurrent_invocations_per_instance: int = 4
    # Scale in to zero instances when the queue is empty (the scalable target's minimum is 0;
    # the endpoint is created with serving.min_instances and scales in from there).
    scale_to_zero: bool = True
    backlog_target_per_instance: float = 5.0
    scale_in_cooldown_seconds: int = 600
    scale_out_cooldown_seconds: int = 300
    # p99 seconds a request may wait in the queue before the backlog-age alarm fires.
    max_backlog_age_seconds: int = 900


@dataclass(frozen=True)
class ShadowConfig:
    """A shadow production variant: the release's challenger receives a copy of
    ``sampling_percentage`` % of production requests, its answers are captured, never returned
    (``infra/serving/shadow.py``). Production only; staging never has one."""

    enabled: bool = False
    sampling_percentage: int = 100

    def __post_init__(self) -> None:
        # ShadowModelVariantConfig.SamplingPercentage: an integer, at most 100 (API reference).
        _require(
            1 <= self.sampling_percentage <= 100,
            f"serving.shadow.sampling_percentage must be 1-100, got {self.sampling_percentage}",
        )


@dataclass(frozen=True)
class ServingConfig:
    kind: ServingKind = "real_time"
    instance_type: str = "ml.m5.large"
    min_instances: int = 1
    max_instances: int = 10
    target_invocations_per_instance: int = 70
    scale_cooldown_seconds: int = 300
    serverless_memory_mb: int = 2048
    serverless_max_concurrency: int = 5
    serverless_provisioned_concurrency: int = 0
    data_capture: bool = True
    capture_sampling_percent: int = 100
    latency_alarm_p99_ms: int = 500
    mce_containers: tuple[str, ...] = ("xgboost", "baseline")
    guardrail: GuardrailConfig = field(default_factory=GuardrailConfig)
    async_inference: AsyncInferenceConfig = field(default_factory=AsyncInferenceConfig)
    shadow: ShadowConfig = field(default_factory=ShadowConfig)

    def __post_init__(self) -> None:
        if self.shadow.enabled:
            problem = shadow_problem(self.kind, self.instance_type, self.data_capture)
            _require(problem is None, problem or "")
        _require(
            1 <= self.min_instances <= self.max_instances,
            "serving.min_instances must be >= 1 and <= serving.max_instances",
        )
        _require(
            self.serverless_memory_mb in (1024, 2048, 3072, 4096, 5120, 6144),
            "serving.serverless_memory_mb must be one of 1024, 2048, 3072, 4096, 5120, 6144",
        )
        _require(
            1 <= self.serverless_max_concurrency <= 200,
            "serving.serverless_max_concurrency must be 1-200",
        )
        _require(
            0 <= self.serverless_provisioned_concurrency <= self.serverless_max_concurrency,
            "serving.serverless_provisioned_concurrency must be 0..serverless_max_concurrency",
        )
        _require(
            0 < self.capture_sampling_percent <= 100,
            "serving.capture_sampling_percent must be 1-100",
        )
        _require(self.latency_alarm_p99_ms >= 1, "serving.latency_alarm_p99_ms must be positive")
        # A multi-container endpoint hosts at most 15 containers (SageMaker developer guide,
        # "Multi-container endpoints"); this platform's are the two registered models.
        _require(
            2 <= len(self.mce_containers) <= 15,
            f"serving.mce_containers must name 2-15 containers, got {len(self.mce_containers)}",
        )
        unknown = sorted(set(self.mce_containers) - {"xgboost", "baseline"})
        _require(
            not unknown and len(set(self.mce_containers)) == len(self.mce_containers),
            f"serving.mce_containers: unknown or repeated hostnames {unknown or 'repeated'}; "
            "use each of 'xgboost', 'baseline' once",
        )
        if self.guardrail.mode != "all_at_once" and self.kind != "serverless":
            # Deployment guardrails exclusions: Inf1 endpoints fall back to all-at-once with
            # no bake (SageMaker developer guide, "Deployment guardrails: exclusions").
            _require(
                not self.instance_type.startswith("ml.inf1."),
                f"{self.instance_type} (Inf1) endpoints cannot use {self.guardrail.mode} "
                "traffic shifting: set serving.guardrail.mode='all_at_once' or another type",
            )
            problem = guardrail_step_problem(self.guardrail, self.min_instances)
            _require(problem is None, problem or "")
        if self.kind == "serverless":
            # Serverless endpoints exclude data capture and canary/linear traffic shifting
            # (SageMaker developer guide, "Serverless Inference: feature exclusions").
            _require(
                not self.data_capture,
                "serverless endpoints cannot capture data: set serving.data_capture=false "
                "or serving.kind='real_time'",
            )
            _require(
                self.guardrail.mode == "all_at_once",
                "serverless endpoints only support all-at-once blue/green updates: set "
                "serving.guardrail.mode='all_at_once' or serving.kind='real_time'",
            )
        if self.kind == "async":
            problems = async_problems(self)
            _require(not problems, "; ".join(problems))

    def for_staging(self) -> ServingConfig:
        """The staging copy: one instance (the smoke test needs no more), so its blue/green
        updates are all-at-once, whatever production uses (no canary or linear step exists on
        one instance, see ``guardrail_step_problem``)."""
        return replace(
            self,
            min_instances=1,
            max_instances=1,
            guardrail=replace(self.guardrail, mode="all_at_once"),
            shadow=ShadowConfig(),  # a shadow test runs on production traffic only
        )


def async_problems(serving: ServingConfig) -> list[str]:
    """Why ``serving`` (kind 'async') cannot deploy, each with what to change; [] if it can."""
    a = serving.async_inference
    problems = []
    # AsyncInferenceClientConfig.MaxConcurrentInvocationsPerInstance: 1-1000 (API reference).
    if not 1 <= a.max_concurrent_invocations_per_instance <= 1000:
        problems.append(
            "serving.async_inference.max_concurrent_invocations_per_instance must be 1-1000 "
            f"(SageMaker API reference, AsyncInferenceClientConfig), got "
            f"{a.max_concurrent_invocations_per_instance}"
        )
    if a.backlog_target_per_instance <= 0:
        problems.append(
            "serving.async_inference.backlog_target_per_instance must be positive: it is the "
            f"{BACKLOG_PER_INSTANCE} target the endpoint scales to ({DOC_AUTOSCALE})"
        )
    if min(a.scale_in_cooldown_seconds, a.scale_out_cooldown_seconds) < 0:
        problems.append("serving.async_inference cooldowns must be >= 0 seconds")
    if not 60 <= a.max_backlog_age_seconds <= 6 * 3600:
        problems.append(
            "serving.async_inference.max_backlog_age_seconds must be 60-21600 (a request "
            "lives at most 6 hours in the queue: InvokeEndpointAsync RequestTTLSeconds)"
        )
    # Async endpoints run on instances: no ServerlessConfig beside an AsyncInferenceConfig
    # (serverless endpoints are their own kind; DOC_ASYNC: "Creating an asynchronous
    # inference endpoint is similar to creating real-time inference endpoints").
    if not serving.instance_type.startswith("ml."):
        problems.append(
            f"async endpoints run on instances: serving.instance_type {serving.instance_type!r} "
            f"must be an ml.* instance type ({DOC_ASYNC})"
        )
    if serving.serverless_provisioned_concurrency:
        problems.append(
            "async endpoints run on instances and take no serverless settings: set "
            "serving.serverless_provisioned_concurrency=0 or serving.kind='serverless' "
            f"({DOC_ASYNC})"
        )
    # Canary and linear steps are a share of the variant's instance count (TrafficRoutingConfig
    # CanarySize/LinearStepSize); an async variant scaled to zero has none to split
    # (DOC_AUTOSCALE: "you can also scale down your asynchronous endpoints instances to zero").
    if a.scale_to_zero and serving.guardrail.mode != "all_at_once":
        problems.append(
            f"serving.guardrail.mode={serving.guardrail.mode!r} needs instances to shift "
            "traffic across, and an async endpoint that scales to zero may have none when a "
            "release starts: set serving.async_inference.scale_to_zero=false (the fleet then "
            "keeps serving.min_instances) or serving.guardrail.mode='all_at_once' "
            f"({DOC_AUTOSCALE}; canary and linear sizes are a share of the instance count, "
            "CloudFormation TrafficRoutingConfig)"
        )
    return problems
