"""Lambda: runs the drift job for one window and publishes its results (boto3 only).

Three triggers, one handler:
  * the schedule (EventBridge Scheduler, every N hours): list the window's capture objects
    (paginated, one prefix per UTC hour folder, so windows cross days), fall back to the raw
    zone when there is none, write a manifest and start the *summarize* processing job on
    ``INSTANCE_COUNT`` instances, input sharded by S3 key; and the *quality* job for the
    window ``LABEL_LAG_HOURS`` back;
  * "SageMaker Processing Job State Change" Completed for a summarize job: start the *judge*
    job (one instance) over the shard summaries;
  * Completed for a judge or quality job: read *that job's own* report from its own output
    (``drift_report.json`` / ``quality_report.json``) and put its metrics to CloudWatch;
    Failed or Stopped: one log line with the FailureReason, no metrics (see ``handler``).
Jobs are named per window and kind (``<JOB_PREFIX>-<kind>-<yyyymmddhh>``) and started only
when no job of that name exists, so a duplicate tick or event starts nothing twice.
The deployed version (whose DriftCheckBaselines are the reference) is looked up from the
endpoint at run time (``deployed_version``); no endpoint yet means a ``no_data`` report.
Configuration comes from environment variables set by infra/monitoring/drift.py.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError

# Bundled beside this module (infra/monitoring/drift.py): the layout and the metric names have
# one spelling, shared with the drift job and the CDK code.
from model_code import monitoring_contract as contract
from model_code.layout import VARIANT
from model_code.registry_contract import newest_approved_summary

SUMMARIZE, JUDGE, QUALITY = "summarize", "judge", "quality"
KINDS = (SUMMARIZE, JUDGE, QUALITY)
# Set in every job's Environment: the completion event says which job finished.
KIND_VARIABLE = "MONITORING_JOB_KIND"
# Where each reporting kind's job writes its report (its one output, S3Output.S3Uri).
REPORTS = {JUDGE: contract.REPORT_FILE, QUALITY: contract.QUALITY_REPORT_FILE}


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


def window_for(now: datetime, hours: int) -> tuple[datetime, datetime]:
    """The last ``hours`` whole UTC hours before ``now``: [start, end)."""
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return end - timedelta(hours=hours), end


def list_keys(s3: Any, bucket: str, prefixes: list[str]) -> list[str]:
    """Every object key under the prefixes, following ListObjectsV2 continuation tokens."""
    keys: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    for prefix in prefixes:
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(o["Key"] for o in page.get("Contents", []) if o["Size"] > 0)
    return keys


def raw_keys(s3: Any, start: datetime, end: datetime) -> tuple[str, list[str]]:
    """The raw-layout events (``events/year=/month=/day=/hour=/``) of [start, end): the raw
    zone's, or with ``RAW_PREFIX`` those under that prefix of ``RAW_BUCKET`` (labels a process
    in production writes, ``monitoring.labels_account``). Returns the manifest root
    (``bucket[/prefix]``) and the keys relative to it, so the jobs see the raw zone's layout."""
    bucket, prefix = env("RAW_BUCKET"), os.environ.get("RAW_PREFIX", "")
    keys = list_keys(s3, bucket, [prefix + p for p in contract.raw_hour_prefixes(start, end)])
    return f"{bucket}/{prefix}".rstrip("/"), [k.removeprefix(prefix) for k in keys]


def write_manifest(s3: Any, bucket: str, key: str, data_bucket: str, keys: list[str]) -> str:
    """A SageMaker S3 manifest file: a common prefix, then keys relative to it."""
    body = json.dumps([{"prefix": f"s3://{data_bucket}/"}, *keys])
    # No SSE header: the bucket's default (SSE-KMS with the lake key) applies. "aws:kms" without
    # SSEKMSKeyId would use the AWS managed aws/s3 key instead (S3 API Reference, PutObject).
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
    return f"s3://{bucket}/{key}"


