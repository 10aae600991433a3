"""The AWS Well-Architected Machine Learning Lens, checked against the templates.

Best-practice ids: the lens renamed them from ``MLSEC-03`` style to ``MLSEC03-BP01`` style
(pillar + lifecycle phase 01-06 + practice; ``MLOE`` became ``MLOPS``, ``MLPER`` became
``MLPERF``). Sources: "Best practices by ML lifecycle" and "Data processing" (security) pages of
the Machine Learning Lens (docs.aws.amazon.com/wellarchitected/latest/machine-learning-lens/),
which show e.g. MLSEC03-BP01 Provide least privilege access (old MLSEC-03), MLSEC03-BP05 Keep
only relevant data (old MLSEC-07), MLSEC04-BP03 Protect against data poisoning threats (old
MLSEC-10), and the pages MLCOST04-BP12 Set up a budget and use resource tagging to track costs
(old MLCOST-20) and MLCOST06-BP01 Monitor usage and cost by ML activity (old MLCOST-27). The
other new ids here follow that same phase/position pattern from the old index.

Each row is PASS (every piece of evidence holds: a resource that exists and a property that
holds), FAIL (the template contradicts the practice; the evidence names where), or MANUAL (no
template can show it; the row carries the question a reviewer must ask).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labctl.review.assembly import Assembly, Resource, strings_in

PASS, FAIL, MANUAL = "PASS", "FAIL", "MANUAL"


@dataclass(frozen=True)
class Evidence:
    stack: str
    logical_id: str
    prop: str  # dotted path into Properties, e.g. DeploymentConfig.AutoRollbackConfiguration
    holds: bool
    note: str = ""
    contains: str = ""  # for a text property (a pipeline definition): the text that must occur

    def render(self) -> str:
        mark = "" if self.holds else "NOT "
        what = (
            f" {mark}contains {self.contains!r}"
            if self.contains
            else ("" if self.holds else " missing")
        )
        return f"{self.stack}/{self.logical_id}.{self.prop}{what}" + (
            f" ({self.note})" if self.note else ""
        )


@dataclass
class Row:
    id: str
    old_id: str
    pillar: str
    title: str
    status: str = MANUAL
    evidence: list[Evidence] = field(default_factory=list)
    question: str = ""


def get(props: Any, path: str) -> Any:
    """Properties at a dotted path (``A.B[0].C``); None when absent."""
    node = props
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(node, list) or index >= len(node):
                return None
            node = node[index]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def _flatten(value: Any) -> Any:
    """Fn::Join nodes joined into their string (tokens as ``<token>``), recursively."""
    if isinstance(value, dict):
        if "Fn::Join" in value and isinstance(value["Fn::Join"], list):
            sep, parts = value["Fn::Join"]
            return sep.join(p if isinstance(p, str) else "<token>" for p in map(_flatten, parts))
        return {k: _flatten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_flatten(v) for v in value]
    return value


def text_of(value: Any) -> str:
    """A property as text: its JSON (keys included) and every string in it, joins resolved."""
    if value is None:
        return ""
    flat = _flatten(value)
    return json.dumps(flat) + "\n" + "\n".join(strings_in(flat))


def pipeline_parameters(definition: Any) -> dict[str, str]:
    """Name -> default value of a SageMaker pipeline definition's parameters."""
    text = strings_in(_flatten(definition))
    found: dict[str, str] = {}
    for chunk in text:
        if '"Parameters"' not in chunk:
            continue
        try:
            body = json.loads(chunk.replace("<token>", "token"))
        except ValueError:
            continue
        for param in body.get("Parameters", []):
            if "DefaultValue" in param:
                found[param["Name"]] = str(param["DefaultValue"])
    return found


def _has(res: Resource, path: str, note: str = "") -> Evidence:
    value = get(res.properties, path)
    return Evidence(res.stack, res.logical_id, path, value not in (None, False, "", [], {}), note)


