"""Monitoring in the synthesized app: the ``<env>-Monitoring`` stack with our own
drift/quality path on the production endpoint (schedule, job events, alarms, retrain bridge,
dashboard, the run-time lookup's permissions) and the synth-time errors."""

from __future__ import annotations

import dataclasses
import json

import pytest
from aws_cdk.assertions import Match, Template

from core.config import (
    ConfigError,
    GuardrailConfig,
    MonitoringConfig,
    ServingConfig,
    load_profile,
)


@pytest.fixture(scope="module")
def serving(synth) -> Template:  # type: ignore[no-untyped-def]
    """The monitoring stack (the fixture name is historical: it watches the serving unit)."""
    return Template.from_json(synth("lab").template("Monitoring"))


def _functions(template: Template) -> dict[str, dict]:
    return {
        k: v["Properties"]
        for k, v in template.find_resources("AWS::Lambda::Function").items()
        if "Monitoring" in k
    }


def test_runner_is_scheduled_every_schedule_hours(serving: Template) -> None:
    serving.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {"ScheduleExpression": "rate(1 hour)", "State": "ENABLED"},
    )
    (runner,) = [f for f in _functions(serving).values() if f["Handler"].startswith("drift_runner")]
    env = runner["Environment"]["Variables"]
    assert env["WINDOW_HOURS"] == "1" and env["SHARE_THRESHOLD"] == "0.2"
    # the scikit-learn processing image from the SDK's map: numpy/scipy already inside
    assert env["IMAGE_URI"].endswith(
        ".dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    # no version baked in at synth: the runner finds the deployed one from the endpoint
    assert "MODEL_PACKAGE_ARN" not in env and env["MODEL_PACKAGE_GROUP"] == "lab-digits-xgboost"
    assert env["ENDPOINT_NAME"] == "lab-digits"
    # no reservation: a new account has none to give (rehearsal rule lambda-reserved-concurrency)
    assert "ReservedConcurrentExecutions" not in runner


def test_job_completion_events_drive_the_next_phase(serving: Template) -> None:
    """Failed and Stopped reach the runner too: it logs the FailureReason and puts nothing
    (test_event_flows.py feeds each status)."""
    serving.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Processing Job State Change"],
                "detail": {
                    "ProcessingJobName": [{"prefix": "lab-digits-drift"}],
                    "ProcessingJobStatus": ["Completed", "Failed", "Stopped"],
                },
            }
        },
    )


def test_drift_and_quality_alarms_take_2_of_3_and_notify_every_state(serving: Template) -> None:
    alarms = {
        p["MetricName"]: p
        for p in (
            r["Properties"] for r in serving.find_resources("AWS::CloudWatch::Alarm").values()
        )
        if p.get("Namespace") == "MLOpsPlatform/Monitoring"
    }
    assert set(alarms) == {"DriftedFeatureShare", "Accuracy"}
    drift, accuracy = alarms["DriftedFeatureShare"], alarms["Accuracy"]
    assert (drift["Threshold"], drift["ComparisonOperator"]) == (
        0.2,
        "GreaterThanOrEqualToThreshold",
    )
    assert (accuracy["Threshold"], accuracy["ComparisonOperator"]) == (0.95, "LessThanThreshold")
    # fixed names (<endpoint>-drift, -quality): another account's rule names their ARNs
    assert (drift["AlarmName"], accuracy["AlarmName"]) == ("lab-digits-drift", "lab-digits-quality")
    for alarm in alarms.values():
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 2)
        assert alarm["Dimensions"] == [{"Name": "EndpointName", "Value": "lab-digits"}]
        for actions in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            assert len(alarm[actions]) == 1, actions  # the alert topic


