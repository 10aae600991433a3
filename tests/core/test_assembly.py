"""core.assembly: the one cdk.out reader, against hand-written manifests (the cloud assembly
schema's fields) and against the CDK stacks of a real synth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.assembly import AssemblyError, CloudAssembly


def _write(outdir: Path, artifacts: dict[str, Any], templates: dict[str, Any]) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "manifest.json").write_text(json.dumps({"version": "40.0.0", "artifacts": artifacts}))
    for name, body in templates.items():
        (outdir / name).write_text(json.dumps(body))
    return outdir


def _stack(template: str, deps: list[str], **extra: Any) -> dict[str, Any]:
    props = {"templateFile": template, **extra.pop("properties", {})}
    return {"type": "aws:cloudformation:stack", "properties": props, "dependencies": deps, **extra}


BUCKET = {"Resources": {"B": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}}}


@pytest.fixture
def diamond(tmp_path: Path) -> CloudAssembly:
    """base <- left, right <- top (top depends on both), plus an asset manifest and a tree."""
    artifacts = {
        "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
        "base.assets": {"type": "cdk:asset-manifest", "properties": {"file": "base.assets.json"}},
        "top": _stack("top.template.json", ["left", "right", "top.assets"]),
        "base": _stack(
            "base.template.json",
            ["base.assets"],
            environment="aws://111111111111/eu-west-1",
            properties={"terminationProtection": True},
            additionalMetadataFile="base.metadata.json",
        ),
        "left": _stack(
            "left.template.json",
            ["base"],
            environment="aws://222222222222/eu-west-1",
            properties={"stackName": "Left-Renamed"},
            displayName="copy/Left",
            metadata={"/copy/Left/Q/Resource": [{"type": "aws:cdk:logicalId", "data": "Q"}]},
        ),
        "right": _stack("right.template.json", ["base"]),
    }
    templates = {f"{n}.template.json": BUCKET for n in ("top", "base", "left", "right")}
    templates["base.metadata.json"] = {
        "/copy/Base/B/Resource": [{"type": "aws:cdk:logicalId", "data": "B"}]
    }
    return CloudAssembly.read(_write(tmp_path / "cdk.out", artifacts, templates))


def test_reads_only_the_stack_artifacts_with_their_manifest_fields(diamond: CloudAssembly) -> None:
    assert [s.artifact_id for s in diamond.stacks] == ["top", "base", "left", "right"]
    base, left, top = diamond.stack("base"), diamond.stack("left"), diamond.stack("top")
    assert base is not None and left is not None and top is not None
    assert (base.account, base.region, base.termination_protection) == (
        "111111111111",
        "eu-west-1",
        True,
    )
    assert (top.account, top.region, top.termination_protection) == ("unknown", "unknown", False)
    assert (left.stack_name, left.display_name) == ("Left-Renamed", "copy/Left")
    assert (top.stack_name, top.display_name) == ("top", "top")
    assert top.dependencies == ("left", "right")  # the asset manifest is not a stack
    assert base.resources == BUCKET["Resources"]
    assert base.metadata["/copy/Base/B/Resource"][0]["data"] == "B"  # additionalMetadataFile
    assert left.metadata["/copy/Left/Q/Resource"][0]["data"] == "Q"  # inline metadata
    assert diamond.accounts()["left"] == "222222222222"
    assert list(diamond.templates()) == ["top", "base", "left", "right"]


def test_the_destroy_order_puts_every_stack_before_what_it_depends_on(
    diamond: CloudAssembly,
) -> None:
    order = diamond.destroy_order()
    assert sorted(order) == ["base", "left", "right", "top"]
    assert order[0] == "top" and order[-1] == "base"
    assert order.index("left") < order.index("base") and order.index("right") < order.index("base")


@pytest.mark.parametrize(
    ("artifacts", "files", "message"),
    [
        (None, {}, "manifest.json missing"),
        ({"Tree": {"type": "cdk:tree"}}, {}, "names no CloudFormation stack"),
        ({"s": _stack("s.template.json", [])}, {}, "cannot read"),
        ({"s": {"type": "aws:cloudformation:stack", "properties": {}}}, {}, "no templateFile"),
    ],
)
def test_a_folder_that_is_no_assembly_is_one_clear_error(
    tmp_path: Path, artifacts: dict[str, Any] | None, files: dict[str, Any], message: str
) -> None:
    if artifacts is not None:
        _write(tmp_path, artifacts, files)
    with pytest.raises(AssemblyError, match=message):
        CloudAssembly.read(tmp_path)


def test_a_real_synth_reads_as_the_cdk_app_built_it(synth) -> None:  # type: ignore[no-untyped-def]
    """Oracle: the CDK stack objects of the same synth (names, accounts, dependencies)."""
    result = synth("lab")
    cloud = CloudAssembly.read(result.outdir)
    stacks = {s.stack_name: s for s in result.platform.stacks}
    assert {s.stack_name for s in cloud.stacks} == set(stacks)
    assert cloud.templates() == result.templates
    order = cloud.destroy_order()
    for artifact in cloud.stacks:
        cdk = stacks[artifact.stack_name]
        assert artifact.account == str(cdk.account)
        assert artifact.termination_protection == bool(cdk.termination_protection)
        assert set(artifact.dependencies) == {d.stack_name for d in cdk.dependencies}
        for dep in cdk.dependencies:
            assert order.index(artifact.artifact_id) < order.index(dep.stack_name)
