"""The release: which registered model packages the serving stack hosts.

Values known only at release time come from a file, never from a boto3 call during synth.
``labctl release resolve`` (CodeBuild in the delivery pipeline) writes ``release/<env>.json``::

    {
      "xgboost":  {"package_arn": "arn:aws:sagemaker:<region>:<account>:model-package/<group>/<n>",
                   "image": "<ECR image URI>", "model_data_url": "s3://.../model.tar.gz",
                   "version": <n, int >= 1, equal to the ARN's last segment>,
                   "target_model": "xgboost-v<n>.tar.gz"   (multi_model only, optional),
                   "monitor_baseline": "s3://.../<execution>/MonitorBaseline"   (optional),
                   "metrics_uri": "s3://.../Evaluate/<execution>/evaluation/xgboost_metrics.json"
                                  (optional: the version's ModelQuality statistics)},
      "baseline": {...same keys...}   (required only by kinds that serve it: multi_container),
      "challenger": {...same keys...} (serving.shadow only: the shadow variant's model, a newer
                    version of the XGBoost group than "xgboost", which stays in production),
      "resolved_at": "<ISO-8601 UTC time, e.g. 2026-11-29T02:10:47+00:00>"
    }

Extra keys are rejected so a typo cannot silently fall back to a default. ``target_model`` is
the key, relative to the multi-model prefix ``mme/`` of the artifacts bucket, under which
``labctl release publish`` copies the package's artifact: what a client passes as
``TargetModel``. ``monitor_baseline`` is the prefix of the Model Monitor baseline files
the training pipeline registered with that version (pipelines/monitor_baseline_step.py): the
serving stack's Model Monitor schedules read the *deployed* version's. ``metrics_uri`` is
the version's registered model metrics, in the folder of the pipeline execution that trained
it, where its held-out smoke samples lie too (the delivery smoke test reads them from there).
Standard library only: labctl and the CDK app share this one schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.config import PlatformConfig

RELEASE_DIR = "release"
REPO_ROOT = Path(__file__).resolve().parents[1]
# Illustrative packages of no environment's groups: the lab, the tests and cost/review synths.
EXAMPLE_RELEASE = REPO_ROOT / "config" / "examples" / "release.json"
MODEL_KEYS = ("xgboost", "baseline", "challenger")
ENTRY_KEYS = ("package_arn", "image", "model_data_url", "version")
OPTIONAL_ENTRY_KEYS = ("target_model", "monitor_baseline", "metrics_uri")
TOP_KEYS = (*MODEL_KEYS, "resolved_at", "artifacts")
# "artifacts": {"bucket_arn": "arn:aws:s3:::<lake artifacts bucket>", "key_arn": "<lake key ARN>"}
# is what a serving stack outside the tooling account reads from tooling (core/accounts.py).
ARTIFACT_KEYS = ("bucket_arn", "key_arn")
BUCKET_ARN_RE = re.compile(r"^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
KEY_ARN_RE = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$")
MME_PREFIX = "mme/"  # in the artifacts bucket: the multi-model endpoint's ModelDataUrl
# Which release models each serving kind hosts. The multi-model endpoint runs the XGBoost
# image only (one image per MME), so a scikit-learn baseline there could never load.
SERVED_MODELS: dict[str, tuple[str, ...]] = {
    "real_time": ("xgboost",),
    "serverless": ("xgboost",),
    "multi_model": ("xgboost",),
    "multi_container": ("xgboost", "baseline"),
    "async": ("xgboost",),
}


def served_models(kind: str) -> tuple[str, ...]:
    """The release models a serving kind hosts, hence the approvals its first release needs."""
    try:
        return SERVED_MODELS[kind]
    except KeyError:
        raise ValueError(f"unknown serving kind {kind!r}") from None


def mme_target_model(model: str, version: int) -> str:
    """The TargetModel of a model version on the multi-model endpoint (key under ``mme/``).

    The version is in the name, so a client addresses exactly the model it was tested with and
    a newer release never overwrites an object that an endpoint may have cached.
    """
    return f"{model}-v{version}.tar.gz"


PACKAGE_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/"
    r"(?P<group>[A-Za-z0-9](-*[A-Za-z0-9]){0,62})/(?P<version>[1-9]\d*)$"
)


def validate_release(
    data: Any,
    source: str = "release",
    groups: Mapping[str, str] | None = None,
    required: tuple[str, ...] = ("xgboost",),
) -> dict[str, Any]:
    """Check the schema in the module docstring; ValueError names the first bad field.

    ``groups`` (``{"xgboost": group, "baseline": group}``) also checks each ARN's group.
    ``required``: the models the serving kind hosts (``served_models(kind)``); the baseline
    is optional for kinds that do not serve it.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{source}: must be a JSON object, got {type(data).__name__}")
    if "resolved_at" not in data or "xgboost" not in data:
        missing = [k for k in ("xgboost", "resolved_at") if k not in data]
        raise ValueError(f"{source}: missing key(s) {', '.join(missing)}")
    absent = [m for m in required if m not in data]
    if absent:
        group = (groups or {}).get(absent[0], f"the {absent[0]} group")
        raise ValueError(
            f"{source}: missing key(s) {', '.join(absent)}: this serving kind hosts "
            f"{' and '.join(required)}; approve a version of {group} "
            f"(`labctl model approve --group {group}`) and run `labctl release resolve` again"
        )
    extra = sorted(set(data) - set(TOP_KEYS))
    if extra:
        raise ValueError(f"{source}: unknown key(s) {', '.join(extra)}")
    resolved_at = data["resolved_at"]
    try:
        datetime.fromisoformat(resolved_at)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{source}: resolved_at {resolved_at!r} is not an ISO-8601 time") from err
    if "artifacts" in data:
        _validate_artifacts(data["artifacts"], f"{source}: artifacts")
    for model in (m for m in MODEL_KEYS if m in data):
        entry, where = data[model], f"{source}: {model}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be an object")
        missing = [k for k in ENTRY_KEYS if k not in entry]
        if missing:
            raise ValueError(f"{where}: missing key(s) {', '.join(missing)}")
        extra = sorted(set(entry) - set(ENTRY_KEYS) - set(OPTIONAL_ENTRY_KEYS))
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
        # The challenger is a version of the XGBoost group.
        group = groups.get(model, groups.get("xgboost", "")) if groups else ""
        if groups and match["group"].lower() != group.lower():
            raise ValueError(
                f"{where}.package_arn is in group {match['group']!r}, expected {group!r}"
            )
        image = entry["image"]
        if not isinstance(image, str) or not image.strip():
            raise ValueError(f"{where}.image must be a non-empty image URI")
        url = entry["model_data_url"]
        if not isinstance(url, str) or not re.match(r"^s3://[^/]+/.+", url):
            raise ValueError(f"{where}.model_data_url must be an s3://bucket/key URI, got {url!r}")
        baseline = entry.get("monitor_baseline")
        if baseline is not None and (
            not isinstance(baseline, str) or not re.match(r"^s3://[^/]+/.+[^/]$", baseline)
        ):
            raise ValueError(
                f"{where}.monitor_baseline must be an s3://bucket/prefix URI without a "
                f"trailing slash, got {baseline!r}"
            )
        metrics = entry.get("metrics_uri")
        if "metrics_uri" in entry and not (
            isinstance(metrics, str) and re.match(r"^s3://[^/]+/.+", metrics)
        ):
            raise ValueError(f"{where}.metrics_uri must be an s3://bucket/key URI, got {metrics!r}")
        if "target_model" in entry and entry["target_model"] != mme_target_model(model, version):
            raise ValueError(
                f"{where}.target_model {entry['target_model']!r} must be "
                f"{mme_target_model(model, version)!r} (the model and its version)"
            )
    if "challenger" in data and data["challenger"]["version"] <= data["xgboost"]["version"]:
        raise ValueError(
            f"{source}: challenger version {data['challenger']['version']} must be newer than "
            f"the production version {data['xgboost']['version']}"
        )
    return data


