"""The one reader of a synthesized cloud assembly (``cdk.out``).

Everything that judges or tears down a synthesized copy reads the folder through this module:
the rehearsal (``assurance/rehearsal/assembly.py`` resolves intrinsics on top of it), the review
(``assurance/review/assembly.py`` adds construct paths and cross-stack references) and the
teardown plan (``ops/teardown/plan.py`` counts what each stack deletes and retains).

What it reads is the cloud assembly schema's manifest (``manifest.json``; the schema:
https://github.com/aws/aws-cdk/tree/main/packages/aws-cdk-lib/cloud-assembly-schema, and
``AwsCloudFormationStackProperties`` there): every artifact of type
``aws:cloudformation:stack`` with its ``templateFile``, ``stackName`` (default: the artifact
id), ``terminationProtection`` (default false), ``environment`` (``aws://<account>/<region>``),
``displayName``, ``dependencies`` (the ``.assets`` manifests dropped: they are not stacks) and
its metadata (inline, plus the ``additionalMetadataFile`` CDK writes beside the template).

Standard library only: no aws_cdk, no boto3, no infra.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STACK_ARTIFACT = "aws:cloudformation:stack"
ASSET_SUFFIX = ".assets"  # the asset manifest every stack depends on (cdk:asset-manifest)


class AssemblyError(ValueError):
    """The folder is not a cloud assembly that names a CloudFormation stack."""


@dataclass(frozen=True)
class StackArtifact:
    """One stack of the assembly, as the manifest names it."""

    artifact_id: str  # the manifest key; the stack name unless ``stackName`` says otherwise
    stack_name: str
    display_name: str
    account: str  # "unknown" for an environment-agnostic stack
    region: str
    template_file: str
    template: dict[str, Any]
    dependencies: tuple[str, ...]  # other stacks (artifact ids), asset manifests dropped
    termination_protection: bool
    metadata: dict[str, list[dict[str, Any]]]  # construct path -> metadata entries

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self.template.get("Resources", {}) or {}
        return found


@dataclass(frozen=True)
class CloudAssembly:
    outdir: Path
    stacks: tuple[StackArtifact, ...]  # in manifest order

    @classmethod
    def read(cls, outdir: str | Path) -> CloudAssembly:
        outdir = Path(outdir)
        manifest_path = outdir / "manifest.json"
        if not manifest_path.is_file():
            raise AssemblyError(f"no cloud assembly at {outdir} (manifest.json missing)")
        try:
            manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as err:
            raise AssemblyError(f"{manifest_path}: not JSON ({err})") from err
        stacks = [
            _stack(outdir, artifact_id, artifact)
            for artifact_id, artifact in (manifest.get("artifacts") or {}).items()
            if artifact.get("type") == STACK_ARTIFACT
        ]
        if not stacks:
            raise AssemblyError(f"{manifest_path} names no CloudFormation stack")
        return cls(outdir, tuple(stacks))

    def stack(self, artifact_id: str) -> StackArtifact | None:
        return next((s for s in self.stacks if s.artifact_id == artifact_id), None)

    def templates(self) -> dict[str, dict[str, Any]]:
        """Artifact id -> template, in manifest order."""
        return {s.artifact_id: s.template for s in self.stacks}

    def accounts(self) -> dict[str, str]:
        """Artifact id -> the account its environment names."""
        return {s.artifact_id: s.account for s in self.stacks}

    def destroy_order(self) -> list[str]:
        """Every stack, each before the stacks it depends on (CloudFormation refuses to delete
        a stack whose exports another stack still imports). Dependencies on artifacts that are
        not stacks of this assembly are ignored."""
        deps = {s.artifact_id: s.dependencies for s in self.stacks}
        order: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:  # dependencies first, then reversed
            if name in order or name in visiting:
                return
            visiting.add(name)
            for dep in deps.get(name, ()):
                if dep in deps:
                    visit(dep)
            order.append(name)

        for name in deps:
            visit(name)
        return list(reversed(order))


def _stack(outdir: Path, artifact_id: str, artifact: dict[str, Any]) -> StackArtifact:
    props = artifact.get("properties") or {}
    if "templateFile" not in props:
        raise AssemblyError(f"stack {artifact_id}: the manifest names no templateFile")
    template_path = outdir / props["templateFile"]
    try:
        template = json.loads(template_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise AssemblyError(f"stack {artifact_id}: cannot read {template_path} ({err})") from err
    metadata: dict[str, list[dict[str, Any]]] = {}
    extra = outdir / artifact.get("additionalMetadataFile", f"{artifact_id}.metadata.json")
    if extra.is_file():
        metadata.update(json.loads(extra.read_text()))
    metadata.update(artifact.get("metadata") or {})
    env = str(artifact.get("environment", "aws://unknown/unknown")).removeprefix("aws://")
    account, _, region = env.partition("/")
    stack_name = str(props.get("stackName") or artifact_id)
    return StackArtifact(
        artifact_id=artifact_id,
        stack_name=stack_name,
        display_name=str(artifact.get("displayName") or stack_name),
        account=account,
        region=region,
        template_file=str(props["templateFile"]),
        template=template,
        dependencies=tuple(
            d for d in artifact.get("dependencies", []) if not d.endswith(ASSET_SUFFIX)
        ),
        termination_protection=bool(props.get("terminationProtection", False)),
        metadata=metadata,
    )
