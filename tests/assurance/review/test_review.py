"""labctl review: every section checked against the templates themselves (the oracle), and a
planted change in a copy of the assembly must change what the review says."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

import html5lib
import pytest

from assurance.review import cost, diagram, lens
from assurance.review.assembly import Assembly
from assurance.review.report import build, write
from labctl.cli import main

PROFILES = ("lab", "prod-like")


@pytest.fixture(scope="module")
def reviews(synth, tmp_path_factory):  # type: ignore[no-untyped-def]
    """profile -> (assembly dir, Review, written paths): one synth per profile, shared."""
    out = {}
    for profile in PROFILES:
        outdir = synth(profile).outdir
        review = build(Assembly.read(outdir), profile)
        paths = write(review, tmp_path_factory.mktemp(f"review-{profile}"))
        out[profile] = (outdir, review, paths)
    return out


def _templates(outdir: Path) -> dict[str, dict[str, Any]]:
    manifest = json.loads((outdir / "manifest.json").read_text())
    return {
        name: json.loads((outdir / a["properties"]["templateFile"]).read_text())
        for name, a in manifest["artifacts"].items()
        if a["type"] == "aws:cloudformation:stack"
    }


def _copy(outdir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "assembly"
    shutil.copytree(outdir, target, ignore=shutil.ignore_patterns("asset.*"))
    return target


def _edit(folder: Path, stack: str, edit) -> None:  # type: ignore[no-untyped-def]
    path = folder / f"{stack}.template.json"
    template = json.loads(path.read_text())
    edit(template["Resources"])
    path.write_text(json.dumps(template))


# -- inventory ----------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_inventory_matches_the_templates_resource_for_resource(reviews, profile) -> None:  # type: ignore[no-untyped-def]
    outdir, review, _ = reviews[profile]
    templates = _templates(outdir)
    assert set(review.inventory) == set(templates)
    for stack, template in templates.items():
        listed = [(i.logical_id, i.type) for i in review.inventory[stack]]
        expected = [(lid, body["Type"]) for lid, body in template["Resources"].items()]
        assert listed == expected, stack
        # Construct paths: the metadata file maps each path to its logical id.
        meta = json.loads((outdir / f"{stack}.metadata.json").read_text())
        paths = {
            e["data"]: p.lstrip("/")
            for p, entries in meta.items()
            for e in entries
            if e["type"] == "aws:cdk:logicalId"
        }
        for item in review.inventory[stack]:
            assert item.path == paths[item.logical_id]
            body = template["Resources"][item.logical_id]
            assert item.deletion.startswith(body.get("DeletionPolicy", "Delete"))
            key = (
                body.get("Properties", {})
                .get("BucketEncryption", {})
                .get("ServerSideEncryptionConfiguration", [{}])[0]
                .get("ServerSideEncryptionByDefault", {})
                .get("KMSMasterKeyID")
            )
            if isinstance(key, dict) and "Fn::GetAtt" in key:
                assert key["Fn::GetAtt"][0] in item.encryption


def test_inventory_shows_instance_types_and_counts(reviews) -> None:  # type: ignore[no-untyped-def]
    outdir, review, _ = reviews["prod-like"]
    for stack, template in _templates(outdir).items():
        for lid, body in template["Resources"].items():
            if body["Type"] != "AWS::SageMaker::EndpointConfig":
                continue
            variant = body["Properties"]["ProductionVariants"][0]
            item = next(i for i in review.inventory[stack] if i.logical_id == lid)
            assert item.capacity == f"{variant['InitialInstanceCount']} x {variant['InstanceType']}"


# -- security -----------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_every_acknowledgement_appears_with_its_reason(reviews, profile) -> None:  # type: ignore[no-untyped-def]
    outdir, review, paths = reviews[profile]
    report = json.loads((outdir / "validation-report.json").read_text())
    suppressed = [s for p in report["pluginReports"] for s in p["suppressedViolations"]]
    assert suppressed
    listed = {(a.finding, a.reason) for acks in review.acks.values() for a in acks}
    markdown = paths["markdown"].read_text()
    page = paths["html"].read_text()
    for s in suppressed:
        finding = s["acknowledgedId"].split("::", 1)[1]
        assert (finding, s["reason"]) in listed, finding
        rule = finding.split("[", 1)[0]
        assert finding in [a.finding for a in review.acks[rule]]
        assert s["reason"].replace("|", "\\|") in markdown
        assert html.escape(s["reason"]) in page


@pytest.mark.parametrize("profile", PROFILES)
def test_nothing_is_reachable_from_outside_the_account(reviews, profile) -> None:  # type: ignore[no-untyped-def]
    _, review, _ = reviews[profile]
    assert review.exposure == []
    doors = {e.logical_id.rstrip("0123456789ABCDEF") for e in review.entry_points}
    assert doors <= {"EndpointInvokePolicy", "IngestionProducerPolicy"}


def test_a_public_bucket_policy_is_reported_as_reachable(reviews, tmp_path) -> None:  # type: ignore[no-untyped-def]
    outdir, _, _ = reviews["lab"]
    copy = _copy(outdir, tmp_path)
    stack = next(s for s in _templates(copy) if s.endswith("DataLake"))

    def open_raw(resources: dict[str, Any]) -> None:
        policy = next(b for k, b in resources.items() if k.startswith("LakeRawBucketPolicy"))
        policy["Properties"]["PolicyDocument"]["Statement"].append(
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
        )

    _edit(copy, stack, open_raw)
    from assurance.review.security import exposure

    found = exposure(Assembly.read(copy))
    assert [e.logical_id for e in found if e.logical_id.startswith("LakeRawBucketPolicy")]


def test_roles_say_who_assumes_them_and_what_they_may_do(reviews) -> None:  # type: ignore[no-untyped-def]
    outdir, review, _ = reviews["prod-like"]
    roles = [
        (stack, lid)
        for stack, t in _templates(outdir).items()
        for lid, body in t["Resources"].items()
        if body["Type"] == "AWS::IAM::Role"
    ]
    assert sorted((r.stack, r.logical_id) for r in review.roles) == sorted(roles)
    firehose = next(r for r in review.roles if r.logical_id.startswith("IngestionDeliveryRole"))
    assert firehose.assumed_by == "Service:firehose.amazonaws.com"
    assert "kinesis" in firehose.may and "s3" in firehose.may


# -- lens ---------------------------------------------------------------------------------------
def _resolve(props: Any, path: str) -> Any:
    """The test's own dotted-path lookup (independent of lens.get)."""
    node = props
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    return node


