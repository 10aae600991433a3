"""What the roles that AWS services assume need to run what the templates create.

One row per documented requirement. A row names the resource type it reads, which role of that
resource it is about, when it applies, the actions, the resource ARNs they act on, and the
documentation that says so. To cover a new role (a monitoring job, a reaper Lambda, a batch
transform), add a row here; ``tests/assurance/rehearsal`` runs every row against every profile
and kind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assurance.rehearsal.assembly import SUFFIX, Assembly, Resource
from assurance.rehearsal.authority import Requirement

Props = dict[str, Any]
Arns = Callable[[Assembly, Resource, Props], list[str]]

ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeDhcpOptions",
)
DOC_VPC_HOSTING = "https://docs.aws.amazon.com/sagemaker/latest/dg/host-vpc.html"
DOC_VPC_JOBS = "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createtrainingjob-perms"
DOC_GUARDRAILS = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html"
)
DOC_CAPTURE = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html"
)
DOC_CREATEMODEL = "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createmodel-perms"
DOC_PIPELINE = "https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-access.html"
DOC_EXPERIMENTS = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-experiments-tracking.html"
)
DOC_FIREHOSE = "https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html"
# Managed Spot checkpoints: SageMaker copies existing checkpoints from CheckpointConfig.S3Uri
# into the container at the start, uploads new ones, and deletes in S3 what the algorithm
# deletes locally ("Checkpoints in Amazon SageMaker AI"); it does so as the job's role
# (CreateTrainingJob permissions of the execution role).
DOC_CHECKPOINTS = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/model-checkpoints.html ; "
    "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html"
    "#sagemaker-roles-createtrainingjob-perms"
)


@dataclass(frozen=True)
class ServiceRequirement:
    id: str
    type: str  # the CloudFormation type whose resources this row reads
    role: Callable[[Assembly, Resource, Props], list[str]]  # role ARN(s) it is about
    when: Callable[[Assembly, Resource, Props], bool]
    actions: tuple[str, ...]
    resources: Arns
    doc: str
    context: tuple[tuple[str, str], ...] = ()
    # (role ARN, resource ARN) pairs, when each role needs only its own resource
    pairs: Callable[[Assembly, Resource, Props], list[tuple[str, str]]] | None = None


def _always(a: Assembly, r: Resource, p: Props) -> bool:
    return True


def _star(a: Assembly, r: Resource, p: Props) -> list[str]:
    return ["*"]


def _s3_objects(uri: str, leaf: str = f"{SUFFIX}/object") -> str:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    prefix = prefix.strip("/")
    return f"arn:aws:s3:::{bucket}/{prefix + '/' if prefix else ''}{leaf}"


def _key_arn(a: Assembly, key: str) -> str:
    return key if key.startswith("arn:") else a.arn("kms", f"key/{key}")


# -- SageMaker hosting --------------------------------------------------------------------------


def _model_role(a: Assembly, r: Resource, p: Props) -> list[str]:
    return [p["ExecutionRoleArn"]] if "ExecutionRoleArn" in p else []


def _config_models(a: Assembly, r: Resource, p: Props) -> list[Resource]:
    names = {v.get("ModelName") for v in p.get("ProductionVariants", [])}
    return [
        m
        for m in a.resources(stack=r.stack, type_="AWS::SageMaker::Model")
        if a.name_of(m.stack, m.logical_id) in names
    ]


def _config_roles(a: Assembly, r: Resource, p: Props) -> list[str]:
    return [
        role
        for m in _config_models(a, r, p)
        for role in _model_role(a, m, a.resolve(m.stack, m.properties))
    ]


def _endpoint_config(a: Assembly, r: Resource, p: Props) -> tuple[Resource, Props] | None:
    for c in a.resources(stack=r.stack, type_="AWS::SageMaker::EndpointConfig"):
        if a.name_of(c.stack, c.logical_id) == p.get("EndpointConfigName"):
            return c, a.resolve(c.stack, c.properties)
    return None


def _endpoint_roles(a: Assembly, r: Resource, p: Props) -> list[str]:
    found = _endpoint_config(a, r, p)
    return _config_roles(a, *found) if found else []


def _rollback_alarms(a: Assembly, r: Resource, p: Props) -> list[str]:
    alarms = p.get("DeploymentConfig", {}).get("AutoRollbackConfiguration", {}).get("Alarms", [])
    return [a.arn("cloudwatch", f"alarm:{x['AlarmName']}") for x in alarms]


def _capture(p: Props) -> Props:
    cfg: Props = p.get("DataCaptureConfig", {})
    return cfg if cfg.get("EnableCapture", True) and cfg else {}


def _mme_prefix(p: Props) -> str:
    container = p.get("PrimaryContainer", {})
    return str(container.get("ModelDataUrl", "")) if container.get("Mode") == "MultiModel" else ""


# -- SageMaker Pipelines ------------------------------------------------------------------------

_STEP_JOBS = {
    "Processing": (
        "CreateProcessingJob",
        "DescribeProcessingJob",
        "StopProcessingJob",
        "processing-job",
    ),
    "Training": ("CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob", "training-job"),
    "Tuning": (
        "CreateHyperParameterTuningJob",
        "DescribeHyperParameterTuningJob",
        "StopHyperParameterTuningJob",
        "hyper-parameter-tuning-job",
    ),
    "Transform": (
        "CreateTransformJob",
        "DescribeTransformJob",
        "StopTransformJob",
        "transform-job",
    ),
}


def _definition(a: Assembly, r: Resource, p: Props) -> Props:
    body = p.get("PipelineDefinition", {}).get("PipelineDefinitionBody")
    return json.loads(body) if isinstance(body, str) else {}


def _steps(definition: Props) -> list[Props]:
    found = []
    for step in definition.get("Steps", []):
        found.append(step)
        args = step.get("Arguments", {})
        for branch in ("IfSteps", "ElseSteps"):
            found.extend(_steps({"Steps": args.get(branch, [])}))
    return found


def _pipeline_role(a: Assembly, r: Resource, p: Props) -> list[str]:
    return [p["RoleArn"]]


def _job_args(step: Props) -> Props:
    args: Props = step.get("Arguments", {})
    return args.get("TrainingJobDefinition", args) if step["Type"] == "Tuning" else args


def _job_roles(definition: Props) -> list[str]:
    return sorted(
        {str(_job_args(s)["RoleArn"]) for s in _steps(definition) if "RoleArn" in _job_args(s)}
    )


def _checkpoint_prefix(step: Props) -> str:
    """A job's CheckpointConfig.S3Uri up to what is known before the run: the rendered URI
    is a Join whose first value is the fixed prefix (the execution id follows)."""
    uri = _job_args(step).get("CheckpointConfig", {}).get("S3Uri", "")
    if isinstance(uri, dict):
        values = uri.get("Std:Join", {}).get("Values", [])
        uri = values[0] if values and isinstance(values[0], str) else ""
    return str(uri)


def _checkpointing(definition: Props) -> list[Props]:
    return [s for s in _steps(definition) if _checkpoint_prefix(s)]


def _checkpoint_roles(a: Assembly, r: Resource, p: Props) -> list[str]:
    return sorted({str(_job_args(s)["RoleArn"]) for s in _checkpointing(_definition(a, r, p))})


def _checkpoint_objects(a: Assembly, r: Resource, p: Props) -> list[str]:
    return sorted(
        {_s3_objects(_checkpoint_prefix(s)) for s in _checkpointing(_definition(a, r, p))}
    )


def _checkpoint_buckets(a: Assembly, r: Resource, p: Props) -> list[str]:
    return sorted(
        {
            "arn:aws:s3:::" + _checkpoint_prefix(s).removeprefix("s3://").partition("/")[0]
            for s in _checkpointing(_definition(a, r, p))
        }
    )


def _in_vpc(step: Props) -> bool:
    args = _job_args(step)
    return bool(args.get("VpcConfig") or args.get("NetworkConfig", {}).get("VpcConfig"))


def _pipeline_rows() -> list[ServiceRequirement]:
    rows = []
    for step_type, (create, describe, stop, kind) in _STEP_JOBS.items():

        def has(a: Assembly, r: Resource, p: Props, t: str = step_type) -> bool:
            return any(s["Type"] == t for s in _steps(_definition(a, r, p)))

        def jobs(a: Assembly, r: Resource, p: Props, k: str = kind) -> list[str]:
            return [a.arn("sagemaker", f"{k}/pipelines-{SUFFIX.lower()}-step-{SUFFIX.lower()}")]

        rows.append(
            ServiceRequirement(
                f"pipeline-{step_type.lower()}-step",
                "AWS::SageMaker::Pipeline",
                _pipeline_role,
                has,
                tuple(f"sagemaker:{x}" for x in (create, describe, stop, "AddTags")),
                jobs,
                DOC_PIPELINE,
            )
        )
    rows += [
        ServiceRequirement(
            "pipeline-passes-job-role",
            "AWS::SageMaker::Pipeline",
            _pipeline_role,
            lambda a, r, p: bool(_job_roles(_definition(a, r, p))),
            ("iam:PassRole",),
            lambda a, r, p: _job_roles(_definition(a, r, p)),
            DOC_PIPELINE,
            (("iam:PassedToService", "sagemaker.amazonaws.com"),),
        ),
        ServiceRequirement(
            "pipeline-jobs-in-vpc",
            "AWS::SageMaker::Pipeline",
            lambda a, r, p: _job_roles(_definition(a, r, p)),
            lambda a, r, p: any(_in_vpc(s) for s in _steps(_definition(a, r, p))),
            ENI_ACTIONS,
            _star,
            DOC_VPC_JOBS,
        ),
        # Managed Spot training (issue 26, item 7): the training and tuning jobs' role syncs
        # the checkpoint prefix both ways.
        ServiceRequirement(
            "pipeline-jobs-read-checkpoints",
            "AWS::SageMaker::Pipeline",
            _checkpoint_roles,
            lambda a, r, p: bool(_checkpointing(_definition(a, r, p))),
            ("s3:GetObject",),
            _checkpoint_objects,
            DOC_CHECKPOINTS,
        ),
        ServiceRequirement(
            "pipeline-jobs-list-checkpoints",
            "AWS::SageMaker::Pipeline",
            _checkpoint_roles,
            lambda a, r, p: bool(_checkpointing(_definition(a, r, p))),
            ("s3:ListBucket",),
            _checkpoint_buckets,
            DOC_CHECKPOINTS,
        ),
        ServiceRequirement(
            "pipeline-jobs-write-checkpoints",
            "AWS::SageMaker::Pipeline",
            _checkpoint_roles,
            lambda a, r, p: bool(_checkpointing(_definition(a, r, p))),
            ("s3:PutObject", "s3:DeleteObject"),
            _checkpoint_objects,
            DOC_CHECKPOINTS,
        ),
        ServiceRequirement(
            "pipeline-creates-experiment",
            "AWS::SageMaker::Pipeline",
            _pipeline_role,
            lambda a, r, p: bool(_definition(a, r, p).get("PipelineExperimentConfig")),
            ("sagemaker:CreateExperiment",),
            lambda a, r, p: [a.arn("sagemaker", f"experiment/{str(p['PipelineName']).lower()}")],
            DOC_EXPERIMENTS,
        ),
        ServiceRequirement(
            "pipeline-creates-trial",
            "AWS::SageMaker::Pipeline",
            _pipeline_role,
            lambda a, r, p: bool(_definition(a, r, p).get("PipelineExperimentConfig")),
            ("sagemaker:CreateTrial",),
            lambda a, r, p: [a.arn("sagemaker", f"experiment-trial/{SUFFIX.lower()}")],
            DOC_EXPERIMENTS,
        ),
        # A Model step (the scoring pipeline's CreateModel, infra/scoring/construct.py): the
        # pipeline role creates the model and passes it its execution role.
        ServiceRequirement(
            "pipeline-model-step",
            "AWS::SageMaker::Pipeline",
            _pipeline_role,
            lambda a, r, p: any(s["Type"] == "Model" for s in _steps(_definition(a, r, p))),
            ("sagemaker:CreateModel", "sagemaker:AddTags"),
            lambda a, r, p: [a.arn("sagemaker", f"model/pipelines-{SUFFIX.lower()}")],
            DOC_PIPELINE,
        ),
        # A processing job uploads its outputs with its own role (S3 PutObject): the
        # Preprocess job's data_quality report and quarantine are how a failed data-quality
        # gate reports, so a role that cannot write them fails the gate silently.
        ServiceRequirement(
            "pipeline-processing-jobs-write-outputs",
            "AWS::SageMaker::Pipeline",
            _processing_roles,
            lambda a, r, p: bool(_processing_outputs(a, r, p)),
            ("s3:PutObject",),
            _processing_outputs,
            DOC_PROCESSING_ROLE,
        ),
        ServiceRequirement(
            "pipeline-passes-model-role",
            "AWS::SageMaker::Pipeline",
            _pipeline_role,
            lambda a, r, p: bool(_model_step_roles(_definition(a, r, p))),
            ("iam:PassRole",),
            lambda a, r, p: _model_step_roles(_definition(a, r, p)),
            DOC_CREATEMODEL,
            (("iam:PassedToService", "sagemaker.amazonaws.com"),),
        ),
    ]
    return rows


def _uri_text(node: Any) -> str:
    """An S3Uri of a definition as text: a Std:Join's step or execution values (known only
    at run time) stand as the placeholder segment an ARN pattern must still match."""
    if isinstance(node, dict) and "Std:Join" in node:
        spec = node["Std:Join"]
        return str(spec.get("On", "")).join(
            v if isinstance(v, str) else SUFFIX.lower() for v in spec.get("Values", [])
        )
    return str(node)


def _processing_outputs(a: Assembly, r: Resource, p: Props) -> list[str]:
    """Each processing step's outputs: the job role writes them (issue 26: the data-quality
    gate's report and quarantine among them)."""
    found = set()
    for step in _steps(_definition(a, r, p)):
        if step["Type"] != "Processing":
            continue
        for out in step["Arguments"].get("ProcessingOutputConfig", {}).get("Outputs", []):
            uri = _uri_text(out.get("S3Output", {}).get("S3Uri", ""))
            if uri.startswith("s3://"):
                found.add(_s3_objects(uri))
    return sorted(found)


