"""Inventory: every resource of every stack with the settings a reviewer checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assurance.review.assembly import Assembly, Resource
from assurance.review.lens import pipeline_parameters

# Property names that carry a KMS key (S3, SNS, Kinesis, Firehose, Logs, SageMaker, CodeBuild,
# CodePipeline artifact stores, Glue, flow logs).
_KEY_PROPS = {
    "KMSMasterKeyID",
    "KmsMasterKeyId",
    "KmsKeyId",
    "KmsKeyArn",
    "KMSKeyArn",
    "AWSKMSKeyARN",
    "EncryptionKey",
    "VolumeKmsKeyId",
    "OutputKmsKeyId",
}


@dataclass(frozen=True)
class Item:
    stack: str
    logical_id: str
    path: str
    type: str
    encryption: str
    deletion: str
    isolation: str
    capacity: str


def _walk(value: Any, prefix: str = "") -> list[tuple[str, str, Any]]:
    """(dotted path, key, value) for every mapping entry inside a value."""
    out: list[tuple[str, str, Any]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else key
            out.append((path, key, child))
            out += _walk(child, path)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += _walk(child, f"{prefix}[{index}]")
    return out


def key_label(assembly: Assembly, resource: Resource, value: Any) -> str:
    """A KMS key reference as a reviewer reads it: the key's logical id, or the literal."""
    if isinstance(value, dict) and set(value) == {"Id"}:
        value = value["Id"]
    refs = assembly.resolve(resource.stack, value)
    for stack, logical in refs:
        other = assembly.stack(stack)
        target = other.resource(logical) if other else None
        if target is not None:
            return f"{logical}" if stack == resource.stack else f"{stack}/{logical}"
    if isinstance(value, str):
        return value
    return "(unresolved)"


def encryption(assembly: Assembly, resource: Resource) -> str:
    """What encrypts the resource at rest, as declared in its template; '' if nothing does."""
    props = resource.properties
    if resource.type == "AWS::S3::Bucket":
        rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        for rule in rules:
            default = rule.get("ServerSideEncryptionByDefault", {})
            if default.get("SSEAlgorithm") == "aws:kms":
                key = default.get("KMSMasterKeyID")
                return "SSE-KMS " + (key_label(assembly, resource, key) if key else "(AWS key)")
            if default.get("SSEAlgorithm"):
                return f"SSE-S3 ({default['SSEAlgorithm']})"
        return ""
    if resource.type == "AWS::Kinesis::Stream":
        enc = props.get("StreamEncryption", {})
        if enc.get("EncryptionType") == "KMS":
            return "KMS " + key_label(assembly, resource, enc.get("KeyId"))
        return ""
    if resource.type == "AWS::SageMaker::Pipeline":
        text = " ".join(assembly.strings(props.get("PipelineDefinition")))
        keys = text.count('"VolumeKmsKeyId"') + text.count('"KmsKeyId"')
        return f"job volumes/outputs: {keys} KMS key settings in the definition" if keys else ""
    found = []
    for path, key, value in _walk(props):
        if key in _KEY_PROPS and not isinstance(value, bool):
            label = key_label(assembly, resource, value)
            where = path.rsplit(".", 1)[0] if "." in path else ""
            found.append(f"{label} ({where})" if where else label)
    return "; ".join(dict.fromkeys(found))


def deletion(resource: Resource) -> str:
    props = resource.properties
    parts = [resource.deletion_policy]
    if resource.type == "AWS::S3::Bucket":
        for rule in props.get("LifecycleConfiguration", {}).get("Rules", []):
            if "ExpirationInDays" in rule:
                parts.append(f"objects expire after {rule['ExpirationInDays']} d")
    if resource.type == "AWS::Kinesis::Stream" and "RetentionPeriodHours" in props:
        parts.append(f"records kept {props['RetentionPeriodHours']} h")
    if resource.type == "AWS::Logs::LogGroup":
        days = props.get("RetentionInDays")
        parts.append(f"logs kept {days} d" if days else "logs kept forever")
    if resource.type == "AWS::KMS::Key" and "PendingWindowInDays" in props:
        parts.append(f"{props['PendingWindowInDays']} d pending window")
    return ", ".join(parts)


def isolation(assembly: Assembly, resource: Resource) -> str:
    props = resource.properties
    parts = []
    if props.get("EnableNetworkIsolation") is True:
        parts.append("network isolation")
    if "VpcConfig" in props:
        parts.append("in VPC")
    if resource.type == "AWS::SageMaker::Pipeline":
        text = " ".join(assembly.strings(props.get("PipelineDefinition")))
        iso = text.count('"EnableNetworkIsolation": true')
        enc = text.count('"EnableInterContainerTrafficEncryption": true')
        vpc = text.count('"VpcConfig"')
        parts.append(f"{iso} jobs network-isolated, {enc} with inter-container encryption")
        if vpc:
            parts.append(f"{vpc} jobs in VPC")
    if resource.type == "AWS::S3::Bucket":
        block = props.get("PublicAccessBlockConfiguration", {})
        if block and all(block.get(k) for k in ("BlockPublicAcls", "BlockPublicPolicy")):
            parts.append("Block Public Access")
    if resource.type == "AWS::EC2::Subnet":
        parts.append("public IPs" if props.get("MapPublicIpOnLaunch") else "no public IPs")
    return ", ".join(parts)


def capacity(assembly: Assembly, resource: Resource) -> str:
    props = resource.properties
    if resource.type == "AWS::SageMaker::EndpointConfig":
        out = []
        for variant in props.get("ProductionVariants", []):
            if "ServerlessConfig" in variant:
                cfg = variant["ServerlessConfig"]
                out.append(
                    f"serverless {cfg.get('MemorySizeInMB')} MB, max {cfg.get('MaxConcurrency')}"
                )
            else:
                out.append(f"{variant.get('InitialInstanceCount')} x {variant.get('InstanceType')}")
        return "; ".join(out)
    if resource.type == "AWS::Kinesis::Stream":
        mode = props.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")
        return f"{props['ShardCount']} shards" if "ShardCount" in props else mode.lower()
    if resource.type == "AWS::ApplicationAutoScaling::ScalableTarget":
        return f"{props.get('MinCapacity')}-{props.get('MaxCapacity')} instances"
    if resource.type == "AWS::CodeBuild::Project":
        return str(props.get("Environment", {}).get("ComputeType", ""))
    if resource.type == "AWS::Lambda::Function":
        return f"{props.get('MemorySize', 128)} MB"
    if resource.type == "AWS::SageMaker::Pipeline":
        params = pipeline_parameters(props.get("PipelineDefinition"))
        return ", ".join(
            f"{k}={v}" for k, v in params.items() if k.endswith(("InstanceType", "Jobs"))
        )
    return ""


def inventory(assembly: Assembly) -> dict[str, list[Item]]:
    """Stack name -> one item per template resource, in template order."""
    out: dict[str, list[Item]] = {}
    for stack in assembly.stacks:
        out[stack.name] = [
            Item(
                stack=r.stack,
                logical_id=r.logical_id,
                path=r.path,
                type=r.type,
                encryption=encryption(assembly, r),
                deletion=deletion(r),
                isolation=isolation(assembly, r),
                capacity=capacity(assembly, r),
            )
            for r in stack.resources()
        ]
    return out
