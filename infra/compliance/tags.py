"""Cost-allocation tags on every taggable resource, including CDK's raw-CfnResource providers.

``Tags.of`` only reaches constructs that implement ITaggable; the singleton custom-resource
providers (bucket auto-delete, default-security-group restriction) are plain CfnResources,
so their Tags property is written directly.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from constructs import IConstruct

# Resource types CDK's CustomResourceProvider creates as plain CfnResources.
PROVIDER_TYPES = ("AWS::IAM::Role", "AWS::Lambda::Function")


def _untaggable_provider_resources(app: IConstruct) -> list[cdk.CfnResource]:
    """The plain CfnResources of each stack's custom-resource providers (a provider is a direct
    child of its stack, its role and handler are the provider's children): a walk of two
    levels under each stack instead of an aspect that calls back into Python for every one
    of the app's constructs (about 440 jsii round trips a synth)."""
    found = []
    for stack in app.node.children:
        if not isinstance(stack, cdk.Stack):
            continue
        for child in stack.node.children:
            if not isinstance(child, cdk.CustomResourceProviderBase):
                continue
            for node in child.node.children:
                if (
                    isinstance(node, cdk.CfnResource)
                    and not cdk.TagManager.is_taggable(node)
                    and node.cfn_resource_type in PROVIDER_TYPES
                ):
                    found.append(node)
    return found


def apply_tags(app: IConstruct, tags: Mapping[str, str]) -> None:
    """Call once every stack is built (``infra.platform`` does, last): the providers exist by
    then, since a bucket or VPC creates its provider when it is constructed."""
    for key, value in sorted(tags.items()):
        cdk.Tags.of(app).add(key, value)
    provider_tags = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
    for resource in _untaggable_provider_resources(app):
        resource.add_property_override("Tags", provider_tags)
