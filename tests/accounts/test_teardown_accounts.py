"""labctl teardown across three accounts (tooling 111111111111, staging 333333333333, production
444444444444: config/multi-account.json), against moto.

moto keeps one backend per account and maps the credentials ``sts:AssumeRole`` returns to the
role's account (moto's docs, "Multi-Account support": docs/docs/multi_account.rst), so each
account's session sees that account's resources only. ``test_moto_keeps_the_accounts_apart``
checks that separation for every listing teardown relies on: if moto ever shares a service
across accounts, it fails there, before the teardown tests could pass for the wrong reason.

The oracle is what each test plants, by hand, account by account: residue of the copy (which
must be gone), look-alikes (which must survive in every account), and the order of the calls
(targets first, tooling last, KMS keys last in every account).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from ops.teardown.accounts import MultiAccountTeardown, MultiReport
from ops.teardown.credentials import Source, account_access, session_for
from ops.teardown.plan import TeardownPlan
from ops.teardown.residue import Clients
from tests.accounts.conftest import MultiAccount
from tests.cfn_serving import serving_template, tag_like_cloudformation
from tests.teardown_moto import SPEC, MotoGaps, Wrapped, cost_explorer, endpoint, stack, tags

REGION = "us-east-1"
TOOLING, STAGING, PRODUCTION = "111111111111", "333333333333", "444444444444"
ACCOUNTS = {"tooling": TOOLING, "staging": STAGING, "production": PRODUCTION}
SERVICES = ("s3", "kms", "logs", "kinesis", "sns", "glue", "lakeformation")


def role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/teardown"


_SESSIONS: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _fresh_sessions() -> Any:
    """Sessions live as long as one test's moto state (its credentials map to an account)."""
    _SESSIONS.clear()
    yield
    _SESSIONS.clear()


class _Session:
    """One account's session as teardown builds it (a role assumed with the default
    credentials), with its clients made once: creating boto3 clients dominates these tests."""

    def __init__(self, account: str) -> None:
        self.boto = session_for(Source("role", role(account)), REGION)
        self.clients: dict[str, Any] = {}

    def client(self, service: str, **kw: Any) -> Any:
        if service not in self.clients:
            self.clients[service] = self.boto.client(service, **kw)
        return self.clients[service]

    def get_credentials(self) -> Any:
        return self.boto.get_credentials()


def session(account: str) -> Any:
    if account not in _SESSIONS:
        _SESSIONS[account] = _Session(account)
    return _SESSIONS[account]


class Journal:
    """A client whose deleting calls are written, with the account, to one shared log."""

    DELETING = ("delete_", "schedule_key_deletion", "revoke_", "deregister_")

    def __init__(self, client: Any, account: str, log: list[tuple[str, str, str]]) -> None:
        self._client, self._account, self._log = client, account, log

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not name.startswith(self.DELETING):
            return attr

        def call(**kw: Any) -> Any:
            first = next((str(v) for v in kw.values()), "")
            self._log.append((self._account, name, first))
            return attr(**kw)

        return call


def account_clients(account: str, log: list[tuple[str, str, str]]) -> Clients:
    s = session_for(Source("role", role(account)), REGION)
    gaps = MotoGaps(REGION, account)
    sagemaker = Wrapped(
        s.client("sagemaker"),
        delete_model_package=gaps.delete_model_package,
        delete_model_package_group=gaps.delete_model_package_group,
    )
    given: dict[str, Any] = {
        "sagemaker": Journal(sagemaker, account, log),
        "cloudformation": Journal(gaps.cloudformation(s.client("cloudformation")), account, log),
        "ce": cost_explorer(),
        "sts": s.client("sts"),
    }
    given |= {svc: Journal(s.client(svc), account, log) for svc in SERVICES}
    return Clients(REGION, session=s, **given)


# --- planting, account by account ----------------------------------------------------------------
def bucket(s3: Any, name: str, tag_list: list[dict[str, str]] | None, objects: int = 0) -> None:
    s3.create_bucket(Bucket=name)
    if tag_list:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for i in range(objects):
        s3.put_object(Bucket=name, Key=f"capture/{i}.jsonl", Body=b"{}")


