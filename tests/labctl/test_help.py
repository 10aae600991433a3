"""Every --help tells the truth (issue 24): an example that parses in every subcommand, one
region rule in every --region help, one metavar convention for actions, and a bad input
prints exactly one stderr line even when the command synthesizes (no SDK noise)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labctl.cli import SUMMARIES, build_parser, main
from labctl.options import example_commands, resolve_region

REPO = Path(__file__).resolve().parents[2]


def subparsers(parser: argparse.ArgumentParser) -> Iterator[argparse._SubParsersAction]:  # type: ignore[type-arg]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield action


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[Any]:
    """(path, parser) of every command and subcommand under ``parser``."""
    for action in subparsers(parser):
        for name, child in action.choices.items():
            yield (*path, name), child
            yield from walk(child, (*path, name))


def every_command() -> list[Any]:
    """Each command's own parser (build_parser imports only the command it is given)."""
    found = []
    for name, _ in SUMMARIES.values():
        (action,) = subparsers(build_parser(name))
        command = action.choices[name]
        found += [((name,), command), *walk(command, (name,))]
    return found


COMMANDS = every_command()


def test_the_walk_sees_every_command_and_subcommand() -> None:
    paths = {" ".join(p) for p, _ in COMMANDS}
    # A hand-written sample of the tree: the walk must reach nested actions too.
    assert {
        "synth",
        "teardown",
        "model",
        "model list",
        "model reject",
        "batch transform",
        "shadow report",
        "release upload",
        "deploy status",
        "pipeline run",
    } <= paths


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_help_has_an_example_that_parses(path: tuple[str, ...], parser: Any) -> None:
    examples = example_commands(parser)
    assert examples, f"labctl {' '.join(path)} --help has no example"
    assert "examples:" in parser.format_help()
    for argv in examples:
        assert tuple(argv[: len(path)]) == path, f"example {argv} is not for {path}"
        try:
            args = build_parser(argv[0]).parse_args(argv)
        except SystemExit as err:  # argparse rejected the example
            raise AssertionError(f"example does not parse: labctl {' '.join(argv)}") from err
        assert callable(args.handler)


