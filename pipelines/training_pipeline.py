"""The Digits training pipeline (SageMaker SDK v2), rendered to definition JSON offline.

    Preprocess ──► Tune (XGBoost HPO) ──┐
         │                               ├─► Evaluate ──► QualityGate ─┬─► RegisterXGBoost
         └───────► TrainBaseline ───────┘  (+ champion)                ├─► RegisterBaseline
                                              evaluation.json           └─► GateFailed (Fail)
                         Preprocess + Evaluate ──► MonitorBaseline ──► Register* (metrics)

Preprocess is also the data-quality gate (pipelines/data_quality_gate.py): a violated
constraint writes data_quality.json and the quarantine, then fails the job, so nothing after it
runs (the pipeline fails at Preprocess with the report's line as the job's ExitMessage).
Preprocess fails the run when the events' pre-training bias (CI, DPL over the source facet)
exceeds the profile's bounds; Evaluate adds per-group accuracy, AD and per-class recall.

QualityGate: challenger accuracy >= AccuracyThreshold AND >= champion accuracy - margin, both
on this run's test split (no champion: the threshold alone). The baseline is reported only.

Bucket, role, KMS key and network ids are placeholder strings (see PLACEHOLDERS) that the
CDK construct str.replace()s with tokens; rendering never touches the network.
Network isolation: every job runs isolated (code arrives as S3 inputs/channels, nothing is
pip-installed at start); NETWORK_ISOLATION_EXEMPT lists the jobs that could not, now none.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model_code.events import SKEWED_DIGITS_SOURCE
from pipelines.data_quality_gate import GateLimits
from pipelines.tuning import tuning_problem

ARTIFACTS_BUCKET = "__ARTIFACTS_BUCKET__"
RAW_BUCKET = "__RAW_BUCKET__"
ROLE_ARN = "arn:aws:iam::111111111111:role/__EXECUTION_ROLE__"
KMS_KEY_ARN = "__KMS_KEY_ARN__"
SUBNETS = ("__SUBNET_1__", "__SUBNET_2__")
SECURITY_GROUPS = ("__SECURITY_GROUP__",)
PLACEHOLDERS = (ARTIFACTS_BUCKET, RAW_BUCKET, ROLE_ARN, KMS_KEY_ARN, *SUBNETS, *SECURITY_GROUPS)

XGBOOST_VERSION = "3.0-5"  # 1.x containers save a model format xgboost 3.x cannot read
SKLEARN_VERSION = "1.2-1"
# The baseline package's container environment: the serving toolkit imports SAGEMAKER_PROGRAM
# from SAGEMAKER_SUBMIT_DIRECTORY (a local path in the container: /opt/ml/model is where
# model.tar.gz is extracted). model_code/baseline_inference.py documents the contract.
BASELINE_SERVING_ENV = {
    "SAGEMAKER_PROGRAM": "baseline_inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
}
# Built-in algorithms (and other pre-built images) that do not checkpoint are limited to a
# MaxWaitTimeInSeconds of 3600 on Spot (Developer Guide, "Managed Spot Training"). The
# built-in XGBoost image checkpoints ("XGBoost (0.90-1 or later)" in "Checkpoints in Amazon
# SageMaker AI", https://docs.aws.amazon.com/sagemaker/latest/dg/model-checkpoints.html): its
# train.py loads the newest /opt/ml/checkpoints/xgboost-checkpoint.<round> and continues with
# xgb.train(xgb_model=...), saving one per round (aws/sagemaker-xgboost-container,
# src/sagemaker_xgboost_container/checkpointing.py). The scikit-learn baseline script does not
# checkpoint, so its job keeps within that cap.
NON_CHECKPOINTING_MAX_WAIT = 3600
# Jobs allowed to run without network isolation, with the reason; checks.py honours it.
NETWORK_ISOLATION_EXEMPT: dict[str, str] = {}

# Study-guide search space (continuous unless noted).
HYPERPARAMETER_RANGES = {
    "alpha": (0.01, 0.5),
    "eta": (0.1, 0.5),
    "min_child_weight": (0.0, 2.0),
    "max_depth": (1, 10),  # integer
}
STATIC_HYPERPARAMETERS = {
    "objective": "multi:softmax",
    "num_class": "10",
    "num_round": "100",
    # merror: accuracy = 1 - merror; the container also emits the objective metric it tunes.
    "eval_metric": "merror",
    "tree_method": "hist",
    # Row/column subsampling, chosen without the test split: 5-fold CV on train + validation
    # (3 split seeds) gives 0.9684 ± 0.0130 for (0.8, 0.5) against 0.9635 ± 0.0119 without
    # it (`python benchmarks/bench_accuracy.py --choose-static`): a small gain, within one sd.
    "subsample": "0.8",
    "colsample_bynode": "0.5",
}
OBJECTIVE_METRIC = "validation:accuracy"
APPROVAL_STATUSES = ("PendingManualApproval", "Approved", "Rejected")
QUARANTINE_PREFIX = "quarantine/"


@dataclass(frozen=True)
class PipelineSettings:
    """What the pipeline varies by environment; validated so a bad profile fails at render."""

    region: str = "us-east-1"
    pipeline_name: str = "digits-training"
    xgboost_group: str = "digits-xgboost"
    baseline_group: str = "digits-baseline"
    processing_instance_type: str = "ml.m5.large"
    training_instance_type: str = "ml.m5.large"
    max_jobs: int = 20
    max_parallel_jobs: int = 3
    strategy: str = "Bayesian"
    early_stopping: str = "Off"
    accuracy_threshold: float = 0.95
    # Champion/challenger: the new model may be at most this much less accurate than the
    # approved one on the same test split (one test row of 270 is 0.0037).
    champion_margin: float = 0.005
    approval_status: str = "PendingManualApproval"
    # The pre-training bias gate (Preprocess) and the per-group evaluation: the events'
    # source values of facet d and the largest |CI| and |DPL| a run may train on.
    bias_facet_values: tuple[str, ...] = (SKEWED_DIGITS_SOURCE,)
    max_abs_ci: float = 0.5
    max_abs_dpl: float = 0.1
    # Managed Spot training (training and tuning jobs) and the jobs' stopping conditions.
    spot: bool = False
    max_runtime_seconds: int = 3600
    max_wait_seconds: int = 7200
    use_vpc: bool = False
    input_data_url: str = f"s3://{RAW_BUCKET}/events/"
    code_prefix: str = f"s3://{ARTIFACTS_BUCKET}/code"
    artifacts_prefix: str = f"s3://{ARTIFACTS_BUCKET}/pipelines"
    checkpoint_prefix: str = f"s3://{ARTIFACTS_BUCKET}/checkpoints"
    role_arn: str = ROLE_ARN
    kms_key_arn: str = KMS_KEY_ARN
    subnets: tuple[str, ...] = SUBNETS
    security_group_ids: tuple[str, ...] = SECURITY_GROUPS
    extra: tuple[tuple[str, str], ...] = field(default=())
    data_quality: GateLimits = field(default_factory=GateLimits)

    def __post_init__(self) -> None:
        if self.early_stopping not in ("Auto", "Off"):
            raise ValueError("early_stopping must be 'Auto' or 'Off'")
        problem = tuning_problem(
            self.max_jobs, self.max_parallel_jobs, self.strategy, self.early_stopping == "Auto"
        )
        if problem:
            raise ValueError(problem)
        if not 0.0 <= self.accuracy_threshold <= 1.0:
            raise ValueError("accuracy_threshold must be within 0..1")
        if not 0.0 <= self.champion_margin <= 1.0:
            raise ValueError("champion_margin must be within 0..1")
        if self.approval_status not in APPROVAL_STATUSES:
            raise ValueError(f"approval_status: use one of {', '.join(APPROVAL_STATUSES)}")
        if not self.bias_facet_values or not all(v.strip() for v in self.bias_facet_values):
            raise ValueError("bias_facet_values must list at least one source value (facet d)")
        for name in ("max_abs_ci", "max_abs_dpl"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within 0..1")
        if self.use_vpc and not (self.subnets and self.security_group_ids):
            raise ValueError("use_vpc needs subnets and security_group_ids")
        if self.spot and self.max_wait_seconds < self.max_runtime_seconds:
            raise ValueError("max_wait_seconds must be >= max_runtime_seconds on Spot")

    @property
    def no_champion(self) -> str:
        """ChampionModelData's default: a folder of the code package with no model in it."""
        return f"{self.code}/no_champion/"

    @property
    def code(self) -> str:
        """S3 prefix holding the model_code package (preprocess.py, evaluate.py, ...)."""
        return f"{self.code_prefix}/model_code"

    def output(self, *parts: str) -> str:
        return "/".join([self.artifacts_prefix, self.pipeline_name, *parts])

    @property
    def quarantine_prefix(self) -> str:
        """Where the gate puts rows it does not keep: the lake's artifacts zone, one folder
        per execution (``<prefix>/<execution id>/``)."""
        return f"s3://{ARTIFACTS_BUCKET}/{QUARANTINE_PREFIX}{self.pipeline_name}"

    def checkpoints(self, step: str) -> str:
        """Where a step's jobs checkpoint: checkpoints/<pipeline>/<step> (the definition adds
        /<execution id>/, so a later run never resumes from an earlier run's checkpoints)."""
        return "/".join([self.checkpoint_prefix, self.pipeline_name, step])

    def stopping(self, *, checkpoints: bool) -> dict[str, Any]:
        """Estimator arguments: max_run always; on Spot, use_spot_instances and max_wait. A
        job whose container does not checkpoint keeps within NON_CHECKPOINTING_MAX_WAIT (and
        its run time with it)."""
        run, wait = self.max_runtime_seconds, self.max_wait_seconds
        if not self.spot:
            return {"max_run": run}
        if not checkpoints:
            run, wait = min(run, NON_CHECKPOINTING_MAX_WAIT), min(wait, NON_CHECKPOINTING_MAX_WAIT)
        return {"max_run": run, "use_spot_instances": True, "max_wait": wait}


