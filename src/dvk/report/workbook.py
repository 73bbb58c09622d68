"""The annual workbook for people, in Vietnamese (xlsxwriter).

Sheets: "Tổng quan" (title, the city's headline, key figures), "Theo lĩnh vực", "Theo đơn vị",
"Danh sách mô hình", "Đơn vị chưa báo cáo". Every text from a submission is written with
``write_string`` and the workbook is opened with ``strings_to_formulas=False`` (and no URL or
number conversion): a model named "=1+2" stays the text "=1+2", never a formula.
The creation date is the data's "as of" moment, so the same warehouse gives the same file.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter

from dvk.report.data import AnnualData

SHEETS = ("Tổng quan", "Theo lĩnh vực", "Theo đơn vị", "Danh sách mô hình", "Đơn vị chưa báo cáo")

KIND_VI = {"new": "Xây mới", "replicated": "Nhân rộng"}
UNIT_KIND_VI = {"phuong": "Phường", "xa": "Xã", "doan_the": "Đoàn thể", "co_quan": "Cơ quan"}


def workbook_name(year: int) -> str:
    return f"bao-cao-dan-van-kheo-{int(year)}.xlsx"


def _status_vi(status: dict[str, Any] | None) -> str:
    if not status:
        return ""
    if status["status"] == "reported":
        return "Đã báo cáo năm"
    if status["status"] == "provisional":
        label = status.get("source_period_label") or status.get("source_period_id") or ""
        return f"Tạm tính (theo báo cáo {label})".replace(" ()", "")
    return "Chưa báo cáo"


class _Writer:
    """Small helpers: text is always a string cell, numbers numbers, None a blank."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self.wb = wb
        base = {"font_name": "Times New Roman", "font_size": 12, "valign": "vcenter"}
        self.f = {
            "title": wb.add_format({**base, "bold": True, "font_size": 14, "align": "center", "text_wrap": True}),
            "subtitle": wb.add_format({**base, "italic": True, "align": "center"}),
            "para": wb.add_format({**base, "text_wrap": True, "valign": "top", "align": "justify"}),
            "head": wb.add_format({**base, "bold": True, "border": 1, "align": "center", "text_wrap": True, "bg_color": "#DDEBF7"}),
            "text": wb.add_format({**base, "border": 1, "text_wrap": True}),
            "int": wb.add_format({**base, "border": 1, "num_format": "#,##0"}),
            "dec": wb.add_format({**base, "border": 1, "num_format": "#,##0.##"}),
            "date": wb.add_format({**base, "border": 1, "num_format": "dd/mm/yyyy", "align": "center"}),
            "center": wb.add_format({**base, "border": 1, "align": "center"}),
            "total_text": wb.add_format({**base, "border": 1, "bold": True}),
            "total_int": wb.add_format({**base, "border": 1, "bold": True, "num_format": "#,##0"}),
            "total_dec": wb.add_format({**base, "border": 1, "bold": True, "num_format": "#,##0.##"}),
            "prov_text": wb.add_format({**base, "border": 1, "text_wrap": True, "bg_color": "#FFF2CC"}),
            "prov_int": wb.add_format({**base, "border": 1, "num_format": "#,##0", "bg_color": "#FFF2CC"}),
            "prov_dec": wb.add_format({**base, "border": 1, "num_format": "#,##0.##", "bg_color": "#FFF2CC"}),
            "note": wb.add_format({**base, "italic": True, "font_size": 11, "text_wrap": True, "valign": "top"}),
            "label": wb.add_format({**base, "border": 1}),
        }

    def cell(self, ws, row: int, col: int, value: Any, kind: str = "text", style: str = "") -> None:
        fmt = self.f[f"{style}_{kind}" if style and f"{style}_{kind}" in self.f else kind]
        if value is None or value == "":
            ws.write_blank(row, col, None, fmt)
        elif kind in {"int", "dec"} or (
            kind == "center" and isinstance(value, (int, float)) and not isinstance(value, bool)
        ):
            number = float(value) if kind == "dec" else int(value) if kind == "int" else value
            ws.write_number(row, col, number, fmt)
        elif kind == "date":
            if isinstance(value, (date, datetime)):
                ws.write_datetime(row, col, value if isinstance(value, datetime) else datetime(value.year, value.month, value.day), fmt)
            else:
                ws.write_string(row, col, str(value), self.f["text"])
        else:
            ws.write_string(row, col, str(value), fmt)

    def header(self, ws, row: int, columns: list[tuple[str, int]]) -> None:
        for col, (title, width) in enumerate(columns):
            ws.write_string(row, col, title, self.f["head"])
            ws.set_column(col, col, width)
        ws.set_row(row, 36)


