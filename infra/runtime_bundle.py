"""Lambda code assets: a runtime folder plus the ``model_code`` contracts its modules import.

A function's runtime (``<unit>/runtime/*.py``) imports small standard-library contracts from
``model_code`` (layout, metric names, which stack manages a resource), so each name has one
spelling across CDK, Lambda, SageMaker jobs and labctl. Lambda runs the asset alone, so the
contracts are staged beside the runtime as a ``model_code`` package. The asset hash is of the
content, so a staged folder is stable across synths.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import model_code

MODEL_CODE = Path(model_code.__file__).resolve().parent


def stage(runtime: Path, contracts: tuple[str, ...], prefix: str) -> Path:
    """A new folder with ``runtime``'s modules and ``model_code/<contract>`` for each one."""
    staged = Path(tempfile.mkdtemp(prefix=prefix))
    for module in runtime.glob("*.py"):
        if module.name != "__init__.py":
            shutil.copy(module, staged / module.name)
    (staged / "model_code").mkdir()
    (staged / "model_code" / "__init__.py").write_text("")
    for name in contracts:
        shutil.copy(MODEL_CODE / name, staged / "model_code" / name)
    return staged
