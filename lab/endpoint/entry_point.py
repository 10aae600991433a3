"""Framework containers' entry point contract, locally: how the scikit-learn baseline loads.

The SageMaker scikit-learn serving container has no default ``model_fn``: it imports the
module ``SAGEMAKER_PROGRAM`` names from ``SAGEMAKER_SUBMIT_DIRECTORY``, calls
``model_fn(model_dir)`` once and, per request, ``input_fn(body, content_type)``,
``predict_fn(data, model)`` and ``output_fn(prediction, accept)`` (sagemaker-scikit-learn-container
``serving.py``, sagemaker-containers ``_transformer``). This module does the same with the
registered package's environment, so a package without an entry point fails here as it would
in the cloud instead of being loaded by a shortcut.
"""

from __future__ import annotations

import importlib.util
import itertools
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

from lab.endpoint.models import ArchiveError, LoadedModel, load_archive
from model_code.archive import extract
from ops.payload import (
    InvocationError,
    format_predictions,
    model_failure,
    parse,
    payload_error,
    response_type,
)

MODEL_DIR = PurePosixPath("/opt/ml/model")  # where SageMaker extracts model.tar.gz
PROGRAM = "SAGEMAKER_PROGRAM"
SUBMIT_DIRECTORY = "SAGEMAKER_SUBMIT_DIRECTORY"
_modules = itertools.count()


@dataclass
class EntryPointModel:
    """A model served through a user module's model_fn/input_fn/predict_fn/output_fn."""

    name: str
    module: ModuleType
    model: Any
    model_dir: tempfile.TemporaryDirectory[str]
    load_seconds: float
    framework: str = "sklearn"
    size_bytes: int = 0
    handlers: tuple[str, ...] = field(default=())

    def handle(
        self, body: bytes, content_type: str | None, accept: str | None
    ) -> tuple[bytes, str]:
        """One invocation through the module; errors shaped as InvokeEndpoint shapes them."""
        module = self.module
        try:
            if hasattr(module, "input_fn"):
                data = module.input_fn(body, content_type or "")
            else:
                data = parse(content_type, body)
        except InvocationError:
            raise
        except Exception as err:  # the container answers a client error for bad input
            raise payload_error(f"{type(err).__name__}: {err}") from err
        try:
            if hasattr(module, "predict_fn"):
                prediction = module.predict_fn(data, self.model)
            else:
                prediction = self.model.predict(data)
        except Exception as err:
            raise model_failure(f"{type(err).__name__}: {err}") from err
        try:
            if hasattr(module, "output_fn"):
                result = module.output_fn(prediction, accept or "*/*")
            else:
                kind = response_type(accept, content_type)
                result = (format_predictions(list(prediction), kind), kind)
        except InvocationError:
            raise
        except Exception as err:
            raise payload_error(f"{type(err).__name__}: {err}", status=406) from err
        # output_fn may return (body, content_type), as the serving toolkit accepts.
        out, out_type = result if isinstance(result, tuple) else (result, accept or "text/csv")
        return (out.encode() if isinstance(out, str) else bytes(out)), out_type

    def close(self) -> None:
        self.model_dir.cleanup()


def _submit_dir(value: str, model_dir: Path) -> Path:
    """The container path under /opt/ml/model, mapped into the extracted archive."""
    if value.startswith("s3://"):
        raise ArchiveError(
            f"{SUBMIT_DIRECTORY}={value}: a network-isolated endpoint cannot download code; "
            f"ship it in model.tar.gz and point at {MODEL_DIR}/code"
        )
    path = PurePosixPath(value)
    try:
        relative = path.relative_to(MODEL_DIR)
    except ValueError:
        raise ArchiveError(
            f"{SUBMIT_DIRECTORY}={value} is not inside {MODEL_DIR} (the extracted model)"
        ) from None
    return model_dir.joinpath(*relative.parts)


def load_entry_point(archive: Path, environment: dict[str, str], name: str) -> EntryPointModel:
    """Extract ``archive`` as SageMaker does, import the entry point, call ``model_fn``."""
    program = environment.get(PROGRAM)
    submit = environment.get(SUBMIT_DIRECTORY)
    if not program or not submit:
        raise ArchiveError(
            f"{name}: the scikit-learn serving container has no default model_fn; the "
            f"registered package needs {PROGRAM} and {SUBMIT_DIRECTORY} in its environment "
            f"(got {sorted(environment) or 'none'})"
        )
    started = time.perf_counter()
    model_dir = tempfile.TemporaryDirectory(prefix=f"model-{name}-")
    root = Path(model_dir.name)
    try:
        extract(archive, root)  # refuses absolute paths and ../ members
        script = _submit_dir(submit, root) / program
        if not script.is_file():
            raise ArchiveError(f"{name}: {PROGRAM}={program} not found in {submit} of {archive}")
        spec = importlib.util.spec_from_file_location(f"_entry_point_{next(_modules)}", script)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if not hasattr(module, "model_fn"):
            raise ArchiveError(f"{name}: {program} defines no model_fn(model_dir)")
        model = module.model_fn(str(root))
    except (OSError, tarfile.TarError) as err:
        model_dir.cleanup()
        raise ArchiveError(f"{archive}: not a readable model.tar.gz ({err})") from err
    except Exception:
        model_dir.cleanup()
        raise
    handlers = tuple(f for f in ("input_fn", "predict_fn", "output_fn") if hasattr(module, f))
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return EntryPointModel(
        name, module, model, model_dir, time.perf_counter() - started, "sklearn", size, handlers
    )


def load_container(
    archive: Path, environment: dict[str, str], name: str
) -> LoadedModel | EntryPointModel:
    """A multi-container endpoint's container: built-in XGBoost loads its ``xgboost-model``;
    a scikit-learn model loads only through its entry point, as the framework container does."""
    if environment.get(PROGRAM):
        return load_entry_point(archive, environment, name)
    loaded = load_archive(archive, name)
    if loaded.framework == "sklearn":
        load_entry_point(archive, environment, name)  # raises: names the missing variables
    return loaded