def _processing_roles(a: Assembly, r: Resource, p: Props) -> list[str]:
    steps = _steps(_definition(a, r, p))
    return sorted({str(s["Arguments"]["RoleArn"]) for s in steps if s["Type"] == "Processing"})


def _model_step_roles(definition: Props) -> list[str]:
    return sorted(
        {
            str(s["Arguments"]["ExecutionRoleArn"])
            for s in _steps(definition)
            if s["Type"] == "Model" and "ExecutionRoleArn" in s.get("Arguments", {})
        }
    )


# -- Firehose -------------------------------------------------------------------------------------


def _fh_source_role(a: Assembly, r: Resource, p: Props) -> list[str]:
    return (
        [p["KinesisStreamSourceConfiguration"]["RoleARN"]]
        if "KinesisStreamSourceConfiguration" in p
        else []
    )


def _fh_dest(p: Props) -> Props:
    dest: Props = (
        p.get("ExtendedS3DestinationConfiguration") or p.get("S3DestinationConfiguration") or {}
    )
    return dest


def _stream_key(a: Assembly, r: Resource, p: Props) -> list[str]:
    arn = p["KinesisStreamSourceConfiguration"]["KinesisStreamARN"]
    for s in a.resources(type_="AWS::Kinesis::Stream"):
        if a.get_att(s.stack, s.logical_id, "Arn") == arn:
            enc = a.resolve(s.stack, s.properties).get("StreamEncryption", {})
            return [_key_arn(a, enc["KeyId"])] if enc.get("KeyId") else []
    return []


