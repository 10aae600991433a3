"""Negative proof: plant one defect in a copy of a synthesized copy and see the rehearsal name
it (the role or resource, and the missing action or broken rule). Each test also runs the
control (the same copy without the defect) so the finding is caused by the plant alone.

Authority plants replace every policy of one role with a known document: the control allows
everything, the plant withholds exactly one thing. That makes them independent of what the
shipped policies grant today.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from assurance.rehearsal import requirements
from assurance.rehearsal.assembly import Assembly
from assurance.rehearsal.authority import Finding, check
from assurance.rehearsal.rules import RULES, lint
from assurance.rehearsal.rules import check as check_rules

ALLOW_ALL = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]


def _copy(rehearsals, variant: str) -> Assembly:  # type: ignore[no-untyped-def]
    a = rehearsals(variant).assembly
    return Assembly(
        copy.deepcopy(a.templates),
        a.account,
        a.region,
        lambda_concurrency_quota=a.lambda_concurrency_quota,
    )


def _role(a: Assembly, stack_suffix: str, prefix: str) -> str:
    (key,) = [
        r.key
        for r in a.resources(type_="AWS::IAM::Role")
        if r.stack.endswith(f"-{stack_suffix}") and r.logical_id.startswith(prefix)
    ]
    return key


def _set_policy(a: Assembly, role_key: str, statements: list[dict[str, Any]]) -> None:
    """Make ``statements`` the role's only policy."""
    stack, logical = role_key.split("/")
    resources = a.templates[stack]["Resources"]
    resources[logical]["Properties"].pop("Policies", None)
    resources[logical]["Properties"].pop("ManagedPolicyArns", None)
    for body in resources.values():
        if body["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            roles = body["Properties"].get("Roles", [])
            body["Properties"]["Roles"] = [r for r in roles if r != {"Ref": logical}]
    resources["PlantedPolicy"] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "planted",
            "Roles": [{"Ref": logical}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
        },
    }


def _authority(a: Assembly, role_key: str) -> list[Finding]:
    reqs, _ = requirements(a)
    mine = [r for r in reqs if r.role == role_key]
    assert mine, f"no requirement for {role_key}: the plant would prove nothing"
    return check(a, mine)


def _without(action: str) -> list[dict[str, Any]]:
    return [{"Effect": "Allow", "NotAction": action, "Resource": "*"}]


def _details(findings: list[Finding]) -> str:
    return "\n".join(f"{f.subject}: {f.detail} ({f.source})" for f in findings)


# -- authority: the deploying roles (provider schemas, bootstrap parameter, deploy actions) ----


def test_region_in_an_iam_arn_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals, "lab/real_time")
    deployer = _role(a, "Delivery", "DeliveryDeploymentRole")

    def hosting_roles(region: str) -> list[dict[str, Any]]:
        arns = [
            f"arn:aws:iam:{region}:{a.account}:{kind}/lab-Serving*" for kind in ("role", "policy")
        ]
        return [
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:*", "Resource": arns},
            {"Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*"},
        ]

    _set_policy(a, deployer, hosting_roles(""))
    assert _authority(a, deployer) == []
    _set_policy(a, deployer, hosting_roles(a.region))
    found = _details(_authority(a, deployer))
    # the hosting role, with or without an IAM path, named with an empty region field
    pattern = (
        rf"missing iam:CreateRole on arn:aws:iam::{a.account}:role/(\S+/)?lab-Serving-EndpointRole"
    )
    assert re.search(pattern, found), found
    assert "DeliveryDeploymentRole" in found


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("cloudwatch:GetMetricData", "lab-Serving/EndpointScalableTargetInvocationsPerInstance"),
        ("iam:ListRolePolicies", "lab-Serving/EndpointRole"),
        ("iam:ListEntitiesForPolicy", "lab-Serving/EndpointInvokePolicy"),
        ("sagemaker:UpdateEndpoint", "lab-Serving/Endpoint8024A810"),
        ("iam:CreateServiceLinkedRole", "lab-Serving/EndpointScalableTarget"),
        ("iam:PassRole", "lab-Serving/EndpointModel"),
        ("cloudwatch:ListTagsForResource", "lab-Serving/EndpointLatencyAlarm"),
        ("ssm:GetParameters", "lab-Serving"),
    ],
)
def test_a_dropped_deployment_permission_is_named(rehearsals, action: str, resource: str) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals, "lab/real_time")
    deployer = _role(a, "Delivery", "DeliveryDeploymentRole")
    _set_policy(a, deployer, ALLOW_ALL)
    assert _authority(a, deployer) == []
    _set_policy(a, deployer, _without(action))
    found = _authority(a, deployer)
    assert found, f"dropping {action} went unnoticed"
    assert {f.subject for f in found} == {deployer}
    assert all(f"missing {action} on " in f.detail for f in found)
    # the first of the two serving stacks to need it is named (staging or production)
    named = [f.detail.replace("ServingStaging", "Serving") for f in found]
    assert any(f" for {resource}" in d for d in named), _details(found)


