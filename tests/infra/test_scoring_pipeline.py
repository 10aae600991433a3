"""Batch transform in the cloud: the scoring pipeline's definition, its role, its Glue table,
the job checks (planted defects) and the capture feed the monitoring job reads."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from infra.scoring.construct import TABLE_NAME
from pipelines.scoring_pipeline import DATA_PROCESSING, check_scoring

# The definition the hand-written JSON (infra/scoring/construct.py before issue 23) deployed.
BEFORE = json.loads((Path(__file__).parent / "scoring_definition_before.json").read_text())


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _scoring(template: dict) -> tuple[dict, dict]:
    pipelines = _of_type(template, "AWS::SageMaker::Pipeline")
    (pipeline,) = [
        p for p in pipelines.values() if "scoring" in str(p["Properties"]["PipelineName"])
    ]
    body = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    # Fn::Join of literal JSON and CloudFormation values: each value written as a marker that
    # names what it references, so two definitions compare reference by reference.
    separator, parts = body["Fn::Join"]
    return pipeline, json.loads(separator.join(_marker(part) for part in parts))


def _marker(part: str | dict) -> str:
    if isinstance(part, str):
        return part
    ((function, argument),) = part.items()
    if function == "Fn::GetAtt":
        return f"${{GetAtt:{argument[0]}.{argument[1]}}}"
    if function == "Fn::ImportValue":
        return f"${{Import:{argument}}}"
    if function == "Fn::GetStackOutput":
        return f"${{Output:{argument['StackName']}.{argument['OutputName']}}}"
    raise AssertionError(f"a value of a kind the scoring definition did not use: {part}")


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_scoring_pipeline_transforms_a_curated_prefix(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    """Line split, MultiRecord within MaxPayloadInMB, Line assembly, the id kept beside its
    prediction, KMS on output and volume; then the capture feed into the endpoint's layout."""
    template = synth(profile).template("Training")
    pipeline, definition = _scoring(template)
    assert pipeline["Properties"]["PipelineName"].endswith("-digits-scoring")
    steps = {s["Name"]: s for s in definition["Steps"]}
    assert [s["Type"] for s in definition["Steps"]] == ["Model", "Transform", "Processing"]
    score = steps["Score"]["Arguments"]
    assert score["TransformInput"]["SplitType"] == "Line"
    assert score["TransformInput"]["ContentType"] == "text/csv"
    assert score["BatchStrategy"] == "MultiRecord"
    assert score["MaxPayloadInMB"] == {"Get": "Parameters.MaxPayloadInMB"}
    assert score["TransformOutput"]["AssembleWith"] == "Line"
    assert score["DataProcessing"] == DATA_PROCESSING
    assert score["TransformOutput"]["KmsKeyId"] and score["TransformResources"]["VolumeKmsKeyId"]
    model = steps["CreateModel"]["Arguments"]
    assert model["EnableNetworkIsolation"] is True
    assert model["PrimaryContainer"] == {"ModelPackageName": {"Get": "Parameters.ModelPackageArn"}}
    assert ("VpcConfig" in model) == (profile == "prod-like")
    feed = steps["FeedMonitoring"]["Arguments"]
    (capture,) = feed["ProcessingOutputConfig"]["Outputs"]
    env = synth(profile).platform.config.env_name
    assert capture["S3Output"]["S3Uri"].endswith(f"/capture/{env}-digits/AllTraffic")
    assert feed["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert check_scoring(definition, require_vpc=profile == "prod-like") == []


def _without_the_sdk_form(definition: dict) -> dict:
    """The SDK's definition less the two things it writes that the hand-written one left to
    the service's defaults (the intended differences, each checked for its value here)."""
    definition = copy.deepcopy(definition)
    # null: no SageMaker Experiments entities, as when absent (the training pipeline's too).
    assert definition.pop("PipelineExperimentConfig") is None
    for step in definition["Steps"]:
        for channel in step["Arguments"].get("ProcessingInputs", []):
            # CreateProcessingJob's default for S3CompressionType is None.
            assert channel["S3Input"].pop("S3CompressionType") == "None"
    return definition


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_the_sdk_definition_is_the_hand_written_one_step_by_step(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    """Same steps in the same order, same parameters, and per step the same arguments with
    the same CloudFormation references (role, buckets, key, subnets, security group) as the
    definition deployed before (scoring_definition_before.json), once the SDK's two explicit
    defaults are named and set aside."""
    _, after = _scoring(synth(profile).template("Training"))
    before = BEFORE[profile]
    names = [(s["Name"], s["Type"]) for s in after["Steps"]]
    assert names == [
        ("CreateModel", "Model"),
        ("Score", "Transform"),
        ("FeedMonitoring", "Processing"),
    ]
    assert names == [(s["Name"], s["Type"]) for s in before["Steps"]]
    assert after["Parameters"] == before["Parameters"]
    assert after["Version"] == before["Version"] == "2020-12-01"
    same = _without_the_sdk_form(after)
    for old, new in zip(before["Steps"], same["Steps"], strict=True):
        assert new == old, old["Name"]
    assert same == before


@pytest.mark.parametrize("profile", ["lab", "prod-like"])
def test_the_jobs_read_and_write_where_the_lake_says(synth, profile: str) -> None:  # type: ignore[no-untyped-def]
    """Hand-written: the prefix the jobs read, where the predictions and capture go, the code
    the feed runs, the role and the network (the exports of the Lake stack and the Network
    stack's subnets in prod-like)."""
    _, definition = _scoring(synth(profile).template("Training"))
    env = {"lab": "lab", "prod-like": "prodlike"}[profile]
    curated = f"s3://${{Import:{env}-lake-curated-bucket-name}}"
    artifacts = f"s3://${{Import:{env}-lake-artifacts-bucket-name}}"
    role = "${GetAtt:ExecutionRole829ADBFF.Arn}"
    rows = {"Std:Join": {"On": "", "Values": [f"{curated}/", {"Get": "Parameters.InputPrefix"}]}}
    steps = {s["Name"]: s["Arguments"] for s in definition["Steps"]}
    assert steps["CreateModel"]["ExecutionRoleArn"] == role
    score = steps["Score"]
    assert score["ModelName"] == {"Get": "Steps.CreateModel.ModelName"}
    assert score["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == rows
    assert score["TransformOutput"]["S3OutputPath"] == {
        "Std:Join": {
            "On": "",
            "Values": [f"{curated}/predictions/", {"Get": "Execution.PipelineExecutionId"}],
        }
    }
    assert score["TransformOutput"]["KmsKeyId"] == f"${{Import:{env}-lake-key-arn}}"
    feed = steps["FeedMonitoring"]
    assert feed["RoleArn"] == role
    assert feed["AppSpecification"]["ContainerEntrypoint"] == [
        "python3",
        "/opt/ml/processing/input/code/batch_capture.py",
    ]
    sources = {i["InputName"]: i["S3Input"]["S3Uri"] for i in feed["ProcessingInputs"]}
    assert sources == {
        "rows": rows,
        "predictions": {"Get": "Steps.Score.TransformOutput.S3OutputPath"},
        "code": f"{artifacts}/code/model_code/batch_capture.py",
    }
    (capture,) = feed["ProcessingOutputConfig"]["Outputs"]
    assert capture["S3Output"]["S3Uri"] == f"{artifacts}/capture/{env}-digits/AllTraffic"
    vpc = steps["CreateModel"].get("VpcConfig")
    assert feed["NetworkConfig"].get("VpcConfig") == vpc
    if profile == "lab":
        assert vpc is None
    else:
        network = "${Output:prodlike-Network.PublishOutput"
        assert [s.startswith(f"{network}RefNetworkVpcIsolatedSubnet") for s in vpc["Subnets"]] == [
            True,
            True,
        ]
        (group,) = vpc["SecurityGroupIds"]
        assert group.startswith(f"{network}FnGetAttNetworkWorkloadSecurityGroup")


def test_predictions_table_reads_id_and_prediction(synth) -> None:  # type: ignore[no-untyped-def]
    template = synth("lab").template("Training")
    tables = _of_type(template, "AWS::Glue::Table")
    (table,) = [t for t in tables.values() if t["Properties"]["TableInput"]["Name"] == TABLE_NAME]
    props = table["Properties"]["TableInput"]
    columns = props["StorageDescriptor"]["Columns"]
    assert [c["Name"] for c in columns] == ["event_id", "prediction"]
    assert props["StorageDescriptor"]["SerdeInfo"]["Parameters"] == {"field.delim": ","}
    assert props["PartitionKeys"] == [{"Name": "execution", "Type": "string"}]


def test_execution_role_may_run_the_transform(synth) -> None:  # type: ignore[no-untyped-def]
    template = synth("lab").template("Training")
    policies = _of_type(template, "AWS::IAM::ManagedPolicy")
    statements = [
        s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    (jobs,) = [s for s in statements if s.get("Sid") == "ScoringJobs"]
    assert {"sagemaker:CreateTransformJob", "sagemaker:CreateModel"} <= set(jobs["Action"])


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("Score", "TransformOutput", "KmsKeyId"), None, "no KMS key for the transform output"),
        (("Score", "TransformResources", "VolumeKmsKeyId"), None, "transform volume"),
        (("Score", "DataProcessing"), None, "beside their input ids"),
        (("CreateModel", "EnableNetworkIsolation"), False, "without network isolation"),
        (("FeedMonitoring", "NetworkConfig", "EnableNetworkIsolation"), False, "isolation off"),
    ],
)
def test_planted_job_defects_are_named(synth, path: tuple, value: object, message: str) -> None:  # type: ignore[no-untyped-def]
    _, definition = _scoring(synth("lab").template("Training"))
    planted = copy.deepcopy(definition)
    target = next(s for s in planted["Steps"] if s["Name"] == path[0])["Arguments"]
    for key in path[1:-1]:
        target = target[key]
    if value is None:
        target.pop(path[-1])
    else:
        target[path[-1]] = value
    assert any(message in f for f in check_scoring(planted, require_vpc=False))


def test_capture_feed_matches_the_local_endpoint_capture(tmp_path: Path) -> None:
    """The cloud feed (model_code.batch_capture) and the local batch (the endpoint's
    CaptureWriter) write records the drift job parses to the same rows and predictions."""
    from datetime import UTC, datetime

    from model_code import batch_capture, drift

    (tmp_path / "rows").mkdir()
    (tmp_path / "pred").mkdir()
    features = ",".join(["0"] * 63 + ["16"])
    (tmp_path / "rows" / "a.csv").write_text(f"e1,{features}\ne2,{features}\n")
    (tmp_path / "pred" / "a.csv.out").write_text("e1,3\ne2,7\n")
    when = datetime(2026, 12, 1, 5, 6, 7, tzinfo=UTC)
    assert batch_capture.feed(tmp_path / "rows", tmp_path / "pred", tmp_path / "cap", when) == 2
    (path,) = (tmp_path / "cap" / "2026" / "12" / "01" / "05").glob("*.jsonl")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["eventMetadata"]["inferenceId"] for r in records] == ["e1", "e2"]
    assert [drift.parse_predictions(r["captureData"]["endpointOutput"]) for r in records] == [
        [3],
        [7],
    ]
    rows = drift.parse_rows(records[0]["captureData"]["endpointInput"])
    assert rows.tolist() == [[0.0] * 63 + [16.0]]
    from lab.endpoint.capture import capture_record

    local = capture_record("text/csv", f"{features}\n".encode(), "text/csv", b"3\n", when, "e1")
    assert local["captureData"] == records[0]["captureData"]
    (tmp_path / "pred" / "a.csv.out").write_text("e1,3\n")
    with pytest.raises(ValueError, match="row 'e2' has no prediction"):
        batch_capture.feed(tmp_path / "rows", tmp_path / "pred", tmp_path / "cap2", when)
