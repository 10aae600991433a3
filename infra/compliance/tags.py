"""Cost-allocation tags on every taggable resource, including CDK's raw-CfnResource providers.

``Tags.of`` only reaches constructs that implement ITaggable; the singleton custom-resource
providers (bucket auto-delete, default-security-group restriction) are plain CfnResources,
so this aspect writes their Tags property directly.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
import jsii
from constructs import IConstruct

# Resource types CDK's CustomResourceProvider creates as plain CfnResources.
PROVIDER_TYPES = ("AWS::IAM::Role", "AWS::Lambda::Function")


@jsii.implements(cdk.IAspect)
class _ProviderTags:
    def __init__(self, tags: Mapping[str, str]) -> None:
        self.tags = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]

    def visit(self, node: IConstruct) -> None:
        if (
            isinstance(node, cdk.CfnResource)
            and not cdk.TagManager.is_taggable(node)
            and node.cfn_resource_type in PROVIDER_TYPES
        ):
            node.add_property_override("Tags", self.tags)


def apply_tags(scope: IConstruct, tags: Mapping[str, str]) -> None:
    for key, value in sorted(tags.items()):
        cdk.Tags.of(scope).add(key, value)
    cdk.Aspects.of(scope).add(_ProviderTags(tags))
