"""The monitoring Lambdas on in-process moto (S3, CloudWatch) and botocore Stubber
(SageMaker monitoring calls, EventBridge PutEvents): windowed paginated listing across hour
and day boundaries, the processing-job requests, the metrics, and the alarm-to-retrain
bridge with its cooldown and its no-second-run rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from infra.monitoring.runtime import drift_runner, retrain_bridge
from model_code import monitoring_contract as contract

NOW = datetime(2026, 12, 1, 1, 10, tzinfo=UTC)  # window 23:00-01:00 crosses midnight/month
PACKAGE = "arn:aws:sagemaker:us-east-1:111111111111:model-package/digits-xgboost/3"
BASELINE = "s3://art/pipelines/run/Preprocess/baseline/baseline_statistics.json"
ENV = {
    "ENDPOINT_NAME": "lab-digits",
    "CAPTURE_BUCKET": "art",
    "CAPTURE_PREFIX": "capture",
    "RAW_BUCKET": "raw",
    "ARTIFACTS_BUCKET": "art",
    "OUTPUT_PREFIX": "monitoring/drift",
    "WINDOW_HOURS": "2",
    "INSTANCE_COUNT": "3",
    "INSTANCE_TYPE": "ml.m5.large",
    "IMAGE_URI": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1",
    "JOB_ROLE_ARN": "arn:aws:iam::111111111111:role/drift-job",
    "JOB_PREFIX": "lab-drift",
    "CODE_URI": "s3://art/code/model_code/",
    "KMS_KEY_ARN": "arn:aws:kms:us-east-1:111111111111:key/abc",
    "MODEL_PACKAGE_GROUP": "lab-digits-xgboost",
    "SHARE_THRESHOLD": "0.2",
    "METRIC_NAMESPACE": contract.METRIC_NAMESPACE,
    "METRIC_DIMENSION": contract.METRIC_DIMENSION,
    "PIPELINE_NAME": "lab-digits-training",
    "COOLDOWN_HOURS": "12",
    "RETRAIN_SOURCE": contract.RETRAIN_SOURCE,
    "RETRAIN_DETAIL_TYPE": contract.RETRAIN_DETAIL_TYPE,
    "LABEL_LAG_HOURS": "24",
}


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)


ENDPOINT_CONFIG = "lab-Serving-EndpointConfig-AbC123"
MODEL = "lab-Serving-Model-XyZ789"
SM = "arn:aws:sagemaker:us-east-1:111111111111"
DEPLOYED = datetime(2026, 11, 30, 23, 40, tzinfo=UTC)
XGB_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def _model(kind: str, package: str = PACKAGE) -> dict:
    """DescribeModel as the serving unit's models look (API reference, DescribeModel)."""
    if kind == "multi_container":
        baseline = f"{SM}:model-package/lab-digits-baseline/2"
        containers = [
            {"ContainerHostname": "baseline", "ModelPackageName": baseline},
            {"ContainerHostname": "xgboost", "ModelPackageName": package},
        ]
        return {"Containers": containers, "InferenceExecutionConfig": {"Mode": "Direct"}}
    if kind == "multi_model":
        return {
            "PrimaryContainer": {
                "Image": XGB_IMAGE,
                "Mode": "MultiModel",
                "ModelDataUrl": "s3://art/mme/",
            }
        }
    return {"PrimaryContainer": {"ModelPackageName": package}}


def _stub_lookup(stub: Stubber, kind: str = "real_time", package: str = PACKAGE) -> None:
    """The run-time lookup's calls, in order, each with the exact request expected."""
    stub.add_response(
        "describe_endpoint",
        {
            "EndpointName": "lab-digits",
            "EndpointArn": f"{SM}:endpoint/lab-digits",
            "EndpointConfigName": ENDPOINT_CONFIG,
            "EndpointStatus": "InService",
            "CreationTime": DEPLOYED - timedelta(days=3),
            "LastModifiedTime": DEPLOYED,
        },
        {"EndpointName": "lab-digits"},
    )
    stub.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": ENDPOINT_CONFIG,
            "EndpointConfigArn": f"{SM}:endpoint-config/{ENDPOINT_CONFIG.lower()}",
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": MODEL}],
            "CreationTime": DEPLOYED,
        },
        {"EndpointConfigName": ENDPOINT_CONFIG},
    )
    stub.add_response(
        "describe_model",
        {
            "ModelName": MODEL,
            "ModelArn": f"{SM}:model/{MODEL.lower()}",
            "CreationTime": DEPLOYED,
            "ExecutionRoleArn": "arn:aws:iam::111111111111:role/hosting",
            **_model(kind, package),
        },
        {"ModelName": MODEL},
    )
    if kind == "multi_model":
        stub.add_response(
            "list_model_packages",
            {
                "ModelPackageSummaryList": [
                    {
                        "ModelPackageArn": package,
                        "ModelPackageGroupName": "lab-digits-xgboost",
                        "ModelPackageVersion": 3,
                        "CreationTime": DEPLOYED,
                        "ModelPackageStatus": "Completed",
                        "ModelApprovalStatus": "Approved",
                    }
                ]
            },
            {
                "ModelPackageGroupName": "lab-digits-xgboost",
                "ModelApprovalStatus": "Approved",
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
                "MaxResults": 20,
            },
        )