def _validate_artifacts(entry: Any, where: str) -> None:
    if not isinstance(entry, dict) or sorted(entry) != sorted(ARTIFACT_KEYS):
        raise ValueError(f"{where} must be an object with exactly {', '.join(ARTIFACT_KEYS)}")
    if not isinstance(entry["bucket_arn"], str) or not BUCKET_ARN_RE.match(entry["bucket_arn"]):
        raise ValueError(f"{where}.bucket_arn {entry['bucket_arn']!r} is not an S3 bucket ARN")
    if not isinstance(entry["key_arn"], str) or not KEY_ARN_RE.match(entry["key_arn"]):
        raise ValueError(f"{where}.key_arn {entry['key_arn']!r} is not a KMS key ARN")


def release_path(env_name: str, root: Path = REPO_ROOT) -> Path:
    """Where ``labctl release resolve`` writes an environment's release, and synth reads it."""
    return root / RELEASE_DIR / f"{env_name}.json"


def release_groups(config: Any) -> dict[str, str]:
    """The model package group each model of a PlatformConfig's release must come from."""
    return {
        "xgboost": config.model_package_group,
        "baseline": config.baseline_package_group,
    }


def read_release(
    path: str | Path,
    groups: Mapping[str, str] | None = None,
    required: tuple[str, ...] = ("xgboost",),
) -> dict[str, Any]:
    """Read and validate a release file; ValueError with the path for anything wrong."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise ValueError(
            f"{path}: no release file; run `labctl release resolve --profile <profile>`"
        ) from err
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    return validate_release(data, str(path), groups, required)


def choose_release(
    config: Any, choice: str | Path | None, root: Path = REPO_ROOT
) -> tuple[Release | None, str]:
    """The one decision of which release a synth serves (``app.py``, ``labctl synth``).

    ``"none"``: no serving stacks; ``"example"``: EXAMPLE_RELEASE; a path: that file (it must
    exist); nothing: ``release/<env>.json`` when present, else no serving stacks. Returns the
    release (or None) and a line saying why; ValueError for a file that is missing or wrong.
    The example is checked against the kind but not the groups (it names no environment's).
    """
    if choice == "none":
        return None, "serving left out (--release none)"
    if choice == "example":
        path = EXAMPLE_RELEASE
    elif choice:
        path = Path(choice)
    else:
        path = release_path(config.env_name, root)
        if not path.is_file():
            return None, f"serving left out: no {path} (labctl release resolve writes it)"
    example = path.resolve() == EXAMPLE_RELEASE.resolve()
    groups = None if example else release_groups(config)
    release = Release.from_file(path, groups, served_models(config.serving.kind))
    check_release(config, release)  # serving in other accounts: ARNs in tooling
    return release, f"serving {config.serving.kind} from {path}"


@dataclass(frozen=True)
class PackageRef:
    package_arn: str
    image: str
    model_data_url: str
    version: int
    target_model: str | None = None
    monitor_baseline: str | None = None  # s3:// prefix of its Model Monitor baselines


@dataclass(frozen=True)
class ArtifactsRef:
    bucket_arn: str
    key_arn: str

    @property
    def bucket_name(self) -> str:
        return self.bucket_arn.rsplit(":", 1)[1]


@dataclass(frozen=True)
class Release:
    xgboost: PackageRef
    baseline: PackageRef | None = None
    source: str = ""
    artifacts: ArtifactsRef | None = None
    challenger: PackageRef | None = None  # serving.shadow: the shadow variant's model

    @classmethod
    def from_dict(
        cls,
        data: Any,
        source: str = "release",
        groups: Mapping[str, str] | None = None,
        required: tuple[str, ...] = ("xgboost",),
    ) -> Release:
        validate_release(data, source, groups, required)
        refs = {
            name: PackageRef(
                data[name]["package_arn"],
                data[name]["image"],
                data[name]["model_data_url"],
                data[name]["version"],
                data[name].get("target_model"),
                data[name].get("monitor_baseline"),
            )
            for name in MODEL_KEYS
            if name in data
        }
        artifacts = data.get("artifacts")
        return cls(
            refs["xgboost"],
            refs.get("baseline"),
            source,
            ArtifactsRef(**artifacts) if artifacts else None,
            refs.get("challenger"),
        )

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        groups: Mapping[str, str] | None = None,
        required: tuple[str, ...] = ("xgboost",),
    ) -> Release:
        return cls.from_dict(read_release(path, groups, required), str(path), groups, required)


def check_release(config: PlatformConfig, release: Release) -> None:
    """A release served outside tooling names everything by ARN in tooling: each package
    version, the artifacts bucket and the lake key (the serving stacks read nothing else
    from tooling). ValueError names the first field that does not."""
    if not config.multi_account:
        return
    where = release.source or "release"
    if release.artifacts is None:
        raise ValueError(
            f"{where}: serving outside the tooling account needs 'artifacts' "
            '({"bucket_arn": ..., "key_arn": ...}): run `labctl release resolve` with the '
            "lake's artifacts bucket and key"
        )
    for name in ("xgboost", "baseline"):
        ref = getattr(release, name)
        if ref is None:
            continue
        parts = ref.package_arn.split(":")
        if len(parts) < 6 or parts[4] != config.tooling_account or parts[3] != config.region:
            raise ValueError(
                f"{where}: {name}.package_arn {ref.package_arn!r} is not a version in the tooling "
                f"account {config.tooling_account} ({config.region})"
            )
    key = release.artifacts.key_arn.split(":")
    if key[4] != config.tooling_account or key[3] != config.region:
        raise ValueError(
            f"{where}: artifacts.key_arn is not a key of the tooling account "
            f"{config.tooling_account} in {config.region}"
        )
