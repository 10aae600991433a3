"""One error contract: user errors exit 2 with one line, failures 1, never a traceback.

Each case below printed a Python traceback before (listed in the closing note of issue 12);
now each exits with the documented code and one line on stderr that says what to do.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from labctl.cli import SUMMARIES, build_parser, main

REPO = Path(__file__).resolve().parents[2]
ROW = ",".join(["0"] * 64)


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    _fresh_session(monkeypatch)


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    _fresh_session(monkeypatch)


def _fresh_session(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    # boto3's default session caches what an earlier test resolved; start from the env.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def _registry(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "registry" / "registry.json"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return tmp_path


def _profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    import core.config.load

    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "broken.json").write_text(text)
    monkeypatch.setattr(core.config.load, "CONFIG_DIR", folder)


def _lake(tmp_path: Path) -> Path:
    from tests.pipelines.lake_fixture import write_digits_lake

    write_digits_lake(tmp_path / "lake" / "raw", limit=50)
    return tmp_path


Case = Callable[[Path, pytest.MonkeyPatch], list[str]]

# Commands without --profile: their region comes from AWS_REGION, AWS_DEFAULT_REGION or the
# AWS_PROFILE (labctl/options.py); a command with --profile takes the profile's region.
CLOUD_NO_REGION: dict[str, list[str]] = {
    "deploy status": ["deploy", "status", "--pipeline", "p"],
    "invoke": ["invoke", "--endpoint", "e", "--csv", ROW],
    "shadow report": ["shadow", "report", "--capture-uri", "s3://b/capture"],
}
# After `make lab` (no AWS at all): each names its region's source and, where the command has
# one, the option that runs it on this machine instead (issue 24, item 4).
CLOUD_NO_CREDENTIALS: dict[str, tuple[list[str], str | None]] = {
    "model approve": (["model", "approve", "--group", "g"], "--local"),
    "model list": (["model", "list"], "--local"),
    "pipeline run": (["pipeline", "run", "--profile", "lab"], "--local"),
    "batch transform": (["batch", "transform", "--profile", "lab"], "--local"),
    "release resolve": (["release", "resolve", "--profile", "lab"], None),
    "teardown --dry-run": (["teardown", "--account", "123456789012", "--dry-run"], "--plan"),
    "ingest to Kinesis": (["ingest", "--stream", "s", "--digits", "--limit", "2"], "--local-lake"),
    "invoke": (["invoke", "--endpoint", "e", "--region", "us-east-1", "--csv", ROW], "--local-url"),
}
NO_REGION_LOCAL = {"invoke": "--local-url", "shadow report": "--local"}


def _exits(argv: list[str], code: int, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err  # one line that says what to do
    return lines[0]


@pytest.mark.parametrize("name", sorted(CLOUD_NO_REGION))
@pytest.mark.usefixtures("no_region")
def test_cloud_command_without_region_exits_2(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _exits(CLOUD_NO_REGION[name], 2, capsys)
    assert "region" in line and "--region" in line and "AWS_REGION" in line
    if name in NO_REGION_LOCAL:
        assert NO_REGION_LOCAL[name] in line


@pytest.mark.parametrize("name", sorted(CLOUD_NO_CREDENTIALS))
@pytest.mark.usefixtures("no_credentials")
def test_cloud_command_without_credentials_exits_2(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, alternative = CLOUD_NO_CREDENTIALS[name]
    line = _exits(argv, 2, capsys)
    assert "no AWS credentials" in line and "AWS_PROFILE" in line
    if alternative is not None:
        assert alternative in line, line


@pytest.mark.usefixtures("no_credentials")
def test_an_unknown_aws_profile_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/cli.md exit table: no credentials is the caller's to fix (botocore's ProfileNotFound
    used to exit 1 with its own text)."""
    monkeypatch.setenv("AWS_PROFILE", "nosuch")
    line = _exits(["model", "list", "--region", "us-east-1"], 2, capsys)
    assert "'nosuch'" in line and "--local" in line


