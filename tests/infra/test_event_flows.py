"""Event flows: every rule, schedule and S3 notification that invokes one of our functions.

The flows are discovered from the synthesized templates (lab, prod-like, and the monitoring
stack with engine='model_monitor', the only one with the ground-truth upload): each
AWS::Events::Rule, AWS::Scheduler::Schedule and S3 notification whose target is an
AWS::Lambda::Function of the same template. The target is mapped to the handler module the
deployment runs (the function's Handler inside its code asset, matched byte for byte to the
source file here), and fed every kind of event its pattern matches, in the documented shapes:

* SageMaker Processing Job State Change: the detail is the job's DescribeProcessingJob
  (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeProcessingJob.html);
* CloudWatch Alarm State Change
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html);
* Scheduled Event of an EventBridge schedule rule
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html);
* EventBridge Scheduler: the target's Input, or without one "a default notification"
  (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_Target.html): our handlers
  read nothing from it, so it is fed as ``{}``.

Each fed event is checked against the rule's pattern with moto's EventBridge matcher, and the
effect is asserted on moto (metrics put, jobs started, events put, objects written). A rule
whose target has no case here fails ``test_every_flow_has_a_case``.
"""

from __future__ import annotations

import dataclasses
import gzip
import importlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.events.models import EventPattern

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 1, 10, tzinfo=UTC)
ROLE = "arn:aws:iam::111111111111:role/hosting"


# ----------------------------------------------------------------------------- discovery


@dataclass
class Flow:
    source: str  # which synthesized app
    stack: str
    trigger_id: str  # the rule's / schedule's / notification's logical id
    trigger_type: str
    function_id: str
    handler: str
    module: Any
    environment: dict[str, str]
    pattern: dict[str, Any] | None = None  # resolved EventPattern (rules with a pattern)
    schedule_input: Any = None  # a schedule target's Input, parsed
    region: str = "us-east-1"
    account: str = "111111111111"
    templates: dict[str, dict] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """What sort of event arrives: 'schedule', an event's detail-type, or 's3'."""
        if self.trigger_type == "s3":
            return "s3"
        if self.pattern is None:
            return "schedule"
        return "|".join(self.pattern["detail-type"])

    def __str__(self) -> str:
        trigger = f"{self.trigger_type} {self.stack}/{self.trigger_id}"
        return f"{self.source}: {trigger} -> function {self.function_id} ({self.handler})"


class Resolver:
    """CloudFormation intrinsics to plausible strings, enough to run a handler on moto."""

    def __init__(self, template: dict, region: str, account: str) -> None:
        self.resources = template.get("Resources", {})
        self.region, self.account = region, account

    def arn(self, logical_id: str) -> str:
        kind = self.resources.get(logical_id, {}).get("Type", "")
        name, where = logical_id.lower(), f"{self.region}:{self.account}"
        return {
            "AWS::CloudWatch::Alarm": f"arn:aws:cloudwatch:{where}:alarm:{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{self.account}:role/{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{where}:function:{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{where}:{name}",
        }.get(kind, f"arn:aws:cloudformation:{where}:{name}")

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                pseudo = {"AWS::Region": self.region, "AWS::AccountId": self.account}
                return pseudo.get(arg, arg.lower())
            if key == "Fn::GetAtt":
                return self.arn(arg[0]) if arg[1] == "Arn" else f"{arg[0]}.{arg[1]}".lower()
            if key == "Fn::ImportValue":
                return str(self(arg))  # "<env>-lake-<bucket>-bucket-name": a valid bucket name
            if key == "Fn::Join":
                return str(self(arg[0])).join(str(self(v)) for v in arg[1])
            if key == "Fn::Select":
                return self(arg[1])[int(arg[0])]
            if key == "Fn::Split":
                return str(self(arg[1])).split(arg[0])
            if key == "Fn::GetStackOutput":
                return f"arn:aws:sns:{self.region}:{self.account}:{arg['OutputName'].lower()}"
            if key.startswith("Fn::"):
                raise AssertionError(f"add {key} to the resolver: {value}")
        return {k: self(v) for k, v in value.items()}


def _handler_module(outdir: Path, template: dict, function_id: str) -> tuple[str, Any]:
    """The repository module a function runs: its Handler file inside its code asset, which
    must be byte-identical to exactly one source file here."""
    props = template["Resources"][function_id]["Properties"]
    handler = props["Handler"]
    asset = outdir / f"asset.{props['Code']['S3Key'].removesuffix('.zip')}"
    module_file = asset / f"{handler.rsplit('.', 1)[0].replace('.', '/')}.py"
    assert module_file.is_file(), f"{function_id}: {handler} not in its asset {asset.name}"
    same = [
        path
        for path in REPO.glob(f"infra/**/{module_file.name}")
        if path.read_bytes() == module_file.read_bytes()
    ]
    assert len(same) == 1, f"{function_id}: {module_file.name} matches {same} in the repository"
    dotted = ".".join(same[0].relative_to(REPO).with_suffix("").parts)
    return handler, importlib.import_module(dotted)


def _lambda_targets(resolver: Resolver, functions: set[str], value: Any) -> list[str]:
    text = json.dumps(value)
    return sorted(f for f in functions if f'"{f}"' in text)


