"""What one copy of the platform can leave in an account, found by listing each service.

A tag scan alone misses what services create at run time (log groups, experiment entities
carry no tags) and IAM, so every kind here is found by listing its service and checking
ownership twice where the resource allows it: a name derived from this copy's configuration
(stack names, endpoint names, pipeline name, groups, database) AND the ``environment`` and
``project`` tags. Kinds that cannot carry tags (log groups and streams created at run time,
Lake Formation registrations and grants, pipeline experiments) are matched by exact names or
prefixes derived from the configuration only; the report says so in "why".

Deletion order (``SWEEP_ORDER``): endpoints before their configs before models, a version's
model card before the version, packages before groups, trials before experiments, grants
before registrations, buckets emptied of every version before deletion, KMS keys last
(scheduled with the shortest window, 7 days).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from core.config import PlatformConfig
from core.cost import PriceError, PriceTable
from core.model_card import card_name
from model_code import layout
from model_code.stack_contract import managing_stack

# Shared log groups SageMaker jobs write to: one stream per job instance, named <job>/<host>.
JOB_LOG_GROUPS = layout.JOB_LOG_GROUPS
KMS_PENDING_WINDOW_DAYS = 7  # the shortest window KMS allows (ScheduleKeyDeletion: 7-30 days)
S3_PAGE = 1000  # ListObjectVersions returns and DeleteObjects takes at most 1000 keys
BUSY_ENDPOINT = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")

SWEEP_ORDER = (
    "endpoint",
    "endpoint-config",
    "model",
    "model-card",
    "model-package",
    "model-package-group",
    "trial",
    "experiment",
    "lake-formation-grant",
    "lake-formation-registration",
    "glue-database",
    "stream",
    "sns-topic",
    "bucket",
    "log-stream",
    "log-group",
    "kms-key",
)
# Data the retain profile keeps on purpose: deleted only with --delete-retained.
RETAINED_KINDS = frozenset(
    {
        "model-card",
        "model-package",
        "model-package-group",
        "glue-database",
        "stream",
        "bucket",
        "kms-key",
    }
)


@dataclass(frozen=True)
class Names:
    """Every name this copy of the platform gives or causes, derived from its configuration."""

    env: str
    project: str
    region: str
    stacks: tuple[str, ...]
    endpoints: tuple[str, ...]
    pipeline: str
    groups: tuple[str, ...]
    database: str

    @classmethod
    def of(
        cls, config: PlatformConfig, stacks: tuple[str, ...] = (), account: str | None = None
    ) -> Names:
        """The copy's names; with ``account`` (a profile with separate accounts) only those
        that belong in that account: its stacks (``stacks`` from the assembly, the derived
        ones by ``core.accounts.stack_account``), the endpoint it hosts, and the registry,
        pipeline and lake only in tooling. A name of this copy found in another account than
        its own is not this copy's there (docs/operations.md, Tear down)."""
        from core.accounts import stack_account
        from core.pipeline_settings import pipeline_settings
        from core.release import release_groups

        units = (
            "Operations",
            "DataLake",
            "Network",
            "Ingestion",
            "Training",
            "ServingStaging",
            "Serving",
            "Monitoring",
        )
        derived = [config.stack_name(u) for u in (*units, "Delivery")]
        hosted = {
            config.endpoint_name: config.production_account,
            config.staging_endpoint_name: config.staging_account,
        }
        endpoints = tuple(hosted)
        groups = tuple(release_groups(config).values())
        pipeline, database = pipeline_settings(config).pipeline_name, config.lake_database
        if account is not None and config.multi_account:
            derived = [s for s in derived if stack_account(config, s) == account]
            endpoints = tuple(e for e, where in hosted.items() if where == account)
            if account != config.tooling_account:
                groups, pipeline, database = (), "", ""
        known = tuple(dict.fromkeys((*stacks, *derived)))
        return cls(
            env=config.env_name,
            project=config.tags["project"],
            region=config.region,
            stacks=known,
            endpoints=endpoints,
            pipeline=pipeline,
            groups=groups,
            database=database,
        )

    def owns_tags(self, tags: dict[str, str]) -> bool:
        return tags.get("environment") == self.env and tags.get("project") == self.project

    def stack_prefixes(self, lower: bool = False) -> tuple[str, ...]:
        """CloudFormation names generated resources ``<stack>-<logical id>-<suffix>``."""
        return tuple(f"{s.lower() if lower else s}-" for s in self.stacks)