LOCAL_CASES: dict[str, tuple[Case, str]] = {
    "corrupt registry: model approve": (
        lambda t, m: ["model", "approve", "--local", "--workdir", str(_registry(t, "{no"))],
        "not valid JSON",
    ),
    "registry of the wrong shape: model approve": (
        lambda t, m: ["model", "approve", "--local", "--workdir", str(_registry(t, "[1]"))],
        "not a model registry",
    ),
    "registry of the wrong shape: model list": (
        lambda t, m: [
            "model",
            "list",
            "--local",
            "--workdir",
            str(_registry(t, '{"groups": []}')),
        ],
        "not a model registry",
    ),
    "registry of the wrong shape: serve": (
        lambda t, m: [
            "serve",
            "--local",
            "--workdir",
            str(_registry(t, '{"groups": {"g": {"versions": [{"v": 1}]}}}')),
        ],
        "integer 'version'",
    ),
    "malformed profile file: synth": (
        lambda t, m: (_profile(t, m, "{not json"), ["synth", "--profile", "broken"])[1],
        "not valid JSON",
    ),
    "profile that is not an object: serve": (
        lambda t, m: (_profile(t, m, "[1, 2]"), ["serve", "--local", "--profile", "broken"])[1],
        "JSON object",
    ),
    "lake path that is a file": (
        lambda t, m: (
            (t / "lake").write_text("x"),
            ["ingest", "--stream", "s", "--digits", "--local-lake", str(t / "lake")],
        )[1],
        "is a file",
    ),
    "lab work folder that is a file": (
        lambda t, m: (
            (t / "w").write_text("x"),
            ["lab", "--only", "ingest", "--workdir", str(t / "w")],
        )[1],
        "is a file",
    ),
    "rejected report path that is a folder": (
        lambda t, m: (
            (t / "in.csv").write_text(
                ",".join(f"f{i}" for i in range(64)) + "\n" + ",".join(["99"] * 64) + "\n"
            ),
            (t / "report").mkdir(),
            ["ingest", "--stream", "s", "--file", str(t / "in.csv"), "--local-lake"]
            + [str(t / "lake"), "--rejected-report", str(t / "report")],
        )[2],
        "report",
    ),
    "pipeline definition that is not JSON": (
        lambda t, m: (
            (t / "d.json").write_text("{"),
            ["pipeline", "run", "--local", "--workdir", str(t), "--definition", str(t / "d.json")],
        )[1],
        "--definition",
    ),
}


@pytest.mark.parametrize("name", sorted(LOCAL_CASES))
def test_local_user_error_exits_2_with_one_line(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    build, expected = LOCAL_CASES[name]
    line = _exits(build(tmp_path, monkeypatch), 2, capsys)
    assert expected in line


@pytest.mark.parametrize(
    "param", ["MaxTuningJobs=0", "MaxParallelTuningJobs=0", "MaxTuningJobs=-2"]
)
def test_bad_tuning_limits_exit_2_before_any_step_runs(
    param: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Used to surface as a traceback from the tuner after preprocessing had run."""
    workdir = _lake(tmp_path)
    argv = ["pipeline", "run", "--local", "--workdir", str(workdir), "--param", param]
    argv += ["--param", "MaxTuningJobs=3"] if not param.startswith("MaxTuningJobs") else []
    line = _exits(argv, 2, capsys)
    assert "MaxParallelTrainingJobs" in line
    assert not (workdir / "pipeline").exists()  # nothing ran, nothing written


def test_unexpected_error_is_one_line_and_debug_shows_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import lab.registry

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(lab.registry, "set_local_status", boom)
    argv = ["model", "approve", "--local", "--workdir", str(tmp_path)]
    line = _exits(argv, 1, capsys)
    assert line == "labctl: failed: RuntimeError: a bug (rerun with --debug for the traceback)"
    assert main([*argv, "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import lab.registry

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(lab.registry, "set_local_status", interrupted)
    assert main(["model", "approve", "--local", "--workdir", str(tmp_path)]) == 130


def test_bad_arguments_exit_2() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest", "--batch-size", "many"])
    assert exit_info.value.code == 2


# --- the installed command --------------------------------------------------------------


def test_help_lists_every_command_without_importing_them() -> None:
    code = (
        "import sys; from labctl.cli import build_parser; build_parser().format_help(); "
        "print(sorted(m for m in sys.modules if m.startswith(('labctl.', 'boto', 'aws_cdk', "
        "'sagemaker', 'infra'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    # No command module, no boto3, no CDK, no SageMaker SDK: only the CLI shell itself.
    assert set(json.loads(out.replace("'", '"'))) <= {"labctl.cli", "ops.errors"}


@pytest.mark.parametrize("module", sorted(SUMMARIES))
def test_listed_help_matches_the_command_module(module: str) -> None:
    """The lazy table must say what the module's own register() says."""
    name, summary = SUMMARIES[module]
    listed = {a.dest: a.help for a in _choices(build_parser(None))}
    loaded = {a.dest: a.help for a in _choices(build_parser(name))}
    assert listed[name] == loaded[name] == summary


def _choices(parser: object) -> list:  # type: ignore[type-arg]
    import argparse

    assert isinstance(parser, argparse.ArgumentParser)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub._choices_actions)


def test_lab_help_names_the_stages(capsys: pytest.CaptureFixture[str]) -> None:
    from labctl.lab import STAGES

    with pytest.raises(SystemExit):
        main(["lab", "--help"])
    out = capsys.readouterr().out
    for stage in STAGES:
        assert f"  {stage.name} " in out


def test_console_script_entry_point_resolves() -> None:
    """pyproject's [project.scripts] names labctl.cli:main, and that resolves to main."""
    import importlib
    import tomllib
    from importlib.metadata import PackageNotFoundError, distribution

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["build-system"]["build-backend"] == "setuptools.build_meta"
    module, _, attr = pyproject["project"]["scripts"]["labctl"].partition(":")
    assert getattr(importlib.import_module(module), attr) is main
    try:  # installed (make bootstrap): the entry point the `labctl` script calls
        installed = distribution("mlops-reference-platform").entry_points
    except PackageNotFoundError:  # a checkout on PYTHONPATH only: pyproject is the contract
        return
    (entry,) = [e for e in installed if e.group == "console_scripts" and e.name == "labctl"]
    assert entry.load() is main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("labctl 0.1.0")
