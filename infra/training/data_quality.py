"""The data-quality gate's rules as a Glue Data Quality ruleset, on the table of checked rows.

Provisions the Glue table ``checked_events`` (the rows the last training run's Preprocess job
checked, before quarantine: ``event_id, event_time, label, f0..f63`` CSV, written under the
pipeline's ``Preprocess/dataset/`` prefix in the artifacts zone) and an
``AWS::Glue::DataQualityRuleset`` targeting it whose DQDL is rendered from the profile's
``data_quality`` limits (``ruleset`` below). Defining a
ruleset is free; nothing here starts an evaluation run. Not stateful. Exposes: table,
ruleset, ruleset_name.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from constructs import Construct

from core.config import PlatformConfig
from core.pipeline_settings import pipeline_settings
from infra.data_lake.refs import LakeRefs
from model_code.data_quality import to_dqdl
from model_code.preprocess import DATASET_COLUMNS, digits_constraints
from pipelines import training_pipeline as tp

TABLE_NAME = "checked_events"


def _column(name: str) -> glue.CfnTable.ColumnProperty:
    kind = {"event_id": "string", "event_time": "string", "label": "int"}.get(name, "double")
    return glue.CfnTable.ColumnProperty(name=name, type=kind)


def ruleset(config: PlatformConfig) -> str:
    """The profile's data_quality limits as DQDL: the constraints the Preprocess job builds
    from the same limits (``digits_constraints``), rendered by ``to_dqdl``."""
    return to_dqdl(digits_constraints(**config.data_quality.limits()))


class DataQualityRuleset(Construct):
    def __init__(
        self, scope: Construct, id_: str, *, config: PlatformConfig, lake: LakeRefs
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        settings = pipeline_settings(config)
        # The Preprocess job's "dataset" output (one folder, the newest run's rows).
        location = (
            settings.output("Preprocess", "dataset").replace(
                tp.ARTIFACTS_BUCKET, lake.artifacts_bucket.bucket_name
            )
            + "/"
        )
        self.table = glue.CfnTable(
            self,
            "CheckedEventsTable",
            catalog_id=stack.account,
            database_name=lake.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=TABLE_NAME,
                description="Rows the newest training run checked before quarantine "
                "(the data-quality gate's input)",
                table_type="EXTERNAL_TABLE",
                parameters={"classification": "csv"},
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                        # an unlabelled row has an empty label field: NULL, not 0
                        parameters={"field.delim": ",", "serialization.null.format": ""},
                    ),
                    columns=[_column(name) for name in DATASET_COLUMNS],
                ),
            ),
        )
        self.ruleset_name = f"{config.env_name}-{config.training.pipeline_name}-data-quality"
        # Property names: the AWS::Glue::DataQualityRuleset provider schema (cfn-lint's
        # copy); DQDL: https://docs.aws.amazon.com/glue/latest/dg/dqdl.html
        self.ruleset = glue.CfnDataQualityRuleset(
            self,
            "Ruleset",
            name=self.ruleset_name,
            description="The training data-quality gate's constraints (profile data_quality)",
            ruleset=ruleset(config),
            target_table=glue.CfnDataQualityRuleset.DataQualityTargetTableProperty(
                database_name=lake.database_name, table_name=TABLE_NAME
            ),
        )
        self.ruleset.node.add_dependency(self.table)