def _contains(res: Resource, path: str, needle: str, note: str = "") -> Evidence:
    return Evidence(
        res.stack, res.logical_id, path, needle in text_of(get(res.properties, path)), note, needle
    )


def _judge(row: Row, evidence: list[Evidence], question_if_none: str = "") -> Row:
    row.evidence = evidence
    if not evidence:
        row.status, row.question = MANUAL, question_if_none or row.question
    else:
        row.status = PASS if all(e.holds for e in evidence) else FAIL
    return row


def _lake_buckets(a: Assembly) -> list[Resource]:
    """Buckets that hold data (not the access-log buckets, which S3 cannot KMS-encrypt)."""
    targets = set()
    for b in a.of_type("AWS::S3::Bucket"):
        dest = get(b.properties, "LoggingConfiguration.DestinationBucketName")
        targets.update(a.resolve(b.stack, dest))
    return [b for b in a.of_type("AWS::S3::Bucket") if b.key not in targets]


def _endpoint_configs(a: Assembly) -> list[Resource]:
    return a.of_type("AWS::SageMaker::EndpointConfig")


def _pipelines(a: Assembly) -> list[Resource]:
    return a.of_type("AWS::SageMaker::Pipeline")


# -- checks -----------------------------------------------------------------------------------
def encryption_at_rest(a: Assembly) -> list[Evidence]:
    ev = [
        _has(
            b,
            (
                ""
                "BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID"
            ),
            "SSE-KMS",
        )
        for b in _lake_buckets(a)
    ]
    ev += [
        _has(s, "StreamEncryption.KeyId", "stream CMK") for s in a.of_type("AWS::Kinesis::Stream")
    ]
    ev += [_has(t, "KmsMasterKeyId") for t in a.of_type("AWS::SNS::Topic")]
    ev += [_has(g, "KmsKeyId") for g in a.of_type("AWS::Logs::LogGroup")]
    return ev


def endpoint_encryption(a: Assembly) -> list[Evidence]:
    ev = []
    for c in _endpoint_configs(a):
        serverless = any(
            "ServerlessConfig" in v for v in c.properties.get("ProductionVariants", [])
        )
        if not serverless:  # serverless endpoints have no ML storage volume to encrypt
            ev.append(_has(c, "KmsKeyId", "ML storage volume"))
        if get(c.properties, "DataCaptureConfig.EnableCapture"):
            ev.append(_has(c, "DataCaptureConfig.KmsKeyId", "captured requests"))
    for p in _pipelines(a):
        ev.append(_contains(p, "PipelineDefinition", '"VolumeKmsKeyId"', "job volumes"))
    return ev


