"""Expiry reaper: lab endpoints carry their lifetime; a scheduled function deletes expired ones.

The runtime runs against moto's SageMaker (endpoints, tags, deletes); SNS is a recorder (the
report's content is what is checked). Expected outcomes come from the planted ages and tags.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from core.config import ConfigError, ExpiryConfig, load_profile
from infra.operations.runtime.reaper.reaper import EXPIRY_TAG, KEEP_TAG, reap
from tests.cfn_serving import physical_names, serving_template, tag_like_cloudformation

ROLE = "arn:aws:iam::123456789012:role/sagemaker"


class Topic:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> dict[str, str]:
        self.messages.append(kwargs)
        return {"MessageId": "1"}


def endpoint(sm: Any, name: str, tags: dict[str, str]) -> None:
    sm.create_model(ModelName=f"m-{name}", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"})
    sm.create_endpoint_config(
        EndpointConfigName=f"c-{name}",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"m-{name}",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(
        EndpointName=name,
        EndpointConfigName=f"c-{name}",
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )


def names(sm: Any) -> set[str]:
    return {e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]}


@pytest.fixture
def account() -> Any:
    with mock_aws():
        sm = boto3.client("sagemaker", region_name="us-east-1")
        lab = {"environment": "lab", EXPIRY_TAG: "12"}
        endpoint(sm, "lab-digits", lab)
        endpoint(sm, "lab-digits-staging", lab)
        endpoint(sm, "lab-long", {"environment": "lab", EXPIRY_TAG: "48"})
        endpoint(sm, "lab-kept", {**lab, KEEP_TAG: "true"})
        endpoint(sm, "lab2-digits", {"environment": "lab2", EXPIRY_TAG: "12"})
        endpoint(sm, "lab-user", {})  # a user's endpoint without tags
        endpoint(sm, "lab-other", {"environment": "lab2", EXPIRY_TAG: "12"})  # our prefix
        yield sm


def test_reaper_deletes_expired_endpoints_of_its_copy_only(account: Any) -> None:
    topic = Topic()
    later = datetime.now(UTC) + timedelta(hours=13)  # past 12 h, before 48 h
    report = reap(
        account, topic, env="lab", topic_arn="arn:t", max_deletes=5, dry_run=False, now=later
    )
    assert sorted(report["deleted"]) == ["lab-digits", "lab-digits-staging"]
    assert report["kept"] == ["lab-kept"]
    assert names(account) == {"lab-long", "lab-kept", "lab2-digits", "lab-user", "lab-other"}
    (message,) = topic.messages
    assert sorted(json.loads(message["Message"])["deleted"]) == ["lab-digits", "lab-digits-staging"]


def test_the_copys_own_endpoints_survive_without_cloudformation_tags(account: Any) -> None:
    """The AWS::SageMaker::Endpoint provider schema has cloudFormationSystemTags: false, so
    the aws:cloudformation:stack-name tag may be missing: the endpoints the construct names
    (STACK_ENDPOINTS) are held for their stacks all the same (fresh reader F1)."""
    topic = Topic()
    later = datetime.now(UTC) + timedelta(hours=49)  # every lifetime is over
    stacks = {"lab-digits": "lab-Serving", "lab-digits-staging": "lab-ServingStaging"}
    report = reap(
        account,
        topic,
        env="lab",
        topic_arn="arn:t",
        max_deletes=5,
        dry_run=False,
        now=later,
        stack_endpoints=stacks,
    )
    assert report["deleted"] == ["lab-long"]
    held = {h["endpoint"]: h["stack"] for h in report["stack_managed"]}
    assert held == stacks
    assert {"lab-digits", "lab-digits-staging"} <= names(account)


def test_nothing_expires_before_its_lifetime(account: Any) -> None:
    topic = Topic()
    soon = datetime.now(UTC) + timedelta(hours=11)
    report = reap(
        account, topic, env="lab", topic_arn="arn:t", max_deletes=5, dry_run=False, now=soon
    )
    assert not any(report.values()) and topic.messages == [] and len(names(account)) == 7


def test_reaper_is_capped_per_run_and_has_a_dry_run(account: Any) -> None:
    later = datetime.now(UTC) + timedelta(hours=49)
    dry = reap(
        account, Topic(), env="lab", topic_arn="arn:t", max_deletes=5, dry_run=True, now=later
    )
    assert len(dry["would_delete"]) == 3 and len(names(account)) == 7
    capped = reap(
        account, Topic(), env="lab", topic_arn="arn:t", max_deletes=2, dry_run=False, now=later
    )
    assert len(capped["deleted"]) == 2 and len(capped["capped"]) == 1
    expired = {"lab-digits", "lab-digits-staging", "lab-long"}
    assert set(capped["deleted"]) | set(capped["capped"]) == expired
    assert len(names(account)) == 5


def test_an_endpoint_mid_update_is_left_and_reported(account: Any) -> None:
    class Busy:
        def __getattr__(self, name: str) -> Any:
            return getattr(account, name)

        def list_endpoints(self, **kw: Any) -> dict[str, Any]:
            page = account.list_endpoints(**kw)
            for e in page["Endpoints"]:
                if e["EndpointName"] == "lab-digits":
                    e["EndpointStatus"] = "Updating"
            return page

    later = datetime.now(UTC) + timedelta(hours=13)
    report = reap(
        Busy(), Topic(), env="lab", topic_arn="arn:t", max_deletes=5, dry_run=False, now=later
    )
    assert report["busy"] == ["lab-digits"] and "lab-digits" in names(account)


def _resources(template: dict, rtype: str) -> list[dict]:
    return [r for r in template["Resources"].values() if r["Type"] == rtype]


def test_lab_deploys_the_reaper_and_tags_endpoints_with_their_lifetime(synth: Any) -> None:
    lab = synth("lab")
    ingestion = lab.template("Ingestion")
    (function,) = [
        f
        for f in _resources(ingestion, "AWS::Lambda::Function")
        if f["Properties"].get("Handler") == "reaper.handler"
    ]
    env = function["Properties"]["Environment"]["Variables"]
    assert env["ENV_NAME"] == "lab" and env["MAX_DELETES"] == "5" and env["DRY_RUN"] == "false"
    rules = [
        r["Properties"].get("ScheduleExpression")
        for r in _resources(ingestion, "AWS::Events::Rule")
    ]
    assert "rate(1 hour)" in rules
    (policy,) = [
        p
        for p in _resources(ingestion, "AWS::IAM::ManagedPolicy")
        if "sagemaker:DeleteEndpoint" in json.dumps(p)
    ]
    delete = next(
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "sagemaker:DeleteEndpoint" in s["Action"]
    )
    assert delete["Resource"] == "arn:aws:sagemaker:us-east-1:111111111111:endpoint/lab-*"
    managed = {}
    for unit in ("Serving", "ServingStaging"):
        (ep,) = _resources(lab.template(unit), "AWS::SageMaker::Endpoint")
        assert {"Key": EXPIRY_TAG, "Value": "12"} in ep["Properties"]["Tags"]
        managed[ep["Properties"]["EndpointName"]] = lab.platform.config.stack_name(unit)
    # the reaper knows the copy's stack-managed endpoints by name (oracle: the Serving
    # templates' own EndpointName), whatever tags CloudFormation does or does not add
    assert json.loads(env["STACK_ENDPOINTS"]) == managed


def test_reaper_logs_are_encrypted_with_the_stacks_logs_key(synth: Any) -> None:
    """Every log group of the platform is KMS-encrypted; the reaper's reuses the Ingestion
    stack's logs-capable key rather than billing a key of its own."""
    ingestion = synth("lab").template("Ingestion")
    function = next(
        f
        for f in _resources(ingestion, "AWS::Lambda::Function")
        if f["Properties"].get("Handler") == "reaper.handler"
    )
    group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    key = ingestion["Resources"][group]["Properties"]["KmsKeyId"]["Fn::GetAtt"][0]
    assert ingestion["Resources"][key]["Type"] == "AWS::KMS::Key"
    assert key.startswith("IngestionKey")


