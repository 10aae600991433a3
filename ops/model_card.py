"""The model card of a registered version in SageMaker: ``labctl model approve`` / ``reject``
create it (CreateModelCard) or add the status change to it (UpdateModelCard), with content
from core/model_card.py built from what the release flow sees:

- DescribeModelPackage: group, version, status, artifact, image, and the ModelQuality
  statistics URI; evaluation.json is the file beside it (model_code/evaluate.py writes both
  into the execution's own evaluation folder);
- the training data: the pipeline execution that generated the package
  (MetadataProperties.GeneratedBy, else the execution id in the metrics URI) -> its
  Preprocess step's processing job -> that job's ``manifest``, ``train`` and ``validation``
  outputs;
- the approval history: the existing card's history plus this change (SageMaker keeps each
  UpdateModelCard as a new card version as well).

The caller's credentials need sagemaker:CreateModelCard, UpdateModelCard, DescribeModelCard,
DescribeModelPackage, ListPipelineExecutionSteps, DescribeProcessingJob and s3:GetObject on the
evaluation report (an operator's, not a deployed role's: no stack calls these).
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelCard.html
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateModelCard.html
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from core.model_card import ApprovalChange, CardFacts, card_content, card_name
from ops.errors import OperationFailed

CARD_STATUS = "Draft"  # a new card's ModelCardStatus; its review is the organisation's


def _read_s3_json(s3: Any, uri: str) -> Any:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _training_data(sagemaker: Any, execution_arn: str) -> list[str]:
    """The Preprocess job's manifest/train/validation outputs of ``execution_arn``."""
    steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=execution_arn)
    for step in steps.get("PipelineExecutionSteps", []):
        if step.get("StepName") != "Preprocess":
            continue
        job_arn = step.get("Metadata", {}).get("ProcessingJob", {}).get("Arn", "")
        if not job_arn:
            return []
        job = sagemaker.describe_processing_job(ProcessingJobName=job_arn.rsplit("/", 1)[-1])
        outputs = {
            o["OutputName"]: o.get("S3Output", {}).get("S3Uri", "")
            for o in job.get("ProcessingOutputConfig", {}).get("Outputs", [])
        }
        return [outputs[n] for n in ("manifest", "train", "validation") if outputs.get(n)]
    return []


def _history(sagemaker: Any, name: str) -> list[ApprovalChange] | None:
    """The approval history of the existing card ``name``; None when there is no card."""
    from botocore.exceptions import ClientError

    try:
        card = sagemaker.describe_model_card(ModelCardName=name)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ResourceNotFound":
            return None
        raise
    try:
        custom = json.loads(card.get("Content") or "{}")["additional_information"]["custom_details"]
    except (KeyError, TypeError, ValueError):
        return []
    ordered = sorted(
        (int(k.split("_")[1]), v) for k, v in custom.items() if k.startswith("approval_")
    )
    return [ApprovalChange(status=line) for _, line in ordered]


def _execution_of(package_arn: str, metrics_uri: str) -> str:
    """The pipeline execution ARN a metrics URI names: the register step attaches
    ``<artifacts>/<pipeline>/Evaluate/<execution id>/evaluation/<model>_metrics.json``
    (pipelines/training_pipeline.py), and the package ARN gives region and account."""
    parts = metrics_uri.split("/")
    if "Evaluate" not in parts:
        return ""
    at = parts.index("Evaluate")
    if at < 1 or at + 1 >= len(parts):
        return ""
    fields = package_arn.split(":")
    if len(fields) < 6:
        return ""
    partition, region, account = fields[1], fields[3], fields[4]
    pipeline, execution_id = parts[at - 1], parts[at + 1]
    return (
        f"arn:{partition}:sagemaker:{region}:{account}:pipeline/{pipeline}/execution/{execution_id}"
    )


def cloud_facts(
    sagemaker: Any, s3: Any, package: dict[str, Any], history: list[ApprovalChange]
) -> CardFacts:
    """CardFacts of a described package (unreadable evaluation or lineage: left out)."""
    metrics_uri = (
        package.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri")
        or ""
    )
    evaluation, evaluation_uri = None, ""
    if metrics_uri.startswith("s3://"):
        evaluation_uri = metrics_uri.rsplit("/", 1)[0] + "/evaluation.json"
        try:
            evaluation = _read_s3_json(s3, evaluation_uri)
        except Exception:  # noqa: BLE001  an unreadable report is "no report" on the card
            evaluation = None
    execution = package.get("MetadataProperties", {}).get("GeneratedBy", "") or _execution_of(
        package["ModelPackageArn"], metrics_uri
    )
    training: list[str] = []
    if ":pipeline/" in execution and "/execution/" in execution:
        from botocore.exceptions import ClientError

        try:
            training = _training_data(sagemaker, execution)
        except ClientError:  # an expired or unreadable execution: "not recorded" on the card
            training = []
    container = (package.get("InferenceSpecification", {}).get("Containers") or [{}])[0]
    group = package["ModelPackageGroupName"]
    return CardFacts(
        package_arn=package["ModelPackageArn"],
        group=group,
        version=int(package["ModelPackageVersion"]),
        approval_status=str(package.get("ModelApprovalStatus")),
        evaluation=evaluation,
        evaluation_uri=evaluation_uri,
        model_data_url=container.get("ModelDataUrl", ""),
        image=container.get("Image", ""),
        training_data=tuple(training),
        approval_history=tuple(history),
        pipeline_execution=execution,
        model="baseline" if metrics_uri.endswith("/baseline_metrics.json") else "xgboost",
    )


def record_card(
    sagemaker: Any, s3: Any, package_arn: str, status: str, description: str | None
) -> str:
    """Create the package's card, or add this status change to it; returns the card name."""
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    name = card_name(package["ModelPackageGroupName"], int(package["ModelPackageVersion"]))
    history = _history(sagemaker, name)
    exists = history is not None
    if not exists:
        created = package.get("CreationTime")
        history = [
            ApprovalChange(
                status="registered",
                time=created.isoformat(timespec="seconds") if created else "",
                by="pipeline",
            )
        ]
    assert history is not None
    history.append(
        ApprovalChange(
            status=status,
            time=datetime.now(UTC).isoformat(timespec="seconds"),
            description=description or "",
            by="labctl model",
        )
    )
    content = json.dumps(card_content(cloud_facts(sagemaker, s3, package, history)))
    from botocore.exceptions import ClientError

    try:
        if exists:
            sagemaker.update_model_card(ModelCardName=name, Content=content)
        else:
            sagemaker.create_model_card(
                ModelCardName=name, Content=content, ModelCardStatus=CARD_STATUS
            )
    except ClientError as err:
        raise OperationFailed(
            f"{package_arn} is {status}, but its model card {name} was not written: {err}"
        ) from err
    return name