def least_privilege(a: Assembly) -> list[Evidence]:
    ev = []
    for pol in a.of_type("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        statements = get(pol.properties, "PolicyDocument.Statement") or []
        star = [
            s for s in statements if s.get("Effect") == "Allow" and s.get("Action") in ("*", ["*"])
        ]
        admin = [
            s for s in statements if any(str(x).endswith(":*") for x in _list(s.get("Action")))
        ]
        ev.append(
            Evidence(
                pol.stack,
                pol.logical_id,
                "PolicyDocument.Statement",
                not star and not admin,
                "no Action '*' or 'service:*'",
            )
        )
    return ev


def bucket_guardrails(a: Assembly) -> list[Evidence]:
    ev = []
    policies = {}
    for p in a.of_type("AWS::S3::BucketPolicy"):
        for key in a.resolve(p.stack, p.properties.get("Bucket")):
            policies[key] = p
    for b in a.of_type("AWS::S3::Bucket"):
        ev.append(
            _has(b, "PublicAccessBlockConfiguration.BlockPublicPolicy", "Block Public Access")
        )
        pol = policies.get(b.key)
        if pol is None:
            ev.append(Evidence(b.stack, b.logical_id, "BucketPolicy", False, "no bucket policy"))
        else:
            ev.append(_contains(pol, "PolicyDocument", "aws:SecureTransport", "TLS only"))
    return ev


def _serverless_models(a: Assembly) -> set[tuple[str, str]]:
    """Models hosted on serverless endpoints: SageMaker supports neither network isolation nor
    VPC configuration nor data capture there (SageMaker developer guide, "Deploy models with
    Amazon SageMaker Serverless Inference", feature exclusions)."""
    found: set[tuple[str, str]] = set()
    for c in _endpoint_configs(a):
        for v in c.properties.get("ProductionVariants", []):
            if "ServerlessConfig" in v:
                found.update(a.resolve(c.stack, v.get("ModelName")))
    return found


def network_isolation(a: Assembly) -> list[Evidence]:
    serverless = _serverless_models(a)
    ev = [
        _has(m, "EnableNetworkIsolation")
        for m in a.of_type("AWS::SageMaker::Model")
        if m.key not in serverless
    ]
    for p in _pipelines(a):
        ev.append(
            _contains(p, "PipelineDefinition", '"EnableNetworkIsolation": true', "training jobs")
        )
    return ev


def inter_node(a: Assembly) -> list[Evidence]:
    return [
        _contains(p, "PipelineDefinition", '"EnableInterContainerTrafficEncryption": true')
        for p in _pipelines(a)
    ]


def restricted_consumers(a: Assembly) -> list[Evidence]:
    ev = []
    names = {e.properties.get("EndpointName") for e in a.of_type("AWS::SageMaker::Endpoint")}
    for pol in a.of_type("AWS::IAM::ManagedPolicy"):
        statements = get(pol.properties, "PolicyDocument.Statement") or []
        if not any("sagemaker:InvokeEndpoint" in _list(s.get("Action")) for s in statements):
            continue
        scoped = all(
            isinstance(s.get("Resource"), str)
            and any(str(s["Resource"]).endswith(f"endpoint/{n}") for n in names)
            for s in statements
        )
        ev.append(
            Evidence(
                pol.stack,
                pol.logical_id,
                "PolicyDocument.Statement[0].Resource",
                scoped,
                "invoke on the one endpoint ARN",
            )
        )
    return ev


def _list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value or [])


def rollback(a: Assembly) -> list[Evidence]:
    ev = []
    for e in a.of_type("AWS::SageMaker::Endpoint"):
        ev.append(_has(e, "DeploymentConfig.AutoRollbackConfiguration.Alarms", "alarms roll back"))
        ev.append(
            _has(
                e,
                "DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.Type",
                "blue/green",
            )
        )
    return ev


def autoscaling(a: Assembly) -> list[Evidence]:
    ev = []
    for t in a.of_type("AWS::ApplicationAutoScaling::ScalableTarget"):
        if "sagemaker" not in str(t.properties.get("ServiceNamespace", "")):
            continue
        holds = (t.properties.get("MaxCapacity") or 0) > (t.properties.get("MinCapacity") or 0)
        ev.append(
            Evidence(
                t.stack,
                t.logical_id,
                "MaxCapacity",
                holds,
                f"{t.properties.get('MinCapacity')}-{t.properties.get('MaxCapacity')} instances",
            )
        )
    return [e for e in ev if "Staging" not in e.stack] or ev


def versioned_models(a: Assembly) -> list[Evidence]:
    ev = [
        _contains(
            m,
            "PrimaryContainer.ModelPackageName",
            "model-package/",
            "a registered, versioned package",
        )
        for m in a.of_type("AWS::SageMaker::Model")
        if "PrimaryContainer" in m.properties
    ]
    ev += [
        _has(
            g,
            "ModelPackageGroupName",
            f"versions kept in the registry, DeletionPolicy {g.deletion_policy}",
        )
        for g in a.of_type("AWS::SageMaker::ModelPackageGroup")
    ]
    return ev