def _fh_log_stream(a: Assembly, r: Resource, p: Props) -> list[str]:
    opts = _fh_dest(p).get("CloudWatchLoggingOptions", {})
    return [a.arn("logs", f"log-group:{opts['LogGroupName']}:log-stream:{opts['LogStreamName']}")]


# -- EventBridge targets ------------------------------------------------------------------------

DOC_EVENTS_SAGEMAKER = "https://docs.aws.amazon.com/sagemaker/latest/dg/pipeline-eventbridge.html"
DOC_EVENTS_CODEPIPELINE = (
    "https://docs.aws.amazon.com/codepipeline/latest/userguide/create-cwe-s3-source-console.html"
)


DOC_EVENTS_BUS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html"
DOC_SMOKE_ROLE = (
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html"
)


def _smoke_role(a: Assembly, r: Resource, p: Props) -> bool:
    """issue 17: the staging account's smoke-test role (infra/stacks/target_stack.py)."""
    return str(p.get("RoleName", "")).endswith("-smoke-test")


def _staging(a: Assembly, r: Resource) -> list[tuple[Resource, Props]]:
    """The staging endpoints of the role's account, with their endpoint config's properties
    (empty when not found): what the tooling smoke test invokes."""
    found = []
    for e in a.resources(type_="AWS::SageMaker::Endpoint"):
        props = a.resolve(e.stack, e.properties)
        if a.account_of(e.stack) == a.account_of(r.stack) and str(
            props.get("EndpointName", "")
        ).endswith("-staging"):
            config = _endpoint_config(a, e, props)
            found.append((e, config[1] if config else {}))
    return found


def _staging_endpoints(a: Assembly, r: Resource, p: Props) -> list[str]:
    """Staging endpoints taking InvokeEndpoint (all but async ones)."""
    return [
        a.get_att(e.stack, e.logical_id, "Arn")
        for e, config in _staging(a, r)
        if not _async_output(config)
    ]


def _staging_async(a: Assembly, r: Resource) -> list[tuple[Resource, Props]]:
    """Async staging endpoints with their AsyncInferenceConfig.OutputConfig."""
    return [(e, _async_output(c)) for e, c in _staging(a, r) if _async_output(c)]


def _smoke_async_endpoints(a: Assembly, r: Resource, p: Props) -> list[str]:
    return [a.get_att(e.stack, e.logical_id, "Arn") for e, _ in _staging_async(a, r)]


def _smoke_async_inputs(a: Assembly, r: Resource, p: Props) -> list[str]:
    return [
        _s3_objects(_async_input_uri({"AsyncInferenceConfig": {"OutputConfig": out}}))
        for _, out in _staging_async(a, r)
    ]


def _smoke_async_answers(a: Assembly, r: Resource, p: Props) -> list[str]:
    return [
        _s3_objects(str(out[k]), f"{SUFFIX}.out")
        for _, out in _staging_async(a, r)
        for k in ("S3OutputPath", "S3FailurePath")
        if out.get(k)
    ]


DOC_S3_GET_OBJECT_PERMISSIONS = (
    "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_Permissions"
)


def _smoke_async_buckets(a: Assembly, r: Resource, p: Props) -> list[str]:
    return sorted(
        {
            "arn:aws:s3:::" + str(out[k]).removeprefix("s3://").split("/", 1)[0]
            for _, out in _staging_async(a, r)
            for k in ("S3OutputPath", "S3FailurePath")
            if out.get(k)
        }
    )


def _smoke_async_keys(a: Assembly, r: Resource, p: Props) -> list[str]:
    return sorted(
        {
            _key_arn(a, str(out["KmsKeyId"]))
            for _, out in _staging_async(a, r)
            if out.get("KmsKeyId")
        }
    )


def _smoke_async_bucket_stacks(a: Assembly, r: Resource, p: Props) -> list[str]:
    """The stack that creates each async endpoint's bucket: the smoke test reads the bucket's
    name from that stack's output (infra/cross_account.smoke_in_staging)."""
    buckets = {
        str(out["S3OutputPath"]).removeprefix("s3://").split("/", 1)[0]
        for _, out in _staging_async(a, r)
    }
    return sorted(
        a.arn("cloudformation", f"stack/{b.stack}/{SUFFIX}", account=a.account_of(b.stack))
        for b in a.resources(type_="AWS::S3::Bucket")
        if a.name_of(b.stack, b.logical_id) in buckets
    )


def _targets(p: Props, prefix: str) -> list[Props]:
    return [
        t
        for t in p.get("Targets", [])
        if str(t.get("Arn", "")).startswith(prefix) and t.get("RoleArn")
    ]


def _target_rows() -> list[ServiceRequirement]:
    rows = []
    for row_id, prefix, action, doc in (
        (
            "events-start-sagemaker-pipeline",
            "arn:aws:sagemaker:",
            "sagemaker:StartPipelineExecution",
            DOC_EVENTS_SAGEMAKER,
        ),
        (
            "events-start-codepipeline",
            "arn:aws:codepipeline:",
            "codepipeline:StartPipelineExecution",
            DOC_EVENTS_CODEPIPELINE,
        ),
        (  # issue 17: production forwards retrain requests to the tooling bus
            "events-forward-to-bus",
            "arn:aws:events:",
            "events:PutEvents",
            DOC_EVENTS_BUS,
        ),
    ):

        def roles(a: Assembly, r: Resource, p: Props, pre: str = prefix) -> list[str]:
            return sorted({str(t["RoleArn"]) for t in _targets(p, pre)})

        def arns(a: Assembly, r: Resource, p: Props, pre: str = prefix) -> list[str]:
            return sorted({str(t["Arn"]) for t in _targets(p, pre)})

        def has(a: Assembly, r: Resource, p: Props, pre: str = prefix) -> bool:
            return bool(_targets(p, pre))

        rows.append(
            ServiceRequirement(row_id, "AWS::Events::Rule", roles, has, (action,), arns, doc)
        )
    return rows


# -- CodePipeline, CodeBuild, Lambda --------------------------------------------------------------

DOC_PIPELINE_ROLE = (
    "https://docs.aws.amazon.com/codepipeline/latest/userguide/how-to-custom-role.html"
)
DOC_CODEBUILD_ACTION = (
    "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeBuild.html"
)
DOC_CODEBUILD_ROLE = (
    "https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-service-role.html"
)
DOC_LAMBDA_ROLE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html"


def _actions(p: Props) -> list[Props]:
    return [a for stage in p.get("Stages", []) for a in stage.get("Actions", [])]


def _codebuild_pairs(a: Assembly, r: Resource, p: Props) -> list[tuple[str, str]]:
    return [
        (str(x["RoleArn"]), a.arn("codebuild", f"project/{x['Configuration']['ProjectName']}"))
        for x in _actions(p)
        if x["ActionTypeId"].get("Provider") == "CodeBuild" and x.get("RoleArn")
    ]


DOC_S3_SOURCE = "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-S3.html"
DOC_APPROVAL = "https://docs.aws.amazon.com/codepipeline/latest/userguide/approvals-service-role-permissions.html"
DOC_FLOW_LOGS = "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html"
DOC_LAKE_ROLE = "https://docs.aws.amazon.com/lake-formation/latest/dg/registration-role.html"


def _action_pairs(
    provider: str, arn: Callable[[Assembly, Props], list[str]]
) -> Callable[[Assembly, Resource, Props], list[tuple[str, str]]]:
    def pairs(a: Assembly, r: Resource, p: Props) -> list[tuple[str, str]]:
        return [
            (str(x["RoleArn"]), target)
            for x in _actions(p)
            if x["ActionTypeId"].get("Provider") == provider and x.get("RoleArn")
            for target in arn(a, x.get("Configuration", {}))
        ]

    return pairs


def _log_stream(a: Assembly, group: str) -> str:
    return a.arn("logs", f"log-group:{group}:log-stream:{SUFFIX}")


