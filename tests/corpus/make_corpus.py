"""A deterministic corpus of odd and broken submission files, each with its expected outcome.

    .venv/bin/python tests/corpus/make_corpus.py OUT_DIR      # writes the files, prints the table

Every case is one file (bytes, name) and, beside it, what the ingest must do with it: load it with
exact values (:class:`Loaded`), quarantine it with exact problems (:class:`Quarantined`: the set of
(code, sheet, row, column)), or skip it (:class:`Skipped`). ``tests/test_ingest_corpus.py`` writes
the corpus into one inbox, runs the ingest once and checks every outcome; this script's table is
quoted in ``docs/ingest.md``.

The same call always writes the same bytes: workbooks come from xlsxwriter in memory (fixed
document dates, zip entries dated 1980-01-01), the zip bomb and the other hand-made containers use
fixed timestamps, and ``_manifest.csv`` fixes every file's received time.

Files are written for "today" = :data:`TODAY` (periods after it lie in the future) and a size limit
of :data:`MAX_FILE_BYTES` (the ingest's setting is passed by the test).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import os
import sys
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter

if __package__ in (None, ""):  # run as a script: make ``dvk`` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from dvk.forms import ModelLine, Submission, csv_bytes, xlsx_bytes  # noqa: E402
from dvk.text import unicode_to_tcvn3, unicode_to_vni  # noqa: E402

TODAY = dt.date(2024, 12, 31)
MAX_FILE_BYTES = 2_000_000
FIXED_DATE = dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.timezone.utc)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

FIELD_NAME = {"KT": "Phát triển kinh tế", "VHXH": "Văn hóa - xã hội", "QPAN": "Quốc phòng - an ninh",
              "XDD": "Xây dựng Đảng và hệ thống chính trị"}
KIND_OF = {"Xây mới": "new", "Nhân rộng": "replicated", "Duy trì": "replicated",
           "Duy trì, nhân rộng": "replicated"}
MODEL_HEADERS = ("STT", "Tên mô hình", "Lĩnh vực", "Hình thức", "Ngày đăng ký", "Cấp công nhận", "Số hộ tham gia",
                 "Kinh phí huy động (triệu đồng)", "Ngày công", "Đất hiến (m2)", "Ghi chú")


# ------------------------------------------------------------------------------ expected outcomes

#: One expected model line: (line_no, source_row, stt, model_name, field_code, model_kind,
#: registered_on, households, funds_million_vnd, labour_days, land_m2, note)
ModelRow = tuple


@dataclass(frozen=True)
class Loaded:
    unit_code: str
    period_id: str
    report_date: dt.date
    models: tuple[ModelRow, ...]
    file_format: str = "xlsx"
    #: (source_row, field_code, total, new, replicated, funds) of the "Tổng hợp" sheet; None: no sheet.
    totals: tuple[tuple, ...] | None = None
    unit_name_raw: str | None = None

    def describe(self) -> str:
        return f"loaded: {self.unit_code} {self.period_id}, {len(self.models)} model(s)"


@dataclass(frozen=True)
class Quarantined:
    #: Every problem: (code, sheet, row, column); sheet/row/column None where the file as a whole is wrong.
    problems: frozenset[tuple[str, str | None, int | None, str | None]]

    def describe(self) -> str:
        parts = []
        for code, sheet, row, column in sorted(self.problems, key=lambda p: (p[0], str(p[1]), p[2] or 0, str(p[3]))):
            where = ", ".join(str(x) for x in (sheet, row, column) if x is not None)
            parts.append(f"{code}" + (f" ({where})" if where else ""))
        return "quarantined: " + "; ".join(parts)


@dataclass(frozen=True)
class Skipped:
    reason: str  # already_loaded / already_quarantined

    def describe(self) -> str:
        return f"skipped: {self.reason}"


@dataclass(frozen=True)
class Case:
    name: str | bytes  # bytes: a file name that is not UTF-8
    data: bytes
    what: str  # what the file exercises
    expect: Loaded | Quarantined | Skipped
    received_at: dt.datetime = field(default=dt.datetime(2024, 12, 20, 1, 0))

    @property
    def shown_name(self) -> str:
        if isinstance(self.name, bytes):
            return self.name.decode("utf-8", "backslashreplace")
        return self.name


def problems(*items: tuple) -> Quarantined:
    return Quarantined(frozenset(items))


# ------------------------------------------------------------------------------ writers


def _zip(parts: Sequence[tuple[str, bytes]]) -> bytes:
    """A deterministic zip (entries dated 1980-01-01, deflated)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return out.getvalue()


def _rewrite(xlsx: bytes, change: Callable[[str, bytes], bytes]) -> bytes:
    """The same workbook with some parts rewritten (e.g. cached formula values removed)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    return _zip([(i.filename, change(i.filename, src.read(i))) for i in src.infolist()])


class Book:
    """A hand-laid workbook (xlsxwriter): for layouts the form writer does not make."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.wb = xlsxwriter.Workbook(self.buffer, {"in_memory": True, "strings_to_numbers": False,
                                                    "strings_to_formulas": False, "strings_to_urls": False})
        self.wb.set_properties({"created": FIXED_DATE, "author": "", "comments": ""})
        self.date_fmt = self.wb.add_format({"num_format": "dd/mm/yyyy"})

    def sheet(self, name: str):
        return self.wb.add_worksheet(name)

    def put(self, sheet, row: int, col: int, value: object) -> None:
        if value is None:
            return
        if isinstance(value, Formula):
            if value.value is None:  # xlsxwriter then caches 0; _rewrite() can take it out
                sheet.write_formula(row, col, value.formula)
            else:
                sheet.write_formula(row, col, value.formula, None, value.value)
        elif isinstance(value, dt.date):
            sheet.write_datetime(row, col, dt.datetime.combine(value, dt.time()), self.date_fmt)
        elif isinstance(value, (int, float)):
            sheet.write_number(row, col, value)
        else:
            sheet.write_string(row, col, str(value))

    def info(self, code: str | None, name: str | None, period: str, report_date: object,
             sheet_name: str = "Thông tin") -> None:
        ws = self.sheet(sheet_name)
        for r, (label, value) in enumerate((("Mã đơn vị", code), ("Tên đơn vị", name), ("Kỳ báo cáo", period),
                                            ("Ngày báo cáo", report_date))):
            ws.write_string(r, 0, label)
            self.put(ws, r, 1, value)

    def table(self, name: str, header_row: int, headers: Sequence[str], rows: Sequence[Sequence[object]],
              first_row: int | None = None) -> object:
        ws = self.sheet(name)
        for c, h in enumerate(headers):
            ws.write_string(header_row, c, h)
        start = header_row + 1 if first_row is None else first_row
        for i, row in enumerate(rows):
            for c, value in enumerate(row):
                self.put(ws, start + i, c, value)
        return ws

    def bytes(self) -> bytes:
        self.wb.close()
        return self.buffer.getvalue()


