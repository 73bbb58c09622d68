"""The bundled demo inbox and the submission writers (``dvk.forms``).

The committed files are read back here with python-calamine and ``csv`` directly, independently of
the writer and of the ingest, and must reproduce the city's 2021 headline (27/253/157/96) and the
generator's oracle for 2025 and 2026 (the reorganisations of ``reorganisations.md``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
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
from tests.support.scripts import demo_generator

ROOT = Path(__file__).resolve().parents[1]
INBOX = ROOT / "demo" / "inbox"
UNITS_CSV = ROOT / "dbt_project" / "seeds" / "reporting_units.csv"
CHANGES_CSV = ROOT / "dbt_project" / "seeds" / "unit_changes.csv"

# reorganisations.md §1: the seven units under the province since 1 July 2025.
NEW_UNITS = {
    "18073": "Phường Thành Sen",
    "18100": "Phường Trần Phú",
    "18604": "Xã Thạch Khê",
    "18619": "Xã Đồng Tiến",
    "18628": "Xã Thạch Lạc",
    "18652": "Phường Hà Huy Tập",
    "18685": "Xã Cẩm Bình",
}
PROVINCE_FROM = date(2025, 7, 1)
# The periods of 2025 and 2026 as the demo writes them (spec §2), independent of dvk.periods.
LATER_PERIOD_IDS = {
    "Quý I/2025": "2025Q1", "Quý 1 năm 2025": "2025Q1", "6 tháng đầu năm 2025": "2025S1", "6 tháng 2025": "2025S1",
    "Quý III/2025": "2025Q3", "Năm 2025": "2025", "Quý I/2026": "2026Q1", "Quý 1 năm 2026": "2026Q1",
    "Quý II/2026": "2026Q2", "6 tháng đầu năm 2026": "2026S1", "Năm 2026": "2026",
}
TODAY = datetime(2026, 12, 6, tzinfo=timezone.utc)

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


def _units_is_time_versioned() -> bool:
    with UNITS_CSV.open(encoding="utf-8", newline="") as fh:
        return "valid_from" in (csv.DictReader(fh).fieldnames or ())


#: The 2025/2026 files are generated from the time-versioned master list (the seed in the history
#: format of reporting_units_history.csv); tests that need the list itself wait for it.
needs_history = pytest.mark.skipif(
    not _units_is_time_versioned(),
    reason="dbt_project/seeds/reporting_units.csv is not yet the time-versioned list (valid_from/valid_to)",
)


def units_valid_on(day: date) -> dict[str, dict]:
    """code -> the master list's row of the unit valid on ``day`` (time-versioned list only)."""
    with UNITS_CSV.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh)
                if date.fromisoformat(r["valid_from"]) <= day and (not r["valid_to"] or day < date.fromisoformat(r["valid_to"]))]
    out = {r["code"]: r for r in rows}
    assert len(out) == len(rows), f"a code valid twice on {day}"
    return out


def expected_units_2021() -> set[str]:
    if _units_is_time_versioned():
        return set(units_valid_on(date(2021, 12, 14)))
    with UNITS_CSV.open(encoding="utf-8", newline="") as fh:
        return {
            r["code"]
            for r in csv.DictReader(fh)
            # rule 2 of the reorganisations spec: valid on the last day of 2021's window
            if r["valid_from"] <= "2021-12-14" and (not r["valid_to"] or r["valid_to"] > "2021-12-14")
        }


def window_end(period_id: str) -> date:
    year = int(period_id[:4])
    if len(period_id) == 4:
        return date(year, 12, 14)
    return date(year, {"Q": 3, "S": 6}[period_id[4]] * int(period_id[5:]), 14)


@pytest.fixture(scope="module")
def demo() -> dict[str, dict]:
    received = manifest(INBOX)
    files = {p.name: read_any(p) | {"received_at": received[p.name], "path": p} for p in submission_files(INBOX)}
    assert set(files) == set(received), "the manifest lists every submission file, and only those"
    return files


def _load_generator():
    return demo_generator()


# ----------------------------------------------------------------------------- the demo inbox


@needs_history
def test_regenerating_gives_the_committed_bytes(tmp_path):
    (tmp_path / "stale.csv").write_text("old\n")  # the generator clears its own kinds of files
    assert _load_generator().main([str(tmp_path), "--quiet"]) == 0
    fresh = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(p.name for p in INBOX.iterdir() if p.suffix in {".xlsx", ".csv"})
    assert fresh == committed
    for name in fresh:
        assert (tmp_path / name).read_bytes() == (INBOX / name).read_bytes(), f"{name} differs: run demo/generate.py"