def _joined(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_joined(p) for p in parts)
    if isinstance(value, dict):
        return json.dumps(value) + "".join(_joined(v) for v in value.values())
    if isinstance(value, list):
        return json.dumps(value) + "".join(_joined(v) for v in value)
    return json.dumps(value)


@pytest.mark.parametrize("profile", PROFILES)
def test_pass_rows_point_at_resources_that_exist_and_properties_that_hold(reviews, profile) -> None:  # type: ignore[no-untyped-def]
    outdir, review, _ = reviews[profile]
    templates = _templates(outdir)
    passed = [r for r in review.lens if r.status == lens.PASS]
    assert len(passed) >= 20
    for row in passed:
        assert row.evidence, row.id
        for ev in row.evidence:
            body = templates[ev.stack]["Resources"][ev.logical_id]  # the resource exists
            value = _resolve(body.get("Properties", {}), ev.prop)  # the property exists
            if ev.step:  # the named step is in the parsed definition, with that type
                assert _all_steps(_definition(value))[ev.step]["Type"] == ev.step_type, (row.id, ev)
            elif ev.equals:
                assert value == ev.equals, (row.id, ev)
            else:
                assert value not in (None, False, "", [], {}), (row.id, ev)


# The test's own reading of a PipelineDefinition: Fn::Join parts joined, a token as TOKEN.
def _definition(value: dict[str, Any]) -> dict[str, Any]:
    body = value["PipelineDefinitionBody"]
    if isinstance(body, dict):
        sep, parts = body["Fn::Join"]
        body = sep.join(p if isinstance(p, str) else "TOKEN" for p in parts)
    return json.loads(body)


def _all_steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Step name -> step, the Condition steps' If/Else branches included."""
    found: dict[str, dict[str, Any]] = {}
    todo = list(definition["Steps"])
    while todo:
        step = todo.pop()
        found[step["Name"]] = step
        todo += step.get("Arguments", {}).get("IfSteps", []) + step.get("Arguments", {}).get(
            "ElseSteps", []
        )
    return found


def _edit_training_definition(folder: Path, edit) -> str:  # type: ignore[no-untyped-def]
    """Apply ``edit(definition, resource)`` to the pipeline with a step named Tune (the study
    guide's training pipeline); the definition is written back as a plain JSON string. Returns
    the pipeline's logical id."""
    touched: list[str] = []
    for stack in _templates(folder):

        def change(resources: dict[str, Any]) -> None:
            for lid, body in resources.items():
                if body["Type"] != "AWS::SageMaker::Pipeline":
                    continue
                definition = _definition(body["Properties"]["PipelineDefinition"])
                if "Tune" in _all_steps(definition):
                    edit(definition, body)
                    body["Properties"]["PipelineDefinition"] = {
                        "PipelineDefinitionBody": json.dumps(definition)
                    }
                    touched.append(lid)

        _edit(folder, stack, change)
        if touched:
            return touched[0]
    raise AssertionError("no pipeline with a Tune step")


TRAINING_ROWS = ("MLREL04-BP03", "MLCOST04-BP06", "MLCOST04-BP11", "MLPERF04-BP03")


def _statuses(rows: list[lens.Row]) -> dict[tuple[str, str], str]:
    return {(r.id, r.title): r.status for r in rows}


def _changed(before: list[lens.Row], after: list[lens.Row]) -> dict[str, tuple[str, str]]:
    b, a = _statuses(before), _statuses(after)
    return {k[0]: (b[k], v) for k, v in a.items() if b[k] != v}


@pytest.mark.parametrize("profile", PROFILES)
def test_the_readme_lens_figures_are_what_the_review_counts(reviews, profile) -> None:  # type: ignore[no-untyped-def]
    """docs/review.md quotes the lens counts of both profiles; they are what the lens says now."""
    import re

    from lab.paths import REPO

    readme = (REPO / "docs" / "review.md").read_text()
    quoted = re.search(
        rf"{re.escape(profile)}: (\d+) PASS, (\d+) FAIL, (\d+)\s+MANUAL", readme.replace("\n", " ")
    )
    assert quoted, f"docs/review.md quotes no lens figures for {profile}"
    c = lens.counts(reviews[profile][1].lens)
    assert tuple(map(int, quoted.groups())) == (c[lens.PASS], c[lens.FAIL], c[lens.MANUAL])


