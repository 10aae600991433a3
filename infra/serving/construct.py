"""A SageMaker endpoint of one kind, updated only through blue/green deployment guardrails.

Kinds: ``real_time`` (one model, autoscaling, data capture), ``serverless`` (memory and
concurrency), ``multi_model`` (the XGBoost image in MultiModel mode over an S3 prefix) and
``multi_container`` (XGBoost and the baseline, invoked directly by container hostname), and
``async`` (a queue: requests and answers in S3, scaling to zero; ``async_inference``).
Models come from registered model packages (the release file). Models and endpoint configs
get generated names, since every property of them is create-only; the endpoint keeps its name
and its variant name, so a new config is a blue/green update with auto-rollback on alarms.
Not stateful. Exposes: endpoint, endpoint_name, endpoint_arn, alarms, invoke_policy, role, and
as aws-cdk's SageMaker ``Endpoint`` does, ``grant_invoke`` and ``metric*`` (also on an endpoint
known by name only: ``ModelEndpoint.from_endpoint_name``). What deploying it takes is derived
beside it, in ``deploy_permissions``.
"""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from core.accounts import iam_path
from core.async_contract import ASYNC_UNPUBLISHED
from core.config import GuardrailConfig, ServingConfig
from core.release import MME_PREFIX, Release, served_models
from infra.compliance.packs import (
    KMS_DATA_KEYS,
    S3_READ,
    S3_WRITE,
    acknowledge_packs,
    acknowledge_wildcards,
    declare,
)
from infra.data_lake.refs import LakeRefs
from infra.network.construct import IsolatedNetwork
from infra.serving.shadow import shadow_variants
from model_code import layout
from model_code.layout import CAPTURE_PREFIX, VARIANT

# Invocation metrics of a variant (SageMaker developer guide, "Amazon SageMaker AI metrics in
# Amazon CloudWatch": namespace AWS/SageMaker, dimensions EndpointName and VariantName).
METRIC_NAMESPACE = "AWS/SageMaker"
SCALING_SLR_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
SCALING_SLR_PATH = (
    f"aws-service-role/{SCALING_SLR_SERVICE}/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)
# Instance families with local NVMe instance storage reject an endpoint-config KmsKeyId
# (SageMaker API reference, CreateEndpointConfig.KmsKeyId): their volumes are
# hardware-encrypted.
_NVME = re.compile(r"^ml\.([a-z]+\d+[a-z]*d[a-z]*|g5|g6|g6e|p5|p5e|trn1|inf2)\.")


def supports_kms(instance_type: str) -> bool:
    return _NVME.match(instance_type) is None


def traffic_routing(g: GuardrailConfig) -> sagemaker.CfnEndpoint.TrafficRoutingConfigProperty:
    if g.mode == "canary":
        return sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
            type="CANARY",
            canary_size=sagemaker.CfnEndpoint.CapacitySizeProperty(
                type="CAPACITY_PERCENT", value=g.canary_percent
            ),
            wait_interval_in_seconds=g.bake_seconds,
        )
    if g.mode == "linear":
        return sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
            type="LINEAR",
            linear_step_size=sagemaker.CfnEndpoint.CapacitySizeProperty(
                type="CAPACITY_PERCENT", value=g.linear_step_percent
            ),
            wait_interval_in_seconds=g.bake_seconds,
        )
    return sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
        type="ALL_AT_ONCE", wait_interval_in_seconds=g.bake_seconds
    )


def endpoint_arn(scope: Construct, endpoint_name: str) -> str:
    """The ARN of an endpoint, or of several with a ``*`` pattern; SageMaker ARNs carry the
    endpoint name in lower case (Service Authorization Reference, Amazon SageMaker AI)."""
    return cdk.Stack.of(scope).format_arn(
        service="sagemaker", resource="endpoint", resource_name=endpoint_name.lower()
    )


