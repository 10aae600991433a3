"""A Serving stack's hosting resources, deployed through moto's CloudFormation.

moto creates SageMaker models, endpoint configs and endpoints from a template, but tags only
EC2 resources with the stack-level tags CloudFormation stamps on every resource that takes
them (aws:cloudformation:{stack-name,stack-id,logical-id}; CloudFormation resource tagging).
``tag_like_cloudformation`` adds them, so code that asks "which stack manages this?" sees what
it sees in an account.
"""

from __future__ import annotations

import json
from typing import Any

ROLE = "arn:aws:iam::123456789012:role/sagemaker"
SAGEMAKER_TYPES = (
    "AWS::SageMaker::Model",
    "AWS::SageMaker::EndpointConfig",
    "AWS::SageMaker::Endpoint",
)


def serving_template(release: int, tags: dict[str, str]) -> str:
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    return json.dumps(
        {
            "Resources": {
                "Model": {
                    "Type": "AWS::SageMaker::Model",
                    "Properties": {
                        "ExecutionRoleArn": ROLE,
                        "PrimaryContainer": {"Image": f"xgboost:{release}"},
                        "Tags": tag_list,
                    },
                },
                "Config": {
                    "Type": "AWS::SageMaker::EndpointConfig",
                    "Properties": {
                        "ProductionVariants": [
                            {
                                "VariantName": "AllTraffic",
                                "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                                "InstanceType": "ml.m5.large",
                                "InitialInstanceCount": 1,
                            }
                        ],
                        "Tags": tag_list,
                    },
                },
                "Endpoint": {
                    "Type": "AWS::SageMaker::Endpoint",
                    "Properties": {
                        "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]},
                        "Tags": tag_list,
                    },
                },
            }
        }
    )


def physical_names(cf: Any, stack: str) -> dict[str, str]:
    """Logical id -> name of each SageMaker resource of the stack."""
    return {
        r["LogicalResourceId"]: str(r["PhysicalResourceId"]).split("/")[-1]
        for r in cf.describe_stack_resources(StackName=stack)["StackResources"]
        if r["ResourceType"] in SAGEMAKER_TYPES
    }


def tag_like_cloudformation(cf: Any, sm: Any, stack: str) -> None:
    stack_id = cf.describe_stacks(StackName=stack)["Stacks"][0]["StackId"]
    for r in cf.describe_stack_resources(StackName=stack)["StackResources"]:
        if r["ResourceType"] in SAGEMAKER_TYPES:
            sm.add_tags(
                ResourceArn=r["PhysicalResourceId"],
                Tags=[
                    {"Key": "aws:cloudformation:stack-name", "Value": stack},
                    {"Key": "aws:cloudformation:stack-id", "Value": stack_id},
                    {"Key": "aws:cloudformation:logical-id", "Value": r["LogicalResourceId"]},
                ],
            )
