"""The provider schemas are found where cfn-lint ships them, without importing cfn-lint."""

from __future__ import annotations

from pathlib import Path

from assurance.rehearsal import deployers


def test_schemas_dir_is_cfn_lints_own() -> None:
    import cfnlint  # the oracle: where the imported package says it lives

    expected = Path(cfnlint.__file__).parent / "data" / "schemas"
    assert deployers._schemas_dir() == expected
    assert (expected / "providers" / "us-east-1.json").is_file()
    # a handler's permissions as the schema file lists them
    assert (
        "s3:CreateBucket" in deployers.handler_permissions("AWS::S3::Bucket", "us-east-1")["create"]
    )