def _codebuild_group(a: Assembly, r: Resource, p: Props) -> str:
    logs = p.get("LogsConfig", {}).get("CloudWatchLogs", {})
    return str(logs.get("GroupName") or f"/aws/codebuild/{a.name_of(r.stack, r.logical_id)}")


DOC_PROCESSING_ROLE = "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createprocessingjob-perms"
DOC_SCHEDULER_ROLE = "https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role"
# The templated SageMaker target: StartPipelineExecution with SageMakerPipelineParameters.
DOC_SCHEDULER_SAGEMAKER = (
    "https://docs.aws.amazon.com/scheduler/latest/APIReference/API_SageMakerPipelineParameters.html"
)


def _drift_env(p: Props) -> dict[str, str]:
    """The drift runner's environment (infra/monitoring/drift.py): it starts processing jobs
    with JOB_ROLE_ARN over the buckets and prefixes it names."""
    env = p.get("Environment", {}).get("Variables", {})
    return {k: str(v) for k, v in env.items()} if "JOB_ROLE_ARN" in env else {}


def _drift_job_role(a: Assembly, r: Resource, p: Props) -> list[str]:
    return [_drift_env(p)["JOB_ROLE_ARN"]]


def _drift_reads(a: Assembly, r: Resource, p: Props) -> list[str]:
    env = _drift_env(p)
    # the registered versions' DriftCheckBaselines lie beside the monitoring code, in the
    # lake's artifacts bucket (tooling's with separate accounts; outputs stay in production)
    artifacts = env["CODE_URI"].removeprefix("s3://").split("/", 1)[0]
    return [
        _s3_objects(f"s3://{env['CAPTURE_BUCKET']}/{env['CAPTURE_PREFIX']}"),
        _s3_objects(f"s3://{env['RAW_BUCKET']}/{env.get('RAW_PREFIX', '')}events"),
        _s3_objects(env["CODE_URI"]),
        _s3_objects(f"s3://{artifacts}/pipelines"),  # DriftCheckBaselines
    ]


def _drift_writes(a: Assembly, r: Resource, p: Props) -> list[str]:
    env = _drift_env(p)
    return [_s3_objects(f"s3://{env['ARTIFACTS_BUCKET']}/{env['OUTPUT_PREFIX']}")]


# -- customer keys passed to SageMaker (issue 22, L2) ------------------------------------------

DOC_KEY_GRANTS = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html"
    "#sagemaker-roles-createprocessingjob-perms ; "
    "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html"
    "#conditions-kms-grant-is-for-aws-resource"
)
GRANT_FOR_AWS = (("kms:GrantIsForAWSResource", "true"),)
# SageMaker create calls that take a customer key (volume, output, endpoint storage).
SAGEMAKER_KEY_CALLS = (
    "create_processing_job",
    "create_training_job",
    "create_transform_job",
    "create_endpoint_config",
    "create_hyper_parameter_tuning_job",
)


@dataclass(frozen=True)
class CodeKeyCall:
    """A Lambda function's code passes the key in ``key_env`` to SageMaker with ``call``.
    ``module`` is the handler's module (``Handler`` ``drift_runner.handler``). A runtime module
    that makes such a call without a row here fails ``tests/assurance/rehearsal`` (it parses the
    code)."""

    module: str
    call: str
    key_env: str


LAMBDA_KEY_CALLS: tuple[CodeKeyCall, ...] = (
    # infra/monitoring/runtime/drift_runner.py: VolumeKmsKeyId and the outputs' KmsKeyId
    CodeKeyCall("drift_runner", "create_processing_job", "KMS_KEY_ARN"),
)


def _code_keys(a: Assembly, r: Resource, p: Props) -> list[str]:
    module = str(p.get("Handler", "")).split(".")[0]
    env = p.get("Environment", {}).get("Variables", {})
    return sorted(
        {
            _key_arn(a, str(env[c.key_env]))
            for c in LAMBDA_KEY_CALLS
            if c.module == module and env.get(c.key_env)
        }
    )


_KEY_FIELDS = ("VolumeKmsKeyId", "KmsKeyId")


def _keys_in(value: object) -> set[str]:
    """Every literal key id/ARN under a VolumeKmsKeyId or KmsKeyId field of a job request."""
    found: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k in _KEY_FIELDS and isinstance(v, str) and v:
                found.add(v)
            else:
                found |= _keys_in(v)
    elif isinstance(value, list):
        for v in value:
            found |= _keys_in(v)
    return found


def _pipeline_keys(a: Assembly, r: Resource, p: Props) -> list[str]:
    steps = _steps(_definition(a, r, p))
    keys = set().union(*(_keys_in(s.get("Arguments", {})) for s in steps)) if steps else set()
    return sorted(_key_arn(a, k) for k in keys)


# -- dead letters sent with a role (infra/operations/dead_letters.py) ---------------------------

DOC_SCHEDULER_DLQ = (
    "https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html"
)
DOC_LAMBDA_DLQ = (
    "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html"
    "#invocation-dlq"
)
# A producer to an SSE-KMS queue needs kms:GenerateDataKey and kms:Decrypt on its key.
DOC_SQS_PRODUCER_KMS = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html#sqs-what-permissions-for-sse"


def _schedule_dlq(p: Props) -> str:
    return str(_schedule_target(p).get("DeadLetterConfig", {}).get("Arn", ""))


def _function_dlq(p: Props) -> str:
    return str(p.get("DeadLetterConfig", {}).get("TargetArn", ""))


def _queue_keys(a: Assembly, arn: str) -> list[str]:
    """The customer key of the copy's queue ``arn``, if it is encrypted with one."""
    for q in a.resources(type_="AWS::SQS::Queue"):
        if arn and a.get_att(q.stack, q.logical_id, "Arn") == arn:
            key = str(a.resolve(q.stack, q.properties).get("KmsMasterKeyId", ""))
            return [_key_arn(a, key)] if key and not key.startswith("alias/aws/") else []
    return []


DEAD_LETTER_ROWS: tuple[ServiceRequirement, ...] = (
    ServiceRequirement(
        "scheduler-sends-dead-letters",
        "AWS::Scheduler::Schedule",
        lambda a, r, p: [str(_schedule_target(p)["RoleArn"])],
        lambda a, r, p: bool(_schedule_dlq(p)),
        ("sqs:SendMessage",),
        lambda a, r, p: [_schedule_dlq(p)],
        DOC_SCHEDULER_DLQ,
    ),
    ServiceRequirement(
        "scheduler-encrypts-dead-letters",
        "AWS::Scheduler::Schedule",
        lambda a, r, p: [str(_schedule_target(p)["RoleArn"])],
        lambda a, r, p: bool(_queue_keys(a, _schedule_dlq(p))),
        ("kms:GenerateDataKey", "kms:Decrypt"),
        lambda a, r, p: _queue_keys(a, _schedule_dlq(p)),
        f"{DOC_SCHEDULER_DLQ} ; {DOC_SQS_PRODUCER_KMS}",
    ),
    ServiceRequirement(
        "lambda-sends-dead-letters",
        "AWS::Lambda::Function",
        lambda a, r, p: [str(p["Role"])],
        lambda a, r, p: _function_dlq(p).startswith("arn:aws:sqs:"),
        ("sqs:SendMessage",),
        lambda a, r, p: [_function_dlq(p)],
        DOC_LAMBDA_DLQ,
    ),
    ServiceRequirement(
        "lambda-encrypts-dead-letters",
        "AWS::Lambda::Function",
        lambda a, r, p: [str(p["Role"])],
        lambda a, r, p: bool(_queue_keys(a, _function_dlq(p))),
        ("kms:GenerateDataKey", "kms:Decrypt"),
        lambda a, r, p: _queue_keys(a, _function_dlq(p)),
        f"{DOC_LAMBDA_DLQ} ; {DOC_SQS_PRODUCER_KMS}",
    ),
)


DOC_GROUND_TRUTH = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html"
)