@dataclass
class Item:
    kind: str
    name: str
    why: str
    billable: bool = False
    monthly_usd: float | None = None
    note: str = ""  # e.g. "3 object versions", "12 GB"
    action: str = ""
    ok: bool = True  # False: could not be handled (the action says what to do)
    data: dict[str, Any] = field(default_factory=dict)
    account: str = ""  # "production 444444444444" in a teardown across accounts

    def to_json(self) -> dict[str, Any]:
        return ({"account": self.account} if self.account else {}) | {
            "kind": self.kind,
            "name": self.name,
            "why": self.why,
            "action": self.action,
            "billable": self.billable,
            "monthly_usd": None if self.monthly_usd is None else round(self.monthly_usd, 2),
            "note": self.note,
        }


class Clients:
    """boto3 clients per service, created on first use (tests pass moto or stubbed ones), from
    ``session`` (one account's credentials, ``ops.teardown.credentials``) or the default
    credentials."""

    def __init__(self, region: str, session: Any = None, **given: Any) -> None:
        self.region = region
        self.session = session
        self.given = given

    def __getattr__(self, service: str) -> Any:
        if service.startswith("_") or service in ("region", "given", "session"):
            raise AttributeError(service)
        if service not in self.given:
            import boto3

            self.given[service] = (self.session or boto3).client(service, region_name=self.region)
        return self.given[service]


def _error_code(err: Exception) -> str:
    response = getattr(err, "response", None) or {}
    return str(response.get("Error", {}).get("Code", type(err).__name__))


def _pages(
    call: Callable[..., dict[str, Any]], key: str, token: str = "NextToken", **kw: Any
) -> Iterator[Any]:
    """Every element of ``key`` across pages (follows ``NextToken``/``nextToken``/``Marker``)."""
    while True:
        page = call(**kw)
        yield from page.get(key, [])
        nxt = page.get(token)
        if not nxt:
            return
        kw[token if token != "NextMarker" else "Marker"] = nxt


def _sm_tags(sm: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn).get("Tags", [])}