def _overview(w: _Writer, data: AnnualData, summary: dict[str, Any]) -> None:
    ws = w.wb.add_worksheet(SHEETS[0])
    ws.set_column(0, 0, 62)
    ws.set_column(1, 1, 18)
    ws.set_column(2, 5, 12)
    ws.merge_range(0, 0, 0, 5, f"BÁO CÁO KẾT QUẢ PHONG TRÀO THI ĐUA \"DÂN VẬN KHÉO\" NĂM {data.year}", w.f["title"])
    ws.set_row(0, 36)
    ws.merge_range(1, 0, 1, 5, "Thành phố Hà Tĩnh", w.f["subtitle"])
    ws.merge_range(3, 0, 3, 5, summary["headline_vi"], w.f["para"])
    ws.set_row(3, 66)
    w.header(ws, 5, [("Chỉ tiêu", 62), ("Số liệu", 18)])
    rows = [
        ("Số địa phương, cơ quan, đơn vị đăng ký xây dựng mô hình", summary["units_registered"], "int"),
        ("Tổng số mô hình \"Dân vận khéo\"", summary["models_total"], "int"),
        ("Trong đó: xây mới", summary["models_new"], "int"),
        ("Trong đó: nhân rộng, duy trì", summary["models_replicated"], "int"),
        ("Số lĩnh vực có mô hình", summary["fields_registered"], "int"),
        ("Số hộ tham gia", summary["households"], "int"),
        ("Kinh phí huy động (triệu đồng)", summary["funds_million_vnd"], "dec"),
        ("Ngày công", summary["labour_days"], "int"),
        ("Đất hiến (m2)", summary["land_m2"], "dec"),
        ("Đơn vị phải báo cáo trong năm", summary["units_expected"], "int"),
        ("Đơn vị đã gửi báo cáo năm", summary["units_reported"], "int"),
        ("Đơn vị tạm tính (chưa có báo cáo năm)", summary["units_provisional"], "int"),
        ("Đơn vị chưa báo cáo", summary["units_missing"], "int"),
    ]
    for i, (label, value, kind) in enumerate(rows, 6):
        w.cell(ws, i, 0, label, "label")
        w.cell(ws, i, 1, value, kind)
    note_row = 6 + len(rows) + 1
    ws.merge_range(
        note_row, 0, note_row + 1, 5,
        "Ghi chú: số liệu năm của mỗi đơn vị lấy từ báo cáo năm mới nhất được chấp nhận; đơn vị chưa có "
        "báo cáo năm được tính theo báo cáo gần nhất trong năm và đánh dấu \"tạm tính\" (xem sheet "
        "\"Đơn vị chưa báo cáo\"). Số liệu đã qua kiểm tra chất lượng: số tổng hợp khai báo khớp với "
        "danh sách mô hình, xây mới + nhân rộng = tổng số, kho dữ liệu khớp với báo cáo gốc.",
        w.f["note"],
    )
    ws.set_row(note_row, 40)
    ws.set_row(note_row + 1, 40)