def _ground_truth_env(p: Props) -> dict[str, str]:
    """The ground-truth upload's environment (infra/monitoring/ground_truth.py): it reads the
    raw zone's events and writes Model Monitor's ground-truth layout."""
    env = p.get("Environment", {}).get("Variables", {})
    return {k: str(v) for k, v in env.items()} if "GROUND_TRUTH_PREFIX" in env else {}


def _schedule_target(p: Props) -> Props:
    target: Props = p.get("Target", {})
    return target


# -- SageMaker asynchronous inference (infra/serving/async_inference.py) -----------------------

DOC_ASYNC_ROLE = "https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-create-endpoint-prerequisites.html"
DOC_ASYNC_SNS = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-check-predictions.html"
)
DOC_SNS_KMS = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"
DOC_SSE_KMS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"


def _async_output(p: Props) -> Props:
    out: Props = p.get("AsyncInferenceConfig", {}).get("OutputConfig", {})
    return out


def _async_input_uri(p: Props) -> str:
    """Clients upload requests beside the answers: the input prefix of the async contract."""
    from core.async_contract import INPUT_PREFIX, OUTPUT_PREFIX

    return str(_async_output(p)["S3OutputPath"]).replace(f"/{OUTPUT_PREFIX}/", f"/{INPUT_PREFIX}/")


def _async_topics(p: Props) -> list[str]:
    notify = _async_output(p).get("NotificationConfig", {})
    return [str(notify[k]) for k in ("SuccessTopic", "ErrorTopic") if notify.get(k)]


def _topic_keys(a: Assembly, r: Resource, p: Props) -> list[str]:
    arns = set(_async_topics(p))
    keys = []
    for t in a.resources(stack=r.stack, type_="AWS::SNS::Topic"):
        if a.ref(t.stack, t.logical_id) in arns:
            key = a.resolve(t.stack, t.properties).get("KmsMasterKeyId")
            if key:
                keys.append(_key_arn(a, str(key)))
    return sorted(set(keys))


ASYNC_ROWS: tuple[ServiceRequirement, ...] = (
    ServiceRequirement(
        "async-reads-requests",
        "AWS::SageMaker::EndpointConfig",
        _config_roles,
        lambda a, r, p: bool(_async_output(p).get("S3OutputPath")),
        ("s3:GetObject",),
        lambda a, r, p: [_s3_objects(_async_input_uri(p))],
        DOC_ASYNC_ROLE,
    ),
    ServiceRequirement(
        "async-writes-results",
        "AWS::SageMaker::EndpointConfig",
        _config_roles,
        lambda a, r, p: bool(_async_output(p).get("S3OutputPath")),
        ("s3:PutObject",),
        lambda a, r, p: [
            _s3_objects(str(_async_output(p)[k]), f"{SUFFIX}.out")
            for k in ("S3OutputPath", "S3FailurePath")
            if _async_output(p).get(k)
        ],
        DOC_ASYNC_ROLE,
    ),
    ServiceRequirement(
        "async-encrypts-results",
        "AWS::SageMaker::EndpointConfig",
        _config_roles,
        lambda a, r, p: bool(_async_output(p).get("KmsKeyId")),
        ("kms:GenerateDataKey",),
        lambda a, r, p: [_key_arn(a, str(_async_output(p)["KmsKeyId"]))],
        DOC_SSE_KMS,
    ),
    ServiceRequirement(
        "async-publishes-notifications",
        "AWS::SageMaker::EndpointConfig",
        _config_roles,
        lambda a, r, p: bool(_async_topics(p)),
        ("sns:Publish",),
        lambda a, r, p: _async_topics(p),
        DOC_ASYNC_SNS,
    ),
    ServiceRequirement(
        "async-notifications-use-topic-key",
        "AWS::SageMaker::EndpointConfig",
        _config_roles,
        lambda a, r, p: bool(_topic_keys(a, r, p)),
        ("kms:GenerateDataKey", "kms:Decrypt"),
        _topic_keys,
        DOC_SNS_KMS,
    ),
)


# The staging smoke test as an async client (issue 25, infra/stacks/target_stack._smoke_async):
# what `labctl invoke --async` calls with the smoke role (ops/invoke_async.py), and the lookup of
# the staging bucket's name before it (infra/cross_account.smoke_in_staging).
DOC_INVOKE_ASYNC = (
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpointAsync.html"
)
DOC_CFN_DESCRIBE = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html"
)


def _smoke_role_row(
    id_: str, actions: tuple[str, ...], resources: Arns, doc: str
) -> ServiceRequirement:
    return ServiceRequirement(
        id_,
        "AWS::IAM::Role",
        lambda a, r, p: [a.get_att(r.stack, r.logical_id, "Arn")],
        _smoke_role,
        actions,
        resources,
        doc,
    )


SMOKE_ASYNC_ROWS: tuple[ServiceRequirement, ...] = (
    _smoke_role_row(
        "smoke-role-invokes-staging-async",
        ("sagemaker:InvokeEndpointAsync",),
        _smoke_async_endpoints,
        DOC_INVOKE_ASYNC,
    ),
    _smoke_role_row(
        "smoke-role-uploads-async-request",
        ("s3:PutObject",),
        _smoke_async_inputs,
        DOC_INVOKE_ASYNC,
    ),
    _smoke_role_row(
        "smoke-role-reads-async-answer",
        ("s3:GetObject",),
        _smoke_async_answers,
        DOC_ASYNC_SNS,
    ),
    # labctl invoke --async checks the input bucket (HeadBucket) and polls for the answer: both
    # need s3:ListBucket on the bucket, or a missing answer is 403, not 404 (Amazon S3 API
    # Reference, HeadBucket and GetObject, "Permissions").
    _smoke_role_row(
        "smoke-role-lists-async-bucket",
        ("s3:ListBucket",),
        _smoke_async_buckets,
        DOC_S3_GET_OBJECT_PERMISSIONS,
    ),
    # The request is uploaded SSE-KMS and the answer read back: the bucket's default key and
    # the output KmsKeyId are the target key (S3 user guide, "Using server-side encryption
    # with AWS KMS keys": PutObject needs kms:GenerateDataKey, GetObject kms:Decrypt).
    _smoke_role_row(
        "smoke-role-async-key",
        ("kms:GenerateDataKey", "kms:Decrypt"),
        _smoke_async_keys,
        DOC_SSE_KMS,
    ),
    _smoke_role_row(
        "smoke-role-finds-async-bucket",
        ("cloudformation:DescribeStacks",),
        _smoke_async_bucket_stacks,
        DOC_CFN_DESCRIBE,
    ),
)


# -- The expiry reaper (infra/operations/expiry.py; its calls: runtime/reaper/reaper.py) --

# Actions, their resource types and ARN formats: Service Authorization Reference.
DOC_SAR_SAGEMAKER = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemakerai.html"
)
DOC_SAR_SNS = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html"
)


def _reaper_env(p: Props) -> dict[str, str]:
    """The reaper's environment: it lists ``<ENV_NAME>-*`` endpoints, reads their tags, deletes
    expired hand-made ones and publishes its report to TOPIC_ARN. It never calls CloudFormation:
    it leaves stack-managed endpoints to their stacks (model_code/stack_contract.py)."""
    env = p.get("Environment", {}).get("Variables", {})
    keys = ("ENV_NAME", "MAX_DELETES", "TOPIC_ARN")
    return {k: str(v) for k, v in env.items()} if all(k in env for k in keys) else {}


def _reaped_endpoint(a: Assembly, r: Resource, p: Props) -> list[str]:
    # SageMaker ARNs carry the name in lower case; an endpoint the reaper finds by its prefix
    return [a.arn("sagemaker", f"endpoint/{_reaper_env(p)['ENV_NAME'].lower()}-{SUFFIX.lower()}")]