def exists(types: str, prop: str, note: str = "") -> Callable[[Assembly], list[Evidence]]:
    def check(a: Assembly) -> list[Evidence]:
        return [_has(r, prop, note) for r in a.of_type(*types.split(","))]

    return check


def definition_has(needle: str, note: str) -> Callable[[Assembly], list[Evidence]]:
    def check(a: Assembly) -> list[Evidence]:
        return [_contains(p, "PipelineDefinition", needle, note) for p in _pipelines(a)]

    return check


def deploys_serving(a: Assembly) -> list[Evidence]:
    ev = []
    for p in a.of_type("AWS::CodePipeline::Pipeline"):
        for i, stage in enumerate(p.properties.get("Stages", [])):
            for j, action in enumerate(stage.get("Actions", [])):
                if action.get("ActionTypeId", {}).get("Provider") == "CloudFormation":
                    ev.append(
                        _has(
                            p,
                            f"Stages[{i}].Actions[{j}].Configuration.StackName",
                            str(get(action, "Configuration.StackName")),
                        )
                    )
    return ev


def retrain_rule(a: Assembly) -> list[Evidence]:
    return [
        _contains(r, "EventPattern", "RetrainRequested", "retrain on request, not on a timer")
        for r in a.of_type("AWS::Events::Rule")
        if "RetrainRequested" in text_of(r.properties.get("EventPattern"))
    ]


def dataset_rule(a: Assembly) -> list[Evidence]:
    return [
        _contains(r, "EventPattern", "Object Created", "training starts when a dataset lands")
        for r in a.of_type("AWS::Events::Rule")
        if "Object Created" in text_of(r.properties.get("EventPattern"))
    ]


def budget_and_tags(a: Assembly) -> list[Evidence]:
    ev = [
        _has(b, "Budget.BudgetLimit.Amount", "monthly limit")
        for b in a.of_type("AWS::Budgets::Budget")
    ]
    for r in a.of_type(
        "AWS::SageMaker::Endpoint", "AWS::SageMaker::Pipeline", "AWS::Kinesis::Stream"
    ):
        ev.append(_contains(r, "Tags", "cost-center", "cost allocation tag"))
    return ev


def lake_versioning(a: Assembly) -> list[Evidence]:
    return [
        _contains(b, "VersioningConfiguration.Status", "Enabled")
        for b in _lake_buckets(a)
        if "Lake" in b.path
    ]


def raw_expiry(a: Assembly) -> list[Evidence]:
    ev = []
    for b in _lake_buckets(a):
        rules = get(b.properties, "LifecycleConfiguration.Rules") or []
        for i, rule in enumerate(rules):
            if "RawBucket" in b.path and "ExpirationInDays" in rule:
                ev.append(
                    _has(
                        b,
                        f"LifecycleConfiguration.Rules[{i}].ExpirationInDays",
                        "raw events expire",
                    )
                )
    return ev


def capture(a: Assembly) -> list[Evidence]:
    ev = []
    for c in _endpoint_configs(a):
        serverless = any(
            "ServerlessConfig" in v for v in c.properties.get("ProductionVariants", [])
        )
        note = "serverless endpoints cannot capture data" if serverless else "requests captured"
        ev.append(_has(c, "DataCaptureConfig.EnableCapture", note))
    return ev


def same_serving_template(a: Assembly) -> list[Evidence]:
    stacks = [
        s for s in a.stacks if any(r.type == "AWS::SageMaker::Endpoint" for r in s.resources())
    ]
    if len(stacks) < 2:
        return []
    base = {(r.logical_id, r.type) for r in stacks[0].resources()}
    ev = []
    for s in stacks[1:]:
        same = {(r.logical_id, r.type) for r in s.resources()} == base
        endpoint = next(r for r in s.resources() if r.type == "AWS::SageMaker::Endpoint")
        ev.append(
            Evidence(
                s.name,
                endpoint.logical_id,
                "EndpointConfigName",
                same,
                f"same resources as {stacks[0].name}",
            )
        )
    return ev


