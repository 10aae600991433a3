"""The lake as a serving stack in a target account sees it (issue 17, ``core/accounts.py``).

Not stateful: imports the artifacts bucket and the lake key by the ARNs the release names.
"""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from core.release import Release


class ReleasedArtifacts(Construct):
    """The lake as a serving stack in a target account sees it: the artifacts bucket and the
    lake key by the ARNs the release file names (no reference to a tooling stack).

    Exposes: artifacts_bucket, key (the shape of ``LakeRefs`` that ``ModelEndpoint`` reads).
    """

    def __init__(self, scope: Construct, id_: str, *, release: Release) -> None:
        super().__init__(scope, id_)
        if release.artifacts is None:
            raise ValueError(
                f"{release.source or 'the release'} names no artifacts bucket and key: a "
                "serving stack outside the tooling account reads models only through them"
            )
        self.key = kms.Key.from_key_arn(self, "Key", release.artifacts.key_arn)
        self.artifacts_bucket = s3.Bucket.from_bucket_attributes(
            self,
            "ArtifactsBucket",
            bucket_arn=release.artifacts.bucket_arn,
            encryption_key=self.key,
        )