def _topic_key(a: Assembly, topic_arn: str) -> list[str]:
    for t in a.resources(type_="AWS::SNS::Topic"):
        if a.ref(t.stack, t.logical_id) == topic_arn:
            key = a.resolve(t.stack, t.properties).get("KmsMasterKeyId")
            return [_key_arn(a, str(key))] if key else []
    return []


def _reaper_row(row_id: str, actions: tuple[str, ...], arns: Arns, doc: str) -> ServiceRequirement:
    return ServiceRequirement(
        row_id,
        "AWS::Lambda::Function",
        lambda a, r, p: [str(p["Role"])],
        lambda a, r, p: bool(_reaper_env(p)),
        actions,
        arns,
        doc,
    )


REAPER_ROWS: tuple[ServiceRequirement, ...] = (
    # ListEndpoints has no resource types, so only "*" grants it
    _reaper_row("reaper-lists-endpoints", ("sagemaker:ListEndpoints",), _star, DOC_SAR_SAGEMAKER),
    _reaper_row(
        "reaper-reads-endpoint-tags", ("sagemaker:ListTags",), _reaped_endpoint, DOC_SAR_SAGEMAKER
    ),
    _reaper_row(
        "reaper-deletes-expired-endpoints",
        ("sagemaker:DeleteEndpoint",),
        _reaped_endpoint,
        DOC_SAR_SAGEMAKER,
    ),
    _reaper_row(
        "reaper-publishes-its-report",
        ("sns:Publish",),
        lambda a, r, p: [_reaper_env(p)["TOPIC_ARN"]],
        DOC_SAR_SNS,
    ),
    _reaper_row(
        "reaper-report-uses-topic-key",
        ("kms:GenerateDataKey", "kms:Decrypt"),
        lambda a, r, p: _topic_key(a, _reaper_env(p)["TOPIC_ARN"]),
        DOC_SNS_KMS,
    ),
)


def _has_image(kind: str) -> Callable[[Assembly, Resource, Props], bool]:
    def when(a: Assembly, r: Resource, p: Props) -> bool:
        return bool(_job_definition_image(kind, p))

    return when


def _image_repository(kind: str) -> Arns:
    def repository(a: Assembly, r: Resource, p: Props) -> list[str]:
        return [_ecr_repo(_job_definition_image(kind, p))]

    return repository


def _report_config(kind: str, p: Props) -> Props:
    """A monitoring job definition's ``<Kind>JobOutputConfig``."""
    cfg: Props = p.get(f"{kind}JobOutputConfig", {})
    return cfg


def _reports(kind: str) -> Arns:
    """Where a monitoring job definition's executions write their reports (S3Output.S3Uri)."""

    def objects(a: Assembly, r: Resource, p: Props) -> list[str]:
        outputs = _report_config(kind, p).get("MonitoringOutputs", [])
        return [_s3_objects(str(o["S3Output"]["S3Uri"])) for o in outputs if "S3Output" in o]

    return objects


def _reports_key(kind: str) -> Arns:
    def key(a: Assembly, r: Resource, p: Props) -> list[str]:
        found = _report_config(kind, p).get("KmsKeyId")
        return [_key_arn(a, str(found))] if found else []

    return key


def _writes_reports(kind: str) -> Callable[[Assembly, Resource, Props], bool]:
    def when(a: Assembly, r: Resource, p: Props) -> bool:
        return bool(_reports(kind)(a, r, p))

    return when


def _encrypts_reports(kind: str) -> Callable[[Assembly, Resource, Props], bool]:
    def when(a: Assembly, r: Resource, p: Props) -> bool:
        return bool(_reports_key(kind)(a, r, p))

    return when


MONITOR_KINDS = ("DataQuality", "ModelQuality", "ModelExplainability", "ModelBias")