def _stub_no_such_job(stub: Stubber, name: str) -> None:
    """DescribeProcessingJob of a name never used: SageMaker's ValidationException."""
    stub.add_client_error(
        "describe_processing_job",
        service_error_code="ValidationException",
        service_message=f"Could not find requested job with name {name}",
        http_status_code=400,
        expected_params={"ProcessingJobName": name},
    )


def _sagemaker_stub(
    expect_job: bool = True, kind: str = "real_time", package: str = PACKAGE
) -> tuple[Any, Stubber, list[dict]]:
    client = boto3.client("sagemaker", region_name="us-east-1")
    stub = Stubber(client)
    _stub_lookup(stub, kind, package)
    if expect_job:
        _stub_no_such_job(stub, "lab-drift-summarize-2026120101")
    stub.add_response(
        "describe_model_package",
        {
            "ModelPackageName": "lab-digits-xgboost",
            "ModelPackageArn": package,
            "CreationTime": NOW,
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": []},
            "DriftCheckBaselines": {
                "ModelDataQuality": {
                    "Statistics": {"ContentType": "application/json", "S3Uri": BASELINE}
                }
            },
        },
        {"ModelPackageName": package},
    )
    requests: list[dict] = []
    if expect_job:
        stub.add_response(
            "create_processing_job",
            {"ProcessingJobArn": "arn:aws:sagemaker:us-east-1:111111111111:processing-job/x"},
        )
        original = stub._assert_expected_params  # capture the request for inspection

        def capture(model: Any, params: dict, context: Any, **kw: Any) -> None:
            if model.name == "CreateProcessingJob":
                requests.append(params)
            original(model, params, context, **kw)

        stub._assert_expected_params = capture  # type: ignore[method-assign]
    return client, stub, requests


def _put(s3: Any, bucket: str, keys: list[str]) -> None:
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}\n")


