"""model_code.archive: the one model.tar.gz reader (evaluation job, local endpoint, executor)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from model_code.archive import extract, read_member


def _archive(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_read_member_prefers_the_first_name_asked_for_at_any_depth(tmp_path: Path) -> None:
    """An archive with both files serves the XGBoost booster, as the endpoint asks for it
    first, wherever the training job put it in the archive."""
    path = _archive(tmp_path / "m.tar.gz", {"model.joblib": b"J", "sub/xgboost-model": b"X"})
    assert read_member(path, ("xgboost-model", "model.joblib")) == ("xgboost-model", b"X")
    assert read_member(path, ("model.joblib",)) == ("model.joblib", b"J")
    assert read_member(path, ("nothing",)) is None


def test_extract_refuses_members_outside_the_target(tmp_path: Path) -> None:
    """A crafted archive cannot write outside the folder it is unpacked into."""
    path = _archive(tmp_path / "evil.tar.gz", {"../escaped": b"x"})
    with pytest.raises(tarfile.TarError):
        extract(path, tmp_path / "out")
    assert not (tmp_path / "escaped").exists()


def test_extract_unpacks_everything_into_the_target(tmp_path: Path) -> None:
    path = _archive(tmp_path / "m.tar.gz", {"code/inference.py": b"print()", "model": b"1"})
    out = extract(path, tmp_path / "out")
    assert (out / "code" / "inference.py").read_bytes() == b"print()"
    assert (out / "model").read_bytes() == b"1"
