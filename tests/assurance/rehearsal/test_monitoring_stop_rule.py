"""The rehearsal's ``monitoring-stop-condition`` rule on hand-written templates (no synth).

Oracle: the API Reference's MonitoringStoppingCondition, written out literally: "For data
quality and model explainability, this can be up to 3600 seconds for an hourly schedule. For
model bias and model quality hourly schedules, this can be up to 1800 seconds."
"""

from __future__ import annotations

from typing import Any

import pytest

from assurance.rehearsal.assembly import Assembly
from assurance.rehearsal.rules import monitoring_stop_condition

HOURLY, SIX_HOURLY = "cron(0 * ? * * *)", "cron(0 0/6 ? * * *)"


def _assembly(kind: str, seconds: int, expression: str) -> Assembly:
    resources: dict[str, Any] = {
        "Definition": {
            "Type": f"AWS::SageMaker::{kind}JobDefinition",
            "Properties": {"StoppingCondition": {"MaxRuntimeInSeconds": seconds}},
        },
        "Schedule": {
            "Type": "AWS::SageMaker::MonitoringSchedule",
            "Properties": {
                "MonitoringScheduleName": "digits-schedule",
                "MonitoringScheduleConfig": {
                    # as model_monitor.py names it: the last part of the definition's ARN
                    "MonitoringJobDefinitionName": {
                        "Fn::Select": [
                            1,
                            {
                                "Fn::Split": [
                                    "/",
                                    {"Fn::GetAtt": ["Definition", "JobDefinitionArn"]},
                                ]
                            },
                        ]
                    },
                    "ScheduleConfig": {"ScheduleExpression": expression},
                },
            },
        },
    }
    return Assembly({"s": {"Resources": resources}}, "111111111111", "us-east-1")


@pytest.mark.parametrize(
    ("kind", "seconds", "expression", "refused"),
    [
        ("ModelQuality", 3600, HOURLY, True),  # the defect the third review found
        ("ModelQuality", 1800, HOURLY, False),
        ("ModelBias", 1801, HOURLY, True),
        ("DataQuality", 3600, HOURLY, False),
        ("DataQuality", 3601, HOURLY, True),
        ("ModelExplainability", 3600, HOURLY, False),
        ("ModelQuality", 3600, SIX_HOURLY, False),
    ],
)
def test_a_run_must_stop_within_its_schedules_period(
    kind: str, seconds: int, expression: str, refused: bool
) -> None:
    found = list(monitoring_stop_condition(_assembly(kind, seconds, expression)))
    assert bool(found) == refused, found
    if refused:
        ((subject, message),) = found
        assert subject == "s/Definition" and str(seconds) in message
