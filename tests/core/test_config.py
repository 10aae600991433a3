"""Configuration: profiles load, and every invalid combination fails with an actionable message."""

from __future__ import annotations

import dataclasses
import json

import pytest

from core.config import (
    ConfigError,
    SecurityConfig,
    available_profiles,
    config_from_dict,
    load_profile,
)


def _lab(**changes: object) -> dict:
    data = json.loads((load_profile.__globals__["CONFIG_DIR"] / "lab.json").read_text())
    for dotted, value in changes.items():
        target = data
        *path, last = dotted.split("__")
        for key in path:
            target = target.setdefault(key, {})
        target[last] = value
    return data


def test_shipped_profiles_load() -> None:
    """The README's profiles ("Configuration profiles") exist and are valid as shipped."""
    assert {"lab", "prod-like"} <= set(available_profiles())
    lab, prod = load_profile("lab"), load_profile("prod-like")
    assert lab.retention == "lab" and lab.network.mode == "lab"
    assert prod.retention == "retain" and prod.network.mode == "isolated"


def test_profiles_assume_a_new_accounts_lambda_quota_unless_told() -> None:
    """A fresh account's quota is 10 (Lambda quotas: new accounts have reduced concurrency)."""
    assert load_profile("lab").lambda_concurrency_quota == 10
    assert config_from_dict(_lab(lambda_concurrency_quota=1000)).lambda_concurrency_quota == 1000


def test_account_override_applies() -> None:
    assert load_profile("lab", {"account": "123456789012"}).account == "123456789012"


def test_unknown_profile_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="choose one of .*lab"):
        load_profile("nope")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"account": "12345"}, "12-digit AWS account id"),
        ({"region": "mars-1"}, "not an AWS region"),
        ({"env_name": "Lab_1"}, "lowercase letters"),
        ({"retention": "forever"}, "retention must be one of 'lab', 'retain'"),
        ({"network__mode": "open"}, "network.mode must be one of"),
        ({"ingestion__retention_hours": 24}, "retention_hours must be 168-8760"),
        ({"ingestion__buffer_size_mib": 500}, "buffer_size_mib must be 1-128"),
        ({"serving__guardrail__canary_percent": 60}, "canary_percent must be 1-50"),
        ({"serving__guardrail__linear_step_percent": 5}, "linear_step_percent must be 10-50"),
        ({"serving__guardrail__bake_seconds": 4000}, "bake_seconds must be 0-3600"),
        ({"training__max_parallel_tuning_jobs": 30}, "max_parallel_tuning_jobs"),
        ({"training__accuracy_threshold": 1.5}, "accuracy_threshold"),
        ({"tags": {"project": "x", "environment": "lab"}}, "tags must set owner, cost-center"),
        ({"tags__environment": "prod"}, "must equal env_name"),
        ({"budget__alert_emails": ["not-an-email"]}, "is not an e-mail address"),
        ({"surprise": 1}, "unknown key\\(s\\) surprise"),
        ({"serving__min_instances": "2"}, "serving.min_instances must be a int"),
        ({"lake_admin_arns": ["arn:aws:iam::1:root"]}, "not an IAM role or user ARN"),
        ({"lambda_concurrency_quota": 0}, "lambda_concurrency_quota must be the accounts'"),
        ({"bias__max_abs_ci": 1.5}, r"bias.max_abs_ci must be within 0-1 \(the measure"),
        ({"bias__max_abs_dpl": -0.1}, "bias.max_abs_dpl must be within 0-1"),
        ({"bias__facet_values": []}, "bias.facet_values must list at least one"),
        ({"bias__facet_values": [" "]}, "bias.facet_values must list at least one"),
        ({"bias__facet": "label"}, "bias.facet must be one of 'source'"),
    ],
)
def test_invalid_values_fail_with_actionable_message(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_dict(_lab(**changes))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"serving__kind": "serverless", "monitoring__engine": "none"},
            "serverless endpoints cannot capture data",
        ),
        (
            {
                "serving__kind": "serverless",
                "serving__data_capture": False,
                "serving__guardrail__mode": "canary",
                "monitoring__engine": "none",
            },
            "only support all-at-once",
        ),
        (
            {
                "serving__kind": "serverless",
                "serving__data_capture": False,
                "serving__guardrail__mode": "all_at_once",
                "monitoring__engine": "none",
                "network__mode": "isolated",
            },
            "serverless endpoints cannot run in a VPC",
        ),
        (
            {
                "serving__kind": "multi_model",
                "monitoring__engine": "model_monitor",
                # Model Monitor also needs its baseline; given, so the kind check is reached
                "monitoring__model_monitor_baseline_uri": "s3://bucket/baseline",
            },
            "Model Monitor does not support multi_model",
        ),
        ({"serving__data_capture": False}, "drift monitoring needs serving.data_capture"),
    ],
)
def test_invalid_combinations_fail_at_synth(changes: dict, message: str) -> None:
    """Combinations AWS would reject at deploy time are refused before anything is sent."""
    with pytest.raises(ConfigError, match=message):
        config_from_dict(_lab(**changes))


