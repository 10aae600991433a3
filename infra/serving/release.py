"""The release: which registered model packages the serving stack hosts.

Values known only at release time come from a file, never from a boto3 call during synth.
``labctl release resolve`` (CodeBuild in the delivery pipeline) writes ``release/<env>.json``:

    {"xgboost":  {"package_arn": "arn:aws:sagemaker:<region>:<acct>:model-package/<group>/<n>",
                  "image": "<ecr image uri>", "model_data_url": "s3://.../model.tar.gz",
                  "version": <n>},
     "baseline": {... the same keys ...},
     "resolved_at": "<ISO-8601>"}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[^/]+/\d+$")
MODELS = ("xgboost", "baseline")


@dataclass(frozen=True)
class PackageRef:
    package_arn: str
    image: str
    model_data_url: str
    version: int

    @property
    def group(self) -> str:
        return self.package_arn.rsplit("/", 2)[1]


@dataclass(frozen=True)
class Release:
    xgboost: PackageRef
    baseline: PackageRef
    source: str = ""

    @classmethod
    def from_dict(cls, data: Any, source: str = "release") -> Release:
        if not isinstance(data, dict):
            raise ValueError(f"{source}: must be a JSON object")
        refs = {}
        for name in MODELS:
            entry = data.get(name)
            if not isinstance(entry, dict):
                raise ValueError(f"{source}: missing the {name!r} model package")
            missing = [k for k in ("package_arn", "image", "model_data_url", "version") if k not in entry]
            if missing:
                raise ValueError(f"{source}: {name} lacks {', '.join(missing)}")
            if not PACKAGE_ARN.match(str(entry["package_arn"])):
                raise ValueError(
                    f"{source}: {name}.package_arn {entry['package_arn']!r} is not a "
                    "model package version ARN (…:model-package/<group>/<version>)"
                )
            if not str(entry["model_data_url"]).startswith("s3://"):
                raise ValueError(f"{source}: {name}.model_data_url must be an s3:// URL")
            refs[name] = PackageRef(
                str(entry["package_arn"]), str(entry["image"]), str(entry["model_data_url"]),
                int(entry["version"]),
            )
        return cls(refs["xgboost"], refs["baseline"], source)

    @classmethod
    def from_file(cls, path: str | Path) -> Release:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError as err:
            raise ValueError(f"no release file at {path}: run `labctl release resolve`") from err
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from err
        return cls.from_dict(data, str(path))
