"""Which endpoints may carry a shadow variant (standard library only: ``core.config`` calls it).

SageMaker developer guide, "Shadow tests: exclusions"
(https://docs.aws.amazon.com/sagemaker/latest/dg/shadow-tests-exclusions.html): an endpoint
that uses serverless inference, asynchronous inference, Marketplace containers, multiple
containers, multiple models, Inf1 instances or Elastic Inference cannot run shadow variants
("your request to setup shadow tests will lead to validation errors"). "Create a shadow test":
at most one shadow variant per endpoint, and then at most one production variant.
"""

from __future__ import annotations

SHADOW_VARIANT = "Shadow"  # the shadow production variant's name (capture folder, metrics)
# Serving kinds the exclusions leave: one model on instances.
SHADOW_KINDS = ("real_time",)


def shadow_problem(kind: str, instance_type: str, data_capture: bool) -> str | None:
    """Why ``serving.shadow.enabled`` cannot apply to this serving config, or None."""
    if kind not in SHADOW_KINDS:
        return (
            f"serving.shadow: {kind} endpoints cannot have a shadow variant (SageMaker shadow "
            "tests exclude serverless, asynchronous, multi-container and multi-model "
            "endpoints): set serving.kind='real_time' or serving.shadow.enabled=false"
        )
    if instance_type.startswith("ml.inf1."):
        return (
            f"serving.shadow: {instance_type} (Inf1) endpoints cannot have a shadow variant "
            "(shadow tests exclusions): choose another serving.instance_type or "
            "serving.shadow.enabled=false"
        )
    if not data_capture:
        return (
            "serving.shadow needs serving.data_capture=true: `labctl shadow report` compares "
            "the two variants' captured answers"
        )
    return None
