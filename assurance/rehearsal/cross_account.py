"""The rehearsal across accounts (issue 17): each call that crosses an account boundary must be
allowed by the caller's identity policy (its template; within the caller's permissions
boundary, if it has one: ``authority.evaluate``) *and* the resource's policy (the other
account's template): "Cross-account policy evaluation logic", IAM User Guide
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).

Flows come from three places: every concrete (action, resource) a role's identity policy allows
on a resource of another account of the copy (the pipeline role assuming the target action
roles, the smoke build assuming the staging smoke role, the action roles reading the pipeline
artifacts), every rule target on another account's event bus (production forwarding the
monitoring alarms to tooling's bus: the target role's PutEvents against the bus policy), and
the release the target accounts serve (the endpoint roles read the model archives and decrypt
them through S3; the deployment roles describe the package versions and create models from
them). Resource policies are looked up by
ARN: bucket policies, key policies, model package group policies, role trust policies and event
bus policies. Also checked: tooling resource policies grant other accounts reads only
(``infra/accounts.READ_ONLY``), no statement names a principal twice, every model package a
model names is an ARN, and no template reads an export of another account.
Standard library (and the policy evaluator ``authority`` uses) only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from assurance.rehearsal.assembly import SUFFIX, Assembly
from assurance.rehearsal.authority import (
    Finding,
    boundary_note,
    evaluate,
    is_allowed,
    requested_region,
    role_policies,
)
from core.accounts import DOC_BUS, READ_ONLY, cross_account_references

DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html"
DOC_GROUP = "https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-deploy-xaccount.html"
DOC_IMPORT = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-importvalue.html"
PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[^/]+/\d+$")


@dataclass(frozen=True)
class Flow:
    """One call across accounts: ``role`` (``<stack>/<logical id>``) does ``action`` on
    ``resource``, with ``context`` (condition keys the call carries)."""

    role: str
    action: str
    resource: str
    why: str
    context: tuple[tuple[str, str], ...] = ()


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# -- resource policies ----------------------------------------------------------------------------


def _statements(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, dict) and "Statement" in doc:
        return [s for s in _as_list(doc["Statement"]) if isinstance(s, dict)]
    return [doc] if isinstance(doc, dict) else []


def resource_policy(a: Assembly, arn: str) -> list[dict[str, Any]]:
    """The resource-policy statements that govern ``arn`` (none if it has no policy)."""
    service = arn.split(":")[2] if arn.startswith("arn:") else ""
    found: list[dict[str, Any]] = []
    if service == "s3":
        bucket = arn.split(":::", 1)[1].split("/", 1)[0]
        for pol in a.resources(type_="AWS::S3::BucketPolicy"):
            if a.resolve(pol.stack, pol.properties.get("Bucket")) == bucket:
                found += _statements(a.resolve(pol.stack, pol.properties["PolicyDocument"]))
    elif service == "kms":
        for key in a.resources(type_="AWS::KMS::Key"):
            if a.get_att(key.stack, key.logical_id, "Arn") == arn:
                found += _statements(a.resolve(key.stack, key.properties.get("KeyPolicy", {})))
    elif service == "iam":
        for role in a.resources(type_="AWS::IAM::Role"):
            if a.get_att(role.stack, role.logical_id, "Arn") == arn:
                doc = role.properties.get("AssumeRolePolicyDocument", {})
                found += _statements(a.resolve(role.stack, doc))
    elif service == "sagemaker":
        match = re.search(r":model-package(?:-group)?/([^/]+)", arn)
        group = match.group(1).lower() if match else ""
        for res in a.resources(type_="AWS::SageMaker::ModelPackageGroup"):
            props = a.resolve(res.stack, res.properties)
            if str(props.get("ModelPackageGroupName", "")).lower() == group and (
                a.account_of(res.stack) == _account(arn)
            ):
                found += _statements(props.get("ModelPackageGroupPolicy", {}))
    elif service == "events":
        for res in a.resources(type_="AWS::Events::EventBusPolicy"):
            props = a.resolve(res.stack, res.properties)
            bus = props.get("EventBusName", "default")
            if a.account_of(res.stack) == _account(arn) and arn.endswith(f"event-bus/{bus}"):
                found += _statements(props.get("Statement", {}))
    return found


def _principal_matches(statement: dict[str, Any], role_arn: str, account: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    names = [str(p) for p in _as_list(principal.get("AWS", []))]
    root = f"arn:{role_arn.split(':')[1]}:iam::{account}:root"
    return any(n in ("*", role_arn, root, account) for n in names)


def resource_allows(
    statements: Iterable[dict[str, Any]],
    role_arn: str,
    action: str,
    resource: str,
    context: dict[str, str],
) -> bool:
    """Resource-policy evaluation for a principal of another account: explicit Deny > Allow.
    A statement applies when its Principal names the role, its account root, or everyone."""
    account = _account(role_arn)
    mine = [
        {k: v for k, v in s.items() if k not in ("Principal", "NotPrincipal")}
        for s in statements
        if _principal_matches(s, role_arn, account)
    ]
    return is_allowed([{"Version": "2012-10-17", "Statement": mine}], action, resource, context)


# -- flows ----------------------------------------------------------------------------------------


def owner(a: Assembly, arn: str) -> str:
    """The account that owns ``arn``: its account field, or for an S3 ARN (which has none)
    the account of the stack that creates the bucket ("" when no stack of the copy does)."""
    if arn.startswith("arn:") and arn.split(":")[2] == "s3":
        bucket = arn.split(":::", 1)[1].split("/", 1)[0]
        for res in a.resources(type_="AWS::S3::Bucket"):
            if a.name_of(res.stack, res.logical_id) == bucket:
                return a.account_of(res.stack)
        return ""
    return _account(arn)


def identity_flows(a: Assembly) -> list[Flow]:
    """Every concrete action a role's identity policy allows on a concrete resource owned by
    another account of this copy."""
    accounts = {a.account, *a.stack_accounts.values()}
    flows = []
    for key, entry in role_policies(a).items():
        mine = a.account_of(entry.role.stack)
        for doc in entry.documents:
            for st in _statements(doc):
                if st.get("Effect") != "Allow":
                    continue
                for resource in map(str, _as_list(st.get("Resource", []))):
                    other = owner(a, resource)
                    if other == mine or other not in accounts:
                        continue
                    target = resource
                    if target.startswith("arn:aws:s3:::") and target.endswith("/*"):
                        # objects under a prefix: one of them
                        target = target[:-1] + f"{SUFFIX}/object"
                    if "*" in target:
                        continue
                    for action in map(str, _as_list(st.get("Action", []))):
                        if "*" in action:
                            continue
                        context: tuple[tuple[str, str], ...] = ()
                        if action.startswith("kms:"):
                            context = (("kms:ViaService", f"s3.{a.region}.amazonaws.com"),)
                        if action == "s3:ListBucket":
                            context = _listed_prefix(st)
                        flows.append(Flow(key, action, target, "identity policy", context))
    return flows


def _listed_prefix(statement: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """A listing the statement allows only under ``s3:prefix`` patterns: one such prefix (a
    listing without a prefix would be refused by the identity policy itself)."""
    for operator, values in statement.get("Condition", {}).items():
        for key, patterns in values.items():
            if key.lower() == "s3:prefix" and operator.startswith("String"):
                first = str(_as_list(patterns)[-1])
                return (("s3:prefix", first.replace("*", f"{SUFFIX}/")),)
    return ()


# Model Monitor job definitions: where each reads its baselines and ground truth (CloudFormation
# AWS::SageMaker::*JobDefinition). The model-quality job lists the ground truth's hour folders
# and merges them ("Ingest Ground Truth labels and merge them with predictions",
# https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html); the
# execution role reads them with s3:ListBucket and s3:GetObject ("CreateProcessingJob API:
# execution role permissions",
# https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createprocessingjob-perms).
DOC_MONITOR_INPUTS = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html"
)
MONITOR_KINDS = ("DataQuality", "ModelQuality", "ModelExplainability", "ModelBias")


def _monitor_inputs(kind: str, props: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(files, prefixes) a monitoring job definition of ``kind`` reads from S3."""
    files = []
    baseline = props.get(f"{kind}BaselineConfig", {})
    for part in ("ConstraintsResource", "StatisticsResource"):
        if baseline.get(part, {}).get("S3Uri"):
            files.append(str(baseline[part]["S3Uri"]))
    config_uri = props.get(f"{kind}AppSpecification", {}).get("ConfigUri")
    if config_uri:
        files.append(str(config_uri))
    truth = props.get(f"{kind}JobInput", {}).get("GroundTruthS3Input", {}).get("S3Uri")
    return files, [str(truth)] if truth else []


