"""Container images for monitoring jobs, from the SageMaker SDK's own per-region image map.

Never a hand-copied account table (several public samples have wrong accounts): the SDK
ships ``image_uri_config/model-monitor.json``, ``clarify.json`` and ``sklearn.json``, read here
as data files (without importing the SDK). Resolved offline at synth.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from core.config import ConfigError

SKLEARN_VERSION = "1.2-1"  # the training pipeline's processing image (numpy/scipy/pandas)


def _image_config(framework: str) -> dict[str, Any]:
    """The SDK's ``image_uri_config/<framework>.json``, read as data: importing the SDK (its
    JumpStart tables, about 2.5 s) to look up three URIs would double a synth. find_spec
    locates the installed package without executing it; the URIs equal what
    ``sagemaker.image_uris.retrieve`` gives (tests/infra/test_monitoring_images.py)."""
    path = _package_data("sagemaker", "image_uri_config", f"{framework}.json")
    config: dict[str, Any] = json.loads(path.read_text())
    return config


def _package_data(package: str, *parts: str) -> Path:
    """A data file of an installed ``package``, located without executing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the {package} package (requirements.txt) is not installed")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)


@cache
def _ecr_hostname(region: str) -> str:
    """``ecr.<region>.<partition's DNS suffix>`` as botocore's ``EndpointResolver`` resolves it
    (the SDK's way), read from botocore's ``data/endpoints.json`` without importing botocore
    (its loaders cost a synth about 0.15 s): the region's own endpoint entry, else a region of
    the partition (listed or matching its ``regionRegex``) with the service's and the
    partition's defaults; il-central-1 has no entry in older botocore releases."""
    data = json.loads(_package_data("botocore", "data", "endpoints.json").read_text())
    for partition in data["partitions"]:
        service = partition["services"].get("ecr", {"endpoints": {}})
        listed = region in service.get("endpoints", {})
        in_partition = region in partition["regions"] or re.match(partition["regionRegex"], region)
        if not (listed or in_partition):
            continue
        merged = {
            **partition.get("defaults", {}),
            **service.get("defaults", {}),
            **service.get("endpoints", {}).get(region, {}),
        }
        template = merged.get("hostname", "{service}.{region}.{dnsSuffix}")
        suffix = merged.get("dnsSuffix", partition["dnsSuffix"])
        return str(
            template.replace("{service}", "ecr")
            .replace("{region}", region)
            .replace("{dnsSuffix}", suffix)
        )
    if region != "il-central-1":
        raise ConfigError(f"no ECR endpoint for region {region}")
    return f"ecr.{region}.amazonaws.com"


def _retrieve(
    framework: str, region: str, scope: str, version: str | None = None, *tag_parts: str
) -> str:
    """``<registry>.dkr.<ecr host>/<repository>[:<tag>]``, the SDK's ECR_URI_TEMPLATE, for a
    framework whose JSON names one repository per version (the tag: the version, or its
    ``tag_prefix``, then ``tag_parts``)."""
    config = _image_config(framework)
    scoped = config if "scope" in config else config[scope]
    versions = scoped["versions"]
    if version is None:
        (version,) = versions  # model-monitor and clarify publish a single version
    entry = versions[version]
    registry = entry["registries"].get(region)
    if registry is None:
        raise ConfigError(f"no {framework} image for region {region}")
    tag = "-".join(p for p in (entry.get("tag_prefix", version), *tag_parts) if p)
    uri = f"{registry}.dkr.{_ecr_hostname(region)}/{entry['repository']}"
    return f"{uri}:{tag}" if tag else uri


def sklearn_processing_image(region: str) -> str:
    """The SKLearn image on a CPU instance under Python 3 (the SDK defaults the sklearn scope
    to training: training and inference images are the same)."""
    return _retrieve("sklearn", region, "training", SKLEARN_VERSION, "cpu", "py3")


def model_monitor_image(region: str) -> str:
    """The prebuilt Model Monitor analyzer (``sagemaker-model-monitor-analyzer``)."""
    return _retrieve("model-monitor", region, "monitoring")


def clarify_image(region: str) -> str:
    """The prebuilt SageMaker Clarify processing image (model explainability monitoring)."""
    return _retrieve("clarify", region, "processing")


def repository_arn(uri: str, partition: str = "aws") -> str:
    """``<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`` -> the repository's ARN."""
    host, _, path = uri.partition("/")
    account, region = host.split(".")[0], host.split(".")[3]
    return f"arn:{partition}:ecr:{region}:{account}:repository/{path.split('@')[0].split(':')[0]}"


def grant_image_pull(role: iam.IRole, *uris: str) -> None:
    """A job's execution role pulls its image from ECR: the three layer/image actions on the
    image's repository, GetAuthorizationToken (no resource) on "*" (SageMaker Developer
    Guide, "CreateProcessingJob API: Execution Role Permissions":
    https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html)."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="PullJobImages",
            actions=[
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
            ],
            resources=sorted({repository_arn(uri, cdk.Stack.of(role).partition) for uri in uris}),
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="PullBuiltInImages",  # GetAuthorizationToken takes no resource
            actions=["ecr:GetAuthorizationToken"],
            resources=["*"],
        )
    )
