"""Read a synthesized cloud assembly: stacks, templates, construct paths, exports.

Everything the review says comes from these files (``manifest.json``, ``<stack>.template.json``,
``<stack>.metadata.json``, ``validation-report.json``), never from the construct tree, so the
review describes exactly what ``cdk deploy`` would send to CloudFormation. The folder is read by
``core.assembly`` (the one cdk.out reader); this module adds construct paths and the
cross-stack references the review follows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.assembly import CloudAssembly, StackArtifact

LOGICAL_ID_KEY = "aws:cdk:logicalId"


@dataclass(frozen=True)
class Resource:
    stack: str
    logical_id: str
    type: str
    properties: dict[str, Any]
    deletion_policy: str  # CloudFormation's default is Delete
    path: str  # construct path, from the stack's metadata file

    @property
    def key(self) -> tuple[str, str]:
        return (self.stack, self.logical_id)


@dataclass
class Stack:
    name: str
    account: str
    region: str
    template: dict[str, Any]
    paths: dict[str, str]  # logical id -> construct path
    termination_protection: bool
    dependencies: list[str] = field(default_factory=list)

    def resources(self) -> Iterator[Resource]:
        for logical_id, body in self.template.get("Resources", {}).items():
            yield Resource(
                stack=self.name,
                logical_id=logical_id,
                type=body["Type"],
                properties=body.get("Properties", {}) or {},
                deletion_policy=body.get("DeletionPolicy", "Delete"),
                path=self.paths.get(logical_id, body.get("Metadata", {}).get("aws:cdk:path", "")),
            )

    def resource(self, logical_id: str) -> Resource | None:
        return next((r for r in self.resources() if r.logical_id == logical_id), None)


@dataclass
class Assembly:
    outdir: Path
    stacks: list[Stack]

    @classmethod
    def read(cls, outdir: str | Path) -> Assembly:
        """The stacks of the assembly at ``outdir``; ``AssemblyError`` when it is none."""
        cloud = CloudAssembly.read(outdir)
        return cls(cloud.outdir, [_stack(artifact) for artifact in cloud.stacks])

    def resources(self) -> Iterator[Resource]:
        for stack in self.stacks:
            yield from stack.resources()

    def find(self, key: tuple[str, str]) -> Resource | None:
        """The resource with this (stack, logical id), if any."""
        stack = self.stack(key[0])
        return stack.resource(key[1]) if stack else None

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources() if r.type in types]

    def stack(self, name: str) -> Stack | None:
        return next((s for s in self.stacks if s.name == name), None)

    def exports(self) -> dict[str, tuple[str, Any]]:
        """Export name -> (exporting stack, output value)."""
        found: dict[str, tuple[str, Any]] = {}
        for stack in self.stacks:
            for output in stack.template.get("Outputs", {}).values():
                name = output.get("Export", {}).get("Name")
                if isinstance(name, str):
                    found[name] = (stack.name, output.get("Value"))
        return found

    def resolve(self, stack: str, value: Any) -> list[tuple[str, str]]:
        """The (stack, logical id) pairs a CloudFormation value refers to, across stacks."""
        exports = self.exports()
        found: list[tuple[str, str]] = []

        def walk(where: str, node: Any) -> None:
            if isinstance(node, dict):
                if "Ref" in node and isinstance(node["Ref"], str):
                    found.append((where, node["Ref"]))
                    return
                if "Fn::GetAtt" in node:
                    target = node["Fn::GetAtt"]
                    logical = target[0] if isinstance(target, list) else str(target).split(".")[0]
                    found.append((where, logical))
                    return
                if "Fn::ImportValue" in node and isinstance(node["Fn::ImportValue"], str):
                    exported = exports.get(node["Fn::ImportValue"])
                    if exported:
                        walk(exported[0], exported[1])
                    return
                if "Fn::GetStackOutput" in node:
                    ref = node["Fn::GetStackOutput"]
                    other = self.stack(ref.get("StackName", ""))
                    if other:
                        output = other.template.get("Outputs", {}).get(ref.get("OutputName"), {})
                        walk(other.name, output.get("Value"))
                    return
                for child in node.values():
                    walk(where, child)
            elif isinstance(node, list):
                for child in node:
                    walk(where, child)

        walk(stack, value)
        return found

    def strings(self, value: Any) -> Iterator[str]:
        """Every literal string inside a CloudFormation value (names and ARNs)."""
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for child in value.values():
                yield from self.strings(child)
        elif isinstance(value, list):
            for child in value:
                yield from self.strings(child)


def strings_in(value: Any) -> list[str]:
    """Every string in a template value (a property, a definition), depth first: what the
    diagram and the lens search for names and ARNs."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def _stack(artifact: StackArtifact) -> Stack:
    """The review's view of one stack: its resources with their construct paths."""
    paths: dict[str, str] = {}
    for construct_path, entries in artifact.metadata.items():
        for entry in entries:
            if entry.get("type") == LOGICAL_ID_KEY:
                paths[str(entry["data"])] = construct_path.lstrip("/")
    return Stack(
        name=artifact.artifact_id,
        account=artifact.account,
        region=artifact.region,
        template=artifact.template,
        paths=paths,
        termination_protection=artifact.termination_protection,
        dependencies=list(artifact.dependencies),
    )


def permissions_boundaries(assembly: Assembly) -> set[tuple[str, str]]:
    """The managed policies some role names as its ``PermissionsBoundary`` (issue 26): by
    reference in their own stack, by their fixed name from the others. Boundaries cap roles and
    grant nothing, so they are neither doors offered to principals nor grants to judge."""
    import json

    named = {
        json.dumps(r.properties["PermissionsBoundary"], sort_keys=True)
        for r in assembly.of_type("AWS::IAM::Role")
        if "PermissionsBoundary" in r.properties
    }
    found = set()
    for pol in assembly.of_type("AWS::IAM::ManagedPolicy"):
        ref = json.dumps({"Ref": pol.logical_id}, sort_keys=True)
        name = pol.properties.get("ManagedPolicyName")
        by_name = isinstance(name, str) and any(b.endswith(f':policy/{name}"') for b in named)
        if ref in named or by_name:
            found.add(pol.key)
    return found