def on_demand_stream(a: Assembly) -> list[Evidence]:
    return [
        _contains(s, "StreamModeDetails.StreamMode", "ON_DEMAND", "no idle shards")
        for s in a.of_type("AWS::Kinesis::Stream")
        if get(s.properties, "StreamModeDetails.StreamMode") == "ON_DEMAND"
    ]


def multi_model(a: Assembly) -> list[Evidence]:
    return [
        _contains(m, "PrimaryContainer.Mode", "MultiModel")
        for m in a.of_type("AWS::SageMaker::Model")
        if get(m.properties, "PrimaryContainer.Mode") == "MultiModel"
    ]


def monitoring(a: Assembly) -> list[Evidence]:
    found = []
    for r in a.resources():
        if r.type in (
            "AWS::SageMaker::MonitoringSchedule",
            "AWS::SageMaker::DataQualityJobDefinition",
        ):
            found.append(
                Evidence(
                    r.stack,
                    r.logical_id,
                    "MonitoringScheduleName" if "Schedule" in r.type else "JobDefinitionName",
                    True,
                )
            )
        elif r.type in ("AWS::Events::Rule", "AWS::Scheduler::Schedule") and re.search(
            r"Monitor|Drift", r.path
        ):
            # Rules that react to events (a job finished, an alarm fired) are not the schedule;
            # an Events rule counts only when it is a scheduled one.
            if r.type == "AWS::Events::Rule" and "ScheduleExpression" not in r.properties:
                continue
            found.append(_has(r, "ScheduleExpression", "drift check schedule"))
    return found