def baseline_uri(sagemaker: Any, package_arn: str) -> str:
    """The deployed version's own training statistics (its DriftCheckBaselines)."""
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    try:
        uri: str = package["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"]
    except KeyError as err:
        raise RuntimeError(
            f"{package_arn} has no DriftCheckBaselines.ModelDataQuality.Statistics: register "
            "it with the current training pipeline"
        ) from err
    return uri


def _package_of(sagemaker: Any, model_name: str) -> str | None:
    """The model package a SageMaker model was created from: its PrimaryContainer's, or for
    a multi-container model the ``xgboost`` container's (its hostname in the serving unit)."""
    model = sagemaker.describe_model(ModelName=model_name)
    primary = model.get("PrimaryContainer")
    if primary is not None:
        if primary.get("Mode") == "MultiModel":
            return None  # archives under mme/, no package: see deployed_version
        package: str | None = primary.get("ModelPackageName")
        return package
    for container in model.get("Containers", []):
        if container.get("ContainerHostname") == "xgboost":
            package = container.get("ModelPackageName")
            return package
    return None


def newest_approved(sagemaker: Any, group: str) -> str | None:
    """The ARN of the group's newest Approved version, by the rule labctl's release uses."""
    summary = newest_approved_summary(sagemaker, group)
    return summary["ModelPackageArn"] if summary else None


def deployed_version(sagemaker: Any, endpoint_name: str) -> tuple[str, datetime] | None:
    """The model package the endpoint serves now and when it went live, looked up at run
    time (the monitoring stack does not know the release): DescribeEndpoint ->
    DescribeEndpointConfig -> the variant's DescribeModel -> its ModelPackageName. None when
    the endpoint does not exist (yet)."""
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as err:
        # SageMaker answers ValidationException "Could not find endpoint ..." for a missing one
        message = err.response.get("Error", {}).get("Message", "")
        if "Could not find endpoint" in message:
            return None
        raise
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    package = _package_of(sagemaker, config["ProductionVariants"][0]["ModelName"])
    if package is None:
        # A multi-model endpoint serves S3 archives (mme/xgboost-v<version>.tar.gz) that name
        # no package, and the caller picks the archive per request: take the newest Approved
        # version of the XGBoost group, the one the delivery pipeline makes the default.
        package = newest_approved(sagemaker, env("MODEL_PACKAGE_GROUP"))
        if package is None:
            raise RuntimeError(f"{env('MODEL_PACKAGE_GROUP')} has no Approved model package")
    return package, endpoint["LastModifiedTime"]


def job_name(kind: str, end: datetime) -> str:
    """One name per kind and window: ``<JOB_PREFIX>-<kind>-<yyyymmddhh of the window end>``.

    The rule matches the prefix; the name is the idempotency key (a second start of the same
    window finds the job, see ``start_once``), so it is never truncated into a collision:
    ProcessingJobName is at most 63 characters (SageMaker API Reference, CreateProcessingJob).
    """
    name = f"{env('JOB_PREFIX')}-{kind}-{end:%Y%m%d%H}"
    if len(name) > 63:
        raise RuntimeError(
            f"processing job name {name} is longer than 63 characters: shorten the endpoint "
            "name (JOB_PREFIX is <endpoint>-drift)"
        )
    return name


def job_kind(job: dict[str, Any]) -> str | None:
    """Which of this runner's jobs ``job`` is: the kind it was started with (its Environment),
    else the kind in its name (jobs started before the Environment carried it)."""
    kind = job.get("Environment", {}).get(KIND_VARIABLE)
    if kind in KINDS:
        return str(kind)
    rest = job["ProcessingJobName"].removeprefix(f"{env('JOB_PREFIX')}-")
    first = rest.split("-", 1)[0]
    return first if first in KINDS else None


def _missing_job(err: ClientError) -> bool:
    # DescribeProcessingJob answers ValidationException "Could not find requested job ..."
    error = err.response.get("Error", {})
    return error.get("Code") == "ValidationException" and "Could not find" in error.get(
        "Message", ""
    )


