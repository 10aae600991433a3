"""labctl teardown: plan -> destroy -> sweep -> verify -> report, against moto.

The account is planted by hand (nothing is deployed): one residue of every kind outside any
stack, plus look-alikes that must survive (another environment's copy, and untagged user
resources whose names share this copy's prefixes). The oracle is the planted list itself.

moto gaps are filled by ``MotoGaps`` in tests/teardown_moto.py and nowhere else.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from core.config import load_profile
from ops.teardown.plan import Teardown, TeardownPlan
from ops.teardown.residue import Clients
from tests.cfn_serving import physical_names, serving_template, tag_like_cloudformation
from tests.teardown_moto import (
    ACCOUNT,
    ROLE,
    SPEC,
    MotoGaps,
    Wrapped,
    _client_error,
    cost_explorer,
    endpoint,
    stack,
    tags,
)


def clients(
    region: str, gaps: MotoGaps, *, cf_fail: dict[str, int] | None = None, **more: Any
) -> Clients:
    sm = boto3.client("sagemaker", region_name=region)
    given = {
        "sagemaker": Wrapped(
            sm,
            delete_model_package=gaps.delete_model_package,
            delete_model_package_group=gaps.delete_model_package_group,
        ),
        "cloudformation": gaps.cloudformation(
            boto3.client("cloudformation", region_name=region), cf_fail
        ),
        "ce": cost_explorer(),
    }
    given.update(more)
    return Clients(region, **given)


# --- planting ---------------------------------------------------------------------------------
def plant(
    region: str, env: str, db: str, *, other: bool, versions: int = 3
) -> dict[str, list[str]]:
    """One residue of every kind for ``env``; ``other`` also plants look-alikes. Returns names."""
    sm = boto3.client("sagemaker", region_name=region)
    s3 = boto3.client("s3", region_name=region)
    logs = boto3.client("logs", region_name=region)
    kms = boto3.client("kms", region_name=region)
    ks = boto3.client("kinesis", region_name=region)
    lf = boto3.client("lakeformation", region_name=region)
    glue = boto3.client("glue", region_name=region)
    mine = tags(env)
    # Hosting: an endpoint of this copy, and a config + model a release left without endpoint.
    endpoint(sm, f"{env}-digits", mine, "A")
    sm.create_model(
        ModelName="ReleaseModel", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"}, Tags=mine
    )
    sm.create_endpoint_config(
        EndpointConfigName="ReleaseConfig",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "ReleaseModel",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
        Tags=mine,
    )
    # Registry: both groups named by the configuration (<env>-prefixed), one with versions.
    for group, count in ((f"{env}-digits-xgboost", 2), (f"{env}-digits-baseline", 0)):
        sm.create_model_package_group(ModelPackageGroupName=group, Tags=mine)
        for _ in range(count):
            sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=SPEC)
    # the model card `labctl model approve` wrote for version 1 (ops/model_card.py)
    sm.create_model_card(
        ModelCardName=f"{env}-digits-xgboost-v1", Content="{}", ModelCardStatus="Draft"
    )
    # Experiments: what a pipeline execution creates (experiment = pipeline, trial = execution).
    sm.create_experiment(ExperimentName=f"{env}-digits-training")
    sm.create_trial(TrialName="abc123def456", ExperimentName=f"{env}-digits-training")
    sm.create_trial_component(TrialComponentName="abc123def456-Preprocess")
    sm.associate_trial_component(
        TrialComponentName="abc123def456-Preprocess", TrialName="abc123def456"
    )
    # Lake Formation registration and grant; Glue database.
    bucket = f"{env}-datalake-lakerawbucket-abc123"
    lf.register_resource(ResourceArn=f"arn:aws:s3:::{bucket}", UseServiceLinkedRole=True)
    lf.grant_permissions(
        Principal={"DataLakePrincipalIdentifier": ROLE},
        Resource={"Database": {"Name": db}},
        Permissions=["ALL"],
    )
    glue.create_database(DatabaseInput={"Name": db})
    # A retained stream and a versioned bucket with more versions than one page holds.
    stream = f"{env}-Ingestion-IngestionStream-abc123"
    ks.create_stream(StreamName=stream, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    ks.add_tags_to_stream(StreamName=stream, Tags={t["Key"]: t["Value"] for t in mine})
    s3.create_bucket(
        Bucket=bucket,
        **(
            {}
            if region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        ),
    )
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": mine})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for i in range(versions):
        s3.put_object(Bucket=bucket, Key="raw/events.json", Body=str(i).encode())
    s3.delete_object(Bucket=bucket, Key="raw/events.json")  # a delete marker too
    # Run-time log groups (no stack owns them) and a job stream of this pipeline's execution.
    groups = [
        f"/aws/sagemaker/Endpoints/{env}-digits",
        f"/aws/lambda/{env}-Training-CustomCDKBucketDeployment-abc123",
        f"/aws/kinesisfirehose/{env}-Ingestion-IngestionDelivery-abc123",
        f"/aws/codebuild/{env}-Delivery-DeliveryBuild-abc123",
    ]
    for group in groups:
        logs.create_log_group(logGroupName=group)
    with contextlib.suppress(ClientError):  # shared by every job of the account
        logs.create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
    logs.create_log_stream(
        logGroupName="/aws/sagemaker/TrainingJobs",
        logStreamName="pipelines-abc123def456-Tune-x1/algo-1-1700000000",
    )
    key = kms.create_key(
        Description=f"{env} lake key",
        Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in mine],
    )
    planted = {
        "endpoints": [f"{env}-digits"],
        "configs": ["ConfigA", "ReleaseConfig"],
        "models": ["ModelA", "ReleaseModel"],
        "buckets": [bucket],
        "groups": groups,
        "streams": [stream],
        "keys": [key["KeyMetadata"]["KeyId"]],
    }
    if other:
        plant_lookalikes(region)
    return planted


LOOKALIKES = {
    "endpoints": ["lab2-digits", "lab-user-endpoint", "lab-digits-elsewhere"],
    "configs": ["ConfigB", "ConfigC", "ConfigD"],
    "models": ["ModelB", "ModelC", "ModelD"],
    "buckets": [
        "lab2-datalake-lakerawbucket-abc123",
        "lab-datalake-userbucket",
        "lab-datalake-lakerawbucket-euwest1",
    ],
    "groups": [
        "/aws/sagemaker/Endpoints/lab2-digits",
        "/aws/lambda/lab2-Training-Fn-abc",
        "/aws/lambda/user-fn",
    ],
    "streams": ["lab2-Ingestion-IngestionStream-abc", "lab-Ingestion-user-stream"],
}


def plant_lookalikes(region: str) -> None:
    """Another environment's copy (lab2), untagged user resources with this copy's prefixes,
    and a resource with this copy's name tagged for another project."""
    sm = boto3.client("sagemaker", region_name=region)
    s3 = boto3.client("s3", region_name=region)
    logs = boto3.client("logs", region_name=region)
    ks = boto3.client("kinesis", region_name=region)
    endpoint(sm, "lab2-digits", tags("lab2"), "B")
    endpoint(sm, "lab-user-endpoint", None, "C")
    endpoint(sm, "lab-digits-elsewhere", tags("lab", project="someone-else"), "D")
    sm.create_model_package_group(ModelPackageGroupName="lab2-digits-xgboost", Tags=tags("lab2"))
    sm.create_model_card(
        ModelCardName="lab2-digits-xgboost-v1", Content="{}", ModelCardStatus="Draft"
    )
    sm.create_experiment(ExperimentName="user-experiment")
    s3.create_bucket(Bucket="lab2-datalake-lakerawbucket-abc123")
    s3.put_bucket_tagging(
        Bucket="lab2-datalake-lakerawbucket-abc123", Tagging={"TagSet": tags("lab2")}
    )
    s3.create_bucket(Bucket="lab-datalake-userbucket")  # our prefix, no tags
    if region == "us-east-1":  # the same env's copy in another region is another copy
        s3.create_bucket(
            Bucket="lab-datalake-lakerawbucket-euwest1",
            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
        )
        s3.put_bucket_tagging(
            Bucket="lab-datalake-lakerawbucket-euwest1", Tagging={"TagSet": tags("lab")}
        )
    for group in LOOKALIKES["groups"]:
        logs.create_log_group(logGroupName=group)
    logs.create_log_stream(
        logGroupName="/aws/sagemaker/TrainingJobs",
        logStreamName="pipelines-zzz999yyy888-Train-x/algo-1",
    )
    ks.create_stream(StreamName="lab2-Ingestion-IngestionStream-abc", ShardCount=1)
    ks.add_tags_to_stream(
        StreamName="lab2-Ingestion-IngestionStream-abc",
        Tags={"environment": "lab2", "project": "mlops-reference"},
    )
    ks.create_stream(StreamName="lab-Ingestion-user-stream", ShardCount=1)  # untagged
    kms = boto3.client("kms", region_name=region)
    kms.create_key(
        Description="lab2 key",
        Tags=[
            {"TagKey": "environment", "TagValue": "lab2"},
            {"TagKey": "project", "TagValue": "mlops-reference"},
        ],
    )
    kms.create_key(Description="user key")
    lf = boto3.client("lakeformation", region_name=region)
    lf.grant_permissions(
        Principal={"DataLakePrincipalIdentifier": ROLE},
        Resource={"Database": {"Name": "user_db"}},
        Permissions=["ALL"],
    )
    boto3.client("glue", region_name=region).create_database(DatabaseInput={"Name": "user_db"})