def test_valid_serverless_profile_is_accepted() -> None:
    config = config_from_dict(
        _lab(
            serving__kind="serverless",
            serving__data_capture=False,
            serving__guardrail__mode="all_at_once",
            monitoring__engine="none",
        )
    )
    assert config.serving.kind == "serverless"


@pytest.mark.parametrize(
    ("mode", "percent", "instances", "message"),
    [
        # One instance cannot be split: SageMaker has no canary or linear step on it.
        ("canary", 30, 1, "needs at least 2 instances.*cannot be split"),
        ("linear", 50, 1, "needs at least 2 instances.*cannot be split"),
        # 20 % of 2 instances is 0.4: no whole instance (hand computation).
        ("linear", 20, 2, "20 % linear step of 2 instances is 0 whole instance.*at least 50 %"),
        # 30 % of 3 instances is 0.9: no whole instance; 34 % would be 1.02.
        ("canary", 30, 3, "30 % canary of 3 instances is 0 whole.*at least 34 %"),
    ],
)
def test_guardrail_steps_are_whole_instances_of_the_variant(
    mode: str, percent: int, instances: int, message: str
) -> None:
    """CanarySize / LinearStepSize are percentages of the variant's instance count; a step
    that rounds to no instance is refused at synth with what to change."""
    key = "canary_percent" if mode == "canary" else "linear_step_percent"
    changes = {
        "serving__guardrail__mode": mode,
        f"serving__guardrail__{key}": percent,
        "serving__min_instances": instances,
    }
    with pytest.raises(ConfigError, match=message):
        config_from_dict(_lab(**changes))


@pytest.mark.parametrize(
    ("mode", "percent", "instances"),
    [("canary", 50, 2), ("linear", 50, 2), ("canary", 30, 4), ("linear", 10, 10)],
)
def test_guardrail_steps_of_at_least_one_instance_are_accepted(
    mode: str, percent: int, instances: int
) -> None:
    key = "canary_percent" if mode == "canary" else "linear_step_percent"
    config = config_from_dict(
        _lab(
            serving__guardrail__mode=mode,
            **{f"serving__guardrail__{key}": percent},
            serving__min_instances=instances,
        )
    )
    assert config.serving.guardrail.mode == mode


def test_staging_is_one_instance_all_at_once_whatever_production_uses() -> None:
    prod = load_profile("prod-like").serving
    assert prod.guardrail.mode == "linear" and prod.min_instances == 2
    staging = prod.for_staging()
    assert (staging.min_instances, staging.max_instances) == (1, 1)
    assert staging.guardrail.mode == "all_at_once"
    assert staging.guardrail.bake_seconds == prod.guardrail.bake_seconds


def test_addressed_names_carry_the_environment_so_profiles_can_share_an_account() -> None:
    lab, prod = load_profile("lab"), load_profile("prod-like")
    assert (lab.pipeline_name, lab.model_package_group, lab.baseline_package_group) == (
        "lab-digits-training",
        "lab-digits-xgboost",
        "lab-digits-baseline",
    )
    assert prod.model_package_group == "prodlike-digits-xgboost"
    names = {
        n
        for c in (lab, prod)
        for n in (c.pipeline_name, c.model_package_group, c.baseline_package_group)
    }
    assert len(names) == 6  # no collision between the two shipped profiles


def test_env_prefixed_names_longer_than_sagemaker_allows_are_refused() -> None:
    with pytest.raises(ConfigError, match="longer than 63 characters: shorten env_name"):
        config_from_dict(_lab(training__pipeline_name="p" * 60))


# -- security.permissions_boundary (issue 26) ----------------------------------------------------


def test_an_organisation_boundary_document_is_keyed_by_each_accounts_arn(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from core.accounts import boundary_documents

    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}]}
    (tmp_path / "org.json").write_text(json.dumps(doc))
    base = load_profile("multi-account")
    config = dataclasses.replace(
        base,
        security=SecurityConfig(
            permissions_boundary="arn:aws:iam::999999999999:policy/org/Boundary",
            permissions_boundary_document=str(tmp_path / "org.json"),
        ),
    )
    assert boundary_documents(config) == {
        f"arn:aws:iam::{a}:policy/org/Boundary": doc
        for a in ("111111111111", "333333333333", "444444444444")
    }
    assert boundary_documents(load_profile("prod-like")) == {}  # the project's: in templates


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "cannot read"), ('{"Version": "2012-10-17"}', "not an IAM policy document")],
)
def test_an_unreadable_boundary_document_is_refused_by_name(tmp_path, content, message) -> None:  # type: ignore[no-untyped-def]
    from core.accounts import boundary_documents

    (tmp_path / "org.json").write_text(content)
    config = dataclasses.replace(
        load_profile("lab"),
        security=SecurityConfig(
            permissions_boundary="arn:aws:iam::999999999999:policy/B",
            permissions_boundary_document=str(tmp_path / "org.json"),
        ),
    )
    with pytest.raises(ConfigError, match=message):
        boundary_documents(config)
