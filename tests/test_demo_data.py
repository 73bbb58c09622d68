"""The bundled demo inbox and the submission writers (``dvk.forms``).

The committed files are read back here with python-calamine and ``csv`` directly, independently of
the writer and of the ingest, and must reproduce the city's 2021 headline (27/253/157/96).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import re
import sys
import unicodedata
import zipfile
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from dvk.forms import (
    CSV_COLUMNS,
    DeclaredTotal,
    ModelLine,
    SheetNames,
    Submission,
    compute_declared_totals,
    csv_bytes,
    write_csv,
    write_xlsx,
    xlsx_bytes,
)

ROOT = Path(__file__).resolve().parents[1]
INBOX = ROOT / "demo" / "inbox"
UNITS_CSV = ROOT / "dbt_project" / "seeds" / "reporting_units.csv"

# Independent of dvk.forms: how the forms write fields and kinds (spec §1).
FIELD_BY_TEXT = {
    "phát triển kinh tế": "KT",
    "văn hóa - xã hội": "VHXH",
    "quốc phòng - an ninh": "QPAN",
    "xây dựng đảng và hệ thống chính trị": "XDD",
    "kt": "KT",
    "vhxh": "VHXH",
    "qpan": "QPAN",
    "xdd": "XDD",
}
KIND_BY_TEXT = {"xây mới": "new", "nhân rộng": "replicated", "duy trì": "replicated", "duy trì, nhân rộng": "replicated"}
MODEL_HEADERS = [
    "STT", "Tên mô hình", "Lĩnh vực", "Hình thức", "Ngày đăng ký", "Cấp công nhận", "Số hộ tham gia",
    "Kinh phí huy động (triệu đồng)", "Ngày công", "Đất hiến (m2)", "Ghi chú",
]
TOTALS_HEADERS = ["Lĩnh vực", "Tổng số mô hình", "Xây mới", "Nhân rộng", "Kinh phí huy động (triệu đồng)"]
SHEETS = ["Thông tin", "Mô hình", "Tổng hợp"]


# ----------------------------------------------------------------------------- independent readers


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.strptime(str(value).strip(), "%d/%m/%Y").date()


def read_xlsx(path: Path) -> dict:
    wb = CalamineWorkbook.from_path(str(path))
    assert wb.sheet_names == SHEETS, (path.name, wb.sheet_names)
    info = {row[0]: row[1] for row in wb.get_sheet_by_name("Thông tin").to_python() if row and row[0]}
    rows = wb.get_sheet_by_name("Mô hình").to_python()
    header_at = next(i for i, row in enumerate(rows) if "Tên mô hình" in row)
    header = rows[header_at]
    col = {h: header.index(h) for h in MODEL_HEADERS}
    models = []
    for row in rows[header_at + 1 :]:
        if not any(str(c).strip() for c in row) or str(row[0]).strip() in {"Tổng cộng", "Cộng"}:
            continue
        models.append({h: row[i] for h, i in col.items()})
    totals = wb.get_sheet_by_name("Tổng hợp").to_python()
    return {
        "code": str(info["Mã đơn vị"]),
        "name": info["Tên đơn vị"],
        "period": info["Kỳ báo cáo"],
        "report_date": _as_date(info["Ngày báo cáo"]),
        "models": [
            {"name": m["Tên mô hình"], "field": m["Lĩnh vực"], "kind": m["Hình thức"], "funds": m["Kinh phí huy động (triệu đồng)"]}
            for m in models
        ],
        "totals_header": totals[0],
        "totals": totals[1:],
    }


def read_csv(path: Path) -> dict:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        rows = list(reader)
    heads = {(r["ma_don_vi"], r["ten_don_vi"], r["ky_bao_cao"], r["ngay_bao_cao"]) for r in rows}
    assert len(heads) == 1, (path.name, heads)
    code, name, period, report_date = heads.pop()
    return {
        "code": code,
        "name": name,
        "period": period,
        "report_date": _as_date(report_date),
        "models": [
            {"name": r["ten_mo_hinh"], "field": r["linh_vuc"], "kind": r["hinh_thuc"], "funds": r["kinh_phi_trieu_dong"]}
            for r in rows
        ],
    }


def read_any(path: Path) -> dict:
    return read_xlsx(path) if path.suffix == ".xlsx" else read_csv(path)


def manifest(inbox: Path) -> dict[str, datetime]:
    with (inbox / "_manifest.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["file_name", "received_at"]
        out = {}
        for row in reader:
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["received_at"]), row
            assert row["file_name"] not in out
            out[row["file_name"]] = datetime.strptime(row["received_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        return out


def submission_files(inbox: Path) -> list[Path]:
    return sorted(p for p in inbox.iterdir() if p.suffix in {".xlsx", ".csv"} and not p.name.startswith("_"))


def expected_units_2021() -> set[str]:
    with UNITS_CSV.open(encoding="utf-8", newline="") as fh:
        return {
            r["code"]
            for r in csv.DictReader(fh)
            # rule 2 of the reorganisations spec: valid on the last day of 2021's window
            if r["valid_from"] <= "2021-12-14" and (not r["valid_to"] or r["valid_to"] > "2021-12-14")
        }


@pytest.fixture(scope="module")
def demo() -> dict[str, dict]:
    received = manifest(INBOX)
    files = {p.name: read_any(p) | {"received_at": received[p.name], "path": p} for p in submission_files(INBOX)}
    assert set(files) == set(received), "the manifest lists every submission file, and only those"
    return files


def _load_generator():
    spec = importlib.util.spec_from_file_location("dvk_demo_generate", ROOT / "demo" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


# ----------------------------------------------------------------------------- the demo inbox


def test_regenerating_gives_the_committed_bytes(tmp_path):
    (tmp_path / "stale.csv").write_text("old\n")  # the generator clears its own kinds of files
    assert _load_generator().main([str(tmp_path), "--quiet"]) == 0
    fresh = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(p.name for p in INBOX.iterdir() if p.suffix in {".xlsx", ".csv"})
    assert fresh == committed
    for name in fresh:
        assert (tmp_path / name).read_bytes() == (INBOX / name).read_bytes(), f"{name} differs: run demo/generate.py"


def test_newest_2021_reports_reproduce_the_headline(demo):
    newest: dict[str, dict] = {}
    for sub in demo.values():
        if sub["period"] != "Năm 2021":
            continue
        key = (sub["report_date"], sub["received_at"])
        if sub["code"] not in newest or key > (newest[sub["code"]]["report_date"], newest[sub["code"]]["received_at"]):
            newest[sub["code"]] = sub
    models = [m for sub in newest.values() for m in sub["models"]]
    kinds = Counter(KIND_BY_TEXT[m["kind"].strip().lower()] for m in models)
    fields = Counter(FIELD_BY_TEXT[m["field"].strip().lower()] for m in models)
    units = sum(1 for sub in newest.values() if sub["models"])
    assert (units, len(models), kinds["new"], kinds["replicated"]) == (27, 253, 157, 96)
    assert set(fields) == {"KT", "VHXH", "QPAN", "XDD"}
    missing = expected_units_2021() - set(newest)
    assert missing == {"CQ12"}
    assert set(newest) <= expected_units_2021()


def test_the_correction_and_the_late_reports(demo):
    bac_ha = sorted((s for s in demo.values() if s["code"] == "18076" and s["period"] == "Năm 2021"), key=lambda s: s["report_date"])
    assert [s["path"].name for s in bac_ha] == ["2021_18076_phuong-bac-ha.xlsx", "2021_18076_phuong-bac-ha_v2.xlsx"]
    old, new = bac_ha
    assert old["received_at"] < new["received_at"] and len(old["models"]) == len(new["models"]) - 1
    assert {m["name"] for m in old["models"]} < {m["name"] for m in new["models"]}
    due_end_utc = datetime(2021, 12, 19, 17, 0, tzinfo=timezone.utc)  # 20 Dec 00:00 Asia/Ho_Chi_Minh
    annual = [s for s in demo.values() if s["period"] == "Năm 2021"]
    late = {s["code"] for s in annual if s["received_at"] >= due_end_utc}
    assert 2 <= len(late) <= 6
    assert all(date(2021, 12, 10) <= s["report_date"] <= date(2021, 12, 22) for s in annual)
    for s in demo.values():  # arrives on the report date or a few days after
        assert timedelta(0) <= s["received_at"].date() - s["report_date"] <= timedelta(days=3), s["path"].name


def test_demo_files_look_like_real_submissions(demo):
    units = expected_units_2021()
    formats = Counter(s["path"].suffix for s in demo.values() if s["period"] == "Năm 2021")
    assert 20 <= formats[".xlsx"] <= 24 and 4 <= formats[".csv"] <= 6
    boms = [p.name for p in INBOX.glob("2021_*.csv") if p.read_bytes().startswith(b"\xef\xbb\xbf")]
    assert 1 <= len(boms) <= 2
    q1 = [s for s in demo.values() if s["period"] in {"Quý I/2022", "Quý 1 năm 2022"}]
    assert 5 <= len(q1) <= 7 and all(s["path"].name.startswith("2022Q1_") for s in q1)
    assert all(date(2022, 3, 10) <= s["report_date"] <= date(2022, 3, 20) for s in q1)
    assert any(KIND_BY_TEXT[m["kind"].lower()] == "new" for s in q1 for m in s["models"])
    for name, sub in demo.items():
        assert name.isascii() and name.startswith(("2021_", "2022Q1_")) and f"_{sub['code']}_" in name
        assert sub["code"] in units
        names = [m["name"] for m in sub["models"]]
        assert len(names) == len(set(names)), name
        assert all(unicodedata.is_normalized("NFC", n) and n == n.strip() for n in names), name
        for m in sub["models"]:
            assert m["field"].strip().lower() in FIELD_BY_TEXT and m["kind"].strip().lower() in KIND_BY_TEXT
    spellings = {m["kind"] for s in demo.values() for m in s["models"]}
    assert {"Xây mới", "Nhân rộng", "Duy trì", "Duy trì, nhân rộng"} <= spellings


def test_declared_totals_of_the_demo_agree_with_the_lines(demo):
    for name, sub in demo.items():
        if "totals" not in sub:
            continue
        assert sub["totals_header"] == TOTALS_HEADERS
        computed: dict[str, list] = {}
        for m in sub["models"]:
            for key in (FIELD_BY_TEXT[m["field"].lower()], "TOTAL"):
                row = computed.setdefault(key, [0, 0, 0, 0.0])
                row[0] += 1
                row[1 if KIND_BY_TEXT[m["kind"].lower()] == "new" else 2] += 1
                row[3] += float(m["funds"] or 0)
        declared = {("TOTAL" if r[0] == "Tổng cộng" else FIELD_BY_TEXT[r[0].lower()]): r[1:] for r in sub["totals"]}
        assert list(declared)[-1] == "TOTAL" and set(declared) == set(computed), name
        for key, (total, new, replicated, funds) in computed.items():
            assert declared[key][:3] == [total, new, replicated], (name, key)
            assert declared[key][3] == pytest.approx(funds), (name, key)


# ----------------------------------------------------------------------------- the writers


def _sample(**overrides) -> Submission:
    lines = [
        ModelLine("Huy động sức dân làm đường giao thông nông thôn thôn 3", "Phát triển kinh tế", "Xây mới",
                  date(2021, 2, 20), "Cấp thành phố", 126, 450.5, 820, 35.5, None),
        ModelLine("Tổ dân phố mẫu “Sáng - xanh - sạch - đẹp”", "Văn hóa - xã hội", "Duy trì, nhân rộng",
                  date(2020, 3, 10), "Cấp xã", 210, 120.1, 300, None, "Duy trì từ năm 2020"),
        ModelLine("Camera an ninh khu dân cư", "QPAN", "Nhân rộng", None, None, None, 0.2),
        ModelLine("Chi bộ 4 tốt", "Xây dựng Đảng và hệ thống chính trị", "Xây mới", "03/03/2021", households="1.250"),
    ]
    base = Submission("18076", "Phường Bắc Hà", "Năm 2021", date(2021, 12, 16), lines, "Nguyễn Thị Lan", "0912 345 678")
    return replace(base, **overrides)


def test_writers_are_byte_deterministic(tmp_path):
    sub = _sample()
    a, b = write_xlsx(sub, tmp_path / "a.xlsx"), write_xlsx(sub, tmp_path / "b.xlsx")
    assert hashlib.sha256(a.read_bytes()).hexdigest() == hashlib.sha256(b.read_bytes()).hexdigest()
    assert xlsx_bytes(sub) == a.read_bytes()
    with zipfile.ZipFile(a) as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert "2021-12-16T08:00:00Z" in zf.read("docProps/core.xml").decode()
    assert write_csv(sub, tmp_path / "a.csv").read_bytes() == csv_bytes(sub) == csv_bytes(sub)


def test_xlsx_round_trip(tmp_path):
    sub = _sample()
    path = write_xlsx(sub, tmp_path / "s.xlsx")
    back = read_xlsx(path)
    assert (back["code"], back["name"], back["period"], back["report_date"]) == ("18076", "Phường Bắc Hà", "Năm 2021", date(2021, 12, 16))
    assert [m["name"] for m in back["models"]] == [m.name for m in sub.models]
    assert [m["kind"] for m in back["models"]] == [m.kind for m in sub.models]
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Mô hình").to_python()
    assert rows[0][0] == "DANH SÁCH MÔ HÌNH “DÂN VẬN KHÉO” NĂM 2021" and rows[2] == MODEL_HEADERS
    assert rows[3] == [1, sub.models[0].name, "Phát triển kinh tế", "Xây mới", date(2021, 2, 20), "Cấp thành phố", 126, 450.5, 820, 35.5, ""]
    assert rows[6][4] == "03/03/2021" and rows[6][6] == "1.250"  # text stays text
    wb = openpyxl.load_workbook(path)
    assert [str(r) for r in wb["Mô hình"].merged_cells.ranges] == ["A1:K1"]
    assert wb["Thông tin"]["B1"].value == "18076" and wb["Thông tin"]["B4"].number_format == "dd/mm/yyyy"
    assert back["totals"] == [
        ["Phát triển kinh tế", 1, 1, 0, 450.5],
        ["Văn hóa - xã hội", 1, 0, 1, 120.1],
        ["Quốc phòng - an ninh", 1, 0, 1, 0.2],
        ["Xây dựng Đảng và hệ thống chính trị", 1, 1, 0, 0],
        ["Tổng cộng", 4, 2, 2, 570.8],
    ]


def test_csv_round_trip(tmp_path):
    sub = _sample()
    plain, with_bom = write_csv(sub, tmp_path / "a.csv"), write_csv(sub, tmp_path / "b.csv", bom=True)
    assert with_bom.read_bytes() == b"\xef\xbb\xbf" + plain.read_bytes()
    back = read_csv(with_bom)
    assert (back["code"], back["period"], back["report_date"]) == ("18076", "Năm 2021", date(2021, 12, 16))
    rows = list(csv.reader(io.StringIO(plain.read_text(encoding="utf-8"))))
    assert rows[1] == ["18076", "Phường Bắc Hà", "Năm 2021", "16/12/2021", "1",
                       "Huy động sức dân làm đường giao thông nông thôn thôn 3", "Phát triển kinh tế", "Xây mới",
                       "20/02/2021", "Cấp thành phố", "126", "450.5", "820", "35.5", ""]
    assert rows[2][7] == "Duy trì, nhân rộng" and rows[3][6] == "QPAN" and rows[4][10] == "1.250"


def test_declared_totals_can_disagree_with_the_lines(tmp_path):
    computed = compute_declared_totals(_sample().models)
    assert [t.label for t in computed][-1] == "Tổng cộng"
    wrong = [replace(t, models_total=t.models_total + 1, models_new=t.models_new + 1) if t.label == "Phát triển kinh tế" else t
             for t in computed]
    path = write_xlsx(_sample(declared_totals=wrong), tmp_path / "wrong.xlsx")
    totals = read_xlsx(path)["totals"]
    assert totals[0] == ["Phát triển kinh tế", 2, 2, 0, 450.5]  # declared, not computed
    assert totals[-1] == ["Tổng cộng", 4, 2, 2, 570.8]  # so the total no longer sums the fields
    custom = [DeclaredTotal("Tổng cộng", 99, None, "?", 1)]
    assert read_xlsx(write_xlsx(_sample(declared_totals=custom), tmp_path / "c.xlsx"))["totals"] == [["Tổng cộng", 99, "", "?", 1]]


def test_layout_options(tmp_path):
    path = write_xlsx(_sample(with_totals_sheet=False, title=""), tmp_path / "n.xlsx",
                      sheet_names=SheetNames(info="ThongTin", models="MoHinh"))
    wb = CalamineWorkbook.from_path(str(path))
    assert wb.sheet_names == ["ThongTin", "MoHinh"]
    assert wb.get_sheet_by_name("MoHinh").to_python()[0] == MODEL_HEADERS
    with pytest.raises(ValueError):
        compute_declared_totals([ModelLine("x", "Không rõ", "Xây mới")])
