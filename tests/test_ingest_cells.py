"""dvk.ingest.cells: numbers and dates as clerks type them."""

from __future__ import annotations

import datetime as dt

import pytest

from dvk.ingest.cells import CellError, is_blank, to_amount, to_count, to_date, to_line_number, to_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (126.0, 126), (126, 126), ("126", 126), ("1.250", 1250), ("1.250.000", 1250000), ("1 250", 1250),
        ("1,250", 1250), ("1,250,000", 1250000), (None, None), ("", None), ("  ", None), ("-", None),
    ],
)
def test_counts(value, expected):
    assert to_count(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (450.5, 450.5), ("12,5", 12.5), ("12.5", 12.5), ("1.250", 1250.0), ("1.250,5", 1250.5),
        ("1,250.5", 1250.5), ("0,5", 0.5), ("0.250", 0.25), ("1,25", 1.25), ("1,250", 1.25), (0, 0.0),
    ],
)
def test_amounts(value, expected):
    assert to_amount(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["-3", -3, "-1.250"])
def test_negative_counts_are_errors(value):
    with pytest.raises(CellError) as info:
        to_count(value)
    assert "số âm" in info.value.message_vi


@pytest.mark.parametrize("value", ["abc", "12 hộ", "1.2.3,4,5", True])
def test_non_numbers_are_errors(value):
    with pytest.raises(CellError) as info:
        to_amount(value)
    assert "không phải là số" in info.value.message_vi


def test_fractional_count_is_an_error():
    with pytest.raises(CellError):
        to_count("12,5")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.datetime(2021, 12, 16), dt.date(2021, 12, 16)),
        (dt.date(2021, 12, 16), dt.date(2021, 12, 16)),
        (44546, dt.date(2021, 12, 16)),  # Excel serial
        (44546.0, dt.date(2021, 12, 16)),
        ("44546", dt.date(2021, 12, 16)),
        ("16/12/2021", dt.date(2021, 12, 16)),
        ("5/3/2020", dt.date(2020, 3, 5)),
        ("16-12-2021", dt.date(2021, 12, 16)),
        ("16.12.21", dt.date(2021, 12, 16)),
        ("2021-12-16", dt.date(2021, 12, 16)),
        ("16/12/2021 00:00:00", dt.date(2021, 12, 16)),
        (None, None),
    ],
)
def test_dates(value, expected):
    assert to_date(value) == expected


@pytest.mark.parametrize("value", ["31/02/2021", "hôm qua", "12/2021", -5])
def test_bad_dates(value):
    with pytest.raises(CellError) as info:
        to_date(value)
    assert "ngày/tháng/năm" in info.value.message_vi


def test_text_and_line_numbers():
    assert to_text(18076.0) == "18076"
    assert to_text(dt.date(2021, 12, 16)) == "16/12/2021"
    assert to_text("  Ghi   chú ") == "Ghi chú"
    assert to_text("") is None
    assert to_line_number(3.0) == 3 and to_line_number("I") is None and to_line_number("1a") is None
    assert is_blank("—") and not is_blank(0)


# -- the row loop converts common cells inline: it must agree with the converters, which are the rule

_AWKWARD = [
    None, "", "  ", "-", 0.0, -0.0, 1.0, 2.5, -1.0, -2.5, 1e12, 1e12 + 1, 2.0**31, 2.0**31 - 1, -(2.0**31),
    1.0000000001, float("nan"), float("inf"), -float("inf"), 1e308, 1e6, 1e6 + 1, 1e8 + 0.5, 7, -7, True, False, "12", "1.250", "12,5", "x",
    " Văn  hóa ", "Đường", dt.date(2021, 3, 4), dt.datetime(2021, 3, 4, 10, 30), 44000.0, "16/12/2021",
]


@pytest.mark.parametrize("value", _AWKWARD, ids=repr)
def test_row_loop_agrees_with_the_converters(value):
    """Every model column gets ``value``: FormReader.model_lines gives what the column's converter
    gives (or reports the problem the converter raises), for each column type."""
    from dvk.ingest.form import _CONVERTERS, MODEL_COLUMNS, FormReader
    from dvk.reference import FieldDirectory, UnitDirectory

    typed = [c for c in MODEL_COLUMNS if c.key not in ("model_name", "field_raw", "model_kind_raw")]
    header = [c.header for c in MODEL_COLUMNS]
    mapping = {c.key: i for i, c in enumerate(MODEL_COLUMNS)}
    row = ["Mô hình A", "Văn hóa - xã hội", "Xây mới"]
    row = [value if c.key not in ("model_name", "field_raw", "model_kind_raw") else row.pop(0) for c in MODEL_COLUMNS]
    reader = FormReader("f.xlsx", UnitDirectory(), FieldDirectory(), dt.date(2024, 12, 31))
    lines = reader.model_lines("Mô hình", [header, row], 1, mapping, lambda key: key, [])
    problems = {p.column for p in reader.log.problems}
    assert len(lines) == 1
    for column in typed:
        if value is None or value == "":
            expected, failed = None, False
        else:
            try:
                expected, failed = _CONVERTERS[column.type](value), False
            except CellError:
                expected, failed = None, True
            if column.bound is not None and expected is not None and expected > column.bound:
                expected, failed = None, True  # above the measure's plausible bound (dvk.ingest.bounds)
        got = getattr(lines[0], column.key)
        assert (column.key in problems) == failed, column.key
        assert type(got) is type(expected) and (got == expected or got != got and expected != expected), column.key