# (new id, old id, pillar, title, check, question when MANUAL / nothing to show)
LENS: list[tuple[str, str, str, str, Callable[[Assembly], list[Evidence]] | None, str]] = [
    (
        "MLSEC01-BP01",
        "MLSEC-01",
        "Security",
        "Validate ML data permissions, privacy, software, and license terms",
        None,
        (
            "Are the Digits data, XGBoost and scikit-learn licences and the container images "
            "approved for this use?"
        ),
    ),
    (
        "MLSEC02-BP01",
        "MLSEC-02",
        "Security",
        "Design data encryption and obfuscation (data stores)",
        encryption_at_rest,
        "",
    ),
    (
        "MLSEC02-BP01",
        "MLSEC-02",
        "Security",
        "Design data encryption and obfuscation (endpoint volume, capture, jobs)",
        endpoint_encryption,
        "",
    ),
    ("MLSEC03-BP01", "MLSEC-03", "Security", "Provide least privilege access", least_privilege, ""),
    (
        "MLSEC03-BP02",
        "MLSEC-04",
        "Security",
        "Secure data and modeling environment",
        bucket_guardrails,
        "",
    ),
    (
        "MLSEC03-BP04",
        "MLSEC-06",
        "Security",
        "Enforce data lineage",
        None,
        (
            "Is SageMaker ML Lineage Tracking or the registry metadata enough to trace a "
            "prediction back to its raw events?"
        ),
    ),
    (
        "MLSEC03-BP05",
        "MLSEC-07",
        "Security",
        "Keep only relevant data",
        raw_expiry,
        (
            "The raw zone has no expiry in this profile: how long must raw events be kept, and "
            "who deletes them?"
        ),
    ),
    (
        "MLSEC04-BP01",
        "MLSEC-08",
        "Security",
        "Secure governed ML environment",
        network_isolation,
        "",
    ),
    (
        "MLSEC04-BP02",
        "MLSEC-09",
        "Security",
        "Secure inter-node cluster communications",
        inter_node,
        "",
    ),
    (
        "MLSEC04-BP03",
        "MLSEC-10",
        "Security",
        "Protect against data poisoning threats",
        None,
        (
            "Who can write to the stream and the curated zone, and is a poisoned batch detected "
            "before it trains a model?"
        ),
    ),
    (
        "MLSEC05-BP01",
        "MLSEC-11",
        "Security",
        "Protect against adversarial and malicious activities",
        None,
        (
            "Are inference inputs validated and invocation rates limited for the callers holding "
            "the invoke policy?"
        ),
    ),
    (
        "MLSEC06-BP01",
        "MLSEC-12",
        "Security",
        "Restrict access to intended legitimate consumers",
        restricted_consumers,
        "",
    ),
    (
        "MLSEC06-BP02",
        "MLSEC-13",
        "Security",
        "Monitor human interactions with data for anomalous activity",
        None,
        (
            "Is CloudTrail logging S3 data events for the lake buckets in this account, and who "
            "reviews them?"
        ),
    ),
    (
        "MLREL02-BP01",
        "MLREL-01",
        "Reliability",
        "Use APIs to abstract change from model consuming applications",
        exists("AWS::SageMaker::Endpoint", "EndpointName", "stable endpoint name"),
        "",
    ),
    (
        "MLREL03-BP01",
        "MLREL-03",
        "Reliability",
        "Use a data catalog",
        exists("AWS::Glue::Table", "TableInput.StorageDescriptor.Columns", "schema"),
        "",
    ),
    (
        "MLREL03-BP02",
        "MLREL-04",
        "Reliability",
        "Use a data pipeline",
        exists(
            "AWS::KinesisFirehose::DeliveryStream",
            "ExtendedS3DestinationConfiguration.BucketARN",
            "stream to raw zone",
        ),
        "",
    ),
    ("MLREL03-BP03", "MLREL-05", "Reliability", "Automate managing data changes", dataset_rule, ""),
    (
        "MLREL04-BP01",
        "MLREL-06",
        "Reliability",
        "Enable CI/CD/CT automation with traceability",
        exists("AWS::CodePipeline::Pipeline", "Stages", "source > build > deploy"),
        "",
    ),
    (
        "MLREL04-BP03",
        "MLREL-08",
        "Reliability",
        "Ensure model validation with relevant data",
        definition_has('"Type": "Condition"', "quality gate"),
        "",
    ),
    (
        "MLREL05-BP01",
        "MLREL-10",
        "Reliability",
        "Automate endpoint changes through a pipeline",
        deploys_serving,
        "",
    ),
    (
        "MLREL05-BP02",
        "MLREL-11",
        "Reliability",
        "Use an appropriate deployment and testing strategy",
        rollback,
        "",
    ),
    (
        "MLREL06-BP01",
        "MLREL-12",
        "Reliability",
        "Allow automatic scaling of the model endpoint",
        autoscaling,
        "",
    ),
    (
        "MLREL06-BP02",
        "MLREL-13",
        "Reliability",
        "Ensure a recoverable endpoint with a managed version control strategy",
        versioned_models,
        "",
    ),
    (
        "MLCOST04-BP06",
        "MLCOST-14",
        "Cost optimization",
        "Use managed training capabilities",
        definition_has('"Type": "Tuning"', "SageMaker tuning jobs"),
        "",
    ),
    (
        "MLCOST04-BP08",
        "MLCOST-16",
        "Cost optimization",
        "Stop resources when not in use",
        None,
        (
            "Is the staging endpoint deleted once production is promoted, and is the lab torn "
            "down after use?"
        ),
    ),
    (
        "MLCOST04-BP11",
        "MLCOST-19",
        "Cost optimization",
        "Use hyperparameter optimization technologies",
        definition_has('"Bayesian"', "Bayesian tuning"),
        "",
    ),
    (
        "MLCOST04-BP12",
        "MLCOST-20",
        "Cost optimization",
        "Set up a budget and use resource tagging to track costs",
        budget_and_tags,
        "",
    ),
    (
        "MLCOST05-BP01",
        "MLCOST-24",
        "Cost optimization",
        "Use appropriate deployment option",
        None,
        (
            "Does the expected traffic justify an always-on real-time endpoint rather than "
            "serverless or batch?"
        ),
    ),
    (
        "MLCOST05-BP03",
        "MLCOST-26",
        "Cost optimization",
        "Right-size the model hosting instance fleet",
        autoscaling,
        "",
    ),
    (
        "MLOPS02-BP04",
        "MLOE-07",
        "Operational excellence",
        "Establish a lineage tracker system",
        exists("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupName", "model registry"),
        "",
    ),
    (
        "MLOPS03-BP02",
        "MLOE-11",
        "Operational excellence",
        "Create tracking and version control mechanisms",
        lake_versioning,
        "",
    ),
    (
        "MLOPS04-BP01",
        "MLOE-12",
        "Operational excellence",
        "Automate operations through MLOps and CI/CD",
        exists("AWS::SageMaker::Pipeline", "PipelineDefinition", "training pipeline as code"),
        "",
    ),
    (
        "MLOPS05-BP01",
        "MLOE-14",
        "Operational excellence",
        "Establish deployment environment metrics",
        exists("AWS::CloudWatch::Alarm", "AlarmActions", "alarm notifies"),
        "",
    ),
    (
        "MLOPS06-BP01",
        "MLOE-15",
        "Operational excellence",
        "Enable model observability and tracking",
        capture,
        "",
    ),
    (
        "MLOPS06-BP02",
        "MLOE-16",
        "Operational excellence",
        "Synchronize architecture and configuration, and check for skew across environments",
        same_serving_template,
        "",
    ),
    (
        "MLPERF04-BP01",
        "MLPER-05",
        "Performance efficiency",
        "Optimize training and inference instance types",
        None,
        (
            "Were the training and hosting instance types chosen from a load test (latency at "
            "p99 vs cost)?"
        ),
    ),
    (
        "MLPERF04-BP03",
        "MLPER-07",
        "Performance efficiency",
        "Establish a model performance evaluation pipeline",
        definition_has("Evaluate", "evaluation step"),
        "",
    ),
    (
        "MLPERF06-BP02",
        "MLPER-14",
        "Performance efficiency",
        "Evaluate data drift",
        monitoring,
        (
            "No drift-monitoring resource is in these templates: where does drift detection on "
            "the captured data run?"
        ),
    ),
    (
        "MLPERF06-BP04",
        "MLPER-16",
        "Performance efficiency",
        "Establish an automated re-training framework",
        retrain_rule,
        "",
    ),
    (
        "MLSUS03-BP01",
        "MLSUS-04",
        "Sustainability",
        "Minimize idle resources",
        on_demand_stream,
        (
            "The stream is provisioned: do the shards match the real event rate when the "
            "platform is idle?"
        ),
    ),
    (
        "MLSUS03-BP02",
        "MLSUS-05",
        "Sustainability",
        "Implement data lifecycle policies aligned with sustainability goals",
        raw_expiry,
        (
            "No lifecycle expiry on the raw zone in this profile: which data can be archived or "
            "deleted, and when?"
        ),
    ),
    (
        "MLSUS05-BP04",
        "MLSUS-14",
        "Sustainability",
        "Deploy multiple models behind a single endpoint",
        multi_model,
        (
            "One model per endpoint here: could several models share one endpoint (multi-model) "
            "to cut idle capacity?"
        ),
    ),
    ("MLSUS06-BP02", "MLSUS-16", "Sustainability", "Retrain only when necessary", retrain_rule, ""),
]


def evaluate(assembly: Assembly) -> list[Row]:
    rows = []
    for new, old, pillar, title, check, question in LENS:
        row = Row(new, old, pillar, title, question=question)
        rows.append(_judge(row, check(assembly), question) if check else row)
    return rows


def counts(rows: list[Row]) -> dict[str, int]:
    return {s: sum(1 for r in rows if r.status == s) for s in (PASS, FAIL, MANUAL)}
