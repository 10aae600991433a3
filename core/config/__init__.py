"""Typed, validated configuration: one frozen object per lab profile.

Profiles live in ``config/<name>.json`` and are selected with ``-c profile=NAME``. Every
invalid combination raises ``ConfigError`` at synth, before anything reaches AWS, with a
message that says what to change. Constructs receive these objects, never raw dicts.
"""

from __future__ import annotations

from core.config.load import CONFIG_DIR, available_profiles, config_from_dict, load_profile
from core.config.platform import (
    LAMBDA_UNRESERVED_MINIMUM,
    NEW_ACCOUNT_LAMBDA_CONCURRENCY,
    REQUIRED_TAGS,
    PlatformConfig,
    RetentionMode,
    check_accounts,
)
from core.config.sections import (
    ACCOUNT_ROLES,
    AccountLimits,
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
    MonitoringEngine,
    NetworkConfig,
    NetworkMode,
    SecurityConfig,
    StreamMode,
    TrainingConfig,
    schedule_expression_problem,
)
from core.config.serving import (
    SERVING_KINDS,
    AsyncInferenceConfig,
    GuardrailConfig,
    GuardrailMode,
    ServingConfig,
    ServingKind,
    ShadowConfig,
    async_problems,
    guardrail_step_instances,
    guardrail_step_problem,
)

__all__ = [
    "ACCOUNT_ROLES",
    "AccountLimits",
    "CONFIG_DIR",
    "LAMBDA_UNRESERVED_MINIMUM",
    "NEW_ACCOUNT_LAMBDA_CONCURRENCY",
    "REQUIRED_TAGS",
    "SERVING_KINDS",
    "AccountsConfig",
    "AsyncInferenceConfig",
    "AuditConfig",
    "BatchConfig",
    "BiasConfig",
    "BudgetConfig",
    "ConfigError",
    "DataQualityConfig",
    "DeliveryConfig",
    "ExpiryConfig",
    "GuardrailConfig",
    "GuardrailMode",
    "IngestionConfig",
    "MonitoringConfig",
    "MonitoringEngine",
    "NetworkConfig",
    "NetworkMode",
    "PlatformConfig",
    "RetentionMode",
    "SecurityConfig",
    "ServingConfig",
    "ServingKind",
    "ShadowConfig",
    "StreamMode",
    "TrainingConfig",
    "async_problems",
    "available_profiles",
    "check_accounts",
    "config_from_dict",
    "guardrail_step_instances",
    "guardrail_step_problem",
    "load_profile",
    "schedule_expression_problem",
]
