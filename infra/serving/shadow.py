"""The shadow production variant: the release's challenger beside the production model.

With ``serving.shadow.enabled`` the endpoint config gets ``ShadowProductionVariants`` with one
variant (``Shadow``) serving the release's ``challenger`` package: SageMaker replicates a share
of production requests to it, captures its answers with the endpoint's data capture (under
``capture/<endpoint>/Shadow/``) and returns only production's ("Shadow variants", SageMaker
developer guide). Which endpoints may have one is ``shadow_rules`` (checked in the profile).
The model runs with the hosting role, network isolation and the VPC config of production, and
comes from the same model package group, so deploying it takes no new permission
(``deploy_permissions``: models, the group's packages, the role under the stack's path).
Not stateful. Exposes ``shadow_variants``.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from core.config import ServingConfig
from core.release import Release
from core.shadow_rules import SHADOW_VARIANT


def shadow_variants(
    scope: Construct,
    *,
    config: ServingConfig,
    release: Release,
    role: iam.IRole,
    vpc_config: Any,
) -> list[sagemaker.CfnEndpointConfig.ProductionVariantProperty] | None:
    """The ``ShadowProductionVariants`` of the endpoint config, or None without a shadow."""
    if not config.shadow.enabled:
        return None
    challenger = release.challenger
    if challenger is None:
        raise ValueError(
            f"serving.shadow.enabled, but the release {release.source or ''} names no "
            "challenger: resolve it again (`labctl release resolve` takes the newest Approved "
            "version as the challenger and the one before it as production)"
        )
    stack = cdk.Stack.of(scope)
    registry, repository = challenger.image.split(".", 1)[0], challenger.image.split("/", 1)[1]
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="PullShadowImage",
            actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            resources=[
                f"arn:{stack.partition}:ecr:{stack.region}:{registry}"
                f":repository/{repository.split(':', 1)[0]}"
            ],
        )
    )
    model = sagemaker.CfnModel(
        scope,
        "ShadowModel",
        execution_role_arn=role.role_arn,
        enable_network_isolation=True,  # real_time only (shadow_rules), as production
        vpc_config=vpc_config,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            model_package_name=challenger.package_arn
        ),
    )
    model.node.add_dependency(role)
    return [
        sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=SHADOW_VARIANT,
            model_name=model.attr_model_name,
            # The replicated share is the shadow's weight relative to production's 1.0
            # ("Shadow variants": deploy with InitialVariantWeight; *verify* the ratio reading
            # in an account, the API states no formula for endpoint-config shadows).
            initial_variant_weight=config.shadow.sampling_percentage / 100,
            # Not autoscaled: it sees at most the production fleet's traffic.
            initial_instance_count=config.min_instances,
            instance_type=config.instance_type,
        )
    ]