def test_prod_like_has_no_expiry(synth: Any) -> None:
    prod = synth("prod-like")
    assert not any(
        f["Properties"].get("Handler") == "reaper.handler"
        for f in _resources(prod.template("Ingestion"), "AWS::Lambda::Function")
    )
    (ep,) = _resources(prod.template("Serving"), "AWS::SageMaker::Endpoint")
    assert all(t["Key"] != EXPIRY_TAG for t in ep["Properties"]["Tags"])
    assert load_profile("prod-like").expiry.endpoint_hours == 0


def test_expiry_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="expiry.endpoint_hours must be 0"):
        ExpiryConfig(endpoint_hours=721)
    with pytest.raises(ConfigError, match="expiry.max_deletes_per_run must be 1-50"):
        ExpiryConfig(max_deletes_per_run=0)


# -- stack-managed endpoints: left to CloudFormation (DEPLOYABILITY class 7) -------------------


EXPIRING = {"environment": "lab", "expires-after-hours": "12"}


@pytest.fixture
def serving_stack() -> Any:
    """An expired endpoint of the lab-Serving stack, and an expired hand-made one beside it."""
    with mock_aws():
        cf = boto3.client("cloudformation", region_name="us-east-1")
        sm = boto3.client("sagemaker", region_name="us-east-1")
        cf.create_stack(StackName="lab-Serving", TemplateBody=serving_template(1, EXPIRING))
        tag_like_cloudformation(cf, sm, "lab-Serving")
        name = physical_names(cf, "lab-Serving")["Endpoint"]
        assert name.startswith("lab-")  # the reaper's prefix: it does look at this one
        endpoint(sm, "lab-handmade", EXPIRING)
        yield cf, sm, name


