"""Typed, validated configuration: one frozen object per lab profile.

Profiles live in ``config/<name>.json`` and are selected with ``-c profile=NAME``. Every
invalid combination raises ``ConfigError`` at synth, before anything reaches AWS, with a
message that says what to change. Constructs receive these objects, never raw dicts.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from pipelines.tuning import FieldNames, TuningStrategy, tuning_problem

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"

RetentionMode = Literal["lab", "retain"]
NetworkMode = Literal["isolated", "lab"]
StreamMode = Literal["on_demand", "provisioned"]
ServingKind = Literal["real_time", "serverless", "multi_model", "multi_container", "async"]
# The serving kinds, in order: the one list (labctl cost, the local endpoint, serve --kind).
SERVING_KINDS: tuple[ServingKind, ...] = get_args(ServingKind)
GuardrailMode = Literal["all_at_once", "canary", "linear"]
MonitoringEngine = Literal["none", "custom", "model_monitor"]

REQUIRED_TAGS = ("project", "environment", "owner", "cost-center")


# A new account's Lambda concurrency quota as seen in fresh accounts (the Lambda quotas page
# says only "reduced"); and what PutFunctionConcurrency keeps unreserved.
NEW_ACCOUNT_LAMBDA_CONCURRENCY = 10
LAMBDA_UNRESERVED_MINIMUM = 100


class ConfigError(ValueError):
    """A profile that cannot be deployed as written; the message says what to change."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclass(frozen=True)
class NetworkConfig:
    """`isolated`: a VPC with private isolated subnets and interface endpoints for every job
    and endpoint (no internet path). `lab`: no VPC; jobs and endpoints still run with network
    isolation where the container allows it. Interface endpoints cost money per AZ-hour."""

    mode: NetworkMode = "lab"
    max_azs: int = 2

    def __post_init__(self) -> None:
        _require(1 <= self.max_azs <= 3, f"network.max_azs must be 1-3, got {self.max_azs}")


@dataclass(frozen=True)
class IngestionConfig:
    stream_mode: StreamMode = "on_demand"
    shard_count: int = 1
    retention_hours: int = 168
    buffer_interval_seconds: int = 60
    buffer_size_mib: int = 64
    iterator_age_alarm_fraction: float = 0.5

    def __post_init__(self) -> None:
        # Kinesis retention: 24 h to 365 days (8760 h). Below 168 h a weekend outage of the
        # S3 delivery loses records, since Firehose only retries while the stream keeps them.
        _require(
            168 <= self.retention_hours <= 8760,
            f"ingestion.retention_hours must be 168-8760 (7 to 365 days) so a delivery outage "
            f"cannot expire records, got {self.retention_hours}",
        )
        if self.stream_mode == "provisioned":
            _require(
                1 <= self.shard_count <= 500,
                f"ingestion.shard_count must be 1-500, got {self.shard_count}",
            )
        # Firehose S3 buffering hints: 0-900 s, 1-128 MiB.
        _require(
            0 <= self.buffer_interval_seconds <= 900,
            f"ingestion.buffer_interval_seconds must be 0-900, got {self.buffer_interval_seconds}",
        )
        _require(
            1 <= self.buffer_size_mib <= 128,
            f"ingestion.buffer_size_mib must be 1-128, got {self.buffer_size_mib}",
        )
        _require(
            0.1 <= self.iterator_age_alarm_fraction <= 0.9,
            "ingestion.iterator_age_alarm_fraction must be 0.1-0.9 of the retention period",
        )


_TUNING_FIELDS = FieldNames(
    "training.max_tuning_jobs",
    "training.max_parallel_tuning_jobs",
    "training.tuning_strategy",
    "training.early_stopping",
)


