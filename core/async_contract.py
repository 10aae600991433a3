"""The asynchronous-inference contract both sides share: where requests and answers live in
the artifacts zone, the metrics an async endpoint publishes, and the synth-time rules.

Standard library only: ``core.config`` validates with ``async_problems``, the CDK construct
(``async_inference``) and ``labctl invoke --async`` / the local endpoint use the same prefixes
and object names. Not stateful.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import ServingConfig

# Prefixes in the artifacts bucket: clients upload payloads under INPUT_PREFIX (the hosting
# role reads them); SageMaker writes answers under OUTPUT_PREFIX and failures under
# FAILURE_PREFIX. Each endpoint gets its own folder below them.
INPUT_PREFIX = "async/input"
OUTPUT_PREFIX = "async/output"
FAILURE_PREFIX = "async/failure"

DOC_ASYNC = "https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference.html"
DOC_AUTOSCALE = "https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-autoscale.html"
DOC_MONITOR = "https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-monitor.html"
DOC_PREREQUISITES = "https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-create-endpoint-prerequisites.html"
DOC_GUARDRAILS = "https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails.html"

# "Any metric not listed below is not published if the endpoint is enabled for asynchronous
# inference" (DOC_MONITOR): of the common endpoint metrics only Invocation4XXErrors,
# Invocation5XXErrors and ModelLatency remain, so a rollback alarm on InvocationModelErrors
# would watch nothing on an async endpoint.
ASYNC_UNPUBLISHED = frozenset({"InvocationModelErrors", "Invocations", "InvocationsPerInstance"})
# Async-only metrics carry the EndpointName dimension alone (DOC_MONITOR).
BACKLOG_PER_INSTANCE = "ApproximateBacklogSizePerInstance"
BACKLOG_WITHOUT_CAPACITY = "HasBacklogWithoutCapacity"
INVOCATION_FAILURES = "InvocationFailures"
OLDEST_REQUEST_AGE = "ApproximateAgeOfOldestRequest"

# InvokeEndpointAsync: InvocationTimeoutSeconds up to 3600 s, 15 minutes by default
# ("Invoke an asynchronous endpoint"); payloads up to 1 GB (DOC_ASYNC).
MAX_INVOCATION_TIMEOUT_SECONDS = 3600
MAX_PAYLOAD_BYTES = 1024**3


def endpoint_prefix(prefix: str, endpoint_name: str) -> str:
    """The folder of one endpoint under an async prefix (no trailing slash)."""
    return f"{prefix}/{endpoint_name}"


def output_key(endpoint_name: str, inference_id: str) -> str:
    """Where SageMaker writes the answer: ``<S3OutputPath>/<id>.out`` (DOC_ASYNC)."""
    return f"{endpoint_prefix(OUTPUT_PREFIX, endpoint_name)}/{inference_id}.out"


def failure_key(endpoint_name: str, inference_id: str) -> str:
    """Where SageMaker writes a failed request's error: ``<S3FailurePath>/<id>-error.out``."""
    return f"{endpoint_prefix(FAILURE_PREFIX, endpoint_name)}/{inference_id}-error.out"


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
