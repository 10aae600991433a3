"""The shadow report over capture records written out here: pairing without an inferenceId,
and the cloud report from S3 capture (moto) and CloudWatch latency (Stubber)."""

from __future__ import annotations

from ops.shadow_report import build_report


def test_pairing_falls_back_to_body_and_time() -> None:
    """Records without an inferenceId pair on their request body and second."""

    def record(data: str, answer: str, when: str) -> str:
        import json

        return json.dumps(
            {
                "captureData": {
                    "endpointInput": {"data": data, "encoding": "CSV", "mode": "INPUT"},
                    "endpointOutput": {"data": answer, "encoding": "CSV", "mode": "OUTPUT"},
                },
                "eventMetadata": {"eventId": "x", "inferenceTime": when},
            }
        )

    prod = [record("1,2", "3\n", "T1"), record("4,5", "6\n", "T1")]
    shad = [record("1,2", "3\n", "T1"), record("4,5", "7\n", "T1"), "not json"]
    report = build_report(prod, shad, {})
    assert (report["rows"], report["disagreements"]) == (2, 1)
    assert report["confusion"] == {"3": {"3": 1}, "6": {"7": 1}}


def test_cloud_report_reads_s3_capture_and_cloudwatch_latency() -> None:
    """--region: capture from S3 (moto) per hour folder, ModelLatency per variant (Stubber)."""
    import json
    from datetime import UTC, datetime

    import boto3
    from botocore.stub import ANY, Stubber
    from moto import mock_aws

    from ops.shadow_report import cloud_report

    def record(inference_id: str, answer: str) -> str:
        return json.dumps(
            {
                "captureData": {
                    "endpointInput": {"data": "1,2", "encoding": "CSV", "mode": "INPUT"},
                    "endpointOutput": {"data": answer, "encoding": "CSV", "mode": "OUTPUT"},
                },
                "eventMetadata": {"eventId": "x", "inferenceId": inference_id},
            }
        )

    hour = datetime.now(UTC).strftime("%Y/%m/%d/%H")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="art")
        s3.put_object(
            Bucket="art",
            Key=f"capture/ep/AllTraffic/{hour}/a.jsonl",
            Body="\n".join([record("a", "1"), record("b", "2")]),
        )
        s3.put_object(
            Bucket="art",
            Key=f"capture/ep/Shadow/{hour}/b.jsonl",
            Body="\n".join([record("a", "1"), record("b", "5")]),
        )
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        with Stubber(cloudwatch) as stub:
            for p50 in (400.0, 900.0):
                stub.add_response(
                    "get_metric_statistics",
                    {
                        "Datapoints": [
                            {"SampleCount": 2.0, "ExtendedStatistics": {"p50": p50, "p99": 2000.0}}
                        ]
                    },
                    {
                        k: ANY
                        for k in (
                            "Namespace",
                            "MetricName",
                            "Dimensions",
                            "StartTime",
                            "EndTime",
                            "Period",
                            "ExtendedStatistics",
                            "Unit",
                        )
                    },
                )
            report = cloud_report(s3, cloudwatch, "s3://art/capture", "ep", 1)
    assert (report["rows"], report["disagreements"]) == (2, 1)
    assert report["confusion"] == {"1": {"1": 1}, "2": {"5": 1}}
    assert report["latency"]["AllTraffic"]["p50_ms"] == 0.4
    assert report["latency"]["Shadow"]["p50_ms"] == 0.9
