"""The training pipeline as deployed: AWS::SageMaker::Pipeline from the rendered definition.

Provisions the model package groups (XGBoost, baseline), the model code shipped as CDK assets
into the artifacts zone, the pipeline (placeholders in the offline-rendered definition are
spliced with CDK tokens, so CloudFormation receives Fn::Join), and the triggers: a curated
dataset drop and a ``RetrainRequested`` event (drift detection) both start the pipeline.
Not stateful (the model registry groups hold versions: retained in retain mode).
Exposes: pipeline, pipeline_name, pipeline_arn, groups, retrain_event, and the grants
``grant_start_execution``, ``grant_list_executions``, ``grant_request_retrain`` (also on a
pipeline known by name only: ``TrainingPipeline.from_pipeline_name``).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

from core.accounts import group_policy
from core.config import PlatformConfig
from core.pipeline_settings import pipeline_settings
from infra.compliance.packs import (
    KMS_DATA_KEYS,
    S3_DELETE,
    S3_READ,
    acknowledge,
    acknowledge_packs,
    acknowledge_wildcards,
    declare,
)
from infra.data_lake.refs import LakeRefs
from infra.network.construct import IsolatedNetwork
from infra.storage import logs_capable_key
from infra.training.code_bundle import MODEL_CODE, build_sourcedir
from model_code.monitoring_contract import RETRAIN_DETAIL_TYPE, RETRAIN_SOURCE
from pipelines import training_pipeline as tp
from pipelines.checks import check_definition

DATASET_PREFIX = "datasets/"


@jsii.implements(events.IRuleTarget)
class _PipelineTarget:
    """EventBridge -> StartPipelineExecution. No L2 target exists for SageMaker pipelines and
    RuleTargetConfig has no pipeline-parameter field, so ``add_to`` writes it on the L1."""

    def __init__(self, pipeline_arn: str, role: iam.IRole, parameters: dict[str, str]) -> None:
        self.pipeline_arn, self.role, self.parameters = pipeline_arn, role, parameters

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:  # noqa: A002
        return events.RuleTargetConfig(arn=self.pipeline_arn, role=self.role)

    def add_to(self, rule: events.Rule) -> None:
        rule.add_target(self)
        cfn_rule = rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)
        cfn_rule.add_property_override(
            "Targets.0.SageMakerPipelineParameters",
            {
                "PipelineParameterList": [
                    {"Name": k, "Value": v} for k, v in self.parameters.items()
                ]
            },
        )


def _image_uris(definition: dict[str, object]) -> set[str]:
    """Every container image the definition's jobs run (processing, training, tuning)."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("ImageUri", "TrainingImage", "Image") and isinstance(value, str):
                    found.add(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(definition)
    return found


def pipeline_arn(scope: Construct, pipeline_name: str) -> str:
    """SageMaker pipeline ARNs carry the name in lower case (Service Authorization Reference,
    Amazon SageMaker AI, resource type ``pipeline``)."""
    return cdk.Stack.of(scope).format_arn(
        service="sagemaker", resource="pipeline", resource_name=pipeline_name.lower()
    )


class PipelineBase(Construct):
    """What the training pipeline offers others, whether built here or named only (cf. aws-cdk
    ``Pipeline.grantStartPipelineExecution`` and Kinesis ``Stream.grantWrite``)."""

    pipeline_name: str

    @property
    def pipeline_arn(self) -> str:
        return pipeline_arn(self, self.pipeline_name)

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start runs of this pipeline (StartPipelineExecution)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:StartPipelineExecution"],
            resource_arns=[self.pipeline_arn],
        )

    def grant_list_executions(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` list this pipeline's runs (ListPipelineExecutions)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:ListPipelineExecutions"],
            resource_arns=[self.pipeline_arn],
        )

    def grant_request_retrain(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` put the RetrainRequested event on the default bus, which the
        pipeline's rule turns into a run: events:PutEvents limited to the contract's source by
        the ``events:source`` condition key (EventBridge User Guide, "Using IAM policy
        conditions in Amazon EventBridge"). The entry itself: ``monitoring_contract.retrain_entry``.
        """
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["events:PutEvents"],
            resource_arns=[
                cdk.Stack.of(self).format_arn(service="events", resource="event-bus/default")
            ],
            conditions={"StringEquals": {"events:source": RETRAIN_SOURCE}},
        )


class _NamedPipeline(PipelineBase):
    def __init__(self, scope: Construct, id_: str, pipeline_name: str) -> None:
        super().__init__(scope, id_)
        self.pipeline_name = pipeline_name


class TrainingPipeline(PipelineBase):
    @staticmethod
    def from_pipeline_name(scope: Construct, id_: str, pipeline_name: str) -> PipelineBase:
        """The pipeline of another stack, known by its name, for its grants."""
        return _NamedPipeline(scope, id_, pipeline_name)

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        lake: LakeRefs,
        role: iam.Role,
        network: IsolatedNetwork | None,
    ) -> None:
        super().__init__(scope, id_)
        removal = cdk.RemovalPolicy.DESTROY if config.destroyable else cdk.RemovalPolicy.RETAIN
        self.groups = {}
        for construct_id, name, what in (
            ("XGBoostGroup", config.model_package_group, "Tuned XGBoost models for Digits"),
            ("BaselineGroup", config.baseline_package_group, "scikit-learn baseline models"),
        ):
            group = sagemaker.CfnModelPackageGroup(
                self,
                construct_id,
                model_package_group_name=name,
                model_package_group_description=what,
                # issue 17: the target accounts' deployment roles read it (core/accounts.py)
                model_package_group_policy=group_policy(config, name)
                if config.multi_account
                else None,
            )
            group.apply_removal_policy(removal)
            self.groups[name] = group

        # Model code: CDK assets deployed into the artifacts zone, where the jobs read it.
        log_key = logs_capable_key(
            self, "LogKey", description="Training unit log groups", retain=not config.destroyable
        )
        deploy_logs = logs.LogGroup(
            self,
            "CodeDeployLogs",
            encryption_key=log_key,
            removal_policy=removal,
            retention=logs.RetentionDays.ONE_MONTH,
        )
        build_dir = Path(tempfile.mkdtemp(prefix="model-code-"))
        build_sourcedir(build_dir)

        def deploy(
            id_: str, source: Path, prefix: str, *, prune: bool
        ) -> s3deploy.BucketDeployment:
            return s3deploy.BucketDeployment(
                self,
                id_,
                sources=[s3deploy.Source.asset(str(source), exclude=["__pycache__", "*.pyc"])],
                destination_bucket=lake.artifacts_bucket,
                destination_key_prefix=prefix,
                prune=prune,
                retain_on_delete=False,
                log_group=deploy_logs,
                server_side_encryption=s3deploy.ServerSideEncryption.AWS_KMS,
                server_side_encryption_aws_kms_key_id=lake.key.key_id,
            )

        self.code = deploy("ModelCode", MODEL_CODE, "code/model_code", prune=True)
        # Only sourcedir.tar.gz: pruning "code/" would delete the model_code/ objects above.
        self.sourcedir = deploy("SourceDir", build_dir, "code", prune=False)

        subnets = (
            network.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids
            if network
            else []
        )
        settings = pipeline_settings(config, use_vpc=network is not None, subnets=len(subnets))
        rendered = tp.render_definition(settings)
        problems = check_definition(json.loads(rendered), require_vpc=network is not None)
        if problems:  # what cdk-nag cannot see inside a pipeline definition
            raise ValueError("pipeline definition fails the job checks:\n" + "\n".join(problems))
        spliced = tp.splice(
            rendered,
            role_arn=role.role_arn,
            artifacts_bucket=lake.artifacts_bucket.bucket_name,
            raw_bucket=lake.raw_bucket.bucket_name,
            kms_key_arn=lake.key.key_arn,
            subnets=tuple(subnets),
            security_group=network.security_group.security_group_id if network else None,
            settings=settings,
        )
        self.pipeline_name = config.pipeline_name
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=config.pipeline_name,
            pipeline_description="Preprocess, tune XGBoost, baseline, evaluate, gate, register",
            pipeline_definition={"PipelineDefinitionBody": spliced},
            role_arn=role.role_arn,
        )
        self.pipeline.node.add_dependency(self.code, self.sourcedir)
        self._grant_pipeline_role(role, lake, images=_image_uris(json.loads(rendered)))
        self._triggers(config, lake)
        self._acknowledge_deployments(lake, config.cdk_qualifier)

    def _grant_pipeline_role(self, role: iam.Role, lake: LakeRefs, images: set[str]) -> None:
        stack = cdk.Stack.of(self)
        repositories = sorted(
            # <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag> -> the repository's ARN
            f"arn:{stack.partition}:ecr:{uri.split('.')[3]}:{uri.split('.')[0]}:repository/"
            f"{uri.split('/', 1)[1].split(':')[0]}"
            for uri in images
        )

        def arn(resource: str, name: str = "*") -> str:
            return stack.format_arn(service="sagemaker", resource=resource, resource_name=name)

        policy = iam.Policy(
            self,
            "PipelineRunPolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    sid="RunPipelineJobs",
                    actions=[
                        "sagemaker:CreateProcessingJob",
                        "sagemaker:DescribeProcessingJob",
                        "sagemaker:StopProcessingJob",
                        "sagemaker:CreateTrainingJob",
                        "sagemaker:DescribeTrainingJob",
                        "sagemaker:StopTrainingJob",
                        "sagemaker:CreateHyperParameterTuningJob",
                        "sagemaker:DescribeHyperParameterTuningJob",
                        "sagemaker:StopHyperParameterTuningJob",
                        "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
                        "sagemaker:AddTags",
                    ],
                    resources=[
                        arn("processing-job"),
                        arn("training-job"),
                        arn("hyper-parameter-tuning-job"),
                    ],
                ),
                iam.PolicyStatement(
                    sid="RegisterModels",
                    actions=[
                        "sagemaker:CreateModelPackage",
                        "sagemaker:DescribeModelPackage",
                        "sagemaker:AddTags",
                    ],
                    resources=[
                        *(arn("model-package-group", g) for g in self.groups),
                        *(arn("model-package", f"{g}/*") for g in self.groups),
                    ],
                ),
                iam.PolicyStatement(
                    sid="PullJobImages",
                    actions=[
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchCheckLayerAvailability",
                    ],
                    resources=repositories,
                ),
                iam.PolicyStatement(
                    # Jobs encrypt their volumes and outputs with the lake key: SageMaker
                    # creates grants on it for the job's instances, nothing else may.
                    sid="JobVolumeKeyGrants",
                    actions=["kms:CreateGrant", "kms:DescribeKey"],
                    resources=[lake.key.key_arn],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                ),
                iam.PolicyStatement(
                    sid="PassOwnRoleToJobs",
                    actions=["iam:PassRole"],
                    resources=[role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
            ],
        )
        per_run = "SageMaker names jobs per execution, so only the job type is known: "
        acknowledge_wildcards(
            policy,
            resources={
                arn("processing-job"): per_run + "the pipeline's preprocess and evaluate steps",
                arn("training-job"): per_run + "the tuner's and the baseline's training jobs",
                arn("hyper-parameter-tuning-job"): per_run + "the pipeline's tuning step",
                **{
                    arn("model-package", f"{g}/*"): f"versions of the {g} group, which the "
                    "register steps create (version numbers are assigned at registration)"
                    for g in self.groups
                },
            },
        )

    def _triggers(self, config: PlatformConfig, lake: LakeRefs) -> None:
        events_role = iam.Role(
            self,
            "TriggerRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="EventBridge starts the training pipeline",
        )
        self.grant_start_execution(events_role)
        acknowledge_packs(
            events_role.node.find_child("DefaultPolicy"),
            "IAMNoInlinePolicy",
            "One-statement inline policy of the trigger role (StartPipelineExecution on this "
            "pipeline only), deleted with the role.",
        )
        raw_events = f"s3://{lake.raw_bucket.bucket_name}/events/"
        # A curated dataset drop is a deliberate retrain request. Raw events arrive every
        # Firehose buffer interval, and a 20-job tuning run per delivered object would cost
        # far more than it learns, so raw arrivals do not start the pipeline on their own.
        self.dataset_rule = events.Rule(
            self,
            "DatasetLanded",
            description="Start training when a curated dataset lands under datasets/",
            enabled=config.training.retrain_on_new_data,
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [lake.curated_bucket.bucket_name]},
                    "object": {"key": [{"prefix": DATASET_PREFIX}]},
                },
            ),
        )
        _PipelineTarget(self.pipeline_arn, events_role, {"InputDataUrl": raw_events}).add_to(
            self.dataset_rule
        )
        # Drift detection (monitoring) puts this event; so can an operator.
        self.retrain_event = {"source": RETRAIN_SOURCE, "detail_type": RETRAIN_DETAIL_TYPE}
        self.retrain_rule = events.Rule(
            self,
            "RetrainRequested",
            description="Start training when drift (or an operator) requests a retrain",
            event_pattern=events.EventPattern(
                source=[RETRAIN_SOURCE], detail_type=[RETRAIN_DETAIL_TYPE]
            ),
        )
        _PipelineTarget(self.pipeline_arn, events_role, {"InputDataUrl": raw_events}).add_to(
            self.retrain_rule
        )

    def _acknowledge_deployments(self, lake: LakeRefs, qualifier: str) -> None:
        stack = cdk.Stack.of(self)
        handler = next(
            c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")
        )
        reason = (
            "CDK BucketDeployment's deploy-time handler: it runs only during stack updates to "
            "copy the model code asset into the artifacts zone, never at request time."
        )
        acknowledge_packs(handler, "LambdaInsideVPC", reason)
        for pack in ("HIPAA.Security", "NIST.800.53.R5"):  # PCI DSS has neither rule
            acknowledge(handler, f"{pack}-LambdaConcurrency", reason)
            acknowledge(handler, f"{pack}-LambdaDLQ", reason)
        acknowledge(handler, "AwsSolutions-L1", reason + " Its runtime is pinned by aws-cdk-lib.")
        service_role = handler.node.find_child("ServiceRole")
        acknowledge(
            service_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "AWSLambdaBasicExecutionRole only lets the deploy handler write its own logs.",
        )
        assets = f"arn:aws:s3:::cdk-{qualifier}-assets-{stack.account}-{stack.region}/*"
        acknowledge_wildcards(
            service_role,
            actions={
                **declare(
                    S3_READ,
                    "CDK's deploy handler reads the model code asset and lists "
                    "the destination prefix it syncs",
                ),
                **declare(
                    S3_DELETE,
                    "CDK's deploy handler prunes stale model code objects under "
                    "code/model_code/ of the artifacts zone",
                ),
                **declare(
                    KMS_DATA_KEYS,
                    "CDK's grant on the lake key, which encrypts the code "
                    "objects the handler writes",
                ),
            },
            resources={
                assets: "CDK's bootstrap asset bucket (the default synthesizer's name), read "
                "only, where the model code asset is uploaded",
                f"{lake.artifacts_bucket.bucket_arn}/*": "the artifacts zone, where the handler "
                "copies the model code (code/ prefix)",
            },
        )
