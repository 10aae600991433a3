"""Issue 26: the audit trail's log bucket is retained data. The offline plan names it among
what the DataLake stack retains, and a prod-like teardown keeps the bucket (kind ``bucket``,
a retained kind) unless --delete-retained."""

from __future__ import annotations

import boto3
from moto import mock_aws

from core.config import load_profile
from ops.teardown.plan import offline_plan
from ops.teardown.residue import RETAINED_KINDS
from tests.labctl import test_teardown as helpers  # the teardown tests' moto helpers
from tests.labctl.test_teardown import prod_assembly  # noqa: F401 - module fixture


def _trail_ids(synth) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(bucket, key) logical ids the trail names: the oracle is the template."""
    template = synth("prod-like").template("DataLake")
    (trail,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudTrail::Trail"]
    props = trail["Properties"]
    return props["S3BucketName"]["Ref"], props["KMSKeyId"]["Fn::GetAtt"][0]


def test_the_offline_plan_names_the_trail_bucket_and_key_as_retained(synth, prod_assembly) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    bucket, key = _trail_ids(synth)
    retains = prod_assembly.stacks["prodlike-DataLake"].retains
    assert f"AWS::S3::Bucket {bucket}" in retains and f"AWS::KMS::Key {key}" in retains
    text = "\n".join(offline_plan(load_profile("prod-like"), prod_assembly))
    assert f"retains AWS::S3::Bucket {bucket}" in text
    assert f"retains AWS::KMS::Key {key}" in text


@mock_aws
def test_prod_like_teardown_keeps_the_trail_bucket(synth, prod_assembly) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    region = "eu-west-1"
    helpers._prod_deployed(region)
    bucket_id, _ = _trail_ids(synth)
    # the name CloudFormation generates: <stack>-<logical id>-<suffix>, lower case
    name = f"prodlike-datalake-{bucket_id.lower()}-x1y2z3"
    s3 = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": helpers.tags("prodlike")})
    s3.put_object(Bucket=name, Key="AWSLogs/222222222222/CloudTrail/x.json.gz", Body=b"{}")
    c = helpers.clients(region, helpers.MotoGaps(region))
    report = helpers.teardown("prod-like", c, prod_assembly, yes=True).run()
    (item,) = [i for i in report.items if i.name == name]
    assert item.kind == "bucket" and item.kind in RETAINED_KINDS
    assert item.action.startswith("kept")
    assert name in {b["Name"] for b in s3.list_buckets()["Buckets"]}
