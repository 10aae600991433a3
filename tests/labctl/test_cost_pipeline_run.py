"""labctl cost: one training pipeline run on demand vs Spot (issue 26, item 7), against sums
done by hand from prices.json's numbers and the pipeline's jobs written out."""

from __future__ import annotations

import json
from datetime import date

import pytest

from core.cost import PRICES_PATH, PriceTable, pipeline_run_cost, training_definition
from labctl.cli import main

PRICES = json.loads(PRICES_PATH.read_text())
RUN = PRICES["pipeline_run"]


def _run_json(profile: str, synth, monkeypatch, capsys) -> dict:  # type: ignore[no-untyped-def]
    """`labctl cost --profile P --json`, pricing the session's synth of P (no new synth)."""
    import labctl.cost

    def templates(config, outdir):  # type: ignore[no-untyped-def]
        variant = synth.variant(profile, config.serving.kind)
        assert variant.platform.config == config
        return variant.templates

    monkeypatch.setattr(labctl.cost, "synthesized_templates", templates)
    assert main(["cost", "--profile", profile, "--json"]) == 0
    return json.loads(capsys.readouterr().out)["pipeline_run"]


@pytest.mark.parametrize(("profile", "region"), [("lab", "us-east-1"), ("prod-like", "eu-west-1")])
def test_one_run_costs_its_jobs_at_the_table_prices(
    profile, region, synth, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    """A run is Preprocess, Evaluate and MonitorBaseline (processing), 20 tuning trials and
    the baseline (training), each ml.m5.large for the assumed seconds; Spot takes the assumed
    saving off the training jobs only. lab trains on Spot, prod-like on demand."""
    got = _run_json(profile, synth, monkeypatch, capsys)
    table = PRICES["regions"][region]
    train_h = table["sagemaker_training_instance_hour"]["ml.m5.large"]["usd"]
    proc_h = table["sagemaker_processing_instance_hour"]["ml.m5.large"]["usd"]
    training = (20 + 1) * RUN["training_job_seconds"]["value"] / 3600 * train_h
    processing = 3 * RUN["processing_job_seconds"]["value"] / 3600 * proc_h
    saving = RUN["spot_savings"]["value"]
    assert got["on_demand_usd"] == pytest.approx(training + processing, abs=1e-4)
    assert got["spot_usd"] == pytest.approx(training * (1 - saving) + processing, abs=1e-4)
    assert got["uses_spot"] is (profile == "lab")
    assert {line["step"]: line["jobs"] for line in got["lines"]} == {
        "Preprocess": 1,
        "Tune": 20,
        "TrainBaseline": 1,
        "Evaluate": 1,
        "MonitorBaseline": 1,
    }


def test_the_assumptions_are_dated_and_marked_verify() -> None:
    for name in ("training_job_seconds", "processing_job_seconds", "spot_savings"):
        entry = RUN[name]
        assert entry["status"] == "verify" and date.fromisoformat(entry["date"]), name
    assert "model-managed-spot-training" in RUN["spot_savings"]["source"]
    for region in PRICES["regions"].values():
        for item in ("sagemaker_training_instance_hour", "sagemaker_processing_instance_hour"):
            assert region[item]["ml.m5.large"]["status"] == "verify"


def test_a_hand_written_run_with_a_parameterised_trial_count() -> None:
    """The tuning limit and the instance come from parameter defaults, as the SDK renders
    them; a table of round numbers makes the sum obvious: 10 trials × 360 s × $1/h = $1,
    one processing job 3600 s × $2/h = $2; Spot at 50% off: $0.5 + $2."""
    definition = {
        "Parameters": [
            {"Name": "Trials", "Type": "Integer", "DefaultValue": 10},
            {"Name": "Type", "Type": "String", "DefaultValue": "ml.x.large"},
        ],
        "Steps": [
            {
                "Name": "Prep",
                "Type": "Processing",
                "Arguments": {
                    "ProcessingResources": {
                        "ClusterConfig": {"InstanceType": "ml.y.large", "InstanceCount": 1}
                    }
                },
            },
            {
                "Name": "Tune",
                "Type": "Tuning",
                "Arguments": {
                    "HyperParameterTuningJobConfig": {
                        "ResourceLimits": {"MaxNumberOfTrainingJobs": {"Get": "Parameters.Trials"}}
                    },
                    "TrainingJobDefinition": {
                        "EnableManagedSpotTraining": True,
                        "HyperParameterTuningResourceConfig": {
                            "InstanceType": {"Get": "Parameters.Type"},
                            "InstanceCount": 1,
                        },
                    },
                },
            },
        ],
    }

    def entry(usd: float) -> dict:
        return {"usd": usd, "source": "test", "date": "2026-12-07", "status": "verify"}

    prices = PriceTable(
        as_of=date(2026, 12, 7),
        hours_per_month=730,
        regions={
            "r": {
                "sagemaker_training_instance_hour": {"ml.x.large": entry(1.0)},
                "sagemaker_processing_instance_hour": {"ml.y.large": entry(2.0)},
            }
        },
        run={
            "training_job_seconds": {"value": 360},
            "processing_job_seconds": {"value": 3600},
            "spot_savings": {"value": 0.5},
        },
    )
    run = pipeline_run_cost(definition, "r", prices)
    assert run.on_demand_usd == pytest.approx(3.0)
    assert run.spot_usd == pytest.approx(2.5)
    assert run.uses_spot and run.this_profile_usd == pytest.approx(2.5)
    assert training_definition({"S": {"Resources": {}}}) is None
