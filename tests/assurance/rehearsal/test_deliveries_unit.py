"""The deliveries rule on hand-written templates (no synth): the edges no shipped profile has
yet (S3 notifications, an EventBridge rule invoking a function) and SQS's owner-only default.

Oracles: the SQS and Lambda documentation's policy shapes, written out literally here."""

from __future__ import annotations

from typing import Any

from assurance.rehearsal.assembly import Assembly
from assurance.rehearsal.deliveries import check, edges

ACCOUNT, REGION = "111111111111", "us-east-1"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"
FN_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker"


def _assembly(resources: dict[str, Any]) -> Assembly:
    return Assembly({"s": {"Resources": resources}}, ACCOUNT, REGION)


def _bucket_to_queue(policy: list[dict[str, Any]] | None) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs"}},
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": "drop",
                "NotificationConfiguration": {
                    "QueueConfigurations": [
                        {"Event": "s3:ObjectCreated:*", "Queue": {"Fn::GetAtt": ["Queue", "Arn"]}}
                    ]
                },
            },
        },
    }
    if policy is not None:
        resources["QueuePolicy"] = {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": "Queue"}],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": policy},
            },
        }
    return resources


def test_an_s3_notification_to_a_queue_without_a_policy_is_named() -> None:
    a = _assembly(_bucket_to_queue(None))
    assert edges(a) == [("s3.amazonaws.com", "s/Bucket", QUEUE_ARN)]
    (finding,) = check(a)
    assert finding.subject == "s/Bucket"
    assert "does not allow s3.amazonaws.com sqs:SendMessage" in finding.detail


def test_an_s3_notification_the_queue_policy_admits_passes() -> None:
    allow = {
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": QUEUE_ARN,
        "Condition": {
            "ArnLike": {"aws:SourceArn": "arn:aws:s3:::drop"},
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
        },
    }
    assert check(_assembly(_bucket_to_queue([allow]))) == []
    other_bucket = {**allow, "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::other"}}}
    assert len(check(_assembly(_bucket_to_queue([other_bucket])))) == 1


def _rule_to_function(source_arn: str | None) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "worker"}},
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": "tick",
                "Targets": [{"Id": "1", "Arn": {"Fn::GetAtt": ["Fn", "Arn"]}}],
            },
        },
    }
    if source_arn is not None:
        resources["Permission"] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]},
                "Principal": "events.amazonaws.com",
                "SourceArn": source_arn,
            },
        }
    return resources


def test_a_rule_invoking_a_function_needs_its_permission() -> None:
    rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/tick"
    assert check(_assembly(_rule_to_function(rule_arn))) == []
    (missing,) = check(_assembly(_rule_to_function(None)))
    assert f"does not allow events.amazonaws.com lambda:InvokeFunction on {FN_ARN}" in (
        missing.detail
    )
    (wrong,) = check(_assembly(_rule_to_function(f"{rule_arn}-other")))
    assert wrong.subject == "s/Rule"
