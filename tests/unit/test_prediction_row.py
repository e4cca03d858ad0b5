"""One prediction row: the run writes it, the pairs scorer reads it, every metric scores it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bench.api.errors import DataError
from bench.api.records import (
    PREDICTED_FIELDS,
    TRUTH_FIELDS,
    Prediction,
    PredictionRow,
    Record,
)
from metrics.base import DATA_TRUTHS, FIELDS, field_value
from metrics.pairs import pairs_to_rows


def test_run_rows_and_pairs_rows_have_one_shape(tmp_path):
    record = Record("u1", "i1", rating=4.0, label=1, reference_explanation="great sound")
    run_row = PredictionRow.of(0, record, Prediction(rating=3.5, explanation="good sound"), "sound")
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"uid": "u1", "iid": "i1", "prediction": "good sound",
                                "reference": "great sound", "rating": 4, "label": 1,
                                "predicted_rating": 3.5, "features": "sound"}) + "\n")  # fmt: skip
    (pairs_row,) = pairs_to_rows(path)
    assert pairs_row == run_row.to_dict()


def test_truth_and_prediction_fields_come_from_the_row_definition():
    assert DATA_TRUTHS == TRUTH_FIELDS == {"rating_true", "label", "reference", "feature_true"}
    method_outputs = {f.name for f in dataclasses.fields(Prediction)} - {"extras"}
    assert PREDICTED_FIELDS == method_outputs
    assert TRUTH_FIELDS | PREDICTED_FIELDS <= FIELDS


def test_a_truth_is_never_read_from_a_methods_extras():
    row = PredictionRow(0, explanation="x", extras={"reference": "leak", "review": "r"}).to_dict()
    assert field_value(row, "reference") is None and field_value(row, "review") == "r"


def test_pairs_file_checks_every_numeric_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prediction": "a", "reference": "b", "ctr_score": "high"}\n')
    with pytest.raises(DataError, match=r"bad\.jsonl:1: ctr_score must be a number"):
        pairs_to_rows(path)
