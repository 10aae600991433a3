"""Build the model code artifacts the pipeline reads: the model_code package and the
script-mode ``sourcedir.tar.gz``. Deterministic (sorted entries, zero mtimes), so the CDK
asset hash changes only when the code does.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

MODEL_CODE = Path(__file__).resolve().parents[2] / "model_code"


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def build_sourcedir(out_dir: Path) -> Path:
    """Write ``out_dir/sourcedir.tar.gz`` (model_code's modules at the archive root)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in _files(MODEL_CODE):
            data = path.read_bytes()
            info = tarfile.TarInfo(str(path.relative_to(MODEL_CODE)))
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    target = out_dir / "sourcedir.tar.gz"
    with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(buffer.getvalue())
    return target