_OFFLINE_KEYS = (
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_EC2_METADATA_DISABLED",
    "SAGEMAKER_SUPPRESS_V2_WARNING",
)


@contextmanager
def _offline_environment(region: str) -> Iterator[None]:
    """Fake keys and no metadata probes while the SDK renders, restored afterwards.

    The SDK probes instance metadata and STS without them; the fake keys never leave the
    host. They must not outlive the rendering: environment keys outrank a profile, a
    container or an instance role, so a later boto3 call in the same process (teardown after
    its synth, a release after a render) would sign real requests with them.
    """
    import boto3

    saved = {key: os.environ.get(key) for key in _OFFLINE_KEYS}
    # The SDK may create boto3's default session while the fake keys are set; that session
    # caches them, so it is put back as it was too.
    saved_session = boto3.DEFAULT_SESSION
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "offline")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "offline")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ["SAGEMAKER_SUPPRESS_V2_WARNING"] = "1"
    # Set before the SDK import: it only defaults loggers whose level is still unset, and
    # otherwise prints "Not applying SDK defaults" lines and a dozen "popping out" notes.
    for name in ("sagemaker", "sagemaker.config", "botocore.credentials"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from sagemaker.telemetry import telemetry_logging

    telemetry_logging._send_telemetry_request = lambda *args, **kwargs: None
    try:
        yield
    finally:
        boto3.DEFAULT_SESSION = saved_session
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def build_pipeline(settings: PipelineSettings) -> Any:
    """The sagemaker.workflow Pipeline object (offline PipelineSession, explicit S3 URIs).

    Call it inside ``_offline_environment`` (``_render`` does)."""
    import boto3
    from sagemaker import image_uris
    from sagemaker.drift_check_baselines import DriftCheckBaselines
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.network import NetworkConfig
    from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.sklearn.estimator import SKLearn
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.steps import ProcessingStep, TrainingStep, TuningStep

    from model_code import lineage
    from pipelines import monitor_baseline_step as mb

    s = settings
    boto_session = boto3.Session(
        region_name=s.region, aws_access_key_id="offline", aws_secret_access_key="offline"
    )
    session = PipelineSession(boto_session=boto_session, default_bucket=ARTIFACTS_BUCKET)

    input_url = ParameterString("InputDataUrl", default_value=s.input_data_url)
    processing_type = ParameterString(
        "ProcessingInstanceType", default_value=s.processing_instance_type
    )
    training_type = ParameterString("TrainingInstanceType", default_value=s.training_instance_type)
    threshold = ParameterFloat("AccuracyThreshold", default_value=s.accuracy_threshold)
    approval = ParameterString("ModelApprovalStatus", default_value=s.approval_status)
    # The approved model's model.tar.gz (whoever starts the run resolves it: `labctl
    # pipeline run` does); the default names a folder without a model: threshold alone.
    champion_data = ParameterString("ChampionModelData", default_value=s.no_champion)
    max_jobs = ParameterInteger("MaxTuningJobs", default_value=s.max_jobs)
    max_parallel = ParameterInteger("MaxParallelTuningJobs", default_value=s.max_parallel_jobs)

    vpc: dict[str, Any] = (
        {"subnets": list(s.subnets), "security_group_ids": list(s.security_group_ids)}
        if s.use_vpc
        else {}
    )
    network = NetworkConfig(
        enable_network_isolation=True, encrypt_inter_container_traffic=True, **vpc
    )
    job_security: dict[str, Any] = {
        "volume_kms_key": s.kms_key_arn,
        "output_kms_key": s.kms_key_arn,
        "enable_network_isolation": True,
        "encrypt_inter_container_traffic": True,
        **vpc,
    }
    sklearn_image = image_uris.retrieve(
        "sklearn", s.region, SKLEARN_VERSION, py_version="py3", instance_type="ml.m5.large"
    )
    xgboost_image = image_uris.retrieve("xgboost", s.region, XGBOOST_VERSION)
    lib_input = ProcessingInput(  # the model_code package, so scripts import events.py
        source=s.code + "/",
        destination="/opt/ml/processing/input/lib/model_code",
        input_name="model_code",
    )

    # Preprocess ----------------------------------------------------------------------
    def script_processor(image_uri: str, job: str) -> Any:
        """Every processing job: KMS on volume and output, the pipeline's network config."""
        return ScriptProcessor(
            image_uri=image_uri,
            command=["python3"],
            role=s.role_arn,
            instance_count=1,
            instance_type=processing_type,
            volume_kms_key=s.kms_key_arn,
            output_kms_key=s.kms_key_arn,
            network_config=network,
            sagemaker_session=session,
            base_job_name=f"{s.pipeline_name}-{job}",
            max_runtime_in_seconds=3600,
        )

    preprocessor = script_processor(sklearn_image, "preprocess")
    outputs = ("train", "validation", "test", "baseline")
    execution_id = ExecutionVariables.PIPELINE_EXECUTION_ID
    # The gate's report and quarantine upload Continuously: a failed job uploads no EndOfJob
    # output, and these two are what a failed gate leaves to read (verify in an account).
    gate_outputs = [
        ProcessingOutput(
            output_name="data_quality",
            source="/opt/ml/processing/output/data_quality",
            destination=Join(on="/", values=[s.output("Preprocess"), execution_id, "data_quality"]),
            s3_upload_mode="Continuous",
        ),
        ProcessingOutput(  # the rows checked: the Glue table the DQDL ruleset targets
            output_name="dataset",
            source="/opt/ml/processing/output/dataset",
            destination=s.output("Preprocess", "dataset"),
            s3_upload_mode="Continuous",
        ),
        ProcessingOutput(
            output_name="quarantine",
            source="/opt/ml/processing/output/quarantine",
            destination=Join(on="/", values=[s.quarantine_prefix, execution_id]),
            s3_upload_mode="Continuous",
        ),
    ]
    preprocess = ProcessingStep(
        "Preprocess",
        property_files=[
            PropertyFile(
                name="DataQualityReport", output_name="data_quality", path="data_quality.json"
            )
        ],
        step_args=preprocessor.run(
            code=f"{s.code}/preprocess.py",
            inputs=[
                ProcessingInput(
                    source=input_url, destination="/opt/ml/processing/input/raw", input_name="raw"
                ),
                lib_input,
            ],
            outputs=[
                ProcessingOutput(
                    output_name=name,
                    source=f"/opt/ml/processing/output/{name}",
                    destination=s.output("Preprocess", name),
                )
                for name in outputs
            ]
            + gate_outputs
            + [
                # The lineage manifest (model_code/lineage.py) under this execution's own
                # prefix: a later run never overwrites what a registered version points at.
                ProcessingOutput(
                    output_name=lineage.MANIFEST_OUTPUT,
                    source=f"/opt/ml/processing/output/{lineage.MANIFEST_OUTPUT}",
                    destination=Join(
                        on="/",
                        values=[
                            s.output("Preprocess"),
                            ExecutionVariables.PIPELINE_EXECUTION_ID,
                            lineage.MANIFEST_OUTPUT,
                        ],
                    ),
                )
            ],
            arguments=[
                "--input-dir",
                "/opt/ml/processing/input/raw",
                "--input-uri",
                input_url,
                "--output-dir",
                "/opt/ml/processing/output",
                "--validation-fraction",
                "0.15",
                "--test-fraction",
                "0.15",
                *s.data_quality.arguments(),
                "--quarantine-dir",
                "/opt/ml/processing/output/quarantine",
                "--dataset-dir",
                "/opt/ml/processing/output/dataset",
                "--exit-message",
                "/opt/ml/output/message",
                # The bias gate's facet and bounds (model_code/preprocess.py bias_gate).
                *[a for v in s.bias_facet_values for a in ("--bias-facet-value", v)],
                "--max-abs-ci",
                str(s.max_abs_ci),
                "--max-abs-dpl",
                str(s.max_abs_dpl),
            ],
        ),
    )

    def channel(name: str) -> TrainingInput:
        uri = preprocess.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri
        return TrainingInput(uri, content_type="text/csv")

    channels = {"train": channel("train"), "validation": channel("validation")}

    # Spot: the stopping conditions, and each step's checkpoint location under this run's
    # execution id. The trailing "/" keeps one prefix from matching another that starts
    # with it when SageMaker syncs the folder back (e.g. .../Tune and .../Tune-2).
    execution_id = ExecutionVariables.PIPELINE_EXECUTION_ID

    def spot(step: str, *, checkpoints: bool) -> dict[str, Any]:
        args = s.stopping(checkpoints=checkpoints)
        if s.spot and checkpoints:
            args["checkpoint_s3_uri"] = Join(on="/", values=[s.checkpoints(step), execution_id, ""])
        return args

    # Tune ------------------------------------------------------------------------------
    from sagemaker.estimator import Estimator

    xgboost = Estimator(
        image_uri=xgboost_image,
        role=s.role_arn,
        instance_count=1,
        instance_type=training_type,
        output_path=s.output("Tune"),
        hyperparameters=dict(STATIC_HYPERPARAMETERS),
        sagemaker_session=session,
        # No checkpoint location for the tuning trials: one CheckpointConfig serves every trial
        # of a tuning job, and the XGBoost container resumes from the newest checkpoint it
        # finds, so a trial could continue another trial's model (other hyperparameters) unless
        # SageMaker gives each trial its own folder, which no page read says (fresh reader,
        # issue 26; *verify* in an account). A trial takes about a minute: on Spot without
        # checkpoints it keeps within the 3600 s a non-checkpointing job may wait.
        **spot("Tune", checkpoints=False),
        disable_profiler=True,
        debugger_hook_config=False,
        **job_security,
    )
    low, high = HYPERPARAMETER_RANGES["max_depth"]
    tuner = HyperparameterTuner(
        xgboost,
        objective_metric_name=OBJECTIVE_METRIC,
        objective_type="Maximize",
        hyperparameter_ranges={
            **{
                name: ContinuousParameter(*HYPERPARAMETER_RANGES[name])
                for name in ("alpha", "eta", "min_child_weight")
            },
            "max_depth": IntegerParameter(int(low), int(high)),
        },
        strategy=s.strategy,
        max_jobs=max_jobs,
        max_parallel_jobs=max_parallel,
        early_stopping_type=s.early_stopping,
        base_tuning_job_name="digits-xgb",
    )
    tune = TuningStep("Tune", step_args=tuner.fit(inputs=channels))

    # TrainBaseline ---------------------------------------------------------------------
    baseline = SKLearn(
        entry_point="train_baseline.py",
        source_dir=f"{s.code_prefix}/sourcedir.tar.gz",
        framework_version=SKLEARN_VERSION,
        py_version="py3",
        role=s.role_arn,
        instance_count=1,
        instance_type=training_type,
        output_path=s.output("TrainBaseline"),
        code_location=s.output("TrainBaseline", "code"),
        sagemaker_session=session,
        hyperparameters={"var-smoothing": "1e-9"},
        **spot("TrainBaseline", checkpoints=False),
        # Debugger/Profiler are closed to new customers (AWS-FACTS); keep them off.
        disable_profiler=True,
        debugger_hook_config=False,
        metric_definitions=[
            {"Name": "validation:accuracy", "Regex": r"validation:accuracy=([0-9.]+)"}
        ],
        **job_security,
    )
    train_baseline = TrainingStep("TrainBaseline", step_args=baseline.fit(inputs=channels))

    # Evaluate --------------------------------------------------------------------------
    # The built-in XGBoost image doubles as the evaluation image: it has xgboost + sklearn.
    evaluator = script_processor(xgboost_image, "evaluate")
    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    bucket, _, key = s.output("Tune").removeprefix("s3://").partition("/")
    best_model = tune.get_top_model_s3_uri(top_k=0, s3_bucket=bucket, prefix=key)
    evaluate = ProcessingStep(
        "Evaluate",
        property_files=[report],
        step_args=evaluator.run(
            code=f"{s.code}/evaluate.py",
            inputs=[
                ProcessingInput(
                    source=best_model,
                    destination="/opt/ml/processing/input/xgboost",
                    input_name="xgboost",
                ),
                ProcessingInput(
                    source=train_baseline.properties.ModelArtifacts.S3ModelArtifacts,
                    destination="/opt/ml/processing/input/baseline",
                    input_name="baseline",
                ),
                ProcessingInput(
                    source=preprocess.properties.ProcessingOutputConfig.Outputs[
                        "test"
                    ].S3Output.S3Uri,
                    destination="/opt/ml/processing/input/test",
                    input_name="test",
                ),
                ProcessingInput(
                    source=champion_data,
                    destination="/opt/ml/processing/input/champion",
                    input_name="champion",
                ),
                lib_input,
            ],
            outputs=[
                ProcessingOutput(
                    output_name="evaluation",
                    source="/opt/ml/processing/output/evaluation",
                    # <pipeline>/Evaluate/<execution id>/evaluation: a later run never
                    # overwrites the metrics a registered version names (its ModelMetrics
                    # is this output's S3Uri) nor the smoke samples beside them.
                    destination=Join(
                        on="/",
                        values=[s.output("Evaluate"), execution_id, "evaluation"],
                    ),
                )
            ],
            arguments=[
                "--xgboost-model",
                "/opt/ml/processing/input/xgboost",
                "--baseline-model",
                "/opt/ml/processing/input/baseline",
                "--test-dir",
                "/opt/ml/processing/input/test",
                "--output-dir",
                "/opt/ml/processing/output/evaluation",
                "--champion-model",
                "/opt/ml/processing/input/champion",
                "--champion-margin",
                str(s.champion_margin),
            ],
        ),
    )

    # QualityGate -> Register* | GateFailed ---------------------------------------------
    def evaluation(path: str) -> JsonGet:
        return JsonGet(step_name=evaluate.name, property_file=report, json_path=path)

    def accuracy(model: str) -> JsonGet:
        return evaluation(f"{model}.multiclass_classification_metrics.accuracy.value")

    evaluation_uri = evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri
    baseline_uri = preprocess.properties.ProcessingOutputConfig.Outputs["baseline"].S3Output.S3Uri
    manifest_uri = preprocess.properties.ProcessingOutputConfig.Outputs[
        lineage.MANIFEST_OUTPUT
    ].S3Output.S3Uri
    # Model Monitor's baseline files of this version (pipelines/monitor_baseline_step.py)
    monitor_baseline = mb.monitor_baseline_step(
        processor=script_processor(sklearn_image, "monitor-baseline"),
        code=s.code,
        output_root=s.output(),
        train_uri=preprocess.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri,
        evaluation_uri=evaluation_uri,
        statistics_uri=baseline_uri,
        accuracy_threshold=threshold,
        lib_input=lib_input,
    )

    # Each version carries the training statistics it must be compared with, so drift
    # monitoring reads the *deployed* version's baseline (DescribeModelPackage
    # DriftCheckBaselines.ModelDataQuality.Statistics), never the newest run's.
    # The statistics are the copy under this execution's own prefix (MonitorBaseline), so a
    # later run cannot overwrite the baseline of a version already registered.
    def drift_baselines(monitored: bool) -> DriftCheckBaselines:
        return DriftCheckBaselines(**mb.drift_check_baselines(monitor_baseline, monitored))

    def register(
        name: str,
        image: str,
        model_data: Any,
        group: str,
        metrics: str,
        env: dict[str, str] | None = None,
        monitored: bool = False,  # the served model: Model Monitor's model-quality baseline
    ) -> ModelStep:
        model = Model(
            image_uri=image,
            model_data=model_data,
            role=s.role_arn,
            sagemaker_session=session,
            enable_network_isolation=True,
            env=dict(env) if env else None,  # type: ignore[arg-type]  # str is a valid value
        )
        return ModelStep(
            name,
            step_args=model.register(
                content_types=["text/csv"],
                response_types=["text/csv"],
                inference_instances=["ml.m5.large"],
                transform_instances=["ml.m5.large"],
                model_package_group_name=group,
                approval_status=approval,
                model_metrics=ModelMetrics(
                    model_statistics=MetricsSource(
                        s3_uri=Join(on="/", values=[evaluation_uri, metrics]),
                        content_type="application/json",
                    ),
                    **mb.model_monitor_metrics(monitor_baseline, monitored),
                ),
                drift_check_baselines=drift_baselines(monitored),
                # labctl lineage: version -> execution -> training-data manifest
                customer_metadata_properties={
                    lineage.EXECUTION_KEY: ExecutionVariables.PIPELINE_EXECUTION_ARN,
                    lineage.MANIFEST_KEY: Join(
                        on="/", values=[manifest_uri, lineage.MANIFEST_FILE]
                    ),
                },
            ),
        )

    register_xgboost = register(
        "RegisterXGBoost",
        xgboost_image,
        best_model,
        s.xgboost_group,
        "xgboost_metrics.json",
        monitored=True,
    )
    register_baseline = register(
        "RegisterBaseline",
        sklearn_image,
        train_baseline.properties.ModelArtifacts.S3ModelArtifacts,
        s.baseline_group,
        "baseline_metrics.json",
        # The scikit-learn serving container has no default model_fn: without an entry point
        # it cannot load the model. The script ships inside model.tar.gz (code/), so the
        # network-isolated endpoint needs no download.
        env=dict(BASELINE_SERVING_ENV),
    )
    gate_failed = FailStep(
        "GateFailed",
        error_message=Join(
            on=" ",
            values=[
                "quality gate failed: xgboost test accuracy",
                accuracy("xgboost"),
                "must be >= AccuracyThreshold",
                threshold,
                "and >= the champion's accuracy minus the margin",
                evaluation("gate.champion_bar"),
            ],
        ),
    )
    gate = ConditionStep(
        "QualityGate",
        # A list of conditions is a logical AND. The SDK's type hints omit JsonGet, which
        # its own docs use as a condition operand, hence the ignores.
        conditions=[
            ConditionGreaterThanOrEqualTo(left=accuracy("xgboost"), right=threshold),  # type: ignore[arg-type]
            ConditionGreaterThanOrEqualTo(
                left=accuracy("xgboost"),  # type: ignore[arg-type]
                right=evaluation("gate.champion_bar"),  # type: ignore[arg-type]
            ),
        ],
        if_steps=[register_xgboost, register_baseline],
        else_steps=[gate_failed],
    )
    return Pipeline(
        name=s.pipeline_name,
        parameters=[
            input_url,
            processing_type,
            training_type,
            threshold,
            approval,
            champion_data,
            max_jobs,
            max_parallel,
        ],
        steps=[preprocess, tune, train_baseline, evaluate, monitor_baseline, gate],
        # The SDK's default PipelineExperimentConfig makes every execution create an
        # experiment and trial (SageMaker Experiments entities that outlive the pipeline and
        # need sagemaker:CreateExperiment/CreateTrial/... on the pipeline role). Lineage and
        # the model registry already record what each run produced, so none is created.
        pipeline_experiment_config=None,
        sagemaker_session=session,
    )


# What the SDK reads while rendering, besides the settings (sagemaker.config.config):
# the admin and user config.yaml (overridable by these variables) and its intelligent defaults.
SDK_CONFIG_VARIABLES = ("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", "SAGEMAKER_USER_CONFIG_OVERRIDE")
# Packages whose code or data shapes the JSON (image URIs, partitions, serialization).
RENDERING_PACKAGES = ("sagemaker", "boto3", "botocore", "sagemaker-core", "pydantic", "PyYAML")
# Variables that never change the output: credentials (faked offline) and the two that
# _offline_environment forces before every render.
_IGNORED_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_EC2_METADATA_DISABLED",
    "SAGEMAKER_SUPPRESS_V2_WARNING",
)


