"""Pipeline settings derived from a profile: one source for the deployed and the local run.

No CDK import here, so labctl can render the same definition the stack deploys.
"""

from __future__ import annotations

from core.config import PlatformConfig
from pipelines import training_pipeline as tp


def pipeline_settings(
    config: PlatformConfig, *, use_vpc: bool = False, subnets: int = 0
) -> tp.PipelineSettings:
    t = config.training
    return tp.PipelineSettings(
        region=config.region,
        pipeline_name=config.pipeline_name,
        xgboost_group=config.model_package_group,
        baseline_group=config.baseline_package_group,
        processing_instance_type=t.processing_instance_type,
        training_instance_type=t.training_instance_type,
        max_jobs=t.max_tuning_jobs,
        max_parallel_jobs=t.max_parallel_tuning_jobs,
        strategy=t.tuning_strategy,
        early_stopping="Auto" if t.early_stopping else "Off",
        accuracy_threshold=t.accuracy_threshold,
        approval_status=t.approval_status,
        data_quality=config.data_quality.gate(),
        bias_facet_values=config.bias.facet_values,
        max_abs_ci=config.bias.max_abs_ci,
        max_abs_dpl=config.bias.max_abs_dpl,
        spot=t.spot,
        max_runtime_seconds=t.max_runtime_seconds,
        max_wait_seconds=t.max_wait_seconds,
        use_vpc=use_vpc,
        subnets=tuple(f"__SUBNET_{i + 1}__" for i in range(subnets)) if use_vpc else tp.SUBNETS,
    )
