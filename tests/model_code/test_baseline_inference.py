"""The baseline's serving functions imported as a module (the container imports the file; the
entry-point tests in test_train_evaluate.py and test_serve_entry_point.py load it that way).

Oracles: rows and bodies written out by hand, and the content types the module's docstring
promises (CSV rows of 64 numbers, JSON ``instances`` / ``features``; CSV out for ``*/*``).
"""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pytest

from model_code import baseline_inference as bi

ROW = ",".join(str(i) for i in range(64))


def test_csv_rows_become_a_float_matrix_and_blank_lines_are_skipped() -> None:
    body = f"{ROW}\n\n{ROW.replace('0,', '9,', 1)}\n".encode()
    data = bi.input_fn(body, "text/csv; charset=utf-8")
    assert data.shape == (2, 64) and data.dtype == np.float64
    assert data[0, 0] == 0.0 and data[1, 0] == 9.0 and data[0, 63] == 63.0


def test_json_instances_features_and_feature_dicts_are_accepted() -> None:
    row = list(range(64))
    assert bi.input_fn(json.dumps({"instances": [row, row]}), "application/json").shape == (2, 64)
    assert bi.input_fn(json.dumps({"features": row}), "Application/JSON").shape == (1, 64)
    dicts = {"instances": [{"features": row}]}
    assert bi.input_fn(json.dumps(dicts), "application/json")[0, 5] == 5.0


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (ROW.rsplit(",", 1)[0], "text/csv", "rows of 64 numbers"),  # 63 columns
        ("", "text/csv", "rows of 64 numbers"),  # no row at all
        (json.dumps({"rows": [[0] * 64]}), "application/json", "instances"),
        (ROW, "application/x-npy", "unsupported content type"),
        (ROW, "", "unsupported content type"),
    ],
)
def test_anything_else_is_a_client_error_naming_what_is_expected(
    body: str, content_type: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        bi.input_fn(body, content_type)


@pytest.mark.parametrize(
    ("accept", "body", "media"),
    [
        ("application/json", '{"predictions": [6, 0]}', "application/json"),
        ("text/csv", "6\n0\n", "text/csv"),
        ("*/*", "6\n0\n", "text/csv"),
        ("", "6\n0\n", "text/csv"),
    ],
)
def test_predictions_are_class_ids_in_the_accepted_type(accept: str, body: str, media: str) -> None:
    assert bi.output_fn(np.array([6.0, 0.0]), accept) == (body, media)


def test_an_unsupported_accept_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported Accept"):
        bi.output_fn(np.array([1]), "application/x-protobuf")


class Majority:
    """A stand-in model: predicts 3 for every row (module-level, so joblib can pickle it)."""

    def predict(self, rows: np.ndarray) -> list[int]:
        return [3] * len(rows)


def test_model_fn_loads_the_saved_file_and_predict_fn_returns_an_array(tmp_path: Path) -> None:
    joblib.dump(Majority(), tmp_path / "model.joblib")
    model = bi.model_fn(str(tmp_path))
    out = bi.predict_fn(np.zeros((2, 64)), model)
    assert isinstance(out, np.ndarray) and out.tolist() == [3, 3]