def test_2021_and_2022_files_are_unchanged_by_the_later_years(tmp_path):
    """The 2021 and 2022Q1 files come from the 2021 units of the master list, whatever its format."""
    gen = _load_generator()
    planned = gen.build(gen.load_units(UNITS_CSV))
    assert {p.period_id for p in planned} == {"2021", "2022Q1"}
    gen.write(planned, tmp_path)
    committed = sorted(p.name for p in INBOX.glob("202[12]*") if p.suffix in {".xlsx", ".csv"})
    assert sorted(p.file_name for p in planned) == committed and len(committed) == 34
    for name in committed:
        assert (tmp_path / name).read_bytes() == (INBOX / name).read_bytes(), f"{name} differs"


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
        assert name.isascii() and f"_{sub['code']}_" in name
        if name.startswith(("2021_", "2022Q1_")):
            assert sub["code"] in units
        else:
            assert LATER_PERIOD_IDS[sub["period"]] == name.split("_")[0], name
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


# ----------------------------------------------------------------------------- 2025 and 2026


def _later(demo: dict[str, dict]) -> dict[str, dict]:
    """The 2025 and 2026 files, each with its period id."""
    return {name: sub | {"period_id": LATER_PERIOD_IDS[sub["period"]]} for name, sub in demo.items()
            if not name.startswith(("2021_", "2022Q1_"))}


def _predecessors(new_code: str, on: date = PROVINCE_FROM) -> list[str]:
    with CHANGES_CSV.open(encoding="utf-8", newline="") as fh:
        return [r["old_code"] for r in csv.DictReader(fh) if r["new_code"] == new_code and r["change_date"] == on.isoformat()]


def test_later_files_are_forms_of_their_period_unit_and_name(demo):
    later = _later(demo)
    assert {s["period_id"] for s in later.values()} == {"2025Q1", "2025S1", "2025Q3", "2025", "2026Q1", "2026Q2", "2026S1", "2026"}
    for name, sub in later.items():
        period_id, code = name.split("_")[:2]
        assert sub["period_id"] == period_id and sub["code"] == code, name
        assert re.fullmatch(r"20(25|26)(Q[1-4]|S[12])?_(\d{5}|CQ\d\d)_[a-z0-9-]+\.(xlsx|csv)", name), name
        assert sub["models"], name
        assert sub["received_at"] < TODAY, name  # nothing arrives after today (6 Dec 2026)
        end = window_end(period_id)
        assert end - timedelta(days=14) <= sub["report_date"] <= end + timedelta(days=10), name
        if end >= PROVINCE_FROM:  # after the city ceased: only the seven new units, by their names
            assert code in NEW_UNITS, name
            assert sub["name"] == NEW_UNITS[code] or (name, sub["name"]) == ("2026S1_18073_phuong-thanh-sen.xlsx", "P. Thành Sen")
    # the codes that changed meaning (reorganisations.md §1), as the files carry them
    assert demo["2025Q1_18073_phuong-nam-ha.xlsx"]["name"] == "Phường Nam Hà"
    assert demo["2026_18073_phuong-thanh-sen.xlsx"]["name"] == "Phường Thành Sen"
    assert demo["2026_18073_phuong-thanh-sen.xlsx"]["period"] == "Năm 2026"
    assert demo["2021_18094_phuong-thach-linh.csv"]["name"] == "Phuong Thach Linh"
    assert demo["2025Q1_18094_phuong-tran-phu.xlsx"]["name"] == "Phường Trần Phú"
    assert demo["2025S1_18100_phuong-thach-ha.xlsx"]["name"] == "Xã Thạch Hạ"  # its name until 2024
    assert demo["2025_18100_phuong-tran-phu.xlsx"]["name"] == "Phường Trần Phú"
    assert demo["2025_18652_phuong-ha-huy-tap.xlsx"]["name"] == "Phường Hà Huy Tập"
    assert demo["2025Q1_18652_xa-tan-lam-huong.xlsx"]["name"] == "Xã Tân Lâm Hương"


