"""core/model_card.py: the card's fields equal hand-written expectations from a fixture
evaluation report, and the content fits the SageMaker model card schema's fields (checked with
the SageMaker SDK's own model card classes, which validate enums and metric types)."""

from __future__ import annotations

import json
import re

import pytest

from core.model_card import ApprovalChange, CardFacts, card_content, card_name, render


def _metrics(accuracy: float) -> dict:
    return {
        "multiclass_classification_metrics": {
            "accuracy": {"value": accuracy, "standard_deviation": "NaN"}
        }
    }


EVALUATION = {
    "xgboost": _metrics(0.96),
    "baseline": _metrics(0.90),
    "champion": _metrics(0.95),
    "gate": {"champion_available": True, "champion_margin": 0.005, "champion_bar": 0.945},
    "test_rows": 250,
}
BIAS = {
    "facet": "source",
    "pretraining": {"n_a": 100, "n_d": 50, "CI": 0.2, "DPL": {"3": -0.1}},
    "posttraining": {"AD": 0.03, "recall_d": {"7": None}},
    "violations": [],
}
ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/lab-digits-xgboost/3"


def _facts(evaluation: dict | None, **kw) -> CardFacts:  # type: ignore[no-untyped-def]
    return CardFacts(
        package_arn=ARN,
        group="lab-digits-xgboost",
        version=3,
        approval_status="Approved",
        evaluation=evaluation,
        evaluation_uri="s3://art/p/Evaluate/x1/evaluation/evaluation.json",
        training_data=("s3://art/p/Preprocess/train",),
        approval_history=(
            ApprovalChange("registered", "2026-12-01T10:00:00+00:00", by="pipeline"),
            ApprovalChange("Approved", "2026-12-02T09:00:00+00:00", "looks good", "alice"),
        ),
        **kw,
    )


def _metric(content: dict, group: str, name: str) -> dict:
    groups = {g["name"]: g for g in content["evaluation_details"][0]["metric_groups"]}
    return next(m for m in groups[group]["metric_data"] if m["name"] == name)


def test_fields_equal_the_fixture_numbers() -> None:
    content = card_content(_facts({**EVALUATION, "bias": BIAS}))
    assert content["model_package_details"]["model_package_arn"] == ARN
    assert content["model_package_details"]["model_package_version"] == 3
    assert content["model_package_details"]["approval_description"] == "looks good"
    assert _metric(content, "model quality", "accuracy")["value"] == 0.96
    # one accuracy, sd NaN in the report: sd is n/a, the binomial standard error is named
    # sqrt(0.96 * 0.04 / 250) = sqrt(0.0001536) = 0.0123935...
    assert _metric(content, "model quality", "accuracy sd")["value"] == "n/a"
    se = _metric(content, "model quality", "accuracy standard error (binomial)")["value"]
    assert se == pytest.approx(0.0123935, abs=1e-6)
    assert _metric(content, "model quality", "test rows")["value"] == 250
    assert _metric(content, "champion comparison", "champion accuracy")["value"] == 0.95
    assert _metric(content, "champion comparison", "gate bar")["value"] == 0.945
    assert _metric(content, "champion comparison", "challenger - champion")["value"] == (
        pytest.approx(0.01)
    )
    assert _metric(content, "bias", "pretraining.CI")["value"] == 0.2
    assert _metric(content, "bias", "pretraining.DPL.3")["value"] == -0.1
    assert _metric(content, "bias", "posttraining.AD")["value"] == 0.03
    assert _metric(content, "bias", "posttraining.recall_d.7")["value"] == "n/a (no rows)"
    assert content["intended_uses"]["risk_rating"] == "Low"
    assert content["training_details"]["training_job_details"]["training_datasets"] == [
        "s3://art/p/Preprocess/train"
    ]
    assert content["additional_information"]["custom_details"] == {
        "approval_1": "2026-12-01T10:00:00+00:00 registered by pipeline",
        "approval_2": "2026-12-02T09:00:00+00:00 Approved by alice (looks good)",
    }


def test_a_reported_sd_is_used_as_is() -> None:
    report = {
        **EVALUATION,
        "xgboost": {
            "multiclass_classification_metrics": {
                "accuracy": {"value": 0.9, "standard_deviation": 0.02}
            }
        },
    }
    content = card_content(_facts(report))
    assert _metric(content, "model quality", "accuracy sd")["value"] == 0.02
    assert "0.9000 ± 0.0200" in content["evaluation_details"][0]["evaluation_observation"]


