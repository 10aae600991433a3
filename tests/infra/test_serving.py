"""Serving: every endpoint kind and guardrail mode, through the compliance gate."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from core.config import ConfigError, GuardrailConfig, ServingConfig, load_profile
from core.release import Release
from infra.compliance.packs import ComplianceReport, acknowledgements, add_compliance_gate
from infra.platform import EXAMPLE_RELEASE, cdk_json_context
from infra.serving.construct import supports_kms
from infra.stacks.serving_stack import ServingStack

RELEASE = Release.from_file(EXAMPLE_RELEASE)


def _serving(kind: str, mode: str = "all_at_once", **extra: object) -> ServingConfig:
    serverless = kind == "serverless"
    return ServingConfig(
        kind=kind,  # type: ignore[arg-type]
        data_capture=not serverless,
        guardrail=GuardrailConfig(mode="all_at_once" if serverless else mode),  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


class _Cache:
    def __init__(self, base: Path) -> None:
        self.base, self.cache = base, {}

    def __call__(
        self, kind: str, mode: str = "all_at_once", **extra: object
    ) -> tuple[dict, ComplianceReport, list]:
        key = (kind, mode, tuple(sorted(extra.items())))
        if key not in self.cache:
            lab = load_profile("lab")
            # Serverless endpoints write no data capture, so drift monitoring is off for them.
            engine = "none" if kind == "serverless" else lab.monitoring.engine
            monitoring = dataclasses.replace(lab.monitoring, engine=engine)
            config = dataclasses.replace(
                lab, serving=_serving(kind, mode, **extra), monitoring=monitoring
            )
            outdir = self.base / f"{kind}-{mode}-{len(self.cache)}"
            app = cdk.App(outdir=str(outdir), context=cdk_json_context())
            env = cdk.Environment(account=config.account, region=config.region)
            helper = cdk.Stack(app, "Alerts", env=env)
            topic = sns.Topic.from_topic_arn(
                helper, "Topic", "arn:aws:sns:us-east-1:111111111111:alerts"
            )
            stack = ServingStack(
                app,
                "Serving",
                config=config,
                serving=config.serving,
                endpoint_name=config.endpoint_name,
                release=RELEASE,
                alert_topic=topic,
                network=None,
                env=env,
            )
            add_compliance_gate(app)
            try:
                app.synth()
            except RuntimeError as err:
                # A failing compliance gate still writes templates and the report; a failing
                # construct validation (e.g. an undeclared wildcard) writes nothing: raise it.
                written = (outdir / f"{stack.stack_name}.template.json").is_file()
                if "alidation" not in str(err) or not written:
                    raise
            template = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
            self.cache[key] = (template, ComplianceReport.read(outdir), acknowledgements(outdir))
        return self.cache[key]


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> _Cache:
    return _Cache(tmp_path_factory.mktemp("serving"))


KINDS = ("real_time", "serverless", "multi_model", "multi_container", "async")


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_passes_the_compliance_gate(serving, kind: str) -> None:  # type: ignore[no-untyped-def]
    _, report, acks = serving(kind)
    assert report.violations == [], report.describe_violations()
    assert report.unmatched(acks) == []


@pytest.mark.parametrize("kind", KINDS)
def test_models_are_isolated_where_allowed_and_unnamed(serving, kind: str) -> None:  # type: ignore[no-untyped-def]
    """Model and EndpointConfig properties are create-only: fixed names would block updates.
    Serverless endpoints exclude network isolation, every other kind has it."""
    template, _, _ = serving(kind)
    t = Template.from_json(template)
    t.has_resource_properties(
        "AWS::SageMaker::Model", {"EnableNetworkIsolation": kind != "serverless"}
    )
    for kind_ in ("AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig"):
        for resource in t.find_resources(kind_).values():
            assert "ModelName" not in resource["Properties"]
            assert "EndpointConfigName" not in resource["Properties"]


def test_real_time_has_kms_capture_and_autoscaling(serving) -> None:  # type: ignore[no-untyped-def]
    template, _, _ = serving("real_time")
    t = Template.from_json(template)
    t.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "KmsKeyId": {"Fn::ImportValue": "lab-lake-key-arn"},
            "ProductionVariants": [
                Match.object_like(
                    {
                        "VariantName": "AllTraffic",
                        "InitialInstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                    }
                )
            ],
            "DataCaptureConfig": Match.object_like(
                {
                    "EnableCapture": True,
                    "InitialSamplingPercentage": 100,
                    "KmsKeyId": {"Fn::ImportValue": "lab-lake-key-arn"},
                }
            ),
        },
    )
    t.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "MinCapacity": 1,
            "MaxCapacity": 10,
            "ResourceId": "endpoint/lab-digits/variant/AllTraffic",
        },
    )
    t.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "TargetValue": 70,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                    },
                    "ScaleInCooldown": 300,
                    "ScaleOutCooldown": 300,
                }
            )
        },
    )


def test_serverless_has_memory_and_concurrency_and_no_kms_or_capture(serving) -> None:  # type: ignore[no-untyped-def]
    template, _, acks = serving("serverless")
    (config,) = (
        Template.from_json(template).find_resources("AWS::SageMaker::EndpointConfig").values()
    )
    props = config["Properties"]
    assert props["ProductionVariants"][0]["ServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 5,
    }
    assert "KmsKeyId" not in props and "DataCaptureConfig" not in props
    assert any(
        "SageMakerEndpointConfigurationKMSKeyConfigured" in a.ack_id and "serverless" in a.reason
        for a in acks
    )
    Template.from_json(template).resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 0)


def test_multi_model_serves_an_s3_prefix_with_one_image(serving) -> None:  # type: ignore[no-untyped-def]
    template, _, _ = serving("multi_model")
    (model,) = Template.from_json(template).find_resources("AWS::SageMaker::Model").values()
    container = model["Properties"]["PrimaryContainer"]
    assert container["Mode"] == "MultiModel"
    assert container["Image"] == RELEASE.xgboost.image
    assert container["ModelDataUrl"]["Fn::Join"][1][-1] == "/mme/"


def test_multi_container_hosts_both_models_for_direct_invocation(serving) -> None:  # type: ignore[no-untyped-def]
    template, _, _ = serving("multi_container")
    (model,) = Template.from_json(template).find_resources("AWS::SageMaker::Model").values()
    props = model["Properties"]
    assert props["InferenceExecutionConfig"] == {"Mode": "Direct"}
    assert [(c["ContainerHostname"], c["ModelPackageName"]) for c in props["Containers"]] == [
        ("xgboost", RELEASE.xgboost.package_arn),
        ("baseline", RELEASE.baseline.package_arn),
    ]


@pytest.mark.parametrize(
    ("mode", "routing"),
    [
        (
            "canary",
            {
                "Type": "CANARY",
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 30},
                "WaitIntervalInSeconds": 600,
            },
        ),
        (
            "linear",
            {
                "Type": "LINEAR",
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 20},
                "WaitIntervalInSeconds": 600,
            },
        ),
        ("all_at_once", {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600}),
    ],
)
def test_updates_are_blue_green_with_alarm_rollback(serving, mode: str, routing: dict) -> None:  # type: ignore[no-untyped-def]
    # Five instances: 30 % and 20 % are each one whole instance (the synth-time rule).
    template, report, _ = serving("real_time", mode, min_instances=5)
    assert report.violations == []
    t = Template.from_json(template)
    (endpoint,) = t.find_resources("AWS::SageMaker::Endpoint").values()
    deployment = endpoint["Properties"]["DeploymentConfig"]
    policy = deployment["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == routing
    assert policy["TerminationWaitInSeconds"] == 600
    assert policy["MaximumExecutionTimeoutInSeconds"] == 3600
    alarms = t.find_resources("AWS::CloudWatch::Alarm")
    assert {a["Properties"]["MetricName"] for a in alarms.values()} == {
        "Invocation5XXErrors",
        "InvocationModelErrors",
        "ModelLatency",
    }
    rollback = [a["AlarmName"] for a in deployment["AutoRollbackConfiguration"]["Alarms"]]
    assert len(rollback) == 3 and all(r["Ref"] in alarms for r in rollback)
    for alarm in alarms.values():
        assert alarm["Properties"]["Dimensions"] == [
            {"Name": "EndpointName", "Value": "lab-digits"},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ]
        assert alarm["Properties"]["AlarmActions"] == ["arn:aws:sns:us-east-1:111111111111:alerts"]


def test_invoke_policy_names_one_endpoint(serving) -> None:  # type: ignore[no-untyped-def]
    template, _, _ = serving("real_time")
    (policy,) = Template.from_json(template).find_resources("AWS::IAM::ManagedPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sagemaker:InvokeEndpoint"
    assert "endpoint/lab-digits" in json.dumps(statement["Resource"])
    assert "*" not in json.dumps(statement["Resource"])


def test_nvme_instance_types_skip_the_endpoint_kms_key() -> None:
    assert supports_kms("ml.m5.large") and supports_kms("ml.c5.xlarge")
    assert not supports_kms("ml.m5d.large") and not supports_kms("ml.g4dn.xlarge")
    assert not supports_kms("ml.g5.2xlarge")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {
                "kind": "serverless",
                "data_capture": False,
                "guardrail": GuardrailConfig(mode="canary"),
            },
            "all-at-once",
        ),
        ({"kind": "serverless"}, "cannot capture data"),
        ({"mce_containers": ("xgboost",)}, "2-15 containers"),
        ({"mce_containers": ("xgboost", "xgboost")}, "repeated"),
        ({"min_instances": 3, "max_instances": 2}, "min_instances"),
        ({"serverless_memory_mb": 1000}, "serverless_memory_mb"),
        (
            {
                "instance_type": "ml.inf1.xlarge",
                "min_instances": 4,
                "guardrail": GuardrailConfig(mode="canary"),
            },
            "Inf1",
        ),
        ({"min_instances": 1, "guardrail": GuardrailConfig(mode="canary")}, "at least 2 instances"),
    ],
)
def test_invalid_serving_settings_fail_at_synth(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ServingConfig(**kwargs)


def _statements(template: dict, role_prefix: str = "EndpointRole") -> dict[str, dict]:
    policies = Template.from_json(template).find_resources("AWS::IAM::Policy")
    (policy,) = [p for k, p in policies.items() if k.startswith(role_prefix)]
    return {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


@pytest.mark.parametrize("kind", KINDS)
def test_hosting_role_reads_exactly_its_rollback_alarms(serving, kind: str) -> None:  # type: ignore[no-untyped-def]
    """Deployment guardrails prerequisite: SageMaker reads the auto-rollback alarms with the
    endpoint's execution role (cloudwatch:DescribeAlarms), on those alarms and no others."""
    template, _, _ = serving(kind)
    t = Template.from_json(template)
    (endpoint,) = t.find_resources("AWS::SageMaker::Endpoint").values()
    rollback = endpoint["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    expected = sorted(a["AlarmName"]["Ref"] for a in rollback)
    statement = _statements(template)["ReadRollbackAlarms"]
    assert statement["Action"] == "cloudwatch:DescribeAlarms"
    assert sorted(r["Fn::GetAtt"][0] for r in statement["Resource"]) == expected
    assert all(r["Fn::GetAtt"][1] == "Arn" for r in statement["Resource"])


def test_variants_scale_with_the_service_linked_role(serving) -> None:  # type: ignore[no-untyped-def]
    """No scaling role of our own (it would need passing and is ignored for SageMaker): the
    target names no RoleARN, so Application Auto Scaling uses its service-linked role."""
    template, _, _ = serving("real_time")
    t = Template.from_json(template)
    (target,) = t.find_resources("AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert "RoleARN" not in target["Properties"]
    (role,) = t.find_resources("AWS::IAM::Role").values()
    assert role["Properties"]["Description"].startswith("Hosting role of endpoint")


@pytest.mark.parametrize("kind", KINDS)
def test_releases_keep_the_fleets_current_size(serving, kind: str) -> None:  # type: ignore[no-untyped-def]
    """A blue/green release must not restart an autoscaled fleet at min_instances: instance
    count and weight are retained, data capture comes from the new config."""
    template, _, _ = serving(kind)
    (endpoint,) = Template.from_json(template).find_resources("AWS::SageMaker::Endpoint").values()
    props = endpoint["Properties"]
    if kind == "serverless":
        assert "RetainAllVariantProperties" not in props
    else:
        assert props["RetainAllVariantProperties"] is True
        assert props["ExcludeRetainedVariantProperties"] == [
            {"VariantPropertyType": "DataCaptureConfig"}
        ]
    assert props["RetainDeploymentConfig"] is False


def _handler_actions(resource_type: str, region: str) -> set[str]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    handlers = schema["handlers"]
    # Not every schema has every handler (AWS::IAM::Policy has no read handler).
    return {
        a
        for h in ("create", "read", "update", "delete")
        for a in handlers.get(h, {}).get("permissions", [])
    }


@pytest.mark.parametrize("kind", KINDS)
def test_deploying_role_gets_every_handler_permission_of_what_the_kind_creates(
    serving, kind: str
) -> None:  # type: ignore[no-untyped-def]
    """The oracle is AWS's own data: each resource provider schema's create/read/update/delete
    handler permissions (cfn-lint ships the schemas). Every resource type the endpoint
    construct puts in the template must be covered by the serving unit's derived grants,
    minus the actions NOT_GRANTED explains; a new resource type fails until it is derived."""
    from infra.serving.deploy_permissions import (
        NOT_GRANTED,
        RESOURCE_TYPES,
        ServingUnit,
        grants,
        package_groups,
    )

    template, _, _ = serving(kind)
    lab = load_profile("lab")
    types = {r["Type"] for r in template["Resources"].values()}
    assert types <= set(RESOURCE_TYPES), f"no deploy permissions derived for {types}"
    unit = ServingUnit(
        stack_name="Serving",
        endpoint_name=lab.endpoint_name,
        serving=_serving(kind),
        vpc=False,
        output_stacks=(),
        package_groups=package_groups(lab, _serving(kind)),
        # with a boundary (security.permissions_boundary), the update handler puts it
        boundary="arn:aws:iam::111111111111:policy/lab-permissions-boundary",
    )
    derived = grants(unit, account=lab.account, region=lab.region, qualifier="q", key_arn="k")
    for resource_type in types:
        granted = {a for g in derived if resource_type in g.types for a in g.actions}
        needed = _handler_actions(resource_type, lab.region) - set(
            NOT_GRANTED.get(resource_type, {})
        )
        if kind == "serverless" and resource_type == "AWS::SageMaker::EndpointConfig":
            needed.discard("kms:DescribeKey")  # no key named: SageMaker rejects one
        assert needed - granted == set(), resource_type


def test_the_deploying_role_may_put_the_profiles_boundary_and_no_other() -> None:
    """Without a boundary no serving role sets one, so nothing is granted; with one, only
    that boundary (iam:PermissionsBoundary, written out by hand here)."""
    from infra.serving.deploy_permissions import grants, serving_units

    def put(profile: str) -> list[object]:
        config = load_profile(profile)
        _, production = serving_units(config)
        derived = grants(
            production, account=config.account, region=config.region, qualifier="q", key_arn="k"
        )
        return [g for g in derived if "iam:PutRolePermissionsBoundary" in g.actions]

    assert put("lab") == []
    (grant,) = put("prod-like")
    assert grant.conditions == (  # type: ignore[attr-defined]
        (
            "StringEquals",
            "iam:PermissionsBoundary",
            "arn:aws:iam::222222222222:policy/prodlike-permissions-boundary",
        ),
    )
    assert grant.resources == ("arn:aws:iam::222222222222:role/prodlike-Serving/*",)  # type: ignore[attr-defined]


def test_not_granted_actions_are_real_handler_actions() -> None:
    """Each exclusion names an action the schema lists: a stale one would hide nothing."""
    from infra.serving.deploy_permissions import NOT_GRANTED

    for resource_type, actions in NOT_GRANTED.items():
        assert set(actions) <= _handler_actions(resource_type, "us-east-1"), resource_type
        assert all(len(why) >= 40 for why in actions.values())