def model_monitor_flows(a: Assembly) -> list[Flow]:
    """What Model Monitor's executions read in another account of the copy (issue 25: the
    baselines and ground truth in tooling), from the job definitions themselves, so a role
    whose identity policy forgets them is named too: objects, the ground truth's hour listing,
    and the bucket key's Decrypt through S3."""
    flows = []
    via_s3 = (("kms:ViaService", f"s3.{a.region}.amazonaws.com"),)
    for kind in MONITOR_KINDS:
        for res in a.resources(type_=f"AWS::SageMaker::{kind}JobDefinition"):
            props = a.resolve(res.stack, res.properties)
            role = _role_key(a, str(props.get("RoleArn", "")))
            here = a.account_of(res.stack)
            files, prefixes = _monitor_inputs(kind, props)
            for uri in files + prefixes:
                bucket, _, path = uri.removeprefix("s3://").partition("/")
                path = path.strip("/")
                if owner(a, f"arn:aws:s3:::{bucket}") in ("", here):
                    continue
                why = f"{res.key} reads {uri}"
                if uri in prefixes:
                    hour = f"{path}/2026/12/01/00"
                    flows.append(
                        Flow(role, "s3:GetObject", f"arn:aws:s3:::{bucket}/{hour}/{SUFFIX}", why)
                    )
                    flows.append(
                        Flow(
                            role,
                            "s3:ListBucket",
                            f"arn:aws:s3:::{bucket}",
                            why,
                            (("s3:prefix", f"{hour}/"),),
                        )
                    )
                else:
                    flows.append(Flow(role, "s3:GetObject", f"arn:aws:s3:::{bucket}/{path}", why))
                    # a file input is listed too, by its own key (SageMaker lists S3 inputs
                    # with the job's role: DOC_MONITOR_INPUTS)
                    flows.append(
                        Flow(
                            role,
                            "s3:ListBucket",
                            f"arn:aws:s3:::{bucket}",
                            f"{why} (listed as an input)",
                            (("s3:prefix", path),),
                        )
                    )
                key = bucket_key(a, bucket)
                if key:
                    flows.append(Flow(role, "kms:Decrypt", key, f"{why} (SSE-KMS)", via_s3))
    return flows