@mock_aws
def test_window_listing_pages_across_hour_and_day_and_starts_a_sharded_job() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in ("art", "raw"):
        s3.create_bucket(Bucket=bucket)
    base = "capture/lab-digits/AllTraffic/"
    inside = [f"{base}2026/11/30/23/{i:05d}.jsonl" for i in range(1003)]  # > one page
    inside += [f"{base}2026/12/01/00/a.jsonl"]
    outside = [f"{base}2026/11/30/22/old.jsonl", f"{base}2026/12/01/01/now.jsonl"]
    _put(s3, "art", inside + outside)
    sagemaker, stub, requests = _sagemaker_stub()
    with stub:
        result = drift_runner.handler({}, clients={"s3": s3, "sagemaker": sagemaker, "now": NOW})
    assert result["drift"]["objects"] == 1004 and result["drift"]["source"] == "capture"
    manifest = json.loads(
        s3.get_object(Bucket="art", Key="monitoring/drift/2026/12/01/01/manifest.json")[
            "Body"
        ].read()
    )
    assert manifest[0] == {"prefix": "s3://art/"} and sorted(manifest[1:]) == sorted(inside)
    (request,) = requests
    capture = next(i for i in request["ProcessingInputs"] if i["InputName"] == "capture")
    assert capture["S3Input"]["S3DataType"] == "ManifestFile"
    assert capture["S3Input"]["S3DataDistributionType"] == "ShardedByS3Key"
    assert request["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 3
    args = request["AppSpecification"]["ContainerArguments"]
    assert args[:5] == [
        "summarize",
        "--start",
        "2026-11-30T23:00:00Z",
        "--end",
        "2026-12-01T01:00:00Z",
    ]
    assert args[args.index("--deployed-at") + 1] == "2026-11-30T23:40:00Z"
    baseline = next(i for i in request["ProcessingInputs"] if i["InputName"] == "baseline")
    assert baseline["S3Input"]["S3Uri"] == BASELINE.rsplit("/", 1)[0] + "/"
    assert request["NetworkConfig"]["EnableNetworkIsolation"] is True


@mock_aws
def test_no_capture_falls_back_to_the_raw_zone() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in ("art", "raw"):
        s3.create_bucket(Bucket=bucket)
    _put(s3, "raw", ["events/year=2026/month=12/day=01/hour=00/s-1.gz"])
    sagemaker, stub, requests = _sagemaker_stub()
    with stub:
        result = drift_runner.handler({}, clients={"s3": s3, "sagemaker": sagemaker, "now": NOW})
    drift = result["drift"]
    assert drift["source"] == "raw" and drift["instances"] == 1  # never more than objects
    assert "--raw-dir" in requests[0]["AppSpecification"]["ContainerArguments"]


@pytest.mark.parametrize("kind", ["real_time", "multi_container", "multi_model"])
@mock_aws
def test_the_deployed_version_is_looked_up_from_the_endpoint(kind: str) -> None:
    """Not baked in at synth: the endpoint's config -> model -> package (multi_container:
    the xgboost container, not the baseline; multi_model: the newest Approved version)."""
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in ("art", "raw"):
        s3.create_bucket(Bucket=bucket)
    _put(s3, "art", ["capture/lab-digits/AllTraffic/2026/12/01/00/a.jsonl"])
    v7 = f"{SM}:model-package/lab-digits-xgboost/7"
    sagemaker, stub, requests = _sagemaker_stub(kind=kind, package=v7)
    with stub:
        result = drift_runner.handler({}, clients={"s3": s3, "sagemaker": sagemaker, "now": NOW})
        stub.assert_no_pending_responses()  # every step of the lookup was taken
    assert result["drift"]["source"] == "capture"
    (request,) = requests
    args = request["AppSpecification"]["ContainerArguments"]
    assert args[args.index("--deployed-at") + 1] == "2026-11-30T23:40:00Z"


@mock_aws
def test_no_endpoint_yet_is_a_clean_no_data_report() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in ("art", "raw"):
        s3.create_bucket(Bucket=bucket)
    _put(s3, "raw", ["events/year=2026/month=12/day=01/hour=00/s-1.gz"])  # traffic, no endpoint
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    stub = Stubber(sagemaker)
    stub.add_client_error(
        "describe_endpoint",
        service_error_code="ValidationException",
        service_message='Could not find endpoint "lab-digits".',
        http_status_code=400,
        expected_params={"EndpointName": "lab-digits"},
    )
    with stub:  # nothing else may be called: no job, no package lookup
        result = drift_runner.handler({}, clients={"s3": s3, "sagemaker": sagemaker, "now": NOW})
    assert result["drift"] == {
        "started": None,
        "reason": "not judged: endpoint lab-digits not deployed yet",
    }
    assert result["quality"]["started"] is None
    key = "monitoring/drift/2026/12/01/01/report/drift_report.json"
    report = json.loads(s3.get_object(Bucket="art", Key=key)["Body"].read())
    assert report["status"] == "no_data" and "not deployed yet" in report["verdict"]


def test_other_endpoint_errors_are_not_mistaken_for_no_endpoint() -> None:
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    stub = Stubber(sagemaker)
    stub.add_client_error(
        "describe_endpoint", service_error_code="AccessDeniedException", http_status_code=400
    )
    with stub, pytest.raises(drift_runner.ClientError, match="AccessDenied"):
        drift_runner.deployed_version(sagemaker, "lab-digits")


@mock_aws
def test_an_empty_window_is_reported_and_starts_nothing() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in ("art", "raw"):
        s3.create_bucket(Bucket=bucket)
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(sagemaker):  # any SageMaker call would fail the test
        result = drift_runner.handler({}, clients={"s3": s3, "sagemaker": sagemaker, "now": NOW})
    assert result["drift"]["started"] is None
    assert "no capture and no raw events" in result["drift"]["reason"]
    assert result["quality"]["started"] is None
    key = "monitoring/drift/2026/12/01/01/report/drift_report.json"
    assert json.loads(s3.get_object(Bucket="art", Key=key)["Body"].read())["status"] == "no_data"


@mock_aws
def test_judge_completion_puts_the_report_metrics_to_cloudwatch() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="art")
    report = {"status": "drift", "metrics": {"DriftedFeatureShare": 0.5, "DriftSamples": 300.0}}
    s3.put_object(
        Bucket="art",
        Key="monitoring/drift/r1/report/drift_report.json",
        Body=json.dumps(report).encode(),
    )
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    sagemaker.create_processing_job(  # the judge's own output folder holds its report
        ProcessingJobName="lab-drift-judge-2026120101",
        RoleArn=ENV["JOB_ROLE_ARN"],
        AppSpecification={"ImageUri": ENV["IMAGE_URI"]},
        ProcessingResources={
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 30,
            }
        },
        ProcessingOutputConfig={
            "Outputs": [
                {
                    "OutputName": "output",
                    "S3Output": {
                        "S3Uri": "s3://art/monitoring/drift/r1/report",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
    )
    event = {
        "detail-type": "SageMaker Processing Job State Change",
        "detail": {
            "ProcessingJobName": "lab-drift-judge-2026120101",
            "ProcessingJobStatus": "Completed",
        },
    }
    result = drift_runner.handler(
        event, clients={"s3": s3, "cloudwatch": cloudwatch, "now": NOW, "sagemaker": sagemaker}
    )
    assert result == {"published": 2, "status": "drift"}
    stats = cloudwatch.get_metric_statistics(
        Namespace="MLOpsPlatform/Monitoring",
        MetricName="DriftedFeatureShare",
        Dimensions=[{"Name": "EndpointName", "Value": "lab-digits"}],
        StartTime=NOW - timedelta(minutes=5),
        EndTime=NOW + timedelta(minutes=5),
        Period=60,
        Statistics=["Maximum"],
    )
    assert [p["Maximum"] for p in stats["Datapoints"]] == [0.5]


@mock_aws
def test_quality_job_joins_lagged_predictions_with_labels_since() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in ("art", "raw"):
        s3.create_bucket(Bucket=bucket)
    base = "capture/lab-digits/AllTraffic/"
    # predictions 24 h back (window 2026-11-29 23:00 - 11-30 01:00), labels since then
    _put(s3, "art", [f"{base}2026/11/29/23/p.jsonl", f"{base}2026/11/30/00/p.jsonl"])
    _put(s3, "raw", ["events/year=2026/month=11/day=30/hour=12/l.gz"])
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    stub = Stubber(sagemaker)
    _stub_no_such_job(stub, "lab-drift-quality-2026113001")  # the window 24 h back
    stub.add_response("create_processing_job", {"ProcessingJobArn": "arn:x"})
    requests: list[dict] = []
    original = stub._assert_expected_params

    def capture(model: Any, params: dict, context: Any, **kw: Any) -> None:
        if model.name == "CreateProcessingJob":
            requests.append(params)
        original(model, params, context, **kw)

    stub._assert_expected_params = capture  # type: ignore[method-assign]
    with stub:
        result = drift_runner.start_quality(s3, sagemaker, NOW)
    assert result["predictions_objects"] == 2 and result["label_objects"] == 1
    (request,) = requests
    args = request["AppSpecification"]["ContainerArguments"]
    assert request["AppSpecification"]["ContainerEntrypoint"][-1].endswith("model_code/quality.py")
    assert args[:4] == ["--start", "2026-11-29T23:00:00Z", "--end", "2026-11-30T01:00:00Z"]
    labels = next(i for i in request["ProcessingInputs"] if i["InputName"] == "labels")
    manifest_key = labels["S3Input"]["S3Uri"].removeprefix("s3://art/")
    manifest = json.loads(s3.get_object(Bucket="art", Key=manifest_key)["Body"].read())
    assert manifest == [{"prefix": "s3://raw/"}, "events/year=2026/month=11/day=30/hour=12/l.gz"]


@mock_aws
def test_labels_written_in_production_are_read_under_their_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """monitoring.labels_account='production': labels in the raw zone's layout under
    RAW_PREFIX of production's capture bucket. The listing looks under the prefix only (a
    stray raw-layout object at the bucket's top is not a label) and the manifest's root is
    the prefix, so the job finds events/year=... as it does in the raw zone."""
    monkeypatch.setenv("RAW_BUCKET", "art")
    monkeypatch.setenv("RAW_PREFIX", "labels/")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="art")
    base = "capture/lab-digits/AllTraffic/"
    _put(s3, "art", [f"{base}2026/11/29/23/p.jsonl"])
    label = "events/year=2026/month=11/day=30/hour=12/l.gz"
    _put(s3, "art", [f"labels/{label}", label])  # the second is not under the prefix
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    stub = Stubber(sagemaker)
    _stub_no_such_job(stub, "lab-drift-quality-2026113001")
    stub.add_response("create_processing_job", {"ProcessingJobArn": "arn:x"})
    with stub:
        result = drift_runner.start_quality(s3, sagemaker, NOW)
    assert result["label_objects"] == 1
    key = "monitoring/drift/2026/11/30/01/quality-labels.json"
    manifest = json.loads(s3.get_object(Bucket="art", Key=key)["Body"].read())
    assert manifest == [{"prefix": "s3://art/labels/"}, label]


# ----------------------------------------------------------------------------- bridge

# A "CloudWatch Alarm State Change" event as EventBridge delivers it (shape from the
# CloudWatch User Guide, "Alarm events and EventBridge"), for the drift-share alarm.
ALARM_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
    "detail-type": "CloudWatch Alarm State Change",
    "source": "aws.cloudwatch",
    "account": "111111111111",
    "time": "2026-12-01T03:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:cloudwatch:us-east-1:111111111111:alarm:lab-digits-drift"],
    "detail": {
        "alarmName": "lab-digits-drift",
        "state": {
            "value": "ALARM",
            "reason": "Threshold Crossed: 2 out of the last 3 datapoints [0.53125 (01/12/26 "
            "02:00:00), 0.5 (01/12/26 01:00:00)] were greater than or equal to the threshold (0.2)",
            "reasonData": json.dumps(
                {
                    "version": "1.0",
                    "queryDate": "2026-12-01T03:00:00.000+0000",
                    "startDate": "2026-12-01T00:00:00.000+0000",
                    "statistic": "Maximum",
                    "period": 3600,
                    "recentDatapoints": [0.1, 0.5, 0.53125],
                    "threshold": 0.2,
                    "evaluatedDatapoints": [],
                }
            ),
            "timestamp": "2026-12-01T03:00:00.000+0000",
        },
        "previousState": {"value": "OK", "timestamp": "2026-11-30T00:00:00.000+0000"},
        "configuration": {
            "metrics": [
                {
                    "id": "m1",
                    "metricStat": {
                        "metric": {
                            "namespace": "MLOpsPlatform/Monitoring",
                            "name": "DriftedFeatureShare",
                            "dimensions": {"EndpointName": "lab-digits"},
                        },
                        "period": 3600,
                        "stat": "Maximum",
                    },
                    "returnData": True,
                }
            ]
        },
    },
}
BRIDGE_NOW = datetime(2026, 12, 1, 3, 0, 5, tzinfo=UTC)