def test_alarm_state_changes_reach_the_retrain_bridge(serving: Template, synth) -> None:  # type: ignore[no-untyped-def]
    rules = [
        r["Properties"]
        for r in serving.find_resources("AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"].get("source") == ["aws.cloudwatch"]
    ]
    (rule,) = rules
    assert rule["EventPattern"]["detail"] == {"state": {"value": ["ALARM"]}}
    assert len(rule["EventPattern"]["resources"]) == 2
    (bridge,) = [f for f in _functions(serving).values() if f["Handler"].startswith("retrain")]
    # the training stack's rule listens for exactly this pair, which the bridge reads from the
    # contract bundled beside it (no second spelling in the environment)
    asset = synth("lab").outdir / f"asset.{bridge['Code']['S3Key'].removesuffix('.zip')}"
    bundled = (asset / "model_code" / "monitoring_contract.py").read_text()
    assert 'RETRAIN_SOURCE = "mlops.platform"' in bundled
    assert 'RETRAIN_DETAIL_TYPE = "RetrainRequested"' in bundled
    assert (asset / "retrain_bridge.py").is_file() and (asset / "model_code/layout.py").is_file()
    assert "RETRAIN_SOURCE" not in bridge["Environment"]["Variables"]
    policies = json.dumps(serving.find_resources("AWS::IAM::Policy"))
    assert "sagemaker:ListPipelineExecutions" in policies
    serving.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "events:PutEvents",
                                "Condition": {"StringEquals": {"events:source": "mlops.platform"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_dashboard_shows_traffic_errors_latency_drift_accuracy_coverage(serving: Template) -> None:
    (dashboard,) = serving.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "Invocations",
        "Invocation5XXErrors",
        "ModelLatency",
        "DriftedFeatureShare",
        "Accuracy",
        "LabelCoverage",
    ):
        assert metric in body, metric


def test_serving_stacks_hold_no_monitoring(synth) -> None:  # type: ignore[no-untyped-def]
    """The pipeline's deployment role may create endpoint resources only: no Lambda,
    schedule, rule or dashboard in either serving stack."""
    for unit in ("ServingStaging", "Serving"):
        template = Template.from_json(synth("lab").template(unit))
        for kind in (
            "AWS::Lambda::Function",
            "AWS::Scheduler::Schedule",
            "AWS::Events::Rule",
            "AWS::CloudWatch::Dashboard",
            "AWS::Logs::LogGroup",
        ):
            template.resource_count_is(kind, 0)


def _statement(template: Template, action: str) -> dict:
    (statement,) = [
        st
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if st["Action"] == action
    ]
    return statement


def test_runner_may_describe_only_what_the_lookup_walks(serving: Template) -> None:
    sm = "arn:aws:sagemaker:us-east-1:111111111111"
    for action, resource in (
        ("DescribeEndpoint", f"{sm}:endpoint/lab-digits"),
        ("DescribeEndpointConfig", f"{sm}:endpoint-config/*"),
        ("DescribeModel", f"{sm}:model/*"),
        ("DescribeModelPackage", f"{sm}:model-package/lab-digits-xgboost/*"),
    ):
        assert _statement(serving, f"sagemaker:{action}")["Resource"] == resource, action
    policies = json.dumps(serving.find_resources("AWS::IAM::Policy"))
    assert "sagemaker:ListModelPackages" not in policies  # real_time names its package


def test_monitoring_stack_exists_without_a_release_and_depends_on_the_lake(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import aws_cdk as cdk

    from infra.platform import add_platform, cdk_json_context

    lab = load_profile("lab")
    context = cdk_json_context()
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("norelease")), context=context)
    platform = add_platform(app, lab, release=None)
    assert platform.serving is None and platform.monitoring is not None
    assert platform.monitoring.stack_name == "lab-Monitoring"
    assert platform.data_lake in platform.monitoring.dependencies
    assert platform.monitoring in platform.stacks
    off = dataclasses.replace(lab, monitoring=MonitoringConfig(engine="none"))
    other = add_platform(cdk.App(outdir=str(tmp_path_factory.mktemp("off")), context=context), off)
    assert other.monitoring is None


