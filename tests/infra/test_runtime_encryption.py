"""Every object our code writes is encrypted with the project's key, not S3's managed one.

S3 encrypts a PutObject that sends ``ServerSideEncryption="aws:kms"`` without ``SSEKMSKeyId``
with the AWS managed key ``aws/s3``, whatever the bucket's default key is (S3 API Reference,
PutObject: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html). That key's
policy cannot be narrowed or shared across accounts, so such objects escape the lake key's
policy (DEPLOYABILITY class 9, the profile's encryption promise). A call either names the key
or sends no SSE header and lets the bucket's default (the lake key) apply.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("model_code", "pipelines", "core", "infra", "assurance", "ops", "lab", "labctl")


def kms_without_key(source: str) -> list[int]:
    """Line numbers of calls that ask for SSE-KMS without naming the key."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        sse = kw.get("ServerSideEncryption")
        if isinstance(sse, ast.Constant) and sse.value == "aws:kms" and "SSEKMSKeyId" not in kw:
            lines.append(node.lineno)
    return lines


def test_the_check_names_a_call_that_falls_back_to_the_managed_key() -> None:
    planted = 's3.put_object(Bucket="b", Key="k", Body=b"", ServerSideEncryption="aws:kms")\n'
    named = planted.replace('"aws:kms"', '"aws:kms", SSEKMSKeyId=key')
    assert kms_without_key(planted) == [1]
    assert kms_without_key(named) == []
    assert kms_without_key('s3.put_object(Bucket="b", Key="k", Body=b"")\n') == []


def test_no_runtime_writes_with_the_aws_managed_key() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line}"
        for top in SOURCES
        for path in sorted((REPO / top).rglob("*.py"))
        for line in kms_without_key(path.read_text())
    ]
    assert not offenders, f"SSE-KMS without SSEKMSKeyId (uses aws/s3): {offenders}"