def test_a_deploy_action_that_cannot_pass_the_deployment_role_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals, "lab/real_time")
    action_role = _role(a, "Delivery", "DeliveryPipelineDeployStaging")
    _set_policy(a, action_role, ALLOW_ALL)
    assert _authority(a, action_role) == []
    _set_policy(a, action_role, _without("iam:PassRole"))
    found = _details(_authority(a, action_role))
    assert (
        "missing iam:PassRole on arn:aws:iam::111111111111:role/lab-Delivery-DeliveryDeploymentRole"
        in found
    )
    assert "[iam:PassedToService=cloudformation.amazonaws.com]" in found


# -- authority: the roles services assume (the documented table) -----------------------------


@pytest.mark.parametrize(
    ("variant", "stack", "prefix", "action", "row"),
    [
        (
            "prod-like/real_time",
            "Serving",
            "EndpointRole",
            "ec2:CreateNetworkInterface",
            "hosting-in-vpc",
        ),
        (
            "prod-like/real_time",
            "Training",
            "ExecutionRole",
            "ec2:DescribeDhcpOptions",
            "pipeline-jobs-in-vpc",
        ),
        (
            "prod-like/real_time",
            "Monitoring",
            "MonitoringJobRole",
            "ec2:CreateNetworkInterface",
            "drift-jobs-in-vpc",
        ),
        (
            "lab/real_time",
            "Monitoring",
            "MonitoringJobRole",
            "ecr:BatchGetImage",
            "drift-jobs-pull-image",
        ),
        (
            "lab/real_time",
            "Serving",
            "EndpointRole",
            "cloudwatch:DescribeAlarms",
            "guardrail-reads-rollback-alarms",
        ),
        ("lab/real_time", "Serving", "EndpointRole", "s3:PutObject", "capture-writes-prefix"),
        (
            "lab/real_time",
            "Serving",
            "EndpointRole",
            "kms:GenerateDataKey",
            "capture-encrypts-with-key",
        ),
        ("lab/multi_model", "Serving", "EndpointRole", "s3:GetObject", "hosting-reads-mme-prefix"),
        ("lab/real_time", "Training", "ExecutionRole", "iam:PassRole", "pipeline-passes-job-role"),
        (
            "lab/real_time",
            "Training",
            "ExecutionRole",
            "sagemaker:CreateTransformJob",
            "pipeline-transform-step",
        ),
        (
            "lab/real_time",
            "Training",
            "ExecutionRole",
            "sagemaker:CreateModel",
            "pipeline-model-step",
        ),
        (
            "lab/real_time",
            "Training",
            "ExecutionRole",
            "iam:PassRole",
            "pipeline-passes-model-role",
        ),
        (
            "lab/real_time",
            "Training",
            "ExecutionRole",
            "sagemaker:CreateHyperParameterTuningJob",
            "pipeline-tuning-step",
        ),
        (
            "lab/real_time",
            "Ingestion",
            "IngestionDeliveryRole",
            "kinesis:GetRecords",
            "firehose-reads-stream",
        ),
        (
            "lab/real_time",
            "Ingestion",
            "IngestionDeliveryRole",
            "kms:Decrypt",
            "firehose-decrypts-stream",
        ),
        (
            "lab/real_time",
            "Ingestion",
            "IngestionDeliveryRole",
            "s3:PutObject",
            "firehose-writes-bucket",
        ),
        (
            "lab/real_time",
            "Training",
            "TrainingTriggerRole",
            "sagemaker:StartPipelineExecution",
            "events-start-sagemaker-pipeline",
        ),
        (
            "lab/real_time",
            "Delivery",
            "DeliveryPipelineEventsRole",
            "codepipeline:StartPipelineExecution",
            "events-start-codepipeline",
        ),
        (
            "lab/real_time",
            "Delivery",
            "DeliveryPipelineRole",
            "sts:AssumeRole",
            "codepipeline-assumes-action-roles",
        ),
        (
            "lab/real_time",
            "Delivery",
            "DeliveryPipelineBuildSynthAndGate",
            "codebuild:StartBuild",
            "codepipeline-startbuild",
        ),
        (
            "lab/real_time",
            "Delivery",
            "DeliveryBuildRole",
            "logs:PutLogEvents",
            "codebuild-writes-logs",
        ),
        (
            "lab/real_time",
            "Delivery",
            "DeliverySmokeTestRole",
            "kms:GenerateDataKey",
            "codebuild-uses-key",
        ),
        (
            "lab/real_time",
            "DataLake",
            "CustomS3AutoDeleteObjectsCustomResourceProviderRole",
            "logs:PutLogEvents",
            "lambda-writes-logs",
        ),
        (
            "lab/real_time",
            "Delivery",
            "DeliveryPipelineSource",
            "s3:GetObject",
            "codepipeline-s3-source-object",
        ),
        (
            "lab/real_time",
            "Delivery",
            "DeliveryPipelineSource",
            "s3:GetBucketVersioning",
            "codepipeline-s3-source-bucket",
        ),
        (
            "lab/real_time",
            "Delivery",
            "DeliveryPipelineApprove",
            "sns:Publish",
            "codepipeline-approval-notifies",
        ),
        (
            "prod-like/real_time",
            "Network",
            "NetworkVpcFlowLogIAMRole",
            "logs:PutLogEvents",
            "flow-logs-write",
        ),
        (
            "lab/real_time",
            "DataLake",
            "LakeDataAccessRole",
            "s3:PutObject",
            "lake-formation-reads-location",
        ),
        (
            "prod-like/real_time",
            "Training",
            "ScoringScheduleRole",
            "sagemaker:StartPipelineExecution",
            "scheduler-starts-scoring-pipeline",
        ),
        (
            "lab/real_time",
            "Monitoring",
            "MonitoringRunnerRole",
            "kms:CreateGrant",
            "lambda-code-passes-key-to-sagemaker",
        ),
        (
            "prod-like/real_time",
            "Training",
            "ExecutionRole",
            "kms:CreateGrant",
            "pipeline-passes-key-to-jobs",
        ),
        (
            "lab/real_time",
            "Monitoring",
            "MonitoringSchedulerRole",
            "sqs:SendMessage",
            "scheduler-sends-dead-letters",
        ),
        (
            "lab/real_time",
            "Monitoring",
            "MonitoringSchedulerRole",
            "kms:GenerateDataKey",
            "scheduler-encrypts-dead-letters",
        ),
        (
            "lab/real_time",
            "Monitoring",
            "MonitoringRetrainBridgeRole",
            "sqs:SendMessage",
            "lambda-sends-dead-letters",
        ),
        ("lab/real_time", "Ingestion", "ReaperRole", "kms:Decrypt", "lambda-encrypts-dead-letters"),
        # the expiry reaper: each call its runtime makes (infra/operations/runtime/reaper/reaper.py)
        (
            "lab/real_time",
            "Ingestion",
            "ReaperRole",
            "sagemaker:ListEndpoints",
            "reaper-lists-endpoints",
        ),
        (
            "lab/real_time",
            "Ingestion",
            "ReaperRole",
            "sagemaker:ListTags",
            "reaper-reads-endpoint-tags",
        ),
        (
            "lab/real_time",
            "Ingestion",
            "ReaperRole",
            "sagemaker:DeleteEndpoint",
            "reaper-deletes-expired-endpoints",
        ),
        ("lab/real_time", "Ingestion", "ReaperRole", "sns:Publish", "reaper-publishes-its-report"),
        (
            "lab/real_time",
            "Ingestion",
            "ReaperRole",
            "kms:GenerateDataKey",
            "reaper-report-uses-topic-key",
        ),
        # issue 26: the data-quality gate's report and quarantine are processing outputs
        (
            "lab/real_time",
            "Training",
            "ExecutionRole",
            "s3:PutObject",
            "pipeline-processing-jobs-write-outputs",
        ),
        ("lab/async", "Serving", "EndpointRole", "sns:Publish", "async-publishes-notifications"),
        ("lab/async", "Serving", "EndpointRole", "s3:PutObject", "async-writes-results"),
        ("lab/async", "Serving", "EndpointRole", "s3:GetObject", "async-reads-requests"),
        ("lab/async", "Serving", "EndpointRole", "kms:GenerateDataKey", "async-encrypts-results"),
        (
            "lab/async",
            "Serving",
            "EndpointRole",
            "kms:Decrypt",
            "async-notifications-use-topic-key",
        ),
    ],
)
def test_a_missing_service_role_permission_is_named(  # type: ignore[no-untyped-def]
    rehearsals, variant: str, stack: str, prefix: str, action: str, row: str
) -> None:
    a = _copy(rehearsals, variant)
    role = _role(a, stack, prefix)
    _set_policy(a, role, ALLOW_ALL)
    assert _authority(a, role) == []
    _set_policy(a, role, _without(action))
    found = [f for f in _authority(a, role) if f.source == f"service-role row {row}"]
    assert found, f"dropping {action} from {role} went unnoticed by row {row}"
    assert all(f.subject == role and f"missing {action} on " in f.detail for f in found)


