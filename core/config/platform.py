"""The whole profile (``PlatformConfig``): its sections, the rules between them, the rules
between its accounts (``check_accounts``, issue 17) and the names derived from ``env_name``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from core.config.sections import (
    ACCOUNT_ROLES,
    AccountsConfig,
    AuditConfig,
    BatchConfig,
    BiasConfig,
    BudgetConfig,
    ConfigError,
    DataQualityConfig,
    DeliveryConfig,
    ExpiryConfig,
    IngestionConfig,
    MonitoringConfig,
    NetworkConfig,
    SecurityConfig,
    TrainingConfig,
    _require,
)
from core.config.serving import ServingConfig

RetentionMode = Literal["lab", "retain"]

REQUIRED_TAGS = ("project", "environment", "owner", "cost-center")


# A new account's Lambda concurrency quota as seen in fresh accounts (the Lambda quotas page
# says only "reduced"); and what PutFunctionConcurrency keeps unreserved.
NEW_ACCOUNT_LAMBDA_CONCURRENCY = 10
LAMBDA_UNRESERVED_MINIMUM = 100


@dataclass(frozen=True)
class PlatformConfig:
    env_name: str
    account: str
    region: str
    retention: RetentionMode = "lab"
    network: NetworkConfig = field(default_factory=NetworkConfig)
    ingestion: IngestionConfig = field(default_factory=IngestionConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    data_quality: DataQualityConfig = field(default_factory=DataQualityConfig)
    bias: BiasConfig = field(default_factory=BiasConfig)
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
    audit: AuditConfig = field(default_factory=AuditConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
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
        check_accounts(self)  # issue 17: the rules between accounts

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

    @property
    def drift_alarm_name(self) -> str:
        """Fixed, so another account (tooling's retrain rule) can name the alarm's ARN."""
        return f"{self.endpoint_name}-drift"

    @property
    def quality_alarm_name(self) -> str:
        """Fixed, so another account (tooling's retrain rule) can name the alarm's ARN."""
        return f"{self.endpoint_name}-quality"

    @property
    def audit_trail_name(self) -> str:
        """Fixed: the log bucket's and the key's policies name the trail's ARN (aws:SourceArn)
        before the trail exists, and a generated name would make them depend on it."""
        return f"{self.env_name}-lake-audit"

    @property
    def permissions_boundary_name(self) -> str:
        """The project boundary's managed policy name (security.permissions_boundary='project'):
        fixed, so every stack of an account names it by ARN without importing it."""
        return f"{self.env_name}-permissions-boundary"

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


def check_accounts(config: PlatformConfig) -> None:
    """The rules of the ``accounts`` block that need the whole profile."""
    acc = config.accounts
    if acc.tooling and acc.tooling != config.account:
        raise ConfigError(
            f"accounts.tooling ({acc.tooling}) must equal account ({config.account}): the "
            "profile's account is where the tooling stacks deploy; drop accounts.tooling or "
            "pass -c account=" + acc.tooling
        )
    if not config.multi_account:
        if config.monitoring.labels_account == "production":
            raise ConfigError(
                "monitoring.labels_account='production' needs separate accounts (an accounts "
                "block): with one account the quality job reads labels from the raw zone; drop "
                "the setting or set it to 'tooling'"
            )
        if config.budget.account_limits_usd.is_set:
            raise ConfigError(
                "budget.account_limits_usd needs separate accounts (an accounts block): with "
                "one account the copy has one budget, budget.monthly_limit_usd; drop the setting"
            )
        return
    tooling = config.tooling_account
    if (config.staging_account == tooling) != (config.production_account == tooling):
        same = "staging" if config.staging_account == tooling else "production"
        raise ConfigError(
            f"accounts.{same} equals the tooling account while the other target does not: "
            "serving either stays in tooling (all three equal) or leaves it (staging and "
            "production outside tooling, the same account or two)"
        )
    check_account_budgets(config)


def check_account_budgets(config: PlatformConfig) -> None:
    """Separate accounts: each account has its own budget (``budget.account_limits_usd``, by
    role), because an AWS Budgets budget sees only its own account's spend: the whole
    ``monthly_limit_usd`` in each would let the copy spend that several times over before any
    alert. Required, never defaulted; every role > 0; the sum within ``monthly_limit_usd``.
    Staging and production sharing one account: its budget is the sum of the two."""
    budget = config.budget
    limits = budget.account_limits_usd
    ceiling = budget.monthly_limit_usd
    if not limits.is_set:
        count = len({config.tooling_account, config.staging_account, config.production_account})
        raise ConfigError(
            "separate accounts need budget.account_limits_usd: each account's budget sees only "
            f"that account's spend, so budget.monthly_limit_usd ({ceiling}) in each would let "
            f"the copy spend {count} times it before an alert; set "
            '{"tooling": N, "staging": N, "production": N} (USD/month, summing to at most '
            f"{ceiling}; `labctl cost --profile {config.profile or '<profile>'}` prints each "
            "account's idle cost)"
        )
    missing = [role for role in ACCOUNT_ROLES if getattr(limits, role) <= 0]
    if missing:
        raise ConfigError(
            f"budget.account_limits_usd sets no limit for {', '.join(missing)}: give each of "
            f"{', '.join(ACCOUNT_ROLES)} a positive amount (staging and production in one "
            "account: its budget is their sum)"
        )
    total = sum(getattr(limits, role) for role in ACCOUNT_ROLES)
    if total > ceiling:
        parts = " + ".join(f"{role} {getattr(limits, role)}" for role in ACCOUNT_ROLES)
        raise ConfigError(
            f"budget.account_limits_usd sum to {total} ({parts}), above "
            f"budget.monthly_limit_usd ({ceiling}), the copy's ceiling: lower them or raise "
            "budget.monthly_limit_usd"
        )
