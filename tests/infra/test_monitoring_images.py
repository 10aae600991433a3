"""The job images read from the SDK's image_uri_config files without importing the SDK,
against the SDK's own ``image_uris.retrieve`` as the oracle, in every region it publishes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.config import ConfigError
from infra.monitoring import images


@pytest.fixture(scope="module")
def retrieve():
    """The SDK's ``image_uris.retrieve``, with its botocore endpoint resolver built once for
    the module instead of once per call (it parses endpoints.json each time: 60 ms a call)."""
    import functools

    from pipelines.training_pipeline import _offline_environment

    with _offline_environment("us-east-1"):
        import sagemaker.utils
        from sagemaker import image_uris

        resolver = sagemaker.utils._botocore_resolver
        sagemaker.utils._botocore_resolver = functools.cache(resolver)
        try:
            yield image_uris.retrieve
        finally:
            sagemaker.utils._botocore_resolver = resolver


def _regions(framework: str, *path: str) -> list[str]:
    config = images._image_config(framework)
    for key in path:
        config = config[key]
    return sorted(config["registries"])


@pytest.mark.parametrize("region", _regions("sklearn", "training", "versions", "1.2-1"))
def test_sklearn_image_is_the_sdks(retrieve, region: str) -> None:
    expected = retrieve(
        "sklearn",
        region,
        version=images.SKLEARN_VERSION,
        py_version="py3",
        instance_type="ml.m5.large",
    )
    assert images.sklearn_processing_image(region) == expected


@pytest.mark.parametrize("region", _regions("model-monitor", "versions", ""))
def test_model_monitor_image_is_the_sdks(retrieve, region: str) -> None:
    assert images.model_monitor_image(region) == retrieve("model-monitor", region)


@pytest.mark.parametrize("region", _regions("clarify", "processing", "versions", "1.0"))
def test_clarify_image_is_the_sdks(retrieve, region: str) -> None:
    assert images.clarify_image(region) == retrieve("clarify", region)


def test_unknown_region_is_a_config_error(retrieve) -> None:
    with pytest.raises(ValueError):  # the oracle refuses it too
        retrieve("model-monitor", "xx-nowhere-1")
    with pytest.raises(ConfigError, match="no model-monitor image for region xx-nowhere-1"):
        images.model_monitor_image("xx-nowhere-1")


def test_lookup_does_not_import_the_sdk() -> None:
    """The point of reading the JSON: a synth does not pay the SDK's import (about 2.5 s) nor
    botocore's loaders (about 0.15 s)."""
    code = (
        "import sys, json; from infra.monitoring import images; "
        "uris = [images.sklearn_processing_image('eu-west-1'), "
        "images.model_monitor_image('eu-west-1'), images.clarify_image('eu-west-1')]; "
        "print(json.dumps([uris, [m for m in ('sagemaker', 'botocore') if m in sys.modules]]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    uris, imported = json.loads(out.strip().splitlines()[-1])
    assert len(uris) == 3
    assert imported == []
