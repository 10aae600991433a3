"""The data-quality gate in the deployed templates (issue 26): the profile's limits reach the
Preprocess job, whose output Tune reads (so the gate runs before tuning), the quarantine and the
report are outputs of that job, and the Glue Data Quality ruleset's DQDL equals rules written
here by hand for the profile's limits, on the table of the rows the job checked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.config import ConfigError, load_profile
from pipelines.local.executor import plan

N_FEATURES = 64


def _resources(template: dict, type_: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == type_]


def _definition(synth: Any, profile: str) -> dict[str, Any]:
    (pipeline,) = [
        p
        for p in _resources(synth(profile).template("Training"), "AWS::SageMaker::Pipeline")
        if "training" in json.dumps(p["Properties"]["PipelineName"])
    ]
    body = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    if isinstance(body, dict):  # Fn::Join of the spliced tokens
        sep, parts = body["Fn::Join"]
        body = sep.join(p if isinstance(p, str) else "TOKEN" for p in parts)
    return json.loads(body)


def _hand_ruleset() -> str:
    """The defaults written out by hand (pipelines/data_quality_gate.py DEFAULTS)."""
    rules = ["RowCount >= 1000"]
    rules += [f'Completeness "f{i}" >= 0.99' for i in range(N_FEATURES)]
    for i in range(N_FEATURES):
        rules.append(f'ColumnValues "f{i}" >= 0 where "f{i} is not null"')
        rules.append(f'ColumnValues "f{i}" <= 16 where "f{i} is not null"')
    rules.append(
        'CustomSql "select 1.0 - count(distinct event_id) / count(*) from primary" <= 0.05'
    )
    rules += [f'RowCount >= 50 where "label = {c}"' for c in range(10)]
    rules.append(
        'CustomSql "select max(n) / min(n) from (select count(*) as n from primary where '
        'label is not null group by label)" <= 1.5'
    )
    return (
        "# max_rejected_share 0.05 is judged by preprocessing: records that fail the event "
        "schema never reach this table\n"
        "Rules = [\n" + ",\n".join(f"    {r}" for r in rules) + "\n]\n"
    )


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_ruleset_is_the_profile_limits_in_dqdl_on_the_checked_table(synth, profile) -> None:  # type: ignore[no-untyped-def]
    """Both profiles use the defaults, so the deployed DQDL is the hand-written text, on the
    lake database's checked_events table, whose columns are the job's dataset columns."""
    template = synth(profile).template("Training")
    (ruleset,) = _resources(template, "AWS::Glue::DataQualityRuleset")
    props = ruleset["Properties"]
    assert props["Ruleset"] == _hand_ruleset()
    config = load_profile(profile)
    assert props["TargetTable"] == {
        "DatabaseName": config.lake_database,
        "TableName": "checked_events",
    }
    assert props["Name"] == f"{config.env_name}-digits-training-data-quality"
    (table,) = [
        t
        for t in _resources(template, "AWS::Glue::Table")
        if t["Properties"]["TableInput"]["Name"] == "checked_events"
    ]
    columns = [c["Name"] for c in table["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]]
    assert columns == ["event_id", "event_time", "label", *(f"f{i}" for i in range(64))]


def test_checked_table_reads_where_preprocess_writes_its_dataset(synth) -> None:  # type: ignore[no-untyped-def]
    """The table's location is the Preprocess job's "dataset" output prefix (same bucket
    token, same key), so the ruleset evaluates the rows the gate checked."""
    template = synth("lab").template("Training")
    (table,) = [
        t
        for t in _resources(template, "AWS::Glue::Table")
        if t["Properties"]["TableInput"]["Name"] == "checked_events"
    ]
    location = table["Properties"]["TableInput"]["StorageDescriptor"]["Location"]
    sep, parts = location["Fn::Join"]
    assert parts[-1].endswith("/pipelines/lab-digits-training/Preprocess/dataset/")
    steps = {s["Name"]: s for s in _definition(synth, "lab")["Steps"]}
    outputs = {
        o["OutputName"]: o["S3Output"]
        for o in steps["Preprocess"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    }
    assert outputs["dataset"]["S3Uri"].endswith("/pipelines/lab-digits-training/Preprocess/dataset")


def test_gate_runs_in_preprocess_before_tuning_with_the_profile_limits(synth) -> None:  # type: ignore[no-untyped-def]
    """Order: Tune reads Preprocess's outputs (so a failed gate leaves it NotExecuted) and
    the executor's plan puts Preprocess first. The limits are the profile's, as flags."""
    definition = _definition(synth, "lab")
    steps = {s["Name"]: s for s in definition["Steps"]}
    order = plan(definition["Steps"])
    assert order.index("Preprocess") < order.index("Tune")
    assert "Steps.Preprocess.ProcessingOutputConfig" in json.dumps(steps["Tune"])
    args = steps["Preprocess"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    at = args.index("--min-rows")  # the gate's flags, in order, wherever the others end
    flags = dict(zip(args[at : at + 14 : 2], args[at + 1 : at + 14 : 2], strict=True))
    assert args[at : at + 15] == [
        "--min-rows",
        "1000",
        "--max-rejected-share",
        "0.05",
        "--max-missing-share",
        "0.01",
        "--feature-range",
        "0.0",
        "16.0",
        "--max-duplicate-share",
        "0.05",
        "--min-class-count",
        "50",
        "--max-class-imbalance",
        "1.5",
    ], flags
    assert all(len(a) <= 256 for a in args)  # ContainerArguments: 256 characters each
    outputs = {
        o["OutputName"]: o["S3Output"]
        for o in steps["Preprocess"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    }
    # A failed job uploads no EndOfJob output: the report and the quarantine upload as written
    for name in ("data_quality", "quarantine"):
        assert outputs[name]["S3UploadMode"] == "Continuous"
    quarantine = outputs["quarantine"]["S3Uri"]["Std:Join"]["Values"]
    assert quarantine[0].endswith("/quarantine/lab-digits-training")
    assert quarantine[1] == {"Get": "Execution.PipelineExecutionId"}
    assert steps["Preprocess"]["PropertyFiles"] == [
        {
            "FilePath": "data_quality.json",
            "OutputName": "data_quality",
            "PropertyFileName": "DataQualityReport",
        }
    ]


def test_a_profile_limit_reaches_the_job_arguments() -> None:
    """A profile's data_quality.min_rows is the --min-rows the job gets (pipeline settings)."""
    from core.pipeline_settings import pipeline_settings

    config = load_profile("lab", {"data_quality": {"min_rows": 1234}})
    args = pipeline_settings(config).data_quality.arguments()
    assert args[args.index("--min-rows") + 1] == "1234"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"max_duplicate_share": 1.5}, "data_quality: max_duplicate_share must be a share"),
        ({"feature_range": [16, 0]}, "data_quality: feature_range is empty"),
        ({"max_class_imbalance": 0.5}, "data_quality: max_class_imbalance"),
        ({"min_rows": -1}, "data_quality: min_rows must be a whole number"),
    ],
)
def test_invalid_limits_fail_at_load_naming_the_section(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_profile("lab", {"data_quality": section})