def test_drift_job_role_reads_capture_and_writes_only_its_outputs(serving: Template) -> None:
    policies = json.dumps(serving.find_resources("AWS::IAM::Policy"))
    assert "/capture/*" in policies and "/monitoring/drift/*" in policies
    serving.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "iam:PassRole",
                                "Condition": {
                                    "StringEquals": {
                                        "iam:PassedToService": "sagemaker.amazonaws.com"
                                    }
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


# ----------------------------------------------------------------------------- config errors


BASE = "s3://baselines-bucket/digits/v1"
MM = {"model_monitor_baseline_uri": BASE}


def _with(**changes: object) -> None:
    lab = load_profile("lab")
    serving = dataclasses.replace(lab.serving, **changes.pop("serving", {}))  # type: ignore[arg-type]
    monitoring = MonitoringConfig(**changes)  # type: ignore[arg-type]
    dataclasses.replace(lab, serving=serving, monitoring=monitoring)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"engine": "model_monitor", "serving": {"kind": "multi_model"}, **MM},
            "Model Monitor does not support multi_model endpoints",
        ),
        (
            {
                "engine": "model_monitor",
                **MM,
                "serving": {
                    "kind": "serverless",
                    "data_capture": False,
                    "guardrail": GuardrailConfig(mode="all_at_once"),
                },
            },
            "Model Monitor does not support serverless endpoints",
        ),
        (
            {"engine": "model_monitor", "serving": {"data_capture": False}, **MM},
            "drift monitoring needs serving.data_capture=true",
        ),
        (
            {"engine": "model_monitor", "schedule_hours": 5, "model_monitor_baseline_uri": BASE},
            "cannot run every 5 hours",
        ),
        ({"instance_count": 0}, "monitoring.instance_count must be 1-100"),
    ],
)
def test_invalid_monitoring_combinations_fail_at_synth(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _with(**changes)


def test_every_n_hours_that_divides_the_day_is_accepted_for_model_monitor() -> None:
    for hours in (1, 2, 3, 4, 6, 8, 12, 24):
        MonitoringConfig(engine="model_monitor", schedule_hours=hours, **MM)
    assert ServingConfig().data_capture  # the default real-time endpoint captures


# ----------------------------------------------------------------------------- Model Monitor


DEPLOYED_BASELINE = "s3://lab-artifacts/pipelines/lab-digits-training/exec-7/MonitorBaseline"


def _model_monitor_config():  # type: ignore[no-untyped-def]
    """No baseline override: the schedules read the deployed version's (the release's)."""
    return dataclasses.replace(
        load_profile("lab"),
        monitoring=MonitoringConfig(engine="model_monitor", schedule_hours=6, explainability=True),
    )


def _release_with_baseline():  # type: ignore[no-untyped-def]
    from core.release import Release
    from infra.platform import EXAMPLE_RELEASE

    release = Release.from_file(EXAMPLE_RELEASE)
    return dataclasses.replace(
        release, xgboost=dataclasses.replace(release.xgboost, monitor_baseline=DEPLOYED_BASELINE)
    )


@pytest.fixture(scope="module")
def model_monitor_stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Template]:
    """engine='model_monitor': the production serving stack (with the schedules, which need
    the endpoint) and the monitoring stack, synthesized with every compliance pack."""
    import aws_cdk as cdk
    from aws_cdk import aws_sns as sns

    from infra.compliance.packs import ComplianceReport, add_compliance_gate
    from infra.platform import cdk_json_context
    from infra.stacks.monitoring_stack import MonitoringStack
    from infra.stacks.serving_stack import ServingStack

    config = _model_monitor_config()
    outdir = tmp_path_factory.mktemp("mm")
    app = cdk.App(outdir=str(outdir), context=cdk_json_context())
    env = cdk.Environment(account=config.account, region=config.region)
    topic = sns.Topic.from_topic_arn(
        cdk.Stack(app, "Alerts", env=env), "Topic", "arn:aws:sns:us-east-1:111111111111:a"
    )
    stacks = {
        "Serving": ServingStack(
            app,
            config.stack_name("Serving"),
            config=config,
            serving=config.serving,
            endpoint_name=config.endpoint_name,
            release=_release_with_baseline(),
            alert_topic=topic,
            network=None,
            model_monitor=True,
            env=env,
        ),
        "Monitoring": MonitoringStack(
            app, config.stack_name("Monitoring"), config=config, alert_topic=topic, env=env
        ),
    }
    add_compliance_gate(app)
    try:
        app.synth()
    except RuntimeError as err:
        if "alidation" not in str(err):
            raise
    report = ComplianceReport.read(outdir)
    assert report.violations == [], report.describe_violations()
    return {
        unit: Template.from_json(
            json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
        )
        for unit, stack in stacks.items()
    }


