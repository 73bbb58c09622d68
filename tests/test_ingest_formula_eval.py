"""Formulas never computed by the program that wrote the workbook (dvk.ingest.formula_eval): the
simple ones are computed as Excel would, the others stay problems (the corpus: 09b and 54)."""

from __future__ import annotations

import pytest

from dvk.ingest.formula_eval import Unsupported, cell_index, evaluate, fill_computed

ROWS = [
    ["Lĩnh vực", "Tổng số", "Kinh phí"],
    ["KT", 2, 450.5],
    ["VHXH", 3, 182],
    ["QPAN", "", 101.4],
    ["XDD", "ghi chú", 5],
]


def _value(r, c):
    return ROWS[r][c] if r < len(ROWS) and c < len(ROWS[r]) else None


@pytest.mark.parametrize(("formula", "value"), [
    ("=SUM(C2:C5)", 738.9),  # 15 significant digits, as Excel keeps them
    ("=SUM(B2:B5)", 5.0),  # text and blanks skipped
    ("=B2+B3", 5.0),
    ("=$B$2*2-B3", 1.0),
    ("=-B2+10/4", 0.5),
    ("=SUM(B2:B3, 1, C2)", 456.5),
    ("=(B2+B3)*2", 10.0),
    ("=B4+1", 1.0),  # a blank cell counts 0
    ("=1.5e2", 150.0),
    ("sum(b2:b3)", 5.0),
])
def test_simple_formulas_are_computed(formula, value):
    assert evaluate(formula, _value) == value


@pytest.mark.parametrize("formula", [
    "=ROUND(1.5,0)", "=B5+1", "='Mô hình'!H3", "=B2:B3", "=1/0", "=B2+", "=SUM(B2:B3", "=A1:XFD1048576",
    "=SUM(A1:XFD1048576)", "=B2 B3",
])
def test_other_formulas_are_not_guessed(formula):
    with pytest.raises(Unsupported):
        evaluate(formula, _value)


def test_cell_index():
    assert cell_index("B12") == (11, 1) and cell_index("$AA$3") == (2, 26)


def test_fill_computed_follows_chains_and_leaves_cycles_and_the_rest_blank():
    rows = [["a", 1], ["b", ""], ["c", ""], ["d", ""], ["e", ""], ["f", ""]]
    done = fill_computed(rows, [
        (1, 1, "=B1+1"),        # 2
        (2, 1, "=B2*10"),       # reads the computed B2: 20
        (3, 1, "=B5+1"),        # a cycle with B5
        (4, 1, "=B4+1"),
        (5, 1, "=ROUND(B1,0)"),  # not computed
        (7, 2, "=SUM(B1:B3)"),  # beyond the rows read: they grow
    ])
    assert done == {(1, 1), (2, 1), (7, 2)}
    assert [r[1] for r in rows[:6]] == [1, 2.0, 20.0, "", "", ""]
    assert rows[7][2] == 23.0


def test_a_formula_reading_an_error_or_an_unknown_value_is_not_computed():
    # Excel would give an error, not 0: the cells stay problems (the parser names them)
    rows = [[1, "", "", "", ""]]
    done = fill_computed(rows, [(0, 2, "=A1+B1"), (0, 3, "=SUM(A1:B1)"), (0, 4, "=A1*2")], blocked=[(0, 1)])
    assert done == {(0, 4)} and rows[0] == [1, "", "", "", 2.0]


@pytest.mark.parametrize("formula", [
    "=" + "(" * 400 + "1" + ")" * 400,  # nesting beyond Excel's 64 levels
    "=" + "-" * 3000 + "1",
    "=A0+1",  # no row 0
    "=1+" * 3000 + "1",  # over Excel's 8,192 characters
])
def test_hostile_formulas_are_refused_quickly(formula):
    with pytest.raises(Unsupported):
        evaluate(formula, _value)


def test_hostile_sheets_cost_a_bounded_number_of_reads():
    # a thousand formulas each summing a 100,000-cell range of an empty sheet, and a long chain:
    # all contained (fill_computed never raises), the chain computed as far as its depth allows
    ranges = [(0, c, "=SUM(A2:CV1001)") for c in range(1000)]
    chain = [(r, 0, f"=A{r}+1") for r in range(1, 300)]  # A2 = A1 + 1, ...
    rows = [[0]]
    done = fill_computed(rows, [*ranges, *chain])
    assert len(done) < 1300  # the budget ran out before every range was summed
    assert all(isinstance(v, (int, float, str)) for row in rows for v in row)
