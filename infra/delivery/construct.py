"""Delivery: a CodePipeline (V2) that ships an approved model through staging to production.

    Source (S3 bundle | GitHub) -> Build (resolve the approved packages, synth, compliance gate)
      -> DeployStaging (CloudFormation) -> SmokeTest (labctl invoke --expect)
      -> Approve (manual) -> DeployProduction (CloudFormation: the endpoint's blue/green update)

An EventBridge rule on "SageMaker Model Package State Change" (Approved, in a group the
serving kind hosts: XGBoost, plus the baseline for multi_container) starts it; the build
resolves the newest approved packages, so the approved one is what ships. For multi_model the
build also publishes the released artifact to the endpoint's ``mme/`` prefix, and the smoke
test invokes that TargetModel.
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
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from core.accounts import (
    bootstrap_version_arn,
    serving_account,
    smoke_build_role_path,
    target_role_arn,
)
from core.async_contract import INPUT_PREFIX
from core.config import PlatformConfig
from core.release import MME_PREFIX, release_groups, served_models
from infra.compliance.packs import (
    KMS_DATA_KEYS,
    S3_DELETE,
    S3_READ,
    acknowledge,
    acknowledge_wildcards,
    declare,
)
from infra.cross_account import cross_account_artifacts, pipeline_role, smoke_in_staging
from infra.data_lake.refs import LakeRefs
from infra.serving.construct import ModelEndpoint
from infra.serving.deploy_permissions import (
    deployment_statements,
    deployment_unscoped,
    deployment_wildcards,
    serving_units,
)
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
        self.alert_topic = alert_topic
        self._config = config
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
        self.artifact_bucket = artifact_bucket = kms_bucket(
            self,
            "ArtifactBucket",
            key=self.key,
            log_bucket=logs_bucket,
            log_prefix="artifacts",
            retain=retain,
        )
        cross = config.multi_account  # issue 17: deploys into the target accounts
        pipeline_bucket: s3.IBucket = artifact_bucket
        if cross:
            pipeline_bucket = cross_account_artifacts(self, config, artifact_bucket, self.key)

        source_out = codepipeline.Artifact("Source")
        build_out = codepipeline.Artifact("Assembly")
        profile = f"--profile {config.profile or config.env_name}"
        kind = config.serving.kind
        build_commands = [
            f".venv/bin/python -m labctl release resolve {profile} --region {stack.region}"
            + (  # issue 17: the serving stacks in the target accounts read these from the release
                f" --artifacts-bucket-arn {lake.artifacts_bucket.bucket_arn}"
                f" --artifacts-key-arn {lake.key.key_arn}"
                if config.multi_account
                else ""
            )
        ]
        if kind == "multi_model":
            # A multi-model endpoint serves only what is under its S3 prefix: copy the
            # released artifact there (named by version) before anything is deployed.
            build_commands.append(
                f".venv/bin/python -m labctl release publish {profile} --region {stack.region} "
                f"--bucket {lake.artifacts_bucket.bucket_name} --kms-key-id {lake.key.key_arn}"
            )
        build_commands.append(
            f".venv/bin/python -m labctl synth {profile} --account {stack.account} "
            f"--region {stack.region} --outdir cdk.out"
        )
        self.build = build = self._project(
            "Build",
            "Resolve the approved model packages, synthesize, run the compliance gate",
            install=BOOTSTRAP,
            commands=build_commands,
            artifacts={"files": ["cdk.out/**/*", "release/**/*"]},
        )
        if kind == "multi_model":
            # Read the registered artifacts (the pipeline writes them under pipelines/), write
            # only the MME prefix; both with the lake key.
            lake.artifacts_bucket.grant_read(build, "pipelines/*")
            lake.artifacts_bucket.grant_put(build, f"{MME_PREFIX}*")
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
                        config.model_package_group,
                        config.baseline_package_group,
                    )
                ],
            )
        )
        # Each kind is invoked the way its clients will: multi_model names the TargetModel
        # the build published (read from the release file in the build's output artifact),
        # multi_container names the XGBoost container (direct invocation needs a hostname).
        release_file = (
            f"$CODEBUILD_SRC_DIR_{build_out.artifact_name}/release/{config.env_name}.json"
        )
        target = {
            "multi_model": f" --target-model-from {release_file}",
            "multi_container": " --target-container xgboost",
            # async: upload, InvokeEndpointAsync, poll (labctl invoke --async, async_contract)
            "async": f" --async --input-location s3://{lake.artifacts_bucket.bucket_name}/"
            f"{INPUT_PREFIX}/{config.staging_endpoint_name}/",
        }.get(kind, "")
        # Held-out rows the released version's own Evaluate step published (never rows the
        # model trained on): each pipeline execution writes them under pipelines/<name>/
        # Evaluate/<execution id>/evaluation/, beside the metrics the version names, and the
        # release file carries that metrics URI (labctl release resolve).
        self.samples_key = samples_key = (
            f"pipelines/{config.pipeline_name}/Evaluate/*/evaluation/smoke_samples.json"
        )
        smoke_commands = [
            f".venv/bin/python -m labctl invoke --endpoint {config.staging_endpoint_name} "
            f"--region {stack.region} "
            f"--samples-from-release {release_file}{target}"
        ]
        if cross:  # read the samples here, invoke as the staging account's smoke-test role
            smoke_commands = smoke_in_staging(
                config, release_file, target
            )  # async: staging's bucket
        self.smoke = smoke = self._project(
            "SmokeTest",
            "Invoke the staging endpoint with held-out Digits samples and check the answers",
            install=BOOTSTRAP,
            commands=smoke_commands,
            role_path=smoke_build_role_path(config) if cross else None,
        )
        smoke.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[lake.artifacts_bucket.arn_for_objects(samples_key)],
            )
        )
        lake.key.grant_decrypt(smoke)
        if not cross:
            # The staging endpoint is the serving stack's, which this pipeline deploys: by name.
            ModelEndpoint.from_endpoint_name(
                self, "StagingEndpoint", config.staging_endpoint_name
            ).grant_invoke(smoke)
        else:  # the smoke test runs as a role in the staging account (core/accounts.py)
            smoke.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    resources=[target_role_arn(config, config.staging_account, "smoke")],
                )
            )

        self.smoke_async_wildcards: dict[str, str] = {}
        # Across accounts the client is the staging smoke role (target_stack._smoke_async).
        if kind == "async" and not cross:
            from infra.serving.async_inference import grant_async_client

            self.smoke_async_wildcards = grant_async_client(
                smoke, lake, config.staging_endpoint_name
            )

        deploy_role = self._deployment_role(config, lake) if not cross else None
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_type=codepipeline.PipelineType.V2,
            artifact_bucket=pipeline_bucket,
            role=pipeline_role(self, config) if cross else None,
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
                            action_name="InvokeStaging",
                            project=smoke,
                            input=source_out,
                            # The release file (smoke samples, TargetModel names) is in the
                            # build's output.
                            extra_inputs=[build_out],
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

        # The deploy actions call CloudFormation with the template, whose BootstrapVersion
        # parameter is an SSM parameter type resolved for the caller as well.
        for stage in ("DeployStaging", "DeployProduction") if not cross else ():
            action_role = (
                self.pipeline.node.find_child(stage)
                .node.find_child(stage)
                .node.find_child("CodePipelineActionRole")
            )
            assert isinstance(action_role, iam.Role)
            action_role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="BootstrapVersion",
                    actions=["ssm:GetParameters"],
                    resources=[
                        bootstrap_version_arn(
                            account=config.account,
                            region=config.region,
                            qualifier=config.cdk_qualifier,
                        )
                    ],
                )
            )

        # Approving a package in a group the serving kind hosts starts the pipeline: the
        # XGBoost group always, the baseline group only when multi_container serves it.
        groups = release_groups(config)
        hosted = [groups[model] for model in served_models(kind)]
        self.approval_rule = events.Rule(
            self,
            "ModelApproved",
            description=f"Start delivery when a model package of {', '.join(hosted)} is approved",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Package State Change"],
                detail={
                    "ModelPackageGroupName": hosted,
                    "ModelApprovalStatus": ["Approved"],
                },
            ),
        )
        self.approval_rule.add_target(targets.CodePipeline(self.pipeline))
        self._acknowledge(config, lake)

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
        role_path: str | None = None,
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
            # a role another account's trust policy names by path (core/accounts.py)
            role=iam.Role(
                self,
                f"{id_}Role",
                assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
                path=role_path,
            )
            if role_path
            else None,
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
        self, stage: str, stack_name: str, assembly: codepipeline.Artifact, role: iam.IRole | None
    ) -> actions.CloudFormationCreateUpdateStackAction:
        # The serving template has no file assets, so CloudFormation deploys it straight from
        # the synthesized assembly: no CDK CLI, no bootstrap roles to assume.
        return actions.CloudFormationCreateUpdateStackAction(
            action_name=f"Deploy{stage}",
            stack_name=stack_name,
            template_path=assembly.at_path(f"cdk.out/{stack_name}.template.json"),
            admin_permissions=False,
            deployment_role=role or self._target_role(stack_name, "deployment"),
            role=None if role else self._target_role(stack_name, "action"),
            cfn_capabilities=[cdk.CfnCapabilities.ANONYMOUS_IAM],
            # A failed first create leaves the stack in ROLLBACK_COMPLETE, which no later update
            # can leave: staging is replaced then (REPLACE_ON_FAILURE, which also allows the
            # action to delete it). Production never is: a failed state there may still hold
            # the serving endpoint, which only a person may decide to delete.
            replace_on_failure=stage == "Staging",
        )

    def _target_role(self, stack_name: str, which: str) -> iam.IRole:
        """A role the target account owns, by its fixed ARN; never modified from here."""
        config = self._config
        account = serving_account(config, stack_name)
        return iam.Role.from_role_arn(
            self,
            f"{which.title()}Role{stack_name}",
            target_role_arn(config, account, which),
            mutable=False,
        )

    def _deployment_role(self, config: PlatformConfig, lake: LakeRefs) -> iam.Role:
        """The role CloudFormation assumes for the serving stacks. What it may do is not
        written here: the serving unit derives it from what it creates (``deploy_permissions``),
        for create, update and delete, so no AdministratorAccess and no drift."""
        role = iam.Role(
            self,
            "DeploymentRole",
            assumed_by=iam.ServicePrincipal("cloudformation.amazonaws.com"),
            description="CloudFormation deploys the serving stacks for the delivery pipeline",
        )
        # A customer managed policy, not the role's inline DefaultPolicy: it is the serving
        # unit's published requirement, reviewable (and attachable) on its own.
        self.deployment_policy = iam.ManagedPolicy(
            self,
            "DeploymentPolicy",
            description="What CloudFormation needs to create, update and delete the serving "
            "stacks (derived by infra/serving/deploy_permissions.py)",
            statements=deployment_statements(
                serving_units(config),
                account=config.account,
                region=config.region,
                qualifier=config.cdk_qualifier,
                key_arn=lake.key.key_arn,
            ),
            roles=[role],
        )
        return role

    def _acknowledge(self, config: PlatformConfig, lake: LakeRefs) -> None:
        """Declare each role's wildcards where the roles are built (CDK's CodeBuild and
        CodePipeline grants, and the derived deployment policy)."""
        stack = cdk.Stack.of(self)
        where = f"{stack.region}:{stack.account}"
        artifacts = {
            f"{self.artifact_bucket.bucket_arn}/*": "the pipeline's artifact bucket: objects "
            "are named per execution by CodePipeline"
        }
        read = declare(S3_READ, "CDK's read grant on the pipeline's artifact bucket only")
        delete = declare(S3_DELETE, "CDK's write grant on the pipeline's artifact bucket only")
        kms = declare(
            KMS_DATA_KEYS,
            "CDK's grant on the delivery key, which encrypts the "
            "artifacts, the source bundle and the build logs",
        )

        def project_grants(project: codebuild.PipelineProject) -> dict[str, str]:
            name = project.project_name
            return {
                f"arn:aws:logs:{where}:log-group:/aws/codebuild/{name}:*": "CodeBuild names "
                "the log streams of this project's own log group per build",
                f"arn:aws:codebuild:{where}:report-group/{name}-*": "CDK's grant on this "
                "project's own test report groups",
            }

        groups = (config.model_package_group, config.baseline_package_group)
        acknowledge_wildcards(
            self.build.role,  # type: ignore[arg-type]
            actions={**read, **delete, **kms},
            resources={
                **artifacts,
                **project_grants(self.build),
                **{
                    stack.format_arn(
                        service="sagemaker", resource="model-package", resource_name=f"{g}/*"
                    ): f"the build resolves the newest approved version of {g}"
                    for g in groups
                },
                **(
                    {
                        f"{lake.artifacts_bucket.bucket_arn}/pipelines/*": "the build reads the "
                        "released model archive the training pipeline wrote under pipelines/",
                        f"{lake.artifacts_bucket.bucket_arn}/{MME_PREFIX}*": "the build publishes "
                        "the released archive under the multi-model endpoint's prefix only",
                    }
                    if config.serving.kind == "multi_model"
                    else {}
                ),
            },
            unscoped={
                "sagemaker:ListModelPackages": "takes no resource ARN (Service Authorization "
                "Reference, Amazon SageMaker)",
            },
        )
        acknowledge_wildcards(
            self.smoke.role,  # type: ignore[arg-type]
            actions={**read, **kms},
            resources={
                **artifacts,
                **project_grants(self.smoke),
                **self.smoke_async_wildcards,
                lake.artifacts_bucket.arn_for_objects(self.samples_key): "one file name in "
                "this pipeline's Evaluate folders; the folder is the pipeline execution id, "
                "unknown until the released version's run",
            },
        )
        pipeline = self.pipeline.role
        acknowledge_wildcards(pipeline, actions={**read, **delete, **kms}, resources=artifacts)

        def action_role(stage: str, action: str) -> IConstruct:
            found = self.pipeline.node.find_child(stage).node.find_child(action)
            return found.node.find_child("CodePipelineActionRole")

        source = "SourceBundle" if config.delivery.source == "s3" else "GitHub"
        acknowledge_wildcards(
            action_role("Source", source),
            actions={**read, **delete, **kms},
            resources=artifacts,
        )
        for stage, stack_name in (
            (
                ("DeployStaging", config.stack_name("ServingStaging")),
                ("DeployProduction", config.stack_name("Serving")),
            )
            if not config.multi_account  # the target accounts own those roles
            else ()
        ):
            acknowledge_wildcards(
                action_role(stage, stage),
                actions={
                    **read,
                    "cloudformation:DescribeStack*": "CDK's deploy action grant: reads the one "
                    "serving stack's status, events and resources",
                    "cloudformation:GetTemplate*": "CDK's deploy action grant: reads the one "
                    "serving stack's template and summary",
                },
                resources={
                    **artifacts,
                    f"arn:aws:cloudformation:{where}:stack/{stack_name}/*": "a stack ARN ends "
                    "in the stack's id, unknown before it exists: this one serving stack",
                },
            )
        acknowledge_wildcards(
            action_role("Approve", "PromoteToProduction"),
            actions={
                "kms:GenerateDataKey*": "CDK's grant to publish the approval request to the "
                "alert topic, encrypted with its key"
            }
            if self.alert_topic.master_key is not None  # an imported topic carries no key
            else None,
        )
        for stage, action in (("Build", "SynthAndGate"), ("SmokeTest", "InvokeStaging")):
            acknowledge_wildcards(action_role(stage, action))  # starts one project: no wildcard
        events_role = self.pipeline.node.find_child("EventsRole")
        acknowledge_wildcards(events_role)  # starts this pipeline only
        if config.multi_account:
            return  # the deployment policies are in the target stacks
        target = {
            "account": config.account,
            "region": config.region,
            "qualifier": config.cdk_qualifier,
            "key_arn": lake.key.key_arn,
        }
        acknowledge_wildcards(
            self.deployment_policy,
            resources=deployment_wildcards(serving_units(config), **target),
            unscoped=deployment_unscoped(serving_units(config), **target),
        )