def inventory(region: str) -> dict[str, set[str]]:
    sm = boto3.client("sagemaker", region_name=region)
    kms = boto3.client("kms", region_name=region)
    return {
        "endpoints": {e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]},
        "configs": {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]},
        "models": {m["ModelName"] for m in sm.list_models()["Models"]},
        "buckets": {
            b["Name"] for b in boto3.client("s3", region_name=region).list_buckets()["Buckets"]
        },
        "groups": {
            g["logGroupName"]
            for g in boto3.client("logs", region_name=region).describe_log_groups()["logGroups"]
        },
        "streams": set(boto3.client("kinesis", region_name=region).list_streams()["StreamNames"]),
        "keys": {
            k["KeyId"]
            for k in kms.list_keys()["Keys"]
            if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
        },
        "registry": {
            g["ModelPackageGroupName"]
            for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
        },
        "experiments": {e["ExperimentName"] for e in sm.list_experiments()["ExperimentSummaries"]},
        "cards": {c["ModelCardName"] for c in sm.list_model_cards()["ModelCardSummaries"]},
        "databases": {
            d["Name"]
            for d in boto3.client("glue", region_name=region).get_databases()["DatabaseList"]
        },
        "grants": {
            p["Resource"].get("Database", {}).get("Name", "")
            for p in boto3.client("lakeformation", region_name=region).list_permissions()[
                "PrincipalResourcePermissions"
            ]
        },
        "registrations": {
            r["ResourceArn"]
            for r in boto3.client("lakeformation", region_name=region).list_resources()[
                "ResourceInfoList"
            ]
        },
        "streams_in_jobs": {
            s["logStreamName"]
            for s in boto3.client("logs", region_name=region).describe_log_streams(
                logGroupName="/aws/sagemaker/TrainingJobs"
            )["logStreams"]
        },
    }


