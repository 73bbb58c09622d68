"""What both forms share (spec §3, §4): the columns, the parsed submission, and reading model rows.

A parser (``xlsx_form``, ``csv_form``) turns a file's rows into a :class:`ParsedSubmission`, or
raises :class:`~dvk.ingest.problems.SubmissionError` with every problem of the file. The rows are
plain lists of cell values (what python-calamine or ``csv`` give); row numbers in problems and in
``source_row`` are the 1-based rows a clerk sees.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dvk.ingest.cells import (
    _NOTHING,
    CellError,
    is_blank,
    to_amount,
    to_count,
    to_date,
    to_line_number,
    to_number,
    to_text,
)
from dvk.ingest.bounds import MODEL_BOUNDS, TOTAL_BOUNDS, UNITS_VI
from dvk.ingest.ooxml import column_letter
from dvk.ingest.problems import Problem, ProblemLog
from dvk.periods import Period, PeriodError, parse_period
from dvk.reference import FieldDirectory, LookupProblem, UnitDirectory, require_kind, resolve_kind
from dvk.text import clean, fold

Row = Sequence[object]


@dataclass(frozen=True)
class Column:
    """One column of a table, found by its header text (fold keys)."""

    key: str  # attribute of ModelLine / DeclaredTotal
    header: str  # as the form writes it (for messages)
    aliases: tuple[str, ...]  # fold keys accepted: exact, or as the start of a longer header
    type: str = "text"  # text | count | amount | date | line_no
    required: bool = False
    csv_name: str | None = None
    #: The largest plausible value of a measure (:mod:`dvk.ingest.bounds`); None: not a measure.
    bound: float | None = None

    def matches(self, key: str) -> int:
        """How well a header's fold key names this column: 0 no, else the alias length (longer wins)."""
        return alias_score(key, self.aliases)


#: Aliases too short to be the start of a longer header or label: they must be the whole text.
EXACT_ONLY = frozenset({"tt", "ky", "don vi", "tong", "dt", "sdt"})


def alias_score(key: str, aliases: tuple[str, ...]) -> int:
    """0 when no alias names ``key``; else higher for an exact match, then for a longer alias."""
    best = 0
    for alias in aliases:
        if key == alias:
            best = max(best, 1000 + len(alias))
        elif alias not in EXACT_ONLY and key.startswith(alias + " "):
            best = max(best, len(alias))
    return best


_FUNDS = ("kinh phi huy dong trieu dong", "kinh phi huy dong", "kinh phi trieu dong", "kinh phi",
          "so tien huy dong", "kinh phi trieu dong huy dong")

MODEL_COLUMNS: tuple[Column, ...] = (
    Column("stt", "STT", ("stt", "so tt", "so thu tu", "tt"), "line_no", csv_name="stt"),
    Column("model_name", "Tên mô hình", ("ten mo hinh", "ten mo hinh dan van kheo", "mo hinh"), required=True,
           csv_name="ten_mo_hinh"),
    Column("field_raw", "Lĩnh vực", ("linh vuc",), required=True, csv_name="linh_vuc"),
    Column("model_kind_raw", "Hình thức", ("hinh thuc", "hinh thuc xay moi nhan rong", "loai mo hinh"),
           required=True, csv_name="hinh_thuc"),
    Column("registered_on", "Ngày đăng ký", ("ngay dang ky", "ngay dang ky mo hinh"), "date",
           csv_name="ngay_dang_ky"),
    Column("recognition_level", "Cấp công nhận", ("cap cong nhan",), csv_name="cap_cong_nhan"),
    Column("households", "Số hộ tham gia", ("so ho tham gia", "so ho"), "count", csv_name="so_ho_tham_gia",
           bound=MODEL_BOUNDS["households"]),
    Column("funds_million_vnd", "Kinh phí huy động (triệu đồng)", _FUNDS, "amount", csv_name="kinh_phi_trieu_dong",
           bound=MODEL_BOUNDS["funds_million_vnd"]),
    Column("labour_days", "Ngày công", ("ngay cong", "so ngay cong"), "count", csv_name="ngay_cong",
           bound=MODEL_BOUNDS["labour_days"]),
    Column("land_m2", "Đất hiến (m2)", ("dat hien m2", "dat hien", "dien tich dat hien"), "amount",
           csv_name="dat_hien_m2", bound=MODEL_BOUNDS["land_m2"]),
    Column("note", "Ghi chú", ("ghi chu",), csv_name="ghi_chu"),
)