def test_without_bias_section_bias_is_not_computed_and_risk_is_medium() -> None:
    content = card_content(_facts(EVALUATION))
    assert _metric(content, "bias", "bias")["value"] == "not computed"
    assert content["intended_uses"]["risk_rating"] == "Medium"
    assert "not computed" in content["intended_uses"]["explanations_for_risk_rating"]


def test_a_bias_violation_raises_the_risk_and_is_named() -> None:
    bias = {**BIAS, "violations": [{"measure": "CI", "value": 0.7, "range": [-0.5, 0.5]}]}
    content = card_content(_facts({**EVALUATION, "bias": bias}))
    assert content["intended_uses"]["risk_rating"] == "Medium"
    assert "CI" in content["intended_uses"]["explanations_for_risk_rating"]


def test_first_model_has_no_champion() -> None:
    report = {
        **EVALUATION,
        "champion": None,
        "gate": {"champion_available": False, "champion_margin": 0.005, "champion_bar": 0.0},
    }
    content = card_content(_facts(report))
    assert _metric(content, "champion comparison", "champion")["value"] == "none"


def test_card_name_fits_the_api_pattern() -> None:
    assert card_name("lab-digits-xgboost", 3) == "lab-digits-xgboost-v3"
    long = card_name("g_" * 40, 12)
    assert len(long) <= 63 and long.endswith("-v12")
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", long)


def test_content_fits_the_model_card_schema_fields() -> None:
    """Every section through the SageMaker SDK's model card classes: unknown field names are
    TypeErrors, a risk rating outside High|Medium|Low|Unknown or a metric whose value does not
    fit its type is a ValueError."""
    from sagemaker.model_card import (
        AdditionalInformation,
        EvaluationJob,
        IntendedUses,
        Metric,
        MetricGroup,
        ModelOverview,
        TrainingDetails,
        TrainingJobDetails,
    )
    from sagemaker.model_card.model_card import Environment, ModelPackage

    for report in ({**EVALUATION, "bias": BIAS}, EVALUATION, None):
        content = card_content(
            _facts(
                report,
                model_data_url="s3://b/m.tar.gz",
                image="xgb:1",
                pipeline_execution="arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/x",
            )
        )
        assert len(json.dumps(content)) <= 100000  # CreateModelCard Content limit
        overview = dict(content["model_overview"])
        env = overview.pop("inference_environment")
        ModelOverview(**overview, inference_environment=Environment(**env))
        ModelPackage(**content["model_package_details"])
        IntendedUses(**content["intended_uses"])
        training = dict(content["training_details"])
        job = training.pop("training_job_details", None)
        TrainingDetails(**training, training_job_details=job and TrainingJobDetails(**job))
        for detail in content["evaluation_details"]:
            detail = dict(detail)
            groups = detail.pop("metric_groups")
            EvaluationJob(
                **detail,
                metric_groups=[
                    MetricGroup(g["name"], [Metric(**m) for m in g["metric_data"]]) for g in groups
                ],
            )
        AdditionalInformation(**content["additional_information"])
        # what the SDK does not check: custom_details keys and value lengths (CloudFormation's
        # AdditionalInformation.CustomDetails: pattern [a-zA-Z_][a-zA-Z0-9_]*, max 1024)
        for key, value in content["additional_information"].get("custom_details", {}).items():
            assert re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key) and len(value) <= 1024
        for key in content["evaluation_details"][0].get("metadata", {}):
            assert re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key)
        assert len(content["additional_information"]["caveats_and_recommendations"]) <= 2048
    with pytest.raises(ValueError):
        IntendedUses(risk_rating="Moderate")  # the validator is real


def test_render_prints_every_section() -> None:
    text = render(card_content(_facts({**EVALUATION, "bias": BIAS})), "v3")
    for heading in (
        "Intended use",
        "Training data",
        "Evaluation",
        "Champion it beat",
        "Bias",
        "Risk rating",
        "Approval history",
    ):
        assert f"## {heading}" in text
    assert "0.9600 ± n/a" in text
    assert "Approved by alice (looks good)" in text
