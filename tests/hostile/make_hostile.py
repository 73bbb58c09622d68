"""The hostile corpus: files an attacker or a careless uploader puts in the inbox (issue 11).

    .venv/bin/python tests/hostile/make_hostile.py OUT_DIR     # writes the inbox, prints the table

Every case is built here by code (no committed binary) and declared beside what the ingest must do
with it, in the same run as a good control file that must load:

- ``Loaded(models, warnings)``: loaded, with that many model lines (and those warning codes);
- ``Quarantined(codes)``: moved to quarantine with at least one problem of each code;
- ``Left(outcome)``: left in the inbox untouched, reported as ``waiting``, ``ignored`` or ``refused``.

A case may also be an entry that is not a plain file (a symlink, a folder, a FIFO): ``kind``.
Add a class of hostile input here, with its expected outcome, when one is found: the tests in
``tests/test_ingest_hostile.py`` run every case (and under memory and CPU limits).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``dvk`` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from dvk.forms import ModelLine, Submission, csv_bytes, xlsx_bytes  # noqa: E402
from dvk.ingest.bounds import MODEL_BOUNDS  # noqa: E402
from dvk.text import unicode_to_tcvn3  # noqa: E402

CSV_HEADER = ("ma_don_vi,ten_don_vi,ky_bao_cao,ngay_bao_cao,stt,ten_mo_hinh,linh_vuc,hinh_thuc,ngay_dang_ky,"
              "cap_cong_nhan,so_ho_tham_gia,kinh_phi_trieu_dong,ngay_cong,dat_hien_m2,ghi_chu")
CONTROL_NAME = "Mô hình\x00 tổ\x07 dân \x1b[31mphố\x1b[0m mẫu\x7f"
#: In a CSV, a NUL makes the file binary (``not_csv``): the CSV case carries the others.
CONTROL_NAME_CSV = CONTROL_NAME.replace("\x00", "")
CONTROL_NOTE = "ghi\tchú\x1b]0;x\x07 nhiều\ndòng\x08"


@dataclass(frozen=True)
class Loaded:
    models: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Quarantined:
    codes: frozenset[str]


@dataclass(frozen=True)
class Left:
    outcome: str  # waiting | ignored | refused


@dataclass
class Case:
    name: str
    exercises: str
    expected: Loaded | Quarantined | Left
    data: bytes = b""
    #: "file" (default), "symlink" (to ``target``), "dir", "fifo"
    kind: str = "file"
    #: a symlink's target: "/etc/passwd", or "outside" (a good workbook outside the inbox)
    target: str | None = None
    #: True: modified just now (an upload in progress); else dated an hour ago
    fresh: bool = False
    extra: dict = field(default_factory=dict)


def _lines(n: int, **figures) -> list[ModelLine]:
    kinds = ("Xây mới", "Nhân rộng")
    fields = ("Phát triển kinh tế", "Văn hóa - xã hội", "Quốc phòng - an ninh", "Xây dựng Đảng và hệ thống chính trị")
    return [ModelLine(name=f"Mô hình thử số {i}", field=fields[i % 4], kind=kinds[i % 2],
                      registered_on=dt.date(2023, 3, 1), **figures) for i in range(1, n + 1)]


def good_submission(code: str = "18070", name: str = "Phường Trần Phú", period: str = "Năm 2023",
                    n: int = 3, **figures) -> Submission:
    figures = figures or {"households": 12, "funds_million_vnd": 3.5, "labour_days": 40, "land_m2": 25}
    return Submission(unit_code=code, unit_name=name, period=period, report_date=dt.date(2023, 12, 16),
                      models=_lines(n, **figures), preparer_name="Nguyễn Văn A", preparer_phone="0912345678")


def good_xlsx(**kwargs) -> bytes:
    return xlsx_bytes(good_submission(**kwargs))


# ------------------------------------------------------------------------------ zip surgery


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _rezip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


def _model_sheet(parts: dict[str, bytes]) -> str:
    from dvk.ingest.budget import sheet_names

    return next(part for part, name in sheet_names(parts).items() if name == "Mô hình")


def patch_model_sheet(data: bytes, patch: Callable[[bytes], bytes]) -> bytes:
    parts = _parts(data)
    part = _model_sheet(parts)
    parts[part] = patch(parts[part])
    return _rezip(parts)


def with_far_cell(ref: str) -> bytes:
    row = re.match(r"[A-Z]+(\d+)", ref).group(1)
    return patch_model_sheet(good_xlsx(code="18073", name="Phường Nam Hà"), lambda xml: xml.replace(
        b"</sheetData>", f'<row r="{row}"><c r="{ref}"><v>1</v></c></row></sheetData>'.encode()))


def with_shared_strings(count: int) -> bytes:
    parts = _parts(good_xlsx(code="18076", name="Phường Bắc Hà"))
    parts["xl/sharedStrings.xml"] = re.sub(rb'uniqueCount="\d+"', f'uniqueCount="{count}"'.encode(),
                                           parts["xl/sharedStrings.xml"])
    return _rezip(parts)


def with_comment_of_openers(n: int = 200_000) -> bytes:
    """A worksheet ending in a comment that holds ``n`` cell openers (and a formula marker)."""
    comment = b"<!-- f> " + b"<c>" * n + b" -->"
    return patch_model_sheet(good_xlsx(code="18077", name="Phường Nguyễn Du"),
                             lambda xml: xml.replace(b"</worksheet>", comment + b"</worksheet>"))


def with_value(column: str, text: str, code: str, name: str) -> bytes:
    """The first model line's number in ``column`` (a letter) replaced by ``text`` in the XML."""

    def patch(xml: bytes) -> bytes:
        pattern = re.compile(rb'(<c r="' + column.encode() + rb'(\d+)"(?: s="\d+")?><v>)([^<]*)(</v>)')  # a number
        return pattern.sub(lambda m: m.group(1) + text.encode() + m.group(4), xml, count=1)

    return patch_model_sheet(good_xlsx(code=code, name=name), patch)