def already_started(sagemaker: Any, name: str) -> dict[str, Any] | None:
    """The job of that name if it exists (any status: a window is judged once), else None.
    Checked before a start writes anything, so a duplicate never rewrites a running job's
    manifest."""
    try:
        job = sagemaker.describe_processing_job(ProcessingJobName=name)
    except ClientError as err:
        if not _missing_job(err):
            raise
        return None
    print(f"{name} already exists ({job['ProcessingJobStatus']}): not started again")
    return {"started": None, "already_started": name, "status": job["ProcessingJobStatus"]}


def start_once(sagemaker: Any, request: dict[str, Any]) -> dict[str, Any] | None:
    """Create the job; None when it was started here, else what already runs. The caller
    checked ``already_started`` first; ResourceInUse on create is the same answer: two
    invocations that both passed the check raced, and the service keeps names unique ("The
    name must be unique within an AWS Region in an AWS account", API Reference,
    CreateProcessingJob)."""
    name = request["ProcessingJobName"]
    try:
        sagemaker.create_processing_job(**request)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") != "ResourceInUse":
            raise
        print(f"{name} was started by a concurrent invocation: not started again")
        return {"started": None, "already_started": name, "status": "ResourceInUse"}
    return None


def _processing_job(
    name: str,
    arguments: list[str],
    inputs: list[dict[str, Any]],
    output: str,
    count: int,
    script: str = "drift.py",
) -> dict[str, Any]:
    return {
        "ProcessingJobName": name,
        "RoleArn": env("JOB_ROLE_ARN"),
        "AppSpecification": {
            "ImageUri": env("IMAGE_URI"),
            "ContainerEntrypoint": ["python3", f"/opt/ml/processing/input/lib/model_code/{script}"],
            "ContainerArguments": arguments,
        },
        "ProcessingInputs": [
            {
                "InputName": "lib",
                "S3Input": {
                    "S3Uri": env("CODE_URI"),
                    "LocalPath": "/opt/ml/processing/input/lib/model_code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                },
            },
            *inputs,
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "output",
                    "S3Output": {
                        "S3Uri": output,
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ],
            "KmsKeyId": env("KMS_KEY_ARN"),
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": count,
                "InstanceType": env("INSTANCE_TYPE"),
                "VolumeSizeInGB": 30,
                "VolumeKmsKeyId": env("KMS_KEY_ARN"),
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "NetworkConfig": {
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": True,
            **_vpc_config(),
        },
    }


def _vpc_config() -> dict[str, Any]:
    """The profile's isolated subnets and workload security group (``JOB_SUBNETS``,
    ``JOB_SECURITY_GROUP_IDS``, comma-separated, set by infra/monitoring/drift.py when
    ``network.mode='isolated'``); none set: the jobs run outside a VPC, network-isolated."""
    subnets = os.environ.get("JOB_SUBNETS")
    if not subnets:
        return {}
    return {
        "VpcConfig": {
            "Subnets": subnets.split(","),
            "SecurityGroupIds": env("JOB_SECURITY_GROUP_IDS").split(","),
        }
    }


def _s3_input(name: str, uri: str, path: str, manifest: bool = False, shard: bool = False) -> dict:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": path,
            "S3DataType": "ManifestFile" if manifest else "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "ShardedByS3Key" if shard else "FullyReplicated",
        },
    }


def no_data(s3: Any, run: str, start: datetime, end: datetime, why: str) -> dict[str, Any]:
    """Nothing to judge: say so with a metric-free report instead of starting a job."""
    report = {
        "status": "no_data",
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "verdict": f"not judged: {why}",
    }
    s3.put_object(
        Bucket=env("ARTIFACTS_BUCKET"),
        Key=f"{run}/report/drift_report.json",
        Body=json.dumps(report).encode(),
    )
    return {"started": None, "reason": report["verdict"]}