def key(kms: Any, env: str, project: str = "mlops-reference") -> str:
    kms_tags = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags(env, project)]
    return str(kms.create_key(Description=f"{env} key", Tags=kms_tags)["KeyMetadata"]["KeyId"])


def topic(sns: Any, name: str, tag_list: list[dict[str, str]] | None) -> str:
    arn = str(sns.create_topic(Name=name)["TopicArn"])
    if tag_list:
        sns.tag_resource(ResourceArn=arn, Tags=tag_list)
    return arn


def plant_target(account: str, unit: str, serving: str, endpoint_name: str) -> dict[str, Any]:
    """A target account: its target stack, its serving stack (the endpoint it manages), a
    hand-made endpoint and a release's leftover config and model, the capture bucket, the
    topic and the key of the target stack, run-time log groups. Then look-alikes."""
    s = session(account)
    sm, s3, cf, logs = (s.client(n) for n in ("sagemaker", "s3", "cloudformation", "logs"))
    mine = tags("multi")
    stack(cf, f"multi-{unit}", "multi", protected=True)
    copy_tags = {t["Key"]: t["Value"] for t in mine}
    cf.create_stack(
        StackName=f"multi-{serving}", TemplateBody=serving_template(1, copy_tags), Tags=mine
    )
    tag_like_cloudformation(cf, sm, f"multi-{serving}")
    endpoint(sm, endpoint_name, mine, f"Handmade{unit}")
    sm.create_model(
        ModelName=f"Release{unit}",
        ExecutionRoleArn=role(account),
        PrimaryContainer={"Image": "x"},
        Tags=mine,
    )
    capture = f"multi-{unit.lower()}-capturebucket-abc123"
    bucket(s3, capture, mine, objects=3)
    alerts = topic(s.client("sns"), f"multi-{unit}-AlertsTopic-abc123", mine)
    groups = [
        f"/aws/sagemaker/Endpoints/{endpoint_name}",
        f"/aws/lambda/multi-{unit}-CustomVpcRestrictDefaultSG-abc123",
    ]
    for group in groups:
        logs.create_log_group(logGroupName=group)
    planted = {
        "endpoints": {endpoint_name},
        "models": {f"Release{unit}", f"Model{'Handmade' + unit}"},
        "buckets": {capture},
        "topics": {alerts},
        "log_groups": set(groups),
        "keys": {key(s.client("kms"), "multi")},
    }
    # Look-alikes: another copy (multi2), untagged user resources with the copy's prefixes,
    # the copy's name tagged for another project, and names of this copy that belong in
    # another account (tooling's lake bucket, the other target's endpoint log group).
    stack(cf, f"multi2-{unit}", "multi2")
    endpoint(sm, f"multi2-{endpoint_name.removeprefix('multi-')}", tags("multi2"), f"Other{unit}")
    endpoint(sm, f"multi-user-{unit.lower()}", None, f"User{unit}")
    endpoint(sm, f"{endpoint_name}-elsewhere", tags("multi", "someone-else"), f"Else{unit}")
    bucket(s3, f"multi2-{unit.lower()}-capturebucket-abc123", tags("multi2"), objects=1)
    bucket(s3, f"multi-{unit.lower()}-userbucket", None, objects=1)
    bucket(s3, f"multi-datalake-lakerawbucket-{unit.lower()}", mine, objects=1)
    other = "multi-digits" if endpoint_name.endswith("-staging") else "multi-digits-staging"
    lookalike_groups = {f"/aws/sagemaker/Endpoints/{other}", "/aws/lambda/user-fn"}
    for group in lookalike_groups:
        logs.create_log_group(logGroupName=group)
    lookalikes = {
        "stacks": {f"multi2-{unit}"},
        "endpoints": {
            f"multi2-{endpoint_name.removeprefix('multi-')}",
            f"multi-user-{unit.lower()}",
            f"{endpoint_name}-elsewhere",
        },
        "buckets": {
            f"multi2-{unit.lower()}-capturebucket-abc123",
            f"multi-{unit.lower()}-userbucket",
            f"multi-datalake-lakerawbucket-{unit.lower()}",
        },
        "topics": {topic(s.client("sns"), f"multi-{unit}-user-topic", None)},
        "log_groups": lookalike_groups,
        "keys": {key(s.client("kms"), "multi2"), key(s.client("kms"), "multi", "someone-else")},
    }
    return {"planted": planted, "lookalikes": lookalikes}


