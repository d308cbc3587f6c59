"""The one CSV writer: no cell a spreadsheet would run as a formula, and an inverse that gives back
exactly what was written, so exports import back unchanged."""

import csv
import io

import pytest

from apps.core.csvfiles import cell, cell_text, csv_text

FORMULAS = ["=1+1", "+1", "-2", "@SUM(A1)", "\t=1", "\r=1", "＝1+1", "＋1", "－2", "＠SUM(A1)", "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_cells_are_quoted(text):
    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", [*FORMULAS, "'=1", "''+1", "'plain", "plain", "", "a=b", "-"])
def test_cell_text_undoes_cell(text):
    assert cell_text(cell(text)) == text


def test_numbers_stay_numbers_and_objects_become_json():
    assert [cell(-5), cell(2.5), cell(None), cell(True), cell({"b": 1, "a": "=x"})] == [
        "-5",
        "2.5",
        "",
        "true",
        '{"a": "=x", "b": 1}',
    ]


def test_rows_by_name_or_in_order():
    text = csv_text(["name", "n"], [{"name": "=evil", "n": 3}, ["@x", 4]])
    assert list(csv.reader(io.StringIO(text))) == [["name", "n"], ["'=evil", "3"], ["'@x", "4"]]
