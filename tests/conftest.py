"""Session fixtures: each profile is synthesized once (with every pack) and shared.

Unit synths skip CDK's built-in CloudFormation validation plugin (+2-3 s, +360 MB each);
`make synth` / `make lab` keep it on.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_VALIDATION", "false")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
# Correctness checks render the pipeline afresh; the disk cache has its own tests.
os.environ.setdefault("PIPELINE_CACHE", "off")

REPO = Path(__file__).resolve().parent.parent
PROFILES = ("lab", "prod-like")
SERVING_KINDS = ("real_time", "serverless", "multi_model", "multi_container", "async")


@dataclass
class Synth:
    profile: str
    platform: object
    outdir: Path
    templates: dict[str, dict]

    def template(self, unit: str) -> dict:
        name = self.platform.config.stack_name(unit)  # type: ignore[attr-defined]
        return self.templates[name]


class _Synths:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.cache: dict[str, Synth] = {}

    def variant(self, profile: str, kind: str) -> Synth:
        """The profile serving ``kind`` (with what that kind requires), synthesized once per
        session without the compliance packs (the profile's own synth carries the gate)."""
        from core.config import load_profile

        config = serving_variant(load_profile(profile), kind)
        if config.serving == load_profile(profile).serving:
            return self(profile)
        return self.config_variant(f"{profile}/{kind}", config)

    def config_variant(self, key: str, config: Any) -> Synth:
        """Any ``config`` (a profile varied by a test), synthesized once per session under
        ``key`` with the example release and without the compliance packs."""
        from core.release import Release
        from infra.platform import EXAMPLE_RELEASE, cdk_json_context, new_app

        if key not in self.cache:
            outdir = self.base / key.replace("/", "-")
            app, platform = new_app(
                config,
                outdir=outdir,
                compliance=False,
                context=cdk_json_context(),
                release=Release.from_file(EXAMPLE_RELEASE),
            )
            app.synth()
            templates = {
                s.stack_name: json.loads((outdir / f"{s.stack_name}.template.json").read_text())
                for s in platform.stacks
            }
            self.cache[key] = Synth(key.split("/")[0], platform, outdir, templates)
        return self.cache[key]

    def __call__(self, profile: str) -> Synth:
        if profile not in self.cache:
            from core.config import load_profile
            from core.release import Release
            from infra.platform import EXAMPLE_RELEASE, cdk_json_context, new_app

            outdir = self.base / profile
            app, platform = new_app(
                load_profile(profile),
                outdir=outdir,
                context=cdk_json_context(),
                release=Release.from_file(EXAMPLE_RELEASE),
            )
            try:
                app.synth()
            except RuntimeError as err:  # a failing gate still writes the report
                if "ValidationFailed" not in str(err) and "Validation failed" not in str(err):
                    raise
            templates = {
                s.stack_name: json.loads((outdir / f"{s.stack_name}.template.json").read_text())
                for s in platform.stacks
            }
            self.cache[profile] = Synth(profile, platform, outdir, templates)
        return self.cache[profile]


def serving_variant(config: Any, kind: str) -> Any:
    """``config`` serving ``kind``, with the settings the kind requires (serverless: no data
    capture, all-at-once updates, no drift monitoring over capture; async under canary/linear
    guardrails: no scaling to zero). Raises ConfigError when
    the profile cannot serve that kind at all (prod-like's isolated network and serverless)."""
    if config.serving.kind == kind:
        return config
    if kind == "async" and config.serving.guardrail.mode != "all_at_once":
        # canary/linear need instances to shift across: the fleet keeps min_instances
        settings = dataclasses.replace(config.serving.async_inference, scale_to_zero=False)
        serving = dataclasses.replace(config.serving, kind=kind, async_inference=settings)
        return dataclasses.replace(config, serving=serving)
    if kind != "serverless":
        return dataclasses.replace(config, serving=dataclasses.replace(config.serving, kind=kind))
    guardrail = dataclasses.replace(config.serving.guardrail, mode="all_at_once")
    serving = dataclasses.replace(
        config.serving, kind=kind, data_capture=False, guardrail=guardrail
    )
    monitoring = dataclasses.replace(config.monitoring, engine="none")
    return dataclasses.replace(config, serving=serving, monitoring=monitoring)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> _Synths:
    return _Synths(tmp_path_factory.mktemp("cdk"))