def plant_tooling() -> dict[str, Any]:
    s = session(TOOLING)
    sm, s3, cf, logs = (s.client(n) for n in ("sagemaker", "s3", "cloudformation", "logs"))
    mine = tags("multi")
    for name, protected in (
        ("multi-Operations", True),
        ("multi-DataLake", True),
        ("multi-Network", False),
        ("multi-Ingestion", True),
        ("multi-Training", False),
        ("multi-Delivery", False),
    ):
        stack(cf, name, "multi", protected)
    for group, count in (("multi-digits-xgboost", 2), ("multi-digits-baseline", 1)):
        sm.create_model_package_group(ModelPackageGroupName=group, Tags=mine)
        for _ in range(count):
            sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=SPEC)
    sm.create_experiment(ExperimentName="multi-digits-training")
    sm.create_trial(TrialName="abc123def456", ExperimentName="multi-digits-training")
    raw = "multi-datalake-lakerawbucket-abc123"
    bucket(s3, raw, mine, objects=3)
    lf = s.client("lakeformation")
    lf.register_resource(ResourceArn=f"arn:aws:s3:::{raw}", UseServiceLinkedRole=True)
    lf.grant_permissions(
        Principal={"DataLakePrincipalIdentifier": role(TOOLING)},
        Resource={"Database": {"Name": "multi_lake"}},
        Permissions=["ALL"],
    )
    s.client("glue").create_database(DatabaseInput={"Name": "multi_lake"})
    ks = s.client("kinesis")
    stream = "multi-Ingestion-IngestionStream-abc123"
    ks.create_stream(StreamName=stream, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    ks.add_tags_to_stream(StreamName=stream, Tags={t["Key"]: t["Value"] for t in mine})
    groups = {
        "/aws/lambda/multi-Training-CustomCDKBucketDeployment-abc123",
        "/aws/codebuild/multi-Delivery-DeliveryBuild-abc123",
    }
    for group in groups:
        logs.create_log_group(logGroupName=group)
    planted = {
        "buckets": {raw},
        "streams": {stream},
        "log_groups": groups,
        "keys": {key(s.client("kms"), "multi")},
        "topics": {topic(s.client("sns"), "multi-Operations-AlertsTopic-abc123", mine)},
        "registry": {"multi-digits-xgboost", "multi-digits-baseline"},
        "databases": {"multi_lake"},
    }
    stack(cf, "multi2-DataLake", "multi2")
    sm.create_model_package_group(ModelPackageGroupName="multi2-digits-xgboost", Tags=tags("m2"))
    bucket(s3, "multi2-datalake-lakerawbucket-abc123", tags("multi2"))
    bucket(s3, "multi-datalake-userbucket", None)
    ks.create_stream(StreamName="multi-Ingestion-user-stream", ShardCount=1)  # untagged
    logs.create_log_group(logGroupName="/aws/lambda/user-fn")
    s.client("glue").create_database(DatabaseInput={"Name": "user_db"})
    lookalikes = {
        "stacks": {"multi2-DataLake"},
        "buckets": {"multi2-datalake-lakerawbucket-abc123", "multi-datalake-userbucket"},
        "streams": {"multi-Ingestion-user-stream"},
        "log_groups": {"/aws/lambda/user-fn"},
        "keys": {key(s.client("kms"), "multi2")},
        "registry": {"multi2-digits-xgboost"},
        "databases": {"user_db"},
    }
    return {"planted": planted, "lookalikes": lookalikes}


def inventory(account: str) -> dict[str, set[str]]:
    """Everything an account holds, listed with its own session (the oracle's view)."""
    s = session(account)
    sm, kms = s.client("sagemaker"), s.client("kms")
    return {
        "stacks": {
            x["StackName"]
            for x in s.client("cloudformation").list_stacks()["StackSummaries"]
            if x["StackStatus"] != "DELETE_COMPLETE"
        },
        "endpoints": {e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]},
        "configs": {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]},
        "models": {m["ModelName"] for m in sm.list_models()["Models"]},
        "registry": {
            g["ModelPackageGroupName"]
            for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
        },
        "experiments": {e["ExperimentName"] for e in sm.list_experiments()["ExperimentSummaries"]},
        "buckets": {b["Name"] for b in s.client("s3").list_buckets()["Buckets"]},
        "topics": {t["TopicArn"] for t in s.client("sns").list_topics()["Topics"]},
        "log_groups": {
            g["logGroupName"] for g in s.client("logs").describe_log_groups()["logGroups"]
        },
        "streams": set(s.client("kinesis").list_streams()["StreamNames"]),
        "keys": {
            k["KeyId"]
            for k in kms.list_keys()["Keys"]
            if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
        },
        "databases": {d["Name"] for d in s.client("glue").get_databases()["DatabaseList"]},
        "registrations": {
            r["ResourceArn"] for r in s.client("lakeformation").list_resources()["ResourceInfoList"]
        },
    }