def start_window(s3: Any, sagemaker: Any, now: datetime) -> dict[str, Any]:
    start, end = window_for(now, int(env("WINDOW_HOURS")))
    bucket = env("CAPTURE_BUCKET")
    capture = (env("CAPTURE_PREFIX"), env("ENDPOINT_NAME"), VARIANT)
    keys = list_keys(s3, bucket, contract.capture_hour_prefixes(*capture, start, end))
    source, data_bucket = "capture", bucket
    if not keys:
        data_bucket, keys = raw_keys(s3, start, end)
        source = "raw"
    run = f"{env('OUTPUT_PREFIX').strip('/')}/{end:%Y/%m/%d/%H}"
    if not keys:
        return no_data(s3, run, start, end, "no capture and no raw events in the window")
    deployment = deployed_version(sagemaker, env("ENDPOINT_NAME"))
    if deployment is None:
        return no_data(s3, run, start, end, f"endpoint {env('ENDPOINT_NAME')} not deployed yet")
    package_arn, deployed = deployment
    name = job_name(SUMMARIZE, end)
    if found := already_started(sagemaker, name):
        return found
    manifest = write_manifest(
        s3, env("ARTIFACTS_BUCKET"), f"{run}/manifest.json", data_bucket, keys
    )
    baseline = baseline_uri(sagemaker, package_arn)
    count = max(1, min(int(env("INSTANCE_COUNT")), len(keys)))
    args = [
        SUMMARIZE,
        "--start",
        start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--end",
        end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--deployed-at",
        deployed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--baseline",
        "/opt/ml/processing/baseline/baseline_statistics.json",
        "--capture-dir",
        "/opt/ml/processing/capture",
        "--all-files",
        "--endpoint",
        env("ENDPOINT_NAME"),
    ]
    if source == "raw":
        args += ["--raw-dir", "/opt/ml/processing/capture"]
    request = _processing_job(
        name,
        args,
        [
            _s3_input("capture", manifest, "/opt/ml/processing/capture", manifest=True, shard=True),
            _s3_input("baseline", baseline.rsplit("/", 1)[0] + "/", "/opt/ml/processing/baseline"),
        ],
        f"s3://{env('ARTIFACTS_BUCKET')}/{run}/summaries",
        count,
    )
    request["Environment"] = {
        "DRIFT_RUN": run,
        "DRIFT_ARGS": json.dumps(args[1:]),
        KIND_VARIABLE: SUMMARIZE,
    }
    if raced := start_once(sagemaker, request):
        return raced
    return {"started": name, "instances": count, "objects": len(keys), "source": source}


def start_quality(s3: Any, sagemaker: Any, now: datetime) -> dict[str, Any]:
    """Model quality for the window LABEL_LAG_HOURS back: its captured predictions joined
    with the labels that reached the raw zone since then."""
    lag = timedelta(hours=float(env("LABEL_LAG_HOURS")))
    start, end = window_for(now - lag, int(env("WINDOW_HOURS")))
    _, label_end = window_for(now, int(env("WINDOW_HOURS")))
    bucket = env("CAPTURE_BUCKET")
    capture = (env("CAPTURE_PREFIX"), env("ENDPOINT_NAME"), VARIANT)
    captured = list_keys(s3, bucket, contract.capture_hour_prefixes(*capture, start, end))
    labels_root, labels = raw_keys(s3, start, label_end)
    if not captured or not labels:
        return {"started": None, "reason": "no captured predictions or no labels to join"}
    name = job_name(QUALITY, end)
    if found := already_started(sagemaker, name):
        return found
    run = f"{env('OUTPUT_PREFIX').strip('/')}/{end:%Y/%m/%d/%H}"
    art = env("ARTIFACTS_BUCKET")
    capture_manifest = write_manifest(s3, art, f"{run}/quality-capture.json", bucket, captured)
    label_manifest = write_manifest(s3, art, f"{run}/quality-labels.json", labels_root, labels)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    request = _processing_job(
        name,
        [
            "--start",
            start.strftime(stamp),
            "--end",
            end.strftime(stamp),
            "--label-lag-hours",
            str(lag.total_seconds() / 3600),
            "--capture-dir",
            "/opt/ml/processing/capture",
            "--labels-dir",
            "/opt/ml/processing/labels",
            "--all-files",
        ],
        [
            _s3_input("capture", capture_manifest, "/opt/ml/processing/capture", manifest=True),
            _s3_input("labels", label_manifest, "/opt/ml/processing/labels", manifest=True),
        ],
        f"s3://{art}/{run}/quality",
        1,
        script="quality.py",
    )
    request["Environment"] = {"DRIFT_RUN": run, KIND_VARIABLE: QUALITY}
    if raced := start_once(sagemaker, request):
        return raced
    return {"started": name, "predictions_objects": len(captured), "label_objects": len(labels)}