class EndpointBase(Construct):
    """What an endpoint offers others, whether this app creates it or names it only (cf.
    aws-cdk ``aws-sagemaker-alpha`` ``EndpointBase.grantInvoke`` and its variant's
    ``metric*`` methods)."""

    endpoint_name: str

    @property
    def endpoint_arn(self) -> str:
        return endpoint_arn(self, self.endpoint_name)

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` call InvokeEndpoint on this endpoint only."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:InvokeEndpoint"],
            resource_arns=[self.endpoint_arn],
        )

    def metric(
        self,
        metric_name: str,
        *,
        variant: str = VARIANT,
        statistic: str = "Sum",
        period: cdk.Duration | None = None,
        **props: Any,
    ) -> cw.Metric:
        """An ``AWS/SageMaker`` metric of one variant of this endpoint.

        Default: the Sum over 5 minutes (as aws-cdk's endpoint variants). ``props`` are
        ``cw.Metric`` options (label, unit, color, ...).
        """
        return cw.Metric(
            namespace=METRIC_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"EndpointName": self.endpoint_name, "VariantName": variant},
            statistic=statistic,
            period=period or cdk.Duration.minutes(5),
            **props,
        )

    def metric_invocations(self, **props: Any) -> cw.Metric:
        """InvokeEndpoint requests (``Invocations``). Default: Sum over 5 minutes."""
        return self.metric("Invocations", **props)

    def metric_invocation_4xx_errors(self, **props: Any) -> cw.Metric:
        """Requests answered with a 4XX code (``Invocation4XXErrors``). Default: Sum over
        5 minutes."""
        return self.metric("Invocation4XXErrors", **props)

    def metric_invocation_5xx_errors(self, **props: Any) -> cw.Metric:
        """Requests answered with a 5XX code (``Invocation5XXErrors``). Default: Sum over
        5 minutes."""
        return self.metric("Invocation5XXErrors", **props)

    def metric_model_errors(self, **props: Any) -> cw.Metric:
        """Requests the model container failed (``InvocationModelErrors``; the service
        answers them with ModelError, HTTP 424). Default: Sum over 5 minutes."""
        return self.metric("InvocationModelErrors", **props)

    def metric_model_latency(self, **props: Any) -> cw.Metric:
        """The model's response time as SageMaker sees it (``ModelLatency``, in
        microseconds). Default: Average over 5 minutes."""
        return self.metric("ModelLatency", **{"statistic": "Average", **props})


class _NamedEndpoint(EndpointBase):
    def __init__(self, scope: Construct, id_: str, endpoint_name: str) -> None:
        super().__init__(scope, id_)
        self.endpoint_name = endpoint_name


class ModelEndpoint(EndpointBase):
    @staticmethod
    def from_endpoint_name(scope: Construct, id_: str, endpoint_name: str) -> EndpointBase:
        """An endpoint this app does not create here (another stack's, or one the delivery
        pipeline deploys), for its grants and metrics."""
        return _NamedEndpoint(scope, id_, endpoint_name)

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: ServingConfig,
        endpoint_name: str,
        release: Release,
        lake: LakeRefs,
        alert_topic: sns.ITopic,
        network: IsolatedNetwork | None,
        capture: Any = None,
    ) -> None:
        super().__init__(scope, id_)
        self.config = config
        # Where data capture goes (its ``artifacts_bucket`` and ``key``): the lake, or in a
        # target account its own capture bucket (infra/stacks/target_stack.py).
        store = capture or lake
        self.endpoint_name = endpoint_name
        stack = cdk.Stack.of(self)
        # Only the models this kind hosts: the baseline is needed (and pulled) by
        # multi_container alone, so other kinds deploy without an approved baseline.
        refs = {name: getattr(release, name) for name in served_models(config.kind)}
        missing = [name for name, ref in refs.items() if ref is None]
        if missing:
            raise ValueError(
                f"serving.kind {config.kind!r} hosts {' and '.join(refs)}, but the release "
                f"{release.source or ''} has no {', '.join(missing)}: approve a version of its "
                "model package group (`labctl model approve --baseline`) and resolve again"
            )

        self.log_groups = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{layout.endpoint_log_group(endpoint_name)}*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"Hosting role of endpoint {endpoint_name}",
            path=iam_path(stack.stack_name),
        )
        lake.artifacts_bucket.grant_read(self.role)  # model artifacts (and the MME prefix)
        if config.data_capture:
            store.artifacts_bucket.grant_put(self.role, f"{CAPTURE_PREFIX}/*")
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PullInferenceImages",
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                resources=[
                    f"arn:{stack.partition}:ecr:{stack.region}:{ref.image.split('.', 1)[0]}"
                    f":repository/{ref.image.split('/', 1)[1].split(':', 1)[0]}"
                    for ref in refs.values()
                    if ref is not None
                ],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EcrAuthToken", actions=["ecr:GetAuthorizationToken"], resources=["*"]
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EndpointLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_groups],
            )
        )

        self.async_inference = None
        if config.kind == "async":  # queue, S3 answers, SNS notifications, scale to zero
            from infra.serving.async_inference import AsyncInference

            self.async_inference = AsyncInference(
                self,
                "Async",
                config=config,
                endpoint_name=endpoint_name,
                lake=store,
                role=self.role,
                alert_topic=alert_topic,
                # a target account's store: the lake read grant covers no request there
                reads_requests=store is not lake,
            )

        vpc_config = None
        if network is not None:
            # SageMaker attaches the endpoint's instances to the VPC with this role.
            network.grant_network_interfaces(self.role)
            vpc_config = sagemaker.CfnModel.VpcConfigProperty(
                subnets=network.vpc.select_subnets(
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                ).subnet_ids,
                security_group_ids=[network.security_group.security_group_id],
            )
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            # Serverless endpoints exclude network isolation (SageMaker developer guide,
            # "Serverless Inference: feature exclusions"); every other kind runs isolated.
            enable_network_isolation=config.kind != "serverless",
            vpc_config=vpc_config,
            **self._containers(release, lake),
        )
        self.model.node.add_dependency(self.role)

        serverless = config.kind == "serverless"
        variant = sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=VARIANT,
            model_name=self.model.attr_model_name,
            initial_variant_weight=1.0,
            initial_instance_count=None if serverless else config.min_instances,
            instance_type=None if serverless else config.instance_type,
            serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                memory_size_in_mb=config.serverless_memory_mb,
                max_concurrency=config.serverless_max_concurrency,
                provisioned_concurrency=config.serverless_provisioned_concurrency or None,
            )
            if serverless
            else None,
        )
        use_kms = not serverless and supports_kms(config.instance_type)
        shadow = shadow_variants(
            self, config=config, release=release, role=self.role, vpc_config=vpc_config
        )
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[variant],
            shadow_production_variants=shadow,
            kms_key_id=store.key.key_arn if use_kms else None,
            data_capture_config=self._capture(store) if config.data_capture else None,
            async_inference_config=self.async_inference.config if self.async_inference else None,
        )
        if not use_kms:
            why = (
                "SageMaker rejects KmsKeyId for serverless endpoints"
                if serverless
                else f"{config.instance_type} has local NVMe storage, which SageMaker "
                "encrypts in hardware and for which it rejects a KmsKeyId"
            )
            acknowledge_packs(
                self.endpoint_config,
                "SageMakerEndpointConfigurationKMSKeyConfigured",
                f"{why}; there is no endpoint storage volume to encrypt with our key.",
            )

        self.alarms = self._alarms(alert_topic)
        if self.async_inference is not None:
            self.alarms += self.async_inference.rollback_alarms
        # Deployment guardrails prerequisites: SageMaker reads the auto-rollback alarms with
        # the endpoint's execution role ("Auto-Rollback Configuration and Monitoring",
        # SageMaker developer guide: cloudwatch:DescribeAlarms on the alarms).
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadRollbackAlarms",
                actions=["cloudwatch:DescribeAlarms"],
                resources=[a.alarm_arn for a in self.alarms],
            )
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            # A release must not restart an autoscaled fleet at the config's initial count:
            # keep the variant's current instance count and weight (RetainAllVariantProperties,
            # AWS::SageMaker::Endpoint / UpdateEndpoint), but apply the release's data capture
            # settings. The deployment config is always the template's (RetainDeploymentConfig
            # false), so a guardrail change in the profile takes effect.
            retain_all_variant_properties=None if serverless else True,
            exclude_retained_variant_properties=None
            if serverless
            else [
                sagemaker.CfnEndpoint.VariantPropertyProperty(
                    variant_property_type="DataCaptureConfig"
                )
            ],
            retain_deployment_config=False,
            deployment_config=sagemaker.CfnEndpoint.DeploymentConfigProperty(
                blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                    traffic_routing_configuration=traffic_routing(config.guardrail),
                    termination_wait_in_seconds=config.guardrail.termination_wait_seconds,
                    maximum_execution_timeout_in_seconds=(
                        config.guardrail.max_execution_timeout_seconds
                    ),
                ),
                auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
                    alarms=[
                        sagemaker.CfnEndpoint.AlarmProperty(alarm_name=a.alarm_name)
                        for a in self.alarms
                    ]
                ),
            ),
        )
        if not serverless:
            self._autoscaling()

        self.invoke_policy = iam.ManagedPolicy(
            self,
            "InvokePolicy",
            description=f"Invoke endpoint {endpoint_name} only",
            path=iam_path(stack.stack_name),
            statements=[
                iam.PolicyStatement(
                    # An async endpoint "can only receive asynchronous invocations" (developer
                    # guide, "Asynchronous inference").
                    actions=[
                        "sagemaker:InvokeEndpointAsync"
                        if self.async_inference
                        else "sagemaker:InvokeEndpoint"
                    ],
                    resources=[self.endpoint_arn],
                ),
                *(self.async_inference.client_statements() if self.async_inference else []),
            ],
        )
        if self.async_inference is not None:
            self.async_inference.declare_client_wildcards(self.invoke_policy)
        capture = {
            f"{store.artifacts_bucket.bucket_arn}/{CAPTURE_PREFIX}/*": "data capture writes "
            "(put only) under the artifacts zone's capture/ prefix",
        }
        acknowledge_wildcards(
            self.role,
            actions={
                **declare(
                    S3_READ,
                    "CDK's read grant on the artifacts zone: model archives and "
                    "the multi-model prefix",
                ),
                **(
                    {
                        **declare(
                            S3_WRITE,
                            "CDK's put grant for data capture uploads (multipart) under capture/",
                        ),
                        **declare(
                            KMS_DATA_KEYS,
                            "CDK's put grant on the lake key: captured data is encrypted with it",
                        ),
                    }
                    if config.data_capture
                    else {}
                ),
            },
            resources={
                f"{lake.artifacts_bucket.bucket_arn}/*": "model archives in the artifacts zone "
                "(read only)",
                **(capture if config.data_capture else {}),
                **(self.async_inference.wildcard_resources() if self.async_inference else {}),
                self.log_groups: "SageMaker names the endpoint's log streams; the group is "
                "this endpoint's own",
            },
            unscoped={
                "ecr:GetAuthorizationToken": "takes no resource (Service Authorization "
                "Reference, Amazon ECR): the endpoint pulls its serving image",
                **(IsolatedNetwork.UNSCOPED_ACTIONS if network else {}),
            },
        )

    def _containers(self, release: Release, lake: LakeRefs) -> dict[str, Any]:
        kind = self.config.kind
        if kind == "multi_model":
            # MME loads models from one S3 prefix, one image; model packages cannot be MME.
            return {
                "primary_container": sagemaker.CfnModel.ContainerDefinitionProperty(
                    image=release.xgboost.image,
                    mode="MultiModel",
                    model_data_url=f"s3://{lake.artifacts_bucket.bucket_name}/{MME_PREFIX}",
                )
            }
        if kind == "multi_container":
            refs = {"xgboost": release.xgboost, "baseline": release.baseline}
            containers = []
            for name in self.config.mce_containers:
                ref = refs[name]
                assert ref is not None  # checked in __init__
                containers.append(
                    sagemaker.CfnModel.ContainerDefinitionProperty(
                        container_hostname=name, model_package_name=ref.package_arn
                    )
                )
            return {
                "containers": containers,
                "inference_execution_config": sagemaker.CfnModel.InferenceExecutionConfigProperty(
                    mode="Direct"
                ),
            }
        return {
            "primary_container": sagemaker.CfnModel.ContainerDefinitionProperty(
                model_package_name=release.xgboost.package_arn
            )
        }

    def _capture(self, lake: LakeRefs) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty:
        return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=True,
            initial_sampling_percentage=self.config.capture_sampling_percent,
            destination_s3_uri=f"s3://{lake.artifacts_bucket.bucket_name}/{CAPTURE_PREFIX}",
            kms_key_id=lake.key.key_arn,
            capture_options=[
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
            ],
            capture_content_type_header=(
                sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                    csv_content_types=["text/csv"], json_content_types=["application/json"]
                )
            ),
        )

    def _alarms(self, topic: sns.ITopic) -> list[cw.Alarm]:
        # One-minute periods: a canary's bake is minutes long, and 2 of 2 breaching minutes
        # roll it back.
        minute = cdk.Duration.minutes(1)
        specs = [
            (
                "Errors5xxAlarm",
                self.metric_invocation_5xx_errors(period=minute),
                0,
                "The endpoint returns 5XX errors: a blue/green update in its bake rolls back.",
            ),
            (
                "ModelErrorsAlarm",
                self.metric_model_errors(period=minute),
                0,
                "The model container fails invocations: a blue/green update rolls back.",
            ),
            (
                "LatencyAlarm",
                self.metric_model_latency(statistic="p99", period=minute),
                self.config.latency_alarm_p99_ms * 1000,
                f"p99 model latency above {self.config.latency_alarm_p99_ms} ms (ModelLatency is "
                "in microseconds): a blue/green update rolls back.",
            ),
        ]
        alarms = []
        for construct_id, metric, threshold, description in specs:
            if self.config.kind == "async" and metric.metric_name in ASYNC_UNPUBLISHED:
                continue  # never published for async endpoints: the alarm would watch nothing
            alarm = cw.Alarm(
                self,
                construct_id,
                metric=metric,
                threshold=threshold,
                evaluation_periods=2,
                datapoints_to_alarm=2,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            alarm.add_alarm_action(cw_actions.SnsAction(topic))
            alarms.append(alarm)
        return alarms

    def _autoscaling(self) -> None:
        # SageMaker variants scale with Application Auto Scaling's service-linked role, which
        # RegisterScalableTarget creates on first use ("Service-linked roles for Application
        # Auto Scaling"): no role of our own, so the template passes none (RoleARN omitted).
        stack = cdk.Stack.of(self)
        service_linked = iam.Role.from_role_arn(
            self,
            "ScalingServiceLinkedRole",
            f"arn:{stack.partition}:iam::{stack.account}:role/{SCALING_SLR_PATH}",
        )
        target = appscaling.ScalableTarget(
            self,
            "ScalableTarget",
            role=service_linked,
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{self.endpoint_name}/variant/{VARIANT}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=self.async_inference.min_capacity(self.config.min_instances)
            if self.async_inference
            else self.config.min_instances,
            max_capacity=self.config.max_instances,
        )
        cfn_target = target.node.default_child
        assert isinstance(cfn_target, appscaling.CfnScalableTarget)
        cfn_target.add_property_deletion_override("RoleARN")
        target.node.add_dependency(self.endpoint)
        if self.async_inference is not None:  # backlog tracking, first instance by step
            self.async_inference.scale(target)
            return
        cooldown = cdk.Duration.seconds(self.config.scale_cooldown_seconds)
        target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=self.config.target_invocations_per_instance,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_in_cooldown=cooldown,
            scale_out_cooldown=cooldown,
        )