class Finder:
    """Lists each service for what belongs to ``names``; each method returns items."""

    def __init__(self, clients: Clients, names: Names, prices: PriceTable | None = None) -> None:
        self.c = clients
        self.n = names
        self.prices = prices or PriceTable.load()
        self.execution_ids: set[str] = set()  # pipeline executions: their jobs' log streams

    def _instance_month(self, instance: str) -> float | None:
        if self.n.region not in self.prices.regions:  # unpriced: cost unknown, no lookup
            return None
        try:
            price = self.prices.price(self.n.region, "sagemaker_instance_hour", instance)
        except PriceError:
            return None
        return price.usd * self.prices.hours_per_month

    def _flat(self, item: str) -> float | None:
        if self.n.region not in self.prices.regions:
            return None
        try:
            return self.prices.price(self.n.region, item).usd
        except PriceError:
            return None

    # --- SageMaker hosting ---------------------------------------------------------------
    def endpoints(self) -> list[Item]:
        sm, items = self.c.sagemaker, []
        for summary in _pages(sm.list_endpoints, "Endpoints"):
            name = summary["EndpointName"]
            if not name.startswith(f"{self.n.env}-"):
                continue
            desc = sm.describe_endpoint(EndpointName=name)
            tags = _sm_tags(sm, desc["EndpointArn"])
            if not self.n.owns_tags(tags):
                continue
            monthly = 0.0
            config = sm.describe_endpoint_config(EndpointConfigName=desc["EndpointConfigName"])
            for variant in config.get("ProductionVariants", []):
                if "InstanceType" in variant:
                    current = {
                        v["VariantName"]: v.get("CurrentInstanceCount", 1)
                        for v in desc.get("ProductionVariants", [])
                    }
                    count = current.get(
                        variant["VariantName"], variant.get("InitialInstanceCount", 1)
                    )
                    per = self._instance_month(variant["InstanceType"])
                    monthly = monthly + per * count if per is not None else monthly
            items.append(
                Item(
                    "endpoint",
                    name,
                    f"name starts with {self.n.env}- and tags environment={self.n.env}, "
                    f"project={self.n.project}",
                    billable=True,
                    monthly_usd=monthly,
                    note=desc["EndpointStatus"],
                    data={
                        "status": desc["EndpointStatus"],
                        "config": desc["EndpointConfigName"],
                        "stack": managing_stack(tags),
                    },
                )
            )
        return items

    def endpoint_configs(self) -> list[Item]:
        sm, items = self.c.sagemaker, []
        for summary in _pages(sm.list_endpoint_configs, "EndpointConfigs"):
            tags = _sm_tags(sm, summary["EndpointConfigArn"])
            if self.n.owns_tags(tags):
                desc = sm.describe_endpoint_config(EndpointConfigName=summary["EndpointConfigName"])
                models = [v["ModelName"] for v in desc.get("ProductionVariants", [])]
                items.append(
                    Item(
                        "endpoint-config",
                        summary["EndpointConfigName"],
                        f"tags environment={self.n.env}, project={self.n.project} (generated name)",
                        data={"models": models, "stack": managing_stack(tags)},
                    )
                )
        return items

    def models(self) -> list[Item]:
        sm, items = self.c.sagemaker, []
        for summary in _pages(sm.list_models, "Models"):
            tags = _sm_tags(sm, summary["ModelArn"])
            if self.n.owns_tags(tags):
                items.append(
                    Item(
                        "model",
                        summary["ModelName"],
                        f"tags environment={self.n.env}, project={self.n.project} (generated name)",
                        data={"stack": managing_stack(tags)},
                    )
                )
        return items

    # --- Registry and experiments ----------------------------------------------------------
    def registry(self) -> list[Item]:
        sm, items = self.c.sagemaker, []
        for group in self.n.groups:
            try:
                desc = sm.describe_model_package_group(ModelPackageGroupName=group)
            except Exception as err:  # noqa: BLE001 - a missing group is the normal case
                if _error_code(err) in ("ValidationException", "ResourceNotFound"):
                    continue
                raise
            if not self.n.owns_tags(_sm_tags(sm, desc["ModelPackageGroupArn"])):
                continue
            why = f"group {group} from the configuration, tags environment={self.n.env}"
            for package in _pages(
                sm.list_model_packages, "ModelPackageSummaryList", ModelPackageGroupName=group
            ):
                items += self._model_card(group, package.get("ModelPackageVersion"), why)
                items.append(Item("model-package", package["ModelPackageArn"], why))
            items.append(Item("model-package-group", group, why))
        return items

    def _model_card(self, group: str, version: Any, why: str) -> list[Item]:
        """The version's model card, which `labctl model approve` created (no stack manages
        it; named ``<group>-v<N>`` by core/model_card.py ``card_name``)."""
        if version is None:
            return []
        name = card_name(group, int(version))
        try:
            self.c.sagemaker.describe_model_card(ModelCardName=name)
        except Exception as err:  # noqa: BLE001 - no card is the normal case
            if _error_code(err) == "ResourceNotFound":
                return []
            raise
        return [Item("model-card", name, f"model card of {group} version {version}; {why}")]

    def experiments(self) -> list[Item]:
        """Pipeline executions create an experiment named after the pipeline (lower case) and a
        trial per execution (named by execution id); neither is deleted with the pipeline."""
        sm, items = self.c.sagemaker, []
        wanted = {self.n.pipeline, self.n.pipeline.lower()}
        for exp in _pages(sm.list_experiments, "ExperimentSummaries"):
            if exp["ExperimentName"] not in wanted:
                continue
            why = f"experiment named after pipeline {self.n.pipeline} (experiments carry no tags)"
            for trial in _pages(
                sm.list_trials, "TrialSummaries", ExperimentName=exp["ExperimentName"]
            ):
                self.execution_ids.add(trial["TrialName"].split("-aws-")[0])
                items.append(Item("trial", trial["TrialName"], why))
            items.append(Item("experiment", exp["ExperimentName"], why))
        return items

    def pipeline_executions(self) -> None:
        """Execution ids of the platform's pipeline (while it exists): its jobs' log streams."""
        if not self.n.pipeline:  # a target account: the pipeline runs in tooling
            return
        try:
            for ex in _pages(
                self.c.sagemaker.list_pipeline_executions,
                "PipelineExecutionSummaries",
                PipelineName=self.n.pipeline,
            ):
                self.execution_ids.add(ex["PipelineExecutionArn"].rsplit("/", 1)[-1])
        except Exception as err:  # noqa: BLE001
            if _error_code(err) not in ("ResourceNotFound", "ValidationException"):
                raise

    # --- Lake Formation and Glue ---------------------------------------------------------------
    def lake_formation(self) -> list[Item]:
        lf, items = self.c.lakeformation, []
        prefixes = tuple(f"arn:aws:s3:::{p}" for p in self.n.stack_prefixes(lower=True))
        for perm in _pages(lf.list_permissions, "PrincipalResourcePermissions"):
            resource = perm["Resource"]
            db = (
                resource.get("Database", {}).get("Name")
                or resource.get("Table", {}).get("DatabaseName")
                or resource.get("TableWithColumns", {}).get("DatabaseName")
            )
            location = resource.get("DataLocation", {}).get("ResourceArn", "")
            if db == self.n.database or (location and location.startswith(prefixes)):
                label = db or location
                principal = perm["Principal"]["DataLakePrincipalIdentifier"]
                items.append(
                    Item(
                        "lake-formation-grant",
                        f"{principal} on {label}",
                        f"grant on database {self.n.database} or a bucket of this copy",
                        data={"perm": perm},
                    )
                )
        for info in _pages(lf.list_resources, "ResourceInfoList"):
            if info["ResourceArn"].startswith(prefixes):
                items.append(
                    Item(
                        "lake-formation-registration",
                        info["ResourceArn"],
                        "registered location in a bucket named after a stack of this copy",
                    )
                )
        return items

    def glue(self) -> list[Item]:
        try:
            self.c.glue.get_database(Name=self.n.database)
        except Exception as err:  # noqa: BLE001
            if _error_code(err) == "EntityNotFoundException":
                return []
            raise
        return [Item("glue-database", self.n.database, "database name from the configuration")]

    # --- Streams, buckets, logs, keys ---------------------------------------------------------
    def streams(self) -> list[Item]:
        ks, items = self.c.kinesis, []
        hourly_on_demand = self._flat("kinesis_on_demand_stream_hour")
        shard = self._flat("kinesis_shard_hour")
        for name in _pages(ks.list_streams, "StreamNames", token="NextToken"):
            if not name.startswith(self.n.stack_prefixes()):
                continue
            tags = {t["Key"]: t["Value"] for t in ks.list_tags_for_stream(StreamName=name)["Tags"]}
            if not self.n.owns_tags(tags):
                continue
            summary = ks.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
            mode = summary.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")
            per_hour = (
                hourly_on_demand
                if mode == "ON_DEMAND"
                else (shard or 0) * summary.get("OpenShardCount", 1)
            )
            items.append(
                Item(
                    "stream",
                    name,
                    "name starts with a stack of this copy, tags environment/project",
                    billable=True,
                    monthly_usd=None
                    if per_hour is None
                    else per_hour * self.prices.hours_per_month,
                    note=mode,
                )
            )
        return items

    def sns_topics(self) -> list[Item]:
        """Topics of this copy's stacks (the alert topic; an async endpoint's success and error
        topics): a stack that failed to delete leaves them. Free while idle."""
        sns, items = self.c.sns, []
        for topic in _pages(sns.list_topics, "Topics", token="NextToken"):
            arn = topic["TopicArn"]
            name = arn.rsplit(":", 1)[-1]
            if not name.startswith(self.n.stack_prefixes()):
                continue
            tags = {
                t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]
            }
            if self.n.owns_tags(tags):
                items.append(
                    Item(
                        "sns-topic",
                        arn,
                        "name starts with a stack of this copy, tags environment/project",
                        monthly_usd=0.0,
                    )
                )
        return items

    def buckets(self) -> list[Item]:
        s3, items = self.c.s3, []
        for bucket in s3.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            if not name.startswith(self.n.stack_prefixes(lower=True)):
                continue
            # ListBuckets is global: a copy of the same env in another region is not this one.
            location = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
            if (location or "us-east-1") != self.n.region:
                continue
            try:
                tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
            except Exception as err:  # noqa: BLE001
                if _error_code(err) != "NoSuchTagSet":
                    raise
                tags = {}
            if not self.n.owns_tags(tags):
                continue
            versions, size = 0, 0
            pages = s3.get_paginator("list_object_versions").paginate(
                Bucket=name, PaginationConfig={"PageSize": S3_PAGE}
            )
            for page in pages:
                versions += len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
                size += sum(v.get("Size", 0) for v in page.get("Versions", []))
            items.append(
                Item(
                    "bucket",
                    name,
                    "name starts with a stack of this copy, tags environment/project",
                    billable=versions > 0,
                    note=f"{versions} object versions, {size} bytes (storage billed per GB)",
                )
            )
        return items

    def log_groups(self) -> list[Item]:
        logs, items = self.c.logs, []
        exact = {layout.endpoint_log_group(e) for e in self.n.endpoints}
        prefixes = tuple(
            f"{root}{stack}"
            for stack in self.n.stack_prefixes()
            for root in (*layout.SERVICE_LOG_GROUP_PREFIXES, "")
        )
        for group in _pages(logs.describe_log_groups, "logGroups", token="nextToken"):
            name = group["logGroupName"]
            if name in exact:
                why = "run-time log group of an endpoint of this copy (SageMaker creates it)"
            elif name.startswith(prefixes):
                why = "log group named after a stack of this copy (run-time or retained)"
            else:
                continue
            items.append(
                Item(
                    "log-group",
                    name,
                    why,
                    billable=group.get("storedBytes", 0) > 0,
                    note=f"{group.get('storedBytes', 0)} bytes stored",
                )
            )
        for group in JOB_LOG_GROUPS:
            if not self.execution_ids:
                break
            try:
                streams = list(
                    _pages(
                        logs.describe_log_streams,
                        "logStreams",
                        token="nextToken",
                        logGroupName=group,
                    )
                )
            except Exception as err:  # noqa: BLE001
                if _error_code(err) == "ResourceNotFoundException":
                    continue
                raise
            for stream in streams:
                stream_name = stream["logStreamName"]
                if any(f"-{ex}-" in f"-{stream_name}" for ex in self.execution_ids):
                    items.append(
                        Item(
                            "log-stream",
                            f"{group}:{stream_name}",
                            "job of a pipeline execution of this copy (shared group kept)",
                            data={"group": group, "stream": stream_name},
                        )
                    )
        return items

    def kms_keys(self) -> list[Item]:
        kms, items = self.c.kms, []
        per_month = self._flat("kms_key_month")
        for key in _pages(kms.list_keys, "Keys", token="NextMarker"):
            meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            if meta.get("KeyManager") != "CUSTOMER":
                continue
            tags = {
                t["TagKey"]: t["TagValue"]
                for t in kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
            }
            if not self.n.owns_tags(tags):
                continue
            pending = meta.get("KeyState") == "PendingDeletion"
            items.append(
                Item(
                    "kms-key",
                    key["KeyId"],
                    "customer key with tags environment/project of this copy",
                    billable=not pending,
                    monthly_usd=0.0 if pending else per_month,
                    note=meta.get("Description", "") or meta.get("KeyState", ""),
                    data={"pending": pending, "deletion_date": str(meta.get("DeletionDate", ""))},
                )
            )
        return items

    # ------------------------------------------------------------------------------------------
    def all(self) -> tuple[list[Item], list[Item]]:
        """(items, problems): a service that cannot be listed is a problem, the rest goes on."""
        items: list[Item] = []
        problems: list[Item] = []
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("sagemaker:ListPipelineExecutions", self.pipeline_executions),
            ("sagemaker:ListEndpoints", self.endpoints),
            ("sagemaker:ListEndpointConfigs", self.endpoint_configs),
            ("sagemaker:ListModels", self.models),
            ("sagemaker:ListModelPackages", self.registry),
            ("sagemaker:ListExperiments", self.experiments),
            ("lakeformation:ListPermissions", self.lake_formation),
            ("glue:GetDatabase", self.glue),
            ("kinesis:ListStreams", self.streams),
            ("sns:ListTopics", self.sns_topics),
            ("s3:ListAllMyBuckets", self.buckets),
            ("logs:DescribeLogGroups", self.log_groups),
            ("kms:ListKeys", self.kms_keys),
        ]
        # A target account of a copy across accounts has no pipeline, registry or lake: those
        # listings are not made there (nor the permissions they need asked for).
        absent = {
            "sagemaker:ListPipelineExecutions": not self.n.pipeline,
            "sagemaker:ListModelPackages": not self.n.groups,
            "sagemaker:ListExperiments": not self.n.pipeline,
            "lakeformation:ListPermissions": not self.n.database,
            "glue:GetDatabase": not self.n.database,
        }
        for action, step in steps:
            if absent.get(action):
                continue
            try:
                found = step()
            except Exception as err:  # noqa: BLE001 - reported, the rest continues
                problems.append(
                    Item(
                        "unlisted",
                        action,
                        f"listing failed: {_error_code(err)}",
                        ok=False,
                        action=f"could not list ({_error_code(err)}): allow {action} and "
                        "the matching Describe/Delete actions, then run again",
                    )
                )
                continue
            items += found or []
        order = {kind: i for i, kind in enumerate(SWEEP_ORDER)}
        items.sort(key=lambda i: order[i.kind])
        return items, problems