@dataclass(frozen=True)
class Formula:
    formula: str
    value: object  # the cached value written with it


def _sub(code: str | None, name: str | None, period: str, report_date: object, lines: Sequence[ModelLine],
         **kw) -> Submission:
    return Submission(unit_code=code, unit_name=name, period=period, report_date=report_date, models=lines,
                      **kw)


def _ml(stt: int, name: str, field_code: str, kind: str, **kw) -> ModelLine:
    return ModelLine(stt=stt, name=name, field=FIELD_NAME[field_code], kind=kind, **kw)


def _expect(lines: Sequence[ModelLine], first_row: int = 4,
            overrides: dict[int, dict] | None = None) -> tuple[ModelRow, ...]:
    """The expected raw rows of model lines written by the form writer (title: models from row 4);
    ``overrides``: line number → the values as read where they differ from what was written."""
    overrides = overrides or {}
    out = []
    for i, m in enumerate(lines, start=1):
        row = overrides.get(i, {})
        out.append((i, first_row + i - 1, m.stt, row.get("name", unicodedata.normalize("NFC", m.name)),
                    row.get("field", next(c for c, n in FIELD_NAME.items() if n == m.field)),
                    KIND_OF[m.kind], row.get("registered_on", m.registered_on if isinstance(m.registered_on, dt.date)
                                              else None),
                    row.get("households", m.households), row.get("funds", m.funds_million_vnd),
                    row.get("labour_days", m.labour_days), row.get("land", m.land_m2), row.get("note", m.note)))
    return tuple(out)


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# ------------------------------------------------------------------------------ the cases