def teardown(profile: str, c: Clients, assembly: TeardownPlan, **kw: Any) -> Teardown:
    config = load_profile(profile, {"account": ACCOUNT})
    return Teardown(config, c, assembly, log=lambda s: None, wait=False, **kw)


@pytest.fixture(scope="module")
def lab_assembly(synth: Any) -> TeardownPlan:
    return TeardownPlan.read(synth("lab").outdir, "us-east-1")


@pytest.fixture(scope="module")
def prod_assembly(synth: Any) -> TeardownPlan:
    return TeardownPlan.read(synth("prod-like").outdir, "eu-west-1")


# --- tests ------------------------------------------------------------------------------------
def test_assembly_orders_dependents_first_and_reads_retained_resources(
    prod_assembly: TeardownPlan,
) -> None:
    order = prod_assembly.order
    assert (
        order.index("prodlike-Serving")
        < order.index("prodlike-Network")
        < order.index("prodlike-DataLake")
    )
    assert (
        order.index("prodlike-Delivery")
        < order.index("prodlike-Ingestion")
        < order.index("prodlike-DataLake")
    )
    lake = prod_assembly.stacks["prodlike-DataLake"]
    assert lake.protected and any(r.startswith("AWS::S3::Bucket") for r in lake.retains)
    assert not prod_assembly.stacks["prodlike-Serving"].retains