def first_model_row(data: bytes, column: str) -> int:
    parts = _parts(data)
    xml = parts[_model_sheet(parts)]
    return int(re.search(rb'<c r="' + column.encode() + rb'(\d+)"(?: s="\d+")?><v>', xml).group(1))


# ------------------------------------------------------------------------------ hand-made workbooks


def simple_xlsx(info: list[tuple[str, object]], header: list[str], rows: list[list[object]],
                sheets: tuple[str, str] = ("Thông tin", "Mô hình")) -> bytes:
    """A workbook of two sheets written cell by cell (for headers the form writer would not write)."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False,
                                   "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"created": dt.datetime(2000, 1, 1)})
    ws = wb.add_worksheet(sheets[0])
    for r, (label, value) in enumerate(info):
        ws.write(r, 0, label)
        ws.write(r, 1, value)
    ws = wb.add_worksheet(sheets[1])
    for c, text in enumerate(header):
        ws.write(0, c, text)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is not None:
                ws.write(r, c, value)
    wb.close()
    return buf.getvalue()


MODEL_HEADER = ["STT", "Tên mô hình", "Lĩnh vực", "Hình thức", "Ngày đăng ký", "Cấp công nhận", "Số hộ tham gia",
                "Kinh phí huy động (triệu đồng)", "Ngày công", "Đất hiến (m2)", "Ghi chú"]


def tcvn3_workbook() -> bytes:
    """Everything typed in TCVN3 (ABC keyboard), headers and sheet names included."""
    t = unicode_to_tcvn3
    info = [(t("Mã đơn vị"), "18079"), (t("Tên đơn vị"), t("Phường Tân Giang")), (t("Kỳ báo cáo"), t("Năm 2023")),
            (t("Ngày báo cáo"), "16/12/2023")]
    rows = [[1, t("Tổ dân phố văn minh"), t("Văn hóa - xã hội"), t("Xây mới"), None, t("Cấp xã"), 25, 4.5, 60, 12,
             t("Ghi chú một")],
            [2, t("Đường giao thông nông thôn"), t("Phát triển kinh tế"), t("Nhân rộng"), None, None, 31, 120.0, 300, 450,
             t("Hộ dân hiến đất")]]
    return simple_xlsx(info, [t(h) for h in MODEL_HEADER], rows, sheets=(t("Thông tin"), t("Mô hình")))


def unknown_column_workbook() -> bytes:
    info = [("Mã đơn vị", "18082"), ("Tên đơn vị", "Phường Đại Nài"), ("Kỳ báo cáo", "Năm 2023"),
            ("Ngày báo cáo", "16/12/2023")]
    header = MODEL_HEADER + ["Số người hưởng lợi"]
    rows = [[1, "Mô hình A", "KT", "Xây mới", None, None, 5, 1.5, 10, 0, "", 120],
            [2, "Mô hình B", "VHXH", "Nhân rộng", None, None, 6, 2.5, 11, 0, "", 80]]
    return simple_xlsx(info, header, rows)


# ------------------------------------------------------------------------------ CSV


def csv_text(rows: list[str]) -> bytes:
    return ("\n".join([CSV_HEADER, *rows]) + "\n").encode("utf-8")


def _csv_row(stt: int, name: str, funds: str, note: str = "", code: str = "CQ01",
             unit: str = "Ủy ban MTTQ Việt Nam thành phố") -> str:
    return f"{code},{unit},Năm 2023,16/12/2023,{stt},{name},KT,Xây mới,01/03/2023,,5,{funds},10,0,{note}"


def control_csv() -> bytes:
    sub = Submission(unit_code="CQ02", unit_name="Hội Liên hiệp Phụ nữ thành phố", period="Năm 2023",
                     report_date=dt.date(2023, 12, 16),
                     models=[ModelLine(name=CONTROL_NAME_CSV, field="KT", kind="Xây mới", households=3,
                                       note=CONTROL_NOTE),
                             ModelLine(name="Mô hình sạch", field="QPAN", kind="Nhân rộng", households=4)],
                     preparer_name="Trần\x1b[2J Thị\x7f B", preparer_phone="09\x0712")
    return csv_bytes(sub)


def control_xlsx() -> bytes:
    sub = Submission(unit_code="18085", unit_name="Phường Hà Huy Tập", period="Năm 2023",
                     report_date=dt.date(2023, 12, 16),
                     models=[ModelLine(name=CONTROL_NAME, field="KT", kind="Xây mới", households=3, note=CONTROL_NOTE)])
    return xlsx_bytes(sub)


# ------------------------------------------------------------------------------ the corpus


def cases() -> list[Case]:
    good = good_xlsx(code="18070", name="Phường Trần Phú")
    nan_book = with_value("G", "NaN", "18088", "Xã Thạch Trung")
    inf_book = with_value("H", "inf", "18091", "Phường Thạch Quý")
    huge_book = with_value("H", "1e308", "18094", "Phường Thạch Linh")
    big = "1" + "0" * 308  # 1e308 written out in digits: a valid number to a naive reader
    return [
        Case("00_control_good.xlsx", "the good control file", Loaded(3), good),
        # 1. poison pills
        Case("10_cell_at_XFD1048576.xlsx", "one cell at XFD1048576 (dense read of hundreds of GB: SIGABRT)",
             Quarantined(frozenset({"sheet_too_large"})), with_far_cell("XFD1048576")),
        Case("11_cell_at_ZZ200000.xlsx", "one cell at ZZ200000 (a Rust panic, a BaseException)",
             Quarantined(frozenset({"sheet_too_large"})), with_far_cell("ZZ200000")),
        Case("12_shared_strings_4e9.xlsx", "sharedStrings.xml declaring 4 billion strings (abort at open)",
             Quarantined(frozenset({"sheet_too_large"})), with_shared_strings(4_000_000_000)),
        Case("13_comment_of_cell_openers.xlsx", "a comment of 200,000 <c> openers (a quadratic regex: hours)",
             Loaded(3), with_comment_of_openers()),
        Case("14_funds_1e308.csv", "funds of 1e308 on two lines (broke dbt build)",
             Quarantined(frozenset({"bad_value"})),
             csv_text([_csv_row(1, "Mô hình một", big), _csv_row(2, "Mô hình hai", big)]),
             extra={"rows": (2, 3), "column": "kinh_phi_trieu_dong"}),
        Case("15_funds_1e308.xlsx", "a number cell of 1e308", Quarantined(frozenset({"bad_value"})), huge_book,
             extra={"row": first_model_row(huge_book, "H"), "column": "H"}),
        Case("16_households_above_bound.csv", f"households above the bound ({MODEL_BOUNDS['households']:,.0f})",
             Quarantined(frozenset({"bad_value"})),
             csv_text([_csv_row(1, "Mô hình một", "1", code="CQ06", unit="Liên đoàn Lao động thành phố")
                       .replace(",5,1,10,", f",{int(MODEL_BOUNDS['households']) + 1},1,10,")])),
        # 3. silent damage
        Case("30_unquoted_decimal_comma.csv", "an unquoted 12,5: 16 fields for 15 columns (was realigned)",
             Quarantined(frozenset({"field_count"})),
             csv_text([_csv_row(1, "Mô hình một", "3", code="CQ04", unit="Hội Nông dân thành phố"),
                       _csv_row(2, "Mô hình hai", "12,5", note="ghi chú", code="CQ04",
                                unit="Hội Nông dân thành phố")]),
             extra={"row": 3}),
        Case("31_nan_households.xlsx", "a number cell holding NaN (was read as blank)",
             Quarantined(frozenset({"bad_value"})), nan_book,
             extra={"row": first_model_row(nan_book, "G"), "column": "G"}),
        Case("32_inf_funds.xlsx", "a number cell holding inf", Quarantined(frozenset({"bad_value"})), inf_book),
        Case("33_control_characters.csv", "BEL, ESC sequences, DEL, backspace in names, notes, preparer: loaded clean",
             Loaded(2), control_csv()),
        Case("34_control_characters.xlsx", "NUL, BEL, ESC sequences, DEL in a workbook: loaded clean", Loaded(1), control_xlsx()),
        Case("35_tcvn3_headers.xlsx", "typed in TCVN3: 'Số hộ tham gia', 'Ghi chú' are also Unicode words",
             Loaded(2), tcvn3_workbook(), extra={"households": [25, 31], "notes": ["Ghi chú một", "Hộ dân hiến đất"]}),
        Case("36_unknown_column.xlsx", "a column with data and a header the form does not know",
             Loaded(2, ("unknown_column",)), unknown_column_workbook()),
        # 2. uploads in progress
        Case("20_upload_in_progress.xlsx", "a workbook still being written (half its bytes, modified now)",
             Left("waiting"), good_xlsx(code="18097", name="Phường Văn Yên")[:3000], fresh=True),
        Case("21_upload.xlsx.part", "a temporary upload name", Left("ignored"), good[:2000]),
        Case("~$21_upload.xlsx", "an Excel lock file", Left("ignored"), b"\x00" * 165),
        Case("22_download.csv.crdownload", "a browser download in progress", Left("ignored"), b"ma_don_vi,"),
        Case("23_export.tmp", "a temporary file", Left("ignored"), b"tmp"),
        # 4. not regular files
        Case("40_passwd.csv", "a symlink to /etc/passwd (was copied to quarantine)", Left("refused"),
             kind="symlink", target="/etc/passwd"),
        Case("41_outside.xlsx", "a symlink to a workbook outside the inbox (was loaded)", Left("refused"),
             kind="symlink", target="outside"),
        Case("42_folder.xlsx", "a folder", Left("refused"), kind="dir"),
        Case("43_pipe.csv", "a FIFO (opening it would block the run)", Left("refused"), kind="fifo"),
    ]


def outside_workbook() -> bytes:
    """The workbook a symlink points to, outside the inbox: must never be loaded."""
    return good_xlsx(code="18100", name="Xã Thạch Hạ", period="Năm 2022")


def write_inbox(inbox: Path, outside_dir: Path, now: float | None = None) -> list[Case]:
    """Write every case into ``inbox`` (``outside_dir`` holds what the symlinks point to)."""
    import os
    import time

    now = time.time() if now is None else now
    inbox.mkdir(parents=True, exist_ok=True)
    outside_dir.mkdir(parents=True, exist_ok=True)
    outside = outside_dir / "outside.xlsx"
    outside.write_bytes(outside_workbook())
    all_cases = cases()
    for case in all_cases:
        path = inbox / case.name
        if case.kind == "file":
            path.write_bytes(case.data)
            stamp = now if case.fresh else now - 3600
            os.utime(path, (stamp, stamp))
        elif case.kind == "symlink":
            path.symlink_to(outside if case.target == "outside" else Path(case.target))
        elif case.kind == "dir":
            path.mkdir()
        elif case.kind == "fifo":
            os.mkfifo(path)
    return all_cases


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("hostile-inbox")
    for case in write_inbox(out / "inbox", out / "outside"):
        print(f"| `{case.name}` | {case.exercises} | {type(case.expected).__name__.lower()}: "
              f"{getattr(case.expected, 'outcome', None) or getattr(case.expected, 'models', None) or sorted(case.expected.codes)} |")
