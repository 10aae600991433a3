"""Security checks on a rendered pipeline definition: what no CDK rule pack scans.

check_definition(definition) returns one message per finding (empty list = compliant):
KMS volume + output keys, network isolation (unless exempted with a reason in
training_pipeline.NETWORK_ISOLATION_EXEMPT), inter-container encryption, VPC when required;
and every registered model on a framework serving container names its entry point.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipelines.training_pipeline import NETWORK_ISOLATION_EXEMPT

JOB_TYPES = ("Processing", "Training", "Tuning")
# Framework serving containers (scikit-learn, PyTorch, TensorFlow, MXNet) have no default
# model_fn: they import SAGEMAKER_PROGRAM from SAGEMAKER_SUBMIT_DIRECTORY, or fail to load
# (sagemaker-scikit-learn-container serving.py; SageMaker Python SDK FrameworkModel).
FRAMEWORK_SERVING_IMAGES = ("sagemaker-scikit-learn", "pytorch-inference", "tensorflow-inference")
ENTRY_POINT_ENV = ("SAGEMAKER_PROGRAM", "SAGEMAKER_SUBMIT_DIRECTORY")


def iter_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every step, including those nested in Condition If/Else branches."""
    for step in steps:
        yield step
        if step.get("Type") == "Condition":
            args = step.get("Arguments", {})
            yield from iter_steps(args.get("IfSteps", []) + args.get("ElseSteps", []))


def job_settings(step: dict[str, Any]) -> dict[str, Any]:
    """Normalise the three job shapes to the fields the checks read."""
    args = step["Arguments"]
    if step["Type"] == "Processing":
        network = args.get("NetworkConfig", {})
        return {
            "volume_key": args.get("ProcessingResources", {})
            .get("ClusterConfig", {})
            .get("VolumeKmsKeyId"),
            "output_key": args.get("ProcessingOutputConfig", {}).get("KmsKeyId"),
            "isolation": network.get("EnableNetworkIsolation"),
            "encryption": network.get("EnableInterContainerTrafficEncryption"),
            "vpc": network.get("VpcConfig"),
        }
    job = args["TrainingJobDefinition"] if step["Type"] == "Tuning" else args
    resources = job.get("ResourceConfig") or job.get("HyperParameterTuningResourceConfig") or {}
    return {
        "volume_key": resources.get("VolumeKmsKeyId"),
        "output_key": job.get("OutputDataConfig", {}).get("KmsKeyId"),
        "isolation": job.get("EnableNetworkIsolation"),
        "encryption": job.get("EnableInterContainerTrafficEncryption"),
        "vpc": job.get("VpcConfig"),
    }


def check_definition(
    definition: dict[str, Any],
    *,
    require_vpc: bool = False,
    exempt: dict[str, str] | None = None,
) -> list[str]:
    """Findings for every processing/training/tuning job of the definition."""
    exempt = NETWORK_ISOLATION_EXEMPT if exempt is None else exempt
    findings: list[str] = []
    jobs = [s for s in iter_steps(definition.get("Steps", [])) if s.get("Type") in JOB_TYPES]
    if not jobs:
        findings.append("definition has no processing, training or tuning job")
    for step in jobs:
        name, job = step["Name"], job_settings(step)
        if not job["volume_key"]:
            findings.append(f"{name}: no KMS key for the ML storage volume")
        if not job["output_key"]:
            findings.append(f"{name}: no KMS key for the job output")
        if job["isolation"] is not True and name not in exempt:
            findings.append(f"{name}: network isolation off and not exempted")
        if job["encryption"] is not True:
            findings.append(f"{name}: inter-container traffic encryption off")
        vpc = job["vpc"] or {}
        if require_vpc and not (vpc.get("Subnets") and vpc.get("SecurityGroupIds")):
            findings.append(f"{name}: no VPC config (subnets + security groups) but VPC required")
    findings += check_entry_points(definition)
    return findings


def check_entry_points(definition: dict[str, Any]) -> list[str]:
    """Registered models whose framework serving container would have nothing to import."""
    findings = []
    for step in iter_steps(definition.get("Steps", [])):
        if step.get("Type") != "RegisterModel":
            continue
        spec = step.get("Arguments", {}).get("InferenceSpecification", {})
        for container in spec.get("Containers", []):
            image = container.get("Image")
            if not isinstance(image, str) or not any(f in image for f in FRAMEWORK_SERVING_IMAGES):
                continue
            env = container.get("Environment") or {}
            missing = [k for k in ENTRY_POINT_ENV if not env.get(k)]
            if missing:
                findings.append(
                    f"{step['Name']}: {image.rsplit('/', 1)[-1]} has no default model_fn; "
                    f"its container needs {' and '.join(missing)}"
                )
    return findings