@mock_aws
def test_teardown_removes_every_planted_residue_and_nothing_else(
    lab_assembly: TeardownPlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    region = "us-east-1"
    # Pages of 10 (S3's is 1000): 25 versions and a delete marker span three pages.
    monkeypatch.setattr("ops.teardown.residue.S3_PAGE", 10)
    planted = plant(region, "lab", "lab_lake", other=True, versions=25)
    cf = boto3.client("cloudformation", region_name=region)
    # lab-Retired: a stack of this copy the assembly no longer has (lab-Monitoring now is one)
    for name in ("lab-DataLake", "lab-Training", "lab-Serving", "lab-Monitoring", "lab-Retired"):
        stack(cf, name, "lab")
    stack(cf, "lab2-DataLake", "lab2")
    before = inventory(region)
    gaps = MotoGaps(region)

    dry = teardown("lab", clients(region, gaps), lab_assembly).run()
    assert inventory(region) == before, "a plain run must change nothing"
    assert dry.exit_code() == 1  # billable residue exists
    assert {i.action for i in dry.items if i.kind != "stack"} <= {"would delete"}

    report = teardown("lab", clients(region, gaps), lab_assembly, yes=True).run()
    after = inventory(region)
    for kind in ("endpoints", "configs", "models", "buckets", "groups", "streams", "keys"):
        assert not set(planted[kind]) & after[kind], kind
        assert set(LOOKALIKES.get(kind, [])) <= after[kind], kind
    assert after["registry"] == {"lab2-digits-xgboost"}
    assert after["cards"] == {"lab2-digits-xgboost-v1"}  # ours went with its version
    assert after["experiments"] == {"user-experiment"}
    assert after["databases"] == {"user_db"} and after["grants"] == {"user_db"}
    assert after["registrations"] == set()
    assert after["streams_in_jobs"] == {"pipelines-zzz999yyy888-Train-x/algo-1"}
    assert {
        s["StackName"]
        for s in cf.list_stacks(StackStatusFilter=["CREATE_COMPLETE"])["StackSummaries"]
    } == {"lab2-DataLake"}
    # Stacks the assembly does not know go first; then dependents before what they import.
    deleted = [name for op, name in gaps.calls if op == "delete_stack"]
    assert deleted[0] == "lab-Retired" and deleted.index("lab-Serving") < deleted.index(
        "lab-DataLake"
    )
    # lab-Monitoring imports the lake's exports: deleted before it
    assert deleted.index("lab-Monitoring") < deleted.index("lab-DataLake")
    # Versions before their groups.
    ops = [op for op, _ in gaps.calls if op.startswith("delete_model_package")]
    assert ops == ["delete_model_package"] * 2 + ["delete_model_package_group"] * 2
    assert report.exit_code() == 0, report.render()
    bucket = next(i for i in report.items if i.kind == "bucket")
    assert bucket.action == "deleted (26 object versions first)", report.render()

    second = teardown("lab", clients(region, gaps), lab_assembly).run()
    to_do = [i for i in second.items if i.action == "would delete"]
    assert to_do == [] and second.exit_code() == 0, second.render()
    # Keys are not deleted at once: they wait 7 days, unbilled, and the report says so.
    assert {i.kind for i in second.items} <= {"kms-key"}
    assert all("pending" in i.action or i.data.get("pending") for i in second.items)


@mock_aws
def test_faults_are_reported_with_what_to_do_and_the_rest_continues(
    lab_assembly: TeardownPlan,
) -> None:
    region = "us-east-1"
    planted = plant(region, "lab", "lab_lake", other=False)
    kms = boto3.client("kms", region_name=region)
    pending = kms.create_key(
        Tags=[
            {"TagKey": "environment", "TagValue": "lab"},
            {"TagKey": "project", "TagValue": "mlops-reference"},
        ]
    )
    kms.schedule_key_deletion(KeyId=pending["KeyMetadata"]["KeyId"], PendingWindowInDays=7)
    cf = boto3.client("cloudformation", region_name=region)
    for name in ("lab-Training", "lab-DataLake"):
        stack(cf, name, "lab")
    gaps = MotoGaps(region)
    sm = boto3.client("sagemaker", region_name=region)

    def describe_endpoint(EndpointName: str) -> dict[str, Any]:  # an update in flight
        return {**sm.describe_endpoint(EndpointName=EndpointName), "EndpointStatus": "Updating"}

    def no_kinesis(**kw: Any) -> None:
        raise _client_error("AccessDeniedException", "not allowed", "ListStreams")

    c = clients(
        region,
        gaps,
        cf_fail={"lab-Training": 9},  # stays DELETE_FAILED, also on the retry
        kinesis=Wrapped(boto3.client("kinesis", region_name=region), list_streams=no_kinesis),
    )
    c.given["sagemaker"]._overrides["describe_endpoint"] = describe_endpoint
    report = teardown("lab", c, lab_assembly, yes=True).run()
    by = {(i.kind, i.name): i for i in report.items}
    training = by[("stack", "lab-Training")]
    assert (
        not training.ok
        and "describe-stack-events" in training.action
        and "retried" in training.action
    )
    # Training depends on DataLake (its exports): held while Training stays, not deleted
    assert by[("stack", "lab-DataLake")].action.startswith(
        "not deleted yet: lab-Training depends on it"
    )
    ep = next(i for i in report.items if i.kind == "endpoint")
    assert "Updating" in ep.action and "run teardown again" in ep.action
    assert "ConfigA" in {
        c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]
    }
    unlisted = by[("unlisted", "kinesis:ListStreams")]
    assert (
        "AccessDeniedException" in unlisted.action
        and "allow kinesis:ListStreams" in unlisted.action
    )
    key = by[("kms-key", pending["KeyMetadata"]["KeyId"])]
    assert "already pending deletion" in key.action and key.ok
    # The rest went on: the bucket, the log groups and so on are gone.
    after = inventory(region)
    assert not set(planted["buckets"]) & after["buckets"]
    assert not set(planted["groups"]) & after["groups"]
    assert report.exit_code() == 1


