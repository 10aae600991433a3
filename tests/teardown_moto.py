"""moto stand-ins shared by the teardown tests (one account: tests/labctl/test_teardown.py;
three: tests/accounts/test_teardown_accounts.py).

moto gaps (../shared/AWS-FACTS.md), filled by ``MotoGaps`` below and nowhere else:
DeleteModelPackage(Group) and UpdateTerminationProtection are not implemented, moto deletes a
protected stack (AWS refuses), and Cost Explorer's ListCostAllocationTags is missing (Stubber).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError
from botocore.stub import Stubber

ACCOUNT = "123456789012"  # moto's account
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"


def tags(env: str, project: str = "mlops-reference") -> list[dict[str, str]]:
    return [{"Key": "environment", "Value": env}, {"Key": "project", "Value": project}]


class Wrapped:
    """A moto client with a few operations replaced (moto gaps, injected faults)."""

    def __init__(self, client: Any, **overrides: Any) -> None:
        self._client = client
        self._overrides = overrides

    def __getattr__(self, name: str) -> Any:
        return self._overrides.get(name) or getattr(self._client, name)


def _client_error(code: str, message: str, op: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, op)


class MotoGaps:
    """Operations moto lacks, done on moto's own backends so later listings see the result."""

    def __init__(self, region: str, account: str = ACCOUNT) -> None:
        from moto.cloudformation.models import cloudformation_backends
        from moto.sagemaker.models import sagemaker_backends

        self.sm_backend = sagemaker_backends[account][region]
        self.cf_backend = cloudformation_backends[account][region]
        self.calls: list[tuple[str, str]] = []

    def delete_model_package(self, ModelPackageName: str) -> dict[str, Any]:
        self.calls.append(("delete_model_package", ModelPackageName))
        del self.sm_backend.model_packages[ModelPackageName]
        mapping = self.sm_backend.model_package_name_mapping
        for key in [k for k, v in mapping.items() if v == ModelPackageName]:
            del mapping[key]
        return {}

    def delete_model_package_group(self, ModelPackageGroupName: str) -> dict[str, Any]:
        self.calls.append(("delete_model_package_group", ModelPackageGroupName))
        group = self.sm_backend.model_package_groups[ModelPackageGroupName]
        prefix = group.arn.replace("model-package-group", "model-package") + "/"
        if any(arn.startswith(prefix) for arn in self.sm_backend.model_packages):
            raise _client_error(
                "ValidationException", "group is not empty", "DeleteModelPackageGroup"
            )
        del self.sm_backend.model_package_groups[ModelPackageGroupName]
        return {}

    def _stack(self, name: str) -> Any:
        return next(
            s
            for s in self.cf_backend.stacks.values()
            if s.name == name and s.status != "DELETE_COMPLETE"
        )

    def update_termination_protection(
        self, EnableTerminationProtection: bool, StackName: str
    ) -> dict[str, Any]:
        self.calls.append(("update_termination_protection", StackName))
        self._stack(StackName).enable_termination_protection = EnableTerminationProtection
        return {}

    def cloudformation(self, cf: Any, fail: dict[str, int] | None = None) -> Wrapped:
        fail = dict(fail or {})

        def delete_stack(StackName: str) -> dict[str, Any]:
            self.calls.append(("delete_stack", StackName))
            if self._stack(StackName).enable_termination_protection:
                raise _client_error(
                    "ValidationError",
                    f"Stack [{StackName}] cannot be deleted while TerminationProtection is enabled",
                    "DeleteStack",
                )
            if fail.get(StackName, 0) > 0:
                fail[StackName] -= 1
                raise _client_error("ValidationError", "DELETE_FAILED (injected)", "DeleteStack")
            return cf.delete_stack(StackName=StackName)

        return Wrapped(
            cf,
            delete_stack=delete_stack,
            update_termination_protection=self.update_termination_protection,
        )


def cost_explorer(status: str = "Inactive") -> Any:
    ce = boto3.client("ce", region_name="us-east-1")
    stub = Stubber(ce)
    for _ in range(2):
        stub.add_response(
            "list_cost_allocation_tags",
            {
                "CostAllocationTags": [
                    {"TagKey": "environment", "Type": "UserDefined", "Status": status}
                ]
            },
            {"TagKeys": ["environment"], "Type": "UserDefined"},
        )
    stub.activate()
    return ce


def endpoint(sm: Any, name: str, tag_list: list[dict[str, str]] | None, suffix: str) -> None:
    extra = {"Tags": tag_list} if tag_list else {}
    sm.create_model(
        ModelName=f"Model{suffix}", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"}, **extra
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"Config{suffix}",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"Model{suffix}",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
        **extra,
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"Config{suffix}", **extra)


SPEC = {
    "Containers": [{"Image": "x"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


def stack(cf: Any, name: str, env: str, protected: bool = False) -> None:
    cf.create_stack(
        StackName=name,
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
        Tags=tags(env),
        EnableTerminationProtection=protected,
    )