def _runs(*runs: tuple[str, datetime]) -> dict:
    return {
        "PipelineExecutionSummaries": [
            {
                "PipelineExecutionArn": f"arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/{i}",
                "PipelineExecutionStatus": status,
                "StartTime": start,
            }
            for i, (status, start) in enumerate(runs)
        ]
    }


def _bridge(runs: dict, expect_put: dict | None) -> dict:
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    sm_stub, ev_stub = Stubber(sagemaker), Stubber(events)
    sm_stub.add_response(
        "list_pipeline_executions",
        runs,
        {
            "PipelineName": "lab-digits-training",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 10,
        },
    )
    if expect_put is not None:
        ev_stub.add_response(
            "put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}, expect_put
        )
    with sm_stub, ev_stub:
        result = retrain_bridge.handler(
            ALARM_EVENT, clients={"sagemaker": sagemaker, "events": events, "now": BRIDGE_NOW}
        )
        ev_stub.assert_no_pending_responses()
    return result


def test_alarm_becomes_one_retrain_requested_event() -> None:
    detail = {
        "endpoint": "lab-digits",
        "metrics": {
            "DriftedFeatureShare[0]": 0.1,
            "DriftedFeatureShare[1]": 0.5,
            "DriftedFeatureShare[2]": 0.53125,
        },
        "reason": "lab-digits-drift: " + ALARM_EVENT["detail"]["state"]["reason"],
        "requested_at": "2026-12-01T03:00:05Z",
        "trigger": "arn:aws:cloudwatch:us-east-1:111111111111:alarm:lab-digits-drift",
        "window": {"end": "2026-12-01T03:00:00.000+0000", "start": "2026-12-01T00:00:00.000+0000"},
    }
    expected = {
        "Entries": [
            {
                "Source": "mlops.platform",
                "DetailType": "RetrainRequested",
                "Detail": json.dumps(detail, sort_keys=True),
                "EventBusName": "default",
            }
        ]
    }
    last = BRIDGE_NOW - timedelta(hours=13)  # outside the 12 h cooldown
    result = _bridge(_runs(("Succeeded", last)), expected)
    assert result["requested"] is True
    assert set(result["detail"]) == set(contract.RETRAIN_FIELDS)