def _prod_deployed(region: str) -> dict[str, list[str]]:
    planted = plant(region, "prodlike", "prodlike_lake", other=False)
    cf = boto3.client("cloudformation", region_name=region)
    for name in ("prodlike-DataLake", "prodlike-Ingestion"):
        stack(cf, name, "prodlike", protected=True)
    for name in ("prodlike-Network", "prodlike-Training", "prodlike-Serving", "prodlike-Delivery"):
        stack(cf, name, "prodlike")
    # The prod-like registry and experiment use the same configured names.
    return planted


@mock_aws
def test_prod_like_without_delete_retained_keeps_data_and_lists_its_cost(
    prod_assembly: TeardownPlan,
) -> None:
    region = "eu-west-1"
    planted = _prod_deployed(region)
    gaps = MotoGaps(region)
    report = teardown("prod-like", clients(region, gaps), prod_assembly, yes=True).run()
    # Termination protection is turned off explicitly, right before each protected delete.
    for name in ("prodlike-DataLake", "prodlike-Ingestion"):
        i = gaps.calls.index(("update_termination_protection", name))
        assert gaps.calls[i + 1] == ("delete_stack", name)
    after = inventory(region)
    assert set(planted["buckets"]) <= after["buckets"] and set(planted["keys"]) <= after["keys"]
    assert set(planted["streams"]) <= after["streams"] and "prodlike_lake" in after["databases"]
    assert {"prodlike-digits-xgboost", "prodlike-digits-baseline"} <= after["registry"]
    assert not set(planted["endpoints"]) & after["endpoints"]  # serving is not retained data
    kept = [i for i in report.items if i.action.startswith("kept")]
    key = next(i for i in kept if i.kind == "kms-key")
    stream = next(i for i in kept if i.kind == "stream")
    assert key.monthly_usd == pytest.approx(1.0)
    assert stream.monthly_usd == pytest.approx(0.044 * 730)  # eu-west-1 on-demand stream-hour
    assert report.exit_code() == 1  # billable data remains, by choice