def discover(
    source: str,
    outdir: Path,
    templates: dict[str, dict],
    region: str,
    account: str,
    context: dict[str, dict] | None = None,
) -> list[Flow]:
    """The flows of ``templates``; ``context``: the rest of the app, for cases that follow an
    event on to another stack's rule."""
    flows: list[Flow] = []
    for stack, template in templates.items():
        resources = template.get("Resources", {})
        functions = {k for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
        resolve = Resolver(template, region, account)
        for lid, resource in resources.items():
            props = resource.get("Properties", {})
            found: list[tuple[str, str, Any, Any]] = []  # (type, function, pattern, input)
            if resource["Type"] == "AWS::Events::Rule":
                for target in props.get("Targets", []):
                    for fn in _lambda_targets(resolve, functions, target["Arn"]):
                        pattern = (
                            resolve(props["EventPattern"]) if "EventPattern" in props else None
                        )
                        found.append(("rule", fn, pattern, target.get("Input")))
            elif resource["Type"] == "AWS::Scheduler::Schedule":
                target = props["Target"]
                for fn in _lambda_targets(resolve, functions, target["Arn"]):
                    found.append(("schedule", fn, None, target.get("Input")))
            elif resource["Type"] in ("Custom::S3BucketNotifications", "AWS::S3::Bucket"):
                config = props.get("NotificationConfiguration", {})
                for key in ("LambdaFunctionConfigurations", "LambdaConfigurations"):
                    for item in config.get(key, []):
                        for fn in _lambda_targets(resolve, functions, item):
                            found.append(("s3", fn, None, None))
            for trigger_type, fn, pattern, raw_input in found:
                handler, module = _handler_module(outdir, template, fn)
                variables = resources[fn]["Properties"].get("Environment", {}).get("Variables", {})
                flows.append(
                    Flow(
                        source=source,
                        stack=stack,
                        trigger_id=lid,
                        trigger_type=trigger_type,
                        function_id=fn,
                        handler=handler,
                        module=module,
                        environment={k: str(resolve(v)) for k, v in variables.items()},
                        pattern=pattern,
                        schedule_input=json.loads(raw_input) if raw_input else None,
                        region=region,
                        account=account,
                        templates={**(context or {}), **templates},
                    )
                )
    return flows


@pytest.fixture(scope="module")
def model_monitor_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict]]:
    """The monitoring stack alone with engine='model_monitor' (no compliance gate: the gate
    is test_monitoring.py's): the runner's rule on Model Monitor executions and the
    ground-truth schedule exist only there."""
    import aws_cdk as cdk
    from aws_cdk import aws_sns as sns

    from core.config import MonitoringConfig, load_profile
    from infra.platform import cdk_json_context
    from infra.stacks.monitoring_stack import MonitoringStack

    config = dataclasses.replace(
        load_profile("lab"), monitoring=MonitoringConfig(engine="model_monitor")
    )
    outdir = tmp_path_factory.mktemp("flows-mm")
    app = cdk.App(outdir=str(outdir), context=cdk_json_context())
    env = cdk.Environment(account=config.account, region=config.region)
    topic = sns.Topic.from_topic_arn(
        cdk.Stack(app, "Alerts", env=env), "Topic", "arn:aws:sns:us-east-1:111111111111:a"
    )
    stack = MonitoringStack(
        app, config.stack_name("Monitoring"), config=config, alert_topic=topic, env=env
    )
    app.synth()
    return outdir, {
        stack.stack_name: json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
    }


@pytest.fixture(scope="module")
def flows(synth, model_monitor_app) -> list[Flow]:  # type: ignore[no-untyped-def]
    out: list[Flow] = []
    for profile in ("lab", "prod-like"):
        s = synth(profile)
        c = s.platform.config
        out += discover(profile, s.outdir, s.templates, c.region, c.account)
    outdir, templates = model_monitor_app
    lab = synth("lab")
    out += discover(
        "lab model_monitor", outdir, templates, "us-east-1", "111111111111", lab.templates
    )
    return out


# ----------------------------------------------------------------------------- helpers


def matches(flow: Flow, event: dict[str, Any]) -> bool:
    """moto's implementation of EventBridge's pattern matching, on the rule's own pattern."""
    assert flow.pattern is not None
    event = json.loads(json.dumps(event, default=str))
    return EventPattern(json.dumps(flow.pattern), flow.pattern).matches_event(event)


def deliver(flow: Flow, event: dict[str, Any]) -> dict[str, Any]:
    """The event as the rule delivers it: it must match the pattern (and round-trip JSON)."""
    event = json.loads(json.dumps(event, default=str))
    assert matches(flow, event), f"{flow}: the pattern does not match {event}"
    return event


def scheduled_event(flow: Flow) -> dict[str, Any]:
    """What a schedule delivers: a rule's Scheduled Event, or Scheduler's Input (else {})."""
    if flow.trigger_type == "schedule":
        return flow.schedule_input or {}
    return {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": flow.account,
        "time": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": flow.region,
        "resources": [f"arn:aws:events:{flow.region}:{flow.account}:rule/{flow.trigger_id}"],
        "detail": {},
    }


def job_event(flow: Flow, job: dict[str, Any], status: str, **extra: Any) -> dict[str, Any]:
    """SageMaker Processing Job State Change: the detail is the job's description."""
    detail = {k: v for k, v in job.items() if k != "ResponseMetadata"}
    detail.update(ProcessingJobStatus=status, **extra)
    return {
        "version": "0",
        "id": "0a1b2c3d-4e5f-6789-abcd-ef0123456789",
        "detail-type": "SageMaker Processing Job State Change",
        "source": "aws.sagemaker",
        "account": flow.account,
        "time": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": flow.region,
        "resources": [job["ProcessingJobArn"]],
        "detail": detail,
    }


class Recorder:
    """What a client was asked to do (botocore's before-parameter-build hook), while moto
    still answers."""

    def __init__(self, client: Any, operation: str) -> None:
        self.calls: list[dict[str, Any]] = []
        service = client.meta.service_model.service_name
        client.meta.events.register(
            f"before-parameter-build.{service}.{operation}",
            lambda params, **_: self.calls.append(json.loads(json.dumps(params, default=str))),
        )

    def take(self) -> list[dict[str, Any]]:
        calls, self.calls = self.calls, []
        return calls