def test_no_second_run_while_one_executes() -> None:
    result = _bridge(_runs(("Executing", BRIDGE_NOW - timedelta(days=2))), None)
    assert result["requested"] is False and "still executing" in result["reason"]


def test_cooldown_after_a_recent_run() -> None:
    result = _bridge(_runs(("Succeeded", BRIDGE_NOW - timedelta(hours=3))), None)
    assert result["requested"] is False and result["reason"].startswith("cooldown")


def test_ok_transitions_are_ignored() -> None:
    event = json.loads(json.dumps(ALARM_EVENT))
    event["detail"]["state"]["value"] = "OK"
    assert "went to OK" in retrain_bridge.handler(event)["ignored"]


@mock_aws
def test_model_monitor_violations_become_the_same_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """The execution's kind comes from its schedule's name, never from the files it left: a
    model-quality run without metrics (or its ground-truth merge job) puts nothing, where it
    used to read as "drift share 0" (fresh reader F3)."""
    monkeypatch.setenv("ENGINE", "model_monitor")
    monkeypatch.setenv("FEATURE_COUNT", "64")
    monkeypatch.setenv("ENDPOINT_NAME", "lab-digits")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="art")
    schedules = "arn:aws:sagemaker:us-east-1:1:monitoring-schedule/"

    def job(out: str, schedule: str) -> dict[str, Any]:
        return {
            "ProcessingJobName": f"model-monitoring-{schedule}",
            "MonitoringScheduleArn": schedules + schedule,
            "ProcessingOutputConfig": {"Outputs": [{"S3Output": {"S3Uri": f"s3://art/{out}"}}]},
        }

    def put(key: str, doc: dict[str, Any]) -> None:
        s3.put_object(Bucket="art", Key=key, Body=json.dumps(doc).encode())

    data = "monitoring/model-monitor/data-quality/lab-digits/2026/12/01/01"
    violations = {
        "violations": [
            {
                "feature_name": f"_c{i}",
                "constraint_check_type": "baseline_drift_check",
                "description": "distance exceeds threshold",
            }
            for i in range(16)
        ]
        + [{"feature_name": "_c1", "constraint_check_type": "data_type_check", "description": "x"}]
    }
    put(f"{data}/constraint_violations.json", violations)
    # no statistics.json yet: the analysis did not finish, nothing is put
    report = drift_runner.model_monitor_report(s3, job(data, "lab-digits-data-quality"))
    assert report["metrics"] == {}
    put(f"{data}/statistics.json", {"dataset": {"item_count": 120}, "features": []})
    report = drift_runner.model_monitor_report(s3, job(data, "lab-digits-data-quality"))
    assert report["metrics"] == {"DriftedFeatureShare": 0.25, "DriftDetected": 1.0}

    model = "monitoring/model-monitor/model-quality/lab-digits/2026/12/01/01"
    # a model-quality run whose statistics carry no metrics: not "no drift", nothing
    put(f"{model}/statistics.json", {"dataset": {"item_count": 0}})
    report = drift_runner.model_monitor_report(s3, job(model, "lab-digits-model-quality"))
    assert report["metrics"] == {}
    put(
        f"{model}/statistics.json",
        {"multiclass_classification_metrics": {"accuracy": {"value": 0.91}}},
    )
    report = drift_runner.model_monitor_report(s3, job(model, "lab-digits-model-quality"))
    assert report["metrics"] == {"Accuracy": 0.91}
    # explainability and other endpoints' schedules publish nothing here
    for other in ("lab-digits-model-explainability", "other-endpoint-data-quality"):
        assert drift_runner.model_monitor_report(s3, job(data, other))["metrics"] == {}