@mock_aws
def test_prod_like_with_delete_retained_leaves_nothing(prod_assembly: TeardownPlan) -> None:
    region = "eu-west-1"
    planted = _prod_deployed(region)
    gaps = MotoGaps(region)
    report = teardown(
        "prod-like", clients(region, gaps), prod_assembly, yes=True, delete_retained=True
    ).run()
    after = inventory(region)
    for kind in ("buckets", "keys", "streams", "endpoints", "groups"):
        assert not set(planted[kind]) & after[kind], kind
    assert after["registry"] == set() and "prodlike_lake" not in after["databases"]
    assert report.exit_code() == 0, report.render()


@mock_aws
def test_cli_plain_run_is_a_dry_run_and_writes_the_json_report(
    lab_assembly: TeardownPlan, synth: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    region = "us-east-1"
    plant(region, "lab", "lab_lake", other=False)
    before = inventory(region)
    from labctl.cli import main

    argv = ["teardown", "--profile", "lab", "--account", ACCOUNT]
    argv += ["--assembly", str(synth("lab").outdir), "--json", str(tmp_path / "report.json")]
    code = main(argv, clients=clients(region, MotoGaps(region)))
    assert code == 1 and inventory(region) == before
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["dry_run"] and report["exit_code"] == 1
    kinds = {i["kind"] for i in report["items"]}
    assert {
        "endpoint",
        "endpoint-config",
        "model",
        "model-package",
        "experiment",
        "bucket",
        "log-group",
        "kms-key",
    } <= kinds
    out = capsys.readouterr().out
    assert "cost-allocation tag 'environment': Inactive" in out and "would delete" in out


def test_contradictory_flags_are_a_usage_error() -> None:
    from labctl.cli import main

    assert (
        main(["teardown", "--profile", "lab", "--yes", "--dry-run", "--assembly", "/nonexistent"])
        == 2
    )


@pytest.mark.parametrize(
    ("manifest", "says"),
    [
        ({"version": "40.0.0", "artifacts": {"Tree": {"type": "cdk:tree"}}}, "names no"),
        (
            {
                "artifacts": {
                    "lab-Gone": {
                        "type": "aws:cloudformation:stack",
                        "properties": {"templateFile": "lab-Gone.template.json"},
                    }
                }
            },
            "cannot read",
        ),
    ],
)
def test_an_assembly_without_readable_stacks_is_a_usage_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    manifest: dict[str, Any],
    says: str,
) -> None:
    """A manifest that names no stack (or a template that is missing) would plan nothing and
    exit 0 as if the copy had nothing to delete: one line on stderr and exit 2 instead."""
    from labctl.cli import main

    _no_aws_credentials(monkeypatch, tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert main(["teardown", "--profile", "lab", "--plan", "--assembly", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"--assembly {tmp_path}" in err and says in err


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            {
                "CostAllocationTags": [
                    {"TagKey": "environment", "Type": "UserDefined", "Status": "Active"}
                ]
            },
            "Active (the budget sees",
        ),
        ({"CostAllocationTags": []}, "not seen yet: the budget reads $0 until it is activated"),
        (None, "unknown (AccessDeniedException: allow ce:ListCostAllocationTags"),
    ],
)
def test_plan_says_whether_the_budget_tag_is_active(
    lab_assembly: TeardownPlan, response: dict[str, Any] | None, expected: str
) -> None:
    ce = boto3.client("ce", region_name="us-east-1")
    stub = Stubber(ce)
    if response is None:
        stub.add_client_error(
            "list_cost_allocation_tags", service_error_code="AccessDeniedException"
        )
    else:
        stub.add_response(
            "list_cost_allocation_tags",
            response,
            {"TagKeys": ["environment"], "Type": "UserDefined"},
        )
    with stub:
        status = teardown("lab", Clients("us-east-1", ce=ce), lab_assembly).cost_tag_status()
    assert expected in status


