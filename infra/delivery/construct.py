"""Delivery: a CodePipeline (V2) that ships an approved model through staging to production.

    Source (S3 bundle | GitHub) -> Build (resolve the approved packages, synth, compliance gate)
      -> DeployStaging (CloudFormation) -> SmokeTest (labctl invoke --expect)
      -> Approve (manual) -> DeployProduction (CloudFormation: the endpoint's blue/green update)

An EventBridge rule on "SageMaker Model Package State Change" (the XGBoost group, Approved)
starts it; the build resolves the newest approved package, so the approved one is what ships.
Not stateful (artifact and source buckets are emptied with the stack in lab mode).
Exposes: pipeline, source_bucket, approval_rule.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.compliance.packs import acknowledge, acknowledge_grant_policy
from infra.config import PlatformConfig
from infra.data_lake.refs import LakeRefs
from infra.storage import access_log_bucket, kms_bucket, logs_capable_key

SOURCE_KEY = "source/bundle.zip"
BOOTSTRAP = [
    "python3 -m venv .venv",
    ".venv/bin/pip install --quiet -r requirements.txt",
]


class ModelDelivery(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        lake: LakeRefs,
        staging_stack: str,
        production_stack: str,
        alert_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        retain = not config.destroyable
        self.key = logs_capable_key(
            self,
            "Key",
            description="Delivery pipeline artifacts, source and build logs",
            retain=retain,
        )
        logs_bucket = access_log_bucket(self, "AccessLogBucket", retain=retain)
        self.source_bucket = kms_bucket(
            self,
            "SourceBucket",
            key=self.key,
            log_bucket=logs_bucket,
            log_prefix="source",
            retain=retain,
        )
        artifact_bucket = kms_bucket(
            self,
            "ArtifactBucket",
            key=self.key,
            log_bucket=logs_bucket,
            log_prefix="artifacts",
            retain=retain,
        )

        source_out = codepipeline.Artifact("Source")
        build_out = codepipeline.Artifact("Assembly")
        profile = f"--profile {config.profile or config.env_name}"
        build = self._project(
            "Build",
            "Resolve the approved model packages, synthesize, run the compliance gate",
            install=BOOTSTRAP,
            commands=[
                f".venv/bin/python -m labctl release resolve {profile} --region {stack.region}",
                f".venv/bin/python -m labctl synth {profile} --account {stack.account} "
                f"--region {stack.region} --outdir cdk.out",
            ],
            artifacts={"files": ["cdk.out/**/*", "release/**/*"]},
        )
        # ListModelPackages takes no resource ARN (Service Authorization Reference), so "*".
        build.add_to_role_policy(
            iam.PolicyStatement(actions=["sagemaker:ListModelPackages"], resources=["*"])
        )
        build.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sagemaker:DescribeModelPackage"],
                resources=[
                    stack.format_arn(
                        service="sagemaker", resource="model-package", resource_name=f"{g}/*"
                    )
                    for g in (
                        config.training.model_package_group,
                        config.training.baseline_package_group,
                    )
                ],
            )
        )
        # Held-out rows the Evaluate step published (never rows the model trained on); the
        # pipeline writes its outputs under pipelines/<name>/ (PipelineSettings.output).
        samples_key = (
            f"pipelines/{config.training.pipeline_name}/Evaluate/evaluation/smoke_samples.json"
        )
        smoke = self._project(
            "SmokeTest",
            "Invoke the staging endpoint with held-out Digits samples and check the answers",
            install=BOOTSTRAP,
            commands=[
                f".venv/bin/python -m labctl invoke --endpoint {config.staging_endpoint_name} "
                f"--region {stack.region} "
                f"--samples s3://{lake.artifacts_bucket.bucket_name}/{samples_key}"
            ],
        )
        smoke.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[lake.artifacts_bucket.arn_for_objects(samples_key)],
            )
        )
        lake.key.grant_decrypt(smoke)
        smoke.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sagemaker:InvokeEndpoint"],
                resources=[
                    stack.format_arn(
                        service="sagemaker",
                        resource="endpoint",
                        resource_name=config.staging_endpoint_name,
                    )
                ],
            )
        )

        deploy_role = self._deployment_role(config, lake)
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_type=codepipeline.PipelineType.V2,
            artifact_bucket=artifact_bucket,
            restart_execution_on_update=False,
            stages=[
                codepipeline.StageProps(
                    stage_name="Source", actions=[self._source(config, source_out)]
                ),
                codepipeline.StageProps(
                    stage_name="Build",
                    actions=[
                        actions.CodeBuildAction(
                            action_name="SynthAndGate",
                            project=build,
                            input=source_out,
                            outputs=[build_out],
                        )
                    ],
                ),
                codepipeline.StageProps(
                    stage_name="DeployStaging",
                    actions=[self._deploy("Staging", staging_stack, build_out, deploy_role)],
                ),
                codepipeline.StageProps(
                    stage_name="SmokeTest",
                    actions=[
                        actions.CodeBuildAction(
                            action_name="InvokeStaging", project=smoke, input=source_out
                        )
                    ],
                ),
                codepipeline.StageProps(
                    stage_name="Approve",
                    actions=[
                        actions.ManualApprovalAction(
                            action_name="PromoteToProduction",
                            notification_topic=alert_topic,
                            additional_information=(
                                f"Staging endpoint {config.staging_endpoint_name} passed the smoke "
                                "test. Approving updates production with a blue/green deployment "
                                f"({config.serving.guardrail.mode}) that rolls back on alarms."
                            ),
                        )
                    ],
                ),
                codepipeline.StageProps(
                    stage_name="DeployProduction",
                    actions=[self._deploy("Production", production_stack, build_out, deploy_role)],
                ),
            ],
        )

        # Approving a package in the XGBoost group starts the pipeline.
        self.approval_rule = events.Rule(
            self,
            "ModelApproved",
            description="Start delivery when an XGBoost model package is approved",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Package State Change"],
                detail={
                    "ModelPackageGroupName": [config.training.model_package_group],
                    "ModelApprovalStatus": ["Approved"],
                },
            ),
        )
        self.approval_rule.add_target(targets.CodePipeline(self.pipeline))
        self._acknowledge()

    def _source(self, config: PlatformConfig, out: codepipeline.Artifact) -> codepipeline.IAction:
        if config.delivery.source == "github":
            owner, repo = config.delivery.repository.split("/", 1)
            return actions.CodeStarConnectionsSourceAction(
                action_name="GitHub",
                connection_arn=config.delivery.connection_arn,
                owner=owner,
                repo=repo,
                branch=config.delivery.branch,
                output=out,
                trigger_on_push=False,  # models ship on approval, not on every push
            )
        # No CloudTrail data events needed: the approval rule and labctl start the pipeline.
        return actions.S3SourceAction(
            action_name="SourceBundle",
            bucket=self.source_bucket,
            bucket_key=SOURCE_KEY,
            output=out,
            trigger=actions.S3Trigger.NONE,
        )

    def _project(
        self,
        id_: str,
        description: str,
        *,
        install: list[str],
        commands: list[str],
        artifacts: dict[str, object] | None = None,
    ) -> codebuild.PipelineProject:
        log_group = logs.LogGroup(
            self,
            f"{id_}Logs",
            encryption_key=self.key,
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        spec: dict[str, object] = {
            "version": "0.2",
            "env": {
                "variables": {
                    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
                    "CDK_DISABLE_CLI_TELEMETRY": "true",
                }
            },
            "phases": {
                "install": {
                    "runtime-versions": {"python": "3.11", "nodejs": "20"},
                    "commands": install,
                },
                "build": {"commands": commands},
            },
        }
        if artifacts:
            spec["artifacts"] = artifacts
        project = codebuild.PipelineProject(
            self,
            id_,
            description=description,
            encryption_key=self.key,
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                compute_type=codebuild.ComputeType.SMALL,
                privileged=False,
            ),
            build_spec=codebuild.BuildSpec.from_object(spec),
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group)
            ),
            timeout=cdk.Duration.minutes(30),
        )
        for pack in ("HIPAA.Security", "PCI.DSS.321"):
            acknowledge(
                project,
                f"{pack}-CodeBuildProjectSourceRepoUrl",
                "The rule expects OAuth on a GitHub/Bitbucket source; this project's source "
                "is the CodePipeline artifact (type CODEPIPELINE), which has no repository URL.",
            )
        return project

    def _deploy(
        self, stage: str, stack_name: str, assembly: codepipeline.Artifact, role: iam.IRole
    ) -> actions.CloudFormationCreateUpdateStackAction:
        # The serving template has no file assets, so CloudFormation deploys it straight from
        # the synthesized assembly: no CDK CLI, no bootstrap roles to assume.
        return actions.CloudFormationCreateUpdateStackAction(
            action_name=f"Deploy{stage}",
            stack_name=stack_name,
            template_path=assembly.at_path(f"cdk.out/{stack_name}.template.json"),
            admin_permissions=False,
            deployment_role=role,
            cfn_capabilities=[cdk.CfnCapabilities.ANONYMOUS_IAM],
            replace_on_failure=False,
        )

    def _deployment_role(self, config: PlatformConfig, lake: LakeRefs) -> iam.Role:
        """What CloudFormation may do for the serving stacks: endpoints, their roles, alarms,
        scaling, and nothing else (no AdministratorAccess)."""
        stack = cdk.Stack.of(self)
        role = iam.Role(
            self,
            "DeploymentRole",
            assumed_by=iam.ServicePrincipal("cloudformation.amazonaws.com"),
            description="CloudFormation deploys the serving stacks for the delivery pipeline",
        )

        def arn(service: str, resource: str, name: str, fmt: cdk.ArnFormat | None = None) -> str:
            return stack.format_arn(
                service=service, resource=resource, resource_name=name, arn_format=fmt
            )

        serving_roles = arn("iam", "role", f"{config.env_name}-Serving*", None)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="Endpoints",
                actions=[
                    "sagemaker:CreateModel",
                    "sagemaker:DeleteModel",
                    "sagemaker:DescribeModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DeleteEndpointConfig",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:CreateEndpoint",
                    "sagemaker:UpdateEndpoint",
                    "sagemaker:DeleteEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:AddTags",
                    "sagemaker:DeleteTags",
                    "sagemaker:ListTags",
                ],
                resources=[
                    arn("sagemaker", "model", "*"),
                    arn("sagemaker", "endpoint-config", "*"),
                    arn("sagemaker", "endpoint", f"{config.env_name}-digits*"),
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadApprovedPackages",
                actions=["sagemaker:DescribeModelPackage"],
                resources=[
                    arn("sagemaker", "model-package", f"{g}/*")
                    for g in (
                        config.training.model_package_group,
                        config.training.baseline_package_group,
                    )
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="HostingRoles",
                actions=[
                    "iam:CreateRole",
                    "iam:DeleteRole",
                    "iam:GetRole",
                    "iam:TagRole",
                    "iam:UntagRole",
                    "iam:PutRolePolicy",
                    "iam:DeleteRolePolicy",
                    "iam:GetRolePolicy",
                    "iam:AttachRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:CreatePolicy",
                    "iam:DeletePolicy",
                    "iam:GetPolicy",
                    "iam:CreatePolicyVersion",
                    "iam:DeletePolicyVersion",
                    "iam:ListPolicyVersions",
                    "iam:TagPolicy",
                ],
                resources=[
                    serving_roles,
                    arn("iam", "policy", f"{config.env_name}-Serving*", None),
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PassHostingRoles",
                actions=["iam:PassRole"],
                resources=[serving_roles],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="Alarms",
                actions=[
                    "cloudwatch:PutMetricAlarm",
                    "cloudwatch:DeleteAlarms",
                    "cloudwatch:DescribeAlarms",
                    "cloudwatch:TagResource",
                ],
                resources=[
                    arn(
                        "cloudwatch",
                        "alarm",
                        f"{config.env_name}-Serving*",
                        cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="Autoscaling",
                actions=[
                    "application-autoscaling:RegisterScalableTarget",
                    "application-autoscaling:DeregisterScalableTarget",
                    "application-autoscaling:PutScalingPolicy",
                    "application-autoscaling:DeleteScalingPolicy",
                    "application-autoscaling:Describe*",
                    "application-autoscaling:TagResource",
                ],
                resources=["*"],  # scalable targets have no ARN before they exist
            )
        )
        # Serving templates read the alert topic (and subnets) with Fn::GetStackOutput, which
        # CloudFormation resolves with this role: it needs DescribeStacks on those stacks.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadPlatformStackOutputs",
                actions=["cloudformation:DescribeStacks"],
                resources=[
                    stack.format_arn(
                        service="cloudformation",
                        resource="stack",
                        resource_name=f"{config.stack_name(unit)}/*",
                    )
                    for unit in ("Ingestion", "Network")
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="EndpointStorageKey",
                actions=["kms:CreateGrant", "kms:DescribeKey"],
                resources=[lake.key.key_arn],
            )
        )
        return role

    def _acknowledge(self) -> None:
        reasons = {
            "Build": "CodeBuild's own grants (its log group, reports, the delivery key and "
            "artifact bucket) plus ListModelPackages, which takes no resource ARN.",
            "SmokeTest": "CodeBuild's own grants: its log group, reports, the delivery key and "
            "the pipeline's artifact bucket; the endpoint grant names one endpoint.",
            "DeploymentRole": "CloudFormation may manage only the serving stacks' resources: "
            "names start with the env's Serving prefix; scaling targets have no ARN yet.",
        }
        default = (
            "CodePipeline's CDK grants: the delivery key, source and artifact buckets of this "
            "pipeline, and starting its own CodeBuild projects and deploy actions."
        )
        for child in self.node.find_all():
            if isinstance(child, iam.Role) and child.node.try_find_child("DefaultPolicy"):
                owner = child.node.scope
                name = owner.node.id if owner is not None and owner is not self else child.node.id
                acknowledge_grant_policy(child, reasons.get(name, default))