TOTAL_COLUMNS: tuple[Column, ...] = (
    Column("field_raw", "Lĩnh vực", ("linh vuc",), required=True),
    Column("models_total", "Tổng số mô hình", ("tong so mo hinh", "tong so", "so mo hinh", "tong"), "count",
           required=True, bound=TOTAL_BOUNDS["models_total"]),
    Column("models_new", "Xây mới", ("xay moi", "trong do xay moi", "so mo hinh xay moi"), "count", required=True,
           bound=TOTAL_BOUNDS["models_new"]),
    Column("models_replicated", "Nhân rộng",
           ("nhan rong", "duy tri", "duy tri nhan rong", "trong do nhan rong", "so mo hinh nhan rong"), "count",
           required=True, bound=TOTAL_BOUNDS["models_replicated"]),
    Column("funds_million_vnd", "Kinh phí huy động (triệu đồng)", _FUNDS, "amount",
           bound=TOTAL_BOUNDS["funds_million_vnd"]),
)

#: The "Thông tin" labels (fold keys, exact or as the start of the label) and what they hold.
INFO_LABELS: dict[str, tuple[str, ...]] = {
    "unit_code": ("ma don vi", "ma dv", "ma don vi bao cao"),
    "unit_name": ("ten don vi", "don vi bao cao", "ten don vi bao cao", "don vi"),
    "period": ("ky bao cao", "ky"),
    "report_date": ("ngay bao cao", "ngay lap bao cao", "ngay ky"),
    "preparer_name": ("nguoi lap bieu", "nguoi lap", "nguoi bao cao"),
    "preparer_phone": ("so dien thoai", "dien thoai", "sdt", "dt lien he"),
}
INFO_HEADERS = {"unit_code": "Mã đơn vị", "unit_name": "Tên đơn vị", "period": "Kỳ báo cáo",
                "report_date": "Ngày báo cáo", "preparer_name": "Người lập biểu",
                "preparer_phone": "Số điện thoại"}

HEADER_SEARCH_ROWS = 20
TOTAL_LINE_KEYS = {"tong cong", "cong", "tong", "tong so", "cong tong", "tong cong toan don vi"}


_INFO_KEY: dict[str, str | None] = {}


def info_key(label: object) -> str | None:
    """Which "Thông tin" item a label names ("Mã đơn vị:" → unit_code)."""
    key = fold(label)
    if not key:
        return None
    if key in _INFO_KEY:
        return _INFO_KEY[key]
    scored = max(((alias_score(key, aliases), item) for item, aliases in INFO_LABELS.items()), default=(0, None))
    item = scored[1] if scored[0] else None
    if len(_INFO_KEY) < 16384:
        _INFO_KEY[key] = item
    return item


def is_info_label(label: object) -> bool:
    """Whether ``label`` is exactly one of the "Thông tin" labels ("Mã đơn vị"), not one that
    starts with one ("Mã đơn vị (theo danh mục)")."""
    key = fold(label)
    return any(key in aliases for aliases in INFO_LABELS.values())


_COLUMN_NUMBER = re.compile(r"^\(?(?:\d{1,2}|[A-Za-z])\)?$")


def is_column_numbering(row: Row) -> bool:
    """The row under a header that numbers its columns: "(1) (2) (3) ..." or "A B 1 2 ...".

    Official forms print it; it is not a model. At least three cells, every non-blank one a short
    number or letter (in brackets or not), and no two alike.
    """
    texts = []
    for c in row:
        if c is None or c == "":
            continue
        if type(c) is float and c.is_integer() and 0 < c < 100:
            c = str(int(c))
        if not isinstance(c, str) or not _COLUMN_NUMBER.match(c.strip()):
            return False
        texts.append(c.strip().strip("()").upper())
    return len(texts) >= 3 and len(set(texts)) == len(texts)


def _first_texts(row: Row, n: int = 2) -> list[str]:
    texts = []
    for c in row:
        if type(c) is str and c and not is_blank(c):
            texts.append(c)
            if len(texts) == n:
                break
    return texts


def _may_read_total(text: str) -> bool:
    """False when ``text`` cannot be a "Tổng cộng" / "Cộng" label: its first character is an ASCII
    letter or digit other than T or C (a fold key keeps a leading ASCII letter or digit as it is).
    A cheap test before the fold key: it rules out almost every model name."""
    head = text.lstrip()[:1]
    if head.isascii() and head.isalnum():
        return head in "tTcC"
    return True


def _is_total_text(text: str) -> bool:
    if len(text) > 60 or not _may_read_total(text):
        return False  # a model's name, not "Tổng cộng ..."
    key = fold(text)
    if not key.startswith(("tong", "cong")):
        return False
    if key in TOTAL_LINE_KEYS:
        return True
    # "Tổng cộng toàn phường", "Cộng lĩnh vực KT"; with diacritics where the fold key is
    # ambiguous ("tong cong" is also "Tổng công ty"; "Cộng đồng ..." is a model's name).
    return clean(text).lower().startswith(("tổng cộng", "cộng:")) or key.startswith("cong linh vuc")


