"""A local stand-in for a SageMaker endpoint: the hosting contract on loopback.

Kinds real_time, serverless, multi_model (``TargetModel``) and multi_container
(``TargetContainerHostname``), SageMaker-shaped errors and data capture. See ``server.py``.
"""

from lab.endpoint.capture import CaptureWriter, capture_record
from lab.endpoint.models import LoadedModel, ModelCache, load_archive
from lab.endpoint.server import (
    KINDS,
    EndpointSettings,
    EndpointSetupError,
    LocalEndpoint,
)
from ops.payload import InvocationError, parse_predictions

__all__ = [
    "KINDS",
    "CaptureWriter",
    "EndpointSettings",
    "EndpointSetupError",
    "InvocationError",
    "LoadedModel",
    "LocalEndpoint",
    "ModelCache",
    "capture_record",
    "load_archive",
    "parse_predictions",
]