def test_stack_managed_endpoint_is_left_to_its_stack_and_the_next_release_keeps_it(
    serving_stack: Any,
) -> None:
    """The reaper deletes the hand-made expired endpoint and leaves the stack's one: deleting
    it behind CloudFormation's back leaves the stack listing an endpoint that is gone, and the
    next release does not bring it back (moto, like CloudFormation, updates in place)."""
    cf, sm, managed = serving_stack
    topic = Topic()
    later = datetime.now(UTC) + timedelta(hours=13)
    report = reap(sm, topic, env="lab", topic_arn="arn:t", max_deletes=5, dry_run=False, now=later)
    assert names(sm) == {managed}
    assert report["deleted"] == ["lab-handmade"]
    (held,) = report["stack_managed"]
    assert held["endpoint"] == managed and held["stack"] == "lab-Serving"
    assert "labctl teardown" in held["advice"] and "keep=true" in held["advice"]
    (message,) = topic.messages
    assert "1 held by stacks" in message["Subject"]
    assert json.loads(message["Message"])["stack_managed"][0]["stack"] == "lab-Serving"
    # a later release: the stack updates, and its endpoint is still there to serve it
    cf.update_stack(StackName="lab-Serving", TemplateBody=serving_template(2, EXPIRING))
    assert cf.describe_stacks(StackName="lab-Serving")["Stacks"][0]["StackStatus"] == (
        "UPDATE_COMPLETE"
    )
    assert physical_names(cf, "lab-Serving")["Endpoint"] in names(sm)


def test_a_stack_managed_endpoint_is_recognised_by_the_cloudformation_tag_only() -> None:
    """The aws: prefix is case-insensitive (CloudFormation resource tagging); a look-alike key
    of a user's own does not make an endpoint stack-managed."""
    from model_code.stack_contract import managing_stack

    assert managing_stack({"aws:cloudformation:stack-name": "lab-Serving"}) == "lab-Serving"
    assert managing_stack({"AWS:CloudFormation:Stack-Name": "lab-Serving"}) == "lab-Serving"
    assert managing_stack({"cloudformation:stack-name": "lab-Serving"}) is None
    assert managing_stack({"aws:cloudformation:stack-id": "arn:..."}) is None
    assert managing_stack({}) is None


# -- the keep tag: exactly keep=true spares an expired endpoint (docs/operations.md) ----------


@pytest.mark.parametrize(
    ("tags", "spared"),
    [
        ({"keep": "true"}, True),
        ({"keep": "True"}, True),
        ({"keep": "false"}, False),
        ({"keep": "yes"}, False),
        ({"keep": ""}, False),
        ({"Keep": "true"}, False),  # SageMaker tag keys are case sensitive
        ({"keep-alive": "true"}, False),
        ({"keeper": "true"}, False),
        ({"do-not-keep": "true"}, False),
    ],
)
def test_only_keep_true_spares_an_expired_endpoint(tags: dict[str, str], spared: bool) -> None:
    with mock_aws():
        sm = boto3.client("sagemaker", region_name="us-east-1")
        endpoint(sm, "lab-x", {"environment": "lab", "expires-after-hours": "1", **tags})
        later = datetime.now(UTC) + timedelta(hours=2)
        report = reap(
            sm, Topic(), env="lab", topic_arn="arn:t", max_deletes=5, dry_run=False, now=later
        )
        assert ("lab-x" in names(sm)) is spared
        assert report["kept"] == (["lab-x"] if spared else [])
        assert report["deleted"] == ([] if spared else ["lab-x"])