def put_metrics(recorder: Recorder, endpoint: str) -> dict[str, float]:
    """name -> value of everything put, each in the namespace with the endpoint dimension."""
    out: dict[str, float] = {}
    for call in recorder.take():
        assert call["Namespace"] == "MLOpsPlatform/Monitoring"
        for datum in call["MetricData"]:
            assert datum["Dimensions"] == [{"Name": "EndpointName", "Value": endpoint}]
            out[datum["MetricName"]] = datum["Value"]
    return out


@contextmanager
def environment(monkeypatch: pytest.MonkeyPatch, flow: Flow, **override: str) -> Iterator[None]:
    with monkeypatch.context() as m:
        for key, value in {**flow.environment, **override}.items():
            m.setenv(key, value)
        m.setenv("AWS_DEFAULT_REGION", flow.region)
        yield


def _put(s3: Any, bucket: str, key: str, body: bytes | dict = b"{}\n") -> None:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    s3.put_object(Bucket=bucket, Key=key, Body=data)


def _bucket(s3: Any, name: str) -> None:
    region = s3.meta.region_name
    where = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    s3.create_bucket(Bucket=name, **where)


def _s3_uri_key(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key.rstrip("/")


# ----------------------------------------------------------------------------- runner


def _deployed_endpoint(sm: Any, env: dict[str, str]) -> None:
    """The endpoint as the serving unit leaves it: a model from an Approved package whose
    DriftCheckBaselines point at the training statistics."""
    group = env["MODEL_PACKAGE_GROUP"]
    sm.create_model_package_group(ModelPackageGroupName=group)
    package = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "xgboost", "ModelDataUrl": "s3://x/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        DriftCheckBaselines={
            "ModelDataQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": f"s3://{env['ARTIFACTS_BUCKET']}/pipelines/e1/baseline/"
                    "baseline_statistics.json",
                }
            }
        },
    )["ModelPackageArn"]
    sm.create_model(
        ModelName="served",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"ModelPackageName": package},
    )
    sm.create_endpoint_config(
        EndpointConfigName="served-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "served",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName=env["ENDPOINT_NAME"], EndpointConfigName="served-config")


def _runner_world(flow: Flow) -> dict[str, Any]:
    """Buckets with one capture object in the drift window (the hour before NOW), captured
    predictions in the quality window LABEL_LAG_HOURS back, and labels since then."""
    env = flow.environment
    s3 = boto3.client("s3", region_name=flow.region)
    for bucket in {env["ARTIFACTS_BUCKET"], env["RAW_BUCKET"], env["CAPTURE_BUCKET"]}:
        _bucket(s3, bucket)
    base = f"{env['CAPTURE_PREFIX']}/{env['ENDPOINT_NAME']}/AllTraffic"
    _put(s3, env["CAPTURE_BUCKET"], f"{base}/2026/12/01/00/now.jsonl")  # drift window
    _put(s3, env["CAPTURE_BUCKET"], f"{base}/2026/11/30/00/old.jsonl")  # quality window
    _put(s3, env["RAW_BUCKET"], "events/year=2026/month=11/day=30/hour=12/labels.gz")
    sm = boto3.client("sagemaker", region_name=flow.region)
    _deployed_endpoint(sm, env)
    cloudwatch = boto3.client("cloudwatch", region_name=flow.region)
    return {
        "s3": s3,
        "sagemaker": sm,
        "cloudwatch": cloudwatch,
        "now": NOW,
        "created": Recorder(sm, "CreateProcessingJob"),
        "metrics": Recorder(cloudwatch, "PutMetricData"),
    }


def _run(flow: Flow, event: dict[str, Any], world: dict[str, Any]) -> dict[str, Any]:
    clients = {k: world[k] for k in ("s3", "sagemaker", "cloudwatch", "now")}
    result: dict[str, Any] = flow.module.handler(event, None, clients)
    return result


def runner_schedule(flow: Flow, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """A tick starts this window's summarize job and the quality job of the window a label
    lag back, named per window; a second tick of the same window starts nothing."""
    with mock_aws(), environment(monkeypatch, flow):
        world = _runner_world(flow)
        prefix = flow.environment["JOB_PREFIX"]
        _run(flow, scheduled_event(flow), world)
        created = {c["ProcessingJobName"] for c in world["created"].take()}
        # drift window [00:00, 01:00) of 12-01; quality window 24 h back, ending 11-30 01:00
        assert created == {f"{prefix}-summarize-2026120101", f"{prefix}-quality-2026113001"}
        again = _run(flow, scheduled_event(flow), world)
        assert world["created"].take() == [], "a second tick of the same window started a job"
        assert again["drift"]["already_started"] == f"{prefix}-summarize-2026120101"
        assert world["metrics"].take() == []


def runner_job_events(flow: Flow, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """summarize Completed -> the judge (once, however often the event arrives); judge
    Completed -> its own drift report's metrics; quality Completed -> its own quality
    report's metrics and nothing of the (stale) drift report of its window; Failed/Stopped ->
    one log line with the reason, nothing put or started; InProgress is not delivered."""
    if flow.environment.get("ENGINE") == "model_monitor":
        return model_monitor_events(flow, monkeypatch, capsys)
    with mock_aws(), environment(monkeypatch, flow):
        world = _runner_world(flow)
        sm, s3, prefix = world["sagemaker"], world["s3"], flow.environment["JOB_PREFIX"]
        _run(flow, {}, world)  # the tick starts summarize and quality (runner_schedule)
        requests = {c["ProcessingJobName"]: c for c in world["created"].take()}
        summarize = sm.describe_processing_job(ProcessingJobName=f"{prefix}-summarize-2026120101")
        assert not matches(flow, job_event(flow, summarize, "InProgress"))

        for _ in range(2):  # EventBridge delivers at least once
            _run(flow, deliver(flow, job_event(flow, summarize, "Completed")), world)
        judges = world["created"].take()
        assert [j["ProcessingJobName"] for j in judges] == [f"{prefix}-judge-2026120101"]
        assert world["metrics"].take() == []

        # The judge writes its report to its own output; the values are what the test wrote.
        judge_out = judges[0]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
        bucket, key = _s3_uri_key(judge_out)
        drift = {"status": "drift", "metrics": {"DriftedFeatureShare": 0.25, "DriftSamples": 40}}
        _put(s3, bucket, f"{key}/drift_report.json", drift)
        judge = sm.describe_processing_job(ProcessingJobName=f"{prefix}-judge-2026120101")
        _run(flow, deliver(flow, job_event(flow, judge, "Completed")), world)
        endpoint = flow.environment["ENDPOINT_NAME"]
        put = put_metrics(world["metrics"], endpoint)
        assert put == {"DriftedFeatureShare": 0.25, "DriftSamples": 40.0}

        # Quality: its own report, and a stale drift report planted where the old code read.
        quality_name = f"{prefix}-quality-2026113001"
        quality_out = requests[quality_name]["ProcessingOutputConfig"]["Outputs"][0]
        bucket, key = _s3_uri_key(quality_out["S3Output"]["S3Uri"])
        stale = {"status": "drift", "metrics": {"DriftedFeatureShare": 0.99}}
        _put(s3, bucket, "monitoring/drift/2026/11/30/01/report/drift_report.json", stale)
        quality = sm.describe_processing_job(ProcessingJobName=quality_name)
        event = deliver(flow, job_event(flow, quality, "Completed"))
        result = _run(flow, event, world)
        assert world["metrics"].take() == [] and result["published"] == 0
        assert "without a report" in capsys.readouterr().out  # one clear line, no raise
        report = {
            "status": "judged",
            "metrics": {"LabelCoverage": 0.8, "Accuracy": 0.93, "MacroF1": 0.91},
        }
        _put(s3, bucket, f"{key}/quality_report.json", report)
        _run(flow, event, world)
        assert put_metrics(world["metrics"], endpoint) == {
            "Accuracy": 0.93,
            "MacroF1": 0.91,
            "LabelCoverage": 0.8,
        }

        # A job that failed or was stopped: its reason logged, nothing put, nothing started.
        for job, status in ((judge, "Failed"), (quality, "Stopped"), (summarize, "Failed")):
            reason = f"AlgorithmError: {job['ProcessingJobName']} exited with code 1"
            failed = deliver(flow, job_event(flow, job, status, FailureReason=reason))
            result = _run(flow, failed, world)
            lines = capsys.readouterr().out.strip().splitlines()
            assert len(lines) == 1 and reason in lines[0] and status in lines[0], lines
            assert world["metrics"].take() == [] and world["created"].take() == []
            assert result["published"] == 0


def model_monitor_events(flow: Flow, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """engine='model_monitor': a Model Monitor execution (a processing job carrying its
    schedule's ARN; moto keeps no MonitoringScheduleArn, so DescribeProcessingJob is
    stubbed) -> the drifted-feature share of its constraint_violations.json; Failed ->
    nothing put."""
    with mock_aws(), environment(monkeypatch, flow):
        env = flow.environment
        s3 = boto3.client("s3", region_name=flow.region)
        _bucket(s3, env["ARTIFACTS_BUCKET"])
        output = f"s3://{env['ARTIFACTS_BUCKET']}/monitoring/model-monitor/data/2026120101"
        violations = {
            "violations": [
                {"feature_name": "p3", "constraint_check_type": "baseline_drift_check"},
                {"feature_name": "p9", "constraint_check_type": "baseline_drift_check"},
                {"feature_name": "p9", "constraint_check_type": "data_type_check"},
            ]
        }
        _put(
            s3,
            env["ARTIFACTS_BUCKET"],
            output.split("/", 3)[3] + "/constraint_violations.json",
            violations,
        )
        _put(  # Model Monitor writes statistics.json for every analysis it completes
            s3,
            env["ARTIFACTS_BUCKET"],
            output.split("/", 3)[3] + "/statistics.json",
            {"dataset": {"item_count": 120}, "features": []},
        )
        prefix = flow.pattern["detail"]["MonitoringScheduleArn"][0]["prefix"]  # type: ignore[index]
        job = {
            "ProcessingJobName": "model-monitoring-202612010100-1a2b3c4d",
            "ProcessingJobArn": f"arn:aws:sagemaker:{flow.region}:{flow.account}:processing-job/x",
            "ProcessingJobStatus": "Completed",
            "MonitoringScheduleArn": f"{prefix}-data-quality",
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 30,
                }
            },
            "AppSpecification": {"ImageUri": "model-monitor"},
            "RoleArn": ROLE,
            "CreationTime": NOW,
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "result",
                        "S3Output": {
                            "S3Uri": output,
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "Continuous",
                        },
                    }
                ]
            },
        }
        sm = boto3.client("sagemaker", region_name=flow.region)
        cloudwatch = boto3.client("cloudwatch", region_name=flow.region)
        metrics = Recorder(cloudwatch, "PutMetricData")
        world = {"s3": s3, "sagemaker": sm, "cloudwatch": cloudwatch, "now": NOW}
        stub = Stubber(sm)
        stub.add_response(
            "describe_processing_job", job, {"ProcessingJobName": job["ProcessingJobName"]}
        )
        with stub:
            _run(flow, deliver(flow, job_event(flow, job, "Completed")), world)
            failed = job_event(flow, job, "Failed", FailureReason="ClientError: no capture")
            result = _run(flow, deliver(flow, failed), world)  # no SageMaker call at all
        assert "ClientError: no capture" in capsys.readouterr().out
        assert result["published"] == 0
        assert put_metrics(metrics, env["ENDPOINT_NAME"]) == {
            "DriftedFeatureShare": 2 / 64,  # two of the 64 pixel features drifted
            "DriftDetected": 0.0,  # 0.03 < the 0.2 threshold
        }