def test_two_invocations_racing_for_one_window_start_one_judge() -> None:
    """Both saw no job (DescribeProcessingJob: not found) and both create: SageMaker keeps
    job names unique and answers the second with ResourceInUse, which is "already started",
    not an error. (Reserved concurrency no longer serializes the runner.)"""
    summarize = {
        "ProcessingJobName": "lab-drift-summarize-2026120101",
        "AppSpecification": {
            "ImageUri": ENV["IMAGE_URI"],
            "ContainerArguments": ["summarize", "--end", "2026-12-01T01:00:00Z"],
        },
        "ProcessingInputs": [
            drift_runner._s3_input("baseline", "s3://art/b/", "/opt/ml/processing/baseline")
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {"S3Output": {"S3Uri": "s3://art/monitoring/drift/2026/12/01/01/summaries"}}
            ]
        },
    }
    results = []
    for create_error in (None, "ResourceInUse"):
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        stub = Stubber(sagemaker)
        _stub_no_such_job(stub, "lab-drift-judge-2026120101")
        if create_error:
            stub.add_client_error(
                "create_processing_job",
                service_error_code=create_error,
                service_message="Job name must be unique within an AWS account and region",
                http_status_code=400,
            )
        else:
            stub.add_response("create_processing_job", {"ProcessingJobArn": "arn:x"})
        with stub:
            results.append(drift_runner.start_judge(sagemaker, summarize))
        stub.assert_no_pending_responses()
    assert results == [
        {"started": "lab-drift-judge-2026120101"},
        {
            "started": None,
            "already_started": "lab-drift-judge-2026120101",
            "status": "ResourceInUse",
        },
    ]


