"""labctl model card --local and the card `labctl model approve` records in SageMaker."""

from __future__ import annotations

import argparse
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from labctl.cli import main
from labctl.model import run
from ops.model_card import record_card
from tests.core.test_model_card import _metrics

GROUP = "digits-xgboost"


EVALUATION = {
    "xgboost": _metrics(0.9704),
    "baseline": _metrics(0.9),
    "champion": None,
    "gate": {"champion_available": False, "champion_margin": 0.005, "champion_bar": 0.0},
    "test_rows": 270,
}


def _lab(workdir: Path) -> None:
    """A tiny local run: a registry entry as the register step writes it, and its report."""
    report = workdir / "pipelines" / "run1" / "evaluation" / "evaluation.json"
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps(EVALUATION))
    entry = {
        "version": 1,
        "arn": f"arn:aws:sagemaker:local:000000000000:model-package/{GROUP}/1",
        "approval_status": "PendingManualApproval",
        "created": "2026-12-07T10:00:00+00:00",
        "evaluation": "pipelines/run1/evaluation/evaluation.json",
        "training_data": ["s3://art/p/Preprocess/train"],
        "approval_history": [
            {
                "status": "PendingManualApproval",
                "time": "2026-12-07T10:00:00+00:00",
                "by": "pipeline",
            }
        ],
    }
    path = workdir / "registry" / "registry.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"groups": {GROUP: {"versions": [entry]}}}))


