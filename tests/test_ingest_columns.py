"""The model rows read a column at a time (``FormReader._lines_by_column``) give exactly what the
row loop gives: the same lines, the same skipped rows, the same problems in the same order."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pytest

from dvk.ingest.cells import to_text
from dvk.ingest.form import MODEL_COLUMNS, FormReader, _Lazy, find_header
from dvk.reference import FieldDirectory, UnitDirectory

HEADER = ["STT", "Tên mô hình", "Lĩnh vực", "Hình thức", "Ngày đăng ký", "Cấp công nhận",
          "Số hộ tham gia", "Kinh phí huy động (triệu đồng)", "Ngày công", "Đất hiến (m2)", "Ghi chú"]
GOOD = [1.0, "Mô hình Tổ dân phố văn minh", "Phát triển kinh tế", "Xây mới", dt.datetime(2023, 5, 4),
        "Cấp xã", 120.0, 35.5, 400.0, 12.0, "Hoàn thành"]


def _read(rows: list[list[object]], *, by_column: bool):
    header_index, mapping = find_header(rows, MODEL_COLUMNS)
    reader = FormReader("f.xlsx", UnitDirectory(), FieldDirectory(), dt.date(2024, 12, 31))
    if not by_column:
        reader._lines_by_column = lambda *args: None  # the row loop, cell by cell
    skipped: list = []
    where = lambda key: key  # noqa: E731
    lines = reader.model_lines("Mô hình", rows, header_index + 1, mapping, where, skipped,
                               header=rows[header_index])
    typed = [[(type(v).__name__, v) for v in dataclasses.astuple(line)] for line in lines]  # 120 is not 120.0
    return typed, skipped, [(p.code, p.sheet, p.row, p.column, p.message_en) for p in reader.log.problems], \
        [(w.code, w.column) for w in reader.warnings]


def _row(**changes: object) -> list[object]:
    row = list(GOOD)
    for index, value in changes.items():
        row[int(index[1:])] = value
    return row


CASES = {
    "all good": [],
    "blanks as calamine gives them": [_row(c4="", c5="", c6="", c7="", c8="", c9="", c10="")],
    "numbers and dates as text": [_row(c6="1.250", c7="12,5", c4="16/12/2021", c0="1a")],
    "a date cell as a date": [_row(c4=dt.date(2022, 1, 2))],
    "a negative and a fraction": [_row(c6=-3.0), _row(c8=2.5)],
    "NaN and infinity": [_row(c7=math.nan), _row(c9=math.inf)],
    "above the plausible bound": [_row(c6=1e9)],
    "an unknown field and kind": [_row(c2="Nông nghiệp"), _row(c3="Khác")],
    "a missing name": [_row(c1="")],
    "a bool and an int": [_row(c6=True), _row(c7=3)],
    "a heading, a total and a blank row": [
        ["", "I. Khu vực 1"] + [""] * 9,
        ["", "Tổng cộng", "", "", "", "", 240.0, 71.0, "", "", ""],
        [""] * 11,
    ],
    "a number in a text column": [_row(c5=2.0, c10=7.0)],
    "an unknown column with data": [],
    # a CSV file: every cell is text (the column path converts it with the column's rule)
    "a CSV row, all text": [_row(c0="4", c4="04/05/2023", c6="120", c7="35,5", c8="1.250", c9="12.5")],
    **{f"CSV text that is a problem: {name}": [_row(**{column: value})] for name, column, value in (
        ("not a number", "c6", "nhiều"), ("negative", "c7", "-2"), ("a fraction of days", "c8", "2,5"),
        ("no such date", "c4", "31/02/2022"), ("above the plausible bound", "c6", "1.000.000.000"))},
    "CSV blanks and dashes": [_row(c4=" ", c6="-", c7="  ", c8="")],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_column_at_a_time_matches_the_row_loop(case):
    extra = case == "an unknown column with data"
    header = HEADER + (["Cột lạ"] if extra else [])
    body = [_row(c0=float(i + 1)) for i in range(3)] + CASES[case] + [_row(c0=9.0)]
    if extra:
        body = [row + ["x"] for row in body]
    rows = [["BÁO CÁO MÔ HÌNH"] + [""] * (len(header) - 1), header] + body
    by_column = _read([list(r) for r in rows], by_column=True)
    by_row = _read([list(r) for r in rows], by_column=False)
    assert by_column == by_row
    assert by_column[0], "the good rows are read"


def test_the_column_path_is_taken_for_a_clean_table_and_left_for_a_problem():
    rows = [HEADER, _row(), _row(c0=2.0)]
    header_index, mapping = find_header(rows, MODEL_COLUMNS)
    reader = FormReader("f.xlsx", UnitDirectory(), FieldDirectory(), dt.date(2024, 12, 31))
    plan = [(key, ci, {c.key: c for c in MODEL_COLUMNS}[key], 1e12) for key, ci in mapping.items()]
    clean = [(r, r + 1, rows[r]) for r in (1, 2)]
    lines = reader._lines_by_column("Mô hình", clean, plan, _Lazy(to_text), {}, {})
    assert [line.source_row for line in lines] == [2, 3] and lines[0].households == 120
    assert lines[0].registered_on == dt.date(2023, 5, 4) and lines[0].field_code == "KT"
    as_text = [(1, 2, [to_text(v) for v in _row()]), (2, 3, [to_text(v) for v in _row(c0=2.0)])]  # a CSV file
    lines_from_text = reader._lines_by_column("Mô hình", as_text, plan, _Lazy(to_text), {}, {})
    assert [(line.households, line.funds_million_vnd, line.registered_on) for line in lines_from_text] == \
        [(120, 35.5, dt.date(2023, 5, 4))] * 2
    bad = [(1, 2, _row(c6="nhiều"))]
    assert reader._lines_by_column("Mô hình", bad, plan, _Lazy(to_text), {}, {}) is None
    assert not reader.log.problems  # the column path reports nothing: the row loop does
