"""Model archives (``model.tar.gz``, as SageMaker training writes them): the one reader.

The evaluation job (model_code/evaluate.py, in the container), the local endpoint
(labctl/local_endpoint) and the local executor read archives through these two functions.
Standard library only, and for the containers' Python (3.9/3.10): no 3.11-only syntax.
"""

from __future__ import annotations

import tarfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath


def read_member(path: Path, names: Sequence[str]) -> tuple[str, bytes] | None:
    """(name, bytes) of the first of ``names`` the archive holds as a file (matched by file
    name at any depth), read in memory: nothing is extracted, so no path can escape. None when
    it holds none of them; OSError / tarfile.TarError for a file that is not a tar.gz."""
    with tarfile.open(path, "r:gz") as archive:
        files = [info for info in archive.getmembers() if info.isfile()]
        for name in names:
            for info in files:
                if PurePosixPath(info.name).name == name:
                    handle = archive.extractfile(info)
                    assert handle is not None  # isfile() checked
                    return name, handle.read()
    return None


def extract(path: Path, target: Path) -> Path:
    """Unpack the archive into ``target`` (created) and return it, as SageMaker unpacks a
    model into /opt/ml/model. Where tarfile has the "data" filter (3.12, patched 3.8-3.11) it
    refuses absolute paths, ``../`` members and links out of ``target``."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(target, filter="data")
        else:  # an older container Python: our own training job's archive
            tar.extractall(target)  # noqa: S202
    return target