# --- no pricing, no credentials (issue 24, items 6 and 10) ---------------------------------
def _no_pricing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every pricing entry point raises; returns the calls that were made."""
    calls: list[str] = []

    def refuse(name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"teardown called pricing: {name}")

        return call

    monkeypatch.setattr("ops.teardown.plan.idle_cost", refuse("idle_cost"))
    monkeypatch.setattr("core.cost.idle_cost", refuse("idle_cost"))
    monkeypatch.setattr("core.cost.PriceTable.price", refuse("PriceTable.price"))
    return calls


@mock_aws
def test_teardown_in_an_unpriced_region_never_calls_pricing(
    synth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """us-west-2 has no prices: the plan, the dry run and the real run all work, with costs
    unknown, and nothing computes a price (it used to end in PriceError)."""
    region = "us-west-2"
    calls = _no_pricing(monkeypatch)
    planted = plant(region, "lab", "lab_lake", other=False)
    stack(boto3.client("cloudformation", region_name=region), "lab-DataLake", "lab")
    assembly = TeardownPlan.read(synth("lab").outdir, region)
    assert all(s.monthly_usd is None for s in assembly.stacks.values())
    config = load_profile("lab", {"account": ACCOUNT, "region": region})
    gaps = MotoGaps(region)
    lines: list[str] = []
    dry = Teardown(config, clients(region, gaps), assembly, log=lines.append, wait=False).run()
    assert dry.dry_run and "idle cost unpriced" in "\n".join(lines)
    report = Teardown(
        config, clients(region, gaps), assembly, yes=True, log=lambda s: None, wait=False
    ).run()
    assert not set(planted["endpoints"]) & inventory(region)["endpoints"], [
        (i.kind, i.name, i.action) for i in report.items
    ]
    assert not report.failed, [(i.kind, i.name, i.action) for i in report.failed]
    assert calls == []


def _no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    import boto3 as _boto3

    monkeypatch.setattr(_boto3, "DEFAULT_SESSION", None)


def manifest_dependencies(outdir: Path) -> dict[str, set[str]]:
    """The oracle: each stack's dependencies on other stacks, read from manifest.json."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks = {
        name for name, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"
    }
    return {
        name: {d for d in manifest["artifacts"][name].get("dependencies", []) if d in stacks}
        for name in stacks
    }