def test_local_card_prints_the_sections_and_the_approval(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    _lab(tmp_path)
    workdir = ["--local", "--workdir", str(tmp_path)]
    assert main(["model", "approve", *workdir, "--description", "gate passed"]) == 0
    capsys.readouterr()
    assert main(["model", "card", *workdir]) == 0
    out = capsys.readouterr().out
    for heading in (
        "Intended use",
        "Training data",
        "Evaluation",
        "Champion it beat",
        "Bias",
        "Risk rating",
        "Approval history",
    ):
        assert f"## {heading}" in out
    assert "accuracy: 0.9704" in out
    assert "s3://art/p/Preprocess/train" in out
    assert "bias: not computed" in out
    assert "no champion" in out
    # the history: registration, then this approval with its description
    assert "PendingManualApproval by pipeline" in out
    assert "Approved by labctl model (gate passed)" in out


def test_local_card_json_is_the_card_content(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    _lab(tmp_path)
    assert main(["model", "card", "--local", "--workdir", str(tmp_path), "--format", "json"]) == 0
    content = json.loads(capsys.readouterr().out)
    assert content["model_package_details"]["model_package_arn"].endswith(f"/{GROUP}/1")
    quality = content["evaluation_details"][0]["metric_groups"][0]["metric_data"]
    assert quality[0] == {"name": "accuracy", "type": "number", "value": 0.9704, "notes": ANY}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--version", "7"], "no version 7"),
        (["--group", "nope"], "no group 'nope'"),
        ([], None),  # no --local
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path: Path, capsys, argv, message) -> None:  # type: ignore[no-untyped-def]
    _lab(tmp_path)
    local = ["--local"] if message else []
    code = main(["model", "card", *local, "--workdir", str(tmp_path), *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    if message:
        assert message in err


ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/lab-digits-xgboost/3"
EXECUTION = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/lab-digits/execution/x1"
METRICS = "s3://art/lab-digits/Evaluate/x1/evaluation/xgboost_metrics.json"


def _package() -> dict:
    return {
        "ModelPackageName": "lab-digits-xgboost",
        "ModelPackageGroupName": "lab-digits-xgboost",
        "ModelPackageVersion": 3,
        "ModelPackageArn": ARN,
        "ModelApprovalStatus": "Approved",
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": []},
        "CreationTime": datetime(2026, 12, 1, 10, tzinfo=UTC),
        "InferenceSpecification": {
            "Containers": [{"Image": "xgb:3.0-5", "ModelDataUrl": "s3://art/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelMetrics": {
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": METRICS}}
        },
        "MetadataProperties": {"GeneratedBy": EXECUTION},
    }


def test_approve_creates_a_card_naming_the_versions_arn() -> None:
    """The real service model validates every request's shape (Stubber)."""
    sm = boto3.client("sagemaker", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    sent: dict = {}
    sm.meta.events.register(
        "provide-client-params.sagemaker.CreateModelCard",
        lambda params, **_: sent.update(params),
    )
    body = json.dumps(EVALUATION).encode()
    with Stubber(sm) as stub, Stubber(s3) as s3_stub:
        stub.add_response(
            "list_model_packages",
            {
                "ModelPackageSummaryList": [
                    {
                        "ModelPackageGroupName": "lab-digits-xgboost",
                        "ModelPackageVersion": 3,
                        "ModelPackageArn": ARN,
                        "CreationTime": datetime(2026, 12, 1, tzinfo=UTC),
                        "ModelPackageStatus": "Completed",
                    }
                ]
            },
            {
                "ModelPackageGroupName": "lab-digits-xgboost",
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
                "MaxResults": 1,
            },
        )
        stub.add_response(
            "update_model_package",
            {"ModelPackageArn": ARN},
            {"ModelPackageArn": ARN, "ModelApprovalStatus": "Approved"},
        )
        stub.add_response("describe_model_package", _package(), {"ModelPackageName": ARN})
        stub.add_client_error(
            "describe_model_card",
            "ResourceNotFound",
            expected_params={"ModelCardName": "lab-digits-xgboost-v3"},
        )
        s3_stub.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(body), len(body))},
            {"Bucket": "art", "Key": "lab-digits/Evaluate/x1/evaluation/evaluation.json"},
        )
        stub.add_response(
            "list_pipeline_execution_steps",
            {
                "PipelineExecutionSteps": [
                    {
                        "StepName": "Preprocess",
                        "Metadata": {
                            "ProcessingJob": {
                                "Arn": "arn:aws:sagemaker:us-east-1:123456789012:"
                                "processing-job/pipelines-x1-preprocess"
                            }
                        },
                    }
                ]
            },
            {"PipelineExecutionArn": EXECUTION},
        )
        stub.add_response(
            "describe_processing_job",
            {
                "ProcessingJobName": "pipelines-x1-preprocess",
                "ProcessingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:processing-job/p",
                "ProcessingJobStatus": "Completed",
                "CreationTime": datetime(2026, 12, 1, tzinfo=UTC),
                "ProcessingResources": {
                    "ClusterConfig": {
                        "InstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                        "VolumeSizeInGB": 30,
                    }
                },
                "AppSpecification": {"ImageUri": "sk"},
                "ProcessingOutputConfig": {
                    "Outputs": [
                        {
                            "OutputName": n,
                            "S3Output": {
                                "S3Uri": f"s3://art/lab-digits/Preprocess/{n}",
                                "LocalPath": f"/opt/ml/processing/output/{n}",
                                "S3UploadMode": "EndOfJob",
                            },
                        }
                        for n in ("train", "validation", "test")
                    ]
                },
            },
            {"ProcessingJobName": "pipelines-x1-preprocess"},
        )
        stub.add_response(
            "create_model_card",
            {
                "ModelCardArn": "arn:aws:sagemaker:us-east-1:123456789012:model-card/"
                "lab-digits-xgboost-v3"
            },
            {"ModelCardName": "lab-digits-xgboost-v3", "Content": ANY, "ModelCardStatus": "Draft"},
        )
        args = argparse.Namespace(
            model_command="approve",
            version=None,
            group="lab-digits-xgboost",
            baseline=False,
            both=False,
            local=False,
            description=None,
            profile="lab",
            region="us-east-1",
            workdir=".",
        )
        assert run(args, client=sm, s3=s3) == 0
        stub.assert_no_pending_responses()
        s3_stub.assert_no_pending_responses()

    content = json.loads(sent["Content"])
    assert content["model_package_details"]["model_package_arn"] == ARN
    assert content["training_details"]["training_job_details"]["training_datasets"] == [
        "s3://art/lab-digits/Preprocess/train",
        "s3://art/lab-digits/Preprocess/validation",
    ]
    history = content["additional_information"]["custom_details"]
    assert history["approval_1"] == "2026-12-01T10:00:00+00:00 registered by pipeline"
    assert history["approval_2"].endswith("Approved by labctl model")
    assert content["evaluation_details"][0]["metric_groups"][0]["metric_data"][0]["value"] == (
        0.9704
    )


def test_a_second_change_updates_the_card_and_keeps_the_history() -> None:
    sm = boto3.client("sagemaker", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    sent: dict = {}
    sm.meta.events.register(
        "provide-client-params.sagemaker.UpdateModelCard", lambda params, **_: sent.update(params)
    )
    package = {k: v for k, v in _package().items() if k != "MetadataProperties"}
    old = {
        "additional_information": {
            "custom_details": {
                "approval_1": "t0 registered by pipeline",
                "approval_2": "t1 Approved by labctl model",
            }
        }
    }
    with Stubber(sm) as stub, Stubber(s3) as s3_stub:
        stub.add_response("describe_model_package", package, {"ModelPackageName": ARN})
        stub.add_response(
            "describe_model_card",
            {
                "ModelCardArn": "arn:aws:sagemaker:us-east-1:123456789012:model-card/c",
                "ModelCardName": "lab-digits-xgboost-v3",
                "ModelCardVersion": 1,
                "Content": json.dumps(old),
                "CreatedBy": {},
                "ModelCardStatus": "Draft",
                "CreationTime": datetime(2026, 12, 1, tzinfo=UTC),
            },
            {"ModelCardName": "lab-digits-xgboost-v3"},
        )
        s3_stub.add_client_error("get_object", "NoSuchKey")
        # no GeneratedBy: the execution comes from the metrics URI; its steps are unreadable
        stub.add_client_error(
            "list_pipeline_execution_steps",
            "ResourceNotFound",
            expected_params={"PipelineExecutionArn": EXECUTION},
        )
        stub.add_response(
            "update_model_card",
            {"ModelCardArn": "arn:aws:sagemaker:us-east-1:123456789012:model-card/c"},
            {"ModelCardName": "lab-digits-xgboost-v3", "Content": ANY},
        )
        assert record_card(sm, s3, ARN, "Rejected", "drifted") == "lab-digits-xgboost-v3"
        stub.assert_no_pending_responses()
    content = json.loads(sent["Content"])
    assert content["training_details"] == {"training_observations": "training data: not recorded"}
    history = content["additional_information"]["custom_details"]
    assert history["approval_1"] == "t0 registered by pipeline"
    assert history["approval_2"] == "t1 Approved by labctl model"
    assert history["approval_3"].endswith("Rejected by labctl model (drifted)")


def test_the_execution_is_read_from_the_metrics_uri_without_generated_by() -> None:
    from ops.model_card import _execution_of

    assert _execution_of(ARN, METRICS) == EXECUTION
    assert _execution_of(ARN, "s3://b/elsewhere/metrics.json") == ""


def test_a_card_that_cannot_be_written_says_the_status_stands() -> None:
    from ops.errors import OperationFailed

    sm = boto3.client("sagemaker", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    package = {
        k: v for k, v in _package().items() if k not in ("MetadataProperties", "ModelMetrics")
    }
    with Stubber(sm) as stub, Stubber(s3):
        stub.add_response("describe_model_package", package, {"ModelPackageName": ARN})
        stub.add_client_error("describe_model_card", "ResourceNotFound")
        stub.add_client_error("create_model_card", "AccessDeniedException")
        with pytest.raises(OperationFailed, match="is Approved, but its model card"):
            record_card(sm, s3, ARN, "Approved", None)
