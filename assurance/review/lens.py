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
from dataclasses import dataclass, field, replace
from typing import Any

from assurance.review.assembly import Assembly, Resource, permissions_boundaries
from pipelines.checks import iter_steps, job_settings
from pipelines.training_pipeline import NETWORK_ISOLATION_EXEMPT

PASS, FAIL, MANUAL = "PASS", "FAIL", "MANUAL"


@dataclass(frozen=True)
class Evidence:
    stack: str
    logical_id: str
    prop: str  # dotted path into Properties, e.g. DeploymentConfig.AutoRollbackConfiguration
    holds: bool
    note: str = ""
    equals: str = ""  # the value the property must have (``Status == Enabled``), if any
    step: str = ""  # for a PipelineDefinition: the step (by name) of the parsed definition
    step_type: str = ""  # ... and the step type the practice needs ("Tuning", "Condition")

    def render(self) -> str:
        mark = "" if self.holds else "NOT "
        if self.step_type:
            what = (
                f": step {self.step!r} ({self.step_type})"
                if self.step
                else f": no {self.step_type} step"
            )
            if self.step and not self.holds:
                what += " does NOT hold"
        elif self.equals:
            what = f" {mark}== {self.equals!r}"
        else:
            what = "" if self.holds else " missing"
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


def pipeline_definition(value: Any) -> dict[str, Any] | None:
    """A PipelineDefinition property parsed as the JSON SageMaker reads: CDK tokens inside its
    strings become ``<token>``. None when it is not in the template (an S3 location) or is not
    JSON."""
    body = _flatten(value.get("PipelineDefinitionBody")) if isinstance(value, dict) else None
    if not isinstance(body, str):
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def pipeline_parameters(definition: Any) -> dict[str, str]:
    """Name -> default value of a SageMaker pipeline definition's parameters."""
    parsed = pipeline_definition(definition) or {}
    return {
        p["Name"]: str(p["DefaultValue"])
        for p in parsed.get("Parameters", [])
        if isinstance(p, dict) and "DefaultValue" in p
    }


def _has(res: Resource, path: str, note: str = "") -> Evidence:
    value = get(res.properties, path)
    return Evidence(res.stack, res.logical_id, path, value not in (None, False, "", [], {}), note)