@pytest.fixture(scope="module")
def model_monitor(model_monitor_stacks: dict[str, Template]) -> Template:
    return model_monitor_stacks["Serving"]


def test_model_monitor_schedules_data_and_model_quality(model_monitor: Template) -> None:
    model_monitor.resource_count_is("AWS::SageMaker::MonitoringSchedule", 3)  # + explainability
    for kind in ("DATA_QUALITY", "MODEL_QUALITY"):
        model_monitor.has_resource_properties(
            "AWS::SageMaker::MonitoringSchedule",
            {
                "EndpointName": "lab-digits",
                "MonitoringScheduleConfig": Match.object_like(
                    {
                        "MonitoringType": kind,
                        "ScheduleConfig": {"ScheduleExpression": "cron(0 0/6 ? * * *)"},
                    }
                ),
            },
        )
    model_monitor.has_resource_properties(
        "AWS::SageMaker::ModelQualityJobDefinition",
        {
            "ModelQualityAppSpecification": {
                "ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/"
                "sagemaker-model-monitor-analyzer",  # the SDK map's us-east-1 account
                "ProblemType": "MulticlassClassification",
            },
            "ModelQualityJobInput": Match.object_like(
                {"EndpointInput": Match.object_like({"InferenceAttribute": "0"})}
            ),
        },
    )


def test_schedules_read_the_deployed_versions_baselines(model_monitor: Template) -> None:
    """The release's monitor_baseline (the deployed version's MonitorBaseline output), not a
    hand-set URI; the role may read exactly those files."""
    model_monitor.has_resource_properties(
        "AWS::SageMaker::DataQualityJobDefinition",
        {
            "DataQualityBaselineConfig": {
                "ConstraintsResource": {
                    "S3Uri": f"{DEPLOYED_BASELINE}/data-quality/constraints.json"
                },
                "StatisticsResource": {
                    "S3Uri": f"{DEPLOYED_BASELINE}/data-quality/statistics.json"
                },
            }
        },
    )
    model_monitor.has_resource_properties(
        "AWS::SageMaker::ModelQualityJobDefinition",
        {
            "ModelQualityBaselineConfig": {
                "ConstraintsResource": {
                    "S3Uri": f"{DEPLOYED_BASELINE}/model-quality/constraints.json"
                }
            }
        },
    )
    (read,) = [
        st
        for policy in model_monitor.find_resources("AWS::IAM::Policy").values()
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if st.get("Sid") == "Baselines"
    ]
    bucket_key = DEPLOYED_BASELINE.removeprefix("s3://")
    assert sorted(read["Resource"]) == sorted(
        f"arn:aws:s3:::{bucket_key}/{name}"
        for name in (
            "data-quality/statistics.json",
            "data-quality/constraints.json",
            "model-quality/constraints.json",
            "explainability/analysis_config.json",
        )
    )