def start_judge(sagemaker: Any, summarize_job: dict[str, Any]) -> dict[str, Any]:
    """The judge over a completed summarize job's shards: its window and arguments are read
    from that job's own definition (DescribeProcessingJob: ContainerArguments, its output)."""
    args = summarize_job["AppSpecification"]["ContainerArguments"][1:]  # after "summarize"
    output = summarize_job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    run = output.removeprefix("s3://").partition("/")[2].rstrip("/").removesuffix("/summaries")
    end = datetime.strptime(args[args.index("--end") + 1], "%Y-%m-%dT%H:%M:%SZ")
    baseline = next(i for i in summarize_job["ProcessingInputs"] if i["InputName"] == "baseline")
    bucket = env("ARTIFACTS_BUCKET")
    name = job_name(JUDGE, end)
    if found := already_started(sagemaker, name):
        return found
    request = _processing_job(
        name,
        [
            JUDGE,
            *args,
            "--summaries-dir",
            "/opt/ml/processing/summaries",
            "--share-threshold",
            env("SHARE_THRESHOLD"),
        ],
        [
            _s3_input(
                "summaries", f"s3://{bucket}/{run}/summaries/", "/opt/ml/processing/summaries"
            ),
            baseline,
        ],
        f"s3://{bucket}/{run}/report",
        1,
    )
    request["Environment"] = {"DRIFT_RUN": run, KIND_VARIABLE: JUDGE}
    if raced := start_once(sagemaker, request):
        return raced
    return {"started": name}


def publish(s3: Any, cloudwatch: Any, report: dict[str, Any], now: datetime) -> int:
    """PutMetricData for every metric in the report; returns how many were put."""
    metrics = report.get("metrics", {})
    data = [
        {
            "MetricName": name,
            "Dimensions": [{"Name": env("METRIC_DIMENSION"), "Value": env("ENDPOINT_NAME")}],
            "Timestamp": now,
            "Value": float(value),
            "Unit": "Count" if name in ("DriftSamples", "SkippedRecords") else "None",
        }
        for name, value in sorted(metrics.items())
    ]
    for i in range(0, len(data), 20):
        cloudwatch.put_metric_data(Namespace=env("METRIC_NAMESPACE"), MetricData=data[i : i + 20])
    return len(data)


def _read_json(s3: Any, uri: str) -> dict[str, Any] | None:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    doc: dict[str, Any] = json.loads(body)
    return doc


def model_monitor_report(s3: Any, job: dict[str, Any]) -> dict[str, Any]:
    """A Model Monitor execution's outputs as this platform's metrics: the share of features
    with a ``baseline_drift_check`` violation (data quality), accuracy (model quality).

    The execution's kind comes from its schedule (``monitoring_contract``'s names), never from
    the files found: a model-quality execution (or its ground-truth merge job) without metrics
    must not read as "no drift". No statistics file: one log line and nothing put."""
    schedule = str(job.get("MonitoringScheduleArn", "")).rsplit("/", 1)[-1]
    endpoint = env("ENDPOINT_NAME")
    kinds = {
        contract.model_monitor_schedule_name(endpoint, "DATA_QUALITY"): "data_quality",
        contract.model_monitor_schedule_name(endpoint, "MODEL_QUALITY"): "model_quality",
    }
    kind = kinds.get(schedule)
    if kind is None:  # not a monitoring execution, or one we publish nothing for
        return {"status": "ignored", "metrics": {}}
    output = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].rstrip("/")
    statistics = _read_json(s3, f"{output}/{contract.STATISTICS_FILE}")
    quality = (statistics or {}).get("multiclass_classification_metrics")
    if statistics is None or (kind == "model_quality" and not quality):
        print(
            f"{job.get('ProcessingJobName', schedule)} ({kind}) completed without "
            f"{'its metrics' if statistics else contract.STATISTICS_FILE} at {output}: "
            "no metrics put"
        )
        return {"status": "no_report", "metrics": {}}
    metrics: dict[str, float] = {}
    if kind == "model_quality" and quality:
        metrics["Accuracy"] = float(quality["accuracy"]["value"])
    else:
        violations = _read_json(s3, f"{output}/{contract.VIOLATIONS_FILE}")
        drifted = {
            v["feature_name"]
            for v in (violations or {}).get("violations", [])
            if v.get("constraint_check_type") == "baseline_drift_check"
        }
        share = len(drifted) / int(env("FEATURE_COUNT"))
        metrics["DriftedFeatureShare"] = share
        metrics["DriftDetected"] = float(share >= float(env("SHARE_THRESHOLD")))
    return {"status": "model_monitor", "metrics": metrics}