class Sweeper:
    """Deletes items in SWEEP_ORDER; a failure is recorded on the item and the rest goes on."""

    def __init__(self, clients: Clients) -> None:
        self.c = clients
        self.skipped_configs: set[str] = set()
        self.skipped_models: set[str] = set()

    def delete(self, item: Item) -> None:
        handler = getattr(self, "_" + item.kind.replace("-", "_"))
        try:
            item.action = handler(item) or "deleted"
        except Exception as err:  # noqa: BLE001 - reported with what to do
            item.ok = False
            item.action = f"failed ({_error_code(err)}): {str(err)[:160]}; {_advice(item.kind)}"

    def _endpoint(self, item: Item) -> str | None:
        if item.data.get("status") in BUSY_ENDPOINT:
            self.skipped_configs.add(item.data.get("config", ""))
            item.ok = False
            return (
                f"skipped: endpoint is {item.data['status']} (SageMaker rejects deleting it "
                "now); run teardown again once it is InService or Failed"
            )
        self.c.sagemaker.delete_endpoint(EndpointName=item.name)
        item.billable = False
        return None

    def _endpoint_config(self, item: Item) -> str | None:
        if item.name in self.skipped_configs:
            self.skipped_models.update(item.data.get("models", []))
            item.ok = False
            return "skipped: its endpoint is still busy"
        self.c.sagemaker.delete_endpoint_config(EndpointConfigName=item.name)
        return None

    def _model(self, item: Item) -> str | None:
        if item.name in self.skipped_models:
            item.ok = False
            return "skipped: its endpoint is still busy"
        self.c.sagemaker.delete_model(ModelName=item.name)
        return None

    def _model_card(self, item: Item) -> None:
        self.c.sagemaker.delete_model_card(ModelCardName=item.name)

    def _model_package(self, item: Item) -> None:
        self.c.sagemaker.delete_model_package(ModelPackageName=item.name)

    def _model_package_group(self, item: Item) -> None:
        self.c.sagemaker.delete_model_package_group(ModelPackageGroupName=item.name)

    def _trial(self, item: Item) -> None:
        sm = self.c.sagemaker
        for tc in _pages(sm.list_trial_components, "TrialComponentSummaries", TrialName=item.name):
            sm.disassociate_trial_component(
                TrialComponentName=tc["TrialComponentName"], TrialName=item.name
            )
        sm.delete_trial(TrialName=item.name)

    def _experiment(self, item: Item) -> None:
        self.c.sagemaker.delete_experiment(ExperimentName=item.name)

    def _lake_formation_grant(self, item: Item) -> None:
        perm = item.data["perm"]
        self.c.lakeformation.revoke_permissions(
            Principal=perm["Principal"],
            Resource=perm["Resource"],
            Permissions=perm["Permissions"],
            PermissionsWithGrantOption=perm.get("PermissionsWithGrantOption", []),
        )

    def _lake_formation_registration(self, item: Item) -> None:
        self.c.lakeformation.deregister_resource(ResourceArn=item.name)

    def _glue_database(self, item: Item) -> None:
        self.c.glue.delete_database(Name=item.name)

    def _stream(self, item: Item) -> None:
        self.c.kinesis.delete_stream(StreamName=item.name, EnforceConsumerDeletion=True)
        item.billable = False

    def _sns_topic(self, item: Item) -> None:
        self.c.sns.delete_topic(TopicArn=item.name)

    def _bucket(self, item: Item) -> str:
        """Every version and delete marker, then the bucket. Lists the first page again after
        each batch: a marker into versions just deleted is not a safe place to resume."""
        s3, deleted = self.c.s3, 0
        while True:
            page = s3.list_object_versions(Bucket=item.name, MaxKeys=S3_PAGE)
            batch = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if not batch:
                break
            # DeleteObjects takes up to 1000 keys (S3 API reference).
            result = s3.delete_objects(
                Bucket=item.name, Delete={"Objects": batch[:S3_PAGE], "Quiet": True}
            )
            if result.get("Errors"):
                first = result["Errors"][0]
                raise RuntimeError(f"{len(result['Errors'])} versions not deleted: {first}")
            deleted += len(batch[:S3_PAGE])
        s3.delete_bucket(Bucket=item.name)
        item.billable = False
        return f"deleted ({deleted} object versions first)"

    def _log_stream(self, item: Item) -> None:
        self.c.logs.delete_log_stream(
            logGroupName=item.data["group"], logStreamName=item.data["stream"]
        )

    def _log_group(self, item: Item) -> None:
        self.c.logs.delete_log_group(logGroupName=item.name)
        item.billable = False

    def _kms_key(self, item: Item) -> str:
        if item.data.get("pending"):
            return (
                f"already pending deletion (until {item.data.get('deletion_date')}): nothing to do"
            )
        result = self.c.kms.schedule_key_deletion(
            KeyId=item.name, PendingWindowInDays=KMS_PENDING_WINDOW_DAYS
        )
        item.billable = False  # a key pending deletion is not billed
        return f"scheduled for deletion on {result.get('DeletionDate')}"

    def _unlisted(self, item: Item) -> None:
        raise RuntimeError(item.action)


def _advice(kind: str) -> str:
    return {
        "endpoint": "check the endpoint in the SageMaker console, then run teardown again",
        "bucket": "check the bucket policy and object lock, then run teardown again",
        "kms-key": "check the key policy allows kms:ScheduleKeyDeletion to this role",
        "model-package-group": "delete its remaining versions, then run teardown again",
    }.get(kind, "check the permissions of the role running teardown, then run again")
