"""The tables of the annual report, once, for both the workbook and the CSV extracts.

Each :class:`Table` is a header (columns with a Vietnamese title and a kind) and rows of plain
values (``str``, ``int``, ``float``, ``date`` or ``None``), optionally with a totals row. The
workbook (``workbook.py``) lays them out for people; the CSV writer (``extracts.py``) writes the
same rows, so the two extracts never disagree.

    by_field(data, summary), by_unit(data, summary), models(data), not_reported(data)
    today_geography(data)        # 2020 to the year on today's units (when the mart exists)
    model_records(data)          # the model list for machines (models.json), unescaped
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from dvk.report.data import FIRST_TODAY_YEAR, AnnualData

KIND_VI = {"new": "Xây mới", "replicated": "Nhân rộng"}
UNIT_KIND_VI = {"phuong": "Phường", "xa": "Xã", "doan_the": "Đoàn thể", "co_quan": "Cơ quan"}
STATUS_VI = {"reported": "Đã báo cáo năm", "provisional": "Tạm tính", "missing": "Chưa báo cáo"}
TOTAL_LABEL = "Tổng cộng"


@dataclass(frozen=True)
class Column:
    """One column. ``kind``: ``text`` (wrapped), ``code`` (short, centred), ``int`` (#,##0),
    ``dec`` (#,##0.0), ``date`` (dd/mm/yyyy), ``flag`` (an "x", centred).
    ``group``: a heading spanning neighbouring columns (second header row in the workbook).
    ``csv_title``: the CSV header when it differs from the workbook's (e.g. without the group).
    ``total``: ``sum`` (the totals row sums the column, a SUM formula in the workbook),
    ``value`` (a figure that is not a sum, e.g. distinct units), ``label`` or None."""

    title: str
    kind: str = "text"
    max_width: float = 40
    group: str | None = None
    csv_title: str | None = None
    total: str | None = None

    @property
    def csv_header(self) -> str:
        return self.csv_title or self.title


@dataclass
class Table:
    key: str                      # CSV file stem: "<key>-<year>.csv"
    sheet: str                    # worksheet name (Vietnamese, <= 31 characters)
    title: str                    # the table's title line in the workbook
    columns: list[Column]
    rows: list[list[Any]]
    provisional: list[bool] = field(default_factory=list)   # per row: highlight as "Tạm tính"
    total: list[Any] | None = None                          # the totals row, or None
    empty_text: str | None = None                           # shown when there is no row
    note: str | None = None                                 # a line under the table

    def csv_rows(self) -> list[list[Any]]:
        rows = [list(r) for r in self.rows]
        if self.total is not None:
            rows.append(list(self.total))
        return rows


def uncounted_split_predecessors(status: dict[str, Any] | None) -> list[str]:
    """What a unit counted from its predecessors leaves out (rule 3): the predecessors split
    between successors, counted in none of them (their shares are estimates, rule 4)."""
    status = status or {}
    if status.get("figures_source") != "predecessors":
        return []
    return [c.strip() for c in (status.get("uncounted_split_predecessor_codes") or "").split(";") if c.strip()]


def split_note(status: dict[str, Any] | None) -> str:
    """:func:`uncounted_split_predecessors` as the notes say it ("" when none)."""
    codes = uncounted_split_predecessors(status)
    return f"chưa gồm đơn vị cũ bị chia tách ({'; '.join(codes)})" if codes else ""


def provisional_label(status: dict[str, Any] | None) -> str:
    """"Tạm tính (theo báo cáo Quý III/2021)": the flag and the period it is based on."""
    if not status or status.get("status") != "provisional":
        return ""
    if status.get("figures_source") == "predecessors":  # rule 3 of the reorganisations spec
        codes = status.get("predecessor_unit_codes") or ""
        left = f"; {split_note(status)}" if split_note(status) else ""
        return f"Tạm tính (từ báo cáo của các đơn vị cũ: {codes}{left})" if codes else f"Tạm tính (từ đơn vị cũ{left})"
    label = status.get("source_period_label") or status.get("source_period_id") or ""
    return f"Tạm tính (theo báo cáo {label})" if label else "Tạm tính"


def status_vi(status: dict[str, Any] | None) -> str:
    if not status:
        return ""
    if status["status"] == "provisional":
        return provisional_label(status)
    return STATUS_VI.get(status["status"], status["status"])


def _period_label(status: dict[str, Any] | None) -> str | None:
    if not status:
        return None
    return status.get("source_period_label") or status.get("source_period_id")


# ---- by field ------------------------------------------------------------------------------


def by_field(data: AnnualData, summary: dict[str, Any]) -> Table:
    columns = [
        Column("STT", "code", 6),
        Column("Mã lĩnh vực", "code", 9),
        Column("Lĩnh vực", "text", 40, total="label"),
        Column("Tổng số", "int", 11, group="Số mô hình", csv_title="Tổng số mô hình", total="sum"),
        Column("Xây mới", "int", 11, group="Số mô hình", total="sum"),
        Column("Nhân rộng", "int", 11, group="Số mô hình", total="sum"),
        Column("Số đơn vị có mô hình", "int", 12, total="value"),
        Column("Số hộ tham gia", "int", 12, total="sum"),
        Column("Kinh phí huy động (triệu đồng)", "dec", 16, total="sum"),
        Column("Ngày công", "int", 12, total="sum"),
        Column("Đất hiến (m2)", "dec", 12, total="sum"),
    ]
    details = summary["field_details"]
    rows = []
    for i, code in enumerate(summary["fields"], 1):
        f, d = summary["fields"][code], details[code]
        rows.append([i, code, d["name_vi"], f["total"], f["new"], f["replicated"], d["units"],
                     d["households"], d["funds_million_vnd"], d["labour_days"], d["land_m2"]])
    total = [None, None, TOTAL_LABEL, summary["models_total"], summary["models_new"],
             summary["models_replicated"], summary["units_registered"], summary["households"],
             summary["funds_million_vnd"], summary["labour_days"], summary["land_m2"]]
    return Table(
        key="theo-linh-vuc", sheet="Theo lĩnh vực",
        title=f"KẾT QUẢ XÂY DỰNG MÔ HÌNH \"DÂN VẬN KHÉO\" NĂM {data.year} THEO LĨNH VỰC",
        columns=columns, rows=rows, provisional=[False] * len(rows), total=total,
        note="Cột \"Số đơn vị có mô hình\": số địa phương, cơ quan, đơn vị có ít nhất một mô hình trong "
             "lĩnh vực; dòng Tổng cộng là số đơn vị có mô hình (một đơn vị có thể có mô hình ở nhiều "
             "lĩnh vực, nên không bằng tổng của cột).",
    )


# ---- by unit -------------------------------------------------------------------------------


def by_unit(data: AnnualData, summary: dict[str, Any]) -> Table:
    codes = list(summary["fields"])
    columns = [
        Column("STT", "code", 6),
        Column("Mã đơn vị", "code", 9),
        Column("Tên đơn vị", "text", 26, total="label"),
        Column("Tình trạng báo cáo", "text", 20),
        Column("Tạm tính", "flag", 8),
        Column("Tổng số", "int", 9, group="Số mô hình", csv_title="Tổng số mô hình", total="sum"),
        Column("Xây mới", "int", 9, group="Số mô hình", total="sum"),
        Column("Nhân rộng", "int", 9, group="Số mô hình", total="sum"),
    ]
    columns += [Column(data.field_name(c), "int", 11, group="Chia theo lĩnh vực", total="sum") for c in codes]
    columns += [
        Column("Số hộ tham gia", "int", 10, total="sum"),
        Column("Kinh phí huy động (triệu đồng)", "dec", 12, total="sum"),
        Column("Ngày công", "int", 10, total="sum"),
        Column("Đất hiến (m2)", "dec", 11, total="sum"),
    ]
    by_code = {u["code"]: u for u in data.unit_totals()}
    rows, prov = [], []
    for i, st in enumerate(data.source_units, 1):
        u = by_code.get(st["unit_code"]) or {}
        provisional = st["status"] == "provisional"
        row = [i, st["unit_code"], st["unit_name"] or st["unit_code"], status_vi(st),
               "x" if provisional else None,
               u.get("total", 0), u.get("new", 0), u.get("replicated", 0)]
        row += [(u.get("by_field") or {}).get(c, 0) for c in codes]
        row += [u.get("households", 0), float(u.get("funds_million_vnd", 0.0)),
                u.get("labour_days", 0), float(u.get("land_m2", 0.0))]
        rows.append(row)
        prov.append(provisional)
    total = [None, None, TOTAL_LABEL, None, None, summary["models_total"], summary["models_new"],
             summary["models_replicated"]]
    total += [summary["fields"][c]["total"] for c in codes]
    total += [summary["households"], summary["funds_million_vnd"], summary["labour_days"], summary["land_m2"]]
    return Table(
        key="theo-don-vi", sheet="Theo đơn vị",
        title=f"KẾT QUẢ XÂY DỰNG MÔ HÌNH \"DÂN VẬN KHÉO\" NĂM {data.year} THEO ĐƠN VỊ",
        columns=columns, rows=rows, provisional=prov, total=total,
        note="Dòng tô màu vàng, đánh dấu \"x\" ở cột Tạm tính: đơn vị chưa gửi báo cáo năm, số liệu "
             "tạm tính theo báo cáo gần nhất trong năm (kỳ ghi ở cột Tình trạng báo cáo).",
    )


# ---- models --------------------------------------------------------------------------------


def models(data: AnnualData) -> Table:
    columns = [
        Column("STT", "code", 6),
        Column("Mã đơn vị", "code", 9),
        Column("Tên đơn vị", "text", 22),
        Column("Kỳ số liệu", "text", 14),
        Column("Lĩnh vực", "text", 17),
        Column("Tên mô hình", "text", 38),
        Column("Hình thức", "text", 11),
        Column("Ngày đăng ký", "date", 11),
        Column("Cấp công nhận", "text", 12),
        Column("Số hộ tham gia", "int", 9),
        Column("Kinh phí huy động (triệu đồng)", "dec", 11),
        Column("Ngày công", "int", 9),
        Column("Đất hiến (m2)", "dec", 10),
        Column("Ghi chú", "text", 22),
    ]
    rows, prov = [], []
    labels: dict[str, str | None] = {}  # unit code -> its status's period label (asked once a unit)
    for i, m in enumerate(data.models, 1):
        code = m["unit_code"]
        if code not in labels:
            labels[code] = _period_label(data.status_of(code))
        provisional = m["status"] == "provisional"
        period = labels[code] or m["period_id"]
        rows.append([
            i, code, m["unit_name"] or code,
            f"{period} (tạm tính)" if provisional else period,
            data.field_name(m["field_code"]), m["model_name"],
            KIND_VI.get(m["model_kind"], m["model_kind"]), m["registered_on"],
            m["recognition_level"], m["households"], m["funds_million_vnd"], m["labour_days"],
            m["land_m2"], m["note"],
        ])
        prov.append(provisional)
    return Table(
        key="danh-sach-mo-hinh", sheet="Danh sách mô hình",
        title=f"DANH SÁCH MÔ HÌNH \"DÂN VẬN KHÉO\" NĂM {data.year}",
        columns=columns, rows=rows, provisional=prov,
        empty_text="Không có mô hình nào.",
        note="Dòng tô màu vàng: mô hình của đơn vị chưa gửi báo cáo năm, lấy từ báo cáo gần nhất "
             "trong năm (tạm tính).",
    )


def model_records(data: AnnualData) -> list[dict[str, Any]]:
    """The model list for machines (``models.json``): values as in the warehouse, unescaped."""
    out = []
    for m in data.models:
        reg = m["registered_on"]
        out.append({
            "unit_code": m["unit_code"],
            "unit_name": m["unit_name"],
            "period_id": m["period_id"],
            "provisional": m["status"] == "provisional",
            "line_no": int(m["line_no"]) if m["line_no"] is not None else None,
            "field_code": m["field_code"],
            "model_kind": m["model_kind"],
            "model_name": m["model_name"],
            "registered_on": reg.isoformat() if isinstance(reg, (date, datetime)) else reg,
            "recognition_level": m["recognition_level"],
            "households": None if m["households"] is None else int(m["households"]),
            "funds_million_vnd": None if m["funds_million_vnd"] is None else float(m["funds_million_vnd"]),
            "labour_days": None if m["labour_days"] is None else int(m["labour_days"]),
            "land_m2": None if m["land_m2"] is None else float(m["land_m2"]),
            "note": m["note"],
        })
    return out


# ---- missing and provisional units ---------------------------------------------------------


def not_reported(data: AnnualData) -> Table:
    columns = [
        Column("STT", "code", 6),
        Column("Mã đơn vị", "code", 10),
        Column("Tên đơn vị", "text", 36),
        Column("Loại", "text", 10),
        Column("Tình trạng", "text", 14),
        Column("Kỳ báo cáo dùng để tạm tính", "text", 22),
        Column("Ghi chú", "text", 60),
    ]
    entries = [(s, "Chưa báo cáo", None, f"Không có báo cáo nào của năm {data.year}.") for s in data.missing]
    entries += [(s, "Tạm tính", *_provisional_basis(s)) for s in data.provisional]
    rows, prov = [], []
    for i, (s, status, period, note) in enumerate(entries, 1):
        rows.append([i, s["unit_code"], s["unit_name"] or s["unit_code"],
                     UNIT_KIND_VI.get(s["unit_kind"] or "", s["unit_kind"]), status, period, note])
        prov.append(s["status"] == "provisional")
    return Table(
        key="don-vi-chua-bao-cao", sheet="Đơn vị chưa báo cáo",
        title=f"ĐƠN VỊ CHƯA GỬI BÁO CÁO NĂM {data.year} (CHƯA BÁO CÁO, TẠM TÍNH)",
        columns=columns, rows=rows, provisional=prov,
        empty_text="Tất cả đơn vị đã gửi báo cáo năm.",
    )


def provisional_basis(status: dict[str, Any]) -> str:
    """What a provisional unit's figures come from, as the notes say it: "tạm tính theo báo cáo
    Quý III/2021", or from its predecessors' reports (rule 3, with the split ones left out)."""
    if status.get("figures_source") == "predecessors":
        codes = status.get("predecessor_unit_codes") or ""
        of = f"của các đơn vị cũ ({codes})" if codes else "của các đơn vị cũ"
        left = f", {split_note(status)}" if split_note(status) else ""
        return f"tạm tính từ báo cáo {of}{left}"
    label = _period_label(status)
    return f"tạm tính theo báo cáo {label}" if label else "tạm tính"


def _provisional_basis(status: dict[str, Any]) -> tuple[str | None, str]:
    """A provisional unit's period column and note: the shorter period its figures come from, or
    none for one counted from its predecessors' reports (rule 3 of the reorganisations spec)."""
    period = None if status.get("figures_source") == "predecessors" else _period_label(status)
    return period, f"Chưa có báo cáo năm; số liệu {provisional_basis(status)}."


# ---- on today's geography -------------------------------------------------------------------

TODAY_SHEET = "Theo địa giới hiện nay"
TODAY_LEGEND = (
    "Ghi chú: số liệu từng năm được tính lại theo địa giới hành chính hiện nay: mỗi đơn vị cũ được "
    "cộng vào đơn vị hiện nay đã tiếp nhận địa bàn của mình, theo chuỗi sáp nhập, chia tách qua các "
    "năm; đơn vị bị chia tách được chia số liệu theo tỷ lệ, nên số mô hình có thể là số lẻ. "
    "Cột \"Ước tính\" (x): số liệu dựa trên tỷ lệ chia tách ước tính, chưa có số liệu chính thức "
    "(ví dụ phường Đại Nài chia cho Thành Sen và Hà Huy Tập). Cột \"Chưa đầy đủ\" (x): trong năm đó "
    "một phần địa bàn của đơn vị hiện nay chưa thuộc phạm vi báo cáo, hoặc số liệu tính từ các đơn vị "
    "cũ chưa gồm một số đơn vị cũ (cột Ghi chú ghi rõ phần nào); số liệu chỉ gồm phần đã có. "
    "Cột \"Tạm tính\" (x): có đơn vị chưa gửi báo cáo năm. "
    "Các cơ quan, đoàn thể không có địa bàn nên không có trong bảng này. "
    "/ Each year's figures on today's units; x in \"Ước tính\" = rests on an estimated split share, "
    "in \"Chưa đầy đủ\" = part of today's unit was outside the deployment that year, or is missing "
    "from figures counted from predecessors."
)


def _share_note(row: dict[str, Any]) -> str:
    parts = []
    if row.get("source_units"):
        parts.append(f"Từ số liệu của: {row['source_units']}")
    if row.get("is_incomplete") and row.get("outside_parts"):
        parts.append(f"Chưa thuộc phạm vi báo cáo: {row['outside_parts']}")
    if row.get("is_incomplete") and row.get("uncounted_parts"):
        parts.append(f"Số liệu tính từ đơn vị cũ, chưa gồm: {row['uncounted_parts']}")
    if not row.get("has_figures"):
        parts.append("Không có số liệu")
    return ". ".join(parts)


def today_geography(data: AnnualData) -> Table:
    """Every year from 2020 to the report's year on today's units (fct_annual_unit_today), with
    the estimated, incomplete and provisional marks and the legend."""
    columns = [
        Column("STT", "code", 6),
        Column("Mã đơn vị", "code", 9),
        Column("Đơn vị hiện nay", "text", 22),
        Column("Năm", "code", 7),
        Column("Tổng số", "dec", 9, group="Số mô hình", csv_title="Tổng số mô hình"),
        Column("Xây mới", "dec", 9, group="Số mô hình"),
        Column("Nhân rộng", "dec", 9, group="Số mô hình"),
        Column("Số hộ tham gia", "dec", 10),
        Column("Kinh phí huy động (triệu đồng)", "dec", 12),
        Column("Ngày công", "dec", 10),
        Column("Đất hiến (m2)", "dec", 11),
        Column("Ước tính", "flag", 8),
        Column("Chưa đầy đủ", "flag", 8),
        Column("Tạm tính", "flag", 8),
        Column("Ghi chú", "text", 40),
    ]
    rows = []
    for i, r in enumerate(data.today or [], 1):
        has = bool(r.get("has_figures"))
        figures = [float(r[k] or 0.0) if has else None for k in (
            "models_total", "models_new", "models_replicated", "households", "funds_million_vnd",
            "labour_days", "land_m2")]
        rows.append([
            i, r["today_unit_code"], r["today_unit_name"] or r["today_unit_code"], int(r["year"]),
            *figures,
            "x" if r.get("is_estimated") else None,
            "x" if r.get("is_incomplete") else None,
            "x" if r.get("is_provisional") else None,
            _share_note(r),
        ])
    years = sorted({int(r["year"]) for r in data.today or []})
    first = min([FIRST_TODAY_YEAR, *years])
    without = [y for y in range(first, data.year + 1) if y not in years]
    note = TODAY_LEGEND
    if without:
        note += " Năm không có số liệu trong kho: " + ", ".join(str(y) for y in without) + "."
    return Table(
        key="theo-dia-gioi-hien-nay", sheet=TODAY_SHEET,
        title=(f"KẾT QUẢ XÂY DỰNG MÔ HÌNH \"DÂN VẬN KHÉO\" TỪ NĂM {first} ĐẾN NĂM {data.year} "
               "THEO ĐỊA GIỚI HÀNH CHÍNH HIỆN NAY"),
        columns=columns, rows=rows, provisional=[False] * len(rows),
        empty_text="Không có số liệu theo địa giới hiện nay.",
        note=note,
    )


def all_tables(data: AnnualData, summary: dict[str, Any]) -> list[Table]:
    tables = [by_field(data, summary), by_unit(data, summary), models(data), not_reported(data)]
    if data.today is not None:
        tables.append(today_geography(data))
    return tables


__all__ = [
    "Column", "KIND_VI", "STATUS_VI", "TODAY_LEGEND", "TODAY_SHEET", "TOTAL_LABEL", "Table",
    "UNIT_KIND_VI", "all_tables", "today_geography",
    "by_field", "by_unit", "model_records", "models", "not_reported", "provisional_label",
    "status_vi",
]