def is_total_line(row: Row) -> bool:
    """A "Tổng cộng" / "Cộng" line: one of the row's first two text cells reads so."""
    return any(_is_total_text(text) for text in _first_texts(row))


def _blank_or_total(row: Row) -> bool:
    """Every cell blank, or a total line (:func:`is_total_line`): one pass, stopping at the second
    text cell (the hot path of the model rows: the same answer as the two checks one after the other)."""
    texts = 0
    filled = False
    for c in row:
        if c is None or c == "":
            continue
        if type(c) is str:
            stripped = c.strip()
            if not stripped or stripped in _NOTHING:
                continue
            head = stripped[0]  # an ASCII letter or digit other than T or C: no total (_may_read_total)
            if not (head.isascii() and head.isalnum() and head not in "tTcC") and _is_total_text(c):
                return True
            texts += 1
            if texts == 2:
                return False
        filled = True
    return not filled


# ---------------------------------------------------------------------------- parsed submission


@dataclass
class ModelLine:
    source_sheet: str
    source_row: int
    stt: int | None
    model_name: str
    field_code: str
    field_raw: str
    model_kind: str
    model_kind_raw: str
    registered_on: dt.date | None = None
    recognition_level: str | None = None
    households: int | None = None
    funds_million_vnd: float | None = None
    labour_days: int | None = None
    land_m2: float | None = None
    note: str | None = None


@dataclass
class DeclaredTotal:
    source_row: int
    field_code: str  # KT, VHXH, QPAN, XDD or TOTAL
    field_raw: str
    models_total: int | None
    models_new: int | None
    models_replicated: int | None
    funds_million_vnd: float | None

#: A line's fields in order, as a tuple (``raw.submission_models`` and ``raw.submission_declared_totals``
#: take them in this order after the submission id and the line number; tests/test_contract.py).
MODEL_LINE_VALUES = operator.attrgetter(*ModelLine.__dataclass_fields__)
DECLARED_TOTAL_VALUES = operator.attrgetter(*DeclaredTotal.__dataclass_fields__)


@dataclass
class ParsedSubmission:
    """One submission as read from its file, resolved to canonical codes (not yet in the warehouse)."""

    file_format: str  # xlsx | csv
    unit_code: str
    unit_code_raw: str | None
    unit_name_raw: str | None
    period: Period
    period_raw: str
    report_date: dt.date
    preparer_name: str | None = None
    preparer_phone: str | None = None
    models: list[ModelLine] = field(default_factory=list)
    totals: list[DeclaredTotal] = field(default_factory=list)
    has_declared_totals: bool = False
    #: Rows skipped as not being models (headings, notes, signatures): (sheet, row, first text).
    skipped_rows: list[tuple[str, int, str]] = field(default_factory=list)
    #: What did not keep the file out but must not pass unseen (a column with data whose header the
    #: form does not know): written to ``raw.submission_warnings``.
    warnings: list[Problem] = field(default_factory=list)

    def packed(self) -> tuple:
        """The submission as plain values (its lines as tuples), for another process: pickled and
        read back in half the time of the objects (the parse workers, ``dvk.ingest.parse_pool``)."""
        head = {name: value for name, value in self.__dict__.items() if name not in ("models", "totals")}
        return head, list(map(MODEL_LINE_VALUES, self.models)), list(map(DECLARED_TOTAL_VALUES, self.totals))

    @classmethod
    def unpacked(cls, packed: tuple) -> ParsedSubmission:
        """The submission :meth:`packed` gave."""
        head, models, totals = packed
        return cls(**head, models=[ModelLine(*line) for line in models],
                   totals=[DeclaredTotal(*line) for line in totals])


# --------------------------------------------------------------------------------- reading rows


_BEST_COLUMN: dict[tuple[int, str], tuple[int, str]] = {}


def _best_column(columns: tuple[Column, ...], key: str) -> tuple[int, str]:
    """(score, column key) of the column a header's fold key names best (score 0: none); memoised."""
    memo_key = (id(columns), key)
    found = _BEST_COLUMN.get(memo_key)
    if found is None:
        found = max(((c.matches(key), c.key) for c in columns))
        if len(_BEST_COLUMN) < 65536:
            _BEST_COLUMN[memo_key] = found
    return found