def test_explainability_schedule_uses_clarify_and_the_versions_shap_config(
    model_monitor: Template,
) -> None:
    model_monitor.has_resource_properties(
        "AWS::SageMaker::ModelExplainabilityJobDefinition",
        {
            "ModelExplainabilityAppSpecification": {
                # the SDK map's us-east-1 account for sagemaker-clarify-processing
                "ImageUri": Match.string_like_regexp(
                    r"^205585389593\.dkr\.ecr\.us-east-1\.amazonaws\.com/"
                    r"sagemaker-clarify-processing:"
                ),
                "ConfigUri": f"{DEPLOYED_BASELINE}/explainability/analysis_config.json",
            },
            "ModelExplainabilityJobInput": {
                "EndpointInput": Match.object_like({"EndpointName": "lab-digits"})
            },
            "NetworkConfig": Match.object_like({"EnableNetworkIsolation": True}),
        },
    )
    model_monitor.has_resource_properties(
        "AWS::SageMaker::MonitoringSchedule",
        {
            "MonitoringScheduleName": "lab-digits-model-explainability",
            "MonitoringScheduleConfig": Match.object_like(
                {"MonitoringType": "MODEL_EXPLAINABILITY"}
            ),
        },
    )


def test_explainability_is_off_by_default_and_adds_nothing(synth) -> None:  # type: ignore[no-untyped-def]
    assert MonitoringConfig().explainability is False
    template = Template.from_json(synth("lab").template("Serving"))
    template.resource_count_is("AWS::SageMaker::ModelExplainabilityJobDefinition", 0)


def test_baseline_override_wins_over_the_release() -> None:
    from infra.monitoring.model_monitor import baseline_prefix

    config = dataclasses.replace(
        _model_monitor_config(),
        monitoring=MonitoringConfig(
            engine="model_monitor", model_monitor_baseline_uri="s3://other/baselines/v3"
        ),
    )
    assert baseline_prefix(config, _release_with_baseline()) == "s3://other/baselines/v3"
    assert baseline_prefix(_model_monitor_config(), _release_with_baseline()) == DEPLOYED_BASELINE