def publish_job_report(
    s3: Any, cloudwatch: Any, job: dict[str, Any], kind: str, now: datetime
) -> dict[str, Any]:
    """Put the metrics of the report ``job`` wrote to its own output folder (the judge's
    ``drift_report.json``, the quality job's ``quality_report.json``), never another job's:
    the quality window is LABEL_LAG_HOURS old, and a fixed key would re-put a stale drift
    report. No report there (the job wrote none): one log line and nothing put; returning
    normally, because EventBridge would only retry the same missing file."""
    output = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].rstrip("/")
    uri = f"{output}/{REPORTS[kind]}"
    report = _read_json(s3, uri)
    if report is None:
        name = job["ProcessingJobName"]
        print(f"{name} ({kind}) completed without a report at {uri}: no metrics put")
        return {"published": 0, "status": "missing_report", "report": uri}
    return {"published": publish(s3, cloudwatch, report, now), "status": report.get("status")}


def job_ended_without_result(detail: dict[str, Any]) -> dict[str, Any]:
    """A Failed or Stopped job: one log line with its FailureReason and nothing put.

    Putting nothing is right for the alarms: both treat missing data as not breaching, so a
    failed run neither raises nor clears a drift/quality alarm on made-up values; the next
    window's run starts as usual (a failed job is not retried: its inputs would fail again).
    The line lands in the runner's log group, beside the runs it started."""
    name, status = detail["ProcessingJobName"], detail.get("ProcessingJobStatus")
    reason = detail.get("FailureReason") or detail.get("ExitMessage") or "no FailureReason given"
    print(f"monitoring job {name} {status}: {reason}; no metrics put for its window")
    return {"failed": name, "status": status, "reason": reason, "published": 0}


def handler(
    event: dict[str, Any], context: Any = None, clients: dict[str, Any] | None = None
) -> dict:
    clients = clients or {}
    s3 = clients.get("s3") or boto3.client("s3")
    sagemaker = clients.get("sagemaker") or boto3.client("sagemaker")
    now = clients.get("now") or datetime.now(UTC)
    if event.get("detail-type") != "SageMaker Processing Job State Change":
        # Scheduler's tick (no Input: a default notification, whatever its shape)
        return {
            "drift": start_window(s3, sagemaker, now),
            "quality": start_quality(s3, sagemaker, now),
        }
    detail = event["detail"]
    name, status = detail["ProcessingJobName"], detail.get("ProcessingJobStatus")
    if status in ("Failed", "Stopped"):
        return job_ended_without_result(detail)
    if status != "Completed":
        return {"ignored": f"{name} is {status}"}
    job = sagemaker.describe_processing_job(ProcessingJobName=name)
    cloudwatch = clients.get("cloudwatch") or boto3.client("cloudwatch")
    if os.environ.get("ENGINE") == "model_monitor":
        report = model_monitor_report(s3, job)
        return {"published": publish(s3, cloudwatch, report, now), "status": report["status"]}
    kind = job_kind(job)
    if kind == SUMMARIZE:
        return start_judge(sagemaker, job)
    if kind in REPORTS:
        return publish_job_report(s3, cloudwatch, job, kind, now)
    print(f"{name} is not a job this runner started (kind {kind}): ignored")
    return {"ignored": f"{name}: unknown kind"}