def _by_field(w: _Writer, data: AnnualData, summary: dict[str, Any]) -> None:
    ws = w.wb.add_worksheet(SHEETS[1])
    ws.merge_range(0, 0, 0, 10, f"KẾT QUẢ XÂY DỰNG MÔ HÌNH \"DÂN VẬN KHÉO\" NĂM {data.year} THEO LĨNH VỰC", w.f["title"])
    ws.set_row(0, 30)
    w.header(ws, 2, [
        ("STT", 6), ("Mã", 8), ("Lĩnh vực", 40), ("Tổng số mô hình", 12), ("Xây mới", 10),
        ("Nhân rộng", 10), ("Số đơn vị có mô hình", 12), ("Số hộ tham gia", 12),
        ("Kinh phí huy động (triệu đồng)", 16), ("Ngày công", 12), ("Đất hiến (m2)", 14),
    ])
    details = summary["field_details"]
    row = 3
    for i, code in enumerate(summary["fields"], 1):
        f, d = summary["fields"][code], details[code]
        w.cell(ws, row, 0, i, "center")
        w.cell(ws, row, 1, code, "center")
        w.cell(ws, row, 2, d["name_vi"])
        for col, (value, kind) in enumerate(
            [(f["total"], "int"), (f["new"], "int"), (f["replicated"], "int"), (d["units"], "int"),
             (d["households"], "int"), (d["funds_million_vnd"], "dec"), (d["labour_days"], "int"),
             (d["land_m2"], "dec")], 3):
            w.cell(ws, row, col, value, kind)
        row += 1
    w.cell(ws, row, 0, "", "text", "total")
    w.cell(ws, row, 1, "", "text", "total")
    w.cell(ws, row, 2, "Tổng cộng", "text", "total")
    for col, (value, kind) in enumerate(
        [(summary["models_total"], "int"), (summary["models_new"], "int"),
         (summary["models_replicated"], "int"), (summary["units_registered"], "int"),
         (summary["households"], "int"), (summary["funds_million_vnd"], "dec"),
         (summary["labour_days"], "int"), (summary["land_m2"], "dec")], 3):
        w.cell(ws, row, col, value, kind, "total")
    ws.freeze_panes(3, 0)


def _by_unit(w: _Writer, data: AnnualData, summary: dict[str, Any]) -> None:
    ws = w.wb.add_worksheet(SHEETS[2])
    codes = list(summary["fields"])
    columns = [("STT", 6), ("Mã đơn vị", 10), ("Tên đơn vị", 34), ("Tình trạng báo cáo", 26),
               ("Tạm tính", 9), ("Tổng số mô hình", 11), ("Xây mới", 9), ("Nhân rộng", 10)]
    columns += [(code, 8) for code in codes]
    columns += [("Số hộ tham gia", 11), ("Kinh phí huy động (triệu đồng)", 15), ("Ngày công", 10),
                ("Đất hiến (m2)", 12)]
    ws.merge_range(0, 0, 0, len(columns) - 1,
                   f"KẾT QUẢ XÂY DỰNG MÔ HÌNH \"DÂN VẬN KHÉO\" NĂM {data.year} THEO ĐƠN VỊ", w.f["title"])
    ws.set_row(0, 30)
    w.header(ws, 2, columns)
    by_code = {u["code"]: u for u in data.unit_totals()}
    row = 3
    for i, st in enumerate(data.source_units, 1):
        u = by_code.get(st["unit_code"])
        style = "prov" if st["status"] == "provisional" else ""
        values: list[tuple[Any, str]] = [
            (i, "center"), (st["unit_code"], "center"), (st["unit_name"] or st["unit_code"], "text"),
            (_status_vi(st), "text"), ("x" if st["status"] == "provisional" else "", "center"),
            (u["total"] if u else 0, "int"), (u["new"] if u else 0, "int"),
            (u["replicated"] if u else 0, "int"),
        ]
        values += [((u["by_field"].get(c, 0) if u else 0), "int") for c in codes]
        values += [(u["households"] if u else 0, "int"), (u["funds_million_vnd"] if u else 0.0, "dec"),
                   (u["labour_days"] if u else 0, "int"), (u["land_m2"] if u else 0.0, "dec")]
        for col, (value, kind) in enumerate(values):
            w.cell(ws, row, col, value, kind, style)
        row += 1
    for col in range(5):
        w.cell(ws, row, col, "Tổng cộng" if col == 2 else "", "text", "total")
    totals = [summary["models_total"], summary["models_new"], summary["models_replicated"]]
    totals += [summary["fields"][c]["total"] for c in codes]
    for col, value in enumerate(totals, 5):
        w.cell(ws, row, col, value, "int", "total")
    col = 5 + len(totals)
    for value, kind in [(summary["households"], "int"), (summary["funds_million_vnd"], "dec"),
                        (summary["labour_days"], "int"), (summary["land_m2"], "dec")]:
        w.cell(ws, row, col, value, kind, "total")
        col += 1
    ws.merge_range(row + 2, 0, row + 2, 10,
                   "Dòng tô màu, đánh dấu \"x\" ở cột Tạm tính: đơn vị chưa gửi báo cáo năm, số liệu tạm tính "
                   "theo báo cáo gần nhất trong năm.", w.f["note"])
    ws.set_row(row + 2, 32)
    ws.freeze_panes(3, 3)