def plant_all() -> dict[str, dict[str, Any]]:
    return {
        STAGING: plant_target(STAGING, "StagingTarget", "ServingStaging", "multi-digits-staging"),
        PRODUCTION: plant_target(PRODUCTION, "ProductionTarget", "Serving", "multi-digits"),
        TOOLING: plant_tooling(),
    }


@pytest.fixture(scope="module")
def multi_plan(multi: MultiAccount) -> TeardownPlan:
    return TeardownPlan.read(multi.outdir, REGION)


def access_all(config: Any) -> Any:
    return account_access(
        config, {n: Source("role", role(a)) for n, a in ACCOUNTS.items()}, offline=False
    )


def multi_teardown(
    multi: MultiAccount, plan: TeardownPlan, log: list[tuple[str, str, str]], **kw: Any
) -> MultiAccountTeardown:
    clients = {a: account_clients(a, log) for a in ACCOUNTS.values()}
    return MultiAccountTeardown(
        multi.config,
        clients,
        access_all(multi.config),
        plan,
        log=lambda s: None,
        wait=False,
        **kw,
    )


# --- tests ---------------------------------------------------------------------------------------
@mock_aws
def test_moto_keeps_the_accounts_apart_for_every_listing_teardown_uses() -> None:
    """The separation the other tests rely on: a resource planted in one account is listed by
    that account's session only, for every service the residue finder lists."""
    for name, account in ACCOUNTS.items():
        s = session(account)
        assert s.client("sts").get_caller_identity()["Account"] == account
        sm = s.client("sagemaker")
        endpoint(sm, f"probe-{name}", tags("probe"), f"Probe{name}")
        sm.create_model_package_group(ModelPackageGroupName=f"probe-{name}")
        sm.create_experiment(ExperimentName=f"probe-{name}")
        stack(s.client("cloudformation"), f"probe-{name}", "probe")
        bucket(s.client("s3"), f"probe-{name}", None)
        s.client("logs").create_log_group(logGroupName=f"probe-{name}")
        s.client("kms").create_key(Description=f"probe-{name}")
        s.client("kinesis").create_stream(StreamName=f"probe-{name}", ShardCount=1)
        s.client("sns").create_topic(Name=f"probe-{name}")
        s.client("glue").create_database(DatabaseInput={"Name": f"probe-{name}"})
        s.client("lakeformation").register_resource(
            ResourceArn=f"arn:aws:s3:::probe-{name}", UseServiceLinkedRole=True
        )
    for name, account in ACCOUNTS.items():
        s = session(account)
        sm, kms = s.client("sagemaker"), s.client("kms")
        seen = {
            "endpoints": [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]],
            "configs": [
                c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]
            ],
            "models": [m["ModelName"] for m in sm.list_models()["Models"]],
            "groups": [
                g["ModelPackageGroupName"]
                for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
            ],
            "experiments": [
                e["ExperimentName"] for e in sm.list_experiments()["ExperimentSummaries"]
            ],
            "stacks": [
                x["StackName"] for x in s.client("cloudformation").list_stacks()["StackSummaries"]
            ],
            "buckets": [b["Name"] for b in s.client("s3").list_buckets()["Buckets"]],
            "log groups": [
                g["logGroupName"] for g in s.client("logs").describe_log_groups()["logGroups"]
            ],
            "keys": [
                kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["Description"]
                for k in kms.list_keys()["Keys"]
            ],
            "streams": s.client("kinesis").list_streams()["StreamNames"],
            "topics": [
                t["TopicArn"].rsplit(":", 1)[1] for t in s.client("sns").list_topics()["Topics"]
            ],
            "databases": [d["Name"] for d in s.client("glue").get_databases()["DatabaseList"]],
            "registrations": [
                r["ResourceArn"].rsplit(":", 1)[1]
                for r in s.client("lakeformation").list_resources()["ResourceInfoList"]
            ],
        }
        for what, names in seen.items():
            # each listing sees this account's probe (stack topics too) and no other's
            assert names and all(name in n.lower() for n in names), (account, what, names)


