"""Issue 26, audit trail: the rehearsal names a hand edit that breaks what CloudTrail needs from
the log bucket's policy and the key's policy ("Amazon S3 bucket policy for CloudTrail",
"Configure AWS KMS key policies for CloudTrail"), or turns log file validation off.

Each test plants one defect in a copy of prod-like's synthesized templates and runs the control
(the same copy without it) first, so the finding is caused by the plant alone.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from assurance.rehearsal.assembly import Assembly
from assurance.rehearsal.deliveries import trail_findings

VARIANT = "prod-like/real_time"
STACK = "prodlike-DataLake"


def _copy(rehearsals) -> Assembly:  # type: ignore[no-untyped-def]
    a = rehearsals(VARIANT).assembly
    return Assembly(copy.deepcopy(a.templates), a.account, a.region)


def _of_type(a: Assembly, type_: str, prefix: str) -> dict[str, Any]:
    (found,) = [
        body
        for logical, body in a.templates[STACK]["Resources"].items()
        if body["Type"] == type_ and logical.startswith(prefix)
    ]
    return found["Properties"]


def _statement(a: Assembly, sid: str) -> dict[str, Any]:
    bucket = _of_type(a, "AWS::S3::BucketPolicy", "AuditTrail")["PolicyDocument"]["Statement"]
    key = _of_type(a, "AWS::KMS::Key", "AuditTrail")["KeyPolicy"]["Statement"]
    (found,) = [s for s in bucket + key if s.get("Sid") == sid]
    return found


def _drop(a: Assembly, sid: str) -> None:
    for props, path in (
        (_of_type(a, "AWS::S3::BucketPolicy", "AuditTrail"), "PolicyDocument"),
        (_of_type(a, "AWS::KMS::Key", "AuditTrail"), "KeyPolicy"),
    ):
        props[path]["Statement"] = [s for s in props[path]["Statement"] if s.get("Sid") != sid]


def _no_condition(sid: str, test: str, key: str) -> Callable[[Assembly], None]:
    def plant(a: Assembly) -> None:
        del _statement(a, sid)["Condition"][test][key]

    return plant


def _validation_off(a: Assembly) -> None:
    _of_type(a, "AWS::CloudTrail::Trail", "AuditTrail")["EnableLogFileValidation"] = False


def _no_key(a: Assembly) -> None:
    del _of_type(a, "AWS::CloudTrail::Trail", "AuditTrail")["KMSKeyId"]


PLANTS: list[tuple[str, Callable[[Assembly], None], str]] = [
    (
        "bucket policy without GetBucketAcl",
        lambda a: _drop(a, "CloudTrailAclCheck"),
        "does not allow cloudtrail.amazonaws.com s3:GetBucketAcl",
    ),
    (
        "bucket policy without PutObject",
        lambda a: _drop(a, "CloudTrailWrite"),
        "does not allow cloudtrail.amazonaws.com s3:PutObject",
    ),
    (
        "PutObject without the ACL condition",
        _no_condition("CloudTrailWrite", "StringEquals", "s3:x-amz-acl"),
        "without the bucket-owner-full-control ACL",
    ),
    (
        "GetBucketAcl without aws:SourceArn",
        _no_condition("CloudTrailAclCheck", "StringEquals", "aws:SourceArn"),
        "allows cloudtrail.amazonaws.com s3:GetBucketAcl",
    ),
    (
        "PutObject without aws:SourceArn",
        _no_condition("CloudTrailWrite", "StringEquals", "aws:SourceArn"),
        "another-trail (no aws:SourceArn condition)",
    ),
    (
        "key policy without GenerateDataKey",
        lambda a: _drop(a, "CloudTrailEncryptLogs"),
        "does not allow cloudtrail.amazonaws.com kms:GenerateDataKey",
    ),
    (
        "GenerateDataKey without the encryption context condition",
        _no_condition(
            "CloudTrailEncryptLogs", "StringLike", "kms:EncryptionContext:aws:cloudtrail:arn"
        ),
        "allows cloudtrail.amazonaws.com kms:GenerateDataKey without CloudTrail's encryption",
    ),
    (
        "GenerateDataKey without aws:SourceArn",
        _no_condition("CloudTrailEncryptLogs", "StringEquals", "aws:SourceArn"),
        "kms:GenerateDataKey for arn:aws:cloudtrail:eu-west-1:222222222222:trail/another-trail",
    ),
    (
        "key policy without DescribeKey",
        lambda a: _drop(a, "CloudTrailDescribeKey"),
        "does not allow cloudtrail.amazonaws.com kms:DescribeKey",
    ),
    ("log file validation off", _validation_off, "log file validation is off"),
    ("no customer key", _no_key, "not encrypted with a customer key"),
]


def test_the_shipped_trail_passes(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals)
    assert len(a.resources(type_="AWS::CloudTrail::Trail")) == 1
    assert trail_findings(a) == []


@pytest.mark.parametrize(("name", "plant", "expected"), PLANTS, ids=[p[0] for p in PLANTS])
def test_a_broken_trail_policy_is_named(rehearsals, name, plant, expected) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals)
    assert trail_findings(a) == []  # control
    plant(a)
    found = trail_findings(a)
    details = "\n".join(f.detail for f in found)
    assert found, f"{name} went unnoticed"
    assert all(f.subject.startswith(f"{STACK}/AuditTrail") for f in found)
    assert expected in details, details