def pipeline_flows(a: Assembly) -> list[Flow]:
    """A cross-account action role reads its input artifacts from the pipeline's artifact
    store (bucket and key): CodePipeline, "Create a pipeline that uses resources from another
    AWS account"."""
    flows = []
    for pipeline in a.resources(type_="AWS::CodePipeline::Pipeline"):
        props = a.resolve(pipeline.stack, pipeline.properties)
        store = props.get("ArtifactStore", {})
        bucket, key = store.get("Location"), store.get("EncryptionKey", {}).get("Id")
        for stage in props.get("Stages", []):
            for action in stage.get("Actions", []):
                role = str(action.get("RoleArn", ""))
                if _account(role) in ("", a.account_of(pipeline.stack)):
                    continue
                key_ = _role_key(a, role)
                why = f"{stage['Name']}/{action['Name']} reads its input artifact"
                flows.append(
                    Flow(key_, "s3:GetObject", f"arn:aws:s3:::{bucket}/{SUFFIX}/object", why)
                )
                if key:
                    context = (("kms:ViaService", f"s3.{a.region}.amazonaws.com"),)
                    flows.append(Flow(key_, "kms:Decrypt", str(key), why, context))
    return flows


def forward_flows(a: Assembly) -> list[Flow]:
    """A rule whose target is another account's event bus puts each matched event there with
    the target's role: the role's identity policy must allow events:PutEvents on that bus and
    the bus's policy must admit the role (EventBridge User Guide, "Sending and receiving events
    between AWS accounts", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html;
    production forwards the monitoring alarms to tooling's retrain bridge). Derived from the
    rule, not from the role's policy, so a role whose policy lost the grant is still checked."""
    flows = []
    for rule in a.resources(type_="AWS::Events::Rule"):
        mine = a.account_of(rule.stack)
        for target in a.resolve(rule.stack, rule.properties.get("Targets", [])):
            bus = str(target.get("Arn", ""))
            if ":event-bus/" not in bus or _account(bus) in ("", mine):
                continue
            role = _role_key(a, str(target.get("RoleArn", "")))
            why = f"{rule.key} forwards matched events to {bus}"
            flows.append(Flow(role, "events:PutEvents", bus, why))
    return flows