def test_other_create_errors_still_fail_the_invocation() -> None:
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    stub = Stubber(sagemaker)
    stub.add_client_error("create_processing_job", service_error_code="ResourceLimitExceeded")
    with stub, pytest.raises(drift_runner.ClientError, match="ResourceLimitExceeded"):
        drift_runner.start_once(
            sagemaker,
            drift_runner._processing_job(
                "lab-drift-judge-2026120101", ["judge"], [], "s3://art/x", 1
            ),
        )


def test_an_alarm_of_another_account_forwarded_to_tooling_becomes_the_same_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Multi-account: the alarm lives in production and its event arrives forwarded on
    tooling's bus, unchanged (its ``account`` and alarm ARN are production's: EventBridge User
    Guide, "Sending and receiving events between AWS accounts"). The bridge reads nothing
    account-specific: the request names production's alarm as its trigger."""
    production = "444444444444"
    arn = f"arn:aws:cloudwatch:us-east-1:{production}:alarm:multi-digits-quality"
    event = json.loads(json.dumps(ALARM_EVENT))
    event.update(account=production, resources=[arn])
    event["detail"]["alarmName"] = "multi-digits-quality"
    monkeypatch.setenv("ENDPOINT_NAME", "multi-digits")
    detail = {
        "endpoint": "multi-digits",
        "metrics": {
            "DriftedFeatureShare[0]": 0.1,
            "DriftedFeatureShare[1]": 0.5,
            "DriftedFeatureShare[2]": 0.53125,
        },
        "reason": "multi-digits-quality: " + ALARM_EVENT["detail"]["state"]["reason"],
        "requested_at": "2026-12-01T03:00:05Z",
        "trigger": arn,
        "window": {"end": "2026-12-01T03:00:00.000+0000", "start": "2026-12-01T00:00:00.000+0000"},
    }
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    sm_stub, ev_stub = Stubber(sagemaker), Stubber(events)
    sm_stub.add_response(
        "list_pipeline_executions",
        _runs(("Succeeded", BRIDGE_NOW - timedelta(hours=13))),
        {
            "PipelineName": "lab-digits-training",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 10,
        },
    )
    entry = {
        "Source": "mlops.platform",
        "DetailType": "RetrainRequested",
        "Detail": json.dumps(detail, sort_keys=True),
        "EventBusName": "default",  # tooling's own bus: the bridge runs there
    }
    ev_stub.add_response(
        "put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}, {"Entries": [entry]}
    )
    with sm_stub, ev_stub:
        result = retrain_bridge.handler(
            event, clients={"sagemaker": sagemaker, "events": events, "now": BRIDGE_NOW}
        )
        ev_stub.assert_no_pending_responses()
    assert result["requested"] is True
