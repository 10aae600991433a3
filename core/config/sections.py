"""The profile's sections that stand alone: network, ingestion, training, bias, monitoring,
delivery, batch, budget, expiry, audit, security and accounts, and ``ConfigError``, which every
rule raises.

The serving section is in ``serving.py``; the rules that need the whole profile in
``platform.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from model_code.events import SKEWED_DIGITS_SOURCE
from pipelines.data_quality_gate import GateLimits
from pipelines.tuning import FieldNames, TuningStrategy, tuning_problem

NetworkMode = Literal["isolated", "lab"]
StreamMode = Literal["on_demand", "provisioned"]
MonitoringEngine = Literal["none", "custom", "model_monitor"]
LabelsAccount = Literal["tooling", "production"]


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


# StoppingCondition.MaxRuntimeInSeconds: "The maximum value is 28 days" (API reference).
MAX_RUNTIME_SECONDS = 28 * 24 * 3600


def stopping_problem(spot: bool, max_runtime: int, max_wait: int) -> str | None:
    """Why these training stopping conditions cannot run, or None (the rule SageMaker applies
    at CreateTrainingJob / CreateHyperParameterTuningJob, checked at synth instead)."""
    if not 1 <= max_runtime <= MAX_RUNTIME_SECONDS:
        return (
            f"training.max_runtime_seconds must be 1-{MAX_RUNTIME_SECONDS} (28 days), "
            f"got {max_runtime}"
        )
    if spot and max_wait < max_runtime:
        return (
            f"training.max_wait_seconds ({max_wait}) must be >= training.max_runtime_seconds "
            f"({max_runtime}) for managed Spot training: it is the wait for Spot capacity plus "
            "the run time (StoppingCondition.MaxWaitTimeInSeconds); raise it or set "
            "training.spot=false"
        )
    return None


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
    # Managed Spot training for the training and tuning jobs (EnableManagedSpotTraining), with
    # checkpoints under the artifacts bucket's checkpoints/<pipeline>/ prefix. Off by default
    # (on demand); config/lab.json turns it on. Managed spot training, Developer Guide:
    # https://docs.aws.amazon.com/sagemaker/latest/dg/model-managed-spot-training.html
    spot: bool = False
    # StoppingCondition: MaxRuntimeInSeconds caps a job's run time (at most 28 days);
    # MaxWaitTimeInSeconds (Spot only) caps waiting for Spot capacity plus running and "must be
    # equal to or greater than MaxRuntimeInSeconds" (SageMaker API reference, StoppingCondition:
    # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StoppingCondition.html).
    max_runtime_seconds: int = 3600
    max_wait_seconds: int = 7200

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
        problem = stopping_problem(self.spot, self.max_runtime_seconds, self.max_wait_seconds)
        _require(problem is None, problem or "")


# Clarify's pre-training measures lie in [-1, 1] (CI: https://docs.aws.amazon.com/sagemaker/
# latest/dg/clarify-bias-metric-class-imbalance.html, DPL: .../clarify-data-bias-metric-true-
# label-imbalance.html); a bound is a limit on |value| inside that range.
BIAS_MEASURE_RANGE = 1.0


@dataclass(frozen=True)
class BiasConfig:
    """The pre-training bias gate (preprocess) and the per-group evaluation (evaluate).

    The facet is the events' ``source``: rows whose source is one of ``facet_values`` form
    facet *d*, every other row facet *a* (model_code/bias.py). Preprocess fails the run when
    |CI| > ``max_abs_ci`` or any class's |DPL| > ``max_abs_dpl``. The defaults pass the lab's
    Digits events (CI 0.35, max |DPL| 0.035: two scanner groups, one a third of the images)."""

    facet: Literal["source"] = "source"
    facet_values: tuple[str, ...] = (SKEWED_DIGITS_SOURCE,)
    max_abs_ci: float = 0.5
    max_abs_dpl: float = 0.1

    def __post_init__(self) -> None:
        _require(
            len(self.facet_values) >= 1 and all(v.strip() for v in self.facet_values),
            "bias.facet_values must list at least one non-empty source value (facet d)",
        )
        for attr in ("max_abs_ci", "max_abs_dpl"):
            value = getattr(self, attr)
            _require(
                0.0 <= value <= BIAS_MEASURE_RANGE,
                f"bias.{attr} must be within 0-{BIAS_MEASURE_RANGE:g} (the measure lies in "
                f"[-1, 1]; 1 never fails), got {value}",
            )


@dataclass(frozen=True)
class DataQualityConfig(GateLimits):
    """The data-quality gate before tuning (pipelines/data_quality_gate.py has the limits and
    their defaults, which the lab's Digits data holds): the Preprocess job checks them and
    fails the run on a violation, and the Training stack deploys them as a Glue Data Quality
    ruleset on the curated table."""

    def __post_init__(self) -> None:
        try:
            super().__post_init__()
        except (TypeError, ValueError) as err:
            raise ConfigError(f"data_quality: {err}") from err

    def gate(self) -> GateLimits:
        return GateLimits(**self.limits())


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
    # Where the quality job's labels arrive with separate accounts (docs/multi-account.md):
    # "tooling", the raw zone ingestion writes (events/*, read across accounts through the raw
    # bucket's and the lake key's policies), or "production", the LABELS_PREFIX of production's
    # capture bucket, which a labelling process in production writes in the raw zone's layout.
    labels_account: LabelsAccount = "tooling"

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
    """The scoring pipeline (batch transform, ``infra/scoring/construct.py``) on a schedule.

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


# The roles of the accounts block, which ``budget.account_limits_usd`` keys by.
ACCOUNT_ROLES = ("tooling", "staging", "production")


@dataclass(frozen=True)
class AccountLimits:
    """Each account's monthly budget with separate accounts (USD), by role; 0: not set.

    An AWS Budgets budget sees only the spend of the account it lives in, so each account of
    a three-account copy has its own, and their sum stays within ``monthly_limit_usd``.
    Staging and production sharing one account: that account's budget is the sum of both.
    The rules that need the accounts are ``check_accounts``'s (``core/config/platform.py``)."""

    tooling: int = 0
    staging: int = 0
    production: int = 0

    def __post_init__(self) -> None:
        for role in ACCOUNT_ROLES:
            _require(
                getattr(self, role) >= 0,
                f"budget.account_limits_usd.{role} must be a positive amount (USD/month), "
                f"got {getattr(self, role)}",
            )

    @property
    def is_set(self) -> bool:
        return any(getattr(self, role) for role in ACCOUNT_ROLES)


@dataclass(frozen=True)
class BudgetConfig:
    """``monthly_limit_usd``: the whole copy's ceiling (single-account: its one budget).
    ``account_limits_usd``: with separate accounts, each account's budget (required there)."""

    monthly_limit_usd: int = 50
    alert_emails: tuple[str, ...] = ()
    account_limits_usd: AccountLimits = field(default_factory=AccountLimits)

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
class AuditConfig:
    """The lake's audit trail (issue 26): a CloudTrail trail of management events and S3 data
    events on the lake's buckets, delivered to a KMS-encrypted, validated log bucket
    (``infra/data_lake/audit_trail.py``). Off by default (lab: ``labctl cost`` prints what
    turning it on costs); ``prod-like`` turns it on.

    ``assumed_data_events_per_month``: the S3 object calls on the lake buckets a month that
    ``labctl cost`` prices (data events bill per 100,000); an assumption, not a measurement:
    count a month's GetObject/PutObject calls on the lake and set it."""

    trail: bool = False
    assumed_data_events_per_month: int = 1_000_000

    def __post_init__(self) -> None:
        _require(
            0 <= self.assumed_data_events_per_month <= 10**12,
            "audit.assumed_data_events_per_month must be 0-10^12 (S3 object calls on the lake "
            f"buckets per month), got {self.assumed_data_events_per_month}",
        )


BOUNDARY_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:policy/([\w+=,.@-]+/)*[\w+=,.@-]{1,128}$"


@dataclass(frozen=True)
class SecurityConfig:
    """The permissions boundary on every role of the copy (issue 26): the most any role's
    policies can grant (IAM, "Permissions boundaries for IAM entities",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html).

    ``permissions_boundary``: ``"none"``; ``"project"``, the boundary this project writes
    (``infra/compliance/boundary.py``, one managed policy ``<env>-permissions-boundary`` per
    account); or the ARN of a managed policy the organisation provides (with separate accounts,
    the same path and name in each account, as StackSets deploy it: the ARN's account is
    replaced by each stack's).
    ``permissions_boundary_document``: for an organisation's ARN, a JSON file holding that
    policy's document, so ``labctl synth``'s rehearsal can evaluate identity ∩ boundary;
    without it the rehearsal reports every bounded role as unchecked (a relative path is read
    from ``config/``)."""

    permissions_boundary: str = "none"
    permissions_boundary_document: str = ""

    def __post_init__(self) -> None:
        value = self.permissions_boundary
        _require(
            value in ("none", "project") or re.match(BOUNDARY_ARN, value) is not None,
            "security.permissions_boundary must be 'none', 'project' or the ARN of a customer "
            f"managed policy (arn:aws:iam::123456789012:policy/NAME), got {value!r}",
        )
        _require(
            not self.permissions_boundary_document or value.startswith("arn:"),
            "security.permissions_boundary_document describes an organisation's boundary: set "
            "security.permissions_boundary to its ARN, or remove the document",
        )

    @property
    def bounded(self) -> bool:
        return self.permissions_boundary != "none"


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