@pytest.mark.parametrize("profile", PROFILES)
def test_training_rows_judge_the_training_pipeline_not_the_scoring_one(reviews, profile) -> None:  # type: ignore[no-untyped-def]
    """The scoring pipeline (a Model and a Transform step) neither tunes nor gates, and must
    not: the training rows pass on the training pipeline alone, naming its steps."""
    outdir, review, _ = reviews[profile]
    pipelines = {
        lid: _all_steps(_definition(body["Properties"]["PipelineDefinition"]))
        for t in _templates(outdir).values()
        for lid, body in t["Resources"].items()
        if body["Type"] == "AWS::SageMaker::Pipeline"
    }
    training = {lid for lid, steps in pipelines.items() if "Tune" in steps}
    scoring = {lid for lid, steps in pipelines.items() if "Score" in steps}
    assert len(training) == 1 and len(scoring) == 1
    expected = {
        "MLREL04-BP03": {("QualityGate", "Condition")},
        "MLCOST04-BP06": {("Tune", "Tuning"), ("TrainBaseline", "Training")},
        "MLCOST04-BP11": {("Tune", "Tuning")},
        "MLPERF04-BP03": {("Evaluate", "Processing"), ("Preprocess", "Processing")},
    }
    for row in review.lens:
        if row.id in TRAINING_ROWS:
            assert row.status == lens.PASS, row.evidence
            assert {e.logical_id for e in row.evidence} == training, row.id
            assert {(e.step, e.step_type) for e in row.evidence} == expected[row.id]


@pytest.mark.parametrize("profile", PROFILES)
def test_the_managed_training_row_says_whether_training_runs_on_spot(reviews, profile) -> None:  # type: ignore[no-untyped-def]
    """MLCOST04-BP06's evidence reads the definition: lab's training and tuning jobs run on
    managed Spot, without checkpoints (the tuning trials would share one location), so within
    the 3600 s wait of a non-checkpointing job (config/lab.json); prod-like's on
    demand."""
    _, review, _ = reviews[profile]
    (row,) = [r for r in review.lens if r.id == "MLCOST04-BP06"]
    notes = {e.step: e.note for e in row.evidence}
    if profile == "lab":
        assert notes["Tune"] == (
            "SageMaker-managed job, on managed Spot (MaxWaitTimeInSeconds 3600, no checkpoints)"
        )
        assert "on managed Spot" in notes["TrainBaseline"]
    else:
        assert set(notes.values()) == {"SageMaker-managed job, on demand"}


