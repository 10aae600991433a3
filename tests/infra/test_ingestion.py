"""Ingestion: stream, Firehose into the raw zone, Glue table, loss alarms, least-privilege roles."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from model_code.events import FIREHOSE_ERROR_PREFIX, FIREHOSE_PREFIX

PINNED = {
    "IngestionStreamE182A196": "AWS::Kinesis::Stream",
    "IngestionKey9A6237CE": "AWS::KMS::Key",
}


@pytest.fixture(scope="module", params=["lab", "prod-like"])
def ingestion(request: pytest.FixtureRequest, synth) -> tuple[object, dict]:  # type: ignore[no-untyped-def]
    result = synth(request.param)
    return result.platform.config, result.template("Ingestion")


def test_stream_is_kms_encrypted_with_a_week_of_retention(ingestion) -> None:  # type: ignore[no-untyped-def]
    config, template = ingestion
    props = template["Resources"]["IngestionStreamE182A196"]["Properties"]
    assert props["StreamEncryption"]["EncryptionType"] == "KMS"
    assert props["StreamEncryption"]["KeyId"] == {"Fn::GetAtt": ["IngestionKey9A6237CE", "Arn"]}
    assert props["RetentionPeriodHours"] == config.ingestion.retention_hours >= 168
    mode = props["StreamModeDetails"]["StreamMode"]
    assert mode == config.ingestion.stream_mode.upper()
    if mode == "PROVISIONED":
        assert props["ShardCount"] == config.ingestion.shard_count
    else:
        assert "ShardCount" not in props


def test_stateful_logical_ids_are_pinned(ingestion) -> None:  # type: ignore[no-untyped-def]
    _, template = ingestion
    for logical_id, kind in PINNED.items():
        assert template["Resources"][logical_id]["Type"] == kind


def test_firehose_reads_the_stream_and_writes_partitioned_gzip_to_the_raw_zone(ingestion) -> None:  # type: ignore[no-untyped-def]
    config, template = ingestion
    (delivery,) = (
        Template.from_json(template).find_resources("AWS::KinesisFirehose::DeliveryStream").values()
    )
    props = delivery["Properties"]
    assert props["DeliveryStreamType"] == "KinesisStreamAsSource"
    assert props["KinesisStreamSourceConfiguration"]["KinesisStreamARN"] == {
        "Fn::GetAtt": ["IngestionStreamE182A196", "Arn"]
    }
    s3 = props["ExtendedS3DestinationConfiguration"]
    env = config.env_name
    assert s3["BucketARN"] == {"Fn::ImportValue": f"{env}-lake-raw-bucket-arn"}
    assert s3["Prefix"] == FIREHOSE_PREFIX
    assert s3["ErrorOutputPrefix"] == FIREHOSE_ERROR_PREFIX
    assert s3["CompressionFormat"] == "GZIP"
    assert s3["FileExtension"] == ".gz"
    assert s3["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"] == {
        "Fn::ImportValue": f"{env}-lake-key-arn"
    }
    assert s3["BufferingHints"] == {
        "IntervalInSeconds": config.ingestion.buffer_interval_seconds,
        "SizeInMBs": config.ingestion.buffer_size_mib,
    }
    assert s3["CloudWatchLoggingOptions"]["Enabled"] is True


def test_raw_events_table_matches_the_event_schema_and_layout(ingestion) -> None:  # type: ignore[no-untyped-def]
    config, template = ingestion
    (table,) = Template.from_json(template).find_resources("AWS::Glue::Table").values()
    table_input = table["Properties"]["TableInput"]
    assert table["Properties"]["DatabaseName"] == config.lake_database
    columns = {c["Name"]: c["Type"] for c in table_input["StorageDescriptor"]["Columns"]}
    assert columns == {
        "event_id": "string",
        "event_time": "string",
        "features": "array<double>",
        "label": "int",
        "source": "string",
    }
    assert [p["Name"] for p in table_input["PartitionKeys"]] == ["year", "month", "day", "hour"]
    assert table_input["Parameters"]["projection.enabled"] == "true"
    template_str = json.dumps(table_input["Parameters"]["storage.location.template"])
    assert "events/year=${year}/month=${month}/day=${day}/hour=${hour}/" in template_str
    serde = table_input["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    assert serde == "org.openx.data.jsonserde.JsonSerDe"


def test_loss_alarms_notify_the_operations_alert_topic(ingestion) -> None:  # type: ignore[no-untyped-def]
    """The topic is the Operations stack's (tests/infra/test_operations.py: encrypted)."""
    config, template = ingestion
    t = Template.from_json(template)
    assert not t.find_resources("AWS::SNS::Topic")  # no topic of its own
    alarms = t.find_resources("AWS::CloudWatch::Alarm")
    by_metric = {a["Properties"]["MetricName"]: a["Properties"] for a in alarms.values()}
    # the expiry reaper (lab only) has a dead-letter queue alarmed on its depth
    # (infra/operations/dead_letters.py)
    reaper = {"ApproximateNumberOfMessagesVisible"} if config.expiry.endpoint_hours else set()
    assert set(by_metric) == {
        "GetRecords.IteratorAgeMilliseconds",
        "DeliveryToS3.DataFreshness",
        "DeliveryToS3.Success",
        "WriteProvisionedThroughputExceeded",
        "ReadProvisionedThroughputExceeded",
        *reaper,
    }
    iterator = by_metric["GetRecords.IteratorAgeMilliseconds"]
    retention_ms = config.ingestion.retention_hours * 3600 * 1000
    assert iterator["Threshold"] == retention_ms * config.ingestion.iterator_age_alarm_fraction
    for props in by_metric.values():
        (action,) = props["AlarmActions"]
        assert action["Fn::GetStackOutput"]["StackName"] == config.stack_name("Operations")
        assert action["Fn::GetStackOutput"]["OutputName"].startswith("PublishOutputRefAlertsTopic")


