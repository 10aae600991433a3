"""Which resources a CloudFormation stack manages: the tag CloudFormation stamps on them.

Nothing may delete or edit a stack-managed resource behind CloudFormation's back: the stack
still lists it, so an unchanged release leaves it gone and the next change to it fails the
update (``UPDATE_ROLLBACK_FAILED``). The expiry reaper (bundled beside it) and the teardown
scan (``ops/teardown/residue.py``) ask this module, so the rule has one spelling. Standard library
only: it runs in Lambda and in labctl.
"""

from __future__ import annotations

from collections.abc import Mapping

# CloudFormation adds aws:cloudformation:{logical-id,stack-id,stack-name} to every resource
# whose type propagates stack-level tags; the aws: prefix is reserved and case-insensitive
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-resource-tags.html).
# SageMaker endpoints carry them: ListTags returns them and DeleteTags refuses them
# (aws/sagemaker-python-sdk issue 1301).
STACK_NAME_TAG = "aws:cloudformation:stack-name"


def managing_stack(tags: Mapping[str, str]) -> str | None:
    """The name of the stack that manages a resource with these tags, or None (hand-made)."""
    for key, value in tags.items():
        if key.lower() == STACK_NAME_TAG and value:
            return value
    return None