# -- the dry-run switch: reports what it would delete, deletes nothing ----------------------


def test_dry_run_deletes_nothing_and_reports_what_it_would_delete(account: Any) -> None:
    topic = Topic()
    later = datetime.now(UTC) + timedelta(hours=13)
    report = reap(
        account, topic, env="lab", topic_arn="arn:t", max_deletes=5, dry_run=True, now=later
    )
    assert len(names(account)) == 7
    assert sorted(report["would_delete"]) == ["lab-digits", "lab-digits-staging"]
    assert report["deleted"] == []
    (message,) = topic.messages
    body = json.loads(message["Message"])
    assert body["dry_run"] is True and body["deleted"] == []
    assert sorted(body["would_delete"]) == ["lab-digits", "lab-digits-staging"]
    assert "0 endpoint(s) deleted" in message["Subject"]


@pytest.mark.parametrize(("setting", "deletes"), [("true", False), ("false", True), (None, True)])
def test_the_handler_reads_the_dry_run_switch_from_its_environment(
    account: Any, monkeypatch: pytest.MonkeyPatch, setting: str | None, deletes: bool
) -> None:
    """DRY_RUN is what the construct writes from expiry.dry_run ("true"/"false"); unset means
    a real run."""
    from infra.operations.runtime.reaper.reaper import handler

    sns = boto3.client("sns", region_name="us-east-1")
    topic_arn = sns.create_topic(Name="alerts")["TopicArn"]
    monkeypatch.setenv("ENV_NAME", "lab")
    monkeypatch.setenv("TOPIC_ARN", topic_arn)
    monkeypatch.setenv("MAX_DELETES", "5")
    if setting is None:
        monkeypatch.delenv("DRY_RUN", raising=False)
    else:
        monkeypatch.setenv("DRY_RUN", setting)
    later = datetime.now(UTC) + timedelta(hours=13)  # past the 12 h lifetime

    class Clock(datetime):  # the handler reads the clock itself
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            # LastModifiedTime is aware: a naive now (datetime.now(None)) cannot be compared
            return later if tz is UTC else later.replace(tzinfo=None)

    monkeypatch.setattr("infra.operations.runtime.reaper.reaper.datetime", Clock)
    report = handler({"source": "aws.events"}, None)
    expired = {"lab-digits", "lab-digits-staging"}
    assert (not (expired & names(account))) is deletes
    assert sorted(report["deleted" if deletes else "would_delete"]) == sorted(expired)


def test_every_page_is_read_and_one_endpoint_it_skips_does_not_end_the_sweep() -> None:
    """Pages of two, each an endpoint the reaper passes over (another copy's, untagged, an
    unreadable lifetime) before an expired one: every expired one is still reaped, and the
    last, exactly at its deadline, counts as expired."""
    with mock_aws():
        sm = boto3.client("sagemaker", region_name="us-east-1")
        lab = {"environment": "lab", "expires-after-hours": "1"}
        endpoint(sm, "lab-other", {"environment": "lab2", "expires-after-hours": "1"})
        endpoint(sm, "lab-e1", lab)
        endpoint(sm, "lab-untagged", {})
        endpoint(sm, "lab-e2", lab)
        endpoint(sm, "lab-garbled", {"environment": "lab", "expires-after-hours": "soon"})
        endpoint(sm, "lab-e3", lab)

        class PagesOfTwo:
            def __getattr__(self, name: str) -> Any:
                return getattr(sm, name)

            def list_endpoints(self, **kw: Any) -> dict[str, Any]:
                order = {"SortBy": "CreationTime", "SortOrder": "Ascending"}
                return sm.list_endpoints(**{**kw, **order, "MaxResults": 2})

        last = sm.describe_endpoint(EndpointName="lab-e3")["LastModifiedTime"]
        report = reap(
            PagesOfTwo(),
            Topic(),
            env="lab",
            topic_arn="arn:t",
            max_deletes=5,
            dry_run=False,
            now=last + timedelta(hours=1),
        )
        assert report["deleted"] == ["lab-e1", "lab-e2", "lab-e3"]
        assert names(sm) == {"lab-other", "lab-untagged", "lab-garbled"}
