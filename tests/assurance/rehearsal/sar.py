"""The oracle of the ARN tests: policy-sentry's own matcher of an ARN against the Service
Authorization Reference (``get_matching_raw_arns``), and a regex built here from the SAR
pattern, never the rehearsal's."""

from __future__ import annotations

import re

from policy_sentry.querying.arns import get_matching_raw_arns

from assurance.rehearsal import arns
from assurance.rehearsal.assembly import Assembly

# Written out here (not read from arns.NO_ARN): the types the templates hold that have no
# SAR resource type, so no ARN to check. A new one must be added here on purpose.
NO_ARN = {
    "AWS::IAM::Policy",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::Subscription",
    "AWS::Events::EventBusPolicy",
    "AWS::Lambda::Permission",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::LakeFormation::DataLakeSettings",
    "AWS::LakeFormation::PrincipalPermissions",
    "AWS::LakeFormation::Resource",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::CDK::Metadata",
}


def sar_regex(raw: str) -> re.Pattern[str]:
    """``arn:${Partition}:s3:::${BucketName}`` as a regex: account 12 digits, region
    ``xx-name-n``, any other placeholder one or more characters without ":"."""
    fields = {
        "Partition": "aws[a-z-]*",
        "Region": "[a-z]{2}-[a-z]+(-[a-z]+)?-[0-9]",
        "Account": "[0-9]{12}",
    }
    out = ""
    for literal, name in re.findall(r"([^$]*)(?:\$\{(\w+)\})?", raw):
        out += re.escape(literal) + (fields.get(name, "[^:]+") if name else "")
    return re.compile(out)


def mismatches(a: Assembly) -> tuple[list[str], set[str]]:
    """Every resource whose modelled ARN does not match its SAR format (with why), and the
    types that got no ARN."""
    bad, without = [], set()
    for res in a.resources():
        arn = arns.arn_of(a, res.stack, res.logical_id)
        if arn is None:
            without.add(res.type)
            continue
        raw = arns.pattern(*arns.sar_type(res.type, res.properties))  # type: ignore[misc]
        matching = get_matching_raw_arns(arn)
        if raw not in matching or not sar_regex(raw).fullmatch(arn):
            bad.append(f"{res.key} ({res.type}): {arn} is not {raw} (SAR matches: {matching})")
    return bad, without