ROWS: tuple[ServiceRequirement, ...] = (
    ServiceRequirement(
        "hosting-in-vpc",
        "AWS::SageMaker::Model",
        _model_role,
        lambda a, r, p: bool(p.get("VpcConfig")),
        ENI_ACTIONS,
        _star,
        DOC_VPC_HOSTING,
    ),
    ServiceRequirement(
        "hosting-reads-mme-prefix",
        "AWS::SageMaker::Model",
        _model_role,
        lambda a, r, p: bool(_mme_prefix(p)),
        ("s3:GetObject",),
        lambda a, r, p: [_s3_objects(_mme_prefix(p), "digits-xgboost-1.tar.gz")],
        DOC_CREATEMODEL,
    ),
    ServiceRequirement(
        "hosting-pulls-image",
        "AWS::SageMaker::Model",
        _model_role,
        lambda a, r, p: any(
            "Image" in c for c in [p.get("PrimaryContainer", {}), *p.get("Containers", [])]
        ),
        ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
        lambda a, r, p: [
            _ecr_repo(str(c["Image"]))
            for c in [p.get("PrimaryContainer", {}), *p.get("Containers", [])]
            if "Image" in c
        ],
        DOC_CREATEMODEL,
    ),
    ServiceRequirement(
        "guardrail-reads-rollback-alarms",
        "AWS::SageMaker::Endpoint",
        _endpoint_roles,
        lambda a, r, p: bool(_rollback_alarms(a, r, p)),
        ("cloudwatch:DescribeAlarms",),
        _rollback_alarms,
        DOC_GUARDRAILS,
    ),
    ServiceRequirement(
        "capture-writes-prefix",
        "AWS::SageMaker::EndpointConfig",
        _config_roles,
        lambda a, r, p: bool(_capture(p)),
        ("s3:PutObject",),
        lambda a, r, p: [_s3_objects(str(_capture(p)["DestinationS3Uri"]))],
        DOC_CAPTURE,
    ),
    ServiceRequirement(
        "capture-encrypts-with-key",
        "AWS::SageMaker::EndpointConfig",
        _config_roles,
        lambda a, r, p: bool(_capture(p).get("KmsKeyId")),
        ("kms:GenerateDataKey", "kms:Encrypt"),
        lambda a, r, p: [_key_arn(a, str(_capture(p)["KmsKeyId"]))],
        DOC_CAPTURE,
    ),
    *ASYNC_ROWS,
    *DEAD_LETTER_ROWS,
    *REAPER_ROWS,
    *_pipeline_rows(),
    *_target_rows(),
    ServiceRequirement(
        "smoke-role-invokes-staging",
        "AWS::IAM::Role",
        lambda a, r, p: [a.get_att(r.stack, r.logical_id, "Arn")],
        _smoke_role,
        ("sagemaker:InvokeEndpoint",),
        _staging_endpoints,
        DOC_SMOKE_ROLE,
    ),
    *SMOKE_ASYNC_ROWS,
    ServiceRequirement(
        "codepipeline-assumes-action-roles",
        "AWS::CodePipeline::Pipeline",
        lambda a, r, p: [str(p["RoleArn"])],
        lambda a, r, p: any(x.get("RoleArn") for x in _actions(p)),
        ("sts:AssumeRole",),
        lambda a, r, p: sorted({str(x["RoleArn"]) for x in _actions(p) if x.get("RoleArn")}),
        DOC_PIPELINE_ROLE,
    ),
    *(
        ServiceRequirement(
            f"codepipeline-{verb.lower()}",
            "AWS::CodePipeline::Pipeline",
            lambda a, r, p: [],  # roles come with their projects: see pairs
            lambda a, r, p: bool(_codebuild_pairs(a, r, p)),
            (f"codebuild:{verb}",),
            _star,
            DOC_CODEBUILD_ACTION,
            pairs=_codebuild_pairs,
        )
        for verb in ("StartBuild", "BatchGetBuilds")
    ),
    ServiceRequirement(
        "codepipeline-s3-source-object",
        "AWS::CodePipeline::Pipeline",
        lambda a, r, p: [],
        lambda a, r, p: True,
        ("s3:GetObject", "s3:GetObjectVersion"),
        _star,
        DOC_S3_SOURCE,
        pairs=_action_pairs(
            "S3", lambda a, c: [f"arn:aws:s3:::{c['S3Bucket']}/{c['S3ObjectKey']}"]
        ),
    ),
    ServiceRequirement(
        "codepipeline-s3-source-bucket",
        "AWS::CodePipeline::Pipeline",
        lambda a, r, p: [],
        lambda a, r, p: True,
        ("s3:GetBucketVersioning",),
        _star,
        DOC_S3_SOURCE,
        pairs=_action_pairs("S3", lambda a, c: [f"arn:aws:s3:::{c['S3Bucket']}"]),
    ),
    ServiceRequirement(
        "codepipeline-approval-notifies",
        "AWS::CodePipeline::Pipeline",
        lambda a, r, p: [],
        lambda a, r, p: True,
        ("sns:Publish",),
        _star,
        DOC_APPROVAL,
        pairs=_action_pairs(
            "Manual", lambda a, c: [str(c["NotificationArn"])] if c.get("NotificationArn") else []
        ),
    ),
    ServiceRequirement(
        "flow-logs-write",
        "AWS::EC2::FlowLog",
        lambda a, r, p: [str(p["DeliverLogsPermissionArn"])],
        lambda a, r, p: bool(p.get("DeliverLogsPermissionArn") and p.get("LogGroupName")),
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        lambda a, r, p: [_log_stream(a, str(p["LogGroupName"]))],
        DOC_FLOW_LOGS,
    ),
    ServiceRequirement(
        "lake-formation-reads-location",
        "AWS::LakeFormation::Resource",
        lambda a, r, p: [str(p["RoleArn"])] if p.get("RoleArn") else [],
        lambda a, r, p: bool(p.get("RoleArn")) and not p.get("UseServiceLinkedRole"),
        ("s3:GetObject", "s3:PutObject"),
        lambda a, r, p: [f"{str(p['ResourceArn']).rstrip('/')}/{SUFFIX}.parquet"],
        DOC_LAKE_ROLE,
    ),
    ServiceRequirement(
        "codebuild-writes-logs",
        "AWS::CodeBuild::Project",
        lambda a, r, p: [str(p["ServiceRole"])],
        lambda a, r, p: (
            p.get("LogsConfig", {}).get("CloudWatchLogs", {}).get("Status") != "DISABLED"
        ),
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        lambda a, r, p: [_log_stream(a, _codebuild_group(a, r, p))],
        DOC_CODEBUILD_ROLE,
    ),
    ServiceRequirement(
        "codebuild-uses-key",
        "AWS::CodeBuild::Project",
        lambda a, r, p: [str(p["ServiceRole"])],
        lambda a, r, p: bool(p.get("EncryptionKey")),
        ("kms:Decrypt", "kms:GenerateDataKey"),
        lambda a, r, p: [_key_arn(a, str(p["EncryptionKey"]))],
        DOC_CODEBUILD_ROLE,
    ),
    ServiceRequirement(
        "drift-job-reads-its-inputs",
        "AWS::Lambda::Function",
        _drift_job_role,
        lambda a, r, p: bool(_drift_env(p)),
        ("s3:GetObject",),
        _drift_reads,
        DOC_PROCESSING_ROLE,
    ),
    ServiceRequirement(
        "drift-job-writes-its-outputs",
        "AWS::Lambda::Function",
        _drift_job_role,
        lambda a, r, p: bool(_drift_env(p)),
        ("s3:PutObject",),
        _drift_writes,
        DOC_PROCESSING_ROLE,
    ),
    ServiceRequirement(
        "drift-job-uses-the-lake-key",
        "AWS::Lambda::Function",
        _drift_job_role,
        lambda a, r, p: bool(_drift_env(p)),
        ("kms:Decrypt", "kms:GenerateDataKey"),
        lambda a, r, p: [_key_arn(a, _drift_env(p)["KMS_KEY_ARN"])],
        DOC_PROCESSING_ROLE,
    ),
    ServiceRequirement(
        "drift-job-writes-logs",
        "AWS::Lambda::Function",
        _drift_job_role,
        lambda a, r, p: bool(_drift_env(p)),
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        lambda a, r, p: [_log_stream(a, "/aws/sagemaker/ProcessingJobs")],
        DOC_PROCESSING_ROLE,
    ),
    ServiceRequirement(  # the runner's jobs join the VPC (JOB_SUBNETS) in isolated profiles
        "drift-jobs-in-vpc",
        "AWS::Lambda::Function",
        _drift_job_role,
        lambda a, r, p: bool(_drift_env(p).get("JOB_SUBNETS")),
        ENI_ACTIONS,
        _star,
        DOC_VPC_JOBS,
    ),
    *(
        ServiceRequirement(  # Model Monitor / Clarify executions in the VPC
            f"monitoring-{kind.lower()}-in-vpc",
            f"AWS::SageMaker::{kind}JobDefinition",
            lambda a, r, p: [p["RoleArn"]],
            lambda a, r, p: bool(p.get("NetworkConfig", {}).get("VpcConfig")),
            ENI_ACTIONS,
            _star,
            DOC_VPC_JOBS,
        )
        for kind in ("DataQuality", "ModelQuality", "ModelExplainability", "ModelBias")
    ),
    ServiceRequirement(  # the runner's jobs run IMAGE_URI with the job role
        "drift-jobs-pull-image",
        "AWS::Lambda::Function",
        _drift_job_role,
        lambda a, r, p: bool(_drift_env(p).get("IMAGE_URI")),
        ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
        lambda a, r, p: [_ecr_repo(_drift_env(p)["IMAGE_URI"])],
        DOC_PROCESSING_ROLE,
    ),
    *(
        ServiceRequirement(  # Model Monitor / Clarify executions pull the analyzer image
            f"monitoring-{kind.lower()}-pulls-image",
            f"AWS::SageMaker::{kind}JobDefinition",
            lambda a, r, p: [p["RoleArn"]],
            _has_image(kind),
            ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
            _image_repository(kind),
            DOC_PROCESSING_ROLE,
        )
        for kind in ("DataQuality", "ModelQuality", "ModelExplainability", "ModelBias")
    ),
    *(
        ServiceRequirement(  # Model Monitor / Clarify executions write their reports (in
            # production's capture bucket across accounts, issue 25)
            f"monitoring-{kind.lower()}-writes-reports",
            f"AWS::SageMaker::{kind}JobDefinition",
            lambda a, r, p: [p["RoleArn"]],
            _writes_reports(kind),
            ("s3:PutObject",),
            _reports(kind),
            DOC_PROCESSING_ROLE,
        )
        for kind in MONITOR_KINDS
    ),
    *(
        ServiceRequirement(  # ... encrypted with the output config's key
            f"monitoring-{kind.lower()}-encrypts-reports",
            f"AWS::SageMaker::{kind}JobDefinition",
            lambda a, r, p: [p["RoleArn"]],
            _encrypts_reports(kind),
            ("kms:GenerateDataKey",),
            _reports_key(kind),
            DOC_PROCESSING_ROLE,
        )
        for kind in MONITOR_KINDS
    ),
    ServiceRequirement(
        "drift-runner-starts-jobs-with-the-job-role",
        "AWS::Lambda::Function",
        lambda a, r, p: [str(p["Role"])],
        lambda a, r, p: bool(_drift_env(p)),
        ("iam:PassRole",),
        _drift_job_role,
        DOC_PROCESSING_ROLE,
        (("iam:PassedToService", "sagemaker.amazonaws.com"),),
    ),
    ServiceRequirement(
        "drift-runner-creates-its-jobs",
        "AWS::Lambda::Function",
        lambda a, r, p: [str(p["Role"])],
        lambda a, r, p: bool(_drift_env(p)),
        ("sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob"),
        lambda a, r, p: [a.arn("sagemaker", f"processing-job/{_drift_env(p)['JOB_PREFIX']}-x")],
        DOC_PROCESSING_ROLE,
    ),
    ServiceRequirement(
        "lambda-code-passes-key-to-sagemaker",
        "AWS::Lambda::Function",
        lambda a, r, p: [str(p["Role"])],
        lambda a, r, p: bool(_code_keys(a, r, p)),
        ("kms:CreateGrant",),
        _code_keys,
        DOC_KEY_GRANTS,
        GRANT_FOR_AWS,
    ),
    ServiceRequirement(
        "pipeline-passes-key-to-jobs",
        "AWS::SageMaker::Pipeline",
        _pipeline_role,
        lambda a, r, p: bool(_pipeline_keys(a, r, p)),
        ("kms:CreateGrant",),
        _pipeline_keys,
        DOC_KEY_GRANTS,
        GRANT_FOR_AWS,
    ),
    ServiceRequirement(
        "ground-truth-reads-raw-events",
        "AWS::Lambda::Function",
        lambda a, r, p: [str(p["Role"])],
        lambda a, r, p: bool(_ground_truth_env(p)),
        ("s3:GetObject",),
        lambda a, r, p: [_s3_objects(f"s3://{_ground_truth_env(p)['RAW_BUCKET']}/events")],
        DOC_GROUND_TRUTH,
    ),
    ServiceRequirement(
        "ground-truth-lists-raw-hours",
        "AWS::Lambda::Function",
        lambda a, r, p: [str(p["Role"])],
        lambda a, r, p: bool(_ground_truth_env(p)),
        ("s3:ListBucket",),
        lambda a, r, p: [f"arn:aws:s3:::{_ground_truth_env(p)['RAW_BUCKET']}"],
        DOC_GROUND_TRUTH,
    ),
    ServiceRequirement(
        "ground-truth-writes-its-prefix",
        "AWS::Lambda::Function",
        lambda a, r, p: [str(p["Role"])],
        lambda a, r, p: bool(_ground_truth_env(p)),
        ("s3:PutObject",),
        lambda a, r, p: [
            _s3_objects(
                f"s3://{_ground_truth_env(p)['ARTIFACTS_BUCKET']}/"
                f"{_ground_truth_env(p)['GROUND_TRUTH_PREFIX']}",
                "2026/11/29/01/events.jsonl",
            )
        ],
        DOC_GROUND_TRUTH,
    ),
    ServiceRequirement(
        "scheduler-invokes-its-target",
        "AWS::Scheduler::Schedule",
        lambda a, r, p: [str(_schedule_target(p)["RoleArn"])],
        lambda a, r, p: str(_schedule_target(p).get("Arn", "")).startswith("arn:aws:lambda:"),
        ("lambda:InvokeFunction",),
        lambda a, r, p: [str(_schedule_target(p)["Arn"])],
        DOC_SCHEDULER_ROLE,
    ),
    ServiceRequirement(  # infra/scoring/schedule.py: batch.schedule
        "scheduler-starts-scoring-pipeline",
        "AWS::Scheduler::Schedule",
        lambda a, r, p: [str(_schedule_target(p)["RoleArn"])],
        lambda a, r, p: ":pipeline/" in str(_schedule_target(p).get("Arn", "")),
        ("sagemaker:StartPipelineExecution",),
        lambda a, r, p: [str(_schedule_target(p)["Arn"])],
        DOC_SCHEDULER_SAGEMAKER,
    ),
    ServiceRequirement(
        "lambda-writes-logs",
        "AWS::Lambda::Function",
        lambda a, r, p: [str(p["Role"])],
        lambda a, r, p: "Role" in p,
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        lambda a, r, p: [
            _log_stream(
                a,
                str(
                    p.get("LoggingConfig", {}).get("LogGroup")
                    or f"/aws/lambda/{a.name_of(r.stack, r.logical_id)}"
                ),
            )
        ],
        DOC_LAMBDA_ROLE,
    ),
    ServiceRequirement(
        "firehose-reads-stream",
        "AWS::KinesisFirehose::DeliveryStream",
        _fh_source_role,
        lambda a, r, p: "KinesisStreamSourceConfiguration" in p,
        (
            "kinesis:DescribeStream",
            "kinesis:GetShardIterator",
            "kinesis:GetRecords",
            "kinesis:ListShards",
        ),
        lambda a, r, p: [p["KinesisStreamSourceConfiguration"]["KinesisStreamARN"]],
        DOC_FIREHOSE,
    ),
    ServiceRequirement(
        "firehose-decrypts-stream",
        "AWS::KinesisFirehose::DeliveryStream",
        _fh_source_role,
        lambda a, r, p: "KinesisStreamSourceConfiguration" in p and bool(_stream_key(a, r, p)),
        ("kms:Decrypt",),
        _stream_key,
        DOC_FIREHOSE,
    ),
    ServiceRequirement(
        "firehose-writes-bucket",
        "AWS::KinesisFirehose::DeliveryStream",
        lambda a, r, p: [_fh_dest(p)["RoleARN"]] if _fh_dest(p) else [],
        lambda a, r, p: bool(_fh_dest(p)),
        (
            "s3:AbortMultipartUpload",
            "s3:GetBucketLocation",
            "s3:GetObject",
            "s3:ListBucket",
            "s3:ListBucketMultipartUploads",
            "s3:PutObject",
        ),
        lambda a, r, p: [
            _fh_dest(p)["BucketARN"],
            f"{_fh_dest(p)['BucketARN']}/events/{SUFFIX}.gz",
        ],
        DOC_FIREHOSE,
    ),
    ServiceRequirement(
        "firehose-encrypts-with-key",
        "AWS::KinesisFirehose::DeliveryStream",
        lambda a, r, p: [_fh_dest(p)["RoleARN"]] if _fh_dest(p) else [],
        lambda a, r, p: bool(
            _fh_dest(p).get("EncryptionConfiguration", {}).get("KMSEncryptionConfig")
        ),
        ("kms:GenerateDataKey", "kms:Decrypt"),
        lambda a, r, p: [
            _fh_dest(p)["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"]
        ],
        DOC_FIREHOSE,
    ),
    ServiceRequirement(
        "firehose-logs-errors",
        "AWS::KinesisFirehose::DeliveryStream",
        lambda a, r, p: [_fh_dest(p)["RoleARN"]] if _fh_dest(p) else [],
        lambda a, r, p: bool(_fh_dest(p).get("CloudWatchLoggingOptions", {}).get("Enabled")),
        ("logs:PutLogEvents",),
        _fh_log_stream,
        DOC_FIREHOSE,
    ),
)


