"""Build parity, the slow half (DEPLOYABILITY class 5; `make build-parity`, CI after `make test`).

Each delivery CodeBuild project's install commands, read from the synthesized buildspec, run in
a fresh clone of this checkout's HEAD (committed work only: `git clone` copies no uncommitted
change) with a clean environment (no venv, no PYTHONPATH of this one); then the project's
commands run there, offline:

- Build: `labctl synth` exactly as the buildspec says, plus `--release example` because the
  step before it (`labctl release resolve`, and `release publish` for multi_model) lists the
  approved packages in SageMaker; those AWS steps are replaced by importing every project
  module their commands reach (tests/infra/buildspec.py).
- SmokeTest: `labctl invoke` needs the staging endpoint, so it is replaced by importing every
  project module its command reaches.

pip installs from PyPI through pip's cache (about 1.5 min warm). Marked `build_parity`, which
`make test` deselects (pyproject addopts), so it runs once, in its own target.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.buildspec import FIRST_PARTY, REPO, entry_modules, projects

pytestmark = pytest.mark.build_parity

AWS_STEPS = re.compile(r"-m labctl (release|invoke)\b")  # need an account: imports only
SYNTH = re.compile(r"-m labctl synth\b")


def _env(project_variables: dict[str, str]) -> dict[str, str]:
    """What CodeBuild gives a command: the buildspec's variables and a plain PATH, no venv of
    ours (fake credentials only so that nothing can reach an account)."""
    venv_bin = str(Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin")
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin and ".venv" not in p]
    return {
        "PATH": os.pathsep.join(path),
        "HOME": os.environ.get("HOME", "/root"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        **{
            k: os.environ[k]
            for k in ("PIP_CACHE_DIR", "PIP_FIND_LINKS", "PIP_CERT")
            if k in os.environ
        },
        **project_variables,
    }


def _run(command: str, cwd: Path, env: dict[str, str], timeout: int = 900) -> None:
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, (
        f"{command!r} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )


def _imports(modules: set[str]) -> str:
    """The offline stand-in of a command that needs AWS: import what it reaches."""
    # a package's __main__ runs the CLI when imported: its imports are labctl.cli's
    listed = ", ".join(repr(m) for m in sorted(modules) if not m.endswith(".__main__"))
    return (
        f'.venv/bin/python -c "import importlib; [importlib.import_module(m) for m in ({listed},)]"'
    )


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert shutil.which("git") and shutil.which("node"), "git and node are needed"
    where = tmp_path_factory.mktemp("parity") / "src"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(where)], check=True)
    return where


@pytest.mark.parametrize("profile", ["lab"])
def test_delivery_projects_run_in_a_fresh_clone_with_what_they_install(
    synth,  # type: ignore[no-untyped-def]
    clone: Path,
    profile: str,
) -> None:
    """Install as the buildspec does, then run the Build's synth (the deploy-time gate,
    rehearsal included) and import what every other command needs."""
    found = projects(synth(profile).template("Delivery"))
    installs = {tuple(p.install) for p in found.values()}
    assert len(installs) == 1, installs  # one install serves both projects' commands
    (install,) = installs
    variables = {k: v for p in found.values() for k, v in p.variables.items()}
    env = _env(variables)
    for command in install:
        _run(command, clone, env)
    synths = 0
    for lid, project in sorted(found.items()):
        for command in project.commands:
            if SYNTH.search(command):
                synths += 1
                _run(f"{command} --release example", clone, env)
                assert (clone / "cdk.out" / "manifest.json").is_file(), lid
            else:
                modules = entry_modules(command)
                assert modules or not AWS_STEPS.search(command), command
                if modules:
                    _run(_imports(modules), clone, env)
    assert synths == 1, "the Build runs labctl synth once"
    assert all(
        m.split(".")[0] in FIRST_PARTY
        for p in found.values()
        for c in p.commands
        for m in entry_modules(c)
    )
