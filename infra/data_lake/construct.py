"""S3 zones + Glue catalog + Lake Formation. Stateful: logical ids are pinned by tests.

Provisions one KMS key (rotation on) for the raw, curated and artifacts zones, an SSE-S3
access-log bucket (S3 server access logging cannot target SSE-KMS buckets), a Glue database
and Lake Formation settings, registered locations and a data-access role.
Exposes: key, raw_bucket, curated_bucket, artifacts_bucket, log_bucket, database_name.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lakeformation as lf
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.compliance.packs import (
    KMS_DATA_KEYS,
    S3_DELETE,
    S3_READ,
    acknowledge,
    acknowledge_packs,
    acknowledge_wildcards,
    declare,
)
from infra.storage import access_log_bucket, kms_bucket


class DataLake(Construct):
    """The governed data lake.

    ``retain=False`` (lab): buckets are emptied and destroyed with the stack, the key is
    scheduled for deletion with them, raw events expire. ``retain=True``: buckets and their
    key are retained together (a retained bucket whose key is gone is unreadable).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        retain: bool,
        raw_expiry_days: int,
        database_name: str,
        lake_admin_arns: Sequence[str],
    ) -> None:
        super().__init__(scope, id_)
        removal = cdk.RemovalPolicy.RETAIN if retain else cdk.RemovalPolicy.DESTROY
        self.database_name = database_name

        self.key = kms.Key(
            self,
            "Key",
            description="Data lake zones (raw, curated, artifacts)",
            enable_key_rotation=True,
            removal_policy=removal,
            pending_window=cdk.Duration.days(7 if not retain else 30),
        )

        self.log_bucket = access_log_bucket(self, "AccessLogBucket", retain=retain)

        def zone(
            construct_id: str, prefix: str, rules: list[s3.LifecycleRule], events: bool = False
        ) -> s3.Bucket:
            return kms_bucket(
                self,
                construct_id,
                key=self.key,
                log_bucket=self.log_bucket,
                log_prefix=prefix,
                retain=retain,
                rules=rules,
                event_bridge=events,
            )

        raw_rules = (
            []
            if retain
            else [
                s3.LifecycleRule(
                    id="ExpireRawEvents", expiration=cdk.Duration.days(raw_expiry_days)
                )
            ]
        )
        self.raw_bucket = zone("RawBucket", "raw", raw_rules)
        self.curated_bucket = zone(
            "CuratedBucket",
            "curated",
            [
                s3.LifecycleRule(
                    id="IntelligentTiering",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INTELLIGENT_TIERING,
                            transition_after=cdk.Duration.days(0),
                        )
                    ],
                )
            ],
            # The training pipeline starts when a dataset lands under datasets/ (EventBridge).
            events=True,
        )
        self.artifacts_bucket = zone("ArtifactsBucket", "artifacts", [])
        self._acknowledge_notifications_handler()

        stack = cdk.Stack.of(self)
        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=database_name,
                description="Governed data lake catalog (raw events, curated features)",
                location_uri=self.curated_bucket.s3_url_for_object(),
                # Empty defaults: new tables get no IAM_ALLOWED_PRINCIPALS grant, so Lake
                # Formation permissions, not IAM alone, govern them.
                create_table_default_permissions=[],
            ),
        )
        self.database.apply_removal_policy(removal)

        # APPEND adds the deploy role (and configured admins) to the existing admin list; the
        # default REPLACE would silently remove every admin this stack does not name.
        self.settings = lf.CfnDataLakeSettings(
            self,
            "Settings",
            mutation_type="APPEND",
            admins=[
                lf.CfnDataLakeSettings.DataLakePrincipalProperty(data_lake_principal_identifier=a)
                for a in self._deploy_role_arns(lake_admin_arns)
            ],
        )

        # Created after and deleted before the settings: dropping a Glue database needs Lake
        # Formation DROP, which the deploy role holds only while it is a lake admin.
        self.database.add_resource_dependency(self.settings)

        # Lake Formation vends credentials for registered locations through this role, not the
        # service-linked role, so the key policy and bucket grants stay explicit.
        self.data_access_role = iam.Role(
            self,
            "DataAccessRole",
            assumed_by=iam.ServicePrincipal("lakeformation.amazonaws.com"),
            description="Lake Formation credential vending for the raw and curated zones",
        )
        self.locations: dict[str, lf.CfnResource] = {}
        for name, bucket in (
            ("RawLocation", self.raw_bucket),
            ("CuratedLocation", self.curated_bucket),
        ):
            bucket.grant_read_write(self.data_access_role)
            location = lf.CfnResource(
                self,
                name,
                resource_arn=bucket.bucket_arn,
                use_service_linked_role=False,
                role_arn=self.data_access_role.role_arn,
            )
            location.add_resource_dependency(self.settings)
            self.locations[name] = location
        vending = "; Lake Formation narrows them per table location when vending credentials"
        acknowledge_wildcards(
            self.data_access_role,
            actions={
                **declare(
                    S3_READ + S3_DELETE,
                    "CDK's read/write grant on the two registered locations" + vending,
                ),
                **declare(KMS_DATA_KEYS, "CDK's grant on the lake key for the two locations"),
            },
            resources={
                f"{self.raw_bucket.bucket_arn}/*": "objects of the raw zone, a registered "
                "Lake Formation location" + vending,
                f"{self.curated_bucket.bucket_arn}/*": "objects of the curated zone, a "
                "registered Lake Formation location" + vending,
            },
        )

    def _acknowledge_notifications_handler(self) -> None:
        """CDK's singleton handler that turns on the curated bucket's EventBridge delivery."""
        stack = cdk.Stack.of(self)
        handler = next(
            c for c in stack.node.children if c.node.id.startswith("BucketNotificationsHandler")
        )
        acknowledge(
            handler.node.find_child("Role"),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "AWSLambdaBasicExecutionRole only lets CDK's deploy-time bucket-notification "
            "handler write its own logs; it runs during stack updates, never on requests.",
        )
        acknowledge_packs(
            self.curated_bucket.node.find_child("Notifications").node.find_child("HandlerPolicy"),
            "IAMNoInlinePolicy",
            "CDK's bucket-notification handler policy: s3:PutBucketNotification on this bucket "
            "only, inline so it is deleted with the handler.",
        )

    def _deploy_role_arns(self, extra: Sequence[str]) -> list[str]:
        stack = cdk.Stack.of(self)
        synthesizer = stack.synthesizer
        arns = list(extra)
        if isinstance(synthesizer, cdk.DefaultStackSynthesizer):
            # The synthesizer's ARN holds ${AWS::AccountId}-style placeholders: Fn::Sub fills them.
            arns.insert(0, cdk.Fn.sub(synthesizer.cloud_formation_execution_role_arn))
        return arns