def _plant_tune_checkpoints(a: Assembly) -> None:
    """Give the Tune step's training jobs a checkpoint location under the artifacts bucket's
    checkpoints/<pipeline>/Tune/ (as a profile that checkpoints would)."""
    pipeline = _resource(a, "Training", "AWS::SageMaker::Pipeline", "Training")
    stack = next(s for s in a.templates if s.endswith("-Training"))
    body = a.resolve(stack, pipeline["PipelineDefinition"])["PipelineDefinitionBody"]
    definition = json.loads(body)
    (tune,) = [step for step in definition["Steps"] if step["Name"] == "Tune"]
    job = tune["Arguments"]["TrainingJobDefinition"]
    bucket = job["OutputDataConfig"]["S3OutputPath"].removeprefix("s3://").split("/", 1)[0]
    job["CheckpointConfig"] = {
        "S3Uri": f"s3://{bucket}/checkpoints/lab-digits-training/Tune/exec-1/"
    }
    pipeline["PipelineDefinition"] = {"PipelineDefinitionBody": json.dumps(definition)}


def test_a_job_role_scoped_away_from_the_checkpoint_prefix_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    """A role that may write the artifacts bucket's pipelines/ prefix but not checkpoints/
    (the lab's Spot jobs checkpoint there): the checkpoint rows name the prefix."""
    a = _copy(rehearsals, "lab/real_time")
    _plant_tune_checkpoints(a)  # the lab's tuning jobs checkpoint nowhere today
    role = _role(a, "Training", "ExecutionRole")
    _set_policy(a, role, ALLOW_ALL)
    assert _authority(a, role) == []
    _set_policy(
        a,
        role,
        [
            {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::*/checkpoints/*"},
        ],
    )
    found = _details(
        [f for f in _authority(a, role) if "checkpoints" in f.source or "checkpoints" in f.detail]
    )
    assert "pipeline-jobs-write-checkpoints" in found, found
    assert "pipeline-jobs-read-checkpoints" in found, found
    assert "/checkpoints/lab-digits-training/Tune/" in found, found


def test_a_model_monitor_job_in_the_vpc_without_eni_permissions_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    """The Model Monitor rows, on a planted data-quality definition in the VPC whose role (the
    drift job role here) lacks one network-interface action; the control allows everything."""
    a = _copy(rehearsals, "prod-like/real_time")
    role = _role(a, "Monitoring", "MonitoringJobRole")
    stack, logical = role.split("/")
    a.templates[stack]["Resources"]["PlantedDataQuality"] = {
        "Type": "AWS::SageMaker::DataQualityJobDefinition",
        "Properties": {
            "RoleArn": {"Fn::GetAtt": [logical, "Arn"]},
            "NetworkConfig": {"VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}},
        },
    }
    _set_policy(a, role, ALLOW_ALL)
    assert _authority(a, role) == []
    _set_policy(a, role, _without("ec2:DeleteNetworkInterface"))
    found = [
        f
        for f in _authority(a, role)
        if f.source == "service-role row monitoring-dataquality-in-vpc"
    ]
    assert found and all("missing ec2:DeleteNetworkInterface on " in f.detail for f in found)


def test_vpc_rows_apply_only_where_there_is_a_vpc(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals, "lab/real_time")  # lab: no VPC, so no ENI permission is needed
    role = _role(a, "Serving", "EndpointRole")
    _set_policy(a, role, _without("ec2:*"))
    assert _authority(a, role) == []
    drift_jobs = _role(a, "Monitoring", "MonitoringJobRole")
    _set_policy(a, drift_jobs, _without("ec2:*"))
    assert _authority(a, drift_jobs) == []


# -- rules ---------------------------------------------------------------------------------------


def _rule(a: Assembly, rule_id: str) -> list[Finding]:
    (rule,) = [r for r in RULES if r.id == rule_id]
    return check_rules(a, (rule,))


def _resource(
    a: Assembly, stack_suffix: str, type_: str, logical_prefix: str = ""
) -> dict[str, Any]:
    (res,) = [
        r
        for r in a.resources(type_=type_)
        if r.stack.endswith(f"-{stack_suffix}") and r.logical_id.startswith(logical_prefix)
    ]
    props: dict[str, Any] = a.templates[res.stack]["Resources"][res.logical_id]["Properties"]
    return props


def _guardrail(a: Assembly, kind: str, size: dict[str, Any], instances: int) -> None:
    endpoint = _resource(a, "Serving", "AWS::SageMaker::Endpoint")
    policy = endpoint.setdefault("DeploymentConfig", {}).setdefault("BlueGreenUpdatePolicy", {})
    key = "CanarySize" if kind == "CANARY" else "LinearStepSize"
    policy["TrafficRoutingConfiguration"] = {"Type": kind, key: size, "WaitIntervalInSeconds": 300}
    config = _resource(a, "Serving", "AWS::SageMaker::EndpointConfig")
    config["ProductionVariants"][0]["InitialInstanceCount"] = instances
    target = _resource(a, "Serving", "AWS::ApplicationAutoScaling::ScalableTarget")
    target["MinCapacity"] = instances


@pytest.mark.parametrize(
    ("kind", "size", "instances", "ok"),
    [
        ("CANARY", {"Type": "CAPACITY_PERCENT", "Value": 30}, 1, False),
        ("CANARY", {"Type": "CAPACITY_PERCENT", "Value": 50}, 2, True),
        ("LINEAR", {"Type": "CAPACITY_PERCENT", "Value": 20}, 2, False),  # 0.4 instance
        ("LINEAR", {"Type": "CAPACITY_PERCENT", "Value": 20}, 5, True),
        ("CANARY", {"Type": "INSTANCE_COUNT", "Value": 2}, 3, False),
        ("CANARY", {"Type": "INSTANCE_COUNT", "Value": 2}, 4, True),
    ],
)
def test_a_guardrail_step_the_fleet_cannot_take_is_named(  # type: ignore[no-untyped-def]
    rehearsals, kind: str, size: dict[str, Any], instances: int, ok: bool
) -> None:
    a = _copy(rehearsals, "prod-like/real_time")
    _guardrail(a, kind, size, instances)
    found = [f for f in _rule(a, "guardrail-size") if f.subject.startswith("prodlike-Serving/")]
    if ok:
        assert found == []
    else:
        (finding,) = found
        assert finding.subject.startswith("prodlike-Serving/Endpoint")
        assert f"{kind} size {size['Value']}" in finding.detail
        assert f"{instances}-instance variant AllTraffic" in finding.detail


@pytest.mark.parametrize(
    ("prop", "value", "message"),
    [
        ("VpcConfig", {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}, "VpcConfig"),
        ("EnableNetworkIsolation", True, "network isolation"),
    ],
)
def test_a_serverless_exclusion_is_named(rehearsals, prop: str, value: Any, message: str) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals, "lab/serverless")
    assert _rule(a, "serverless-exclusions") == []
    _resource(a, "Serving", "AWS::SageMaker::Model")[prop] = value
    found = [f for f in _rule(a, "serverless-exclusions") if f.subject.startswith("lab-Serving/")]
    assert len(found) == 1 and message in found[0].detail
    assert found[0].subject.startswith("lab-Serving/EndpointConfig")


def test_serverless_with_data_capture_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals, "lab/serverless")
    _resource(a, "Serving", "AWS::SageMaker::EndpointConfig")["DataCaptureConfig"] = {
        "EnableCapture": True
    }
    found = _rule(a, "serverless-exclusions")
    assert [f.detail for f in found] == ["serverless endpoint configured with data capture"]


def test_a_multi_model_container_without_a_prefix_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals, "lab/multi_model")
    assert _rule(a, "multi-model") == []
    model = _resource(a, "Serving", "AWS::SageMaker::Model")
    model["PrimaryContainer"]["ModelDataUrl"] = "s3://bucket/mme/model.tar.gz"
    (finding,) = [f for f in _rule(a, "multi-model") if f.subject.startswith("lab-Serving/")]
    assert "S3 prefix ending in '/'" in finding.detail


def test_kms_on_an_nvme_instance_type_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals, "prod-like/real_time")
    config = _resource(a, "Serving", "AWS::SageMaker::EndpointConfig")
    assert config.get("KmsKeyId"), "the plant needs a config with a KMS key"
    assert _rule(a, "kms-on-nvme") == []
    config["ProductionVariants"][0]["InstanceType"] = "ml.m5d.large"
    (finding,) = _rule(a, "kms-on-nvme")
    assert finding.subject.startswith("prodlike-Serving/EndpointConfig")
    assert "ml.m5d.large" in finding.detail


def test_an_account_scoped_name_without_the_environment_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals, "lab/real_time")
    pipeline = _resource(a, "Training", "AWS::SageMaker::Pipeline", "Training")
    pipeline["PipelineName"] = "lab-digits-training"
    before = [f for f in _rule(a, "env-prefixed-names") if "PipelineName" in f.detail]
    assert before == []
    pipeline["PipelineName"] = "digits-training"
    (finding,) = [f for f in _rule(a, "env-prefixed-names") if "PipelineName" in f.detail]
    assert finding.subject.startswith("lab-Training/")


def test_cfn_lint_names_a_region_in_an_iam_arn() -> None:
    def template(region: str) -> str:
        statement = {
            "Effect": "Allow",
            "Action": "iam:CreateRole",
            "Resource": f"arn:aws:iam:{region}:111111111111:role/lab-Serving*",
        }
        return json.dumps(
            {
                "Resources": {
                    "Role": {
                        "Type": "AWS::IAM::Role",
                        "Properties": {
                            "AssumeRolePolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Principal": {"Service": "cloudformation.amazonaws.com"},
                                        "Action": "sts:AssumeRole",
                                    }
                                ],
                            },
                            "Policies": [
                                {
                                    "PolicyName": "p",
                                    "PolicyDocument": {
                                        "Version": "2012-10-17",
                                        "Statement": [statement],
                                    },
                                }
                            ],
                        },
                    }
                }
            }
        )

    assert lint("t", template(""), "us-east-1") == []
    (finding,) = lint("t", template("us-east-1"), "us-east-1")
    assert finding.detail.startswith("I3510: action 'iam:CreateRole'")
    assert finding.subject.startswith("t/Resources/Role")


def test_an_event_target_naming_no_pipeline_of_the_copy_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals, "lab/real_time")
    assert _rule(a, "event-targets-exist") == []
    pipeline = _resource(a, "Training", "AWS::SageMaker::Pipeline", "Training")
    pipeline["PipelineName"] = f"{pipeline['PipelineName']}-renamed"
    found = _rule(a, "event-targets-exist")
    assert found and all(f.subject.startswith("lab-Training/") for f in found)
    assert all("is not a pipeline this copy creates" in f.detail for f in found)


# -- deliveries: services writing to the copy's topics, queues and functions -----------------


def _delivery(a: Assembly) -> list[Finding]:
    from assurance.rehearsal.deliveries import check as check_deliveries

    return check_deliveries(a)


def _drop_statements(a: Assembly, type_: str, prop: str, sid_prefix: str) -> int:
    """Remove the statements whose Sid starts with ``sid_prefix`` from every ``type_``."""
    dropped = 0
    for template in a.templates.values():
        for body in template["Resources"].values():
            if body["Type"] != type_:
                continue
            doc = body["Properties"][prop]
            kept = [s for s in doc["Statement"] if not str(s.get("Sid", "")).startswith(sid_prefix)]
            dropped += len(doc["Statement"]) - len(kept)
            doc["Statement"] = kept
    return dropped


def test_every_alarm_action_on_a_topic_is_a_delivery_edge(rehearsals) -> None:  # type: ignore[no-untyped-def]
    """Oracle: the alarms' action lists read straight from the template JSON."""
    from assurance.rehearsal.deliveries import edges

    a = _copy(rehearsals, "lab/real_time")
    expected = {
        f"{stack}/{logical}"
        for stack, template in a.templates.items()
        for logical, body in template["Resources"].items()
        if body["Type"] == "AWS::CloudWatch::Alarm"
        and any(body["Properties"].get(k) for k in ("AlarmActions", "OKActions"))
    }
    assert len(expected) >= 5
    found = {source for service, source, _ in edges(a) if service == "cloudwatch.amazonaws.com"}
    assert found == expected
    budgets = {s for service, s, _ in edges(a) if service == "budgets.amazonaws.com"}
    (budget,) = budgets
    assert budget.startswith("lab-Operations/CostGuardrailBudget")


def test_a_topic_policy_without_cloudwatch_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals, "lab/real_time")
    assert _delivery(a) == []
    assert _drop_statements(a, "AWS::SNS::TopicPolicy", "PolicyDocument", "CloudWatchAlarms") == 1
    found = _delivery(a)
    assert found, "removing CloudWatch from the alert topic policy went unnoticed"
    assert all("does not allow cloudwatch.amazonaws.com sns:Publish" in f.detail for f in found)
    assert any("lab-Monitoring/" in f.subject and "DriftAlarm" in f.subject for f in found)
    assert all("the policy of lab-Operations/AlertsTopic" in f.detail for f in found)


def test_a_key_policy_without_cloudwatch_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals, "lab/real_time")
    assert _drop_statements(a, "AWS::KMS::Key", "KeyPolicy", "CloudWatchAlarms") == 1
    found = _delivery(a)
    assert found, "removing CloudWatch from the alert key policy went unnoticed"
    details = _details(found)
    assert "does not allow cloudwatch.amazonaws.com kms:GenerateDataKey" in details
    assert "does not allow cloudwatch.amazonaws.com kms:Decrypt" in details
    assert all("lab-Operations/AlertsKey" in f.detail for f in found), details


def test_a_budget_the_topic_does_not_admit_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals, "lab/real_time")
    assert _drop_statements(a, "AWS::SNS::TopicPolicy", "PolicyDocument", "Budgets") == 1
    (finding,) = _delivery(a)
    assert "does not allow budgets.amazonaws.com sns:Publish" in finding.detail
    assert finding.subject.startswith("lab-Operations/CostGuardrailBudget")


def test_failure_alert_rules_the_topic_does_not_admit_are_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    """Issue 26: the failure-alert rules (training: SageMaker pipelines; delivery: its
    CodePipeline) publish to the alert topic as events.amazonaws.com."""
    a = _copy(rehearsals, "lab/real_time")
    assert _delivery(a) == []
    assert _drop_statements(a, "AWS::SNS::TopicPolicy", "PolicyDocument", "EventBridgeRules") == 1
    found = _delivery(a)
    assert {f.subject.split("/")[0] for f in found} == {"lab-Training", "lab-Delivery"}
    rules = {f.subject for f in found}
    stems = {re.sub(r"[0-9A-F]{8}$", "", r) for r in rules}  # the logical ids' hash suffix
    assert stems == {
        "lab-Training/PipelineFailures",
        "lab-Training/StepFailures",
        "lab-Delivery/PipelineFailures",
    }, rules
    assert all("does not allow events.amazonaws.com sns:Publish" in f.detail for f in found)


def test_failure_alert_rules_the_key_does_not_admit_are_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals, "lab/real_time")
    assert _drop_statements(a, "AWS::KMS::Key", "KeyPolicy", "EventBridgeRules") == 1
    found = _delivery(a)
    details = _details(found)
    assert "does not allow events.amazonaws.com kms:GenerateDataKey" in details
    assert {f.subject.split("/")[0] for f in found} == {"lab-Training", "lab-Delivery"}
    assert all("lab-Operations/AlertsKey" in f.detail for f in found), details


def test_a_reservation_a_new_account_cannot_give_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    """lab assumes a new account (quota 10): any reservation breaks 'leave 100 unreserved'."""
    a = _copy(rehearsals, "lab/real_time")
    assert a.lambda_concurrency_quota == 10  # the profile's value reached the rehearsal
    assert _rule(a, "lambda-reserved-concurrency") == []
    runner = [
        (stack, logical)
        for stack, t in a.templates.items()
        for logical, body in t["Resources"].items()
        if body["Type"] == "AWS::Lambda::Function" and logical.startswith("MonitoringRunner")
    ]
    ((stack, logical),) = runner
    a.templates[stack]["Resources"][logical]["Properties"]["ReservedConcurrentExecutions"] = 1
    (finding,) = _rule(a, "lambda-reserved-concurrency")
    assert finding.subject == f"{stack}/{logical}"
    assert "quota of 10 leaves 0 to reserve" in finding.detail
    # an account whose real quota is 1000 has 900 to reserve: the same template passes
    a.lambda_concurrency_quota = 1000
    assert _rule(a, "lambda-reserved-concurrency") == []
    a.lambda_concurrency_quota = 100
    assert len(_rule(a, "lambda-reserved-concurrency")) == 1


def test_a_dead_letter_key_without_eventbridge_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    """The dead-letter queues are encrypted with a customer key: EventBridge can put a failed
    event there only if the key policy lets events.amazonaws.com make data keys."""
    a = _copy(rehearsals, "lab/real_time")
    assert _delivery(a) == []
    assert _drop_statements(a, "AWS::KMS::Key", "KeyPolicy", "EventBridgeDeadLetters") == 2
    found = _delivery(a)
    # the runner's job events, the bridge's alarm events, the reaper's schedule
    rules = (
        "lab-Monitoring/MonitoringJobCompleted",
        "lab-Monitoring/MonitoringAlarmToRetrain",
        "lab-Ingestion/ReaperSchedule",
    )
    named = {rule for f in found for rule in rules if f.subject.startswith(rule)}
    assert named == set(rules), _details(found)
    assert all("does not allow events.amazonaws.com kms:" in f.detail for f in found)


def test_a_dead_letter_queue_policy_without_the_rule_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    a = _copy(rehearsals, "lab/real_time")
    assert _drop_statements(a, "AWS::SQS::QueuePolicy", "PolicyDocument", "AllowEventRule") >= 3
    found = _delivery(a)
    assert found and all(
        "does not allow events.amazonaws.com sqs:SendMessage" in f.detail for f in found
    )
    assert any(f.subject.startswith("lab-Ingestion/ReaperSchedule") for f in found)


def test_the_quarantine_is_among_what_the_processing_jobs_must_write(rehearsals) -> None:  # type: ignore[no-untyped-def]
    """Issue 26: the row that checks processing outputs covers the gate's quarantine prefix
    (artifacts zone, quarantine/<pipeline>/<execution>/) and its report."""
    a = _copy(rehearsals, "lab/real_time")
    reqs, _ = requirements(a)
    written = {
        r.resource
        for r in reqs
        if r.source == "service-role row pipeline-processing-jobs-write-outputs"
    }
    assert any("/quarantine/lab-digits-training/" in arn for arn in written), written
    assert any("/Preprocess/" in arn and "/data_quality/" in arn for arn in written), written


def _register_metadata(a: Assembly, edit) -> None:  # type: ignore[no-untyped-def]
    """Apply ``edit(metadata)`` to RegisterXGBoost's CustomerMetadataProperties in the lab's
    training pipeline definition (resolved to a plain JSON string first)."""
    pipeline = _resource(a, "Training", "AWS::SageMaker::Pipeline", "Training")
    stack = next(s for s in a.templates if s.endswith("-Training"))
    body = a.resolve(stack, pipeline["PipelineDefinition"])["PipelineDefinitionBody"]
    definition = json.loads(body)
    for step in definition["Steps"]:
        for branch in step.get("Arguments", {}).get("IfSteps", []):
            if branch["Name"].startswith("RegisterXGBoost"):
                edit(branch["Arguments"]["CustomerMetadataProperties"])
    pipeline["PipelineDefinition"] = {"PipelineDefinitionBody": json.dumps(definition)}


def test_lineage_metadata_too_long_for_create_model_package_is_named(rehearsals) -> None:  # type: ignore[no-untyped-def]
    """The lineage keys (model_code/lineage.py) pass as synthesized; a manifest URI grown
    past 256 characters, or a key with a character SageMaker refuses, is named."""
    a = _copy(rehearsals, "lab/real_time")
    assert _rule(a, "model-package-metadata") == []

    def grow(metadata: dict[str, Any]) -> None:
        join = metadata["lineage:training-manifest"]["Std:Join"]
        join["Values"].append("x" * 200)
        metadata["lineage#bad"] = "v"

    _register_metadata(a, grow)
    found = sorted(f.detail for f in _rule(a, "model-package-metadata"))
    assert len(found) == 2, found
    assert found[0].startswith("step RegisterXGBoost-RegisterModel: metadata 'lineage:training")
    assert " will be 3" in found[0]  # 3xx characters: the URI plus the 200 planted
    assert found[1].startswith("step RegisterXGBoost-RegisterModel: metadata key 'lineage#bad'")
