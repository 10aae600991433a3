"""RegisterModel steps: add a version to the local JSON registry (registry_file, under a
lock), with its metrics and drift baseline, as the model package group would."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from model_code import lineage
from pipelines.local import registry_file
from pipelines.local.errors import DefinitionError, StepFailed
from pipelines.local.steps.base import StepExecutor


class RegisterModelStep(StepExecutor):
    def execute(self) -> str:
        step = self.step
        name = step["Name"]
        args = self.execution.resolve(step["Arguments"], name)
        group = args.get("ModelPackageGroupName")
        if not group:
            raise DefinitionError(f"step {name!r}: no ModelPackageGroupName")
        container = args["InferenceSpecification"]["Containers"][0]
        metrics_uri = (
            args.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri")
        )
        metrics = None
        if metrics_uri:
            path = self.execution.local(metrics_uri)
            if not path.exists():
                raise StepFailed(f"{name}: model metrics not found at {metrics_uri}")
            metrics = json.loads(path.read_text())
        statistics_uri = (
            args.get("DriftCheckBaselines", {})
            .get("ModelDataQuality", {})
            .get("Statistics", {})
            .get("S3Uri")
        )
        artifact = self.execution.local(container["ModelDataUrl"])
        if not artifact.exists():
            raise StepFailed(f"{name}: model artifact not found at {container['ModelDataUrl']}")
        metadata = dict(args.get("CustomerMetadataProperties") or {})
        manifest_uri = metadata.get(lineage.MANIFEST_KEY)
        manifest = (
            self.execution.local(manifest_uri).relative_to(self.execution.workdir).as_posix()
            if manifest_uri
            else None
        )
        entry: dict[str, Any] = {
            "approval_status": args.get("ModelApprovalStatus", "PendingManualApproval"),
            "image": container.get("Image"),
            "model_data_url": container["ModelDataUrl"],
            # Relative to the work folder, so the whole folder can be moved or copied.
            "artifact": artifact.relative_to(self.execution.workdir).as_posix(),
            # What the serving container is told (entry point of framework containers):
            # the local endpoint loads the model through it, as SageMaker would.
            "environment": dict(container.get("Environment") or {}),
            "metrics": metrics,
            # where the metrics came from (ModelMetrics.ModelQuality.Statistics.S3Uri, as a
            # package's DescribeModelPackage reports it): this execution's evaluation folder
            "metrics_uri": metrics_uri,
            # the version's own training statistics (drift monitoring compares with them),
            # relative to the work folder like the artifact
            "drift_baseline": (
                self.execution.local(statistics_uri).relative_to(self.execution.workdir).as_posix()
                if statistics_uri
                else None
            ),
            # As DescribeModelPackage reports it: the execution and the training-data
            # manifest (model_code/lineage.py), plus where that manifest is in this work folder
            "customer_metadata_properties": metadata,
            "manifest": manifest,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "pipeline_execution": self.execution.execution_id,
            # the model card's facts (core/model_card.py): the run's evaluation report and
            # training data, and each ModelApprovalStatus change (lab/registry.py appends)
            "evaluation": self._evaluation(metrics_uri),
            "training_data": self._training_data(),
        }
        entry["approval_history"] = [
            {"status": entry["approval_status"], "time": entry["created"], "by": "pipeline"}
        ]

        def add_version(registry: dict[str, Any]) -> None:
            versions = registry["groups"].setdefault(group, {"versions": []})["versions"]
            entry["version"] = max((v["version"] for v in versions), default=0) + 1
            entry["arn"] = (
                f"arn:aws:sagemaker:local:000000000000:model-package/{group}/{entry['version']}"
            )
            versions.append(entry)

        # Another run may register at the same moment: read, add and replace under a lock.
        registry_file.update(self.execution.registry_path, add_version)
        self.execution.result.registry = self.execution.registry_path
        self.execution.properties[name] = {"ModelPackageArn": entry["arn"]}
        return f"{group} version {entry['version']} ({entry['approval_status']})"

    def _evaluation(self, metrics_uri: str | None) -> str | None:
        """evaluation.json beside the registered metrics (model_code/evaluate.py writes both
        into one folder), relative to the work folder; None when there is none."""
        if not metrics_uri:
            return None
        path = self.execution.local(metrics_uri).parent / "evaluation.json"
        if not path.is_file():
            return None
        return path.relative_to(self.execution.workdir).as_posix()

    def _training_data(self) -> list[str]:
        """The Preprocess step's ``manifest`` (when the step declares one), train and
        validation outputs, relative to the work folder like the artifact."""
        outputs = (
            self.execution.properties.get("Preprocess", {})
            .get("ProcessingOutputConfig", {})
            .get("Outputs", {})
        )
        workdir = self.execution.workdir
        return [
            self.execution.local(outputs[name]["S3Output"]["S3Uri"]).relative_to(workdir).as_posix()
            for name in ("manifest", "train", "validation")
            if name in outputs
        ]
