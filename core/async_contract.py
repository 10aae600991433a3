"""The asynchronous-inference contract both sides share: where requests and answers live in
the artifacts zone and the metrics an async endpoint publishes.

Standard library only, importing nothing: ``core.config`` validates with ``async_problems``
(``core/config/serving.py``); the CDK construct (``async_inference``) and ``labctl invoke
--async`` / the local endpoint use the same prefixes and object names. Not stateful.
"""

from __future__ import annotations

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