@dataclass(frozen=True)
class TrainingConfig:
    pipeline_name: str = "digits-training"
    model_package_group: str = "digits-xgboost"
    baseline_package_group: str = "digits-baseline"
    processing_instance_type: str = "ml.m5.large"
    training_instance_type: str = "ml.m5.large"
    max_tuning_jobs: int = 20
    max_parallel_tuning_jobs: int = 3
    tuning_strategy: TuningStrategy = "Bayesian"
    early_stopping: bool = False
    accuracy_threshold: float = 0.95
    approval_status: Literal["PendingManualApproval", "Approved"] = "PendingManualApproval"
    retrain_on_new_data: bool = True

    def __post_init__(self) -> None:
        name_re = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
        for attr in ("pipeline_name", "model_package_group", "baseline_package_group"):
            value = getattr(self, attr)
            _require(
                re.match(name_re, value) is not None,
                f"training.{attr} {value!r} must be 1-63 letters, digits or hyphens",
            )
        _require(
            self.model_package_group != self.baseline_package_group,
            "training.model_package_group and baseline_package_group must differ",
        )
        # The tuning rules live with the pipeline's (pipelines/tuning.py): one check for both.
        problem = tuning_problem(
            self.max_tuning_jobs,
            self.max_parallel_tuning_jobs,
            self.tuning_strategy,
            self.early_stopping,
            _TUNING_FIELDS,
        )
        _require(problem is None, problem or "")
        _require(
            0.0 < self.accuracy_threshold <= 1.0,
            f"training.accuracy_threshold must be in (0, 1], got {self.accuracy_threshold}",
        )
        for attr in ("processing_instance_type", "training_instance_type"):
            value = getattr(self, attr)
            _require(value.startswith("ml."), f"training.{attr} must be an ml.* type: {value}")


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
    scale-out 300 s). Validated in ``core.async_contract.async_problems``."""

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
            from core.shadow_rules import shadow_problem

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
            from core.async_contract import async_problems

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


@dataclass(frozen=True)
class MonitoringConfig:
    """`custom`: the platform's own drift check over data capture (works in every account).
    `model_monitor`: SageMaker Model Monitor schedules, closed to new customers since
    2026-07-30, so only for accounts that already use it. `none`: no drift detection."""

    engine: MonitoringEngine = "custom"
    drift_threshold: float = 0.2
    schedule_hours: int = 1
    # The drift job's processing cluster: input sharded by S3 key over this many instances.
    instance_count: int = 1
    instance_type: str = "ml.m5.large"
    # model_monitor only, optional: by default the schedules read the baselines the training
    # pipeline registered with the *deployed* version (the release file's monitor_baseline).
    # An override is an s3:// prefix laid out like the pipeline's MonitorBaseline output
    # (data-quality/{statistics,constraints}.json, model-quality/constraints.json,
    # explainability/analysis_config.json).
    model_monitor_baseline_uri: str = ""
    # model_monitor on a real-time single-model endpoint only: a model explainability (SHAP,
    # SageMaker Clarify) job definition and schedule. Off by default: the Developer Guide's
    # "Amazon SageMaker Model Monitor availability change" closes ModelExplainabilityMonitor to
    # new customers, and Clarify, which runs it, is closed to new customers too.
    explainability: bool = False

    def __post_init__(self) -> None:
        _require(0.0 < self.drift_threshold < 1.0, "monitoring.drift_threshold must be in (0, 1)")
        _require(1 <= self.schedule_hours <= 24, "monitoring.schedule_hours must be 1-24")
        # ProcessingResources.ClusterConfig.InstanceCount: 1-100 (SageMaker API reference).
        _require(
            1 <= self.instance_count <= 100,
            f"monitoring.instance_count must be 1-100, got {self.instance_count}",
        )
        _require(
            self.instance_type.startswith("ml."),
            f"monitoring.instance_type must be an ml.* type: {self.instance_type}",
        )
        if self.engine == "model_monitor":
            # Model Monitor accepts only hourly, daily or cron(0 H/N ? * * *) schedules
            # (Developer Guide, "The cron expression for monitoring schedule"); a cycle that
            # does not divide the day is not "every N hours", so only divisors of 24.
            _require(
                24 % self.schedule_hours == 0,
                f"Model Monitor cannot run every {self.schedule_hours} hours: it accepts hourly, "
                "daily or every-N-hours cron schedules; set monitoring.schedule_hours to one of "
                "1, 2, 3, 4, 6, 8, 12, 24",
            )
        if self.model_monitor_baseline_uri:
            _require(
                re.match(r"^s3://[a-z0-9.-]{3,63}/.+[^/]$", self.model_monitor_baseline_uri)
                is not None,
                "monitoring.model_monitor_baseline_uri must be an s3://bucket/prefix (no "
                "trailing slash) laid out like the pipeline's MonitorBaseline output, or empty "
                "to use the deployed version's baselines",
            )
        if self.explainability:
            _require(
                self.engine == "model_monitor",
                "monitoring.explainability runs SageMaker Clarify through Model Monitor: set "
                "monitoring.engine='model_monitor' (accounts that still have Model Monitor and "
                "Clarify) or monitoring.explainability=false",
            )


@dataclass(frozen=True)
class DeliveryConfig:
    """Where the delivery pipeline takes the source from. CodeCommit is closed to new
    customers, so the default is an S3 source bundle (``labctl release upload``); GitHub goes
    through a CodeConnections connection created (and authorized) in the console."""

    source: Literal["s3", "github"] = "s3"
    connection_arn: str = ""
    repository: str = ""  # owner/name
    branch: str = "main"
    smoke_expect: tuple[int, ...] = (6,)  # the study guide's first Digits test sample is a 6

    def __post_init__(self) -> None:
        if self.source == "github":
            _require(
                re.match(
                    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):", self.connection_arn
                )
                is not None,
                "delivery.connection_arn must be a CodeConnections connection ARN for a "
                "GitHub source",
            )
            _require(
                re.match(r"^[\w.-]+/[\w.-]+$", self.repository) is not None,
                f"delivery.repository must be owner/name, got {self.repository!r}",
            )
        _require(
            1 <= len(self.smoke_expect) <= 50 and all(0 <= d <= 9 for d in self.smoke_expect),
            "delivery.smoke_expect must list 1-50 digits (0-9): the labels of the first "
            "study-guide test samples the staging endpoint must answer",
        )


# EventBridge Scheduler, "Schedule types" (User Guide): rate(value unit), a positive integer and
# minute|minutes|hour|hours|day|days; cron(fields), six fields separated by white space, with
# "?" in day-of-month or day-of-week. at(...) is one-time: not a rhythm for scoring.
_RATE_RE = re.compile(r"^rate\(([1-9]\d*) (minute|minutes|hour|hours|day|days)\)$")
_CRON_RE = re.compile(r"^cron\((\S+( \S+){5})\)$")


def schedule_expression_problem(expression: str) -> str | None:
    """Why ``expression`` is not a recurring EventBridge Scheduler expression, or None."""
    if _RATE_RE.match(expression):
        return None
    cron = _CRON_RE.match(expression)
    if cron:
        fields_ = cron.group(1).split(" ")
        if "?" in (fields_[2], fields_[4]):
            return None
        return "a cron expression needs '?' in day-of-month or day-of-week"
    return "expected rate(<n> minute(s)|hour(s)|day(s)) or cron(<six fields>)"


@dataclass(frozen=True)
class BatchConfig:
    """The scoring pipeline (batch transform, ``infra/serving/batch.py``) on a schedule.

    ``schedule``: an EventBridge Scheduler expression that starts the scoring pipeline with the
    released XGBoost package over the curated ``scoring/`` prefix; empty: no schedule (started
    by hand with ``labctl batch transform``). Needs a release: none, no schedule."""

    schedule: str = ""

    def __post_init__(self) -> None:
        if self.schedule:
            problem = schedule_expression_problem(self.schedule)
            _require(
                problem is None,
                f"batch.schedule {self.schedule!r} is not a recurring EventBridge Scheduler "
                f"expression: {problem} (e.g. 'cron(0 2 * * ? *)' daily at 02:00 UTC, "
                "'rate(1 day)'), or '' for no schedule",
            )


@dataclass(frozen=True)
class BudgetConfig:
    monthly_limit_usd: int = 50
    alert_emails: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require(self.monthly_limit_usd > 0, "budget.monthly_limit_usd must be positive")
        for email in self.alert_emails:
            _require(
                re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email) is not None,
                f"budget.alert_emails: {email!r} is not an e-mail address",
            )


@dataclass(frozen=True)
class ExpiryConfig:
    """Lab endpoints bill every hour; the expiry reaper deletes forgotten ones.

    ``endpoint_hours`` > 0 tags each endpoint with its lifetime at deploy and deploys a
    scheduled function that deletes endpoints whose last deploy is older than that (an
    endpoint tagged ``keep`` is spared). 0 (prod-like): no expiry, no reaper."""

    endpoint_hours: int = 0
    max_deletes_per_run: int = 5
    dry_run: bool = False
    schedule_minutes: int = 60

    def __post_init__(self) -> None:
        _require(
            0 <= self.endpoint_hours <= 24 * 30,
            f"expiry.endpoint_hours must be 0 (never) to 720, got {self.endpoint_hours}",
        )
        _require(
            1 <= self.max_deletes_per_run <= 50,
            f"expiry.max_deletes_per_run must be 1-50, got {self.max_deletes_per_run}",
        )
        _require(
            5 <= self.schedule_minutes <= 1440,
            f"expiry.schedule_minutes must be 5-1440, got {self.schedule_minutes}",
        )


@dataclass(frozen=True)
class AccountsConfig:
    """Where each part runs (issue 17): tooling (lake, ingestion, training, registry, delivery),
    staging and production (serving). Empty means the profile's ``account``; absent, or all
    three equal, the platform is single-account and its templates do not change. The rules
    between them live in ``core/accounts.py``."""

    tooling: str = ""
    staging: str = ""
    production: str = ""

    def __post_init__(self) -> None:
        for name in ("tooling", "staging", "production"):
            value = getattr(self, name)
            _require(
                value == "" or re.match(r"^\d{12}$", value) is not None,
                f"accounts.{name} {value!r} must be a 12-digit AWS account id (or left out: "
                "the profile's account)",
            )


@dataclass(frozen=True)
class PlatformConfig:
    env_name: str
    account: str
    region: str
    retention: RetentionMode = "lab"
    network: NetworkConfig = field(default_factory=NetworkConfig)
    ingestion: IngestionConfig = field(default_factory=IngestionConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    serving: ServingConfig = field(default_factory=ServingConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    expiry: ExpiryConfig = field(default_factory=ExpiryConfig)
    tags: dict[str, str] = field(default_factory=dict)
    lake_admin_arns: tuple[str, ...] = ()
    raw_expiry_days: int = 30
    cdk_qualifier: str = "hnb659fds"
    profile: str = ""  # the config/<profile>.json it was loaded from (set by load_profile)
    accounts: AccountsConfig = field(default_factory=AccountsConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    # The Lambda concurrency quota the copy's accounts are assumed to have. Default: a new
    # account's (Lambda quotas: "New AWS accounts have reduced concurrency and memory quotas",
    # https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), which leaves
    # nothing to reserve: at least 100 stay unreserved (PutFunctionConcurrency,
    # https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html). Raise it
    # only for accounts whose quota (Service Quotas, "Concurrent executions") you have seen.
    lambda_concurrency_quota: int = NEW_ACCOUNT_LAMBDA_CONCURRENCY

    def __post_init__(self) -> None:
        _require(
            self.lambda_concurrency_quota >= 1,
            f"lambda_concurrency_quota must be the accounts' Lambda concurrency quota (>= 1, "
            f"a new account has {NEW_ACCOUNT_LAMBDA_CONCURRENCY}), got "
            f"{self.lambda_concurrency_quota}",
        )
        _require(
            re.match(r"^[a-z][a-z0-9-]{1,19}$", self.env_name) is not None,
            f"env_name {self.env_name!r} must be 2-20 lowercase letters, digits or hyphens, "
            "starting with a letter (it prefixes stack names)",
        )
        _require(
            re.match(r"^\d{12}$", self.account) is not None,
            f"account {self.account!r} must be a 12-digit AWS account id (the profile's "
            "account, or labctl --account 123456789012; cdk: -c account=123456789012)",
        )
        _require(
            re.match(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", self.region) is not None,
            f"region {self.region!r} is not an AWS region name such as us-east-1",
        )
        missing = [t for t in REQUIRED_TAGS if not self.tags.get(t)]
        _require(not missing, f"tags must set {', '.join(missing)} (cost allocation)")
        _require(
            self.tags.get("environment") == self.env_name,
            f"tags.environment ({self.tags.get('environment')!r}) must equal env_name "
            f"({self.env_name!r}) so costs are attributed to the right copy",
        )
        _require(
            1 <= self.raw_expiry_days <= 3650, "raw_expiry_days must be 1-3650 (lab mode only)"
        )
        for arn in self.lake_admin_arns:
            _require(
                re.match(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/.+$", arn) is not None,
                f"lake_admin_arns: {arn!r} is not an IAM role or user ARN",
            )
        for attr in ("pipeline_name", "model_package_group", "baseline_package_group"):
            # SageMaker pipeline and model package group names: at most 63 characters.
            _require(
                len(getattr(self, attr)) <= 63,
                f"{self.env_name}-{getattr(self.training, attr)} is longer than 63 characters: "
                f"shorten env_name or training.{attr}",
            )
        if self.network.mode == "isolated" and self.serving.kind == "serverless":
            # Serverless endpoints take no VpcConfig (SageMaker Serverless feature exclusions).
            raise ConfigError(
                "serverless endpoints cannot run in a VPC: set network.mode='lab' or "
                "serving.kind='real_time'"
            )
        if self.monitoring.engine == "model_monitor":
            _require(
                self.serving.kind not in ("multi_model", "serverless"),
                f"Model Monitor does not support {self.serving.kind} endpoints: set "
                "monitoring.engine='custom' (works on captured data of any kind) or 'none'",
            )
        if self.monitoring.explainability:
            # Model explainability monitoring: real-time endpoints, one model per endpoint
            # (Developer Guide, "Feature attribution drift for models in production"; Model
            # Monitor supports no multi-model endpoint; a multi-container endpoint holds two).
            _require(
                self.serving.kind == "real_time",
                f"monitoring.explainability needs a real-time single-model endpoint, not "
                f"{self.serving.kind}: set serving.kind='real_time' or "
                "monitoring.explainability=false",
            )
        if self.monitoring.engine != "none":
            _require(
                self.serving.kind != "serverless",
                "drift monitoring reads data capture, which serverless endpoints cannot "
                "write: set monitoring.engine='none' or serving.kind='real_time'",
            )
            _require(
                self.serving.data_capture,
                "drift monitoring needs serving.data_capture=true",
            )
        from core.accounts import check_accounts  # issue 17: the rules between accounts

        check_accounts(self)

    @property
    def destroyable(self) -> bool:
        return self.retention == "lab"

    @property
    def lake_database(self) -> str:
        """Glue database name (Glue names take no hyphens)."""
        return f"{self.env_name.replace('-', '_')}_lake"

    # Resources people and other systems address by name carry the environment, so two
    # profiles can share an account (training.* holds the base names).
    @property
    def pipeline_name(self) -> str:
        return f"{self.env_name}-{self.training.pipeline_name}"

    @property
    def model_package_group(self) -> str:
        return f"{self.env_name}-{self.training.model_package_group}"

    @property
    def baseline_package_group(self) -> str:
        return f"{self.env_name}-{self.training.baseline_package_group}"

    @property
    def endpoint_name(self) -> str:
        """Clients address the endpoint by name, so it is one of the few fixed names."""
        return f"{self.env_name}-digits"

    @property
    def staging_endpoint_name(self) -> str:
        return f"{self.env_name}-digits-staging"

    def stack_name(self, unit: str) -> str:
        return f"{self.env_name}-{unit}"

    @property
    def tooling_account(self) -> str:
        return self.accounts.tooling or self.account

    @property
    def staging_account(self) -> str:
        return self.accounts.staging or self.tooling_account

    @property
    def production_account(self) -> str:
        return self.accounts.production or self.tooling_account

    @property
    def multi_account(self) -> bool:
        """Serving runs outside the tooling account (``core/accounts.py``)."""
        return {self.staging_account, self.production_account} != {self.tooling_account}


def _build(cls: type, data: Any, path: str) -> Any:
    """Build a (nested) frozen dataclass from JSON, rejecting unknown keys by name."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'profile'} must be an object, got {type(data).__name__}")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(unknown)} in {path or 'profile'}; "
            f"expected some of {', '.join(sorted(known))}"
        )
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        hint = hints[name]
        where = f"{path}.{name}" if path else name
        if is_dataclass(hint):
            kwargs[name] = _build(hint, value, where)  # type: ignore[arg-type]
        else:
            kwargs[name] = _coerce(hint, value, where)
    try:
        return cls(**kwargs)
    except TypeError as err:  # a required field missing
        raise ConfigError(f"{path or 'profile'}: {err}") from err


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = get_origin(hint)
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise ConfigError(
                f"{where} must be one of {', '.join(map(repr, allowed))}, got {value!r}"
            )
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list")
        return tuple(value)
    if origin is dict:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ConfigError(f"{where} must be an object of strings")
        return dict(value)
    expected = {int: (int,), float: (int, float), str: (str,), bool: (bool,)}.get(hint)
    if expected is not None:
        if isinstance(value, bool) and hint is not bool:
            raise ConfigError(f"{where} must be a {hint.__name__}, got a boolean")
        if not isinstance(value, expected):
            raise ConfigError(f"{where} must be a {hint.__name__}, got {value!r}")
        return float(value) if hint is float else value
    return value


def config_from_dict(data: dict[str, Any]) -> PlatformConfig:
    result: PlatformConfig = _build(PlatformConfig, data, "")
    return result


def available_profiles() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def load_profile(name: str, overrides: dict[str, Any] | None = None) -> PlatformConfig:
    """Read ``config/<name>.json``, or ``name`` itself when it is the path of a JSON file
    (a profile of your own, outside the checkout), and apply top-level overrides (account,
    region). A file's profile name defaults to its stem."""
    given = Path(name).expanduser()
    path = given if name.endswith(".json") or os.sep in name else CONFIG_DIR / f"{name}.json"
    if not path.is_file():
        raise ConfigError(
            f"no profile {name!r}: choose one of {', '.join(available_profiles())} "
            f"(files in {CONFIG_DIR}) or give the path of a profile JSON file"
        )
    name = path.stem
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a profile is a JSON object, got {type(data).__name__}")
    data.setdefault("profile", name)
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = value
    return config_from_dict(data)
