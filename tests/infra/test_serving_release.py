"""Serving needs only the models its kind hosts: the baseline for multi_container alone."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from core.config import load_profile
from core.release import Release
from infra.platform import EXAMPLE_RELEASE
from infra.stacks.serving_stack import ServingStack

XGBOOST_ONLY = dataclasses.replace(Release.from_file(EXAMPLE_RELEASE), baseline=None)


def _stack(kind: str, release: Release, outdir: Path) -> cdk.Stack:
    lab = load_profile("lab")
    config = dataclasses.replace(lab, serving=dataclasses.replace(lab.serving, kind=kind))
    app = cdk.App(outdir=str(outdir))
    env = cdk.Environment(account=config.account, region=config.region)
    topic = sns.Topic.from_topic_arn(
        cdk.Stack(app, "Alerts", env=env), "Topic", "arn:aws:sns:us-east-1:111111111111:a"
    )
    return ServingStack(
        app,
        "Serving",
        config=config,
        serving=config.serving,
        endpoint_name=config.endpoint_name,
        release=release,
        alert_topic=topic,
        network=None,
        env=env,
    )


def test_real_time_deploys_without_a_baseline_and_pulls_only_the_xgboost_image(
    tmp_path: Path,
) -> None:
    template = Template.from_stack(_stack("real_time", XGBOOST_ONLY, tmp_path))
    text = json.dumps(template.to_json())
    assert "digits-baseline" not in text
    # config/examples/release.json: the XGBoost image is sagemaker-xgboost, the baseline's
    # sagemaker-scikit-learn; the hosting role may pull the first only.
    assert "repository/sagemaker-xgboost" in text
    assert "sagemaker-scikit-learn" not in text


def test_multi_container_without_a_baseline_fails_at_synth_naming_what_to_approve(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match="hosts xgboost and baseline.*has no baseline.*--baseline"):
        _stack("multi_container", XGBOOST_ONLY, tmp_path)
