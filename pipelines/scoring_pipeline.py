"""The Digits scoring pipeline (batch transform, SageMaker SDK v2), rendered offline.

```
 ModelPackageArn ─▶ CreateModel (isolated, VPC) ─▶ Score (Transform: Line split, MultiRecord,
 InputPrefix                                          <id> kept beside its prediction)
 MaxPayloadInMB                                         │ s3://<curated>/predictions/<execution>/<key>.out
                                                        ▼
                                           FeedMonitoring (Processing: model_code/batch_capture.py)
                                                        │ s3://<artifacts>/capture/<endpoint>/AllTraffic/yyyy/mm/dd/hh/
```

Built as the training pipeline is (``pipelines/training_pipeline.py``): sagemaker.workflow
steps on an offline ``PipelineSession``, rendered once per settings and cached
(``render_cached``: in process and on disk, ``PIPELINE_CACHE=off`` turns the disk off).
Buckets, role, KMS key and network ids are placeholder strings that the CDK construct
(``infra/scoring/construct.py``) splices with tokens (``splice``). Deployed by the Training
stack; the construct's docstring says why there.

Faults, as the service behaves: a malformed line or a record over ``MaxPayloadInMB`` fails the
transform job and with it the execution (no partial capture is fed); an empty prefix fails it
too ("no S3 objects"). The local run (``lab.endpoint.batch``) fails the same ways.

The CreateModel step's arguments are the one part the SDK cannot build: ``ModelPackage``
describes the package when it creates the model (``ModelPackage._create_sagemaker_model`` calls
DescribeModelPackage and parses the ARN), so it cannot take the ARN as a pipeline parameter
(aws/sagemaker-python-sdk issue #3636, closed as a feature request), and its request builder
would put the package in ``Containers`` rather than ``PrimaryContainer``. So ``CreateModelStep``
(the SDK's Model step, deprecated in favour of ``ModelStep``, which renames the step
``<name>-CreateModel``) gets the CreateModel request as ``step_args``, as today.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any, Protocol

from pipelines import training_pipeline as tp

SCORING_PREFIX = "scoring/"  # curated zone: what to score (<id>,<64 numbers>, no header)
PREDICTIONS_PREFIX = "predictions/"  # curated zone: <execution>/<key>.out (<id>,<prediction>)
# CreateTransformJob.MaxPayloadInMB: default 6, at most 100 (API reference; SageMaker developer
# guide "Batch transform troubleshooting": exceeding it "causes an error").
DEFAULT_MAX_PAYLOAD_MB = 6
# InputFilter drops the id before the model sees the row; OutputFilter keeps the id and the
# prediction ("Associate prediction results with input records", SageMaker developer guide).
DATA_PROCESSING = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}
CODE_DIR = "/opt/ml/processing/input/code"

CURATED_BUCKET = "__CURATED_BUCKET__"
PLACEHOLDERS = (
    tp.ARTIFACTS_BUCKET,
    CURATED_BUCKET,
    tp.ROLE_ARN,
    tp.KMS_KEY_ARN,
    *tp.SUBNETS,
    *tp.SECURITY_GROUPS,
)


class _Named(Protocol):
    @property
    def env_name(self) -> str: ...


def scoring_pipeline_name(config: _Named) -> str:
    """``<env>-digits-scoring`` (``config``: a ``PlatformConfig``, or anything with env_name)."""
    return f"{config.env_name}-digits-scoring"


@dataclass(frozen=True)
class ScoringSettings:
    """What the scoring pipeline varies by environment (the construct fills it from the
    profile); everything else is fixed by the pipeline itself."""

    pipeline_name: str
    endpoint_name: str  # whose capture folder FeedMonitoring writes to
    processing_image: str  # the sklearn processing image (infra/monitoring/images.py)
    region: str = "us-east-1"
    instance_type: str = "ml.m5.large"  # the transform: the production variant's type
    processing_instance_type: str = "ml.m5.large"
    use_vpc: bool = False
    role_arn: str = tp.ROLE_ARN
    kms_key_arn: str = tp.KMS_KEY_ARN
    artifacts_bucket: str = tp.ARTIFACTS_BUCKET
    curated_bucket: str = CURATED_BUCKET
    subnets: tuple[str, ...] = tp.SUBNETS
    security_group_ids: tuple[str, ...] = tp.SECURITY_GROUPS

    def __post_init__(self) -> None:
        for name in ("instance_type", "processing_instance_type"):
            if not getattr(self, name).startswith("ml."):
                raise ValueError(f"{name} must be an ml.* instance type")
        if self.use_vpc and not (self.subnets and self.security_group_ids):
            raise ValueError("use_vpc needs subnets and security_group_ids")


def build_pipeline(settings: ScoringSettings) -> Any:
    """The sagemaker.workflow Pipeline object. Call it inside ``_offline_environment``."""
    import boto3
    from sagemaker.network import NetworkConfig
    from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.transformer import Transformer
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.parameters import ParameterInteger, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession
    from sagemaker.workflow.steps import CreateModelStep, ProcessingStep, TransformStep

    s = settings
    boto_session = boto3.Session(
        region_name=s.region, aws_access_key_id="offline", aws_secret_access_key="offline"
    )
    session = PipelineSession(boto_session=boto_session, default_bucket=s.artifacts_bucket)
    # The released package (the schedule and `labctl batch transform --region` pass it).
    package_arn = ParameterString("ModelPackageArn")
    input_prefix = ParameterString("InputPrefix", default_value=SCORING_PREFIX)
    max_payload = ParameterInteger("MaxPayloadInMB", default_value=DEFAULT_MAX_PAYLOAD_MB)

    curated, artifacts = f"s3://{s.curated_bucket}", f"s3://{s.artifacts_bucket}"
    vpc: dict[str, list[Any]] = (
        {"Subnets": list(s.subnets), "SecurityGroupIds": list(s.security_group_ids)}
        if s.use_vpc
        else {}
    )

    create_model = CreateModelStep(
        "CreateModel",
        step_args={
            "ExecutionRoleArn": s.role_arn,
            "PrimaryContainer": {"ModelPackageName": package_arn},
            "EnableNetworkIsolation": True,
            **({"VpcConfig": vpc} if vpc else {}),
        },
    )

    input_uri = Join(on="", values=[f"{curated}/", input_prefix])
    transformer = Transformer(
        model_name=create_model.properties.ModelName,
        instance_count=1,
        instance_type=s.instance_type,
        strategy="MultiRecord",
        assemble_with="Line",
        output_path=Join(
            on="",
            values=[f"{curated}/{PREDICTIONS_PREFIX}", ExecutionVariables.PIPELINE_EXECUTION_ID],
        ),
        output_kms_key=s.kms_key_arn,
        accept="text/csv",
        max_payload=max_payload,
        volume_kms_key=s.kms_key_arn,
        sagemaker_session=session,
    )
    score = TransformStep(
        "Score",
        step_args=transformer.transform(
            data=input_uri,
            data_type="S3Prefix",
            content_type="text/csv",
            split_type="Line",
            input_filter=DATA_PROCESSING["InputFilter"],
            join_source=DATA_PROCESSING["JoinSource"],
            output_filter=DATA_PROCESSING["OutputFilter"],
        ),
    )

    processor = ScriptProcessor(
        image_uri=s.processing_image,
        command=["python3"],
        role=s.role_arn,
        instance_count=1,
        instance_type=s.processing_instance_type,
        volume_kms_key=s.kms_key_arn,
        output_kms_key=s.kms_key_arn,
        network_config=NetworkConfig(
            enable_network_isolation=True,
            encrypt_inter_container_traffic=True,
            subnets=vpc.get("Subnets"),
            security_group_ids=vpc.get("SecurityGroupIds"),
        ),
        sagemaker_session=session,
        base_job_name=f"{s.pipeline_name}-feed",
        max_runtime_in_seconds=3600,
    )
    feed = ProcessingStep(
        "FeedMonitoring",
        step_args=processor.run(
            # An S3 URI: the SDK uploads nothing and mounts it at CODE_DIR as input "code".
            code=f"{artifacts}/code/model_code/batch_capture.py",
            inputs=[
                ProcessingInput(
                    source=input_uri,
                    destination="/opt/ml/processing/input/rows",
                    input_name="rows",
                ),
                ProcessingInput(
                    source=score.properties.TransformOutput.S3OutputPath,
                    destination="/opt/ml/processing/input/predictions",
                    input_name="predictions",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="capture",
                    source="/opt/ml/processing/capture",
                    destination=f"{artifacts}/capture/{s.endpoint_name}/AllTraffic",
                    s3_upload_mode="EndOfJob",
                )
            ],
        ),
    )
    return Pipeline(
        name=s.pipeline_name,
        parameters=[package_arn, input_prefix, max_payload],
        steps=[create_model, score, feed],
        pipeline_experiment_config=None,  # as the training pipeline: no Experiments entities
        sagemaker_session=session,
    )


def _render(settings: ScoringSettings) -> str:
    with warnings.catch_warnings(), tp._offline_environment(settings.region):
        warnings.simplefilter("ignore")  # CreateModelStep's deprecation notice
        definition = build_pipeline(settings).definition()
    return json.dumps(json.loads(definition), indent=1, sort_keys=True)


def render_definition(settings: ScoringSettings) -> str:
    """Definition JSON with placeholders (same settings, same bytes), cached as the training
    pipeline's render is (keyed also on this module's source)."""
    return tp.render_cached(settings, _render, sources=(__file__,))


def splice(
    rendered: str,
    *,
    role_arn: str,
    artifacts_bucket: str,
    curated_bucket: str,
    kms_key_arn: str,
    subnets: tuple[str, ...] = (),
    security_group: str | None = None,
    settings: ScoringSettings | None = None,
) -> str:
    """Replace the placeholders with real values (CDK tokens at synth)."""
    text = (
        rendered.replace(tp.ROLE_ARN, role_arn)
        .replace(tp.ARTIFACTS_BUCKET, artifacts_bucket)
        .replace(CURATED_BUCKET, curated_bucket)
        .replace(tp.KMS_KEY_ARN, kms_key_arn)
    )
    if subnets:
        placeholders = settings.subnets if settings else tp.SUBNETS
        for placeholder, subnet in zip(placeholders, subnets, strict=True):
            text = text.replace(placeholder, subnet)
    if security_group:
        text = text.replace(tp.SECURITY_GROUPS[0], security_group)
    return text


def check_scoring(definition: dict[str, Any], *, require_vpc: bool) -> list[str]:
    """What no rule pack scans inside the definition: keys, isolation, VPC of every job."""
    from pipelines.checks import check_definition

    findings = check_definition(definition, require_vpc=require_vpc, exempt={})
    for step in definition["Steps"]:
        args, name = step["Arguments"], step["Name"]
        if step["Type"] == "Transform":
            if not args["TransformOutput"].get("KmsKeyId"):
                findings.append(f"{name}: no KMS key for the transform output")
            if not args["TransformResources"].get("VolumeKmsKeyId"):
                findings.append(f"{name}: no KMS key for the transform volume")
            if args.get("DataProcessing") != DATA_PROCESSING:
                findings.append(f"{name}: predictions would not sit beside their input ids")
        if step["Type"] == "Model":
            if args.get("EnableNetworkIsolation") is not True:
                findings.append(f"{name}: the model runs without network isolation")
            vpc = args.get("VpcConfig") or {}
            if require_vpc and not (vpc.get("Subnets") and vpc.get("SecurityGroupIds")):
                findings.append(f"{name}: no VPC config but VPC required")
    return findings