def test_delivery_role_reads_only_its_stream_and_writes_only_the_raw_zone(ingestion) -> None:  # type: ignore[no-untyped-def]
    config, template = ingestion
    policies = Template.from_json(template).find_resources("AWS::IAM::Policy")
    (policy,) = [p for k, p in policies.items() if k.startswith("IngestionDeliveryRole")]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    text = json.dumps(statements)
    assert '"*"' not in text.replace('"/*"', "")  # no bare "*" resource anywhere
    assert f"{config.env_name}-lake-raw-bucket-arn" in text
    for other in ("curated", "artifacts"):
        assert f"{config.env_name}-lake-{other}-bucket-arn" not in text
    kinesis_actions = {
        a
        for s in statements
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        if a.startswith("kinesis:")
    }
    assert kinesis_actions and not any(a.startswith("kinesis:Put") for a in kinesis_actions)


def test_producer_policy_only_puts_records(ingestion) -> None:  # type: ignore[no-untyped-def]
    _, template = ingestion
    policies = Template.from_json(template).find_resources("AWS::IAM::ManagedPolicy")
    (policy,) = (p for lid, p in policies.items() if lid.startswith("IngestionProducerPolicy"))
    actions = sorted(
        a
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    )
    assert actions == [
        "kinesis:DescribeStreamSummary",
        "kinesis:PutRecord",
        "kinesis:PutRecords",
        "kms:GenerateDataKey",
    ]


def test_ingestion_built_alone_alarms_the_topic_it_is_given() -> None:
    """Built in a bare stack with only the lake's references and a topic: loss alarms notify
    that topic and the stream is encrypted with the unit's own key."""
    import aws_cdk as cdk
    from aws_cdk import aws_sns as sns

    from core.config import load_profile
    from infra.data_lake.refs import LakeRefs
    from infra.ingestion.construct import StreamIngestion
    from infra.platform import cdk_json_context

    stack = cdk.Stack(
        cdk.App(context=cdk_json_context()),
        "Bare",
        env=cdk.Environment(account="111111111111", region="us-east-1"),
    )
    topic_arn = "arn:aws:sns:us-east-1:111111111111:alerts"
    StreamIngestion(
        stack,
        "Ingestion",
        config=load_profile("lab").ingestion,
        lake=LakeRefs(stack, "Lake", env_name="bare", database_name="bare_lake"),
        alert_topic=sns.Topic.from_topic_arn(stack, "Topic", topic_arn),
        retain=False,
    )
    t = Template.from_stack(stack)
    alarms = t.find_resources("AWS::CloudWatch::Alarm").values()
    assert len(alarms) == 5
    assert all(a["Properties"]["AlarmActions"] == [topic_arn] for a in alarms)
    (stream,) = t.find_resources("AWS::Kinesis::Stream").values()
    assert stream["Properties"]["StreamEncryption"]["KeyId"]["Fn::GetAtt"][0].startswith(
        "IngestionKey"
    )