def _models(w: _Writer, data: AnnualData) -> None:
    ws = w.wb.add_worksheet(SHEETS[3])
    columns = [("STT", 6), ("Mã đơn vị", 10), ("Tên đơn vị", 30), ("Kỳ số liệu", 10), ("Tạm tính", 9),
               ("Mã lĩnh vực", 9), ("Lĩnh vực", 30), ("Tên mô hình", 50), ("Hình thức", 11),
               ("Ngày đăng ký", 12), ("Cấp công nhận", 14), ("Số hộ tham gia", 10),
               ("Kinh phí huy động (triệu đồng)", 14), ("Ngày công", 10), ("Đất hiến (m2)", 11),
               ("Ghi chú", 30)]
    ws.merge_range(0, 0, 0, len(columns) - 1,
                   f"DANH SÁCH MÔ HÌNH \"DÂN VẬN KHÉO\" NĂM {data.year}", w.f["title"])
    ws.set_row(0, 30)
    w.header(ws, 2, columns)
    row = 3
    for i, m in enumerate(data.models, 1):
        values = [
            (i, "center"), (m["unit_code"], "center"), (m["unit_name"] or m["unit_code"], "text"),
            (m["period_id"], "center"), ("x" if m["status"] == "provisional" else "", "center"),
            (m["field_code"], "center"), (data.field_name(m["field_code"]), "text"),
            (m["model_name"], "text"), (KIND_VI.get(m["model_kind"], m["model_kind"]), "text"),
            (m["registered_on"], "date"), (m["recognition_level"], "text"),
            (m["households"], "int"), (m["funds_million_vnd"], "dec"), (m["labour_days"], "int"),
            (m["land_m2"], "dec"), (m["note"], "text"),
        ]
        for col, (value, kind) in enumerate(values):
            w.cell(ws, row, col, value, kind)
        row += 1
    ws.autofilter(2, 0, max(row - 1, 2), len(columns) - 1)
    ws.freeze_panes(3, 0)


def _not_reported(w: _Writer, data: AnnualData) -> None:
    ws = w.wb.add_worksheet(SHEETS[4])
    columns = [("STT", 6), ("Mã đơn vị", 10), ("Tên đơn vị", 34), ("Loại", 12), ("Tình trạng", 16),
               ("Ghi chú", 60)]
    ws.merge_range(0, 0, 0, len(columns) - 1,
                   f"ĐƠN VỊ CHƯA GỬI BÁO CÁO NĂM {data.year}", w.f["title"])
    ws.set_row(0, 30)
    w.header(ws, 2, columns)
    row = 3
    entries = [(s, "Chưa báo cáo", f"Không có báo cáo nào của năm {data.year}.") for s in data.missing]
    entries += [
        (s, "Tạm tính",
         f"Chưa có báo cáo năm; số liệu tạm tính theo báo cáo {s.get('source_period_label') or s['source_period_id']}.")
        for s in data.provisional
    ]
    for i, (s, status, note) in enumerate(entries, 1):
        style = "prov" if s["status"] == "provisional" else ""
        for col, (value, kind) in enumerate([
            (i, "center"), (s["unit_code"], "center"), (s["unit_name"] or s["unit_code"], "text"),
            (UNIT_KIND_VI.get(s["unit_kind"] or "", s["unit_kind"]), "text"), (status, "text"),
            (note, "text"),
        ]):
            w.cell(ws, row, col, value, kind, style)
        row += 1
    if not entries:
        ws.merge_range(row, 0, row, len(columns) - 1, "Tất cả đơn vị đã gửi báo cáo năm.", w.f["text"])


def write_workbook(path: Path, data: AnnualData, summary: dict[str, Any]) -> Path:
    wb = xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    try:
        wb.set_properties({
            "title": f"Báo cáo phong trào thi đua \"Dân vận khéo\" năm {data.year}",
            "subject": "Thành phố Hà Tĩnh",
            "author": "Kho dữ liệu Dân vận khéo (dvk)",
            "created": data.as_of,
        })
        w = _Writer(wb)
        _overview(w, data, summary)
        _by_field(w, data, summary)
        _by_unit(w, data, summary)
        _models(w, data)
        _not_reported(w, data)
    finally:
        wb.close()
    return path