def test_a_training_pipeline_without_tuning_fails_the_tuning_row_alone(reviews, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Drop the Tune step (the baseline's Training step stays: still a training pipeline). A
    description that merely quotes '"Type": "Tuning"' and "Bayesian" is not a tuning step."""
    outdir, review, _ = reviews["lab"]
    copy = _copy(outdir, tmp_path)

    def drop_tune(definition: dict[str, Any], body: dict[str, Any]) -> None:
        definition["Steps"] = [s for s in definition["Steps"] if s["Name"] != "Tune"]
        definition["Steps"][0]["Description"] = '"Type": "Tuning", "Strategy": "Bayesian"'
        body["Properties"]["PipelineDescription"] = '"Type": "Tuning" Bayesian'

    pipeline = _edit_training_definition(copy, drop_tune)
    after = lens.evaluate(Assembly.read(copy))
    assert _changed(review.lens, after) == {"MLCOST04-BP11": (lens.PASS, lens.FAIL)}
    (row,) = [r for r in after if r.id == "MLCOST04-BP11"]
    (failing,) = [e for e in row.evidence if not e.holds]
    assert (failing.logical_id, failing.step_type) == (pipeline, "Tuning")
    assert "Tuning" in failing.render() and pipeline in failing.render()


def test_a_training_pipeline_without_its_gate_fails_validation_and_evaluation(
    reviews, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Replace the QualityGate Condition step by its If branch (register unconditionally):
    nothing validates the model and nothing reads the evaluation. A resource description
    quoting '"Type": "Condition"' does not stand in for the step."""
    outdir, review, _ = reviews["prod-like"]
    copy = _copy(outdir, tmp_path)

    def ungate(definition: dict[str, Any], body: dict[str, Any]) -> None:
        steps = []
        for s in definition["Steps"]:
            steps += s["Arguments"]["IfSteps"] if s["Type"] == "Condition" else [s]
        definition["Steps"] = steps
        definition["Steps"][0]["Description"] = '{"Type": "Condition", "Name": "Evaluate"}'
        body["Properties"]["PipelineDescription"] = '"Type": "Condition" Evaluate'

    pipeline = _edit_training_definition(copy, ungate)
    after = lens.evaluate(Assembly.read(copy))
    assert _changed(review.lens, after) == {
        "MLREL04-BP03": (lens.PASS, lens.FAIL),
        "MLPERF04-BP03": (lens.PASS, lens.FAIL),
    }
    (gate,) = [r for r in after if r.id == "MLREL04-BP03"]
    assert [(e.logical_id, e.step_type, e.holds) for e in gate.evidence] == [
        (pipeline, "Condition", False)
    ]


def test_a_training_pipeline_without_its_bias_gate_fails_the_evaluation_row(
    reviews, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Drop the bias bounds from Preprocess's command line: nothing gates on CI and DPL, so
    the evaluation row fails naming the pipeline; with them, its evidence quotes the bounds."""
    outdir, review, _ = reviews["lab"]
    (row,) = [r for r in review.lens if r.id == "MLPERF04-BP03"]
    (gate,) = [e for e in row.evidence if e.step == "Preprocess"]
    assert "|CI| <= 0.5, |DPL| <= 0.1, facet d: source in sklearn-digits/scanner-b" in gate.note
    assert "bias.xgboost.AD" in gate.note
    copy = _copy(outdir, tmp_path)

    def ungated(definition: dict[str, Any], body: dict[str, Any]) -> None:
        for s in definition["Steps"]:
            if s["Name"] == "Preprocess":
                app = s["Arguments"]["AppSpecification"]
                arguments = app["ContainerArguments"]
                at = arguments.index("--max-abs-ci")
                app["ContainerArguments"] = arguments[:at] + arguments[at + 2 :]

    pipeline = _edit_training_definition(copy, ungated)
    after = lens.evaluate(Assembly.read(copy))
    assert _changed(review.lens, after) == {"MLPERF04-BP03": (lens.PASS, lens.FAIL)}
    (row,) = [r for r in after if r.id == "MLPERF04-BP03"]
    (failing,) = [e for e in row.evidence if not e.holds]
    assert (failing.logical_id, failing.step_type) == (pipeline, "Processing")
    assert "no step gates on pre-training bias" in failing.render()


def test_without_a_training_pipeline_the_training_rows_ask_rather_than_fail(
    reviews, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Only the scoring pipeline left: the training practices are not judged on it (no FAIL,
    no PASS): they become questions."""
    outdir, _, _ = reviews["lab"]
    copy = _copy(outdir, tmp_path)
    stack = next(s for s in _templates(copy) if s.endswith("-Training"))

    def drop(resources: dict[str, Any]) -> None:
        for lid in [
            lid
            for lid, b in resources.items()
            if b["Type"] == "AWS::SageMaker::Pipeline"
            and "Tune" in _all_steps(_definition(b["Properties"]["PipelineDefinition"]))
        ]:
            del resources[lid]

    _edit(copy, stack, drop)
    rows = [r for r in lens.evaluate(Assembly.read(copy)) if r.id in TRAINING_ROWS]
    assert len(rows) == 4
    assert {r.status for r in rows} == {lens.MANUAL}
    assert all(r.question.endswith("?") for r in rows)


def test_a_tls_condition_only_counts_on_a_deny(reviews, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The bucket guardrail row wants a statement denying aws:SecureTransport false; the
    condition key quoted in an Allow statement is not that."""
    outdir, review, _ = reviews["lab"]
    copy = _copy(outdir, tmp_path)
    stack = next(s for s in _templates(copy) if s.endswith("-DataLake"))

    def allow(resources: dict[str, Any]) -> None:
        policy = next(b for b in resources.values() if b["Type"] == "AWS::S3::BucketPolicy")
        for st in policy["Properties"]["PolicyDocument"]["Statement"]:
            if st["Effect"] == "Deny":
                st["Effect"] = "Allow"

    _edit(copy, stack, allow)
    assert _changed(review.lens, lens.evaluate(Assembly.read(copy))) == {
        "MLSEC03-BP02": (lens.PASS, lens.FAIL)
    }


def test_cli_exits_1_and_names_the_row_when_a_lens_row_fails(reviews, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    outdir, _, _ = reviews["lab"]
    copy = _copy(outdir, tmp_path)
    _edit_training_definition(
        copy,
        lambda d, b: d.update(Steps=[s for s in d["Steps"] if s["Name"] != "Tune"]),
    )
    code = main(
        ["review", "--profile", "lab", "--assembly", str(copy), "--out", str(tmp_path / "r")]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "FAIL 1" in captured.out
    assert "MLCOST04-BP11" in captured.err and (tmp_path / "r" / "review.html").is_file()


def test_manual_rows_carry_a_question(reviews) -> None:  # type: ignore[no-untyped-def]
    for _, review, _ in reviews.values():
        for row in review.lens:
            if row.status == lens.MANUAL:
                assert row.question.endswith("?"), row.id


def test_removing_the_endpoint_kms_key_turns_its_row_to_fail(reviews, tmp_path) -> None:  # type: ignore[no-untyped-def]
    outdir, review, _ = reviews["prod-like"]
    copy = _copy(outdir, tmp_path)
    stack = next(s for s in _templates(copy) if s.endswith("-Serving"))

    def drop_key(resources: dict[str, Any]) -> None:
        config = next(
            b for b in resources.values() if b["Type"] == "AWS::SageMaker::EndpointConfig"
        )
        del config["Properties"]["KmsKeyId"]

    _edit(copy, stack, drop_key)
    before = {(r.id, r.title): r.status for r in review.lens}
    after_rows = lens.evaluate(Assembly.read(copy))
    after = {(r.id, r.title): r.status for r in after_rows}
    changed = {k: (before[k], v) for k, v in after.items() if before[k] != v}
    assert list(changed.values()) == [(lens.PASS, lens.FAIL)]
    (key,) = changed
    assert key[0] == "MLSEC02-BP01"
    row = next(r for r in after_rows if (r.id, r.title) == key)
    failing = [e for e in row.evidence if not e.holds]
    assert [(e.stack, e.prop) for e in failing] == [(stack, "KmsKeyId")]


def test_removing_the_rollback_alarms_fails_the_deployment_strategy_row(reviews, tmp_path) -> None:  # type: ignore[no-untyped-def]
    outdir, _, _ = reviews["lab"]
    copy = _copy(outdir, tmp_path)
    stack = next(s for s in _templates(copy) if s.endswith("-Serving"))

    def drop(resources: dict[str, Any]) -> None:
        endpoint = next(b for b in resources.values() if b["Type"] == "AWS::SageMaker::Endpoint")
        del endpoint["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]

    _edit(copy, stack, drop)
    row = next(r for r in lens.evaluate(Assembly.read(copy)) if r.id == "MLREL05-BP02")
    assert row.status == lens.FAIL


# -- diagram ------------------------------------------------------------------------------------
def test_isolated_network_adds_the_vpc_and_its_endpoints(reviews) -> None:  # type: ignore[no-untyped-def]
    lab = reviews["lab"][1].diagram
    prod = reviews["prod-like"][1].diagram
    assert not [n for n in lab.nodes.values() if n.type.startswith("AWS::EC2::")]
    vpc = [n for n in prod.nodes.values() if n.type == "AWS::EC2::VPC"]
    endpoints = [n for n in prod.nodes.values() if n.type == "AWS::EC2::VPCEndpoint"]
    assert len(vpc) == 1 and len(endpoints) == 1
    # Every VPC endpoint of the Network template is counted in that node.
    outdir = reviews["prod-like"][0]
    count = sum(
        1
        for t in _templates(outdir).values()
        for b in t["Resources"].values()
        if b["Type"] == "AWS::EC2::VPCEndpoint"
    )
    assert endpoints[0].details[0].startswith(f"{count}: ")
    placed = {e.src for e in prod.edges if e.dst == vpc[0].id and e.label == "in VPC"}
    types = {prod.nodes[s].type for s in placed}
    assert {"AWS::SageMaker::Endpoint", "AWS::SageMaker::Pipeline"} <= types
    lab_svg = reviews["lab"][2]["svg"].read_text()
    prod_svg = reviews["prod-like"][2]["svg"].read_text()
    assert "VPC endpoints" in prod_svg and "VPC endpoints" not in lab_svg
    assert "VPC endpoints" in reviews["prod-like"][2]["mermaid"].read_text()


def test_the_spine_flows_from_producers_to_retraining(reviews) -> None:  # type: ignore[no-untyped-def]
    d = reviews["lab"][1].diagram

    def node(type_: str, name: str = "") -> str:
        return next(
            n.id for n in d.nodes.values() if n.type == type_ and (not name or name in n.details)
        )

    flows = {(e.src, e.dst) for e in d.edges}
    stream = node("AWS::Kinesis::Stream")
    firehose = node("AWS::KinesisFirehose::DeliveryStream")
    raw = node("AWS::S3::Bucket", "RawBucket")
    pipeline = node("AWS::SageMaker::Pipeline")
    registry = node("AWS::SageMaker::ModelPackageGroup", "XGBoostGroup")
    approved = node("AWS::Events::Rule", "ModelApproved")
    delivery = node("AWS::CodePipeline::Pipeline")
    endpoints = [n.id for n in d.nodes.values() if n.type == "AWS::SageMaker::Endpoint"]
    artifacts = node("AWS::S3::Bucket", "ArtifactsBucket")
    retrain = node("AWS::Events::Rule", "RetrainRequested")
    assert ("ext_ProducerPolicy", stream) in flows
    assert {(stream, firehose), (firehose, raw), (raw, pipeline), (pipeline, registry)} <= flows
    assert {(registry, approved), (approved, delivery), (retrain, pipeline)} <= flows
    for endpoint in endpoints:
        assert (delivery, endpoint) in flows and (endpoint, artifacts) in flows


def test_another_serving_kind_changes_the_endpoint_node(reviews, tmp_path) -> None:  # type: ignore[no-untyped-def]
    outdir, review, paths = reviews["lab"]
    copy = _copy(outdir, tmp_path)
    stack = next(s for s in _templates(copy) if s.endswith("-Serving"))

    def serverless(resources: dict[str, Any]) -> None:
        config = next(
            b for b in resources.values() if b["Type"] == "AWS::SageMaker::EndpointConfig"
        )
        variant = config["Properties"]["ProductionVariants"][0]
        for key in ("InstanceType", "InitialInstanceCount"):
            variant.pop(key)
        variant["ServerlessConfig"] = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
        del config["Properties"]["DataCaptureConfig"]  # as the serving construct does
        model = next(b for b in resources.values() if b["Type"] == "AWS::SageMaker::Model")
        del model["Properties"]["EnableNetworkIsolation"]

    _edit(copy, stack, serverless)
    changed = diagram.build(Assembly.read(copy), "lab")
    node = next(n for n in changed.nodes.values() if n.stack == stack and "Endpoint" in n.type)
    assert "serverless 2048 MB" in node.details
    assert not any(d.startswith("real-time") for d in node.details)
    assert diagram.render(changed, "svg") != paths["svg"].read_bytes()
    # The lens follows too: capture is impossible on serverless (FAIL, with the reason), while
    # network isolation, which SageMaker does not offer there, is not demanded of it.
    rows = {r.id: r for r in lens.evaluate(Assembly.read(copy))}
    capture = [e for e in rows["MLOPS06-BP01"].evidence if not e.holds]
    assert [e.stack for e in capture] == [stack] and "serverless" in capture[0].note
    assert stack not in {e.stack for e in rows["MLSEC04-BP01"].evidence}
    assert rows["MLSEC04-BP01"].status == lens.PASS


def test_png_is_a_picture(reviews) -> None:  # type: ignore[no-untyped-def]
    for _, _, paths in reviews.values():
        data = paths["png"].read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(data[16:20], "big")
        height = int.from_bytes(data[20:24], "big")
        assert width > 800 and height > 800


# -- the page -----------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_html_is_well_formed_and_self_contained(reviews, profile) -> None:  # type: ignore[no-untyped-def]
    page = reviews[profile][2]["html"].read_text()
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    doc = parser.parse(page)  # raises on any parse error
    for element in doc.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        assert tag.split("}")[-1] not in ("script", "link", "iframe", "img", "object", "embed")
        for attr, value in element.attrib.items():
            name = attr.split("}")[-1]
            if name in ("src", "href", "xlink:href", "action", "data"):
                assert value.startswith(("#", "data:")), (tag, attr, value)
        style = element.attrib.get("style", "") + (element.text or "" if tag == "style" else "")
        assert "url(" not in style and "@import" not in style
    assert "<svg" in page
    ids = {e.attrib.get("id") for e in doc.iter()}
    for anchor in ("architecture", "inventory", "security", "lens", "cost"):
        assert anchor in ids


@pytest.mark.parametrize("profile", PROFILES)
def test_the_layout_reads_left_to_right_along_the_data_flow(reviews, profile) -> None:  # type: ignore[no-untyped-def]
    """Where graphviz actually puts the boxes (its plain output, x of each node's centre):
    producers, stream, Firehose, raw zone, training pipeline, registry, delivery pipeline,
    production endpoint and the drift runner, each strictly right of the one before."""
    dg = reviews[profile][1].diagram
    x = {}
    for line in diagram.render(dg, "plain").decode().splitlines():
        parts = line.split()
        if parts[:1] == ["node"]:
            x[parts[1].strip('"')] = float(parts[2])

    def one(predicate) -> str:  # type: ignore[no-untyped-def]
        (node,) = [n.id for n in dg.nodes.values() if predicate(n)]
        return node

    registers = {e.src for e in dg.edges if e.label == "registers"}
    spine = [
        one(lambda n: n.external and "ProducerPolicy" in n.details),
        one(lambda n: n.type == "AWS::Kinesis::Stream"),
        one(lambda n: n.type == "AWS::KinesisFirehose::DeliveryStream"),
        one(lambda n: n.type == "AWS::S3::Bucket" and "RawBucket" in n.details),
        one(lambda n: n.id in registers),
        one(
            lambda n: n.type == "AWS::SageMaker::ModelPackageGroup" and "XGBoostGroup" in n.details
        ),
        one(lambda n: n.type == "AWS::CodePipeline::Pipeline"),
        one(lambda n: n.type == "AWS::SageMaker::Endpoint" and n.stack.endswith("-Serving")),
        one(lambda n: n.type == "AWS::Lambda::Function" and "Runner" in n.details),
    ]
    xs = [x[n] for n in spine]
    assert xs == sorted(xs) and len(set(xs)) == len(xs), list(zip(spine, xs, strict=True))


def test_markdown_embeds_the_mermaid_diagram(reviews) -> None:  # type: ignore[no-untyped-def]
    paths = reviews["prod-like"][2]
    markdown = paths["markdown"].read_text()
    mermaid = paths["mermaid"].read_text()
    assert "```mermaid\n" + mermaid.rstrip() + "\n```" in markdown
    assert mermaid.startswith("flowchart LR\n")


# -- cost ---------------------------------------------------------------------------------------
def test_cost_says_plainly_when_no_estimator_is_in_the_build(reviews, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cost, "ESTIMATOR", ("labctl.no_such_module", "idle_cost"))
    outdir, _, _ = reviews["lab"]
    section = cost.section(Assembly.read(outdir))
    assert section.idle is None and section.idle_note.startswith(cost.NOT_AVAILABLE)
    assert any(d[1] == "ml.m5.large instance hours" for d in section.drivers)


def test_cost_shows_the_estimator_figures_when_present(reviews, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    seen = {}

    class Estimate:
        def to_json(self) -> dict[str, Any]:
            return {
                "region": "us-east-1",
                "prices_as_of": "2026-01-01",
                "daily_usd": 1.5,
                "monthly_usd": 45.6,
                "lines": [],
            }

    def fake(templates: dict[str, Any], region: str) -> Estimate:
        seen["stacks"], seen["region"] = sorted(templates), region
        return Estimate()

    monkeypatch.setattr(
        cost, "_optional", lambda module, name: fake if name == "idle_cost" else None
    )
    outdir, _, _ = reviews["lab"]
    section = cost.section(Assembly.read(outdir))
    assert section.idle is not None and section.idle["monthly_usd"] == 45.6
    assert seen["stacks"] == sorted(_templates(outdir)) and seen["region"] == "us-east-1"


# -- CLI ----------------------------------------------------------------------------------------
def test_cli_reviews_an_existing_assembly(reviews, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    outdir = reviews["lab"][0]
    code = main(["review", "--profile", "lab", "--assembly", str(outdir), "--out", str(tmp_path)])
    assert code == 0
    assert (tmp_path / "review.html").is_file() and (tmp_path / "architecture.png").is_file()
    assert "lens: PASS" in capsys.readouterr().out
    # the command hands the teardown's residue list to the review (ops.teardown.residue)
    from ops.teardown.residue import SWEEP_ORDER

    text = (tmp_path / "review.md").read_text()
    assert "kinds the teardown sweep lists and deletes, in order: " + SWEEP_ORDER[0] in text


def test_cli_rejects_a_folder_that_is_no_assembly(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["review", "--assembly", str(tmp_path / "nothing"), "--out", str(tmp_path / "r")])
    assert code == 2
    assert "no cloud assembly" in capsys.readouterr().err


def test_runtime_resources_come_from_the_teardown_residue_list(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """labctl review reads the teardown's residue list and hands it to the review (assurance
    imports no teardown code)."""
    import sys
    import types

    from labctl.review import runtime_resources

    class Names:
        @classmethod
        def of(cls, config):  # type: ignore[no-untyped-def]
            names = types.SimpleNamespace(
                endpoints=(config.endpoint_name,), pipeline="p", groups=("g",), database="d"
            )
            return names

    fake = types.ModuleType("ops.teardown.residue")
    fake.Names = Names  # type: ignore[attr-defined]
    fake.SWEEP_ORDER = ("endpoint", "bucket")  # type: ignore[attr-defined]
    fake.RETAINED_KINDS = frozenset({"bucket"})  # type: ignore[attr-defined]
    fake.JOB_LOG_GROUPS = ("/aws/sagemaker/TrainingJobs",)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ops.teardown.residue", fake)
    lines, note = runtime_resources("lab")
    assert "endpoint, bucket (kept by the retain profile)" in lines[0]
    from core.config import load_profile

    assert load_profile("lab").endpoint_name in lines[1]
    monkeypatch.delattr(fake, "Names")
    lines, note = runtime_resources("lab")
    assert lines == [] and note.startswith("teardown plan failed: AttributeError")


def test_the_review_shows_the_runtime_lines_its_caller_hands_over(reviews) -> None:  # type: ignore[no-untyped-def]
    from assurance.review.report import RUNTIME_NOT_LISTED, markdown

    outdir, review, _ = reviews["lab"]
    assert RUNTIME_NOT_LISTED in markdown(review, "")  # built without: says so
    given = build(Assembly.read(outdir), "lab", runtime=(["endpoint lab-planted"], "from a test"))
    text = markdown(given, "")
    assert "endpoint lab-planted" in text and "from a test" in text
    assert RUNTIME_NOT_LISTED not in text


def test_drift_monitoring_row_passes_on_its_schedule_and_fails_without(reviews, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The <env>-Monitoring stack's schedule is the evidence; the event rules beside it (job
    finished, alarm fired) are not schedules and must not count against it."""
    outdir, review, _ = reviews["lab"]
    (row,) = [r for r in review.lens if r.id == "MLPERF06-BP02"]
    assert row.status == lens.PASS, row.evidence
    copy = _copy(outdir, tmp_path)
    stack = next(s for s in _templates(copy) if s.endswith("-Monitoring"))

    def drop(resources: dict[str, Any]) -> None:
        schedule = next(b for b in resources.values() if b["Type"] == "AWS::Scheduler::Schedule")
        del schedule["Properties"]["ScheduleExpression"]

    _edit(copy, stack, drop)
    (after,) = [r for r in lens.evaluate(Assembly.read(copy)) if r.id == "MLPERF06-BP02"]
    assert after.status == lens.FAIL


def test_the_page_names_no_absolute_path_of_this_machine(reviews, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The header names the assembly and the release file; a review is shared, so a path in
    the checkout is shown relative to it and one outside it by its name only."""
    from infra.platform import EXAMPLE_RELEASE
    from lab.paths import REPO

    outdir, _, _ = reviews["lab"]
    assert outdir.is_absolute() and EXAMPLE_RELEASE.is_absolute()
    note = f"serving real_time from {EXAMPLE_RELEASE} (the offline example packages)"
    paths = write(build(Assembly.read(outdir), "lab", note), tmp_path / "r")
    for kind in ("html", "markdown"):
        text = paths[kind].read_text()
        for machine in (str(REPO), str(outdir), str(tmp_path), str(Path.home())):
            assert machine not in text, (kind, machine)
        assert "serving real_time from config/examples/release.json (the offline" in text
        assert f"cloud assembly `{outdir.name}`" in text or f"assembly {outdir.name}." in text


def test_a_schedule_counts_for_drift_only_when_it_runs_a_function_that_watches_the_endpoint(
    reviews, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Point the Monitoring stack's schedule at another function (one configured with no
    endpoint): a schedule in a stack called Monitoring is no drift check, so the row asks."""
    outdir, review, _ = reviews["lab"]
    copy = _copy(outdir, tmp_path)
    stack = next(s for s in _templates(copy) if s.endswith("-Monitoring"))

    def retarget(resources: dict[str, Any]) -> None:
        schedule = next(b for b in resources.values() if b["Type"] == "AWS::Scheduler::Schedule")
        resources["Idle"] = {"Type": "AWS::Lambda::Function", "Properties": {}}
        schedule["Properties"]["Target"]["Arn"] = {"Fn::GetAtt": ["Idle", "Arn"]}

    _edit(copy, stack, retarget)
    assert _changed(review.lens, lens.evaluate(Assembly.read(copy))) == {
        "MLPERF06-BP02": (lens.PASS, lens.MANUAL)
    }


def test_a_registered_version_without_its_evaluation_fails_the_model_card_row(
    reviews, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """MLOPS06-BP01 (MLOE-15): the model card `labctl model approve` writes reads the
    evaluation report each RegisterModel step attaches; drop it from RegisterXGBoost and the
    row fails naming that step."""
    outdir, review, _ = reviews["lab"]
    assert {
        e.step for r in review.lens if r.id == "MLOPS06-BP01" for e in r.evidence if e.step
    } == {"RegisterXGBoost-RegisterModel", "RegisterBaseline-RegisterModel"}
    copy = _copy(outdir, tmp_path)

    def drop_metrics(definition: dict[str, Any], body: dict[str, Any]) -> None:
        step = _all_steps(definition)["RegisterXGBoost-RegisterModel"]
        del step["Arguments"]["ModelMetrics"]["ModelQuality"]

    pipeline = _edit_training_definition(copy, drop_metrics)
    after = lens.evaluate(Assembly.read(copy))
    assert _changed(review.lens, after) == {"MLOPS06-BP01": (lens.PASS, lens.FAIL)}
    (row,) = [r for r in after if r.id == "MLOPS06-BP01"]
    (failing,) = [e for e in row.evidence if not e.holds]
    assert (failing.logical_id, failing.step) == (pipeline, "RegisterXGBoost-RegisterModel")
    assert "model card" in failing.note


# -- MLSEC03-BP04 (old MLSEC-06): lineage ------------------------------------------------------
LINEAGE = "MLSEC03-BP04"


@pytest.mark.parametrize("profile", PROFILES)
def test_lineage_passes_on_the_manifest_the_registry_metadata_and_capture(reviews, profile) -> None:  # type: ignore[no-untyped-def]
    """What labctl lineage follows is in the templates: Preprocess's per-execution manifest
    output, both Register steps naming execution and manifest, capture on the endpoints."""
    outdir, review, _ = reviews[profile]
    (row,) = [r for r in review.lens if r.id == LINEAGE]
    assert row.status == lens.PASS, [e.render() for e in row.evidence]
    steps = {(e.step, e.step_type) for e in row.evidence if e.step}
    assert steps == {
        ("Preprocess", "Processing"),
        ("RegisterXGBoost-RegisterModel", "RegisterModel"),
        ("RegisterBaseline-RegisterModel", "RegisterModel"),
    }
    configs = {
        (stack, lid)
        for stack, t in _templates(outdir).items()
        for lid, body in t["Resources"].items()
        if body["Type"] == "AWS::SageMaker::EndpointConfig"
    }
    assert (
        configs
        and {(e.stack, e.logical_id) for e in row.evidence if e.prop.startswith("DataCapture")}
        == configs
    )


def test_lineage_fails_naming_what_is_missing(reviews, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Planted: the baseline's Register step loses its lineage metadata and the manifest
    output is no longer per execution; the row fails on exactly those two steps."""
    outdir, review, _ = reviews["lab"]
    copy = _copy(outdir, tmp_path)

    def strip(definition: dict[str, Any], body: dict[str, Any]) -> None:
        steps = _all_steps(definition)
        del steps["RegisterBaseline-RegisterModel"]["Arguments"]["CustomerMetadataProperties"]
        outputs = steps["Preprocess"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
        (manifest,) = [o for o in outputs if o["OutputName"] == "manifest"]
        manifest["S3Output"]["S3Uri"] = "s3://bucket/pipelines/Preprocess/manifest"

    _edit_training_definition(copy, strip)
    after = lens.evaluate(Assembly.read(copy))
    assert _changed(review.lens, after) == {LINEAGE: (lens.PASS, lens.FAIL)}
    (row,) = [r for r in after if r.id == LINEAGE]
    failing = {(e.step, e.note) for e in row.evidence if not e.holds}
    assert failing == {
        ("Preprocess", "training-data manifest NOT per execution"),
        (
            "RegisterBaseline-RegisterModel",
            "CustomerMetadataProperties lacks lineage:pipeline-execution, "
            "lineage:training-manifest",
        ),
    }


def test_lineage_fails_without_a_manifest_or_capture(reviews, tmp_path) -> None:  # type: ignore[no-untyped-def]
    outdir, review, _ = reviews["prod-like"]
    copy = _copy(outdir, tmp_path)

    def drop(definition: dict[str, Any], body: dict[str, Any]) -> None:
        config = _all_steps(definition)["Preprocess"]["Arguments"]["ProcessingOutputConfig"]
        config["Outputs"] = [o for o in config["Outputs"] if o["OutputName"] != "manifest"]

    pipeline = _edit_training_definition(copy, drop)
    stack = next(s for s in _templates(copy) if s.endswith("-Serving"))

    def no_capture(resources: dict[str, Any]) -> None:
        for b in resources.values():
            if b["Type"] == "AWS::SageMaker::EndpointConfig":
                b["Properties"]["DataCaptureConfig"]["EnableCapture"] = False

    _edit(copy, stack, no_capture)
    (row,) = [r for r in lens.evaluate(Assembly.read(copy)) if r.id == LINEAGE]
    assert row.status == lens.FAIL
    failing = {(e.logical_id, e.step_type or e.prop) for e in row.evidence if not e.holds}
    config = next(
        lid
        for lid, b in _templates(copy)[stack]["Resources"].items()
        if b["Type"] == "AWS::SageMaker::EndpointConfig"
    )
    assert failing == {(pipeline, "Processing"), (config, "DataCaptureConfig.EnableCapture")}