# ----------------------------------------------------------------------------- the others


def bridge_alarms(flow: Flow, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """Each alarm the rule names going to ALARM puts one RetrainRequested event that the
    training stack's own rule matches; going to OK is not delivered."""
    assert flow.pattern is not None
    training_rules = [
        r["Properties"]["EventPattern"]
        for t in flow.templates.values()
        for r in t.get("Resources", {}).values()
        if r["Type"] == "AWS::Events::Rule"
        and "RetrainRequested" in json.dumps(r["Properties"].get("EventPattern", {}))
    ]
    assert len(training_rules) == 1, "one training rule listens for RetrainRequested"
    alarms = flow.pattern["resources"]
    assert len(alarms) == 2  # drift and quality
    for alarm_arn in alarms:
        with mock_aws(), environment(monkeypatch, flow):
            sm = boto3.client("sagemaker", region_name=flow.region)
            sm.create_pipeline(
                PipelineName=flow.environment["PIPELINE_NAME"],
                PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
                RoleArn=ROLE,
            )
            events = boto3.client("events", region_name=flow.region)
            put = Recorder(events, "PutEvents")
            name = alarm_arn.rsplit(":", 1)[1]
            event = {
                "version": "0",
                "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
                "detail-type": "CloudWatch Alarm State Change",
                "source": "aws.cloudwatch",
                "account": flow.account,
                "time": "2026-12-01T03:00:00Z",
                "region": flow.region,
                "resources": [alarm_arn],
                "detail": {
                    "alarmName": name,
                    "state": {
                        "value": "ALARM",
                        "reason": "Threshold Crossed",
                        "reasonData": json.dumps({"recentDatapoints": [0.5, 0.6]}),
                        "timestamp": "2026-12-01T03:00:00.000+0000",
                    },
                    "previousState": {"value": "OK"},
                    "configuration": {"metrics": []},
                },
            }
            ok = json.loads(json.dumps(event))
            ok["detail"]["state"]["value"] = "OK"
            assert not matches(flow, ok)
            result = flow.module.handler(
                deliver(flow, event), None, {"sagemaker": sm, "events": events, "now": NOW}
            )
            assert result["requested"] is True
            (call,) = put.take()
            (entry,) = call["Entries"]
            retrain = {
                "source": entry["Source"],
                "detail-type": entry["DetailType"],
                "detail": json.loads(entry["Detail"]),
            }
            assert EventPattern(None, training_rules[0]).matches_event(retrain)
            assert retrain["detail"]["trigger"] == alarm_arn


def reaper_tick(flow: Flow, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """The hourly Scheduled Event runs the reaper without error and leaves the stack-managed
    endpoint alone (its delete rules are test_reaper.py's)."""
    env_name = flow.environment["ENV_NAME"]
    with mock_aws(), environment(monkeypatch, flow):
        sns = boto3.client("sns", region_name=flow.region)
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        monkeypatch.setenv("TOPIC_ARN", topic)
        sm = boto3.client("sagemaker", region_name=flow.region)
        name = f"{env_name}-digits"
        sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"})
        sm.create_endpoint_config(
            EndpointConfigName="c",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "m",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )
        tags = [{"Key": "environment", "Value": env_name}]
        sm.create_endpoint(EndpointName=name, EndpointConfigName="c", Tags=tags)
        flow.module.handler(scheduled_event(flow), None)
        assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == [name]


def ground_truth_tick(flow: Flow, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """The hourly tick rewrites the last hours' labelled raw events as Model Monitor ground
    truth records (the Developer Guide's format, written out here by hand)."""
    env = flow.environment
    with mock_aws(), environment(monkeypatch, flow):
        s3 = boto3.client("s3", region_name=flow.region)
        for bucket in {env["RAW_BUCKET"], env["ARTIFACTS_BUCKET"]}:
            _bucket(s3, bucket)
        lines = [
            {"event_id": "e-1", "label": 6},
            {"event_id": "e-2"},  # no label yet
            {"event_id": "e-3", "label": 0},
        ]
        body = gzip.compress("".join(json.dumps(x) + "\n" for x in lines).encode())
        raw_key = "events/year=2026/month=12/day=01/hour=00/part-1.gz"
        _put(s3, env["RAW_BUCKET"], raw_key, body)
        flow.module.handler(scheduled_event(flow), None, {"s3": s3, "now": NOW})
        listed = s3.list_objects_v2(
            Bucket=env["ARTIFACTS_BUCKET"], Prefix=env["GROUND_TRUTH_PREFIX"]
        )
        (obj,) = listed["Contents"]
        assert obj["Key"].startswith(f"{env['GROUND_TRUTH_PREFIX'].strip('/')}/2026/12/01/00/")
        text = s3.get_object(Bucket=env["ARTIFACTS_BUCKET"], Key=obj["Key"])["Body"].read()
        assert [json.loads(x) for x in text.decode().splitlines()] == [
            {
                "groundTruthData": {"data": "6", "encoding": "CSV"},
                "eventMetadata": {"eventId": "e-1"},
                "eventVersion": "0",
            },
            {
                "groundTruthData": {"data": "0", "encoding": "CSV"},
                "eventMetadata": {"eventId": "e-3"},
                "eventVersion": "0",
            },
        ]


# (handler module, what arrives) -> the case that feeds it every kind of event and checks it
CASES: dict[tuple[str, str], Callable[[Flow, pytest.MonkeyPatch, Any], None]] = {
    ("drift_runner", "schedule"): runner_schedule,
    ("drift_runner", "SageMaker Processing Job State Change"): runner_job_events,
    ("retrain_bridge", "CloudWatch Alarm State Change"): bridge_alarms,
    ("reaper", "schedule"): reaper_tick,
    ("ground_truth", "schedule"): ground_truth_tick,
}


def _case(flow: Flow) -> Callable[[Flow, pytest.MonkeyPatch, Any], None] | None:
    return CASES.get((flow.module.__name__.rsplit(".", 1)[1], flow.kind))


# ----------------------------------------------------------------------------- tests


def test_every_flow_has_a_case(flows: list[Flow]) -> None:
    """A new rule, schedule or notification on one of our functions needs its case here."""
    missing = [f"no event-flow case for {f}" for f in flows if _case(f) is None]
    assert not missing, "\n".join(missing)
    # the ones this file was written for, so discovery cannot quietly find nothing
    found = {(f.source, f.module.__name__.rsplit(".", 1)[1], f.kind) for f in flows}
    for source in ("lab", "prod-like"):
        assert (source, "drift_runner", "schedule") in found
        assert (source, "drift_runner", "SageMaker Processing Job State Change") in found
        assert (source, "retrain_bridge", "CloudWatch Alarm State Change") in found
    assert ("lab", "reaper", "schedule") in found
    assert ("lab model_monitor", "ground_truth", "schedule") in found
    assert ("lab model_monitor", "drift_runner", "SageMaker Processing Job State Change") in found


@pytest.mark.parametrize("source", ["lab", "prod-like", "lab model_monitor"])
def test_each_flow_does_what_its_event_asks(
    flows: list[Flow], source: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    ran = 0
    for flow in flows:
        if flow.source != source:
            continue
        case = _case(flow)
        assert case is not None, f"no event-flow case for {flow}"
        capsys.readouterr()
        case(flow, monkeypatch, capsys)
        ran += 1
    assert ran >= 2


def test_the_matcher_rejects_what_the_pattern_excludes(flows: list[Flow]) -> None:
    """moto's matcher is the oracle for 'the rule delivers this': it must say no too."""
    (runner,) = [
        f for f in flows if f.source == "lab" and f.kind == "SageMaker Processing Job State Change"
    ]
    job = {"ProcessingJobName": "lab-digits-drift-judge-2026120101", "ProcessingJobArn": "a"}
    assert matches(runner, job_event(runner, job, "Completed"))
    assert not matches(runner, job_event(runner, job, "InProgress"))
    other = {**job, "ProcessingJobName": "someone-elses-job"}
    assert not matches(runner, job_event(runner, other, "Completed"))


# ----------------------------------------------------------------------------- failure alerts
#
# Rules whose target is a topic (issue 26): no handler to run, so the oracle is the documented
# event shape fed through moto's matcher (ours match, foreign ones do not) and the message the
# target's input transformer renders from it, against hand-written text. Event examples:
# - SageMaker Model Building Pipeline Execution Status Change and ... Step Status Change
#   (SageMaker Developer Guide, "Events that Amazon SageMaker AI sends to Amazon EventBridge",
#   sections "SageMaker pipeline execution state change" and "SageMaker pipeline step state
#   change": https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html);
# - CodePipeline Pipeline Execution State Change (CodePipeline User Guide, "Pipeline FAILED
#   event": https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html).
# The field names are also checked against the EventBridge schemas (CDK mixins-preview) below.


@dataclass
class AlertRule:
    source: str
    stack: str
    rule_id: str
    pattern: dict[str, Any]
    target: dict[str, Any]  # resolved
    config: Any

    @property
    def kind(self) -> str:
        return "|".join(self.pattern["detail-type"])


@pytest.fixture(scope="module")
def alert_rules(synth) -> list[AlertRule]:  # type: ignore[no-untyped-def]
    """Every rule, in lab and prod-like, with a target that is not one of our functions."""
    out = []
    for profile in ("lab", "prod-like"):
        s = synth(profile)
        c = s.platform.config
        for stack, template in s.templates.items():
            resources = template.get("Resources", {})
            resolve = Resolver(template, c.region, c.account)
            for lid, r in resources.items():
                if r["Type"] != "AWS::Events::Rule" or "EventPattern" not in r["Properties"]:
                    continue
                for target in r["Properties"].get("Targets", []):
                    arn = str(resolve(target["Arn"]))
                    if arn.split(":")[2:3] == ["sns"]:
                        pattern = resolve(r["Properties"]["EventPattern"])
                        out.append(AlertRule(profile, stack, lid, pattern, resolve(target), c))
    return out


def render(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """EventBridge's input transformer: each InputPathsMap path read from the event, put in
    the InputTemplate in place of <name> (inside a string, JSON-escaped), the result JSON."""
    transformer = target["InputTransformer"]
    text = transformer["InputTemplate"]
    for name, path in transformer["InputPathsMap"].items():
        value: Any = event
        for part in path.removeprefix("$.").split("."):
            value = value[part]
        text = text.replace(f"<{name}>", json.dumps(value)[1:-1])
    return json.loads(text)


def pipeline_event(arn: str, status: str, execution: str = "p4jn9xou8a8s") -> dict[str, Any]:
    """The Developer Guide's example ("SageMaker pipeline execution state change"), with the
    pipeline (its region and account) and the status given."""
    region, account = arn.split(":")[3:5]
    return {
        "version": "0",
        "id": "315c1398-40ff-a850-213b-158f73kd93ir",
        "detail-type": "SageMaker Model Building Pipeline Execution Status Change",
        "source": "aws.sagemaker",
        "account": account,
        "time": "2021-03-15T16:10:11Z",
        "region": region,
        "resources": [arn, f"{arn}/execution/{execution}"],
        "detail": {
            "pipelineExecutionDisplayName": "SomeDisplayName",
            "currentPipelineExecutionStatus": status,
            "previousPipelineExecutionStatus": "Executing",
            "executionStartTime": "2021-03-15T16:03:13Z",
            "executionEndTime": "2021-03-15T16:10:10Z",
            "pipelineExecutionDescription": "SomeDescription",
            "pipelineArn": arn,
            "pipelineExecutionArn": f"{arn}/execution/{execution}",
        },
    }


def step_event(arn: str, status: str, **extra: Any) -> dict[str, Any]:
    """The Developer Guide's example ("SageMaker pipeline step state change", a processing
    step), with the pipeline (its region and account) and the status given; ``extra`` adds
    detail fields, such as the ``failureReason`` the guide says a Failed step's event has."""
    region, account = arn.split(":")[3:5]
    execution = f"{arn}/execution/p4jn9xou8a8s"
    job = (
        f"arn:aws:sagemaker:{region}:{account}:processing-job/"
        "pipelines-p4jn9xou8a8s-myprocessingstep1-tmgxry49ug"
    )
    return {
        "version": "0",
        "id": "ea37ccbb-5e2b-05e9-4073-1daazc940304",
        "detail-type": "SageMaker Model Building Pipeline Execution Step Status Change",
        "source": "aws.sagemaker",
        "account": account,
        "time": "2021-03-15T16:10:10Z",
        "region": region,
        "resources": [arn, execution],
        "detail": {
            "metadata": {"processingJob": {"arn": job}},
            "stepStartTime": "2021-03-15T16:03:14Z",
            "stepEndTime": "2021-03-15T16:10:09Z",
            "stepName": "myprocessingstep1",
            "stepType": "Processing",
            "previousStepStatus": "Executing",
            "currentStepStatus": status,
            "pipelineArn": arn,
            "pipelineExecutionArn": execution,
            **extra,
        },
    }


def codepipeline_event(arn: str, state: str) -> dict[str, Any]:
    """The CodePipeline User Guide's "Pipeline FAILED event" (emitted event), with the
    pipeline (its region, account and name) and the state given."""
    region, account, name = arn.split(":")[3:6]
    return {
        "version": "0",
        "id": "01234567-EXAMPLE",
        "detail-type": "CodePipeline Pipeline Execution State Change",
        "source": "aws.codepipeline",
        "account": account,
        "time": "2020-01-31T18:55:43Z",
        "region": region,
        "resources": [arn],
        "detail": {
            "pipeline": name,
            "execution-id": "12345678-1234-5678-abcd-12345678abcd",
            "start-time": "2023-10-26T13:49:39.208Z",
            "state": state,
            "version": 4.0,
            "pipeline-execution-attempt": 1.0,
        },
    }


def _matches(rule: AlertRule, event: dict[str, Any]) -> bool:
    return EventPattern(json.dumps(rule.pattern), rule.pattern).matches_event(event)


def foreign_pipelines(c: Any) -> list[str]:
    """SageMaker pipelines that are not ours: another pipeline of the account, our name as a
    prefix or a suffix of theirs, and our name in another account."""
    base = f"arn:aws:sagemaker:{c.region}:{c.account}:pipeline"
    env = c.env_name
    return [
        f"{base}/someone-elses-pipeline",
        f"{base}/{env}-digits-training-copy",
        f"{base}/other-{env}-digits-training",
        f"arn:aws:sagemaker:{c.region}:999999999999:pipeline/{env}-digits-training",
    ]


def sagemaker_pipeline_alerts(rule: AlertRule) -> None:
    c = rule.config
    base = f"arn:aws:sagemaker:{c.region}:{c.account}:pipeline"
    env = c.env_name
    ours = [f"{base}/{env}-digits-training", f"{base}/{env}-digits-scoring"]
    for arn in ours:
        for status in ("Failed", "Stopped"):
            assert _matches(rule, pipeline_event(arn, status)), (rule.rule_id, arn, status)
        for status in ("Succeeded", "Executing", "Stopping"):
            assert not _matches(rule, pipeline_event(arn, status)), (arn, status)
    for arn in foreign_pipelines(c):
        assert not _matches(rule, pipeline_event(arn, "Failed")), arn
    (target,) = [rule.target]
    event = pipeline_event(ours[0], "Failed")
    execution = f"{ours[0]}/execution/p4jn9xou8a8s"
    assert render(target, event) == (
        f"SageMaker pipeline execution Failed: {ours[0]} execution {execution} in "
        f"{c.region}. Why: aws sagemaker describe-pipeline-execution --pipeline-execution-arn "
        f"{execution} --region {c.region} (FailureReason), then list-pipeline-execution-steps"
    )


def sagemaker_step_alerts(rule: AlertRule) -> None:
    c = rule.config
    base = f"arn:aws:sagemaker:{c.region}:{c.account}:pipeline"
    env = c.env_name
    ours = [f"{base}/{env}-digits-training", f"{base}/{env}-digits-scoring"]
    for arn in ours:
        for status in ("Failed", "Stopped"):
            assert _matches(rule, step_event(arn, status)), (rule.rule_id, arn, status)
        for status in ("Succeeded", "Executing", "Starting", "Stopping"):
            assert not _matches(rule, step_event(arn, status)), (arn, status)
    for arn in foreign_pipelines(c):
        assert not _matches(rule, step_event(arn, "Failed", failureReason="theirs")), arn
    reason = 'AlgorithmError: "No such file": /opt/ml/processing/input/raw'
    event = step_event(ours[0], "Failed", failureReason=reason)
    execution = f"{ours[0]}/execution/p4jn9xou8a8s"
    assert render(rule.target, event) == (
        f"SageMaker pipeline step myprocessingstep1 Failed: {reason} (pipeline {ours[0]}, "
        f"execution {execution}, {c.region}). More: aws sagemaker list-pipeline-execution-steps "
        f"--pipeline-execution-arn {execution} --region {c.region}"
    )


def codepipeline_alerts(rule: AlertRule) -> None:
    c = rule.config
    (ours,) = rule.pattern["resources"]  # the delivery pipeline's ARN, as the template has it
    assert ours.startswith(f"arn:aws:codepipeline:{c.region}:{c.account}:")
    assert _matches(rule, codepipeline_event(ours, "FAILED"))
    for state in ("SUCCEEDED", "STARTED", "STOPPED", "SUPERSEDED", "CANCELED", "RESUMED"):
        assert not _matches(rule, codepipeline_event(ours, state)), state
    for other in (f"{ours}-copy", f"arn:aws:codepipeline:{c.region}:{c.account}:other"):
        assert not _matches(rule, codepipeline_event(other, "FAILED")), other
    name = ours.rsplit(":", 1)[1]
    execution = "12345678-1234-5678-abcd-12345678abcd"
    assert render(rule.target, codepipeline_event(ours, "FAILED")) == (
        f"CodePipeline execution FAILED: {name} execution {execution} in {c.region}. Why: "
        f"aws codepipeline list-action-executions --pipeline-name {name} "
        f"--filter pipelineExecutionId={execution} --region {c.region}"
    )


ALERT_CASES: dict[str, Callable[[AlertRule], None]] = {
    "SageMaker Model Building Pipeline Execution Status Change": sagemaker_pipeline_alerts,
    "SageMaker Model Building Pipeline Execution Step Status Change": sagemaker_step_alerts,
    "CodePipeline Pipeline Execution State Change": codepipeline_alerts,
}


def test_every_alert_rule_has_a_case(alert_rules: list[AlertRule]) -> None:
    missing = [
        f"{r.source} {r.stack}/{r.rule_id}" for r in alert_rules if r.kind not in ALERT_CASES
    ]
    assert not missing, f"no alert case for {missing}"
    found = {(r.source, r.kind) for r in alert_rules}
    for source in ("lab", "prod-like"):
        for kind in ALERT_CASES:
            assert (source, kind) in found, (source, kind)


@pytest.mark.parametrize("source", ["lab", "prod-like"])
def test_alert_rules_match_ours_only_and_say_what_failed(
    alert_rules: list[AlertRule], source: str
) -> None:
    ran = 0
    for rule in alert_rules:
        if rule.source == source:
            ALERT_CASES[rule.kind](rule)
            ran += 1
    assert ran >= 2


def schema_fields(schema: Any) -> tuple[list[str], list[str], set[str]]:
    """source, detail-type and the detail's top-level field names of an event type, as CDK's
    mixins-preview generates them from the EventBridge schema registry: its ``event_pattern``
    with every field filtered on, read back (nested objects, given as ``{}``, are dropped)."""
    import inspect

    params = inspect.signature(schema.event_pattern).parameters
    every = {
        name: ["x"] if "Sequence" in str(p.annotation) else {}
        for name, p in params.items()
        if name != "event_metadata"  # the envelope (region, resources, ...), not the detail
    }
    pattern = schema.event_pattern(**every)
    return pattern.source, pattern.detail_type, set(pattern.detail)


def test_alert_rules_name_fields_the_event_schemas_have(alert_rules: list[AlertRule]) -> None:
    """The field names each alert rule filters on and its message reads (``$.detail.<name>``)
    are fields of its event type in the schema CDK's mixins-preview is generated from
    (SageMakerModelBuildingPipelineExecutionStepStatusChangeProps: https://docs.aws.amazon.com/cdk/api/v2/docs/@aws-cdk_mixins-preview.aws_sagemaker.events.SageMakerModelBuildingPipelineExecutionStepStatusChange.SageMakerModelBuildingPipelineExecutionStepStatusChangeProps.html),
    an oracle apart from the Developer Guide's examples the event-flow cases use: a misspelt
    name (``stepStatus``, ``FailureReason``) matches nothing and renders nothing, silently."""
    from aws_cdk.mixins_preview.aws_codepipeline import events as codepipeline_events
    from aws_cdk.mixins_preview.aws_sagemaker import events as sagemaker_events

    schemas = {
        "SageMaker Model Building Pipeline Execution Status Change": (
            sagemaker_events.SageMakerModelBuildingPipelineExecutionStatusChange
        ),
        "SageMaker Model Building Pipeline Execution Step Status Change": (
            sagemaker_events.SageMakerModelBuildingPipelineExecutionStepStatusChange
        ),
        "CodePipeline Pipeline Execution State Change": (
            codepipeline_events.CodePipelinePipelineExecutionStateChange
        ),
    }
    assert set(schemas) == set(ALERT_CASES)
    checked = 0
    for rule in alert_rules:
        source, detail_type, fields = schema_fields(schemas[rule.kind])
        where = f"{rule.source} {rule.stack}/{rule.rule_id}"
        assert rule.pattern["source"] == source, where
        assert rule.pattern["detail-type"] == detail_type, where
        assert set(rule.pattern["detail"]) <= fields, (where, set(rule.pattern["detail"]) - fields)
        read = {
            path.removeprefix("$.detail.")
            for path in rule.target["InputTransformer"]["InputPathsMap"].values()
            if path.startswith("$.detail.")
        }
        assert read and read <= fields, (where, read - fields)
        checked += 1
    assert checked >= 6  # lab and prod-like, three rules each