@mock_aws
def test_teardown_across_three_accounts_leaves_nothing_of_the_copy_and_every_lookalike(
    multi: MultiAccount, multi_plan: TeardownPlan
) -> None:
    planted = plant_all()
    before = {a: inventory(a) for a in ACCOUNTS.values()}
    log: list[tuple[str, str, str]] = []

    dry = multi_teardown(multi, multi_plan, log).run()
    assert {a: inventory(a) for a in ACCOUNTS.values()} == before, "a dry run changes nothing"
    assert log == [] and dry.exit_code() == 1
    labels = {f"{n} {a}" for n, a in ACCOUNTS.items()}
    assert {i.account for i in dry.items} == labels  # every item names its account

    report = multi_teardown(multi, multi_plan, log, yes=True, delete_retained=True).run()
    assert report.exit_code() == 0, report.render()
    for account, part in planted.items():
        after = inventory(account)
        for kind, names in part["planted"].items():
            assert not names & after[kind], (account, kind, names & after[kind])
        for kind, names in part["lookalikes"].items():
            assert names <= after[kind], (account, kind, names - after[kind])
        # Nothing of the copy is left: what remains is exactly the look-alikes (and, for
        # configs and models, those of the look-alike endpoints).
        assert after["stacks"] == part["lookalikes"]["stacks"], (account, after["stacks"])
        assert after["endpoints"] == part["lookalikes"].get("endpoints", set())
        assert not any(c.startswith("Config") and "Handmade" in c for c in after["configs"])
        assert after["buckets"] == part["lookalikes"]["buckets"], account
        assert after["keys"] == part["lookalikes"]["keys"], account
        assert after["registrations"] == set()
        ours = {t for t in after["topics"] if t.rsplit(":", 1)[1].startswith("multi-")}
        assert ours == part["lookalikes"].get("topics", set()), (account, ours)
    # Order: every stack of a target account before any of tooling's, serving stacks before
    # target stacks; tooling's registry versions before its stacks; KMS keys after every
    # other deletion, in every account.
    stacks = [(a, name) for a, op, name in log if op == "delete_stack"]
    first_tooling = next(i for i, (a, _) in enumerate(stacks) if a == TOOLING)
    assert {a for a, _ in stacks[:first_tooling]} == {STAGING, PRODUCTION}
    assert all(a == TOOLING for a, _ in stacks[first_tooling:])
    order = [n for _, n in stacks]
    for serving in ("multi-ServingStaging", "multi-Serving"):
        for target in ("multi-StagingTarget", "multi-ProductionTarget"):
            assert order.index(serving) < order.index(target), order
    target_sweep = [i for i, (a, op, _) in enumerate(log) if a != TOOLING and op != "delete_stack"]
    tooling_stacks = [
        i for i, (a, op, _) in enumerate(log) if a == TOOLING and op == "delete_stack"
    ]
    keys = [i for i, (_, op, _) in enumerate(log) if op == "schedule_key_deletion"]
    others = [i for i, (_, op, _) in enumerate(log) if op != "schedule_key_deletion"]
    assert {log[i][0] for i in keys} == set(ACCOUNTS.values())
    assert min(keys) > max(others)
    assert max(i for i in target_sweep if log[i][1] != "schedule_key_deletion") < min(
        tooling_stacks
    )
    packages = [i for i, (_, op, _) in enumerate(log) if op == "delete_model_package"]
    assert len(packages) == 3 and max(packages) < min(tooling_stacks)
    # The report names each item's account, and the account is where it was planted.
    by_name = {(i.kind, i.name): i.account for i in report.items}
    assert by_name[("bucket", "multi-stagingtarget-capturebucket-abc123")] == f"staging {STAGING}"
    assert by_name[("endpoint", "multi-digits")] == f"production {PRODUCTION}"
    assert by_name[("stream", "multi-Ingestion-IngestionStream-abc123")] == f"tooling {TOOLING}"


