"""Kinesis Data Streams -> Amazon Data Firehose -> raw zone, with alarms against record loss.

Provisions a KMS-encrypted stream, a Firehose delivery stream into the raw bucket
(time-partitioned prefix, GZIP, lake key, error prefix, delivery logging), a Glue table over
the raw events (partition projection, so no crawler) and the loss alarms.
Stateful: the stream holds up to ``retention_hours`` of records. Exposes: stream, delivery,
key, table, alarms, producer_policy.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from core.config import IngestionConfig
from infra.compliance.packs import (
    KMS_DATA_KEYS,
    S3_DELETE,
    S3_READ,
    acknowledge,
    acknowledge_wildcards,
    declare,
)
from infra.data_lake.refs import LakeRefs
from infra.storage import logs_capable_key
from model_code.events import FIREHOSE_ERROR_PREFIX, FIREHOSE_PREFIX, N_FEATURES

EVENT_COLUMNS = [
    glue.CfnTable.ColumnProperty(name="event_id", type="string"),
    glue.CfnTable.ColumnProperty(name="event_time", type="string"),
    glue.CfnTable.ColumnProperty(
        name="features", type="array<double>", comment=f"{N_FEATURES} pixel intensities"
    ),
    glue.CfnTable.ColumnProperty(name="label", type="int", comment="null when unlabelled"),
    glue.CfnTable.ColumnProperty(name="source", type="string"),
]
PARTITIONS = ("year", "month", "day", "hour")
PROJECTION_FIRST_YEAR = 2024  # earliest partition Athena projects; older events are not expected


class StreamIngestion(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: IngestionConfig,
        lake: LakeRefs,
        alert_topic: sns.ITopic,
        retain: bool,
    ) -> None:
        super().__init__(scope, id_)
        removal = cdk.RemovalPolicy.RETAIN if retain else cdk.RemovalPolicy.DESTROY
        self.key = logs_capable_key(
            self, "Key", description="Event stream and delivery logs", retain=retain
        )
        on_demand = config.stream_mode == "on_demand"
        self.stream = kinesis.Stream(
            self,
            "Stream",
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=self.key,
            retention_period=cdk.Duration.hours(config.retention_hours),
            stream_mode=kinesis.StreamMode.ON_DEMAND
            if on_demand
            else kinesis.StreamMode.PROVISIONED,
            shard_count=None if on_demand else config.shard_count,
            removal_policy=removal,
        )
        acknowledge(
            self.stream,
            "AwsSolutions-KDS3",
            "A customer-managed key is the deliberate choice: its key policy, rotation and "
            "grants are ours to scope and audit, which the aws/kinesis managed key forbids.",
        )

        log_group = logs.LogGroup(
            self,
            "DeliveryLogs",
            encryption_key=self.key,
            retention=logs.RetentionDays.ONE_YEAR if retain else logs.RetentionDays.ONE_MONTH,
            removal_policy=removal,
        )
        self.delivery_role = iam.Role(
            self,
            "DeliveryRole",
            assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"),
            description="Firehose: read the event stream, write the raw zone",
        )
        self.delivery = firehose.DeliveryStream(
            self,
            "Delivery",
            source=firehose.KinesisStreamSource(self.stream),
            role=self.delivery_role,
            destination=firehose.S3Bucket(
                lake.raw_bucket,
                role=self.delivery_role,
                data_output_prefix=FIREHOSE_PREFIX,
                error_output_prefix=FIREHOSE_ERROR_PREFIX,
                compression=firehose.Compression.GZIP,
                file_extension=".gz",
                encryption_key=lake.key,
                buffering_interval=cdk.Duration.seconds(config.buffer_interval_seconds),
                buffering_size=cdk.Size.mebibytes(config.buffer_size_mib),
                logging_config=firehose.EnableLogging(log_group),
            ),
        )
        acknowledge(
            self.delivery,
            "AwsSolutions-KDF1",
            "Firehose with a Kinesis stream source cannot set its own SSE: records are "
            "encrypted in the stream (KMS CMK) and in the raw bucket (lake KMS key).",
        )

        self.table = self._raw_table(lake)
        self.alarms = self._alarms(config, alert_topic)

        # Attach this to the producers' roles or users: put records, nothing else.
        self.producer_policy = iam.ManagedPolicy(
            self,
            "ProducerPolicy",
            description="Put events into the platform's ingestion stream",
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "kinesis:PutRecord",
                        "kinesis:PutRecords",
                        "kinesis:DescribeStreamSummary",
                    ],
                    resources=[self.stream.stream_arn],
                ),
                iam.PolicyStatement(actions=["kms:GenerateDataKey"], resources=[self.key.key_arn]),
            ],
        )
        writes = "Firehose's CDK grant on the raw bucket: it writes (and cleans up multipart "
        acknowledge_wildcards(
            self.delivery_role,
            actions={
                **declare(S3_READ + S3_DELETE, writes + "uploads of) delivered event objects"),
                **declare(
                    KMS_DATA_KEYS, "CDK's grant on the lake key, to encrypt delivered objects"
                ),
            },
            resources={
                f"{lake.raw_bucket.bucket_arn}/*": "the raw zone's objects, where Firehose "
                "delivers events (one bucket)",
            },
        )

    def _raw_table(self, lake: LakeRefs) -> glue.CfnTable:
        account = cdk.Stack.of(self).account
        location = f"s3://{lake.raw_bucket.bucket_name}/events/"
        return glue.CfnTable(
            self,
            "RawEventsTable",
            catalog_id=account,
            database_name=lake.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name="raw_events",
                description="Events as Firehose delivers them (GZIP JSON lines)",
                table_type="EXTERNAL_TABLE",
                partition_keys=[
                    glue.CfnTable.ColumnProperty(name=p, type="string") for p in PARTITIONS
                ],
                parameters={
                    "classification": "json",
                    "compressionType": "gzip",
                    # Partition projection: Athena computes partitions, no crawler to run or pay.
                    "projection.enabled": "true",
                    "projection.year.type": "integer",
                    "projection.year.range": f"{PROJECTION_FIRST_YEAR},2099",
                    "projection.month.type": "integer",
                    "projection.month.range": "1,12",
                    "projection.month.digits": "2",
                    "projection.day.type": "integer",
                    "projection.day.range": "1,31",
                    "projection.day.digits": "2",
                    "projection.hour.type": "integer",
                    "projection.hour.range": "0,23",
                    "projection.hour.digits": "2",
                    "storage.location.template": location
                    + "year=${year}/month=${month}/day=${day}/hour=${hour}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=EVENT_COLUMNS,
                    location=location,
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    compressed=True,
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe",
                        parameters={"ignore.malformed.json": "false"},
                    ),
                ),
            ),
        )

    def _alarms(self, config: IngestionConfig, topic: sns.ITopic) -> list[cw.Alarm]:
        period = cdk.Duration.minutes(5)
        retention_ms = config.retention_hours * 3600 * 1000
        freshness_limit = max(900, 3 * config.buffer_interval_seconds)
        specs = [
            (
                "IteratorAgeAlarm",
                self.stream.metric_get_records_iterator_age_milliseconds(
                    statistic="Maximum", period=period
                ),
                retention_ms * config.iterator_age_alarm_fraction,
                "Oldest unread record is past "
                f"{int(config.iterator_age_alarm_fraction * 100)} % of the stream retention: "
                "records will expire before Firehose delivers them.",
            ),
            (
                "DeliveryFreshnessAlarm",
                self.delivery.metric(
                    "DeliveryToS3.DataFreshness", statistic="Maximum", period=period
                ),
                freshness_limit,
                f"Records older than {freshness_limit} s are still undelivered to the raw zone.",
            ),
            (
                "WriteThrottleAlarm",
                self.stream.metric_write_provisioned_throughput_exceeded(
                    statistic="Sum", period=period
                ),
                0,
                "Producers are throttled: PutRecords entries are failing and being retried.",
            ),
            (
                "ReadThrottleAlarm",
                self.stream.metric_read_provisioned_throughput_exceeded(
                    statistic="Sum", period=period
                ),
                0,
                "Consumers (Firehose) are throttled reading the stream; delivery lags.",
            ),
        ]
        alarms = []
        for name, metric, threshold, description in specs:
            alarm = cw.Alarm(
                self,
                name,
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            alarm.add_alarm_action(cw_actions.SnsAction(topic))
            alarms.append(alarm)
        failed = cw.Alarm(
            self,
            "DeliveryFailureAlarm",
            metric=self.delivery.metric("DeliveryToS3.Success", statistic="Average", period=period),
            threshold=1,
            evaluation_periods=2,
            comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description="Firehose S3 deliveries are failing (it retries while the stream "
            "keeps the records; see the delivery log group).",
        )
        failed.add_alarm_action(cw_actions.SnsAction(topic))
        alarms.append(failed)
        return alarms