# The release's artifacts *are* the lake's artifacts bucket and key: the delivery Build passes
# the lake's ``ArtifactsBucketArn`` and ``KeyArn`` outputs to `labctl release resolve`
# (infra/delivery/construct.py); infra/data_lake/refs.py exports them as ``<env>-lake-...``.
LAKE_EXPORTS = {"bucket_arn": "-lake-artifacts-bucket-arn", "key_arn": "-lake-key-arn"}


def bind_release(a: Assembly, release: dict[str, Any] | None) -> None:
    """Give the lake's key and artifacts bucket the physical ids the release names, so the
    flows to them meet the policies the lake template writes (the rehearsal's stand-ins for
    generated ids cannot match a deployed key's id). Single-account copies: nothing."""
    artifacts = (release or {}).get("artifacts")
    if not artifacts or not a.stack_accounts:
        return
    for field_, suffix in LAKE_EXPORTS.items():
        for name in a.exports():
            if name.endswith(suffix) and artifacts.get(field_):
                a.bind_export(name, str(artifacts[field_]))


def release_flows(a: Assembly, release: dict[str, Any] | None) -> list[Flow]:
    """What serving a release in a target account takes from tooling."""
    if not release or "artifacts" not in release:
        return []
    deployers = _deployment_roles(a)
    flows = []
    key_arn = release["artifacts"]["key_arn"]
    for model in a.resources(type_="AWS::SageMaker::Model"):
        if a.account_of(model.stack) == a.account:
            continue
        props = a.resolve(model.stack, model.properties)
        containers = [props.get("PrimaryContainer", {}), *props.get("Containers", [])]
        role = _role_key(a, str(props.get("ExecutionRoleArn", "")))
        for container in containers:
            arn = container.get("ModelPackageName")
            entry = next(
                (
                    e
                    for e in release.values()
                    if arn and isinstance(e, dict) and e.get("package_arn") == arn
                ),
                None,
            )  # a container without a package (multi_model's ModelDataUrl) matches no entry
            if arn and model.stack in deployers:
                for action in ("sagemaker:DescribeModelPackage", "sagemaker:CreateModel"):
                    flows.append(
                        Flow(deployers[model.stack], action, arn, f"{model.key} from a package")
                    )
            urls = [entry["model_data_url"]] if entry else []
            if container.get("Mode") == "MultiModel":
                urls.append(str(container.get("ModelDataUrl", "")) + f"{SUFFIX}.tar.gz")
            for url in urls:
                bucket, _, obj = url.removeprefix("s3://").partition("/")
                flows.append(
                    Flow(
                        role,
                        "s3:GetObject",
                        f"arn:aws:s3:::{bucket}/{obj}",
                        f"{model.key} model archive",
                    )
                )
                flows.append(
                    Flow(
                        role,
                        "kms:Decrypt",
                        key_arn,
                        f"{model.key} model archive (SSE-KMS, read through S3)",
                        (("kms:ViaService", f"s3.{a.region}.amazonaws.com"),),
                    )
                )
    return flows


def _resource_doc(arn: str) -> str:
    if ":sagemaker:" in arn:
        return DOC_GROUP
    return DOC_BUS if ":event-bus/" in arn else DOC


DOC_PROCESSING_ROLE = "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createprocessingjob-perms"
DOC_LIST_PREFIX = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html#condition-key-bucket-ops-2"
MONITORING_CODE = "infra/monitoring/runtime/drift_runner.py"


def bucket_key(a: Assembly, bucket: str) -> str | None:
    """The KMS key ARN a bucket of the copy encrypts its objects with by default (SSE-KMS):
    reading its objects takes kms:Decrypt on it, through S3."""
    for res in a.resources(type_="AWS::S3::Bucket"):
        if a.name_of(res.stack, res.logical_id) != bucket:
            continue
        encryption = a.resolve(res.stack, res.properties.get("BucketEncryption", {}))
        for rule in encryption.get("ServerSideEncryptionConfiguration", []):
            key = rule.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID")
            if key:
                return str(key)
    return None