def _equals(res: Resource, path: str, value: str, note: str = "") -> Evidence:
    return Evidence(
        res.stack, res.logical_id, path, get(res.properties, path) == value, note, equals=value
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


# -- pipelines judged by their parsed definition, step by step ---------------------------------
TRAINING_STEP_TYPES = ("Training", "Tuning")
DEFINITION = "PipelineDefinition"


def _steps(p: Resource) -> list[dict[str, Any]] | None:
    """Every step of the pipeline's parsed definition (Condition branches included), or None
    when the template does not carry a readable definition."""
    parsed = pipeline_definition(p.properties.get(DEFINITION))
    if parsed is None:
        return None
    return [s for s in iter_steps(parsed.get("Steps", [])) if isinstance(s, dict)]


def _unreadable(p: Resource) -> Evidence:
    return Evidence(
        p.stack, p.logical_id, DEFINITION, False, "no PipelineDefinitionBody that parses as JSON"
    )


def _training_pipelines(a: Assembly) -> list[tuple[Resource, list[dict[str, Any]] | None]]:
    """Pipelines that train a model: a Training or Tuning step in the definition (the scoring
    pipeline, a Model and a Transform step, is not one). An unreadable definition is kept
    (steps None): what it is cannot be told, so its rows cannot pass."""
    found = []
    for p in _pipelines(a):
        steps = _steps(p)
        if steps is None or any(s.get("Type") in TRAINING_STEP_TYPES for s in steps):
            found.append((p, steps))
    return found


def _step(p: Resource, step: dict[str, Any], holds: bool = True, note: str = "") -> Evidence:
    return Evidence(
        p.stack,
        p.logical_id,
        DEFINITION,
        holds,
        note,
        step=str(step.get("Name", "")),
        step_type=str(step.get("Type", "")),
    )


def _no_step(p: Resource, step_type: str, note: str) -> Evidence:
    return Evidence(p.stack, p.logical_id, DEFINITION, False, note, step_type=step_type)


def _capacity(step: dict[str, Any]) -> str:
    """How a training or tuning step's jobs buy capacity, read from the definition: managed
    Spot (EnableManagedSpotTraining, with its MaxWaitTimeInSeconds and whether it
    checkpoints) or on demand."""
    args = step.get("Arguments", {})
    job = args.get("TrainingJobDefinition", args)
    if not job.get("EnableManagedSpotTraining"):
        return "on demand"
    wait = get(job, "StoppingCondition.MaxWaitTimeInSeconds")
    checkpoints = "with checkpoints" if get(job, "CheckpointConfig.S3Uri") else "no checkpoints"
    return f"on managed Spot (MaxWaitTimeInSeconds {wait}, {checkpoints})"


def training_steps(a: Assembly) -> list[Evidence]:
    """MLCOST04-BP06: training runs as SageMaker-managed Training/Tuning jobs; the note says
    whether they run on managed Spot (the lens's managed training capabilities include
    managed Spot training; the profile's training.spot)."""
    ev = []
    for p, steps in _training_pipelines(a):
        if steps is None:
            ev.append(_unreadable(p))
            continue
        ev += [
            _step(p, s, note=f"SageMaker-managed job, {_capacity(s)}")
            for s in steps
            if s.get("Type") in TRAINING_STEP_TYPES
        ]
    return ev


def tuning(a: Assembly) -> list[Evidence]:
    """MLCOST04-BP11: each training pipeline tunes its hyperparameters (a Tuning step with a
    search strategy)."""
    ev = []
    for p, steps in _training_pipelines(a):
        tuned = [s for s in steps or [] if s.get("Type") == "Tuning"]
        if steps is None:
            ev.append(_unreadable(p))
        elif not tuned:
            ev.append(_no_step(p, "Tuning", "the training pipeline tunes no hyperparameters"))
        for s in tuned:
            strategy = get(s, "Arguments.HyperParameterTuningJobConfig.Strategy")
            ev.append(_step(p, s, bool(strategy), f"{strategy or 'no'} search strategy"))
    return ev


def _property_file_steps(condition: dict[str, Any]) -> set[str]:
    """Names of the steps whose property files a Condition step's conditions read
    (``Std:JsonGet`` on ``Steps.<name>.PropertyFiles.<file>``)."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = get(node, "Std:JsonGet.PropertyFile.Get")
            if isinstance(ref, str) and ref.startswith("Steps."):
                names.add(ref.split(".")[1])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(get(condition, "Arguments.Conditions"))
    return names


def _gates(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Condition steps that guard registration: a RegisterModel step in their If branch."""
    return [
        s
        for s in steps
        if s.get("Type") == "Condition"
        and any(
            isinstance(b, dict) and b.get("Type") == "RegisterModel"
            for b in iter_steps(get(s, "Arguments.IfSteps") or [])
        )
    ]


def quality_gate(a: Assembly) -> list[Evidence]:
    """MLREL04-BP03: a model is registered only past a Condition step that reads an
    evaluation's results."""
    ev = []
    for p, steps in _training_pipelines(a):
        if steps is None:
            ev.append(_unreadable(p))
            continue
        gates = _gates(steps)
        if not gates:
            ev.append(_no_step(p, "Condition", "nothing gates the RegisterModel step"))
        for g in gates:
            reads = sorted(_property_file_steps(g))
            note = f"registers only if it holds; reads {', '.join(reads)}" if reads else ""
            ev.append(_step(p, g, bool(reads), note or "its conditions read no evaluation"))
    return ev


# The flags the data-quality gate's limits reach the Preprocess job by
# (pipelines/data_quality_gate.py GateLimits.arguments).
GATE_FLAGS = (
    "--min-rows",
    "--max-rejected-share",
    "--max-missing-share",
    "--feature-range",
    "--max-duplicate-share",
    "--min-class-count",
    "--max-class-imbalance",
)


def data_quality_gate(a: Assembly) -> list[Evidence]:
    """MLSEC04-BP03: data is validated before it can train (issue 26): a processing step,
    which every training step reads from, checks every declared constraint and writes what it
    rejects to a quarantine output; and the same rules are deployed as a Glue Data Quality
    ruleset on the checked table."""
    ev = []
    for p, steps in _training_pipelines(a):
        if steps is None:
            ev.append(_unreadable(p))
            continue
        gates = [
            s
            for s in steps
            if s.get("Type") == "Processing"
            and all(
                f in (get(s, "Arguments.AppSpecification.ContainerArguments") or [])
                for f in GATE_FLAGS
            )
        ]
        if not gates:
            ev.append(_no_step(p, "Processing", "no step checks the data-quality constraints"))
        names = {str(g.get("Name")) for g in gates}
        for g in gates:
            outputs = [
                o.get("OutputName")
                for o in get(g, "Arguments.ProcessingOutputConfig.Outputs") or []
            ]
            ev.append(
                _step(
                    p,
                    g,
                    "quarantine" in outputs,
                    "checks every declared constraint; "
                    + (
                        "quarantines what it rejects"
                        if "quarantine" in outputs
                        else "no quarantine output"
                    ),
                )
            )
        for s in steps:
            if s.get("Type") in TRAINING_STEP_TYPES:
                reads = {
                    m.group(1)
                    for m in re.finditer(r'"Get": "Steps\.([A-Za-z0-9_-]+)\.', json.dumps(s))
                }
                ev.append(
                    _step(
                        p,
                        s,
                        bool(reads & names),
                        "trains only on data the gate passed"
                        if reads & names
                        else "reads no data-quality-checked output",
                    )
                )
    rulesets = a.of_type("AWS::Glue::DataQualityRuleset")
    ev += [_has(r, "Ruleset", "the same constraints as a DQDL ruleset") for r in rulesets]
    ev += [_has(r, "TargetTable.TableName", "on the checked table") for r in rulesets]
    if not rulesets:
        ev.append(Evidence("", "", "AWS::Glue::DataQualityRuleset", False, "no ruleset deployed"))
    return ev


def evaluation_step(a: Assembly) -> list[Evidence]:
    """MLPERF04-BP03: an evaluation step whose property file (the metrics) the quality gate
    reads, so the pipeline itself measures every model it trains."""
    ev = []
    for p, steps in _training_pipelines(a):
        if steps is None:
            ev.append(_unreadable(p))
            continue
        by_name = {s.get("Name"): s for s in steps}
        read = {n for g in _gates(steps) for n in _property_file_steps(g)}
        evaluators = [
            by_name[n] for n in sorted(read) if n in by_name and by_name[n].get("PropertyFiles")
        ]
        if not evaluators:
            ev.append(_no_step(p, "Processing", "no evaluation step whose metrics the gate reads"))
        ev += [_step(p, s, note="metrics read by the quality gate") for s in evaluators]
    return ev


def _argument(arguments: list[Any], flag: str) -> list[str]:
    """Every value given after ``flag`` in a job's ContainerArguments."""
    return [str(arguments[i + 1]) for i, a in enumerate(arguments[:-1]) if a == flag]


def bias_gate(a: Assembly) -> list[Evidence]:
    """MLPERF04-BP03, per group: a processing step before training that gates on pre-training
    bias (CI and DPL bounds over the source facet, model_code/preprocess.py bias_gate), whose
    test-row facets the evaluation turns into per-group accuracy, AD and per-class recall."""
    ev = []
    for p, steps in _training_pipelines(a):
        if steps is None:
            ev.append(_unreadable(p))
            continue
        found = False
        for s in steps:
            arguments = get(s, "Arguments.AppSpecification.ContainerArguments")
            if s.get("Type") != "Processing" or not isinstance(arguments, list):
                continue
            ci, dpl = _argument(arguments, "--max-abs-ci"), _argument(arguments, "--max-abs-dpl")
            facet = _argument(arguments, "--bias-facet-value")
            if not (ci and dpl and facet):
                continue
            found = True
            note = (
                f"pre-training bias gate |CI| <= {ci[0]}, |DPL| <= {dpl[0]}, facet d: source in "
                f"{', '.join(facet)}; evaluation.json keys bias.pretraining.CI, "
                "bias.pretraining.DPL, bias.xgboost.AD, bias.xgboost.accuracy, bias.xgboost.recall"
            )
            ev.append(_step(p, s, True, note))
        if not found:
            ev.append(_no_step(p, "Processing", "no step gates on pre-training bias (CI, DPL)"))
    return ev


def evaluation_and_bias(a: Assembly) -> list[Evidence]:
    """MLPERF04-BP03: the evaluation step the gate reads, and the bias gate beside it."""
    return evaluation_step(a) + bias_gate(a)


def _job_steps(a: Assembly) -> list[tuple[Resource, dict[str, Any] | None, dict[str, Any]]]:
    """(pipeline, step, settings) for every job step of every pipeline: the settings are
    pipelines.checks.job_settings' for Processing/Training/Tuning, plus the Transform and
    Model steps' own fields; step None when the definition cannot be read."""
    out: list[tuple[Resource, dict[str, Any] | None, dict[str, Any]]] = []
    for p in _pipelines(a):
        steps = _steps(p)
        if steps is None:
            out.append((p, None, {}))
            continue
        for s in steps:
            if s.get("Type") in ("Processing", "Training", "Tuning"):
                out.append((p, s, job_settings(s)))
            elif s.get("Type") == "Transform":
                key = get(s, "Arguments.TransformResources.VolumeKmsKeyId")
                out.append((p, s, {"volume_key": key}))
            elif s.get("Type") == "Model":
                out.append((p, s, {"isolation": get(s, "Arguments.EnableNetworkIsolation")}))
    return out


def _job_evidence(a: Assembly, setting: str, note: str) -> list[Evidence]:
    ev = []
    for p, step, settings in _job_steps(a):
        if step is None:
            ev.append(_unreadable(p))
        elif setting in settings:
            ev.append(_step(p, step, bool(settings[setting]), note))
    return ev


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
    ev += _job_evidence(a, "volume_key", "job volume KMS key")
    return ev


def least_privilege(a: Assembly) -> list[Evidence]:
    """No policy a role holds grants ``*`` or ``service:*``. A permissions boundary (issue 26)
    may: it is attached to nothing and only caps the roles that name it; once any role names
    a boundary, every role must (the profile's ``security.permissions_boundary``)."""
    ev = []
    boundaries = permissions_boundaries(a)
    roles = a.of_type("AWS::IAM::Role")
    if any("PermissionsBoundary" in r.properties for r in roles):
        for role in roles:
            ev.append(_has(role, "PermissionsBoundary", "the copy's permissions boundary"))
    for pol in a.of_type("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        if pol.key in boundaries:
            attached = [k for k in ("Roles", "Users", "Groups") if pol.properties.get(k)]
            ev.append(
                Evidence(
                    pol.stack,
                    pol.logical_id,
                    "ManagedPolicyName",
                    not attached,
                    "a permissions boundary: caps the roles naming it, attached to no role, "
                    "user or group"
                    + (f" (but attached: {', '.join(attached)})" if attached else ""),
                )
            )
            continue
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
            ev.append(_tls_only(pol))
    return ev


def _tls_only(pol: Resource) -> Evidence:
    """A statement that denies every request sent without TLS: Effect Deny, Condition
    Bool aws:SecureTransport false."""
    statements = get(pol.properties, "PolicyDocument.Statement") or []
    for i, st in enumerate(statements):
        secure = get(st, "Condition.Bool") or {}
        if st.get("Effect") == "Deny" and str(secure.get("aws:SecureTransport")).lower() == (
            "false"
        ):
            return Evidence(
                pol.stack, pol.logical_id, f"PolicyDocument.Statement[{i}]", True, "TLS only"
            )
    return Evidence(
        pol.stack,
        pol.logical_id,
        "PolicyDocument.Statement",
        False,
        "no Deny on aws:SecureTransport false",
    )


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
    exempt = NETWORK_ISOLATION_EXEMPT
    for e in _job_evidence(a, "isolation", "job network isolation"):
        if not e.holds and e.step in exempt:
            e = replace(e, holds=True, note=f"exempt: {exempt[e.step]}")
        ev.append(e)
    return ev


def inter_node(a: Assembly) -> list[Evidence]:
    return _job_evidence(a, "encryption", "inter-container traffic encryption")


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


# A versioned model package's ARN (SageMaker ARN format: ...:model-package/<group>/<version>).
_PACKAGE_VERSION_ARN = re.compile(
    r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[^/]+/\d+"
)


def versioned_models(a: Assembly) -> list[Evidence]:
    ev = [
        Evidence(
            m.stack,
            m.logical_id,
            "PrimaryContainer.ModelPackageName",
            bool(
                _PACKAGE_VERSION_ARN.fullmatch(
                    str(get(m.properties, "PrimaryContainer.ModelPackageName"))
                )
            ),
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


def _rules_on(a: Assembly, detail_type: str, note: str) -> list[Evidence]:
    """EventBridge rules whose pattern matches ``detail_type`` and that start a SageMaker
    pipeline of these templates (a target with SageMakerPipelineParameters and a pipeline
    ARN)."""
    pipelines = {str(p.properties.get("PipelineName")) for p in _pipelines(a)}
    ev = []
    for r in a.of_type("AWS::Events::Rule"):
        types = _list(get(r.properties, "EventPattern.detail-type"))
        if detail_type not in types:
            continue
        targets = r.properties.get("Targets") or []
        starts = [
            i
            for i, t in enumerate(targets)
            if "SageMakerPipelineParameters" in t
            and str(t.get("Arn", "")).rsplit("pipeline/", 1)[-1] in pipelines
        ]
        ev.append(
            Evidence(
                r.stack,
                r.logical_id,
                f"Targets[{starts[0]}].Arn" if starts else "Targets",
                bool(starts),
                note + ("" if starts else "; starts no pipeline of these templates"),
            )
        )
    return ev


def retrain_rule(a: Assembly) -> list[Evidence]:
    return _rules_on(a, "RetrainRequested", "retrain on request, not on a timer")


def dataset_rule(a: Assembly) -> list[Evidence]:
    return _rules_on(a, "Object Created", "training starts when a dataset lands")


def budget_and_tags(a: Assembly) -> list[Evidence]:
    ev = [
        _has(b, "Budget.BudgetLimit.Amount", "monthly limit")
        for b in a.of_type("AWS::Budgets::Budget")
    ]
    for r in a.of_type(
        "AWS::SageMaker::Endpoint", "AWS::SageMaker::Pipeline", "AWS::Kinesis::Stream"
    ):
        tagged = [
            i for i, t in enumerate(r.properties.get("Tags") or []) if t.get("Key") == "cost-center"
        ]
        ev.append(
            Evidence(
                r.stack,
                r.logical_id,
                f"Tags[{tagged[0]}].Key" if tagged else "Tags",
                bool(tagged),
                "cost allocation tag",
                equals="cost-center",
            )
        )
    return ev


def _lake_stack_buckets(a: Assembly) -> list[Resource]:
    """The lake's data buckets: those in the stack that holds the Glue database."""
    stacks = {d.stack for d in a.of_type("AWS::Glue::Database")}
    return [b for b in _lake_buckets(a) if b.stack in stacks]


def audit_trail(a: Assembly) -> list[Evidence]:
    """Issue 26: a trail logs S3 data events on every lake bucket (the data buckets of the
    lake's stack other than the trail's own log bucket), validates its log files and encrypts
    them with a customer key. No trail: no evidence, the row stays MANUAL with its question."""
    ev: list[Evidence] = []
    trails = a.of_type("AWS::CloudTrail::Trail")
    own = {k for t in trails for k in a.resolve(t.stack, t.properties.get("S3BucketName"))}
    lake = [b for b in _lake_stack_buckets(a) if b.key not in own]
    for t in trails:
        valid = get(t.properties, "EnableLogFileValidation") is True
        ev.append(
            Evidence(t.stack, t.logical_id, "EnableLogFileValidation", valid, "log file validation")
        )
        ev.append(_has(t, "KMSKeyId", "log files encrypted with a customer key"))
        logged: dict[tuple[str, str], str] = {}
        for i, selector in enumerate(get(t.properties, "EventSelectors") or []):
            for j, data in enumerate(selector.get("DataResources") or []):
                if data.get("Type") != "AWS::S3::Object":
                    continue
                for bucket in a.resolve(t.stack, data.get("Values")):
                    logged[bucket] = f"EventSelectors[{i}].DataResources[{j}].Values"
        for b in lake:
            ev.append(
                Evidence(
                    t.stack,
                    t.logical_id,
                    logged.get(b.key, "EventSelectors"),
                    b.key in logged,
                    f"S3 data events of {b.stack}/{b.logical_id}",
                )
            )
    return ev


def _raw_buckets(a: Assembly) -> set[tuple[str, str]]:
    """The raw zone: the buckets the Firehose delivery streams write events into."""
    return {
        key
        for f in a.of_type("AWS::KinesisFirehose::DeliveryStream")
        for key in a.resolve(
            f.stack, get(f.properties, "ExtendedS3DestinationConfiguration.BucketARN")
        )
    }


def lake_versioning(a: Assembly) -> list[Evidence]:
    return [_equals(b, "VersioningConfiguration.Status", "Enabled") for b in _lake_stack_buckets(a)]


def raw_expiry(a: Assembly) -> list[Evidence]:
    ev = []
    raw = _raw_buckets(a)
    for b in _lake_buckets(a):
        rules = get(b.properties, "LifecycleConfiguration.Rules") or []
        for i, rule in enumerate(rules):
            if b.key in raw and "ExpirationInDays" in rule:
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


def model_cards(a: Assembly) -> list[Evidence]:
    """MLOPS06-BP01 (the guide's MLOE-15, model cards): every version a training pipeline
    registers carries its evaluation report (ModelMetrics.ModelQuality.Statistics), which
    ``labctl model approve`` reads into the version's SageMaker model card
    (ops/model_card.py, core/model_card.py)."""
    ev = []
    for p, steps in _training_pipelines(a):
        if steps is None:
            ev.append(_unreadable(p))
            continue
        registers = [s for s in steps if s.get("Type") == "RegisterModel"]
        if not registers:
            ev.append(_no_step(p, "RegisterModel", "no registered version to write a card for"))
        for s in registers:
            report = get(s, "Arguments.ModelMetrics.ModelQuality.Statistics.S3Uri")
            note = (
                "evaluation report for the version's model card"
                if report
                else "no evaluation report: its model card would have no evaluation"
            )
            ev.append(_step(p, s, bool(report), note))
    return ev


def observability_and_cards(a: Assembly) -> list[Evidence]:
    """MLOPS06-BP01: requests captured, and each registered version documented."""
    return capture(a) + model_cards(a)


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
        _equals(s, "StreamModeDetails.StreamMode", "ON_DEMAND", "no idle shards")
        for s in a.of_type("AWS::Kinesis::Stream")
        if get(s.properties, "StreamModeDetails.StreamMode") == "ON_DEMAND"
    ]


def multi_model(a: Assembly) -> list[Evidence]:
    return [
        _equals(m, "PrimaryContainer.Mode", "MultiModel")
        for m in a.of_type("AWS::SageMaker::Model")
        if get(m.properties, "PrimaryContainer.Mode") == "MultiModel"
    ]


def _endpoint_watchers(a: Assembly) -> set[tuple[str, str]]:
    """Lambda functions configured to act on an endpoint of these templates: an environment
    variable equal to its EndpointName, or a reference to it (the drift runner, the retrain
    bridge; not the reaper, which is configured with an environment prefix)."""
    endpoints = a.of_type("AWS::SageMaker::Endpoint")
    names = {e.properties.get("EndpointName") for e in endpoints} - {None}
    keys = {e.key for e in endpoints}
    found = set()
    for f in a.of_type("AWS::Lambda::Function"):
        variables = get(f.properties, "Environment.Variables") or {}
        for value in variables.values():
            if (isinstance(value, str) and value in names) or keys & set(a.resolve(f.stack, value)):
                found.add(f.key)
    return found


def monitoring(a: Assembly) -> list[Evidence]:
    """A managed monitoring schedule, or a schedule (EventBridge Scheduler, or a scheduled
    rule) whose target is a function that watches an endpoint. Rules that react to events (a
    job finished, an alarm fired) are not the schedule."""
    found = []
    for r in a.of_type(
        "AWS::SageMaker::MonitoringSchedule", "AWS::SageMaker::DataQualityJobDefinition"
    ):
        prop = "MonitoringScheduleName" if "Schedule" in r.type else "JobDefinitionName"
        found.append(Evidence(r.stack, r.logical_id, prop, True))
    watchers = _endpoint_watchers(a)
    for r in a.of_type("AWS::Scheduler::Schedule", "AWS::Events::Rule"):
        if r.type == "AWS::Events::Rule":
            if "ScheduleExpression" not in r.properties:
                continue
            arns = [t.get("Arn") for t in r.properties.get("Targets") or []]
        else:
            arns = [get(r.properties, "Target.Arn")]
        if any(watchers & set(a.resolve(r.stack, arn)) for arn in arns):
            found.append(_has(r, "ScheduleExpression", "drift check schedule"))
    return found


def lineage(a: Assembly) -> list[Evidence]:
    """MLSEC03-BP04: a prediction can be traced to its raw events (``labctl lineage``): the
    training pipeline writes a training-data manifest under the execution's own prefix, every
    registered version names its execution and that manifest (CustomerMetadataProperties), and
    each endpoint that can capture does, so a prediction's record exists. Keys and names:
    model_code/lineage.py."""
    from model_code import lineage as contract

    ev = []
    for p, steps in _training_pipelines(a):
        if steps is None:
            ev.append(_unreadable(p))
            continue
        writers = [
            (s, o)
            for s in steps
            if s.get("Type") == "Processing"
            for o in get(s, "Arguments.ProcessingOutputConfig.Outputs") or []
            if isinstance(o, dict) and o.get("OutputName") == contract.MANIFEST_OUTPUT
        ]
        if not writers:
            ev.append(_no_step(p, "Processing", "no step writes a training-data manifest"))
        for s, output in writers:
            per_run = "Execution.PipelineExecutionId" in json.dumps(get(output, "S3Output.S3Uri"))
            note = "training-data manifest " + (
                "under the execution's own prefix" if per_run else "NOT per execution"
            )
            ev.append(_step(p, s, per_run, note))
        registers = [s for s in steps if s.get("Type") == "RegisterModel"]
        if not registers:
            ev.append(_no_step(p, "RegisterModel", "no version is registered"))
        for s in registers:
            metadata = get(s, "Arguments.CustomerMetadataProperties") or {}
            keys = (contract.EXECUTION_KEY, contract.MANIFEST_KEY)
            missing = [k for k in keys if k not in metadata]
            ev.append(
                _step(
                    p,
                    s,
                    not missing,
                    "version names its execution and manifest"
                    if not missing
                    else f"CustomerMetadataProperties lacks {', '.join(missing)}",
                )
            )
    if not ev:
        return []
    for c in _endpoint_configs(a):
        if any("ServerlessConfig" in v for v in c.properties.get("ProductionVariants", [])):
            continue  # cannot capture: traced by endpoint and time (labctl lineage --at)
        ev.append(_has(c, "DataCaptureConfig.EnableCapture", "predictions captured with their ids"))
    return ev


NO_TRAINING_PIPELINE = (
    "No training pipeline (a Training or Tuning step) is in these templates: where are models "
    "trained, tuned and validated?"
)

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
        lineage,
        (
            "No training pipeline is in these templates: what traces a prediction back to "
            "its model and raw events?"
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
        data_quality_gate,
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
        audit_trail,
        (
            "No trail in this copy (set the profile's audit.trail=true to deploy the lake's "
            "own): does an account or organization trail log S3 data events for the lake "
            "buckets, and who reviews them?"
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
        quality_gate,
        NO_TRAINING_PIPELINE,
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
        training_steps,
        NO_TRAINING_PIPELINE,
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
        tuning,
        NO_TRAINING_PIPELINE,
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
        observability_and_cards,
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
        evaluation_and_bias,
        NO_TRAINING_PIPELINE,
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