def _job_definition_image(kind: str, p: Props) -> str:
    """A monitoring job definition's image: ``<Kind>AppSpecification.ImageUri``."""
    return str(p.get(f"{kind}AppSpecification", {}).get("ImageUri", ""))


def _ecr_repo(image: str) -> str:
    host, _, path = image.partition("/")
    account, region = host.split(".")[0], host.split(".")[3]
    repo = path.split("@")[0].split(":")[0]
    return f"arn:aws:ecr:{region}:{account}:repository/{repo}"


def _role_key(a: Assembly, arn: str) -> str:
    for res in a.resources(type_="AWS::IAM::Role"):
        if a.get_att(res.stack, res.logical_id, "Arn") == arn:
            return res.key
    return arn


def requirements(
    assembly: Assembly, rows: tuple[ServiceRequirement, ...] = ROWS
) -> list[Requirement]:
    reqs = []
    for row in rows:
        for res in assembly.resources(type_=row.type):
            assembly.in_stack(res.stack)  # ARNs built in the rows carry this stack's account
            props = assembly.resolve(res.stack, res.properties)
            if not row.when(assembly, res, props):
                continue
            if row.pairs is not None:
                pairs = row.pairs(assembly, res, props)
            else:
                arns = row.resources(assembly, res, props)
                pairs = [(role, arn) for role in row.role(assembly, res, props) for arn in arns]
            for role, arn in pairs:
                for action in row.actions:
                    reqs.append(
                        Requirement(
                            _role_key(assembly, role),
                            action,
                            arn,
                            f"service-role row {row.id}",
                            row.doc,
                            row.context,
                            res.key,
                        )
                    )
    assembly.in_stack(None)
    return reqs