def find_header(rows: Sequence[Row], columns: tuple[Column, ...],
                search_rows: int = HEADER_SEARCH_ROWS) -> tuple[int, dict[str, int]] | None:
    """The header row (0-based) and column key → cell index, found by header text in the first rows.

    The header is the row naming the most required columns (at least two), then the most columns.
    """
    required = {c.key for c in columns if c.required}
    best: tuple[tuple[int, int], int, dict[str, int]] | None = None
    for r, row in enumerate(rows[:search_rows]):
        mapping, named = _header_row(columns, required, row)
        rank = (named, len(mapping))
        if rank == (len(required), len(columns)):  # every column named: no later row can do better
            return r, dict(mapping)
        if rank[0] >= min(2, len(required)) and (best is None or rank > best[0]):
            best = (rank, r, mapping)
    return (best[1], dict(best[2])) if best else None


#: (id of a column tuple, a row's cells) → (the column tuple, what :func:`_header_row` found). The
#: title and header rows of a form repeat from file to file: each is read once per run, not per file.
_HEADER_ROWS: dict[tuple[int, tuple], tuple[tuple[Column, ...], dict[str, int], int]] = {}


def _header_row(columns: tuple[Column, ...], required: set[str], row: Row) -> tuple[dict[str, int], int]:
    """Column key → cell index of the columns a row's header texts name; and how many are required."""
    try:
        memo_key = (id(columns), tuple(row)) if len(row) <= 64 else None
        found = _HEADER_ROWS.get(memo_key) if memo_key is not None else None
    except TypeError:  # an unhashable cell (never from calamine or csv): no memo
        memo_key = found = None
    if found is not None and found[0] is columns:
        return found[1], found[2]
    scores: dict[str, tuple[int, int]] = {}
    for ci, cell in enumerate(row):
        if not isinstance(cell, str) or len(cell) > 80:
            continue  # a number, a date, or a long text: not a header
        key = fold(cell)
        if not key:
            continue
        score, col_key = _best_column(columns, key)
        if score and (col_key not in scores or score > scores[col_key][0]):
            scores[col_key] = (score, ci)
    mapping = {k: ci for k, (_, ci) in scores.items()}
    named = len(required & set(mapping))
    if memo_key is not None:
        if len(_HEADER_ROWS) >= 4096:
            _HEADER_ROWS.clear()
        _HEADER_ROWS[memo_key] = (columns, mapping, named)
    return mapping, named


_FIGURE_KEYS = ("registered_on", "households", "funds_million_vnd", "labour_days", "land_m2")


def _is_figure(value: object) -> bool:
    """A number or a date (as a cell or as text), as opposed to a blank or a word."""
    if is_blank(value):
        return False
    if not isinstance(value, str):
        return True
    for convert in (to_number, to_date):
        try:
            if convert(value) is not None:
                return True
        except CellError:
            pass
    return False


class _Lazy(dict):
    """A dict that computes a missing value once, with ``fn(key)``."""

    def __init__(self, fn: Callable[[str], str]):
        super().__init__()
        self.fn = fn

    def __missing__(self, key: str) -> str:
        value = self[key] = self.fn(key)
        return value


_INF = float("inf")
#: The largest whole number a count / a line number may be (see ``to_count``, ``to_line_number``).
_MAX_COUNT_FLOAT = float(10**12)
_MAX_LINE_FLOAT = float(2**31 - 1)

_CONVERTERS = {"count": to_count, "amount": to_amount, "date": to_date, "line_no": to_line_number,
               "text": to_text}


#: Look-ups that repeat from file to file, kept for as long as their directory lives (one run of
#: the ingest): a field or kind as written → its code (what resolves only: a problem is reported at
#: each row that has it).
_FIELD_CODES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_KIND_CODES: dict[object, str] = {}  # require_kind is a pure function of the text
_MEMO_SIZE = 4096


def _memo(memos: weakref.WeakKeyDictionary, directory: object) -> dict:
    memo = memos.get(directory)
    if memo is None or len(memo) > _MEMO_SIZE:
        memo = memos[directory] = {}
    return memo