class LakeGrant(Construct):
    """Least-privilege Lake Formation grants for one role, created in the consumer's stack.

    ``tables``: SELECT + DESCRIBE on every table of the database (read features);
    ``write_locations``: DATA_LOCATION_ACCESS so the role can create tables over them.
    Never grants to IAM_ALLOWED_PRINCIPALS.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        role: iam.IRole,
        database_name: str,
        tables: bool = True,
        write_locations: Sequence[s3.IBucket] = (),
    ) -> None:
        super().__init__(scope, id_)
        account = cdk.Stack.of(self).account
        principal = lf.CfnPrincipalPermissions.DataLakePrincipalProperty(
            data_lake_principal_identifier=role.role_arn
        )
        self.grants: list[lf.CfnPrincipalPermissions] = [
            lf.CfnPrincipalPermissions(
                self,
                "Database",
                principal=principal,
                permissions=["DESCRIBE"],
                permissions_with_grant_option=[],
                resource=lf.CfnPrincipalPermissions.ResourceProperty(
                    database=lf.CfnPrincipalPermissions.DatabaseResourceProperty(
                        catalog_id=account, name=database_name
                    )
                ),
            )
        ]
        if tables:
            self.grants.append(
                lf.CfnPrincipalPermissions(
                    self,
                    "Tables",
                    principal=principal,
                    permissions=["SELECT", "DESCRIBE"],
                    permissions_with_grant_option=[],
                    resource=lf.CfnPrincipalPermissions.ResourceProperty(
                        table=lf.CfnPrincipalPermissions.TableResourceProperty(
                            catalog_id=account,
                            database_name=database_name,
                            table_wildcard={},
                        )
                    ),
                )
            )
        for index, bucket in enumerate(write_locations):
            self.grants.append(
                lf.CfnPrincipalPermissions(
                    self,
                    f"Location{index}",
                    principal=principal,
                    permissions=["DATA_LOCATION_ACCESS"],
                    permissions_with_grant_option=[],
                    resource=lf.CfnPrincipalPermissions.ResourceProperty(
                        data_location=lf.CfnPrincipalPermissions.DataLocationResourceProperty(
                            catalog_id=account, resource_arn=bucket.bucket_arn
                        )
                    ),
                )
            )