def test_plan_needs_no_credentials_and_lists_stacks_dependents_first_then_the_residue(
    synth: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from labctl.cli import main

    _no_aws_credentials(monkeypatch, tmp_path)
    outdir = synth("lab").outdir
    assert main(["teardown", "--profile", "lab", "--plan", "--assembly", str(outdir)]) == 0
    out = capsys.readouterr().out
    deps = manifest_dependencies(outdir)
    printed = [
        line.split(". ", 1)[1].split(":")[0]
        for line in out.splitlines()
        if line.strip()[:1].isdigit() and line.split(". ", 1)[1].split(":")[0] in deps
    ]
    assert sorted(printed) == sorted(deps)  # every stack once
    for name, needs in deps.items():  # a stack goes before every stack it depends on
        for dep in needs:
            assert printed.index(name) < printed.index(dep), (name, dep, printed)
    kinds = [
        line.split(". ", 1)[1] for line in out.split("sweep of the residue")[1].splitlines()[1:-1]
    ]
    # docs/operations.md "Tear down": endpoints before their configs before models, keys last.
    assert {"endpoint", "endpoint-config", "model", "bucket", "log-group", "kms-key"} <= set(kinds)
    assert kinds.index("endpoint") < kinds.index("endpoint-config") < kinds.index("model")
    assert kinds[-1] == "kms-key"


def test_without_credentials_teardown_fails_in_one_line_before_synthesizing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from labctl.cli import main

    _no_aws_credentials(monkeypatch, tmp_path)

    def no_synth(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("synthesized before checking credentials")

    monkeypatch.setattr("labctl.teardown.synthesize_assembly", no_synth)
    assert main(["teardown", "--profile", "lab"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no AWS credentials" in err and "--plan" in err


@mock_aws
def test_teardown_leaves_what_a_stack_it_does_not_delete_manages(
    lab_assembly: TeardownPlan,
) -> None:
    """Resources tagged like this copy's but managed by a stack that is not the copy's (here a
    user's lab-Sandbox, which lacks the project tag) are kept and reported with that stack, as
    the expiry reaper does (model_code/stack_contract.py): sweeping them would break that
    stack's next update. The copy's own Serving stack takes its endpoint with it; a hand-made
    endpoint with the copy's tags is swept."""
    region = "us-east-1"
    cf = boto3.client("cloudformation", region_name=region)
    sm = boto3.client("sagemaker", region_name=region)
    copy_tags = {t["Key"]: t["Value"] for t in tags("lab")}
    cf.create_stack(
        StackName="lab-Serving", TemplateBody=serving_template(1, copy_tags), Tags=tags("lab")
    )
    cf.create_stack(
        StackName="lab-Sandbox",
        TemplateBody=serving_template(1, copy_tags),
        Tags=[{"Key": "environment", "Value": "lab"}],  # not the copy's: no project tag
    )
    for name in ("lab-Serving", "lab-Sandbox"):
        tag_like_cloudformation(cf, sm, name)
    sandbox = physical_names(cf, "lab-Sandbox")
    endpoint(sm, "lab-handmade", tags("lab"), "Handmade")

    dry = teardown("lab", clients(region, MotoGaps(region)), lab_assembly).run()
    held = {i.name: i.action for i in dry.items if i.name in sandbox.values()}
    assert set(held) == set(sandbox.values()), dry.render()
    assert all(a.startswith("kept: managed by stack lab-Sandbox") for a in held.values()), held

    report = teardown("lab", clients(region, MotoGaps(region)), lab_assembly, yes=True).run()
    endpoints = {e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]}
    assert endpoints == {sandbox["Endpoint"]}, report.render()
    configs = {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]}
    assert configs == {sandbox["Config"]}
    assert {m["ModelName"] for m in sm.list_models()["Models"]} == {sandbox["Model"]}
    kept = next(i for i in report.items if i.name == sandbox["Endpoint"])
    assert "delete that stack" in kept.action and kept.billable
    assert report.exit_code() == 1  # something billable of the copy's tags remains


@mock_aws
@pytest.mark.parametrize("failures", [9, 1])
def test_a_stack_whose_dependent_failed_to_delete_waits_for_it(
    prod_assembly: TeardownPlan, failures: int
) -> None:
    """prod-like's serving stack was deployed with Delivery's role, which CloudFormation needs
    to delete it (DeleteStack uses the role the stack was deployed with): while it fails to
    delete, the stacks it depends on are held, not deleted; once its retry after the sweep
    succeeds, they are retried too. Oracle: the manifest's dependencies, written out here."""
    region = "eu-west-1"
    _prod_deployed(region)
    gaps = MotoGaps(region)
    c = clients(region, gaps, cf_fail={"prodlike-Serving": failures})
    report = teardown("prod-like", c, prod_assembly, yes=True).run()
    by = {i.name: i for i in report.items if i.kind == "stack"}
    serving_needs = {"prodlike-Delivery", "prodlike-DataLake", "prodlike-Network"}
    if failures > 1:  # fails on the retry too: what it needs stays, and says why
        assert not by["prodlike-Serving"].ok
        for name in serving_needs:
            assert not by[name].ok, name
            assert "prodlike-Serving depends on it" in by[name].action, by[name].action
            assert ("delete_stack", name) not in gaps.calls, name
        for name in ("prodlike-Ingestion", "prodlike-Training"):
            assert by[name].ok and by[name].action.endswith("deleted"), name
        assert report.exit_code() == 1
    else:  # its retry succeeds: then the held stacks are deleted, after it
        assert by["prodlike-Serving"].ok
        serving = max(
            i for i, call in enumerate(gaps.calls) if call == ("delete_stack", "prodlike-Serving")
        )
        for name in serving_needs:
            assert by[name].ok, (name, by[name].action)
            assert gaps.calls.index(("delete_stack", name)) > serving, name
