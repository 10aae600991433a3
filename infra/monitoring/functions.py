"""The monitoring unit's Lambda functions: one code bundle and one way to build a function.

``monitoring_bundle()`` stages the runtime modules (``infra/monitoring/runtime/``) with the
standard-library contracts they share with the drift job and the constructs; the asset hash is
of the content, so every construct that stages it gets the same asset. ``monitoring_function``
builds a function with its own log group (in the unit's key), its own role (logs to that group
only) and its own dead-letter queue, alarmed on the alert topic. Used by ``DriftMonitoring``
(runner, bridge) and ``RetrainBridge`` (tooling, multi-account). Not stateful.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.operations.dead_letters import DeadLetterQueue
from infra.runtime_bundle import stage

RUNTIME = Path(__file__).parent / "runtime"
CONTRACTS = ("monitoring_contract.py", "layout.py", "registry_contract.py")  # standard library only


def monitoring_bundle() -> Path:
    """The functions' code: the runtime modules and, beside them, the contracts (``model_code``
    package), so the layout, metric names and retrain event have one spelling."""
    return stage(RUNTIME, CONTRACTS, "monitoring-runtime-")


def monitoring_function(
    scope: Construct,
    id_: str,
    *,
    handler: str,
    description: str,
    environment: dict[str, str],
    bundle: Path,
    log_key: kms.IKey,
    alert_topic: sns.ITopic,
    subject: str,
    path: str | None = None,
) -> tuple[lambda_.Function, DeadLetterQueue]:
    """``id_`` and its ``<id_>Logs``, ``<id_>Role``, ``<id_>DeadLetters`` children of ``scope``
    (their logical ids are what the templates pin). ``subject``: what failed, for the dead
    letters' alarm. ``path``: the role's IAM path (production's monitoring roles, which
    tooling's resource policies name by path)."""
    log_group = logs.LogGroup(
        scope,
        f"{id_}Logs",
        encryption_key=log_key,
        retention=logs.RetentionDays.ONE_YEAR,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    # An own role instead of AWSLambdaBasicExecutionRole: logs only to its own group.
    role = iam.Role(
        scope,
        f"{id_}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=description,
        path=path,
    )
    log_group.grant_write(role)
    # Failed events and failed runs land here (infra/operations/dead_letters.py).
    letters = DeadLetterQueue(
        scope, f"{id_}DeadLetters", key=log_key, alert_topic=alert_topic, subject=subject
    )
    letters.grant_send(role)
    function = lambda_.Function(
        scope,
        id_,
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler=handler,
        code=lambda_.Code.from_asset(str(bundle)),
        description=description,
        environment=environment,
        role=role,
        timeout=cdk.Duration.minutes(5),
        memory_size=512,
        dead_letter_queue=letters.queue,
        # No reserved concurrency: a new account's quota leaves none to reserve (issue 22,
        # L1; rehearsal rule lambda-reserved-concurrency); the runner's phases are
        # idempotent instead.
        log_group=log_group,
    )
    return function, letters