def test_a_release_without_baselines_fails_at_synth_with_the_fix() -> None:
    from core.release import Release
    from infra.monitoring.model_monitor import baseline_prefix
    from infra.platform import EXAMPLE_RELEASE

    example = Release.from_file(EXAMPLE_RELEASE)  # it carries one: take it away
    release = dataclasses.replace(
        example, xgboost=dataclasses.replace(example.xgboost, monitor_baseline=None)
    )
    with pytest.raises(ConfigError, match="names no monitor_baseline.*labctl release resolve"):
        baseline_prefix(_model_monitor_config(), release)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"engine": "custom", "explainability": True}, "set monitoring.engine='model_monitor'"),
        (
            {
                "engine": "model_monitor",
                "explainability": True,
                "serving": {"kind": "multi_container"},
            },
            "explainability needs a real-time single-model endpoint, not multi_container",
        ),
    ],
)
def test_explainability_only_with_model_monitor_on_a_single_model(
    changes: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _with(**changes)


def test_model_monitor_results_feed_the_same_alarms_and_bridge(
    model_monitor_stacks: dict[str, Template],
) -> None:
    model_monitor = model_monitor_stacks["Monitoring"]
    model_monitor.resource_count_is("AWS::SageMaker::MonitoringSchedule", 0)  # with the endpoint
    # no own drift job: the one schedule is the hourly ground-truth upload
    (schedule,) = model_monitor.find_resources("AWS::Scheduler::Schedule").values()
    assert "ground truth" in schedule["Properties"]["Description"]
    alarms = [
        r["Properties"]["MetricName"]
        for r in model_monitor.find_resources("AWS::CloudWatch::Alarm").values()
        if r["Properties"].get("Namespace") == "MLOpsPlatform/Monitoring"
    ]
    assert sorted(alarms) == ["Accuracy", "DriftedFeatureShare"]
    rule = next(
        r["Properties"]["EventPattern"]
        for r in model_monitor.find_resources("AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"].get("source") == ["aws.sagemaker"]
    )
    assert "MonitoringScheduleArn" in rule["detail"]


def test_a_baseline_override_must_be_an_s3_prefix() -> None:
    MonitoringConfig(engine="model_monitor")  # optional: the release names the baselines
    with pytest.raises(ConfigError, match="model_monitor_baseline_uri must be an s3://"):
        MonitoringConfig(engine="model_monitor", model_monitor_baseline_uri="s3://bucket/x/")


def test_multi_model_runner_may_list_the_xgboost_group(synth) -> None:  # type: ignore[no-untyped-def]
    """Its models are S3 archives naming no package: the runner takes the newest Approved."""
    template = Template.from_json(synth.variant("lab", "multi_model").template("Monitoring"))
    assert _statement(template, "sagemaker:ListModelPackages")["Resource"] == "*"
    (runner,) = [
        f for f in _functions(template).values() if f["Handler"].startswith("drift_runner")
    ]
    assert runner["Environment"]["Variables"]["MODEL_PACKAGE_GROUP"] == "lab-digits-xgboost"


def test_the_deploying_role_may_create_what_model_monitor_adds_to_production(
    model_monitor_stacks: dict[str, Template],
) -> None:
    """Oracle: the resource provider schemas' handler permissions (cfn-lint ships them), for
    every type the production template holds; staging and the custom engine get none."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    from infra.serving.deploy_permissions import (
        MODEL_MONITOR_TYPES,
        NOT_GRANTED,
        RESOURCE_TYPES,
        deployment_wildcards,
        grants,
        serving_units,
    )

    config = _model_monitor_config()
    template = model_monitor_stacks["Serving"].to_json()
    types = {r["Type"] for r in template["Resources"].values()}
    assert set(MODEL_MONITOR_TYPES) <= types <= set(RESOURCE_TYPES)
    staging, production = serving_units(config)
    assert production.model_monitor and not staging.model_monitor
    # with a boundary (security.permissions_boundary), the update handler puts it
    production = dataclasses.replace(production, boundary="arn:aws:iam::1:policy/b")

    def derived(unit):  # type: ignore[no-untyped-def]
        return grants(
            unit, account=config.account, region=config.region, qualifier="q", key_arn="k"
        )

    for resource_type in types:
        # (the explainability definition's schema publishes no handlers: its grant is
        # checked in test_the_deploying_role_may_create_the_explainability_definition)
        handlers = PROVIDER_SCHEMA_MANAGER.get_resource_schema(
            config.region, resource_type
        ).schema.get("handlers", {})
        needed = {
            a
            for h in ("create", "read", "update", "delete")
            for a in handlers.get(h, {}).get("permissions", [])
        } - set(NOT_GRANTED.get(resource_type, {}))
        granted = {a for g in derived(production) if resource_type in g.types for a in g.actions}
        assert needed - granted == set(), resource_type
    monitor_actions = {
        "sagemaker:CreateMonitoringSchedule",
        "sagemaker:CreateDataQualityJobDefinition",
    }
    for unit in (staging, *serving_units(load_profile("lab"))):
        assert not monitor_actions & {a for g in derived(unit) for a in g.actions}, unit.stack_name
    # the Model Monitor role sits under the stack's IAM path, which the role grants cover
    roles = model_monitor_stacks["Serving"].find_resources(
        "AWS::IAM::Role", {"Properties": {"Description": Match.string_like_regexp("Model Monitor")}}
    )
    assert [r["Properties"]["Path"] for r in roles.values()] == ["/lab-Serving/"]
    # the delivery stack acknowledges each wildcard with its reason: none may be missing
    wildcards = deployment_wildcards(
        serving_units(config),
        account=config.account,
        region=config.region,
        qualifier="q",
        key_arn="k",
    )
    assert "arn:aws:sagemaker:us-east-1:111111111111:data-quality-job-definition/*" in wildcards
    schedules = next(g for g in derived(production) if g.sid == "MonitoringSchedules")
    assert schedules.resources == (
        "arn:aws:sagemaker:us-east-1:111111111111:monitoring-schedule/lab-digits-*",
    )


def test_the_deploying_role_may_create_the_explainability_definition() -> None:
    from infra.serving.deploy_permissions import grants, serving_units

    config = _model_monitor_config()
    staging, production = serving_units(config)
    assert production.explainability and not staging.explainability
    derived = grants(
        production, account=config.account, region=config.region, qualifier="q", key_arn="k"
    )
    actions = {a for g in derived for a in g.actions}
    assert "sagemaker:CreateModelExplainabilityJobDefinition" in actions
    passed = next(g for g in derived if g.sid == "PassHostingRole")
    assert "AWS::SageMaker::ModelExplainabilityJobDefinition" in passed.types


def test_ground_truth_upload_writes_only_the_prefix_the_model_quality_job_reads(
    model_monitor_stacks: dict[str, Template],
) -> None:
    """Hourly, its own role: read raw events, put under monitoring/ground-truth/ only; the
    model-quality job definition reads that same prefix."""
    monitoring = model_monitor_stacks["Monitoring"]
    monitoring.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {"ScheduleExpression": "rate(1 hour)", "Description": Match.string_like_regexp("truth")},
    )
    (function,) = [
        f["Properties"]
        for f in monitoring.find_resources("AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "ground_truth.handler"
    ]
    env = function["Environment"]["Variables"]
    assert env["GROUND_TRUTH_PREFIX"] == "monitoring/ground-truth"
    assert env["LOOKBACK_HOURS"] == "2"
    role = function["Role"]["Fn::GetAtt"][0]
    statements = [
        st
        for policy in monitoring.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    puts = [st for st in statements if "s3:PutObject" in st["Action"]]
    assert len(puts) == 1
    assert json.dumps(puts[0]["Resource"]).endswith('"/monitoring/ground-truth/*"]]}')
    assert not [st for st in statements if any("Delete" in a for a in st["Action"])]
    serving = model_monitor_stacks["Serving"]
    serving.has_resource_properties(
        "AWS::SageMaker::ModelQualityJobDefinition",
        {
            "ModelQualityJobInput": Match.object_like(
                {
                    "GroundTruthS3Input": {
                        "S3Uri": Match.object_like(
                            {"Fn::Join": ["", Match.array_with(["/monitoring/ground-truth"])]}
                        )
                    }
                }
            )
        },
    )


def test_rehearsal_covers_the_ground_truth_role(
    synth, model_monitor_stacks: dict[str, Template]
) -> None:  # type: ignore[no-untyped-def]
    """The profiles rehearse the custom engine only, so the Model Monitor copy is rehearsed
    here: the ground-truth function's role meets its rows (read events, list hours, write
    the ground-truth prefix), with no finding against it."""
    from assurance.rehearsal import rehearse
    from assurance.rehearsal.assembly import Assembly

    config = _model_monitor_config()
    templates = dict(synth("lab").templates)  # the lab copy, with the Model Monitor units
    for unit, template in model_monitor_stacks.items():
        templates[config.stack_name(unit)] = template.to_json()
    report = rehearse(Assembly(templates, config.account, config.region), lint=False)
    rows = {str(r) for r in report.requirements if "ground-truth" in str(r)}
    for row in ("reads-raw-events", "lists-raw-hours", "writes-its-prefix"):
        assert any(f"ground-truth-{row}" in r for r in rows), rows
    # the fixture's alert topic is an imported stand-in, outside the copy: its policy is
    # checked on the real copies (tests/assurance/rehearsal), not here
    stand_in = "delivers to arn:aws:sns:us-east-1:111111111111:a, which is not a topic"
    role_findings = [
        f for f in report.findings if "GroundTruth" in str(f) and stand_in not in f.detail
    ]
    assert role_findings == [], role_findings


def test_model_quality_judges_a_window_whose_labels_have_arrived(model_monitor: Template) -> None:
    """Labels land 24 h after the inference (LABEL_LAG_HOURS): with a 6-hour schedule each
    run judges the 6 hours that ended 24 h ago (Developer Guide, "Model monitor offsets"), and
    stops within the period ("MonitoringStoppingCondition")."""
    model_monitor.has_resource_properties(
        "AWS::SageMaker::ModelQualityJobDefinition",
        {
            "ModelQualityJobInput": Match.object_like(
                {
                    "EndpointInput": Match.object_like(
                        {"StartTimeOffset": "-PT30H", "EndTimeOffset": "-PT24H"}
                    )
                }
            ),
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    )