def _sdk_config_files() -> list[Path]:
    """The SDK's admin and user config files, found the way sagemaker.config does."""
    from platformdirs import site_config_dir, user_config_dir

    defaults = {
        "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": Path(site_config_dir("sagemaker")) / "config.yaml",
        "SAGEMAKER_USER_CONFIG_OVERRIDE": Path(user_config_dir("sagemaker")) / "config.yaml",
    }
    files = []
    for variable, default in defaults.items():
        path = Path(os.environ.get(variable) or default)
        files.append(path / "config.yaml" if path.is_dir() else path)
    return files


def _fingerprint(settings: Any, *, sources: tuple[str, ...] = ()) -> str | None:
    """Everything that shapes the rendered JSON: the settings, this module's source (and
    ``sources``, the other pipeline modules a render runs), the versions of the packages that
    render it, the SDK's config files and the SAGEMAKER_* / AWS_* environment. None when a
    rendering package is missing (no safe key)."""
    parts = [repr(settings), Path(__file__).read_text()]
    from pipelines import data_quality_gate, monitor_baseline_step  # render parts of steps

    parts.append(Path(monitor_baseline_step.__file__).read_text())
    parts.append(Path(data_quality_gate.__file__).read_text())
    parts += [Path(source).read_text() for source in sources]
    for package in RENDERING_PACKAGES:
        try:
            parts.append(f"{package}=={importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            if package == "sagemaker":
                return None
            parts.append(f"{package} absent")
    for path in _sdk_config_files():
        parts.append(f"{path}:{path.read_text() if path.is_file() else '(none)'}")
    # The environment the render will see: _offline_environment's defaults applied.
    environment = {"AWS_DEFAULT_REGION": settings.region, **os.environ}
    parts += sorted(
        f"{k}={v}"
        for k, v in environment.items()
        if k.startswith(("SAGEMAKER_", "AWS_")) and k not in _IGNORED_VARIABLES
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _cache_file(settings: Any, *, sources: tuple[str, ...] = ()) -> Path | None:
    """Where a rendered definition is kept between processes, keyed by ``_fingerprint``.

    Off (None) with ``PIPELINE_CACHE=off`` and wherever a stale definition would do harm
    unseen: CI (``CI`` set) and the delivery build (CodeBuild sets ``CODEBUILD_BUILD_ID``).
    The tests turn it off too (tests/conftest.py) and test it explicitly."""
    if os.environ.get("PIPELINE_CACHE", "").lower() == "off":
        return None
    if os.environ.get("CI") or os.environ.get("CODEBUILD_BUILD_ID"):
        return None
    digest = _fingerprint(settings, sources=sources)
    if digest is None:
        return None
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "mlops-platform" / "pipelines" / f"{settings.pipeline_name}-{digest[:24]}.json"


def _render(settings: PipelineSettings) -> str:
    with warnings.catch_warnings(), _offline_environment(settings.region):
        warnings.simplefilter("ignore")
        pipeline = build_pipeline(settings)
        definition = pipeline.definition()
    # Re-dump with sorted keys so the bytes do not depend on SDK dict ordering.
    return json.dumps(json.loads(definition), indent=1, sort_keys=True)


# In-process cache, keyed like the disk cache: a changed SDK config or environment in the
# same process renders again instead of returning the previous render.
_RENDERED: dict[str, str] = {}


def clear_render_cache() -> None:
    """Forget in-process renders (the disk cache is keyed, so it is left alone)."""
    _RENDERED.clear()


def render_definition(settings: PipelineSettings | None = None) -> str:
    """Definition JSON (deterministic: same settings, same bytes), cached per fingerprint.

    Rendering imports and drives the SDK (about 3 s); synth, the local run and the tests all
    render the same settings, so the result is also kept on disk (see ``_cache_file``).
    """
    return render_cached(settings or PipelineSettings(), _render)


def render_cached(
    settings: Any, render: Callable[[Any], str], *, sources: tuple[str, ...] = ()
) -> str:
    """``render(settings)``, kept in process and on disk under ``_fingerprint`` (the training
    pipeline's and the scoring pipeline's renders; ``sources``: the calling module's file)."""
    key = _fingerprint(settings, sources=sources)
    if key is not None and key in _RENDERED:
        return _RENDERED[key]
    cache = _cache_file(settings, sources=sources)
    if cache is not None and cache.is_file():
        text = cache.read_text()
    else:
        text = render(settings)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(text)
            partial.replace(cache)  # atomic: a concurrent reader never sees half a file
    if key is not None:
        _RENDERED[key] = text
    return text


def splice(
    rendered: str,
    *,
    role_arn: str,
    artifacts_bucket: str,
    raw_bucket: str,
    kms_key_arn: str,
    subnets: tuple[str, ...] = (),
    security_group: str | None = None,
    settings: PipelineSettings | None = None,
) -> str:
    """Replace the placeholders with real values: CDK tokens at synth (which CloudFormation
    receives as Fn::Join) or the deployed stacks' outputs (``labctl pipeline run --upsert``)."""
    text = (
        rendered.replace(ROLE_ARN, role_arn)
        .replace(ARTIFACTS_BUCKET, artifacts_bucket)
        .replace(RAW_BUCKET, raw_bucket)
        .replace(KMS_KEY_ARN, kms_key_arn)
    )
    if subnets:
        placeholders = (settings or PipelineSettings()).subnets
        for placeholder, subnet in zip(placeholders, subnets, strict=True):
            text = text.replace(placeholder, subnet)
    if security_group:
        text = text.replace(SECURITY_GROUPS[0], security_group)
    return text
