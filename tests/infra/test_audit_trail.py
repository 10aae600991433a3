"""Issue 26, audit trail: where the trail is, what it logs, and its log bucket.

Oracle for "the lake's buckets": the raw, curated and artifacts buckets as the DataLake
template names them (their construct ids, pinned by tests/infra/test_data_lake.py), never the
construct's own list.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from core.config import AuditConfig, ConfigError, config_from_dict, load_profile

LAKE_ZONES = ("LakeRawBucket", "LakeCuratedBucket", "LakeArtifactsBucket")


def _resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def _zone_ids(template: dict[str, Any]) -> set[str]:
    buckets = _resources(template, "AWS::S3::Bucket")
    found = {k for k in buckets for zone in LAKE_ZONES if k.startswith(zone)}
    assert len(found) == 3, sorted(buckets)
    return found


def _selector_buckets(trail: dict[str, Any]) -> list[str]:
    """Logical ids of the buckets whose objects the trail's S3 data selectors name."""
    ids = []
    for selector in trail["Properties"]["EventSelectors"]:
        for data in selector.get("DataResources", []):
            assert data["Type"] == "AWS::S3::Object"
            for value in data["Values"]:
                arn, suffix = value["Fn::Join"][1]
                assert suffix == "/", "a prefix would leave objects outside it unlogged"
                ids.append(arn["Fn::GetAtt"][0])
    return ids


def _trail(template: dict[str, Any]) -> dict[str, Any]:
    (trail,) = _resources(template, "AWS::CloudTrail::Trail").values()
    return trail


@pytest.fixture(scope="module")
def lab_with_trail(synth):  # type: ignore[no-untyped-def]
    config = load_profile("lab")
    config = dataclasses.replace(config, audit=AuditConfig(trail=True))
    return synth.config_variant("lab/audit-trail", config)


def test_prod_like_trail_logs_data_events_of_exactly_the_lake_buckets(synth) -> None:  # type: ignore[no-untyped-def]
    template = synth("prod-like").template("DataLake")
    trail = _trail(template)
    assert sorted(_selector_buckets(trail)) == sorted(_zone_ids(template))
    props = trail["Properties"]
    assert props["EnableLogFileValidation"] is True
    assert props["IsLogging"] is True
    # management events: the first selector, read and write
    assert {"IncludeManagementEvents": True, "ReadWriteType": "All"} in props["EventSelectors"]
    assert props["TrailName"] == "prodlike-lake-audit"


def test_the_trail_writes_to_its_own_kms_bucket_with_its_own_key(synth) -> None:  # type: ignore[no-untyped-def]
    template = synth("prod-like").template("DataLake")
    props = _trail(template)["Properties"]
    bucket_id = props["S3BucketName"]["Ref"]
    key_id = props["KMSKeyId"]["Fn::GetAtt"][0]
    assert bucket_id not in _zone_ids(template)  # never logs its own writes
    assert bucket_id not in _selector_buckets(_trail(template))
    bucket = template["Resources"][bucket_id]
    sse = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert template["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True
    # access-logged, to the lake's access-log bucket
    logging = bucket["Properties"]["LoggingConfiguration"]
    assert logging["LogFilePrefix"] == "audit-trail/"
    # retained in prod-like: audit evidence outlives the stack
    assert bucket["DeletionPolicy"] == "Retain"
    assert template["Resources"][key_id]["DeletionPolicy"] == "Retain"
    # TLS only
    (policy,) = [
        p
        for p in _resources(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    )


def test_the_trail_waits_for_the_bucket_and_key_policies(synth) -> None:  # type: ignore[no-untyped-def]
    """CreateTrail checks the bucket policy and the key policy: both must exist first."""
    template = synth("prod-like").template("DataLake")
    trail = _trail(template)
    bucket_id = trail["Properties"]["S3BucketName"]["Ref"]
    key_id = trail["Properties"]["KMSKeyId"]["Fn::GetAtt"][0]
    (policy_id,) = [
        k
        for k, p in _resources(template, "AWS::S3::BucketPolicy").items()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert {policy_id, key_id} <= set(trail["DependsOn"])


def test_lab_has_no_trail_by_default(synth) -> None:  # type: ignore[no-untyped-def]
    assert load_profile("lab").audit.trail is False
    for template in synth("lab").templates.values():
        assert not _resources(template, "AWS::CloudTrail::Trail")


def test_lab_with_the_flag_has_the_trail_and_destroys_it(lab_with_trail) -> None:  # type: ignore[no-untyped-def]
    template = lab_with_trail.template("DataLake")
    trail = _trail(template)
    assert sorted(_selector_buckets(trail)) == sorted(_zone_ids(template))
    bucket = template["Resources"][trail["Properties"]["S3BucketName"]["Ref"]]
    assert bucket["DeletionPolicy"] == "Delete"  # lab: destroyable, emptied by CDK
    # ... after the trail is deleted (no log file lands in the emptied bucket)
    (empty,) = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "Custom::S3AutoDeleteObjects"
        and r["Properties"]["BucketName"] == trail["Properties"]["S3BucketName"]
    ]
    trail_id = next(k for k, r in template["Resources"].items() if r is trail)
    assert trail_id in empty["DependsOn"]
    trails = [
        name
        for name, t in lab_with_trail.templates.items()
        if _resources(t, "AWS::CloudTrail::Trail")
    ]
    assert trails == ["lab-DataLake"]


def test_multi_account_puts_the_trail_in_tooling_only(synth) -> None:  # type: ignore[no-untyped-def]
    """Three accounts: the lake (and so its trail) is in tooling; the target accounts get none."""
    config = load_profile("multi-account")
    result = synth.config_variant("multi-account/real_time", config)
    with_trail = [n for n, t in result.templates.items() if _resources(t, "AWS::CloudTrail::Trail")]
    assert with_trail == ["multi-DataLake"]
    props = _trail(result.templates["multi-DataLake"])["Properties"]
    assert props["TrailName"] == "multi-lake-audit"
    assert config.tooling_account == "111111111111"


def test_assumed_volume_must_be_a_count() -> None:
    data = {**load_profile("lab").__dict__}
    with pytest.raises(ConfigError, match="audit.assumed_data_events_per_month must be"):
        AuditConfig(assumed_data_events_per_month=-1)
    with pytest.raises(ConfigError, match="unknown key"):
        config_from_dict(
            {
                "env_name": "x1",
                "account": data["account"],
                "region": "us-east-1",
                "tags": {"project": "p", "environment": "x1", "owner": "o", "cost-center": "c"},
                "audit": {"trial": True},
            }
        )