def loaded_cases() -> list[Case]:
    cases: list[Case] = []

    # 01: every text in decomposed Unicode (NFD)
    lines = [_ml(1, "Tổ dân phố tự quản về an ninh trật tự", "QPAN", "Xây mới", households=120),
             _ml(2, "Đường hoa khu dân cư kiểu mẫu", "VHXH", "Nhân rộng", funds_million_vnd=35.5)]
    nfd_lines = [ModelLine(stt=m.stt, name=_nfd(m.name), field=_nfd(m.field), kind=_nfd(m.kind),
                           households=m.households, funds_million_vnd=m.funds_million_vnd) for m in lines]
    sub = _sub("18076", _nfd("Phường Bắc Hà"), _nfd("Quý I/2023"), dt.date(2023, 3, 16), nfd_lines,
               declared_totals=[])
    nfd_bytes = xlsx_bytes(sub, created=FIXED_DATE)
    cases.append(Case("01_nfd_unicode.xlsx", nfd_bytes, "NFD text everywhere",
                      Loaded("18076", "2023Q1", dt.date(2023, 3, 16), _expect(lines), totals=(),
                             unit_name_raw="Phường Bắc Hà")))

    # 02: TCVN3 (ABC, .VnTime): unit by name only, period, fields, kinds and model names
    lines = [_ml(1, "Đường điện chiếu sáng khu dân cư", "KT", "Xây mới", households=85, note="Hoàn thành tháng 5"),
             _ml(2, "Dòng họ học tập", "VHXH", "Duy trì"),
             _ml(3, "Chi bộ trong sạch vững mạnh", "XDD", "Nhân rộng", labour_days=40)]
    tc = [ModelLine(stt=m.stt, name=unicode_to_tcvn3(m.name), field=unicode_to_tcvn3(m.field),
                    kind=unicode_to_tcvn3(m.kind), households=m.households, labour_days=m.labour_days,
                    note=unicode_to_tcvn3(m.note) if m.note else None) for m in lines]
    sub = _sub(None, unicode_to_tcvn3("Phường Nam Hà"), unicode_to_tcvn3("Năm 2023"), dt.date(2023, 12, 16), tc,
               with_totals_sheet=False, title=unicode_to_tcvn3("DANH SÁCH MÔ HÌNH DÂN VẬN KHÉO"))
    # Detection is per cell: a text whose every word is also a Vietnamese spelling in Unicode
    # ("Chi bộ bốn tốt" is "Chi bé bèn tèt" in TCVN3) cannot be told apart and is kept as typed;
    # these names each have a word that gives TCVN3 away. TCVN3 has no capital with a tone: the
    # names start with an ASCII capital or Đ, which it has.
    cases.append(Case("02_tcvn3_abc.xlsx", xlsx_bytes(sub, created=FIXED_DATE), "TCVN3 (ABC) text, unit by name",
                      Loaded("18073", "2023", dt.date(2023, 12, 16), _expect(lines), unit_name_raw="Phường Nam Hà")))

    # 03: VNI-Windows
    lines = [_ml(1, "Ngày thứ Bảy tình nguyện", "VHXH", "Xây mới", households=60),
             _ml(2, "Camera an ninh tổ dân phố", "QPAN", "Duy trì, nhân rộng", funds_million_vnd=48.0),
             _ml(3, "Hỗ trợ hộ nghèo phát triển kinh tế", "KT", "Nhân rộng")]
    vn = [ModelLine(stt=m.stt, name=unicode_to_vni(m.name), field=unicode_to_vni(m.field), kind=unicode_to_vni(m.kind),
                    households=m.households, funds_million_vnd=m.funds_million_vnd) for m in lines]
    sub = _sub("18070", unicode_to_vni("Phường Trần Phú"), unicode_to_vni("Quý II/2023"), dt.date(2023, 6, 15), vn,
               with_totals_sheet=False)
    cases.append(Case("03_vni_times.xlsx", xlsx_bytes(sub, created=FIXED_DATE), "VNI text",
                      Loaded("18070", "2023Q2", dt.date(2023, 6, 15), _expect(lines), unit_name_raw="Phường Trần Phú")))

    # 04: no diacritics at all
    lines = [ModelLine(stt=1, name="Khu dan cu xanh sach dep", field="Van hoa - xa hoi", kind="Nhan rong"),
             ModelLine(stt=2, name="To tu quan phong chay", field="Quoc phong - an ninh", kind="Xay moi")]
    sub = _sub(None, "Phuong Tan Giang", "Quy III/2023", dt.date(2023, 9, 15), lines, with_totals_sheet=False)
    cases.append(Case("04_no_diacritics.xlsx", xlsx_bytes(sub, created=FIXED_DATE), "names without diacritics",
                      Loaded("18079", "2023Q3", dt.date(2023, 9, 15), (
                          (1, 4, 1, "Khu dan cu xanh sach dep", "VHXH", "replicated", None, None, None, None, None,
                           None),
                          (2, 5, 2, "To tu quan phong chay", "QPAN", "new", None, None, None, None, None, None)),
                             unit_name_raw="Phuong Tan Giang")))

    # 05: a prefixed name, no code (xlsx)
    lines = [_ml(1, "Vườn rau an toàn", "KT", "Xây mới", land_m2=150.0)]
    sub = _sub(None, "UBND xã Thạch Hạ", "Tháng 3/2023", dt.date(2023, 3, 16), lines, with_totals_sheet=False)
    cases.append(Case("05_prefixed_ubnd.xlsx", xlsx_bytes(sub, created=FIXED_DATE), "prefixed name (UBND xã)",
                      Loaded("18100", "202303", dt.date(2023, 3, 16), _expect(lines), unit_name_raw="UBND xã Thạch Hạ")))

    # 06: "P." prefix, CSV
    lines = [_ml(1, "Tuyến phố văn minh", "VHXH", "Nhân rộng", households=44),
             _ml(2, "Nhóm Zalo an ninh", "QPAN", "Xây mới")]
    sub = _sub("", "P. Đại Nài", "Tháng 03 năm 2023", dt.date(2023, 3, 16), lines)
    cases.append(Case("06_prefixed_p.csv", csv_bytes(sub), "prefixed name (P.), CSV",
                      Loaded("18082", "202303", dt.date(2023, 3, 16), _expect(lines, first_row=2), file_format="csv",
                             unit_name_raw="P. Đại Nài")))

    # 07: numbers typed as text with Vietnamese separators
    lines = [_ml(1, "Bê tông hóa ngõ xóm", "KT", "Xây mới", households="1.250", funds_million_vnd="12,5",
                 labour_days="2 000", land_m2="1.250,5"),
             _ml(2, "Quỹ khuyến học dòng họ", "VHXH", "Nhân rộng", households="  35 ", funds_million_vnd="0,75",
                 labour_days="-", land_m2="1.000.000")]
    sub = _sub("18085", "Phường Hà Huy Tập", "Năm 2023", dt.date(2023, 12, 15), lines, with_totals_sheet=False)
    cases.append(Case("07_numbers_as_text.xlsx", xlsx_bytes(sub, created=FIXED_DATE), "numbers as text (1.250, 12,5)",
                      Loaded("18085", "2023", dt.date(2023, 12, 15), _expect(lines, overrides={
                          1: dict(households=1250, funds=12.5, labour_days=2000, land=1250.5),
                          2: dict(households=35, funds=0.75, labour_days=None, land=1000000.0)}))))

    # 08: dates as Excel serials, dd/mm/yyyy text, date cells; the report date as text
    lines = [_ml(1, "Mô hình ngày đăng ký là số serial", "KT", "Xây mới", registered_on=45000),
             _ml(2, "Mô hình ngày đăng ký là văn bản", "VHXH", "Xây mới", registered_on="05/03/2023"),
             _ml(3, "Mô hình ngày đăng ký là ô ngày", "QPAN", "Nhân rộng", registered_on=dt.date(2022, 11, 2)),
             _ml(4, "Mô hình ngày đăng ký kiểu ISO", "XDD", "Nhân rộng", registered_on="2023-04-01")]
    sub = _sub("18088", "Xã Thạch Trung", "Năm 2023", "16/12/2023", lines, with_totals_sheet=False)
    cases.append(Case("08_dates.xlsx", xlsx_bytes(sub, created=FIXED_DATE), "serial and text dates",
                      Loaded("18088", "2023", dt.date(2023, 12, 16), _expect(lines, overrides={
                          1: dict(registered_on=dt.date(2023, 3, 15)), 2: dict(registered_on=dt.date(2023, 3, 5)),
                          4: dict(registered_on=dt.date(2023, 4, 1))}))))

    # 09: formula cells with cached values (STT, households, funds; SUM formulas in Tổng hợp)
    book = Book()
    book.info("18091", "Phường Thạch Quý", "Năm 2023", dt.date(2023, 12, 16))
    book.table("Mô hình", 0, MODEL_HEADERS, [
        [Formula("=ROW()-1", 1), "Sân chơi cho trẻ em", "Văn hóa - xã hội", "Xây mới", None, None,
         Formula("=10+15", 25), Formula("=ROUND(12.345,1)", 12.3)],
        [Formula("=ROW()-1", 2), "Tổ hòa giải giỏi", "Quốc phòng - an ninh", "Nhân rộng", None, None,
         Formula("=2*20", 40), Formula("=5/2", 2.5)],
    ])
    book.table("Tổng hợp", 0, ("Lĩnh vực", "Tổng số mô hình", "Xây mới", "Nhân rộng", "Kinh phí huy động (triệu đồng)"), [
        ["Văn hóa - xã hội", 1, 1, 0, 12.3],
        ["Quốc phòng - an ninh", 1, 0, 1, 2.5],
        ["Tổng cộng", Formula("=SUM(B2:B3)", 2), Formula("=SUM(C2:C3)", 1), Formula("=SUM(D2:D3)", 1),
         Formula("=SUM(E2:E3)", 14.8)],
    ])
    cases.append(Case("09_formulas_cached.xlsx", book.bytes(), "formulas with cached values",
                      Loaded("18091", "2023", dt.date(2023, 12, 16), (
                          (1, 2, 1, "Sân chơi cho trẻ em", "VHXH", "new", None, 25, 12.3, None, None, None),
                          (2, 3, 2, "Tổ hòa giải giỏi", "QPAN", "replicated", None, 40, 2.5, None, None, None)),
                             totals=((2, "VHXH", 1, 1, 0, 12.3), (3, "QPAN", 1, 0, 1, 2.5), (4, "TOTAL", 2, 1, 1, 14.8)))))

    # 09b: formulas never computed (a workbook written by a program, openpyxl, that stores formulas
    # without their values): sums and small sums of cells are computed as Excel would
    book = Book()
    book.info("CQ04", "Hội Nông dân thành phố", "Năm 2023", dt.date(2023, 12, 16))
    book.table("Mô hình", 0, MODEL_HEADERS, [
        [1, "Sân chơi cho trẻ em", "Văn hóa - xã hội", "Xây mới", None, None, Formula("=10+15", None), 12.5],
        [Formula("=A2+1", None), "Tổ hòa giải giỏi", "Quốc phòng - an ninh", "Nhân rộng", None, None,
         Formula("=2*20", None), Formula("=(H2-2.5)/4", None)],
    ])
    book.table("Tổng hợp", 0, ("Lĩnh vực", "Tổng số mô hình", "Xây mới", "Nhân rộng", "Kinh phí huy động (triệu đồng)"), [
        ["Văn hóa - xã hội", 1, 1, None, 12.5],
        ["Quốc phòng - an ninh", 1, None, 1, Formula("=5/2", None)],
        ["Tổng cộng", Formula("=SUM(B2:B3)", None), Formula("=SUM(C2:C3)", None), Formula("=SUM(D2:D3)", None),
         Formula("=SUM(E2:E3)", None)],
    ])
    uncached = _rewrite(book.bytes(), lambda name, b: b.replace(b"</f><v>0</v>", b"</f>")
                        if name.startswith("xl/worksheets/") else b)
    cases.append(Case("09b_formulas_uncached.xlsx", uncached, "formulas never computed: sums of cells computed",
                      Loaded("CQ04", "2023", dt.date(2023, 12, 16), (
                          (1, 2, 1, "Sân chơi cho trẻ em", "VHXH", "new", None, 25, 12.5, None, None, None),
                          (2, 3, 2, "Tổ hòa giải giỏi", "QPAN", "replicated", None, 40, 2.5, None, None, None)),
                             totals=((2, "VHXH", 1, 1, None, 12.5), (3, "QPAN", 1, None, 1, 2.5),
                                     (4, "TOTAL", 2, 1, 1, 15.0)))))

    # 10: merged title rows, a wrapped header, the column-numbering row, a section heading, total
    # lines and the signatures under the table
    book = Book()
    book.info("18094", "Phường Thạch Linh", "6 tháng đầu năm 2023", dt.date(2023, 6, 16))
    ws = book.sheet("Mô hình")
    title = book.wb.add_format({"bold": True, "align": "center"})
    ws.merge_range(0, 0, 0, 10, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", title)
    ws.merge_range(1, 0, 1, 10, "Độc lập - Tự do - Hạnh phúc", title)
    ws.merge_range(2, 0, 3, 10, "DANH SÁCH MÔ HÌNH “DÂN VẬN KHÉO” 6 THÁNG ĐẦU NĂM 2023", title)
    headers = list(MODEL_HEADERS)
    headers[7] = "Kinh phí huy động\n(triệu đồng)"
    for c, h in enumerate(headers):
        ws.write_string(5, c, h)
    for c in range(11):
        ws.write_string(6, c, f"({c + 1})")
    ws.write_string(7, 0, "I")
    ws.write_string(7, 1, "LĨNH VỰC PHÁT TRIỂN KINH TẾ")
    ws.write_row(8, 0, [1, "Cánh đồng mẫu lớn", "KT", "Xây mới"])
    ws.write_row(9, 0, [2, "Chợ văn minh", "Kinh tế", "Nhân rộng"])
    ws.write_row(10, 0, ["Cộng", None, None, None, None, None, None, 0])
    ws.write_row(12, 0, [3, "Chi bộ trong sạch vững mạnh", "XDD", "Duy trì"])
    ws.write_row(13, 0, ["Tổng cộng", None, None, None, None, None, None, 0])
    ws.write_string(15, 1, "NGƯỜI LẬP BIỂU")
    ws.write_string(15, 7, "THỦ TRƯỞNG ĐƠN VỊ")
    ws.write_string(16, 1, "(Ký, ghi rõ họ tên)")
    cases.append(Case("10_merged_title_rows.xlsx", book.bytes(),
                      "merged title rows, numbering row, headings, total lines, signatures",
                      Loaded("18094", "2023S1", dt.date(2023, 6, 16), (
                          (1, 9, 1, "Cánh đồng mẫu lớn", "KT", "new", None, None, None, None, None, None),
                          (2, 10, 2, "Chợ văn minh", "KT", "replicated", None, None, None, None, None, None),
                          (3, 13, 3, "Chi bộ trong sạch vững mạnh", "XDD", "replicated", None, None, None, None, None,
                           None)))))

    # 11: columns in another order, header lower down
    book = Book()
    book.info("18097", "Phường Văn Yên", "Quý IV/2023", dt.date(2023, 12, 15))
    order = ("Hình thức", "Lĩnh vực", "Ghi chú", "Tên mô hình", "Số hộ tham gia", "STT")
    book.table("Mô hình", 3, order, [
        ["Xây mới", "Quốc phòng - an ninh", "thí điểm", "Cổng trường an toàn", 200, 1],
        ["Nhân rộng", "Xây dựng Đảng và hệ thống chính trị", None, "Đảng viên gương mẫu", None, 2],
    ])
    cases.append(Case("11_moved_columns.xlsx", book.bytes(), "moved columns, header on row 4",
                      Loaded("18097", "2023Q4", dt.date(2023, 12, 15), (
                          (1, 5, 1, "Cổng trường an toàn", "QPAN", "new", None, 200, None, None, None, "thí điểm"),
                          (2, 6, 2, "Đảng viên gương mẫu", "XDD", "replicated", None, None, None, None, None, None)))))

    # 12: extra columns between the form's
    book = Book()
    book.info("18109", "Xã Thạch Hưng", "Năm 2023", dt.date(2023, 12, 18))
    book.table("Mô hình", 0, ("STT", "Tên mô hình", "Địa bàn thực hiện", "Lĩnh vực", "Người phụ trách", "Hình thức",
                              "Tỷ lệ hoàn thành (%)", "Số hộ tham gia", "Ghi chú"), [
        [1, "Nước sạch nông thôn", "Thôn 1", "Phát triển kinh tế", "Ông A", "Xây mới", 0.5, 75, None],
        [2, "Gia đình văn hóa", "Thôn 2", "Văn hóa - xã hội", "Bà B", "Duy trì, nhân rộng", "100%", 30, "tốt"],
    ])
    cases.append(Case("12_extra_columns.xlsx", book.bytes(), "extra columns ignored",
                      Loaded("18109", "2023", dt.date(2023, 12, 18), (
                          (1, 2, 1, "Nước sạch nông thôn", "KT", "new", None, 75, None, None, None, None),
                          (2, 3, 2, "Gia đình văn hóa", "VHXH", "replicated", None, 30, None, None, None, "tốt")))))

    # 13: blank rows, "Cộng"/"Tổng cộng" lines, stray spaces
    book = Book()
    book.info(" 18112 ", "  Xã   Thạch Bình ", " Năm 2023 ", dt.date(2023, 12, 17))
    book.table("Mô hình", 0, MODEL_HEADERS, [
        [1, "  Tổ  liên gia   tự quản ", "QPAN", "Xây mới "],
        [],
        [None, None, None, None, None, None, None, None],
        [2, "Cộng đồng chung tay vì người nghèo", " VHXH", "Nhân rộng"],
        ["Cộng", None, None, None, None, None, 10],
        [],
        ["Tổng cộng", "", "", "", "", "", 10, 5.5],
    ])
    cases.append(Case("13_blank_and_total_rows.xlsx", book.bytes(), "blank rows, Cộng / Tổng cộng lines, spaces",
                      Loaded("18112", "2023", dt.date(2023, 12, 17), (
                          (1, 2, 1, "Tổ liên gia tự quản", "QPAN", "new", None, None, None, None, None, None),
                          (2, 5, 2, "Cộng đồng chung tay vì người nghèo", "VHXH", "replicated", None, None, None, None,
                           None, None)))))

    # 14: CSV with a byte-order mark
    lines = [_ml(1, "Mặt trận với người nghèo", "XDD", "Nhân rộng", households=15, registered_on="15/02/2023"),
             _ml(2, "Khu dân cư không rác", "VHXH", "Xây mới", funds_million_vnd="4,5")]
    sub = _sub("CQ01", "MTTQ thành phố", "6 tháng đầu năm 2023", dt.date(2023, 6, 15), lines)
    cases.append(Case("14_csv_with_bom.csv", csv_bytes(sub, bom=True), "CSV with a BOM",
                      Loaded("CQ01", "2023S1", dt.date(2023, 6, 15), _expect(lines, first_row=2, overrides={
                          1: dict(registered_on=dt.date(2023, 2, 15)), 2: dict(funds=4.5)}), file_format="csv")))

    # 15: CSV saved by a Vietnamese-locale Excel: ";" separators, headers as the workbook's
    text = ("Mã đơn vị;Tên đơn vị;Kỳ báo cáo;Ngày báo cáo;STT;Tên mô hình;Lĩnh vực;Hình thức;Kinh phí huy động;Ghi chú\r\n"
            "CQ02;Hội Phụ nữ TP;Tháng 5/2023;16/05/2023;1;Nuôi heo đất giúp hội viên;KT;Xây mới;12,5;\r\n")
    cases.append(Case("15_csv_semicolons.csv", text.encode("utf-8"), "CSV with ';' and Vietnamese headers",
                      Loaded("CQ02", "202305", dt.date(2023, 5, 16), (
                          (1, 2, 1, "Nuôi heo đất giúp hội viên", "KT", "new", None, None, 12.5, None, None, None),),
                             file_format="csv")))

    # 16: a file name in NFD with spaces and brackets
    lines = [_ml(1, "Xã thông minh", "KT", "Xây mới")]
    sub = _sub("18103", "Xã Thạch Môn", "Năm 2023", dt.date(2023, 12, 16), lines, with_totals_sheet=False)
    cases.append(Case(_nfd("16 báo cáo xã Thạch Môn (bản cuối).xlsx"), xlsx_bytes(sub, created=FIXED_DATE),
                      "NFD file name with spaces; unit by alias",
                      Loaded("18103", "2023", dt.date(2023, 12, 16), _expect(lines))))
    return cases


def history_cases(first_nfd: bytes) -> list[Case]:
    """Corrections (in and out of order) and a duplicate: every version stays in raw."""
    cases: list[Case] = []
    v1 = [_ml(1, "Gương sáng khu phố", "VHXH", "Xây mới"), _ml(2, "Tổ bảo vệ dân phố", "QPAN", "Nhân rộng")]
    v2 = v1 + [_ml(3, "Hộ kinh doanh văn minh", "KT", "Xây mới")]
    cases.append(Case("20_correction_v1.xlsx",
                      xlsx_bytes(_sub("18077", "Phường Nguyễn Du", "Năm 2023", dt.date(2023, 12, 14), v1),
                                 created=FIXED_DATE),
                      "first version of a (unit, period)",
                      Loaded("18077", "2023", dt.date(2023, 12, 14), _expect(v1),
                             totals=((2, "VHXH", 1, 1, 0, 0), (3, "QPAN", 1, 0, 1, 0), (4, "TOTAL", 2, 1, 1, 0))),
                      received_at=dt.datetime(2023, 12, 15, 2, 0)))
    cases.append(Case("21_correction_v2.xlsx",
                      xlsx_bytes(_sub("18077", "Phường Nguyễn Du", "Năm 2023", dt.date(2023, 12, 18), v2),
                                 created=FIXED_DATE),
                      "a correction: same unit and period, signed and received later",
                      Loaded("18077", "2023", dt.date(2023, 12, 18), _expect(v2),
                             totals=((2, "KT", 1, 1, 0, 0), (3, "VHXH", 1, 1, 0, 0), (4, "QPAN", 1, 0, 1, 0),
                                     (5, "TOTAL", 3, 2, 1, 0))),
                      received_at=dt.datetime(2023, 12, 19, 3, 0)))
    newer = [_ml(1, "Thanh niên tình nguyện", "VHXH", "Xây mới"), _ml(2, "Góc học tập", "VHXH", "Xây mới")]
    older = [_ml(1, "Thanh niên tình nguyện", "VHXH", "Xây mới")]
    cases.append(Case("22_out_of_order_newer.xlsx",
                      xlsx_bytes(_sub("CQ03", "Thành đoàn", "Quý IV/2023", dt.date(2023, 12, 20), newer,
                                      with_totals_sheet=False), created=FIXED_DATE),
                      "out-of-order correction: the newer version, received first",
                      Loaded("CQ03", "2023Q4", dt.date(2023, 12, 20), _expect(newer)),
                      received_at=dt.datetime(2023, 12, 20, 1, 0)))
    cases.append(Case("23_out_of_order_older.xlsx",
                      xlsx_bytes(_sub("CQ03", "Thành đoàn", "Quý IV/2023", dt.date(2023, 12, 10), older,
                                      with_totals_sheet=False), created=FIXED_DATE),
                      "out-of-order correction: the older version, received after it (must not win)",
                      Loaded("CQ03", "2023Q4", dt.date(2023, 12, 10), _expect(older)),
                      received_at=dt.datetime(2023, 12, 21, 1, 0)))
    cases.append(Case("24_duplicate_of_01.xlsx", first_nfd, "the same bytes as 01 under another name",
                      Skipped("already_loaded")))
    return cases


@functools.cache
def _zip_bomb() -> bytes:
    """A real zip bomb: a worksheet of 300 MB of zeros (about 300 kB compressed). Made once per
    process (deflating 300 MB costs 0.8 s, and pytest builds the corpus for each parametrized test
    list and for the inbox); tests/test_ingest_corpus.py's determinism test makes it twice."""
    base = zipfile.ZipFile(io.BytesIO(xlsx_bytes(_sub("18076", "Phường Bắc Hà", "Năm 2023", dt.date(2023, 12, 16),
                                                      [_ml(1, "A", "KT", "Xây mới")]), created=FIXED_DATE)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for info in base.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            if info.filename == "xl/worksheets/sheet2.xml":
                block = bytes(1 << 20)
                with zf.open(entry, "w", force_zip64=True) as fh:
                    for _ in range(300):
                        fh.write(block)
            else:
                zf.writestr(entry, base.read(info))
    return out.getvalue()


def _lying_zip() -> bytes:
    """A zip bomb in disguise: its worksheet's header declares 1 kB; it inflates to about 10 MB."""
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>0</v></c></row>' % (i, i) for i in range(1, 200_001))
    sheet = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats'
             b'.org/spreadsheetml/2006/main"><sheetData>' + rows + b"</sheetData></worksheet>")
    base = xlsx_bytes(_sub("18076", "Phường Bắc Hà", "Năm 2023", dt.date(2023, 12, 16), [_ml(1, "A", "KT", "Xây mới")]),
                      created=FIXED_DATE)
    data = bytearray(_rewrite(base, lambda name, b: sheet if name == "xl/worksheets/sheet2.xml" else b))
    target = b"xl/worksheets/sheet2.xml"
    pos = 0
    while (pos := data.find(b"PK\x03\x04", pos)) != -1:  # local headers: uncompressed size at +22
        n = int.from_bytes(data[pos + 26:pos + 28], "little")
        if data[pos + 30:pos + 30 + n] == target:
            data[pos + 22:pos + 26] = (1000).to_bytes(4, "little")
        pos += 4
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) != -1:  # central directory: uncompressed size at +24
        n = int.from_bytes(data[pos + 28:pos + 30], "little")
        if data[pos + 46:pos + 46 + n] == target:
            data[pos + 24:pos + 28] = (1000).to_bytes(4, "little")
        pos += 4
    return bytes(data)


def _encrypted() -> bytes:
    """What Excel writes for a password-protected workbook: an OLE compound file (header + sectors)
    whose directory names the EncryptionInfo and EncryptedPackage streams."""
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[24:26] = (0x3E).to_bytes(2, "little")  # minor version
    header[26:28] = (3).to_bytes(2, "little")  # major version 3: 512-byte sectors
    header[28:30] = b"\xfe\xff"  # little endian
    header[30:32] = (9).to_bytes(2, "little")
    directory = bytearray(512)
    for i, name in enumerate(("Root Entry", "EncryptionInfo", "EncryptedPackage")):
        raw = name.encode("utf-16-le") + b"\x00\x00"
        directory[i * 128:i * 128 + len(raw)] = raw
        directory[i * 128 + 64:i * 128 + 66] = len(raw).to_bytes(2, "little")
    return bytes(header) + bytes(directory) + bytes(range(256)) * 8


def _broken_models(code: str, name: str, period: str, rows: Sequence[Sequence[object]],
                   headers: Sequence[str] = MODEL_HEADERS, report_date: object = dt.date(2023, 12, 16)) -> bytes:
    book = Book()
    book.info(code, name, period, report_date)
    book.table("Mô hình", 0, headers, rows)
    return book.bytes()


def quarantined_cases() -> list[Case]:
    cases: list[Case] = []
    q = cases.append

    q(Case("40_missing_column.xlsx",
           _broken_models("18076", "Phường Bắc Hà", "Quý II/2023", [[1, "Mô hình A", "KT"]],
                          headers=[h for h in MODEL_HEADERS if h != "Hình thức"]),
           "a required column missing", problems(("missing_column", "Mô hình", 1, "Hình thức"))))
    q(Case("41_negative_count.xlsx",
           _broken_models("18076", "Phường Bắc Hà", "Quý III/2023", [
               [1, "Mô hình A", "KT", "Xây mới", None, None, 12], [2, "Mô hình B", "KT", "Xây mới", None, None, -5]]),
           "a negative count", problems(("bad_value", "Mô hình", 3, "G (Số hộ tham gia)"))))
    q(Case("42_unknown_unit.xlsx",
           _broken_models(None, "Phường Hà Nội", "Năm 2023", [[1, "Mô hình A", "KT", "Xây mới"]]),
           "an unknown unit", problems(("unknown_unit", "Thông tin", 2, "B (Tên đơn vị)"))))
    q(Case("43_unknown_field.xlsx",
           _broken_models("18073", "Phường Nam Hà", "Quý I/2023", [
               [1, "Mô hình A", "KT", "Xây mới"], [2, "Mô hình B", "Môi trường", "Xây mới"]]),
           "an unknown field", problems(("unknown_field", "Mô hình", 3, "C (Lĩnh vực)"))))
    q(Case("44_future_period.xlsx",
           _broken_models("18073", "Phường Nam Hà", "Năm 2026", [[1, "Mô hình A", "KT", "Xây mới"]]),
           "a future period", problems(("future_period", "Thông tin", 3, "B (Kỳ báo cáo)"))))
    q(Case("45_nonexistent_period.xlsx",
           _broken_models("18073", "Phường Nam Hà", "Quý V/2023", [[1, "Mô hình A", "KT", "Xây mới"]]),
           "a period that does not exist", problems(("bad_period", "Thông tin", 3, "B (Kỳ báo cáo)"))))
    q(Case("46_zip_bomb.xlsx", _zip_bomb(), "a zip bomb (300 MB of zeros in a sheet)",
           problems(("zip_bomb", None, None, None))))
    q(Case("47_lying_zip_bomb.xlsx", _lying_zip(), "a zip whose sheet inflates beyond its declared size",
           problems(("zip_bomb", "Mô hình", None, None))))
    q(Case("48_renamed_text.xlsx", "Kính gửi Ban Dân vận: báo cáo gửi kèm.\n".encode("utf-8"),
           "a text file named .xlsx", problems(("not_xlsx", None, None, None))))
    q(Case("49_renamed_docx.xlsx", _zip([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w/>")]),
           "a Word document named .xlsx", problems(("not_xlsx", None, None, None))))
    q(Case("50_encrypted.xlsx", _encrypted(), "a password-protected workbook (OLE container)",
           problems(("encrypted_or_xls", None, None, None))))
    q(Case("51_empty.xlsx", b"", "an empty .xlsx", problems(("empty", None, None, None))))
    # (a second 0-byte file would be the same bytes as 51: skipped as already quarantined)
    q(Case("52_header_only.csv", b"ma_don_vi,ten_don_vi,ky_bao_cao,ngay_bao_cao,stt,ten_mo_hinh,linh_vuc,hinh_thuc\n",
           "a CSV with a header and nothing else", problems(("empty", "csv", 2, None))))
    two_units = ("ma_don_vi,ten_don_vi,ky_bao_cao,ngay_bao_cao,stt,ten_mo_hinh,linh_vuc,hinh_thuc\n"
                 "18070,Phường Trần Phú,Quý I/2023,16/03/2023,1,Mô hình A,KT,Xây mới\n"
                 "18073,Phường Nam Hà,Quý I/2023,16/03/2023,2,Mô hình B,KT,Xây mới\n")
    q(Case("53_csv_two_units.csv", two_units.encode("utf-8"), "a CSV mixing two units",
           problems(("mixed_submissions", "csv", 3, "ten_don_vi"))))
    # (a sum or a small sum of cells is computed instead: 09b; a function like ROUND is not)
    no_value = _rewrite(_broken_models("18079", "Phường Tân Giang", "Năm 2023", [
        [1, "Mô hình A", "KT", "Xây mới", None, None, Formula("=ROUND(10.4,0)", None)]]),
        lambda name, b: b.replace(b"<v>0</v>", b"") if name == "xl/worksheets/sheet2.xml" else b)
    q(Case("54_formula_without_value.xlsx", no_value, "a formula with no cached value (never recalculated)",
           problems(("formula_no_value", "Mô hình", 2, "G (Số hộ tham gia)"))))
    q(Case("55_formula_error.xlsx", _broken_models("18079", "Phường Tân Giang", "Quý I/2023", [
        [1, "Mô hình A", "KT", "Xây mới", None, None, None, Formula("=1/0", "#DIV/0!")]]),
        "a formula whose cached value is #DIV/0!",
        problems(("formula_error", "Mô hình", 2, "H (Kinh phí huy động (triệu đồng))"))))
    q(Case("56_text_in_number.xlsx", _broken_models("18079", "Phường Tân Giang", "Quý II/2023", [
        [1, "Mô hình A", "KT", "Xây mới", None, None, None, "mười hai"]]),
        "a word where a number is required",
        problems(("bad_value", "Mô hình", 2, "H (Kinh phí huy động (triệu đồng))"))))
    cp1258 = ("ma_don_vi,ten_don_vi,ky_bao_cao,ngay_bao_cao,stt,ten_mo_hinh,linh_vuc,hinh_thuc\n"
              "18070,Phường Trần Phú,Quý II/2023,16/06/2023,1,Mô hình A,KT,Xây mới\n")
    q(Case("57_csv_not_utf8.csv", unicodedata.normalize("NFD", cp1258).encode("cp1258", "replace"),
           "a CSV in Windows-1258", problems(("bad_encoding", "csv", None, None))))
    q(Case("58_workbook_named_csv.csv", xlsx_bytes(_sub("18070", "Phường Trần Phú", "Năm 2023", dt.date(2023, 12, 16),
                                                         [_ml(1, "A", "KT", "Xây mới")]), created=FIXED_DATE),
           "a workbook named .csv", problems(("not_csv", None, None, None))))
    q(Case("59_unit_code_and_name_disagree.xlsx",
           _broken_models("18076", "Phường Nam Hà", "Quý III/2023", [[1, "Mô hình A", "KT", "Xây mới"]]),
           "the code names one unit, the name another", problems(("unit_mismatch", "Thông tin", 2, "B (Tên đơn vị)"))))
    q(Case("60_notes.txt", "ghi chú của văn thư".encode("utf-8"), "not a submission file",
           problems(("not_submission", None, None, None))))
    big = ("ma_don_vi,ten_don_vi,ky_bao_cao,ngay_bao_cao,stt,ten_mo_hinh,linh_vuc,hinh_thuc\n"
           + "18070,Phường Trần Phú,Năm 2023,16/12/2023,1,Mô hình rất dài,KT,Xây mới\n" * 30_000)
    q(Case("61_too_large.csv", big.encode("utf-8"), f"over the size limit ({MAX_FILE_BYTES} bytes)",
           problems(("too_large", None, None, None))))
    book = Book()
    book.info("18070", "Phường Trần Phú", "Năm 2023", dt.date(2023, 12, 16))
    book.table("Sheet1", 0, ("Ghi chú",), [["không có bảng mô hình"]])
    q(Case("62_no_model_sheet.xlsx", book.bytes(), "no model sheet", problems(("missing_sheet", "Mô hình", None, None))))
    q(Case("63_every_problem_listed.xlsx", _broken_models("18085", "Phường Hà Huy Tập", "Quý I/2023", [
        [1, "Mô hình A", "Lĩnh vực lạ", "Xây mới"],
        [2, "Mô hình B", "KT", "Mới toanh"],
        [3, "Mô hình C", "KT", "Xây mới", "31/02/2023"]]),
        "three problems in one file: all listed",
        problems(("unknown_field", "Mô hình", 2, "C (Lĩnh vực)"), ("unknown_kind", "Mô hình", 3, "D (Hình thức)"),
                 ("bad_value", "Mô hình", 4, "E (Ngày đăng ký)"))))

    # Odd file names: quarantined under a safe name in the quarantine folder
    q(Case("64 a b;c'$(rm -rf).xlsx", b"not a workbook", "shell-special characters in the name",
           problems(("not_xlsx", None, None, None))))
    long_name = "65_" + "báo cáo mô hình dân vận khéo " * 6 + ".csv"
    assert len(long_name.encode("utf-8")) < 250
    q(Case(long_name, b"PK\x03\x04 not a csv", "a very long name (about 240 bytes)",
           problems(("not_csv", None, None, None))))
    q(Case(b"66_t\xean_latin1.csv", b"\x00\x01\x02 binary", "a name that is not UTF-8",
           problems(("not_csv", None, None, None))))
    return cases


def build_cases() -> list[Case]:
    loaded = loaded_cases()
    return loaded + history_cases(loaded[0].data) + quarantined_cases()


def write(folder: Path, cases: Sequence[Case] | None = None) -> list[Case]:
    """Write every case into ``folder`` (the inbox) with ``_manifest.csv``; returns the cases."""
    cases = list(cases if cases is not None else build_cases())
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for case in cases:
        path = os.path.join(os.fsencode(folder), case.name) if isinstance(case.name, bytes) else folder / case.name
        with open(path, "wb") as fh:
            fh.write(case.data)
        if isinstance(case.name, str):
            rows.append((case.name, case.received_at.strftime("%Y-%m-%dT%H:%M:%SZ")))
    with open(folder / "_manifest.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("file_name", "received_at"))
        writer.writerows(rows)
    return cases


def table(cases: Sequence[Case]) -> str:
    """The corpus as a Markdown table: file, what it exercises, expected outcome."""
    lines = ["| file | exercises | expected |", "|---|---|---|"]
    for case in cases:
        name = case.shown_name if len(case.shown_name) < 60 else case.shown_name[:40] + "…" + case.shown_name[-8:]
        lines.append(f"| `{name}` | {case.what} | {case.expect.describe()} |")
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    cases = write(Path(argv[0]))
    print(table(cases))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
