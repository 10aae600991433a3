"""The permissions boundary on every role of a copy (issue 26, ``security.permissions_boundary``).

A boundary is the most a role's identity policies can grant: a request is allowed only when
an identity policy *and* the boundary allow it, and an explicit Deny in either wins (IAM User
Guide, "Permissions boundaries for IAM entities",
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html).

``'project'``: the boundary this module writes, one customer managed policy with a fixed name
(``<env>-permissions-boundary``) in each account that has roles: the Operations stack in the
copy's (or tooling's) account, each target stack in staging and production. Every other stack
of that account names it by ARN and deploys after it (``infra.platform``'s dependencies).
An organisation's ARN: nothing is created; its roles carry that ARN.

The project boundary allows the services the platform's roles use and nothing else, and denies
the ways out of a boundary: creating a role without this boundary, removing a boundary,
editing this policy, and IAM users or keys. ``labctl synth``'s rehearsal evaluates every
(role, action, resource) the deployment needs as identity ∩ boundary
(``assurance/rehearsal/authority.py``), so a service missing here is named there.

Applied with ``iam.PermissionsBoundary.of(stack)``, CDK's aspect, which sets the property on
every ``AWS::IAM::Role`` of the stack, the roles CDK makes for custom resources included.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from core import accounts
from core.config import PlatformConfig
from infra.compliance.packs import acknowledge_packs, acknowledge_wildcards

# The services the platform's roles call, each with who calls it. A role's identity policy
# can grant nothing outside these, whatever it says.
SERVICES = {
    "application-autoscaling": "endpoint scaling (serving deploy role)",
    "cloudformation": "delivery deploys the serving stacks",
    "cloudwatch": "metrics and alarms (monitoring runner, guardrails)",
    "codebuild": "delivery builds and smoke tests",
    "codepipeline": "the rule that starts the delivery pipeline on an approval",
    "ec2": "network interfaces of jobs, endpoints and functions in the isolated VPC",
    "ecr": "training, processing and serving images",
    "events": "retrain forwarding and the retrain bridge put events",
    "iam": "passing roles to SageMaker; the serving deploy role creates its stack's roles",
    "kinesis": "ingestion (producer, Firehose)",
    "kms": "every bucket, stream and topic is encrypted with the copy's keys",
    "lambda": "the monitoring schedule invokes the drift runner",
    "logs": "every function and job writes CloudWatch Logs",
    "s3": "the lake, artifacts and capture buckets",
    "sagemaker": "pipelines, jobs, registry, endpoints",
    "sns": "alerts and async inference notifications",
    "sqs": "dead-letter queues",
    "ssm": "deploy actions read the CDK bootstrap version parameter",
    "sts": "the delivery pipeline assumes its action roles (and target accounts' roles)",
}

DENY_USERS = (
    "iam:CreateUser",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
)


def project_statements(boundary_arn: str) -> list[dict[str, Any]]:
    """The project boundary's statements, as JSON (the rehearsal and the docs read the same)."""
    return [
        {
            "Sid": "PlatformServices",
            "Effect": "Allow",
            "Action": [f"{service}:*" for service in sorted(SERVICES)],
            "Resource": "*",
        },
        {
            # a role made by a bounded role carries this boundary, or is not made
            "Sid": "NoRoleWithoutThisBoundary",
            "Effect": "Deny",
            "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": boundary_arn}},
        },
        {
            "Sid": "NoBoundaryRemoval",
            "Effect": "Deny",
            "Action": ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
            "Resource": "*",
        },
        {
            "Sid": "NoBoundaryChange",
            "Effect": "Deny",
            "Action": [
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            "Resource": boundary_arn,
        },
        {"Sid": "NoUsersOrKeys", "Effect": "Deny", "Action": list(DENY_USERS), "Resource": "*"},
    ]


class ProjectBoundary(Construct):
    """The project boundary of one account: a managed policy attached to nothing, named by
    the roles' ``PermissionsBoundary``."""

    def __init__(self, scope: Construct, id_: str, *, config: PlatformConfig) -> None:
        super().__init__(scope, id_)
        account = cdk.Stack.of(self).account
        arn = accounts.permissions_boundary_arn(config, account)
        assert arn is not None
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            managed_policy_name=config.permissions_boundary_name,
            description=f"Permissions boundary of every role of {config.env_name} (issue 26)",
            document=iam.PolicyDocument.from_json(
                {"Version": "2012-10-17", "Statement": project_statements(arn)}
            ),
        )
        cap = (
            "a permissions boundary grants nothing by itself, it caps what the roles' own "
            "(least-privilege) policies can grant at the services the platform uses; the "
            "rehearsal evaluates identity and boundary together. Used for: "
        )
        acknowledge_wildcards(
            self.policy,
            actions={f"{s}:*": cap + why for s, why in SERVICES.items()},
            unscoped={
                **{f"{s}:*": cap + why for s, why in SERVICES.items()},
                **{
                    a: "denied on every resource: a bounded role may never do this"
                    for a in (
                        "iam:CreateRole",
                        "iam:PutRolePermissionsBoundary",
                        "iam:DeleteRolePermissionsBoundary",
                        "iam:DeleteUserPermissionsBoundary",
                        *DENY_USERS,
                    )
                },
            },
        )
        acknowledge_packs(
            self.policy,
            "IAMPolicyNoStatementsWithFullAccess",
            "The boundary's service-wide Allow statements (service:*) cap the roles' own "
            "policies, which name their actions; attached to no role, user or group.",
        )


def apply_boundary(
    stack: cdk.Stack, config: PlatformConfig, own: iam.IManagedPolicy | None = None
) -> None:
    """Put the profile's boundary on every role of ``stack``. ``own``: the project boundary
    when ``stack`` defines it (a reference, so CloudFormation creates it before the roles);
    other stacks name it by ARN and deploy after the stack that does."""
    arn = accounts.permissions_boundary_arn(config, stack.account)
    if arn is None:
        return
    policy = own or iam.ManagedPolicy.from_managed_policy_arn(stack, "PermissionsBoundary", arn)
    iam.PermissionsBoundary.of(stack).apply(policy)
