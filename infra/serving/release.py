"""The release: which registered model packages the serving stack hosts.

Values known only at release time come from a file, never from a boto3 call during synth.
``labctl release resolve`` (CodeBuild in the delivery pipeline) writes ``release/<env>.json``::

    {
      "xgboost":  {"package_arn": "arn:aws:sagemaker:<region>:<account>:model-package/<group>/<n>",
                   "image": "<ECR image URI>", "model_data_url": "s3://.../model.tar.gz",
                   "version": <n, int >= 1, equal to the ARN's last segment>},
      "baseline": {...same four keys...},
      "resolved_at": "<ISO-8601 UTC time, e.g. 2026-11-29T02:10:47+00:00>"
    }

Extra keys are rejected so a typo cannot silently fall back to a default. Standard library
only: labctl and the CDK app share this one schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

RELEASE_DIR = "release"
REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_KEYS = ("xgboost", "baseline")
ENTRY_KEYS = ("package_arn", "image", "model_data_url", "version")
TOP_KEYS = (*MODEL_KEYS, "resolved_at")
PACKAGE_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/"
    r"(?P<group>[A-Za-z0-9](-*[A-Za-z0-9]){0,62})/(?P<version>[1-9]\d*)$"
)


def validate_release(
    data: Any, source: str = "release", groups: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Check the schema in the module docstring; ValueError names the first bad field.

    ``groups`` (``{"xgboost": group, "baseline": group}``) also checks each ARN's group.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{source}: must be a JSON object, got {type(data).__name__}")
    missing = [k for k in TOP_KEYS if k not in data]
    if missing:
        raise ValueError(f"{source}: missing key(s) {', '.join(missing)}")
    extra = sorted(set(data) - set(TOP_KEYS))
    if extra:
        raise ValueError(f"{source}: unknown key(s) {', '.join(extra)}")
    resolved_at = data["resolved_at"]
    try:
        datetime.fromisoformat(resolved_at)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{source}: resolved_at {resolved_at!r} is not an ISO-8601 time") from err
    for model in MODEL_KEYS:
        entry, where = data[model], f"{source}: {model}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be an object")
        missing = [k for k in ENTRY_KEYS if k not in entry]
        if missing:
            raise ValueError(f"{where}: missing key(s) {', '.join(missing)}")
        extra = sorted(set(entry) - set(ENTRY_KEYS))
        if extra:
            raise ValueError(f"{where}: unknown key(s) {', '.join(extra)}")
        arn = entry["package_arn"]
        match = PACKAGE_ARN_RE.match(arn) if isinstance(arn, str) else None
        if match is None:
            raise ValueError(
                f"{where}.package_arn {arn!r} is not a model package version ARN "
                "(arn:aws:sagemaker:<region>:<account>:model-package/<group>/<n>)"
            )
        version = entry["version"]
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"{where}.version must be a positive integer, got {version!r}")
        if int(match["version"]) != version:
            raise ValueError(
                f"{where}.version {version} does not match the ARN's /{match['version']}"
            )
        # SageMaker lower-cases names inside ARNs, so compare groups case-insensitively.
        if groups and match["group"].lower() != groups[model].lower():
            raise ValueError(
                f"{where}.package_arn is in group {match['group']!r}, expected {groups[model]!r}"
            )
        image = entry["image"]
        if not isinstance(image, str) or not image.strip():
            raise ValueError(f"{where}.image must be a non-empty image URI")
        url = entry["model_data_url"]
        if not isinstance(url, str) or not re.match(r"^s3://[^/]+/.+", url):
            raise ValueError(f"{where}.model_data_url must be an s3://bucket/key URI, got {url!r}")
    return data


def release_path(env_name: str, root: Path = REPO_ROOT) -> Path:
    """Where ``labctl release resolve`` writes an environment's release, and synth reads it."""
    return root / RELEASE_DIR / f"{env_name}.json"


def release_groups(config: Any) -> dict[str, str]:
    """The model package group each model of a PlatformConfig's release must come from."""
    return {
        "xgboost": config.model_package_group,
        "baseline": config.baseline_package_group,
    }


@dataclass(frozen=True)
class PackageRef:
    package_arn: str
    image: str
    model_data_url: str
    version: int


@dataclass(frozen=True)
class Release:
    xgboost: PackageRef
    baseline: PackageRef
    source: str = ""

    @classmethod
    def from_dict(
        cls, data: Any, source: str = "release", groups: Mapping[str, str] | None = None
    ) -> Release:
        validate_release(data, source, groups)
        refs = {
            name: PackageRef(
                data[name]["package_arn"],
                data[name]["image"],
                data[name]["model_data_url"],
                data[name]["version"],
            )
            for name in MODEL_KEYS
        }
        return cls(refs["xgboost"], refs["baseline"], source)

    @classmethod
    def from_file(cls, path: str | Path, groups: Mapping[str, str] | None = None) -> Release:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError as err:
            raise ValueError(f"{path}: no release file; run `labctl release resolve`") from err
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from err
        return cls.from_dict(data, str(path), groups)
