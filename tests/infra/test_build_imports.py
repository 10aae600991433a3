"""Build parity, the fast half (DEPLOYABILITY class 5): every module the delivery CodeBuild
projects' commands import is installed by what their buildspec installs (requirements.txt),
not only by requirements-dev.txt, which `make bootstrap` and `make test` use.

The commands are read from the synthesized buildspecs; the imports are found by the standard
library's modulefinder over the project's code; what a requirements file installs comes from
the installed distributions' own metadata. `make build-parity` (tests/infra/
test_build_parity.py) runs the same commands in a fresh clone and venv.
"""

from __future__ import annotations

import pytest

from tests.infra.buildspec import (
    FIRST_PARTY,
    REPO,
    closure,
    entry_modules,
    imported_modules,
    projects,
    unprovided,
)

INSTALL = ".venv/bin/pip install --quiet -r requirements.txt"


def _delivery_projects(synth, profile: str):  # type: ignore[no-untyped-def]
    found = projects(synth(profile).template("Delivery"))
    assert set(found) and all(p.commands for p in found.values()), found
    return found


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_each_build_installs_requirements_txt(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    """The premise of the check below: each project installs requirements.txt (and only it)
    into its own venv before its commands."""
    for lid, project in _delivery_projects(synth, profile).items():
        assert [c for c in project.install if "pip install" in c] == [INSTALL], lid


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_build_commands_import_only_what_requirements_txt_installs(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    """The Build (release resolve, synth with the rehearsal) and the SmokeTest (invoke) import
    nothing that only requirements-dev.txt installs: the rehearsal is part of the deploy-time
    gate (labctl synth fails on its findings), so principalmapper and cfn-lint are runtime
    requirements."""
    missing = {}
    for lid, project in _delivery_projects(synth, profile).items():
        entries = set().union(*(entry_modules(c) for c in project.commands))
        assert entries, f"{lid}: no project module found in {project.commands}"
        for module, why in unprovided(imported_modules(entries), REPO / "requirements.txt").items():
            missing[f"{lid}: {module}"] = why
    assert not missing, missing


def test_the_check_names_a_planted_dev_only_import(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Planted defect: a module the build reaches imports a dev-only package (moto) inside a
    function; the check names it, and the importer."""
    (tmp_path / "planted_build.py").write_text(
        "import labctl.invoke\n\n\ndef handler():\n    import moto\n\n    return moto\n"
    )
    modules = imported_modules(
        {"planted_build"}, first_party=("planted_build", *FIRST_PARTY), path=(str(tmp_path),)
    )
    missing = unprovided(modules, REPO / "requirements.txt")
    assert set(missing) == {"moto"}, missing
    assert "planted_build" in missing["moto"]


def test_requirements_closure_follows_metadata_not_the_dev_file() -> None:
    """The oracle itself: requirements.txt's closure holds what its pins require (scipy via
    scikit-learn) and none of the test tools; requirements-dev.txt's holds those too."""
    runtime, dev = closure(REPO / "requirements.txt"), closure(REPO / "requirements-dev.txt")
    assert {"scipy", "botocore", "jsii"} <= runtime
    assert not {"pytest", "moto", "hypothesis", "mutmut"} & runtime
    assert runtime < dev and {"pytest", "moto"} <= dev


def test_entry_modules_reads_labctl_commands_and_python_c_imports() -> None:
    cmd = ".venv/bin/python -m labctl synth --profile lab --outdir cdk.out"
    assert entry_modules(cmd) == {"labctl.__main__", "labctl.cli", "labctl.synth"}
    c = "aws s3 cp \"$(.venv/bin/python -c 'from labctl.invoke import release_samples; print(1)')\""
    assert entry_modules(c) == {"labctl.invoke"}
    assert entry_modules("aws configure set profile.staging.role_arn x") == set()