def test_each_new_unit_sent_its_2025_annual_report_but_one_counted_from_its_predecessors(demo):
    gen = _load_generator()
    later = _later(demo)
    annual_2025 = {s["code"] for s in later.values() if s["period_id"] == "2025"}
    through_predecessors = gen.FROM_PREDECESSORS_2025
    assert through_predecessors in NEW_UNITS
    assert annual_2025 == set(NEW_UNITS) - {through_predecessors}
    # ... and nothing else of 2025 on the new unit's code after the city ceased: counted ONLY from its predecessors
    assert not [n for n, s in later.items() if s["code"] == through_predecessors and s["period_id"][:4] == "2025"
                and window_end(s["period_id"]) >= PROVINCE_FROM]
    predecessors = _predecessors(through_predecessors)
    assert len(predecessors) >= 2
    for old in predecessors:
        s1 = [s for s in later.values() if s["code"] == old and s["period_id"] == "2025S1"]
        assert len(s1) == 1 and s1[0]["models"], old


def _newest_by_unit_period(later: dict[str, dict]) -> dict[tuple[str, str], dict]:
    newest: dict[tuple[str, str], dict] = {}
    for sub in later.values():
        key = (sub["code"], sub["period_id"])
        if key not in newest or (sub["report_date"], sub["received_at"]) > (newest[key]["report_date"], newest[key]["received_at"]):
            newest[key] = sub
    return newest


def test_the_files_reproduce_the_oracle_of_2025_and_2026(demo):
    """The figures of a year of change (Rule 3), recomputed from the files: the seven units valid at the
    end of the year's window, each from its annual report, else its latest report of the year after
    1 July 2025 (a reused code before that is another unit), else its predecessors' latest reports."""
    oracle = _load_generator().EXPECTED_FIGURES
    newest = _newest_by_unit_period(_later(demo))

    def source(code: str, year: int, valid) -> dict | None:
        mine = [s for (c, pid), s in newest.items() if c == code and pid[:4] == str(year) and valid(window_end(pid))]
        months = {"Q": 3, "S": 6}
        return max(mine, key=lambda s: (len(s["period_id"]) == 4, window_end(s["period_id"]),
                                        months.get(s["period_id"][4:5], 12)), default=None)

    for year in (2025, 2026):
        counted, reported, provisional, from_predecessors, missing = [], [], [], [], []
        for code in sorted(NEW_UNITS):
            sub = source(code, year, lambda d: d >= PROVINCE_FROM)
            if sub is not None:
                (reported if sub["period_id"] == str(year) else provisional).append(code)
                counted.extend(sub["models"])
                continue
            olds = [source(old, year, lambda d: d < PROVINCE_FROM) for old in _predecessors(code)]
            models = [m for s in olds if s for m in s["models"]]
            (from_predecessors if models else missing).append(code)
            counted.extend(models)
        kinds = Counter(KIND_BY_TEXT[m["kind"].strip().lower()] for m in counted)
        expected = oracle[year]
        assert (len(reported), sorted(provisional), sorted(from_predecessors), sorted(missing)) == (
            expected["units_reported"], expected["provisional_units"], expected["from_predecessors_units"],
            expected["missing_units"]), year
        assert (len(counted), kinds["new"], kinds["replicated"]) == (
            expected["models_total"], expected["models_new"], expected["models_replicated"]), year
        assert expected["units_expected"] == len(NEW_UNITS) and expected["models_total"] > 50
    assert oracle[2026]["missing_units"] and oracle[2026]["units_reported"] < len(NEW_UNITS)


@needs_history
def test_later_files_name_the_unit_valid_on_the_last_day_of_their_window(demo):
    """Rule 1 and Rule 2 against the master list: every 2025/2026 file's code is the unit valid on its
    window's last day, the name is that unit's (or one of its aliases, or a short form), and the
    units that sent each period are the generator's reporting rates."""
    gen = _load_generator()
    later = _later(demo)
    for period_id, rate in gen.EXPECTED_PERIODS.items():
        valid = units_valid_on(window_end(period_id))
        sent = {s["code"] for s in later.values() if s["period_id"] == period_id}
        assert sent <= set(valid), period_id
        assert (len(valid), len(sent), sorted(set(valid) - sent)) == (rate["expected"], rate["reported"], sorted(rate["missing_units"]))
    assert gen.EXPECTED_PERIODS["2025Q1"]["expected"] == 40  # the 27 wards and communes and the 13 agencies
    for name, sub in later.items():
        unit = units_valid_on(window_end(sub["period_id"]))[sub["code"]]
        aliases = [a.strip() for a in unit["aliases"].split(";") if a.strip()]
        assert sub["name"] in (unit["name"], *aliases) or sub["name"].endswith(unit["name"].split(" ", 1)[1]), name
        assert name.split("_", 2)[2].rsplit(".", 1)[0] == gen.slugify(unit["name"]), name


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