@mock_aws
def test_without_delete_retained_each_account_keeps_its_retained_data(
    multi: MultiAccount, multi_plan: TeardownPlan
) -> None:
    """The multi-account profile retains data: the capture buckets and keys in the targets and
    the lake, stream and registry in tooling stay (billable: exit 1), serving is gone."""
    planted = plant_all()
    report: MultiReport = multi_teardown(multi, multi_plan, [], yes=True).run()
    assert report.exit_code() == 1
    for account, part in planted.items():
        after = inventory(account)
        assert part["planted"]["buckets"] <= after["buckets"], account
        assert part["planted"]["keys"] <= after["keys"], account
        assert not part["planted"].get("endpoints", set()) & after["endpoints"], account
    kept = {(i.account, i.kind) for i in report.items if i.action.startswith("kept")}
    assert (f"staging {STAGING}", "bucket") in kept and (f"tooling {TOOLING}", "stream") in kept


# --- the command line --------------------------------------------------------------------------
def _cli(argv: list[str], **inject: Any) -> int:
    from labctl.cli import main

    return main(["teardown", "--profile", "multi-account", *argv], **inject)


def test_offline_plan_names_each_stacks_account_targets_first_keys_last(
    multi: MultiAccount,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert _cli(["--plan", "--assembly", str(multi.outdir)]) == 0
    out = capsys.readouterr().out
    # The oracle: manifest.json's environments and dependencies.
    manifest = json.loads((multi.outdir / "manifest.json").read_text())
    stacks = {
        n: a for n, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"
    }
    account_of = {n: a["environment"].split("/")[2] for n, a in stacks.items()}
    printed = []
    for line in out.splitlines():
        head = line.strip().split(". ", 1)
        if head[0].isdigit() and " in " in head[1]:
            name, rest = head[1].split(" in ", 1)
            printed.append((name, rest.split(":")[0]))
    assert sorted(n for n, _ in printed) == sorted(stacks)
    names = {v: k for k, v in ACCOUNTS.items()}
    for name, where in printed:
        assert where == f"{names[account_of[name]]} {account_of[name]}", (name, where)
    order = [n for n, _ in printed]
    tooling = [i for i, n in enumerate(order) if account_of[n] == TOOLING]
    assert min(tooling) == len(order) - len(tooling), order  # targets first, tooling last
    assert order.index("multi-Serving") < order.index("multi-ProductionTarget")
    assert order.index("multi-ServingStaging") < order.index("multi-StagingTarget")
    for name, artifact in stacks.items():  # within an account, dependents first
        for dep in artifact.get("dependencies", []):
            if dep in stacks and account_of[dep] == account_of[name]:
                assert order.index(name) < order.index(dep), (name, dep)
    lines = out.splitlines()
    keys = next(i for i, line in enumerate(lines) if line.strip().startswith("KMS keys last"))
    assert keys > max(i for i, line in enumerate(lines) if line.strip()[:1].isdigit())
    assert all(f"{n} {a}" in lines[keys] for n, a in ACCOUNTS.items())


@mock_aws
@pytest.mark.parametrize(
    ("credentials", "says"),
    [
        (
            [f"--credentials=tooling=role:{role(TOOLING)}", f"staging=role:{role(STAGING)}"],
            "no credentials for the production account 444444444444",
        ),
        (
            [f"tooling=role:{role(TOOLING)}", f"production=role:{role(PRODUCTION)}"],
            "no credentials for the staging account 333333333333",
        ),
        (
            [
                f"tooling=role:{role(TOOLING)}",
                f"staging=role:{role(STAGING)}",
                f"production=role:{role(STAGING)}",
            ],
            "the role is in account 333333333333, not production 444444444444",
        ),
        (
            # moto's default credentials are account 123456789012: not tooling
            [f"staging=role:{role(STAGING)}", f"production=role:{role(PRODUCTION)}"],
            "--credentials tooling: account 123456789012 from the default credentials, not "
            "tooling 111111111111",
        ),
        (
            [
                f"tooling=role:{role(TOOLING)}",
                f"staging=role:{role(STAGING)}",
                "production=profile:wrong",
            ],
            "--credentials production: account 123456789012 from profile wrong, not "
            "production 444444444444",
        ),
        (
            [
                "tooling=profile:nowhere",
                f"staging=role:{role(STAGING)}",
                f"production=role:{role(PRODUCTION)}",
            ],
            "--credentials tooling: profile nowhere is not in the AWS config",
        ),
        (["qa=role:x"], "NAME one of tooling, staging, production"),
    ],
)
def test_credentials_are_checked_before_anything_is_listed_or_deleted(
    credentials: list[str],
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A missing source, a role of another account or a profile that resolves to the wrong
    account: one line on stderr, exit 2, and every account exactly as planted."""
    config = tmp_path / "config"
    config.write_text("[profile wrong]\naws_access_key_id = a\naws_secret_access_key = b\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name, account in ACCOUNTS.items():  # a stack, an endpoint, a bucket of the copy each
        s = session(account)
        stack(s.client("cloudformation"), f"multi-{name}", "multi")
        endpoint(s.client("sagemaker"), f"multi-{name}", tags("multi"), name)
        bucket(s.client("s3"), f"multi-{name}-bucket", tags("multi"), objects=1)
    before = {a: inventory(a) for a in ACCOUNTS.values()}

    def no_synth(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("synthesized before the credentials were checked")

    monkeypatch.setattr("labctl.teardown.synthesize_assembly", no_synth)
    argv = ["--yes", "--delete-retained"]
    for spec in credentials:
        argv += [spec] if spec.startswith("--") else ["--credentials", spec]
    assert _cli(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err
    assert {a: inventory(a) for a in ACCOUNTS.values()} == before


@mock_aws
def test_cli_dry_run_across_accounts_writes_each_items_account_in_the_json(
    multi: MultiAccount, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plant_all()
    log: list[tuple[str, str, str]] = []
    clients = {a: account_clients(a, log) for a in ACCOUNTS.values()}
    argv = [f"--credentials=tooling=role:{role(TOOLING)}"]
    argv += ["--credentials", f"staging=role:{role(STAGING)}"]
    argv += ["--credentials", f"production=role:{role(PRODUCTION)}"]
    argv += ["--assembly", str(multi.outdir), "--json", str(tmp_path / "r.json")]
    assert _cli(argv, accounts=clients) == 1 and log == []
    report = json.loads((tmp_path / "r.json").read_text())
    assert [r["account"] for r in report["accounts"]] == [
        f"staging {STAGING}",
        f"production {PRODUCTION}",
        f"tooling {TOOLING}",
    ]
    for part in report["accounts"]:
        assert {i["account"] for i in part["items"]} == {part["account"]}
    out = capsys.readouterr().out
    assert f"teardown plan for multi in production {PRODUCTION}/us-east-1" in out


def test_the_roles_session_is_refreshable() -> None:
    """An assumed role's credentials renew themselves (a teardown waits out stack deletions
    longer than a role session's default hour)."""
    with mock_aws():
        creds = session(PRODUCTION).get_credentials()
        assert creds.method == "assume-role" and creds.refresh_needed()  # fetched on first use
        assert creds.get_frozen_credentials().access_key


def _shared_targets() -> Any:
    """multi-account with staging and production in one account (333333333333)."""
    import dataclasses

    from core.config import AccountsConfig, load_profile

    base = load_profile("multi-account")
    accounts = AccountsConfig(tooling=TOOLING, staging=STAGING, production=STAGING)
    return dataclasses.replace(base, accounts=accounts)


def test_a_target_account_shared_by_staging_and_production_takes_either_name_once() -> None:
    from ops.errors import UsageError

    config = _shared_targets()
    found = account_access(config, {"production": Source("profile", "targets")})
    assert [(a.label, a.source.value) for a in found] == [
        (f"staging+production {STAGING}", "targets"),
        (f"tooling {TOOLING}", ""),
    ]
    with pytest.raises(UsageError, match="share account 333333333333; give it one source"):
        account_access(
            config,
            {"staging": Source("profile", "a"), "production": Source("profile", "b")},
        )
    with pytest.raises(UsageError, match="no credentials for the staging and production account"):
        account_access(config, {})


@mock_aws
def test_a_single_account_profile_checks_a_given_source_and_refuses_target_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from labctl.cli import main

    base = ["teardown", "--profile", "lab", "--account", TOOLING, "--assembly", str(tmp_path)]
    assert main([*base, "--credentials", f"staging=role:{role(STAGING)}"]) == 2
    assert "keeps everything in one account (111111111111)" in capsys.readouterr().err
    # moto's default credentials are account 123456789012, not the profile's 111111111111
    assert main([*base, "--credentials", f"tooling=role:{role(PRODUCTION)}"]) == 2
    err = capsys.readouterr().err
    assert "the role is in account 444444444444, not tooling 111111111111" in err


def test_an_assembly_of_other_accounts_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An assembly whose stack deploys to none of the profile's accounts (another profile's,
    or environment-agnostic) cannot be split by account: one line, exit 2."""
    (tmp_path / "multi-Other.template.json").write_text(json.dumps({"Resources": {}}))
    manifest = {
        "artifacts": {
            "multi-Other": {
                "type": "aws:cloudformation:stack",
                "environment": "aws://999999999999/us-east-1",
                "properties": {"templateFile": "multi-Other.template.json"},
            }
        }
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert _cli(["--plan", "--assembly", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "multi-Other deploys to account 999999999999" in err


def test_offline_plan_with_staging_and_production_in_one_account(
    two_accounts: MultiAccount, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One target account: its stacks are planned once, under both names, before tooling."""
    from ops.teardown.accounts import offline_plan_accounts

    plan = TeardownPlan.read(two_accounts.outdir, REGION)
    access = account_access(two_accounts.config, {}, offline=True)
    lines = offline_plan_accounts(two_accounts.config, plan, access)
    shared = f"staging+production {two_accounts.config.staging_account}"
    placed = {
        line.split(". ", 1)[1].split(" in ")[0]: line.split(" in ", 1)[1].split(":")[0]
        for line in lines
        if line.strip()[:1].isdigit()
    }
    assert {n for n, where in placed.items() if where == shared} == {
        "multi-ServingStaging",
        "multi-Serving",
        "multi-Monitoring",  # beside the production endpoint
        "multi-Target",
    }
    order = list(placed)
    assert max(order.index(n) for n, w in placed.items() if w == shared) < min(
        order.index(n) for n, w in placed.items() if w != shared
    )


def test_make_destroy_passes_one_credentials_source_per_account() -> None:
    """``make destroy ... CREDENTIALS="..."`` reaches ``labctl teardown`` as one
    ``--credentials`` per word (make's own dry run, parsed by labctl's own parser)."""
    import shlex
    import shutil
    import subprocess
    from pathlib import Path

    from labctl.cli import build_parser

    make = shutil.which("make")
    assert make is not None, "make is needed to run the Makefile's recipes"
    sources = ["staging=profile:staging", "production=role:arn:aws:iam::444444444444:role/ops"]
    out = subprocess.run(
        [
            make,
            "-n",
            "--no-print-directory",
            "destroy",
            "ACCOUNT=111111111111",
            "REGION=us-east-1",
            "PROFILE=multi-account",
            f"CREDENTIALS={' '.join(sources)}",
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace("\\\n", " ")
    (line,) = [ln for ln in out.splitlines() if "labctl teardown" in ln]
    argv = shlex.split(line)
    args = build_parser("teardown").parse_args(argv[argv.index("teardown") :])
    assert args.credentials == sources
    assert args.yes and args.profile == "multi-account"
