"""The data lake per retention mode: encryption, access, lifecycle, catalog, Lake Formation."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match, Template

# Stateful resources: a change of these logical ids replaces (and in lab mode empties) them.
PINNED = {
    "LakeKey7B6C155C": "AWS::KMS::Key",
    "LakeAccessLogBucket67A4777A": "AWS::S3::Bucket",
    "LakeRawBucketDA76DCB0": "AWS::S3::Bucket",
    "LakeCuratedBucketB28F5F4C": "AWS::S3::Bucket",
    "LakeArtifactsBucket1B9F5BC1": "AWS::S3::Bucket",
    "LakeDatabase161E1CC7": "AWS::Glue::Database",
}
ZONES = ("LakeRawBucketDA76DCB0", "LakeCuratedBucketB28F5F4C", "LakeArtifactsBucket1B9F5BC1")


@pytest.fixture(scope="module", params=["lab", "prod-like"])
def lake(request: pytest.FixtureRequest, synth) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    result = synth(request.param)
    return request.param, result.template("DataLake")


def test_stateful_logical_ids_are_pinned(lake: tuple[str, dict]) -> None:
    _, template = lake
    for logical_id, kind in PINNED.items():
        assert template["Resources"][logical_id]["Type"] == kind, logical_id


def test_key_rotates(lake: tuple[str, dict]) -> None:
    Template.from_json(lake[1]).has_resource_properties(
        "AWS::KMS::Key", {"EnableKeyRotation": True}
    )


def test_zones_use_the_lake_key_with_bucket_keys(lake: tuple[str, dict]) -> None:
    _, template = lake
    for logical_id in ZONES:
        props = template["Resources"][logical_id]["Properties"]
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
            "Fn::GetAtt": ["LakeKey7B6C155C", "Arn"]
        }
        assert rule["BucketKeyEnabled"] is True
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["LoggingConfiguration"]["DestinationBucketName"] == {
            "Ref": "LakeAccessLogBucket67A4777A"
        }


def test_every_bucket_blocks_public_access_and_denies_plain_http(lake: tuple[str, dict]) -> None:
    profile, template = lake
    buckets = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::S3::Bucket"]
    # three zones and the access-log bucket; prod-like adds the audit trail's log bucket
    assert len(buckets) == (5 if profile == "prod-like" else 4)
    for logical_id in buckets:
        block = template["Resources"][logical_id]["Properties"]["PublicAccessBlockConfiguration"]
        assert all(
            block[k]
            for k in (
                "BlockPublicAcls",
                "BlockPublicPolicy",
                "IgnorePublicAcls",
                "RestrictPublicBuckets",
            )
        )
    Template.from_json(template).resource_properties_count_is(
        "AWS::S3::BucketPolicy",
        Match.object_like(
            {
                "PolicyDocument": Match.object_like(
                    {
                        "Statement": Match.array_with(
                            [
                                Match.object_like(
                                    {
                                        "Effect": "Deny",
                                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                    }
                                )
                            ]
                        )
                    }
                )
            }
        ),
        len(buckets),
    )


def test_curated_zone_moves_to_intelligent_tiering(lake: tuple[str, dict]) -> None:
    rules = lake[1]["Resources"]["LakeCuratedBucketB28F5F4C"]["Properties"][
        "LifecycleConfiguration"
    ]["Rules"]
    tiering = [r for r in rules if r["Id"] == "IntelligentTiering"][0]
    assert tiering["Transitions"] == [
        {"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 0}
    ]


def test_lab_mode_is_destroyable_and_expires_raw_events(synth) -> None:  # type: ignore[no-untyped-def]
    """Lab mode leaves nothing behind: buckets auto-emptied, key and data deleted with the stack."""
    template = synth("lab").template("DataLake")
    for logical_id in PINNED:
        assert template["Resources"][logical_id]["DeletionPolicy"] == "Delete", logical_id
    auto_delete = [
        v for v in template["Resources"].values() if v["Type"] == "Custom::S3AutoDeleteObjects"
    ]
    assert len(auto_delete) == 4
    rules = template["Resources"]["LakeRawBucketDA76DCB0"]["Properties"]["LifecycleConfiguration"][
        "Rules"
    ]
    assert {"Id": "ExpireRawEvents", "ExpirationInDays": 30, "Status": "Enabled"} in rules
    assert synth("lab").platform.data_lake.termination_protection is False


def test_retain_mode_keeps_buckets_and_their_key_together(synth) -> None:  # type: ignore[no-untyped-def]
    """A retained bucket whose key was deleted is unreadable: both are retained, or neither."""
    result = synth("prod-like")
    template = result.template("DataLake")
    for logical_id in PINNED:
        assert template["Resources"][logical_id]["DeletionPolicy"] == "Retain", logical_id
        assert template["Resources"][logical_id]["UpdateReplacePolicy"] == "Retain", logical_id
    assert not [
        v for v in template["Resources"].values() if v["Type"] == "Custom::S3AutoDeleteObjects"
    ]
    rules = template["Resources"]["LakeRawBucketDA76DCB0"]["Properties"]["LifecycleConfiguration"][
        "Rules"
    ]
    assert not [r for r in rules if r["Id"] == "ExpireRawEvents"]
    assert result.platform.data_lake.termination_protection is True


def test_database_grants_nothing_to_iam_allowed_principals(lake: tuple[str, dict]) -> None:
    Template.from_json(lake[1]).has_resource_properties(
        "AWS::Glue::Database",
        {"DatabaseInput": Match.object_like({"CreateTableDefaultPermissions": []})},
    )


def test_no_template_mentions_iam_allowed_principals(synth) -> None:  # type: ignore[no-untyped-def]
    for profile in ("lab", "prod-like"):
        for name, template in synth(profile).templates.items():
            assert "IAM_ALLOWED_PRINCIPALS" not in json.dumps(template), name


def test_lake_settings_append_admins_instead_of_replacing_them(lake: tuple[str, dict]) -> None:
    """REPLACE (the default) would drop every existing Lake Formation admin."""
    props = Template.from_json(lake[1]).find_resources("AWS::LakeFormation::DataLakeSettings")
    (settings,) = props.values()
    assert settings["Properties"]["MutationType"] == "APPEND"
    admins = json.dumps(settings["Properties"]["Admins"])
    assert "cfn-exec-role" in admins and "Fn::Sub" in admins


def test_locations_register_with_a_dedicated_role(lake: tuple[str, dict]) -> None:
    template = Template.from_json(lake[1])
    template.resource_count_is("AWS::LakeFormation::Resource", 2)
    template.all_resources_properties(
        "AWS::LakeFormation::Resource",
        {
            "UseServiceLinkedRole": False,
            "RoleArn": {"Fn::GetAtt": [Match.string_like_regexp("LakeDataAccessRole"), "Arn"]},
        },
    )


def test_sagemaker_role_gets_least_privilege_lake_grants(synth) -> None:  # type: ignore[no-untyped-def]
    """Describe the database, select/describe its tables, data-location access on curated only."""
    template = Template.from_json(synth("lab").template("Training"))
    grants = template.find_resources("AWS::LakeFormation::PrincipalPermissions")
    permissions = sorted(tuple(g["Properties"]["Permissions"]) for g in grants.values())
    assert permissions == [("DATA_LOCATION_ACCESS",), ("DESCRIBE",), ("SELECT", "DESCRIBE")]
    for grant in grants.values():
        assert grant["Properties"]["PermissionsWithGrantOption"] == []
        assert grant["Properties"]["Principal"]["DataLakePrincipalIdentifier"]["Fn::GetAtt"][
            0
        ].startswith("ExecutionRole")
    location = [g for g in grants.values() if "DataLocation" in g["Properties"]["Resource"]][0]
    assert location["Properties"]["Resource"]["DataLocation"]["ResourceArn"] == {
        "Fn::ImportValue": "lab-lake-curated-bucket-arn"
    }


def test_database_is_deleted_before_the_admin_settings(lake: tuple[str, dict]) -> None:
    """Teardown: dropping the database needs the deploy role to still be a lake admin."""
    _, template = lake
    depends = template["Resources"]["LakeDatabase161E1CC7"].get("DependsOn", [])
    settings = [
        k
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::LakeFormation::DataLakeSettings"
    ]
    assert settings and settings[0] in depends


@pytest.mark.parametrize("retain", [True, False])
def test_the_lake_built_alone_keeps_its_data_only_when_retained(retain: bool) -> None:
    """Built in a bare stack with nothing else: the stateful ids, retained or destroyed."""
    import aws_cdk as cdk

    from infra.data_lake.construct import DataLake
    from infra.platform import cdk_json_context

    stack = cdk.Stack(
        cdk.App(context=cdk_json_context()),
        "Bare",
        env=cdk.Environment(account="111111111111", region="us-east-1"),
    )
    DataLake(
        stack,
        "Lake",
        retain=retain,
        raw_expiry_days=30,
        database_name="bare_lake",
        lake_admin_arns=(),
    )
    resources = Template.from_stack(stack).to_json()["Resources"]
    assert PINNED.items() <= {k: v["Type"] for k, v in resources.items()}.items()
    for bucket in ZONES:
        assert resources[bucket]["DeletionPolicy"] == ("Retain" if retain else "Delete")
