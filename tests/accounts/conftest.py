"""The multi-account example profile, synthesized once per session with every compliance pack
and a release that names the copy's own lake (as the rehearsal names generated resources)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _LazyPlatform

PROFILE = "multi-account"
# Pinned logical ids of the lake's artifacts bucket and key (tests/infra/test_data_lake.py).
ARTIFACTS_BUCKET, LAKE_KEY = "LakeArtifactsBucket1B9F5BC1", "LakeKey7B6C155C"


def rehearsal_release(config: Any) -> dict[str, Any]:
    """What `labctl release resolve` would write for this copy: package versions of its own
    groups in tooling, archives under its pipeline's prefix, its lake's bucket and key ARNs
    (named as the rehearsal names what CloudFormation generates)."""
    from assurance.rehearsal.assembly import Assembly

    lake = config.stack_name("DataLake")
    view = Assembly(
        {
            lake: {
                "Resources": {
                    ARTIFACTS_BUCKET: {"Type": "AWS::S3::Bucket"},
                    LAKE_KEY: {"Type": "AWS::KMS::Key"},
                }
            }
        },
        config.tooling_account,
        config.region,
    )
    bucket_arn = view.get_att(lake, ARTIFACTS_BUCKET, "Arn")
    bucket = bucket_arn.rsplit(":", 1)[1]
    registry = f"arn:aws:sagemaker:{config.region}:{config.tooling_account}:model-package"
    images = f"683313688378.dkr.ecr.{config.region}.amazonaws.com"
    prefix = f"s3://{bucket}/pipelines/{config.pipeline_name}"
    return {
        "xgboost": {
            "package_arn": f"{registry}/{config.model_package_group}/3",
            "image": f"{images}/sagemaker-xgboost:3.0-5",
            "model_data_url": f"{prefix}/Tune/best/output/model.tar.gz",
            "version": 3,
        },
        "baseline": {
            "package_arn": f"{registry}/{config.baseline_package_group}/2",
            "image": f"{images}/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "model_data_url": f"{prefix}/TrainBaseline/output/model.tar.gz",
            "version": 2,
        },
        "resolved_at": "2026-12-01T00:00:00+00:00",
        "artifacts": {"bucket_arn": bucket_arn, "key_arn": view.get_att(lake, LAKE_KEY, "Arn")},
    }


@dataclass
class MultiAccount:
    config: Any
    platform: Any
    outdir: Path
    templates: dict[str, dict[str, Any]]
    release: dict[str, Any]
    error: str = ""
    stack_accounts: dict[str, str] = field(default_factory=dict)

    def assembly(self) -> Any:
        from assurance.rehearsal.assembly import Assembly

        return Assembly(
            json.loads(json.dumps(self.templates)),
            self.config.tooling_account,
            self.config.region,
            stack_accounts=self.stack_accounts,
        )


def synth_multi(outdir: Path, config: Any, release: dict[str, Any]) -> MultiAccount:
    """Synthesized once per test run: under xdist the first worker synthesizes into the run's
    shared folder (under a file lock, as tests/conftest.py's synths) and the others read it."""
    from filelock import FileLock

    from core.release import Release
    from infra.platform import cdk_json_context, new_app

    def build(into: Path) -> tuple[Any, Any]:
        return new_app(
            config,
            outdir=into,
            context=cdk_json_context(),
            release=Release.from_dict(release, "rehearsal release"),
        )

    done = outdir.with_name(f"{outdir.name}.stacks.json")  # written last: complete
    with FileLock(f"{outdir}.lock"):
        if done.is_file():
            record = json.loads(done.read_text())
            rebuilt = Path(tempfile.mkdtemp(dir=outdir.parent))
            platform: Any = _LazyPlatform(config, lambda: build(rebuilt)[1])
        else:
            app, platform = build(outdir)
            error = ""
            try:
                app.synth()
            except RuntimeError as err:  # a failing gate still writes the report and templates
                error = str(err)
            record = {
                "error": error,
                "stack_accounts": {s.stack_name: str(s.account) for s in platform.stacks},
            }
            done.write_text(json.dumps(record))
    templates = {
        name: json.loads((outdir / f"{name}.template.json").read_text())
        for name in record["stack_accounts"]
    }
    return MultiAccount(
        config, platform, outdir, templates, release, record["error"], record["stack_accounts"]
    )


def _run_folder(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """``name`` in the folder this run's xdist workers share, or a fresh one without xdist."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return tmp_path_factory.getbasetemp().parent / name
    return tmp_path_factory.mktemp(name)


@pytest.fixture(scope="session")
def multi(tmp_path_factory: pytest.TempPathFactory) -> MultiAccount:
    from core.config import load_profile

    config = load_profile(PROFILE)
    return synth_multi(_run_folder(tmp_path_factory, "multi"), config, rehearsal_release(config))


@pytest.fixture(scope="session")
def two_accounts(tmp_path_factory: pytest.TempPathFactory) -> MultiAccount:
    """Staging and production sharing one account: one target stack, each principal once."""
    import dataclasses

    from core.config import AccountsConfig, load_profile

    base = load_profile(PROFILE)
    shared = base.accounts.staging
    config = dataclasses.replace(
        base,
        accounts=AccountsConfig(tooling=base.account, staging=shared, production=shared),
    )
    return synth_multi(_run_folder(tmp_path_factory, "two"), config, rehearsal_release(config))


def async_profile(into: Path) -> Path:
    """The multi-account profile serving ``kind='async'``: its ``serving`` block replaced by
    config/examples/serving-async.json (all-at-once updates, scaling to zero)."""
    root = Path(__file__).resolve().parents[2] / "config"
    profile = json.loads((root / "multi-account.json").read_text())
    profile["serving"] = json.loads((root / "examples" / "serving-async.json").read_text())[
        "serving"
    ]
    path = into / "multi-async.json"
    path.write_text(json.dumps(profile))
    return path


@pytest.fixture(scope="session")
def multi_async(tmp_path_factory: pytest.TempPathFactory) -> MultiAccount:
    """issue 25: the three-account layout serving asynchronously."""
    from core.config import load_profile

    folder = _run_folder(tmp_path_factory, "multi-async")
    folder.mkdir(parents=True, exist_ok=True)
    config = load_profile(str(async_profile(folder.parent)))
    assert config.serving.kind == "async" and config.multi_account
    return synth_multi(folder, config, rehearsal_release(config))


def model_monitor_release(config: Any) -> dict[str, Any]:
    """``rehearsal_release`` with the served version's Model Monitor baselines, where the
    training pipeline's MonitorBaseline step writes them (tooling's lake, ``pipelines/``)."""
    release = rehearsal_release(config)
    model = release["xgboost"]["model_data_url"].split("/Tune/")[0]
    release["xgboost"]["monitor_baseline"] = f"{model}/exec-3/MonitorBaseline"
    return release


@pytest.fixture(scope="session")
def multi_model_monitor(tmp_path_factory: pytest.TempPathFactory) -> MultiAccount:
    """The multi-account profile with ``monitoring.engine='model_monitor'`` (issue 25)."""
    import dataclasses

    from core.config import load_profile

    base = load_profile(PROFILE)
    config = dataclasses.replace(
        base, monitoring=dataclasses.replace(base.monitoring, engine="model_monitor")
    )
    return synth_multi(
        _run_folder(tmp_path_factory, "multi-mm"), config, model_monitor_release(config)
    )


@pytest.fixture(scope="session")
def multi_expiry(tmp_path_factory: pytest.TempPathFactory) -> MultiAccount:
    """The three-account profile with lab expiry (``expiry.endpoint_hours`` = 12, every other
    expiry setting its default): each target stack runs the reaper of its account (issue 25)."""
    import dataclasses

    from core.config import ExpiryConfig, load_profile

    config = dataclasses.replace(load_profile(PROFILE), expiry=ExpiryConfig(endpoint_hours=12))
    return synth_multi(
        _run_folder(tmp_path_factory, "multi-expiry"), config, rehearsal_release(config)
    )


@dataclass
class MonitoredCopy:
    """The three-account profile with ``monitoring.engine='custom'``, synthesized by `labctl
    synth --profile <its JSON> --release example` (gate and rehearsal included)."""

    config: Any
    outdir: Path
    exit_code: int
    output: str
    release: dict[str, Any]

    def assembly(self) -> Any:
        """A fresh view of the templates (tests plant defects in it), the example release's
        lake bucket and key bound as `labctl synth` binds them."""
        from assurance.rehearsal.assembly import Assembly
        from assurance.rehearsal.cross_account import bind_release
        from core.accounts import stack_accounts

        templates = {
            p.name.removesuffix(".template.json"): json.loads(p.read_text())
            for p in self.outdir.glob("*.template.json")
        }
        a = Assembly(
            templates,
            self.config.account,
            self.config.region,
            stack_accounts=stack_accounts(self.config),
        )
        bind_release(a, self.release)
        return a


@pytest.fixture(scope="session")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> MonitoredCopy:
    """`labctl synth --profile multi-account --release example` (the README's multi-account
    walkthrough runs the same command; its engine is `custom`), once per test run (file lock
    and marker under xdist, as ``synth_multi``)."""
    import contextlib
    import io

    from filelock import FileLock

    from core.config import load_profile
    from core.release import EXAMPLE_RELEASE
    from labctl.cli import main

    folder = _run_folder(tmp_path_factory, "monitored")
    folder.mkdir(parents=True, exist_ok=True)
    outdir = folder / "out"
    done = folder / "done.json"
    argv = ["synth", "--profile", PROFILE, "--release", "example", "--outdir", str(outdir)]
    with FileLock(f"{folder}.lock"):
        if not done.is_file():
            text = io.StringIO()
            with contextlib.redirect_stdout(text):
                code = main(argv)
            done.write_text(json.dumps({"code": code, "output": text.getvalue()}))
    record = json.loads(done.read_text())
    config = load_profile(PROFILE)
    assert config.monitoring.engine == "custom", "config/multi-account.json monitors production"
    return MonitoredCopy(
        config,
        outdir,
        record["code"],
        record["output"],
        json.loads(EXAMPLE_RELEASE.read_text()),
    )
