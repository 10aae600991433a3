"""The scoring pipeline's definition rendered offline (pipelines/scoring_pipeline.py), without CDK:
schema, placeholders, cache key, settings, and the layering rule (pipelines imports no infra).

What the deployed definition must equal (the hand-written one it replaced) is
tests/infra/test_scoring_pipeline.py's; this file checks the rendering on its own."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from pipelines import scoring_pipeline as sp
from pipelines import training_pipeline as tp
from tests.pipelines.test_definition import SCHEMA, _cache_on, extend_schema

SETTINGS = sp.ScoringSettings(
    pipeline_name="lab-digits-scoring",
    endpoint_name="lab-digits",
    processing_image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
)


@pytest.fixture(scope="module")
def rendered() -> str:
    return sp.render_definition(SETTINGS)


def test_definition_validates_against_the_published_schema(rendered: str) -> None:
    schema = extend_schema(json.loads(SCHEMA.read_text()))
    definition = json.loads(rendered)
    jsonschema.validate(definition, schema)
    broken = copy.deepcopy(definition)
    broken["Steps"][1]["Arguments"]["DataProcessing"]["JoinWith"] = "Input"  # no such field
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_every_placeholder_is_spliced(rendered: str) -> None:
    """Each placeholder the render uses is replaced, and only by the value meant for it."""
    vpc = sp.ScoringSettings(**{**SETTINGS.__dict__, "use_vpc": True})
    text = sp.render_definition(vpc)
    for placeholder in (tp.ROLE_ARN, tp.ARTIFACTS_BUCKET, sp.CURATED_BUCKET, tp.KMS_KEY_ARN):
        assert placeholder in text
    spliced = sp.splice(
        text,
        role_arn="arn:aws:iam::123456789012:role/exec",
        artifacts_bucket="artifacts-b",
        curated_bucket="curated-b",
        kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/k",
        subnets=("subnet-1", "subnet-2"),
        security_group="sg-1",
        settings=vpc,
    )
    assert not any(p in spliced for p in sp.PLACEHOLDERS)
    definition = json.loads(spliced)
    steps = {s["Name"]: s["Arguments"] for s in definition["Steps"]}
    assert steps["CreateModel"]["ExecutionRoleArn"] == "arn:aws:iam::123456789012:role/exec"
    assert steps["CreateModel"]["VpcConfig"] == {
        "Subnets": ["subnet-1", "subnet-2"],
        "SecurityGroupIds": ["sg-1"],
    }
    assert (
        steps["FeedMonitoring"]["NetworkConfig"]["VpcConfig"] == steps["CreateModel"]["VpcConfig"]
    )
    rows = steps["FeedMonitoring"]["ProcessingInputs"][0]["S3Input"]["S3Uri"]
    assert rows["Std:Join"]["Values"][0] == "s3://curated-b/"
    assert steps["FeedMonitoring"]["ProcessingInputs"][2]["S3Input"]["S3Uri"] == (
        "s3://artifacts-b/code/model_code/batch_capture.py"
    )
    assert (
        steps["Score"]["TransformOutput"]["KmsKeyId"] == "arn:aws:kms:us-east-1:123456789012:key/k"
    )


def test_rendering_is_deterministic(rendered: str) -> None:
    tp.clear_render_cache()
    assert sp._render(SETTINGS) == rendered


def test_the_cache_key_follows_this_module_and_differs_from_training(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _cache_on(tmp_path, monkeypatch)
    sources = (sp.__file__,)
    before = tp._cache_file(SETTINGS, sources=sources)
    assert before is not None and before.name.startswith("lab-digits-scoring-")
    # A training render under the same name is another key (the settings' type is in it).
    training = tp.PipelineSettings(pipeline_name="lab-digits-scoring")
    assert tp._cache_file(training) != before
    copy_ = tmp_path / "scoring_pipeline.py"
    copy_.write_text(Path(sp.__file__).read_text() + "\n# a change\n")
    assert tp._cache_file(SETTINGS, sources=(str(copy_),)) not in (None, before)


def test_a_disk_cached_render_is_served_as_written(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _cache_on(tmp_path, monkeypatch, sdk_config=False)
    tp.clear_render_cache()
    first = sp.render_definition(SETTINGS)
    cache = tp._cache_file(SETTINGS, sources=(sp.__file__,))
    assert cache is not None and cache.read_text() == first
    tp.clear_render_cache()
    cache.write_text(first.replace("FeedMonitoring", "served-from-disk"))
    assert "served-from-disk" in sp.render_definition(SETTINGS)
    tp.clear_render_cache()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"instance_type": "m5.large"}, "instance_type must be an ml.* instance type"),
        ({"processing_instance_type": "large"}, "processing_instance_type must be"),
        ({"use_vpc": True, "subnets": ()}, "use_vpc needs subnets"),
    ],
)
def test_settings_reject_bad_values(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sp.ScoringSettings(**{**SETTINGS.__dict__, **change})


def test_a_vpc_model_step_without_its_vpc_is_named(rendered: str) -> None:
    vpc = sp.ScoringSettings(**{**SETTINGS.__dict__, "use_vpc": True})
    definition = json.loads(sp.render_definition(vpc))
    assert sp.check_scoring(definition, require_vpc=True) == []
    definition["Steps"][0]["Arguments"].pop("VpcConfig")
    assert sp.check_scoring(definition, require_vpc=True) == [
        "CreateModel: no VPC config but VPC required"
    ]


def test_scoring_pipeline_name() -> None:
    class Config:
        env_name = "prodlike"

    assert sp.scoring_pipeline_name(Config()) == "prodlike-digits-scoring"


def test_the_pipeline_imports_no_infra_and_no_cdk() -> None:
    """The layering rule (issue 23): pipelines imports only model_code contracts; rendering
    pulls in the SageMaker SDK, never infra or aws_cdk."""
    probe = (
        "import sys; from pipelines import scoring_pipeline as sp; "
        "sp._render(sp.ScoringSettings(pipeline_name='p', endpoint_name='e', "
        "processing_image='i')); "
        "ours = ('infra', 'aws_cdk', 'labctl'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ours))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