REGION_RULE_ORDER = ("--profile", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE")


def region_helps() -> list[tuple[str, str]]:
    found = []
    for path, parser in COMMANDS:
        for action in parser._actions:
            if "--region" in action.option_strings:
                found.append((" ".join(path), action.help or ""))
    return found


def test_every_region_help_states_the_one_rule_in_its_order() -> None:
    helps = region_helps()
    assert len(helps) >= 12  # every cloud command has one
    texts = {h.split(";")[0] if h.count(")") else h for _, h in helps}
    rule = {h[: h.index(")") + 1] for _, h in helps}
    assert len(rule) == 1, rule  # the same default text everywhere
    (text,) = rule
    positions = [text.index(word) for word in REGION_RULE_ORDER]
    assert positions == sorted(positions), text
    assert texts


@pytest.mark.parametrize(
    ("flag", "profile", "env", "expected"),
    [
        ("eu-west-3", "us-east-1", {"AWS_REGION": "ap-south-1"}, "eu-west-3"),
        (
            None,
            "us-east-1",
            {"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "sa-east-1"},
            "us-east-1",
        ),
        (None, None, {"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "sa-east-1"}, "ap-south-1"),
        (None, None, {"AWS_DEFAULT_REGION": "sa-east-1"}, "sa-east-1"),
        (None, None, {}, None),  # boto3 then reads the AWS_PROFILE's region
    ],
)
def test_region_precedence(
    flag: str | None,
    profile: str | None,
    env: dict[str, str],
    expected: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert resolve_region(flag, profile) == expected


def test_actions_share_one_metavar() -> None:
    top = build_parser()
    assert [a.metavar for a in subparsers(top)] == ["COMMAND"]
    for path, parser in COMMANDS:
        for action in subparsers(parser):
            assert action.metavar == "ACTION", path


def test_reject_has_its_own_description() -> None:
    model = dict(COMMANDS)[("model",)]
    (actions,) = subparsers(model)
    approve, reject = actions.choices["approve"], actions.choices["reject"]
    assert approve.description != reject.description
    assert "Rejected" in reject.description and "approve" in approve.format_help()


def test_account_error_names_the_flag_not_cdk_context(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["teardown", "--profile", "lab", "--account", "12", "--plan"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--account" in err


def test_shadow_report_without_capture_says_how_to_serve_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["shadow", "report", "--local", "--workdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "labctl serve --local --shadow-version N" in err


def test_multi_model_invoke_without_target_names_the_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The local endpoint answers as SageMaker does (naming the HTTP header); labctl names
    the flag that sets it."""
    import boto3
    from botocore.stub import Stubber

    from lab.endpoint.server import TARGET_MODEL

    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_client_error(
        "invoke_endpoint",
        service_error_code="ValidationError",
        service_message=f"Endpoint lab-digits is a multi-model endpoint: the request is "
        f"missing a target model header ({TARGET_MODEL}).",
        http_status_code=400,
    )
    with stub:
        code = main(
            ["invoke", "--endpoint", "lab-digits", "--region", "us-east-1", "--digits", "1"],
            client=client,
        )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "--target-model" in err and TARGET_MODEL not in err


def test_cost_of_an_unpriced_region_is_one_line_naming_the_priced_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_synth(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("synthesized an unpriced region")

    monkeypatch.setattr("labctl.cost.synthesized_templates", no_synth)
    assert main(["cost", "--profile", "lab", "--region", "us-west-2"]) == 1
    err = capsys.readouterr().err
    priced = sorted(json.loads((REPO / "core/prices.json").read_text())["regions"])
    assert err.count("\n") == 1 and "us-west-2" in err
    assert all(region in err for region in priced), err


def own_profile(tmp_path: Path, **changes: Any) -> Path:
    """A profile of one's own, outside the checkout."""
    data = json.loads((REPO / "config/lab.json").read_text())
    data.update(env_name="mine", tags={**data["tags"], "environment": "mine"}, **changes)
    path = tmp_path / "elsewhere" / "mine.json"
    path.parent.mkdir()
    path.write_text(json.dumps(data))
    return path


def test_a_profile_file_outside_the_checkout_is_accepted(
    synth: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = own_profile(tmp_path, region="eu-west-1")
    assert not path.resolve().is_relative_to(REPO)
    argv = ["teardown", "--profile", str(path), "--plan", "--assembly", str(synth("lab").outdir)]
    assert main(argv) == 0
    assert "teardown plan for mine in 111111111111/eu-west-1" in capsys.readouterr().out


# --- one stderr line, the SDK's noise included (subprocesses: the noise is printed at import)
def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_"))}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
        CDK_VALIDATION="false",
    )
    return env


BAD_INPUTS = {
    "synth, unknown profile": ["synth", "--profile", "nosuch"],
    "teardown, bad account": ["teardown", "--profile", "lab", "--account", "12"],
    "teardown, no credentials": ["teardown", "--profile", "lab"],
    "cost, unpriced region": ["cost", "--profile", "lab", "--region", "us-west-2"],
    "model list, no credentials": ["model", "list"],
    "pipeline run, bad parameter": ["pipeline", "run", "--local", "--param", "NoEquals"],
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_exactly_one_stderr_line(name: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "labctl", *BAD_INPUTS[name]],
        cwd=tmp_path,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (1, 2)
    assert len(result.stderr.splitlines()) == 1, result.stderr


PRIME_RENDER = """
import sys
from core.config import load_profile
from core.pipeline_settings import pipeline_settings
from pipelines.training_pipeline import render_definition
render_definition(pipeline_settings(load_profile(sys.argv[1]), use_vpc=False, subnets=0))
"""


def test_a_synth_that_fails_on_its_budget_prints_one_line_and_no_sdk_noise(
    tmp_path: Path,
) -> None:
    """Really synthesizes, then the budget check fails: stderr is that one line. With the
    pipeline definition already cached (as after `make lab`), the first SageMaker SDK import
    of the synth is the monitoring image lookup, which printed the five-line v2 notice
    before the error. The cache is primed in a first process, as a previous run would."""
    path = own_profile(tmp_path, budget={"monthly_limit_usd": 1})
    cache_off = ("CI", "CODEBUILD_BUILD_ID", "PIPELINE_CACHE")  # the disk cache on, as for a user
    env = {k: v for k, v in _clean_env(tmp_path).items() if k not in cache_off}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    subprocess.run(
        [sys.executable, "-c", PRIME_RENDER, str(path)],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert list((tmp_path / "cache").rglob("*.json")), "the render was not cached"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "labctl",
            "synth",
            "--profile",
            str(path),
            "--outdir",
            str(tmp_path / "out"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "below the idle cost" in result.stderr
