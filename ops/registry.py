"""The SageMaker model registry of a deployed copy: its versions with their accuracy
(``cloud_rows``), a version's approval (``set_cloud_status``), and the package an endpoint
serves (``released_package``, through ``package_of``). ``labctl model`` renders them; the lab's
own registry is lab/registry.py.
"""

from __future__ import annotations

import json
from typing import Any

from ops.errors import OperationFailed, UsageError


def accuracy_text(metrics: Any) -> str:
    try:
        value = metrics["multiclass_classification_metrics"]["accuracy"]["value"]
        return f"{float(value):.4f}"
    except (KeyError, TypeError, ValueError):
        return "-"


def cloud_rows(client: Any, s3: Any, groups: list[str]) -> list[tuple[str, int, str, str, str]]:
    """The same rows from the SageMaker registry; accuracy from each version's ModelQuality
    statistics in S3 (what the pipeline's Register step attached)."""
    rows = []
    for group in groups:
        summaries: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "SortBy": "CreationTime"}
        while True:
            page = client.list_model_packages(**kwargs)
            summaries += page.get("ModelPackageSummaryList", [])
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        for summary in summaries:
            described = client.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
            uri = (
                described.get("ModelMetrics", {})
                .get("ModelQuality", {})
                .get("Statistics", {})
                .get("S3Uri")
            )
            accuracy = "-"
            if uri and uri.startswith("s3://"):
                bucket, _, key = uri.removeprefix("s3://").partition("/")
                try:
                    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                    accuracy = accuracy_text(json.loads(body))
                except Exception:  # unreadable metrics do not hide the version
                    accuracy = "unreadable"
            created = described.get("CreationTime")
            rows.append(
                (
                    group,
                    int(summary.get("ModelPackageVersion") or described["ModelPackageVersion"]),
                    str(described.get("ModelApprovalStatus")),
                    accuracy,
                    created.isoformat(timespec="seconds") if created else "",
                )
            )
    return sorted(rows, key=lambda r: (r[0], r[1]))


def set_cloud_status(
    client: Any, group: str, version: int | None, status: str, description: str | None
) -> str:
    if version is None:
        listing = client.list_model_packages(
            ModelPackageGroupName=group,
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=1,
        )["ModelPackageSummaryList"]
        if not listing:
            raise OperationFailed(f"model package group {group!r} has no versions")
        arn = listing[0]["ModelPackageArn"]
    else:
        arn = client.describe_model_package(ModelPackageName=f"{group}/{version}")[
            "ModelPackageArn"
        ]
    kwargs = {"ModelPackageArn": arn, "ModelApprovalStatus": status}
    if description:
        kwargs["ApprovalDescription"] = description
    client.update_model_package(**kwargs)
    return arn


def package_of(sagemaker: Any, model_name: str) -> str | None:
    """The model package a SageMaker model was created from: its PrimaryContainer's, or for
    a multi-container model the ``xgboost`` container's (its hostname in the serving unit);
    None for a multi-model endpoint (archives under mme/, no package). The drift runner Lambda
    keeps its own copy (infra/monitoring/runtime/drift_runner.py ``_package_of``): its bundle
    ships model_code only."""
    model = sagemaker.describe_model(ModelName=model_name)
    primary = model.get("PrimaryContainer")
    if primary is not None:
        if primary.get("Mode") == "MultiModel":
            return None
        package: str | None = primary.get("ModelPackageName")
        return package
    for container in model.get("Containers", []):
        if container.get("ContainerHostname") == "xgboost":
            package = container.get("ModelPackageName")
            return package
    return None


def released_package(sagemaker: Any, endpoint_name: str) -> str:
    """The package production serves: DescribeEndpoint -> DescribeEndpointConfig -> the
    production variant's DescribeModel -> ModelPackageName (as the drift runner looks it up)."""
    from botocore.exceptions import ClientError

    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as err:
        raise OperationFailed(
            f"cannot read endpoint {endpoint_name}: {err}; pass --package-arn instead"
        ) from err
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    package = package_of(sagemaker, config["ProductionVariants"][0]["ModelName"])
    if package is None:
        raise UsageError(
            f"endpoint {endpoint_name} serves S3 archives (multi-model), not a package: pass "
            "--package-arn"
        )
    return package
