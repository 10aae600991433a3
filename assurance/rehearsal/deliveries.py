"""Resource policies for services: when an AWS service delivers to a resource of the copy, the
resource's policy (and its customer key's policy) must let that service in.

The (source -> target) edges are derived from the templates:

- CloudWatch alarms (AlarmActions, OKActions, InsufficientDataActions) -> SNS topics;
- AWS Budgets (SNS subscribers) -> SNS topics;
- EventBridge rules -> their SNS, SQS and Lambda targets (no RoleArn: resource policies) and
  each target's dead-letter queue;
- S3 bucket notifications -> SNS, SQS, Lambda;
- CloudWatch Logs -> the customer key of each KMS-encrypted log group (``log_group_keys``:
  the key policy must let ``logs.<region>.amazonaws.com`` use it, or the log group is not
  created).
- CloudTrail trails -> their S3 log bucket and its customer key (``trail_findings``).

For each edge, the target's policy is evaluated as the service would be: an
``AWS::SNS::TopicPolicy`` (which *replaces* SNS's default policy; with none, the default one),
an ``AWS::SQS::QueuePolicy`` (with none, only the owner may send) or the function's
``AWS::Lambda::Permission``s; then, when the target is encrypted with a customer key, the key's
policy for ``kms:GenerateDataKey`` and ``kms:Decrypt``. Services that deliver with a role the
template names (EventBridge Scheduler, Lambda's own dead-letter queue) are identity-policy
requirements: ``service_roles`` rows. Standard library plus principalmapper's matcher, as
``authority``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from assurance.rehearsal.assembly import Assembly, Resource
from assurance.rehearsal.authority import (  # principalmapper, imported after its Python 3.10 fix
    CaseInsensitiveDict,
    Finding,
    policy_has_matching_statement,
)

DOC_SNS_SERVICES = "https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html"
DOC_SNS_KMS = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services"
DOC_SQS_KMS = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html#compatibility-with-aws-services"
DOC_EVENTS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html"
DOC_EVENTS_DLQ = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html"
DOC_BUDGETS = "https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html"
DOC_S3 = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html"
DOC_LOGS_KMS = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"
# What CloudWatch Logs does with a log group's key (the guide's key policy grants the wildcards
# kms:Encrypt*, Decrypt*, ReEncrypt*, GenerateDataKey*, Describe*); these three it cannot lack.
LOGS_KMS_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")
DOC_SNS_DEFAULT = "https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html"

# "Amazon S3 bucket policy for CloudTrail" and "Configure AWS KMS key policies for CloudTrail"
# (CloudTrail User Guide): what a trail's log bucket and key must admit.
DOC_TRAIL_BUCKET = "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html"
DOC_TRAIL_KEY = "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html"
DOC_TRAIL_VALIDATION = "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-intro.html"

CLOUDTRAIL = "cloudtrail.amazonaws.com"
CLOUDWATCH = "cloudwatch.amazonaws.com"
BUDGETS = "budgets.amazonaws.com"
EVENTS = "events.amazonaws.com"
S3 = "s3.amazonaws.com"

ALARM_ACTIONS = ("AlarmActions", "OKActions", "InsufficientDataActions")
KMS_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
ACTION = {"sns": "sns:Publish", "sqs": "sqs:SendMessage", "lambda": "lambda:InvokeFunction"}


@dataclass(frozen=True)
class Delivery:
    """One service writing to one resource of the copy on behalf of one source resource."""

    service: str  # the service principal
    source: Resource  # the alarm, budget, rule or bucket
    source_arn: str
    target: str  # the topic, queue or function ARN
    doc: str

    def context(self, a: Assembly, *, for_key: bool) -> dict[str, str]:
        """The request context the service's call carries. EventBridge's calls to KMS for an
        encrypted target are not documented to carry aws:SourceArn / aws:SourceAccount (the
        SNS and SQS compatibility examples admit events.amazonaws.com without them), so a key
        statement that requires them is not trusted to match."""
        account = a.account_of(self.source.stack)
        ctx = {"aws:SecureTransport": "true"}
        if not (for_key and self.service == EVENTS):
            ctx |= {"aws:SourceAccount": account, "aws:SourceArn": self.source_arn}
        if self.service == CLOUDWATCH:  # what SNS's default policy conditions on
            ctx["AWS:SourceOwner"] = account
        return ctx


def _kind(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 5 and parts[0] == "arn" else ""


def deliveries(a: Assembly) -> list[Delivery]:
    """Each (service, source, target) once, in template order."""
    return list({(d.service, d.source.key, d.target): d for d in _deliveries(a)}.values())


def _deliveries(a: Assembly) -> Iterator[Delivery]:
    for r in a.resources(type_="AWS::CloudWatch::Alarm"):
        p = a.resolve(r.stack, r.properties)
        arn = a.get_att(r.stack, r.logical_id, "Arn")
        for prop in ALARM_ACTIONS:
            for target in p.get(prop, []):
                if _kind(str(target)) == "sns":
                    yield Delivery(CLOUDWATCH, r, arn, str(target), DOC_SNS_KMS)
    for r in a.resources(type_="AWS::Budgets::Budget"):
        p = a.resolve(r.stack, r.properties)
        name = p.get("Budget", {}).get("BudgetName", r.logical_id)
        arn = f"arn:{a.partition}:budgets::{a.account_of(r.stack)}:budget/{name}"
        for n in p.get("NotificationsWithSubscribers", []):
            for sub in n.get("Subscribers", []):
                if sub.get("SubscriptionType") == "SNS":
                    yield Delivery(BUDGETS, r, arn, str(sub["Address"]), DOC_BUDGETS)
    for r in a.resources(type_="AWS::Events::Rule"):
        p = a.resolve(r.stack, r.properties)
        arn = a.get_att(r.stack, r.logical_id, "Arn")
        for t in p.get("Targets", []):
            target = str(t.get("Arn", ""))
            if _kind(target) in ACTION and not t.get("RoleArn"):
                yield Delivery(EVENTS, r, arn, target, DOC_EVENTS)
            dlq = t.get("DeadLetterConfig", {}).get("Arn")
            if dlq:
                yield Delivery(EVENTS, r, arn, str(dlq), DOC_EVENTS_DLQ)
    for r in a.resources():
        if r.type not in ("AWS::S3::Bucket", "Custom::S3BucketNotifications"):
            continue
        p = a.resolve(r.stack, r.properties)
        config = p.get("NotificationConfiguration", {})
        bucket = (
            a.get_att(r.stack, r.logical_id, "Arn")
            if r.type == "AWS::S3::Bucket"
            else f"arn:{a.partition}:s3:::{p.get('BucketName', '')}"
        )
        for key, field in (
            ("TopicConfigurations", "Topic"),
            ("QueueConfigurations", "Queue"),
            ("LambdaFunctionConfigurations", "Function"),
        ):
            for c in config.get(key, []):
                target = c.get(field) or c.get("TopicArn") or c.get("QueueArn")
                target = target or c.get("LambdaFunctionArn")
                if target:
                    yield Delivery(S3, r, bucket, str(target), DOC_S3)


# -- resource-policy evaluation -------------------------------------------------------------


def _principal_matches(statement: dict[str, Any], service: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for kind in ("Service", "AWS"):
        values = principal.get(kind, [])
        values = values if isinstance(values, list) else [values]
        if (kind == "Service" and service in values) or (kind == "AWS" and "*" in values):
            return True
    return False


def allows(
    statements: list[dict[str, Any]],
    service: str,
    action: str,
    resource: str,
    context: dict[str, str],
) -> bool:
    """Resource-policy evaluation for a service principal: explicit Deny > Allow > nothing."""
    ctx = CaseInsensitiveDict(context)

    def matches(effect: str) -> bool:
        return any(
            _principal_matches(s, service)
            and policy_has_matching_statement(
                {"Statement": [{k: v for k, v in s.items() if k != "Principal"}]},
                effect,
                action,
                resource,
                ctx,
            )
            for s in statements
        )

    return not matches("Deny") and matches("Allow")


def _default_topic_policy(a: Assembly, topic: Resource, arn: str) -> list[dict[str, Any]]:
    """SNS's default topic policy: the owner account's principals, conditioned on
    AWS:SourceOwner (what CloudWatch alarms of the account publish with)."""
    return [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["SNS:Publish", "SNS:Subscribe", "SNS:GetTopicAttributes"],
            "Resource": arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": a.account_of(topic.stack)}},
        }
    ]


@dataclass
class Target:
    resource: Resource
    statements: list[dict[str, Any]]
    key: str  # the KMS key id or ARN the target is encrypted with, or ""


def _statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = doc.get("Statement", [])
    return list(found if isinstance(found, list) else [found])


def _target(a: Assembly, arn: str) -> Target | None:
    kind = _kind(arn)
    if kind == "sns":
        for t in a.resources(type_="AWS::SNS::Topic"):
            if a.get_att(t.stack, t.logical_id, "Arn") != arn:
                continue
            policies = [
                s
                for p in a.resources(type_="AWS::SNS::TopicPolicy")
                if arn in a.resolve(p.stack, p.properties.get("Topics", []))
                for s in _statements(a.resolve(p.stack, p.properties["PolicyDocument"]))
            ]
            key = str(a.resolve(t.stack, t.properties).get("KmsMasterKeyId", ""))
            return Target(t, policies or _default_topic_policy(a, t, arn), key)
    if kind == "sqs":
        for q in a.resources(type_="AWS::SQS::Queue"):
            if a.get_att(q.stack, q.logical_id, "Arn") != arn:
                continue
            url = a.ref(q.stack, q.logical_id)
            policies = [
                s
                for p in a.resources(type_="AWS::SQS::QueuePolicy")
                if url in a.resolve(p.stack, p.properties.get("Queues", []))
                for s in _statements(a.resolve(p.stack, p.properties["PolicyDocument"]))
            ]
            key = str(a.resolve(q.stack, q.properties).get("KmsMasterKeyId", ""))
            return Target(q, policies, key)  # no queue policy: only the owner may send
    if kind == "lambda":
        for f in a.resources(type_="AWS::Lambda::Function"):
            fn_arn = a.get_att(f.stack, f.logical_id, "Arn")
            if arn.split(":")[:7] != fn_arn.split(":")[:7]:
                continue
            name = a.name_of(f.stack, f.logical_id)
            statements = []
            for perm in a.resources(type_="AWS::Lambda::Permission"):
                p = a.resolve(perm.stack, perm.properties)
                if str(p.get("FunctionName")) not in (fn_arn, name):
                    continue
                cond: dict[str, Any] = {}
                if p.get("SourceArn"):
                    cond["ArnLike"] = {"aws:SourceArn": p["SourceArn"]}
                if p.get("SourceAccount"):
                    cond["StringEquals"] = {"aws:SourceAccount": p["SourceAccount"]}
                statements.append(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": p.get("Principal")},
                        "Action": p.get("Action"),
                        "Resource": fn_arn,
                        **({"Condition": cond} if cond else {}),
                    }
                )
            return Target(f, statements, "")
    return None


def _key(a: Assembly, key: str) -> Resource | None:
    for k in a.resources(type_="AWS::KMS::Key"):
        if key in (a.ref(k.stack, k.logical_id), a.get_att(k.stack, k.logical_id, "Arn")):
            return k
    return None


def log_group_keys(a: Assembly) -> list[Finding]:
    """Each KMS-encrypted log group: its key's policy lets CloudWatch Logs of the region use it,
    with the encryption context the guide names (``kms:EncryptionContext:aws:logs:arn``, the
    log group's ARN). A key the copy does not hold cannot be checked: named too."""
    findings = []
    for g in a.resources(type_="AWS::Logs::LogGroup"):
        a.in_stack(g.stack)
        p = a.resolve(g.stack, g.properties)
        if not p.get("KmsKeyId"):
            continue
        service = f"logs.{a.region}.amazonaws.com"
        key = _key(a, str(p["KmsKeyId"]))
        if key is None:
            findings.append(
                Finding(
                    "delivery",
                    g.key,
                    f"{g.key} is encrypted with {p['KmsKeyId']}, not a key of the copy: its "
                    "policy cannot be checked",
                    "deliveries log group key",
                    DOC_LOGS_KMS,
                )
            )
            continue
        name = a.name_of(g.stack, g.logical_id)
        group_arn = a.arn("logs", f"log-group:{name}")
        context = {
            "aws:SecureTransport": "true",
            "aws:SourceAccount": a.account_of(g.stack),
            "kms:EncryptionContext:aws:logs:arn": group_arn,
        }
        key_arn = a.get_att(key.stack, key.logical_id, "Arn")
        policy = _statements(a.resolve(key.stack, key.properties.get("KeyPolicy", {})))
        for action in LOGS_KMS_ACTIONS:
            if not allows(policy, service, action, key_arn, context):
                findings.append(
                    Finding(
                        "delivery",
                        g.key,
                        f"the key policy of {key.key} (encrypts log group {g.key}) does not "
                        f"allow {service} {action}",
                        "deliveries log group key",
                        DOC_LOGS_KMS,
                    )
                )
    a.in_stack(None)
    return findings


def check(a: Assembly) -> list[Finding]:
    findings = log_group_keys(a)
    for d in deliveries(a):
        a.in_stack(d.source.stack)
        kind = _kind(d.target)
        action = ACTION.get(kind, "")
        subject = d.source.key
        target = _target(a, d.target)
        if target is None:
            findings.append(
                Finding(
                    "delivery",
                    subject,
                    f"{d.service} delivers to {d.target}, which is not a topic, queue or "
                    "function of the copy: its policy cannot be checked",
                    "deliveries",
                    d.doc,
                )
            )
            continue
        if not allows(target.statements, d.service, action, d.target, d.context(a, for_key=False)):
            findings.append(
                Finding(
                    "delivery",
                    subject,
                    f"the policy of {target.resource.key} does not allow {d.service} "
                    f"{action} on {d.target} from {d.source_arn}",
                    f"deliveries {kind} policy",
                    d.doc,
                )
            )
        if not target.key or target.key.startswith("alias/aws/"):
            if target.key:
                findings.append(
                    Finding(
                        "delivery",
                        subject,
                        f"{target.resource.key} is encrypted with the AWS managed key "
                        f"{target.key}, whose policy cannot admit {d.service}",
                        "deliveries key policy",
                        DOC_SNS_KMS if kind == "sns" else DOC_SQS_KMS,
                    )
                )
            continue
        key = _key(a, target.key)
        doc = DOC_SNS_KMS if kind == "sns" else DOC_SQS_KMS
        if key is None:
            findings.append(
                Finding(
                    "delivery",
                    subject,
                    f"{target.resource.key} is encrypted with {target.key}, not a key of the copy: "
                    "its policy cannot be checked",
                    "deliveries key policy",
                    doc,
                )
            )
            continue
        key_arn = a.get_att(key.stack, key.logical_id, "Arn")
        policy = _statements(a.resolve(key.stack, key.properties.get("KeyPolicy", {})))
        for kms_action in KMS_ACTIONS:
            if not allows(policy, d.service, kms_action, key_arn, d.context(a, for_key=True)):
                findings.append(
                    Finding(
                        "delivery",
                        subject,
                        f"the key policy of {key.key} (encrypts {target.resource.key}) does not "
                        f"allow {d.service} {kms_action}",
                        "deliveries key policy",
                        doc,
                    )
                )
    a.in_stack(None)
    return findings + trail_findings(a)


def _bucket_statements(a: Assembly, bucket_name: str) -> list[dict[str, Any]]:
    return [
        s
        for p in a.resources(type_="AWS::S3::BucketPolicy")
        if a.resolve(p.stack, p.properties.get("Bucket")) == bucket_name
        for s in _statements(a.resolve(p.stack, p.properties["PolicyDocument"]))
    ]


def trail_findings(a: Assembly) -> list[Finding]:
    """Each trail's log bucket and key, evaluated as CloudTrail calls them.

    Must allow (this trail's calls): GetBucketAcl on the bucket; PutObject under
    ``[prefix/]AWSLogs/<account>/`` with the bucket-owner-full-control ACL; GenerateDataKey
    with CloudTrail's encryption context (``kms:EncryptionContext:aws:cloudtrail:arn``) and
    DescribeKey on its key. Must deny, so the documented conditions are really there: the
    same calls for another trail (``aws:SourceArn``), a PutObject without the ACL, a
    GenerateDataKey without the encryption context. Log file validation must be on and the
    log files encrypted with a key of the copy."""
    findings: list[Finding] = []
    for t in a.resources(type_="AWS::CloudTrail::Trail"):
        a.in_stack(t.stack)
        p = a.resolve(t.stack, t.properties)
        account = a.account_of(t.stack)
        name = a.name_of(t.stack, t.logical_id)
        arn = f"arn:{a.partition}:cloudtrail:{a.region}:{account}:trail/{name}"
        other = f"arn:{a.partition}:cloudtrail:{a.region}:{account}:trail/another-trail"

        def finding(detail: str, doc: str, source: str, subject: str = t.key) -> None:
            findings.append(Finding("delivery", subject, detail, source, doc))

        if p.get("EnableLogFileValidation") is not True:
            finding(
                "log file validation is off: digest files cannot prove a log file was not "
                "changed or deleted",
                DOC_TRAIL_VALIDATION,
                "deliveries trail",
            )
        bucket = str(p.get("S3BucketName", ""))
        prefix = f"{p['S3KeyPrefix']}/" if p.get("S3KeyPrefix") else ""
        bucket_arn = f"arn:{a.partition}:s3:::{bucket}"
        log_file = f"{bucket_arn}/{prefix}AWSLogs/{account}/CloudTrail/{a.region}/log.json.gz"
        ours = {"aws:SecureTransport": "true", "aws:SourceAccount": account, "aws:SourceArn": arn}
        acl = {"s3:x-amz-acl": "bucket-owner-full-control"}
        statements = _bucket_statements(a, bucket)
        for action, resource, ctx, allowed, why in (
            ("s3:GetBucketAcl", bucket_arn, ours, True, ""),
            ("s3:PutObject", log_file, ours | acl, True, " with bucket-owner-full-control"),
            ("s3:PutObject", log_file, ours, False, " without the bucket-owner-full-control ACL"),
            ("s3:GetBucketAcl", bucket_arn, ours | {"aws:SourceArn": other}, False, ""),
            ("s3:PutObject", log_file, ours | acl | {"aws:SourceArn": other}, False, ""),
        ):
            if allows(statements, CLOUDTRAIL, action, resource, ctx) == allowed:
                continue
            source = "for this trail" if ctx["aws:SourceArn"] == arn else f"for {other}"
            verb = "does not allow" if allowed else "allows"
            finding(
                f"the policy of bucket {bucket} {verb} {CLOUDTRAIL} {action} on {resource}"
                f"{why} {source}"
                + (
                    "" if allowed or source == "for this trail" else " (no aws:SourceArn condition)"
                ),
                DOC_TRAIL_BUCKET,
                "deliveries trail bucket policy",
            )
        key_id = str(p.get("KMSKeyId", ""))
        key = _key(a, key_id) if key_id else None
        if key is None:
            finding(
                f"log files are not encrypted with a customer key of the copy (KMSKeyId "
                f"{key_id or 'unset'})",
                DOC_TRAIL_KEY,
                "deliveries trail key policy",
            )
            continue
        key_arn = a.get_att(key.stack, key.logical_id, "Arn")
        policy = _statements(a.resolve(key.stack, key.properties.get("KeyPolicy", {})))
        context = {"kms:EncryptionContext:aws:cloudtrail:arn": arn}
        for action, ctx, allowed, why in (
            ("kms:GenerateDataKey", ours | context, True, " with CloudTrail's encryption context"),
            ("kms:DescribeKey", ours, True, ""),
            ("kms:GenerateDataKey", ours, False, " without CloudTrail's encryption context"),
            (
                "kms:GenerateDataKey",
                ours | {"aws:SourceArn": other, "kms:EncryptionContext:aws:cloudtrail:arn": other},
                False,
                f" for {other} (no aws:SourceArn condition)",
            ),
        ):
            if allows(policy, CLOUDTRAIL, action, key_arn, ctx) == allowed:
                continue
            verb = "does not allow" if allowed else "allows"
            finding(
                f"the key policy of {key.key} (encrypts the trail's log files) {verb} "
                f"{CLOUDTRAIL} {action}{why}",
                DOC_TRAIL_KEY,
                "deliveries trail key policy",
            )
    a.in_stack(None)
    return findings


def edges(a: Assembly) -> list[tuple[str, str, str]]:
    """(service, source, target) of every delivery: for tests and the report."""
    return [(d.service, d.source.key, d.target) for d in deliveries(a)]