def _object_reads(a: Assembly, role: str, uri: str, why: str, listed: bool) -> list[Flow]:
    """``role`` reads one object under ``uri`` (s3://bucket/prefix/), decrypts it through S3
    with the bucket's key, and (``listed``) lists the prefix first: SageMaker lists an
    S3Prefix input with the job's role, the runner lists each window's folders."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
    flows = [Flow(role, "s3:GetObject", f"arn:aws:s3:::{bucket}/{prefix}{SUFFIX}/object", why)]
    if listed:
        flows.append(
            Flow(
                role,
                "s3:ListBucket",
                f"arn:aws:s3:::{bucket}",
                f"{why} (lists {prefix}; {DOC_LIST_PREFIX})",
                (("s3:prefix", f"{prefix}{SUFFIX}/"),),
            )
        )
    key = bucket_key(a, bucket)
    if key:
        via = (("kms:ViaService", f"s3.{a.region}.amazonaws.com"),)
        flows.append(Flow(role, "kms:Decrypt", key, f"{why} (SSE-KMS, read through S3)", via))
    return flows


def drift_monitoring_flows(a: Assembly) -> list[Flow]:
    """What the drift runner and its jobs read at run time (``MONITORING_CODE``, from the
    runner's environment as ``service_roles`` reads it): the job reads the monitoring code and
    the deployed version's baselines (S3Prefix inputs, listed) and the labelled events (a
    manifest); the runner lists the labels' hour folders and describes the deployed version in
    the registry (its DriftCheckBaselines). CDK's read grants name ``s3:GetObject*``/``s3:List*``,
    which ``identity_flows`` cannot instantiate, so these are the concrete calls. Within one
    account they check the identity side only."""
    flows = []
    for fn in a.resources(type_="AWS::Lambda::Function"):
        props = a.resolve(fn.stack, fn.properties)
        env = props.get("Environment", {}).get("Variables", {})
        if "JOB_ROLE_ARN" not in env or "CODE_URI" not in env:
            continue
        runner, job = _role_key(a, str(props.get("Role"))), _role_key(a, str(env["JOB_ROLE_ARN"]))
        code = str(env["CODE_URI"])
        artifacts = code.removeprefix("s3://").split("/", 1)[0]
        labels = f"s3://{env['RAW_BUCKET']}/{env.get('RAW_PREFIX', '')}events/"
        inputs = f"{fn.key} job reads its inputs ({DOC_PROCESSING_ROLE})"
        flows += _object_reads(a, job, code, f"{inputs}: the monitoring code", True)
        flows += _object_reads(
            a,
            job,
            f"s3://{artifacts}/pipelines/",
            f"{inputs}: the deployed version's baseline (DriftCheckBaselines)",
            True,
        )
        flows += _object_reads(a, job, labels, f"{inputs}: the labels (a manifest)", False)
        flows += [
            f
            for f in _object_reads(a, runner, labels, f"{fn.key} lists the labels", True)
            if f.action == "s3:ListBucket"
        ]
        group = str(env.get("MODEL_PACKAGE_GROUP", ""))
        if group.startswith("arn:"):  # the registry in another account, named by ARN
            version = group.replace(":model-package-group/", ":model-package/").lower() + "/1"
            flows.append(
                Flow(
                    runner,
                    "sagemaker:DescribeModelPackage",
                    version,
                    f"{fn.key} reads the deployed version's baselines ({MONITORING_CODE})",
                )
            )
    return flows


def _role_key(a: Assembly, arn: str) -> str:
    for res in a.resources(type_="AWS::IAM::Role"):
        if a.get_att(res.stack, res.logical_id, "Arn") == arn:
            return res.key
    return arn


def _deployment_roles(a: Assembly) -> dict[str, str]:
    """Serving stack -> the role CloudFormation deploys it with (from the deploy actions)."""
    from assurance.rehearsal.deployers import deploy_actions

    found = {}
    for _stack, action, _name in deploy_actions(a):
        cfg = action["Configuration"]
        if cfg.get("RoleArn"):
            found[cfg["StackName"]] = _role_key(a, cfg["RoleArn"])
    return found


def check_flows(a: Assembly, flows: list[Flow]) -> list[Finding]:
    roles = role_policies(a)
    findings = []
    seen = set()
    for flow in flows:
        if (flow.role, flow.action, flow.resource, flow.context) in seen:
            continue
        seen.add((flow.role, flow.action, flow.resource, flow.context))
        entry = roles.get(flow.role)
        if entry is None:
            findings.append(Finding("cross-account", flow.role, "role not found", flow.why, DOC))
            continue
        context = {
            "aws:PrincipalArn": entry.arn,
            "aws:PrincipalAccount": a.account_of(entry.role.stack),
            "aws:RequestedRegion": requested_region(flow.action, a.region, a.partition),
            **dict(flow.context),
        }
        if flow.action == "sts:AssumeRole":
            context.pop("kms:ViaService", None)
        decision = evaluate(entry, flow.action, flow.resource, context)  # identity ∩ boundary
        if not decision.allowed:
            call = f"{flow.action} on {flow.resource}"
            findings.append(
                Finding(
                    "cross-account",
                    flow.role,
                    f"{call} blocked by permissions boundary {entry.boundary}"
                    if decision.identity
                    else f"identity policy does not allow {call}{boundary_note(entry, decision)}",
                    flow.why,
                    DOC,
                )
            )
        if owner(a, flow.resource) in ("", a.account_of(entry.role.stack)):
            continue  # the caller's own account (or outside the copy): identity alone decides
        statements = resource_policy(a, flow.resource)
        if not resource_allows(statements, entry.arn, flow.action, flow.resource, context):
            findings.append(
                Finding(
                    "cross-account",
                    flow.role,
                    f"resource policy of {flow.resource} does not allow {flow.action} "
                    f"({'no policy' if not statements else 'no statement matches'})",
                    flow.why,
                    _resource_doc(flow.resource),
                )
            )
    return findings


# -- static checks on the policies -----------------------------------------------------------------


def _policies(a: Assembly) -> list[tuple[str, str, dict[str, Any]]]:
    """(stack, resource key, statement) of every resource policy in the copy."""
    found = []
    for pol in a.resources(type_="AWS::S3::BucketPolicy"):
        for st in _statements(a.resolve(pol.stack, pol.properties["PolicyDocument"])):
            found.append((pol.stack, pol.key, st))
    for key in a.resources(type_="AWS::KMS::Key"):
        for st in _statements(a.resolve(key.stack, key.properties.get("KeyPolicy", {}))):
            found.append((key.stack, key.key, st))
    for grp in a.resources(type_="AWS::SageMaker::ModelPackageGroup"):
        doc = a.resolve(grp.stack, grp.properties.get("ModelPackageGroupPolicy", {}))
        for st in _statements(doc):
            found.append((grp.stack, grp.key, st))
    return found


def policy_findings(a: Assembly) -> list[Finding]:
    findings = []
    for stack, key, st in _policies(a):
        principal = st.get("Principal")
        names = (
            [str(p) for p in _as_list(principal.get("AWS", []))]
            if isinstance(principal, dict)
            else []
        )
        if len(names) != len(set(names)):
            dupes = sorted({n for n in names if names.count(n) > 1})
            findings.append(
                Finding("cross-account", key, f"principal named twice: {dupes}", "policy", DOC)
            )
        mine = a.account_of(stack)
        others = [
            n
            for n in names
            if _account(n) not in ("", mine) or re.fullmatch(r"\d{12}", n) and n != mine
        ]
        if st.get("Effect") == "Allow" and others:
            writes = [act for act in _as_list(st.get("Action", [])) if act not in READ_ONLY]
            if writes:
                findings.append(
                    Finding(
                        "cross-account",
                        key,
                        f"grants {writes} to another account ({others}): a target only reads",
                        "policy",
                        DOC_GROUP,
                    )
                )
    for model in a.resources(type_="AWS::SageMaker::Model"):
        props = a.resolve(model.stack, model.properties)
        for container in [props.get("PrimaryContainer", {}), *props.get("Containers", [])]:
            name = container.get("ModelPackageName")
            if name is not None and not PACKAGE_ARN.match(str(name)):
                findings.append(
                    Finding(
                        "cross-account",
                        model.key,
                        f"ModelPackageName {name!r} is not a model package version ARN "
                        "(a name resolves in the stack's own account)",
                        "release",
                        DOC_GROUP,
                    )
                )
    if a.stack_accounts:
        accounts = {name: a.account_of(name) for name in a.templates}
        for problem in cross_account_references(a.templates, accounts):
            findings.append(
                Finding(
                    "cross-account", problem.split(":", 1)[0], problem, "references", DOC_IMPORT
                )
            )
    return findings


def check(a: Assembly, release: dict[str, Any] | None = None) -> list[Finding]:
    """Every cross-account finding of the copy (nothing for a single-account copy)."""
    if not a.stack_accounts or set(a.stack_accounts.values()) == {a.account}:
        return policy_findings(a)
    flows = (
        identity_flows(a)
        + forward_flows(a)
        + pipeline_flows(a)
        + release_flows(a, release)
        + model_monitor_flows(a)
        + drift_monitoring_flows(a)
    )
    return check_flows(a, flows) + policy_findings(a)
