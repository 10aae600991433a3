"""Session fixtures: each profile is synthesized once (with every pack) and shared.

Unit synths skip CDK's built-in CloudFormation validation plugin (+2-3 s, +360 MB each);
`make synth` / `make lab` keep it on.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
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


class _LazyPlatform:
    """The Platform of a synth another xdist worker wrote: its config at once, anything else
    (stacks, units) from the same app built again on first use, constructs only, no synth."""

    def __init__(self, config: Any, build: Any) -> None:
        self.config = config
        self._build = build
        self._platform: Any = None

    def __getattr__(self, name: str) -> Any:  # only for names not set in __init__
        if self._platform is None:
            self._platform = self._build()
        return getattr(self._platform, name)


class _Synths:
    """Synths by key, once per test run: in this process's memory, and on disk under a file
    lock in the folder every xdist worker of the run shares (tmp_path_factory's base folder's
    parent under xdist), so a second worker reads the templates the first one wrote instead
    of synthesizing the same app again."""

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
        if key not in self.cache:
            self.cache[key] = self._shared(key, config, compliance=False)
        return self.cache[key]

    def __call__(self, profile: str) -> Synth:
        if profile not in self.cache:
            from core.config import load_profile

            self.cache[profile] = self._shared(profile, load_profile(profile), compliance=True)
        return self.cache[profile]

    def _new_app(self, config: Any, outdir: Path, compliance: bool) -> tuple[Any, Any]:
        from core.release import Release
        from infra.platform import EXAMPLE_RELEASE, cdk_json_context, new_app

        return new_app(
            config,
            outdir=outdir,
            compliance=compliance,
            context=cdk_json_context(),
            release=Release.from_file(EXAMPLE_RELEASE),
        )

    def _shared(self, key: str, config: Any, compliance: bool) -> Synth:
        from filelock import FileLock

        outdir = self.base / key.replace("/", "-")
        done = outdir.with_name(f"{outdir.name}.stacks.json")  # written last: complete
        with FileLock(f"{outdir}.lock"):
            if done.is_file():
                names = json.loads(done.read_text())
                rebuilt = Path(tempfile.mkdtemp(dir=self.base))  # assets stage at construction
                platform: Any = _LazyPlatform(
                    config, lambda: self._new_app(config, rebuilt, compliance)[1]
                )
            else:
                app, platform = self._new_app(config, outdir, compliance)
                try:
                    app.synth()
                except RuntimeError as err:  # a failing gate still writes the report
                    failed = "ValidationFailed" in str(err) or "Validation failed" in str(err)
                    if not compliance or not failed:
                        raise
                names = [s.stack_name for s in platform.stacks]
                done.write_text(json.dumps(names))
        templates = {
            name: json.loads((outdir / f"{name}.template.json").read_text()) for name in names
        }
        return Synth(key.split("/")[0], platform, outdir, templates)


def computed_once(path: Path, compute: Any) -> Any:
    """``compute()``, pickled at ``path`` under a file lock: once per test run however many
    xdist workers ask (``path`` under ``synth.base``, the folder the run's workers share)."""
    import pickle

    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{path}.lock"):
        if path.is_file():
            return pickle.loads(path.read_bytes())
        value = compute()
        path.write_bytes(pickle.dumps(value))
        return value


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
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the run's folder, shared by its workers
        shared = tmp_path_factory.getbasetemp().parent / "cdk"
        shared.mkdir(exist_ok=True)
        return _Synths(shared)
    return _Synths(tmp_path_factory.mktemp("cdk"))