class FormReader:
    """Shared lookups and the problem log while one file is read."""

    def __init__(self, file_name: str, units: UnitDirectory, fields: FieldDirectory, today: dt.date):
        self.log = ProblemLog(file_name)
        self.warnings: list[Problem] = []
        self.units = units
        self.fields = fields
        self.today = today

    # -- cells

    def convert(self, column: Column, value: object, *, sheet: str, row: int, where: Callable[[], str]) -> object:
        """The cell as its column's type; a problem (and None) when it cannot be.

        ``where()``: the column as messages show it ("C (Lĩnh vực)"), worked out only for a problem."""
        try:
            converted = _CONVERTERS[column.type](value)
            if column.bound is not None and converted is not None and converted > column.bound:
                shown = to_text(value)
                limit = f"{column.bound:,.0f}".replace(",", ".")
                raise CellError(
                    f"«{shown}» vượt giới hạn hợp lý ({limit} {UNITS_VI.get(column.key, '')}): hãy kiểm tra lại số liệu",
                    f"{shown!r} is above the plausible bound ({column.bound:,.0f}): check the figure")
            return converted
        except CellError as exc:
            self.log.add(exc.code, f"Giá trị không hợp lệ ở cột «{column.header}»: {exc.message_vi}",
                         f"invalid value in column {column.header!r}: {exc.message_en}",
                         sheet=sheet, row=row, column=where())
            return None

    # -- the submission's head: unit, period, report date, preparer

    def head(self, info: dict[str, tuple[object, int | None, str | None]], sheet: str) -> dict:
        """Resolve the "Thông tin" items: ``info[item] = (value, row, column)``."""

        def text(item: str) -> tuple[str | None, int | None, str | None]:
            value, row, col = info.get(item, (None, None, None))
            return to_text(value), row, col

        period_value, period_row, period_col = info.get("period", (None, None, None))
        period = None
        try:
            period = parse_period(period_value, today=self.today)
        except PeriodError as exc:
            self.log.add(exc.code, exc.message_vi, exc.message_en, sheet=sheet, row=period_row,
                         column=period_col or INFO_HEADERS["period"])

        # Rule 1 (reorganisations spec): the unit is the one valid on the last day of the period's
        # data window, so the period is read first. Without a readable period (already a problem),
        # every version of the master list counts.
        code, code_row, code_col = text("unit_code")
        name, name_row, name_col = text("unit_name")
        unit_code = None
        try:
            unit_code = self.units.resolve(code, name, on=period.window_end if period else None).code
        except LookupProblem as exc:
            # a retired code is the code cell's fault; otherwise the name says which unit was meant
            at_name = (bool(name) or not code) and exc.code != "retired_unit_code"
            self.log.add(exc.code, exc.message_vi, exc.message_en, sheet=sheet,
                         row=name_row if at_name else code_row,
                         column=(name_col if at_name else code_col) or INFO_HEADERS["unit_name"])

        date_value, date_row, date_col = info.get("report_date", (None, None, None))
        report_date = None
        where = date_col or INFO_HEADERS["report_date"]
        try:
            report_date = to_date(date_value)
        except CellError as exc:
            self.log.add(exc.code, f"Ngày báo cáo: {exc.message_vi}", f"report date: {exc.message_en}",
                         sheet=sheet, row=date_row, column=where)
        else:
            if report_date is None:
                self.log.add("missing_value", "Thiếu «Ngày báo cáo»", "the report date (Ngày báo cáo) is missing",
                             sheet=sheet, row=date_row, column=where)
            elif report_date > self.today:
                self.log.add("future_date", f"Ngày báo cáo {report_date:%d/%m/%Y} ở tương lai",
                             f"report date {report_date:%Y-%m-%d} lies in the future",
                             sheet=sheet, row=date_row, column=where)
        return dict(unit_code=unit_code, unit_code_raw=code, unit_name_raw=name, period=period,
                    period_raw=clean(to_text(period_value) or ""), report_date=report_date,
                    preparer_name=text("preparer_name")[0], preparer_phone=text("preparer_phone")[0])

    # -- the model rows

    def missing_columns(self, sheet: str, columns: tuple[Column, ...], mapping: dict[str, int],
                        header_row: int, column_name: Callable[[Column], str] | None = None) -> bool:
        """A problem for each required column missing from the header row; True if any."""
        missing = [c for c in columns if c.required and c.key not in mapping]
        for c in missing:
            shown = column_name(c) if column_name else c.header
            self.log.add("missing_column",
                         f"Thiếu cột bắt buộc «{shown}» trong dòng tiêu đề (dòng {header_row})",
                         f"required column {shown!r} is missing from the header row (row {header_row})",
                         sheet=sheet, row=header_row, column=shown)
        return bool(missing)

    def model_lines(self, sheet: str, rows: Sequence[Row], first: int, mapping: dict[str, int],
                    where: Callable[[str], str], skipped: list[tuple[str, int, str]],
                    row_number: Callable[[int], int] = lambda r: r + 1, *, header: Row | None = None,
                    used: set[int] | None = None, label: Callable[[int], str] | None = None) -> list[ModelLine]:
        """Every model row from ``rows[first:]``; blank, total and non-model rows skipped.

        ``header`` (the header row's cells): a column holding data in a model row that is neither
        mapped nor in ``used`` is a warning (``unknown_column``), never dropped unseen; ``label(ci)``
        names it in the warning."""
        by_key = {c.key: c for c in MODEL_COLUMNS}
        wheres = _Lazy(where)  # where each column is, for messages (worked out only when needed)
        # The hot loop of the ingest (every row of every file): a plan per column, no call per blank,
        # and the common cells (a number cell in a number column, a date cell, a text already seen)
        # converted inline; anything else goes through the column's converter, which is the rule.
        plan = [(key, ci, by_key[key], by_key[key].bound if by_key[key].bound is not None else _MAX_COUNT_FLOAT)
                for key, ci in mapping.items()]
        field_ci, kind_ci = mapping.get("field_raw", -1), mapping.get("model_kind_raw", -1)
        texts: dict[str, str | None] = _Lazy(to_text)  # a text cell → to_text(cell), for this file
        field_codes = _memo(_FIELD_CODES, self.fields)  # a field as written (cleaned) → its code
        kinds = _KIND_CODES  # a kind as written (cleaned) → new | replicated
        if len(kinds) > _MEMO_SIZE:
            kinds.clear()
        date_type, datetime_type = dt.date, dt.datetime
        # 1. Which rows are models (blank, total, numbering and other rows skipped; nothing logged).
        candidates: list[tuple[int, int, Row]] = []  # (0-based row, row as shown, cells)
        for r in range(first, len(rows)):
            row = rows[r]
            if _blank_or_total(row):
                continue
            if r < first + 3 and is_column_numbering(row):
                continue  # "(1) (2) (3) ..." under the header
            n = row_number(r)
            width = len(row)
            field_cell = row[field_ci] if 0 <= field_ci < width else None
            kind_cell = row[kind_ci] if 0 <= kind_ci < width else None
            if is_blank(field_cell) and is_blank(kind_cell):
                cells = {key: (row[ci] if ci < width else None) for key, ci in mapping.items()}
                if not self._looks_like_model(cells):
                    first_text = next((clean(c) for c in row if not is_blank(c)), "")
                    skipped.append((sheet, n, first_text[:80]))
                    continue
            candidates.append((r, n, row))
        model_rows = [r for r, _, _ in candidates]
        # 2. Their cells, a column at a time, when every cell is one the form takes as it is; else
        # (a problem to report, a cell to convert from text) row by row, which is the rule.
        lines = self._lines_by_column(sheet, candidates, plan, texts, field_codes, kinds)
        if lines is not None:
            candidates = []
        else:
            lines = []
        for _, n, row in candidates:
            width = len(row)
            v: dict[str, object] = {}
            for key, ci, column, bound in plan:
                kind = column.type
                value = row[ci] if ci < width else None
                if value is None or value == "":
                    v[key] = None
                    continue
                vtype = type(value)
                if vtype is str:
                    if kind == "text":
                        text = texts.get(value)
                        if text is None:
                            text = texts[value] = to_text(value)
                        v[key] = text
                        continue
                elif vtype is float:
                    if kind == "amount":
                        if 0.0 <= value <= bound:
                            v[key] = value
                            continue
                    elif kind == "count":
                        if 0.0 <= value <= bound and value.is_integer():
                            v[key] = int(value)
                            continue
                    elif kind == "line_no":
                        if -_MAX_LINE_FLOAT <= value <= _MAX_LINE_FLOAT and value.is_integer():
                            v[key] = int(value)
                            continue
                elif vtype is datetime_type:
                    if kind == "date":
                        v[key] = value.date()
                        continue
                elif vtype is date_type and kind == "date":
                    v[key] = value
                    continue
                v[key] = self.convert(column, value, sheet=sheet, row=n, where=lambda key=key: wheres[key])
            name = v.get("model_name")
            if not name:
                self.log.add("missing_value", "Thiếu «Tên mô hình»", "the model's name (Tên mô hình) is empty",
                             sheet=sheet, row=n, column=wheres["model_name"])
            field_raw, kind_raw = v.get("field_raw"), v.get("model_kind_raw")
            field_code = field_codes.get(field_raw) or self._lookup(
                self.fields.require, field_raw, sheet, n, wheres["field_raw"], memo=field_codes)
            model_kind = kinds.get(kind_raw) or self._lookup(
                require_kind, kind_raw, sheet, n, wheres["model_kind_raw"], memo=kinds)
            if name and field_code and model_kind:
                lines.append(ModelLine(
                    sheet, n, v.get("stt"), name, field_code, field_raw, model_kind, kind_raw,
                    v.get("registered_on"), v.get("recognition_level"), v.get("households"),
                    v.get("funds_million_vnd"), v.get("labour_days"), v.get("land_m2"), v.get("note"),
                ))
        if header is not None and model_rows:
            self._unknown_columns(sheet, rows, model_rows, header, set(mapping.values()) | (used or set()),
                                  first, label or (lambda ci: f"{column_letter(ci)} ({clean(header[ci])})"
                                                   if ci < len(header) and clean(header[ci]) else column_letter(ci)))
        return lines

    def _lines_by_column(self, sheet: str, candidates: list[tuple[int, int, Row]], plan: list,
                         texts: dict[str, str | None], field_codes: dict, kinds: dict) -> list[ModelLine] | None:
        """The model lines of ``candidates`` read a column at a time (comprehensions, ``min``,
        ``max``, ``sum``, ``map`` over each column: no Python branch per cell), or None when any cell
        would need more than taking it as it is: a problem to report, a number or date written as
        text, a name missing, a field or kind not known. None sends the rows through the row loop of
        :meth:`model_lines`, which reports every problem in its order; what this returns is what that
        loop returns for the same rows."""
        if not candidates:
            return []
        count = len(candidates)
        if min(len(row) for _, _, row in candidates) <= max((ci for _, ci, _, _ in plan), default=-1):
            return None  # a short row (never from calamine, whose rows share one width)
        got: dict[str, list] = {}
        # the columns that can send the rows to the row loop first (a CSV file's numbers are text:
        # it is found before any text column is converted)
        for key, ci, column, bound in sorted(plan, key=lambda step: step[2].type in ("text", "line_no")):
            values = [row[ci] for _, _, row in candidates]
            kind = column.type
            if kind == "text":
                out = [texts[x] if type(x) is str else (None if x is None else to_text(x)) for x in values]
            elif kind == "amount" or kind == "count":
                numbers = [x for x in values if x is not None and x != ""]
                if numbers:
                    if not all(type(x) is float for x in numbers):  # text (a CSV file): the column's rule
                        out = self._converted(column, values)
                        if out is None:
                            return None
                        got[key] = out
                        continue
                    total = sum(numbers)  # NaN (or inf − inf) anywhere: NaN
                    if total != total or min(numbers) < 0.0 or max(numbers) > bound:
                        return None
                    if kind == "count" and not all(map(float.is_integer, numbers)):
                        return None
                if kind == "count":
                    out = [int(x) if type(x) is float else None for x in values]
                else:
                    out = [x if type(x) is float else None for x in values]
            elif kind == "line_no":  # never a problem: a line number that is not one is only a label
                out = [int(x) if type(x) is float and -_MAX_LINE_FLOAT <= x <= _MAX_LINE_FLOAT and x.is_integer()
                       else to_line_number(x) for x in values]
            elif kind == "date":
                out = []
                for x in values:
                    vtype = type(x)
                    if vtype is dt.datetime:
                        out.append(x.date())
                    elif vtype is dt.date:
                        out.append(x)
                    elif x is None or x == "":
                        out.append(None)
                    else:  # text or a serial number: the column's rule, for the whole column
                        out = self._converted(column, values)
                        if out is None:
                            return None
                        break
            else:
                return None
            got[key] = out
        nothing = [None] * count
        names = got.get("model_name", nothing)
        if not all(names):
            return None
        field_raws, kind_raws = got.get("field_raw", nothing), got.get("model_kind_raw", nothing)
        codes = [field_codes.get(x) or self._resolved(self.fields.resolve, x, field_codes) for x in field_raws]
        model_kinds = [kinds.get(x) or self._resolved(resolve_kind, x, kinds) for x in kind_raws]
        if not all(codes) or not all(model_kinds):
            return None
        return list(map(ModelLine, [sheet] * count, [n for _, n, _ in candidates], got.get("stt", nothing), names,
                        codes, field_raws, model_kinds, kind_raws, got.get("registered_on", nothing),
                        got.get("recognition_level", nothing), got.get("households", nothing),
                        got.get("funds_million_vnd", nothing), got.get("labour_days", nothing),
                        got.get("land_m2", nothing), got.get("note", nothing)))

    @staticmethod
    def _converted(column: Column, values: list) -> list | None:
        """Each cell as :meth:`convert` takes it (the column's converter and bound), or None as soon as
        one would be a problem: the row loop then reports it, in its order."""
        convert, bound = _CONVERTERS[column.type], column.bound
        out = []
        try:
            for x in values:
                value = None if x is None or x == "" else convert(x)
                if bound is not None and value is not None and value > bound:
                    return None
                out.append(value)
        except CellError:
            return None
        return out

    @staticmethod
    def _resolved(resolve: Callable[[object], str | None], value: object, memo: dict) -> str | None:
        """``resolve(value)`` (nothing logged), kept in ``memo`` when found."""
        found = resolve(value) if value is not None else None
        if found is not None:
            memo[value] = found
        return found

    def _unknown_columns(self, sheet: str, rows: Sequence[Row], model_rows: list[int], header: Row,
                         known: set[int], first: int, label: Callable[[int], str]) -> None:
        """A warning for each column with data in a model row whose header the form does not know."""
        width = max(len(rows[r]) for r in model_rows)
        for ci in range(width):
            if ci in known:
                continue
            filled = [r for r in model_rows if ci < len(rows[r]) and not is_blank(rows[r][ci])]
            if not filled:
                continue
            shown = label(ci)
            self.warnings.append(Problem(
                self.log.file, "unknown_column",
                f"Cột {shown} có dữ liệu ở {len(filled)} dòng mô hình nhưng tiêu đề không thuộc mẫu: dữ liệu cột này "
                "KHÔNG được nạp. Nếu là một cột của mẫu, hãy sửa tiêu đề cho đúng",
                f"column {shown} holds data in {len(filled)} model row(s) but its header is not one of the form's: "
                "its data was NOT loaded; if it is a column of the form, correct its header",
                sheet=sheet, row=first, column=shown))

    @staticmethod
    def _looks_like_model(cells: dict[str, object]) -> bool:
        """A model row has a field or a kind, or a name with a line number or a figure.

        Anything else (a lone text: a section heading, a note, the signatures under the table) is
        not a model; such rows are listed in ``ParsedSubmission.skipped_rows``.
        """
        if not is_blank(cells.get("field_raw")) or not is_blank(cells.get("model_kind_raw")):
            return True
        has_figure = any(_is_figure(cells.get(k)) for k in _FIGURE_KEYS)
        if is_blank(cells.get("model_name")):
            return has_figure
        return has_figure or to_line_number(cells.get("stt")) is not None

    def _lookup(self, require: Callable[[object], str], value: object, sheet: str, row: int,
                where: str, memo: dict[object, str] | None = None) -> str | None:
        """``require(value)``, or a problem (and None); ``memo`` keeps what was found by value."""
        try:
            found = require(value)
        except LookupProblem as exc:
            self.log.add(exc.code, exc.message_vi, exc.message_en, sheet=sheet, row=row, column=where)
            return None
        if memo is not None:
            memo[value] = found
        return found

    # -- the declared totals (Tổng hợp)

    def declared_totals(self, sheet: str, rows: Sequence[Row], first: int, mapping: dict[str, int],
                        where: Callable[[str], str]) -> list[DeclaredTotal]:
        by_key = {c.key: c for c in TOTAL_COLUMNS}
        wheres = _Lazy(where)  # worked out only for a problem
        number_keys = [k for k in ("models_total", "models_new", "models_replicated", "funds_million_vnd")
                       if k in mapping]
        # a number cell within its bounds (a whole one for a count) is taken as it is; anything else
        # goes through the column's converter, which is the rule
        quick = [(k, by_key[k].type == "count", by_key[k].bound if by_key[k].bound is not None else _MAX_COUNT_FLOAT)
                 for k in number_keys]
        field_codes = _memo(_FIELD_CODES, self.fields)
        out: list[DeclaredTotal] = []
        seen: dict[str, int] = {}
        for r in range(first, len(rows)):
            row, n = rows[r], r + 1
            width = len(row)
            cells = {key: (row[ci] if ci < width else None) for key, ci in mapping.items()}
            if all(is_blank(c) for c in cells.values()):
                continue
            label = to_text(cells.get("field_raw")) or ""
            has_numbers = any(not is_blank(cells[k]) for k in cells if k != "field_raw")
            if _is_total_text(label) or (not label and has_numbers and is_total_line(row)):
                code: str | None = "TOTAL"
            else:
                code = field_codes.get(label) or self._resolved(self.fields.resolve, label, field_codes)
                if code is None:
                    if not has_numbers:
                        continue  # a note or a signature under the table
                    code = self._lookup(self.fields.require, label, sheet, n, wheres["field_raw"])
            values: dict[str, object] = dict.fromkeys(("models_total", "models_new", "models_replicated",
                                                       "funds_million_vnd"))
            for k, whole, bound in quick:
                value = cells[k]
                if type(value) is float and 0.0 <= value <= bound and (not whole or value.is_integer()):
                    values[k] = int(value) if whole else value
                else:
                    values[k] = self.convert(by_key[k], value, sheet=sheet, row=n, where=lambda k=k: wheres[k])
            if code is None:
                continue
            if code in seen:
                self.log.add("duplicate_total_row",
                             f"Lĩnh vực «{label}» có hai dòng (dòng {seen[code]} và dòng {n})",
                             f"{label!r} appears twice (rows {seen[code]} and {n})",
                             sheet=sheet, row=n, column=wheres["field_raw"])
                continue
            seen[code] = n
            out.append(DeclaredTotal(source_row=n, field_code=code, field_raw=label or "Tổng cộng", **values))
        return out
