"""labctl deploy status: stages and approvals; endpoint rollouts and rollbacks (Stubber, moto)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from labctl.cli import main
from tests.ops.test_deploy_status import (
    FAILED,
    IN_SERVICE,
    PIPELINE,
    REGION,
    ROLLED_BACK,
    TOKEN,
    UPDATING,
)


def _stubbed(
    monkeypatch: pytest.MonkeyPatch,
    pipeline: dict[str, Any] | None,
    endpoint: dict[str, Any] | None,
) -> list[Stubber]:
    cp = boto3.client("codepipeline", region_name=REGION)
    sm = boto3.client("sagemaker", region_name=REGION)
    stubbers = [Stubber(cp), Stubber(sm)]
    if pipeline is not None:
        stubbers[0].add_response("get_pipeline_state", pipeline, {"name": "digits-delivery"})
    if endpoint is not None:
        stubbers[1].add_response("describe_endpoint", endpoint, {"EndpointName": "digits"})
    for stubber in stubbers:
        stubber.activate()
    clients = {"codepipeline": cp, "sagemaker": sm}
    monkeypatch.setattr(boto3, "client", lambda service, **_: clients[service])
    return stubbers


def _status(*extra: str) -> list[str]:
    return ["deploy", "status", "--region", REGION, *extra]


# ---------------------------------------------------------------- pure functions


# ---------------------------------------------------------------- CLI with Stubber


def test_cli_pipeline_and_healthy_endpoint(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    stubbers = _stubbed(monkeypatch, PIPELINE, IN_SERVICE)
    assert main(_status("--pipeline", "digits-delivery", "--endpoint", "digits")) == 0
    out = capsys.readouterr().out
    assert "Promote: InProgress  <-- APPROVAL PENDING (token 3f2a9c1e...)" in out
    assert f"--stage-name Approval --action-name Promote --token {TOKEN}" in out
    assert "Production: NotRun [inbound transition disabled: change freeze]" in out
    assert "endpoint digits: InService" in out
    assert "deployment: blue/green CANARY 30%" in out
    assert "AllTraffic: weight 1, instances 1" in out
    for stubber in stubbers:
        stubber.assert_no_pending_responses()


def test_cli_update_in_progress(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    _stubbed(monkeypatch, None, UPDATING)
    assert main(_status("--endpoint", "digits")) == 0
    out = capsys.readouterr().out
    assert out.startswith("UPDATE IN PROGRESS: digits-config-v1 -> digits-config-v2")
    assert (
        "AllTraffic: weight 0.3 -> 1, instances 1 x ml.m5.large [Baking: canary bake 600 s]"
    ) in out


def test_cli_rolled_back_update_exits_1(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    _stubbed(monkeypatch, PIPELINE, ROLLED_BACK)
    assert main(_status("--pipeline", "digits-delivery", "--endpoint", "digits")) == 1
    assert "ROLLED BACK: Alarm digits-5xx in ALARM" in capsys.readouterr().out


def test_cli_failed_endpoint_exits_1(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    _stubbed(monkeypatch, None, FAILED)
    assert main(_status("--endpoint", "digits")) == 1
    assert "FAILED: The primary container failed" in capsys.readouterr().out


def test_cli_missing_pipeline_exits_1(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    stubbers = _stubbed(monkeypatch, None, None)
    stubbers[0].add_client_error("get_pipeline_state", "PipelineNotFoundException", "not found")
    assert main(_status("--pipeline", "digits-delivery")) == 1
    assert "pipeline 'digits-delivery'" in capsys.readouterr().err


def test_cli_bad_args_exit_2() -> None:
    assert main(_status()) == 2
    assert main(_status("--pipeline", "p", "--expect-config", "c")) == 2


# ---------------------------------------------------------------- moto


@mock_aws
def test_cli_endpoint_from_moto(capsys) -> None:  # type: ignore[no-untyped-def]
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model(
        ModelName="digits-model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sm",
        PrimaryContainer={"Image": "xgb:3.0-5", "ModelDataUrl": "s3://b/model.tar.gz"},
    )
    sm.create_endpoint_config(
        EndpointConfigName="digits-config-v1",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "digits-model",
                "InitialInstanceCount": 2,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 1.0,
            }
        ],
    )
    sm.create_endpoint(EndpointName="digits", EndpointConfigName="digits-config-v1")
    assert main(_status("--endpoint", "digits")) == 0
    out = capsys.readouterr().out
    assert "endpoint digits: InService" in out and "config: digits-config-v1" in out
    code = main(_status("--endpoint", "digits", "--expect-config", "digits-config-v2"))
    assert code == 1
    assert "ROLLED BACK: serving digits-config-v1, expected digits-config-v2" in (
        capsys.readouterr().out
    )
