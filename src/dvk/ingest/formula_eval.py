"""The value of a formula cell that was never computed, for the simple formulas forms hold.

A workbook written by a program that does not compute formulas (openpyxl, some exports) stores a
formula with no cached value; python-calamine reads such a cell as blank
(:mod:`dvk.ingest.formulas` finds them). The formulas a clerk's form holds are nearly always sums
and small sums of cells: ``=SUM(B2:B5)``, ``=B2+B3``, ``=C4-D4``, ``=A2+1``. Those are computed
here, from the sheet's own cells, as Excel would; anything else (another sheet, a function other
than SUM, text in arithmetic, a cycle) raises :class:`Unsupported`, and the cell stays a problem
the clerk is asked to fix ("open it in Excel, save it and send it again").

Grammar (no ``eval``: a small recursive-descent parser)::

    expr   := term (("+" | "-") term)*
    term   := factor (("*" | "/") factor)*
    factor := ("+" | "-") factor | number | ref | "SUM(" args ")" | "(" expr ")"
    args   := (range | expr) ("," (range | expr))*
    ref    := "$"? letters "$"? digits          range := ref ":" ref

A referenced blank cell counts 0; SUM skips text and blanks, as Excel does; ``+ - * /`` on text
is unsupported (Excel gives ``#VALUE!``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence

#: A range may cover at most this many cells (a whole-column SUM of a 200,000-row sheet is not a
#: form's formula).
MAX_RANGE_CELLS = 100_000
#: How deep a chain of computed cells may go (a cell's formula reading another computed cell ...).
MAX_DEPTH = 50
#: Excel's own limits: a formula's length, and how deeply it may nest.
MAX_FORMULA_CHARS = 8192
MAX_NESTING = 64
#: Cells one sheet's formulas may read in all (their ranges included): a hostile file's thousand
#: formulas each summing a huge range must not cost minutes.
MAX_CELL_READS = 1_000_000

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
                    r"|(?P<ref>\$?[A-Za-z]{1,3}\$?\d{1,7})|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
                    r"|(?P<op>[-+*/(),:]))")


class Unsupported(ValueError):
    """The formula is not one this module computes (or cannot be computed: a cycle, ÷ 0)."""


def cell_index(ref: str) -> tuple[int, int]:
    """ "B12" / "$B$12" → (11, 1): the 0-based row and column."""
    ref = ref.replace("$", "").upper()
    letters = ref.rstrip("0123456789")
    column = 0
    for ch in letters:
        column = column * 26 + (ord(ch) - 64)
    row = int(ref[len(letters):])
    if row < 1 or column > 16384:
        raise Unsupported(f"no cell {ref}")
    return row - 1, column - 1


_REST_IS_BLANK = re.compile(r"\s*\Z")


def _tokens(formula: str) -> list[tuple[str, str]]:
    if len(formula) > MAX_FORMULA_CHARS:
        raise Unsupported("formula too long")
    text = formula.strip()
    if text.startswith("="):
        text = text[1:]
    out, pos = [], 0
    while pos < len(text):
        if _REST_IS_BLANK.match(text, pos):
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise Unsupported(f"cannot read {text[pos:pos + 20]!r}")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def evaluate(formula: str, value_of: Callable[[int, int], object],
             cells_of: Callable[[int, int, int, int], list[object]] | None = None) -> float:
    """The formula's value; ``value_of(row, column)`` (0-based) gives a cell's value and
    ``cells_of(r0, c0, r1, c1)`` a range's (default: ``value_of`` over the range)."""
    tokens = _tokens(formula)
    pos = 0
    depth = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take(kind: str | None = None, text: str | None = None) -> tuple[str, str]:
        nonlocal pos
        token = peek()
        if token is None or (kind and token[0] != kind) or (text and token[1] != text):
            raise Unsupported(f"unexpected {token[1] if token else 'end'!r} in {formula!r}")
        pos += 1
        return token

    def number(value: object) -> float:
        if value is None or value == "":
            return 0.0
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Unsupported(f"arithmetic on {value!r}")
        return float(value)

    def cells(first: str, last: str) -> list[object]:
        (r0, c0), (r1, c1) = cell_index(first), cell_index(last)
        r0, r1, c0, c1 = min(r0, r1), max(r0, r1), min(c0, c1), max(c0, c1)
        if (r1 - r0 + 1) * (c1 - c0 + 1) > MAX_RANGE_CELLS:
            raise Unsupported("range too large")
        if cells_of is not None:
            return cells_of(r0, c0, r1, c1)
        return [value_of(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]

    def factor() -> float:
        nonlocal depth
        depth += 1
        try:
            if depth > MAX_NESTING:
                raise Unsupported("nested too deeply")
            return _factor()
        finally:
            depth -= 1

    def _factor() -> float:
        token = peek()
        if token is None:
            raise Unsupported(f"{formula!r} ends too early")
        kind, text = token
        if kind == "op" and text in "+-":
            take()
            value = factor()
            return -value if text == "-" else value
        if kind == "num":
            take()
            return float(text)
        if kind == "ref":
            take()
            if peek() == ("op", ":"):
                raise Unsupported("a range outside SUM")
            return number(value_of(*cell_index(text)))
        if kind == "name" and text.upper() == "SUM":
            take()
            take("op", "(")
            total = 0.0
            while True:
                token = peek()
                if token and token[0] == "ref" and pos + 1 < len(tokens) and tokens[pos + 1] == ("op", ":"):
                    first = take()[1]
                    take("op", ":")
                    last = take("ref")[1]
                    total += sum(float(v) for v in cells(first, last)
                                 if isinstance(v, (int, float)) and not isinstance(v, bool))
                else:
                    total += expr()
                if peek() == ("op", ","):
                    take()
                    continue
                take("op", ")")
                return total
        if kind == "op" and text == "(":
            take()
            value = expr()
            take("op", ")")
            return value
        raise Unsupported(f"{text!r} in {formula!r}")

    def term() -> float:
        value = factor()
        while peek() in (("op", "*"), ("op", "/")):
            op = take()[1]
            right = factor()
            if op == "/" and right == 0:
                raise Unsupported("division by zero")
            value = value * right if op == "*" else value / right
        return value

    def expr() -> float:
        value = term()
        while peek() in (("op", "+"), ("op", "-")):
            op = take()[1]
            right = term()
            value = value + right if op == "+" else value - right
        return value

    value = expr()
    if pos != len(tokens):
        raise Unsupported(f"unexpected {tokens[pos][1]!r} in {formula!r}")
    if not math.isfinite(value):
        raise Unsupported("not a finite number")
    return float(f"{value:.15g}")  # Excel keeps 15 significant digits: 450.5 + 182 + 101.4 + 5 is 738.9


def fill_computed(rows: list[list[object]], formulas: Sequence[tuple[int, int, str]],
                  blocked: Iterable[tuple[int, int]] = ()) -> set[tuple[int, int]]:
    """Write into ``rows`` the value of each ``(row, column, formula)`` (0-based; the cells
    calamine read as blank) that :func:`evaluate` can compute, a formula reading another of them
    included; return the cells computed. The others are left blank (still problems), and so is a
    formula reading a ``blocked`` cell (an error value, or a formula whose text the file does not
    give: Excel would not read it as 0). Never raises: anything a hostile formula provokes
    (nesting, a chain too long, a budget spent) leaves its cell uncomputed."""
    pending = {(r, c): f for r, c, f in formulas}
    blocked = set(blocked)
    done: dict[tuple[int, int], float] = {}
    failed: set[tuple[int, int]] = set()
    height = max([len(rows), *(r + 1 for r, _ in pending)], default=0)
    width = max([*(len(row) for row in rows), *(c + 1 for _, c in pending)], default=0)
    reads = 0

    def spend(n: int) -> None:
        nonlocal reads
        reads += n
        if reads > MAX_CELL_READS:
            raise Unsupported("too many cells read")

    def value_of(r: int, c: int, depth: int = 0) -> object:
        spend(1)
        if (r, c) in done:
            return done[(r, c)]
        if (r, c) in blocked:
            raise Unsupported("reads an error or an unknown value")
        if (r, c) in pending:
            if (r, c) in failed or depth > MAX_DEPTH:
                raise Unsupported("a cycle, or a chain too long")
            failed.add((r, c))  # until computed: a cycle comes back here
            value = evaluate(pending[(r, c)], lambda rr, cc: value_of(rr, cc, depth + 1),
                             lambda r0, c0, r1, c1: cells_of(r0, c0, r1, c1, depth + 1))
            failed.discard((r, c))
            done[(r, c)] = value
            return value
        if r < len(rows) and c < len(rows[r]):
            return rows[r][c]
        return None

    def cells_of(r0: int, c0: int, r1: int, c1: int, depth: int) -> list[object]:
        r1, c1 = min(r1, height - 1), min(c1, width - 1)  # beyond the sheet: blanks, which SUM skips
        spend(max(0, r1 - r0 + 1) * max(0, c1 - c0 + 1))
        return [value_of(r, c, depth) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]

    for cell in pending:
        try:
            value_of(*cell)
        except (Unsupported, RecursionError, ArithmeticError, ValueError, IndexError):
            failed.add(cell)
    for (r, c), value in done.items():
        while len(rows) <= r:
            rows.append([])
        row = rows[r]
        while len(row) <= c:
            row.append("")
        row[c] = value
    return set(done)
