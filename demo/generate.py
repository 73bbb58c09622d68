"""Generate the bundled demo inbox (``demo/inbox/``): 2021 annual, 2022Q1, 2025 and 2026 submissions.

Deterministic: a seeded RNG (only ``random.Random.random()`` is used, whose sequence is stable
across Python versions), no clock, no environment; the writers of ``dvk.forms`` give the same bytes
for the same submission. Run it again and you get byte-identical files.

    .venv/bin/python demo/generate.py            # rewrites demo/inbox/
    .venv/bin/python demo/generate.py /tmp/inbox # anywhere else

It deletes the ``*.xlsx`` / ``*.csv`` files at the top of the output folder first (the folder is
its own), then writes the submissions and ``_manifest.csv`` (``file_name,received_at``).

The newest 2021 annual report of each unit must reproduce the city's headline for 2021:
27 units, 253 models, 157 new, 96 replicated, over the 4 fields. The script checks this before it
writes anything, and likewise the oracle of 2025 and 2026 (``EXPECTED_FIGURES``, ``EXPECTED_PERIODS``):
the reorganisations of ``reorganisations.md``, the units taken from the time-versioned master list
(``--units``, default ``dbt_project/seeds/reporting_units.csv``) as valid on the last day of each
period's window.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
try:
    from dvk.forms import FIELD_NAMES, KIND_NEW, ModelLine, Submission, field_code, is_new, write_csv, write_xlsx
except ImportError:  # run without the package installed
    sys.path.insert(0, str(PROJECT_ROOT / "src"))
    from dvk.forms import FIELD_NAMES, KIND_NEW, ModelLine, Submission, field_code, is_new, write_csv, write_xlsx

UNITS_CSV = PROJECT_ROOT / "dbt_project" / "seeds" / "reporting_units.csv"
CHANGES_CSV = PROJECT_ROOT / "dbt_project" / "seeds" / "unit_changes.csv"
DEFAULT_OUT = PROJECT_ROOT / "demo" / "inbox"
SEED = 20211219

# ------------------------------------------------------------------ the story the demo tells
HEADLINE_2021 = {"units": 27, "models": 253, "new": 157, "replicated": 96}
MISSING_2021 = "CQ12"  # Trung tâm Y tế thành phố: expected, sends nothing for 2021
CORRECTED_2021 = "18076"  # Phường Bắc Hà: v1 forgets one model, v2 (later) is complete
# 2021 CSV senders (unit -> write a UTF-8 BOM?); everyone else sends the workbook.
CSV_2021 = {"18094": False, "18109": True, "CQ06": False, "CQ07": True, "CQ11": False}
CSV_FIELD_CODES = {"CQ07"}  # this unit's software exports field codes (KT, QPAN, ...) not names
# Late for 2021 (due 19 Dec 2021): unit -> (report date, received local time)
LATE_2021 = {
    "18112": (date(2021, 12, 21), datetime(2021, 12, 22, 8, 40)),
    "CQ13": (date(2021, 12, 22), datetime(2021, 12, 22, 15, 10)),
    "CQ05": (date(2021, 12, 20), datetime(2021, 12, 21, 9, 5)),
    "18088": (date(2021, 12, 17), datetime(2021, 12, 20, 9, 15)),  # signed in time, arrived late
}
# The correction: v1 signed 14 Dec (one model short), v2 signed 17 Dec. (report date, received local)
CORRECTION_2021 = (
    (date(2021, 12, 14), datetime(2021, 12, 15, 8, 20)),
    (date(2021, 12, 17), datetime(2021, 12, 18, 10, 5)),
)
# On time at the edge: signed on the due date, arrived the same afternoon (local time).
EDGE_2021 = {"18085": (date(2021, 12, 19), datetime(2021, 12, 19, 15, 40))}
# Names as the units write them (the code is always filled in and correct).
WRITTEN_NAME_2021 = {
    "18073": "P. Nam Hà",
    "18094": "Phuong Thach Linh",  # exported without diacritics
    "18103": "Xã Thạch Môn",  # an alias (a former commune of Đồng Môn)
    "CQ01": "MTTQ thành phố",
    "CQ02": "Hội LHPN thành phố",
    "CQ08": "Ban CHQS TP",
    "CQ09": "Phòng GD&ĐT",
}
# 2022Q1 (cumulative for 2022): unit -> (file format, BOM)
Q1_2022 = {
    "18070": ("xlsx", False),
    "18079": ("xlsx", False),
    "18100": ("xlsx", False),
    "18103": ("xlsx", False),
    "CQ02": ("xlsx", False),
    "CQ07": ("csv", True),
}
Q1_PERIOD_WRITTEN = {"18100": "Quý 1 năm 2022"}  # the others write "Quý I/2022"
REPLICATED_SPELLING = {  # how a unit writes "replicated"; default "Nhân rộng"
    "18077": "Duy trì",
    "18097": "Duy trì",
    "18109": "Duy trì",
    "CQ04": "Duy trì",
    "18082": "Duy trì, nhân rộng",
    "CQ09": "Duy trì, nhân rộng",
}
LOCAL_TZ = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh

WARD_MODELS = (10, 16)
AGENCY_MODELS = (3, 8)

# ------------------------------------------------------------------ 2025 and 2026 (reorganisations.md)
# The units come from the time-versioned master list: for a period, the units valid on the last day
# of its data window (Rule 2). 2025Q1 and 2025S1: the enlarged city's 27 wards and communes and its 13
# agencies (valid 2025-01-01 -> 2025-07-01); 2025Q3, 2025 and 2026: the seven units under the
# province since 2025-07-01, several of them on codes that meant another unit before.
LATER_PERIODS = ("2025Q1", "2025S1", "2025Q3", "2025", "2026Q1", "2026Q2", "2026S1", "2026")
PERIOD_WRITTEN = {  # period id -> as written on the form (spec §2)
    "2025Q1": "Quý I/2025",
    "2025S1": "6 tháng đầu năm 2025",
    "2025Q3": "Quý III/2025",
    "2025": "Năm 2025",
    "2026Q1": "Quý I/2026",
    "2026Q2": "Quý II/2026",
    "2026S1": "6 tháng đầu năm 2026",
    "2026": "Năm 2026",
}
PERIOD_WRITTEN_VARIANT = {  # (period, unit) -> another way the same period is written
    ("2025Q1", "18631"): "Quý 1 năm 2025",
    ("2025S1", "18571"): "6 tháng 2025",
    ("2026Q1", "18652"): "Quý 1 năm 2026",
}
FROM_PREDECESSORS_2025 = "18619"  # Xã Đồng Tiến: sends nothing for 2025, counted from its predecessors' 2025S1
MISSING_2026 = "18628"  # Xã Thạch Lạc (the code was Xã Tượng Sơn's): sends nothing at all for 2026
NOT_SENT = {  # period -> units expected for it that send nothing (everyone else valid that day sends)
    "2025Q1": {"18598", "18691", "CQ10", "CQ12"},
    "2025S1": {"18637", "CQ12"},
    "2025Q3": {FROM_PREDECESSORS_2025},
    "2025": {FROM_PREDECESSORS_2025},
    "2026Q1": {MISSING_2026},
    "2026Q2": {"18604", "18619", "18685", MISSING_2026},  # only some units send the second quarter
    "2026S1": {MISSING_2026},
    "2026": {"18604", "18619", MISSING_2026},  # 18604 and 18619 have not sent their 2026 annual report yet
}
# Today is 6 Dec 2026: the 2026 annual window (15 Dec 2025 - 14 Dec 2026) has started, so early annual
# reports exist; every file arrived before this moment (local time).
TODAY_LOCAL = datetime(2026, 12, 6, 7, 0)
CITY_END = date(2025, 7, 1)  # the city ceased; the seven units under the province from this day
REPORT_DAYS = {  # period -> (first, last) report date of the reports on time, and the latest arrival (local)
    "2025Q1": (date(2025, 3, 13), date(2025, 3, 18), datetime(2025, 3, 19, 16, 30)),
    "2025S1": (date(2025, 6, 12), date(2025, 6, 18), datetime(2025, 6, 19, 16, 30)),
    "2025Q3": (date(2025, 9, 12), date(2025, 9, 18), datetime(2025, 9, 19, 16, 30)),
    "2025": (date(2025, 12, 10), date(2025, 12, 18), datetime(2025, 12, 19, 16, 30)),
    "2026Q1": (date(2026, 3, 13), date(2026, 3, 18), datetime(2026, 3, 19, 16, 30)),
    "2026Q2": (date(2026, 6, 12), date(2026, 6, 17), datetime(2026, 6, 19, 16, 30)),
    "2026S1": (date(2026, 6, 12), date(2026, 6, 18), datetime(2026, 6, 19, 16, 30)),
    "2026": (date(2026, 12, 1), date(2026, 12, 4), datetime(2026, 12, 5, 16, 30)),
}
LATE_LATER = {  # (period, unit) -> (report date, received local): after the due date
    ("2025S1", "CQ05"): (date(2025, 6, 21), datetime(2025, 6, 23, 9, 10)),
    ("2025", "18685"): (date(2025, 12, 22), datetime(2025, 12, 22, 14, 30)),
}
WRITTEN_NAME_LATER = {  # (period, unit) -> the name as written (the code is always right)
    ("2025Q1", "18088"): "Xã Thạch Trung",  # the former name: a commune until 2024
    ("2025S1", "18100"): "Xã Thạch Hạ",  # likewise
    ("2025Q1", "18103"): "Xã Thạch Môn",  # an alias still in use
    ("2025S1", "CQ02"): "Hội LHPN thành phố",
    ("2025Q1", "CQ08"): "Ban CHQS TP",
    ("2026S1", "18073"): "P. Thành Sen",
}
CSV_LATER = {"18109": True, "CQ06": False, "CQ07": True, "CQ11": False, "18685": True}  # unit -> BOM
LATER_MODELS = {  # (kind of unit, year) -> (low, high) models in the unit's year
    ("city_local", 2025): (8, 14),
    ("city_agency", 2025): (3, 7),
    ("new", 2025): (14, 22),
    ("new", 2026): (12, 20),
}
# The oracle: the figures a correct warehouse computes from this inbox (checked before anything is
# written, by recomputing them from the planned submissions). Per year: the units expected (valid on
# the last day of the year's window), those with an annual report, those counted from a shorter
# report of the year ("provisional"), those with no report counted from their predecessors' reports
# of the year (Rule 3, "from predecessors"), the missing ones, and the models of the year's figures.
def _fields(kt: tuple, vhxh: tuple, qpan: tuple, xdd: tuple) -> dict:
    return {code: dict(zip(("total", "new", "replicated"), v)) for code, v in zip(("KT", "VHXH", "QPAN", "XDD"), (kt, vhxh, qpan, xdd))}


EXPECTED_FIGURES: dict[int, dict] = {
    2021: {
        "units_expected": 28, "units_reported": 27, "units_registered": 27,
        "models_total": 253, "models_new": 157, "models_replicated": 96,
        "fields": _fields((55, 38, 17), (90, 57, 33), (51, 31, 20), (57, 31, 26)),
        "provisional_units": [], "from_predecessors_units": [], "missing_units": [MISSING_2021],
    },
    2025: {  # the seven new units; Đồng Tiến from its predecessors' 2025S1 (Thạch Trị, Thạch Văn, Thạch Hội)
        "units_expected": 7, "units_reported": 6, "units_registered": 7,
        "models_total": 155, "models_new": 88, "models_replicated": 67,
        "fields": _fields((42, 24, 18), (51, 36, 15), (32, 14, 18), (30, 14, 16)),
        "provisional_units": [], "from_predecessors_units": [FROM_PREDECESSORS_2025], "missing_units": [],
    },
    2026: {  # four annual reports so far; Thạch Khê and Đồng Tiến from their 2026S1; Thạch Lạc nothing
        "units_expected": 7, "units_reported": 4, "units_registered": 6,
        "models_total": 95, "models_new": 50, "models_replicated": 45,
        "fields": _fields((30, 14, 16), (30, 13, 17), (16, 10, 6), (19, 13, 6)),
        "provisional_units": ["18604", "18619"], "from_predecessors_units": [], "missing_units": [MISSING_2026],
    },
}
# Reporting rates (Rule 2): per period, the units expected (valid on its window's last day), those that
# sent a report, and the others.
EXPECTED_PERIODS: dict[str, dict] = {
    "2025Q1": {"expected": 40, "reported": 36, "missing_units": ["18598", "18691", "CQ10", "CQ12"]},
    "2025S1": {"expected": 40, "reported": 38, "missing_units": ["18637", "CQ12"]},
    "2025Q3": {"expected": 7, "reported": 6, "missing_units": [FROM_PREDECESSORS_2025]},
    "2025": {"expected": 7, "reported": 6, "missing_units": [FROM_PREDECESSORS_2025]},
    "2026Q1": {"expected": 7, "reported": 6, "missing_units": [MISSING_2026]},
    "2026Q2": {"expected": 7, "reported": 3, "missing_units": ["18604", "18619", MISSING_2026, "18685"]},
    "2026S1": {"expected": 7, "reported": 6, "missing_units": [MISSING_2026]},
    "2026": {"expected": 7, "reported": 4, "missing_units": ["18604", "18619", MISSING_2026]},
}

# ------------------------------------------------------------------ vocabulary
KT, VHXH, QPAN, XDD = "KT", "VHXH", "QPAN", "XDD"

# (field, name template, measure profile, scope) — scope: "phuong", "xa" or "both";
# {loc} is a residential group ("tổ dân phố 3" / "thôn 3"), {street} a street, {project} a project.
LOCAL_TEMPLATES: tuple[tuple[str, str, str, str], ...] = (
    (KT, "Huy động sức dân làm đường giao thông nông thôn {loc}", "road", "xa"),
    (KT, "Bê tông hóa kênh mương nội đồng {loc}", "road", "xa"),
    (KT, "Huy động sức dân chỉnh trang vỉa hè, hệ thống thoát nước {loc}", "urban", "phuong"),
    (KT, "Huy động sức dân nâng cấp ngõ, hẻm {loc}", "urban", "phuong"),
    (KT, "Dân vận khéo trong giải phóng mặt bằng dự án {project}", "gpmb", "both"),
    (KT, "Tổ hợp tác sản xuất rau an toàn {loc}", "econ", "xa"),
    (KT, "Dồn điền đổi thửa, tích tụ ruộng đất {loc}", "gpmb", "xa"),
    (KT, "Vườn mẫu gắn với phát triển kinh tế hộ {loc}", "econ", "xa"),
    (KT, "Khu dân cư nông thôn mới kiểu mẫu {loc}", "road", "xa"),
    (KT, "Hộ kinh doanh văn minh trên {street}", "econ", "phuong"),
    (KT, "Giúp hộ nghèo, cận nghèo phát triển sinh kế {loc}", "econ", "both"),
    (VHXH, "Tổ dân phố mẫu “Sáng - xanh - sạch - đẹp”", "green", "phuong"),
    (VHXH, "Khu dân cư văn minh, kiểu mẫu {loc}", "green", "phuong"),
    (VHXH, "Tuyến {street} “Sáng - xanh - sạch - đẹp”", "green", "phuong"),
    (VHXH, "Văn minh trong việc cưới, việc tang {loc}", "social", "both"),
    (VHXH, "Vườn hoa tri ân {loc}", "green", "both"),
    (VHXH, "Phân loại rác thải tại nguồn {loc}", "green", "both"),
    (VHXH, "Đường hoa, đường cây xanh {loc}", "green", "both"),
    (VHXH, "Câu lạc bộ dưỡng sinh người cao tuổi {loc}", "social", "both"),
    (VHXH, "Thắp sáng đường quê {loc}", "road", "xa"),
    (VHXH, "Khu dân cư không rác thải nhựa {loc}", "green", "both"),
    (VHXH, "Nhà văn hóa {loc} sạch đẹp, hiệu quả", "social", "both"),
    (VHXH, "Quỹ khuyến học dòng họ {loc}", "social", "xa"),
    (QPAN, "Camera an ninh khu dân cư {loc}", "security", "both"),
    (QPAN, "Khu dân cư không có tội phạm {loc}", "security", "both"),
    (QPAN, "Tổ tự quản về an ninh trật tự {loc}", "security", "both"),
    (QPAN, "Tuyến {street} tự quản về an ninh trật tự", "security", "phuong"),
    (QPAN, "Dòng họ không có người vi phạm pháp luật {loc}", "security", "xa"),
    (QPAN, "Tổ hòa giải ở cơ sở giỏi {loc}", "security", "both"),
    (QPAN, "Cổng trường an toàn giao thông Trường Tiểu học {unit}", "security", "both"),
    (XDD, "Chi bộ “4 tốt” {loc}", "party", "both"),
    (XDD, "Đảng viên giúp hộ nghèo {loc}", "party", "both"),
    (XDD, "Nâng cao chất lượng sinh hoạt chi bộ {loc}", "party", "both"),
    (XDD, "Đảng viên gương mẫu nơi cư trú {loc}", "party", "both"),
    (XDD, "Ban công tác Mặt trận {loc} tiêu biểu", "party", "both"),
    (XDD, "Tiếp xúc, đối thoại trực tiếp giữa người đứng đầu cấp ủy với Nhân dân", "party", "both"),
    (VHXH, "Dân vận khéo trong phòng, chống dịch Covid-19", "covid", "both"),
)

STREETS = (
    "đường Phan Đình Phùng", "đường Trần Phú", "đường Hà Huy Tập", "đường Nguyễn Du", "đường Lê Duẩn",
    "đường Xuân Diệu", "đường Hải Thượng Lãn Ông", "đường Nguyễn Huy Tự", "đường Mai Thúc Loan",
    "đường Vũ Quang", "đường Hàm Nghi", "đường 26/3", "đường Lê Ninh", "đường Đặng Dung",
    "đường Nguyễn Công Trứ", "đường Nguyễn Biểu", "đường Trung Tiết",
)
PROJECTS = (
    "đường Hàm Nghi kéo dài", "đường bao phía Tây thành phố", "khu đô thị Bắc Thạch Quý",
    "kè sông Cày", "đường Vũ Quang nối dài", "khu tái định cư Đồng Quy", "mở rộng đường Nguyễn Du",
    "đường tránh Quốc lộ 1A", "hồ điều hòa Bắc Thành Sen",
)

# Agencies and mass organisations: their own kind of models. (field, name, profile)
AGENCY_TEMPLATES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "CQ01": (
        (VHXH, "Mái ấm đại đoàn kết", "social"),
        (VHXH, "Khu dân cư tiêu biểu “Toàn dân đoàn kết xây dựng đời sống văn hóa”", "social"),
        (XDD, "Ban công tác Mặt trận khu dân cư tự quản", "party"),
        (XDD, "Giám sát đầu tư của cộng đồng", "party"),
        (KT, "Quỹ “Vì người nghèo” giúp hộ nghèo sinh kế", "econ"),
        (VHXH, "Dân vận khéo trong vận động ủng hộ phòng, chống dịch Covid-19", "covid"),
        (VHXH, "Tiếp sức đến trường", "social"),
        (XDD, "Nhóm Zalo “Mặt trận với Nhân dân”", "party"),
        (QPAN, "Khu dân cư an toàn về an ninh trật tự", "security"),
    ),
    "CQ02": (
        (KT, "Phụ nữ giúp nhau phát triển kinh tế", "econ"),
        (KT, "Tiết kiệm vì phụ nữ nghèo", "econ"),
        (VHXH, "Xây dựng gia đình “5 không, 3 sạch”", "social"),
        (VHXH, "Mẹ đỡ đầu trẻ em mồ côi", "social"),
        (QPAN, "Câu lạc bộ phụ nữ với pháp luật", "security"),
        (VHXH, "Hũ gạo tình thương", "social"),
        (VHXH, "Phụ nữ tham gia bảo vệ môi trường", "green"),
        (XDD, "Chi hội phụ nữ vững mạnh gắn với phát triển đảng viên nữ", "party"),
        (KT, "Phụ nữ khởi nghiệp", "econ"),
    ),
    "CQ03": (
        (VHXH, "Thắp sáng đường quê", "road"),
        (QPAN, "Tuyến đường thanh niên tự quản", "security"),
        (VHXH, "Ngày Chủ nhật xanh", "green"),
        (KT, "Thanh niên khởi nghiệp", "econ"),
        (VHXH, "Đội hình thanh niên tình nguyện hỗ trợ phòng, chống dịch Covid-19", "covid"),
        (VHXH, "Tủ sách thanh niên", "social"),
        (XDD, "Chi đoàn vững mạnh gắn với giới thiệu đảng viên trẻ", "party"),
        (VHXH, "Ánh sáng an ninh trật tự, thắp sáng đường làng", "road"),
    ),
    "CQ04": (
        (KT, "Tổ hội nông dân nghề nghiệp trồng rau an toàn", "econ"),
        (KT, "Nông dân sản xuất, kinh doanh giỏi", "econ"),
        (KT, "Quỹ hỗ trợ nông dân giúp hội viên vay vốn", "econ"),
        (KT, "Cánh đồng mẫu lớn", "econ"),
        (VHXH, "Nông dân tham gia bảo vệ môi trường nông thôn", "green"),
        (QPAN, "Chi hội nông dân không có tội phạm", "security"),
        (XDD, "Hội viên nông dân gương mẫu nơi cư trú", "party"),
        (KT, "Liên kết tiêu thụ nông sản cho hội viên", "econ"),
    ),
    "CQ05": (
        (KT, "Cựu chiến binh giúp nhau làm kinh tế", "econ"),
        (QPAN, "Cựu chiến binh tham gia giữ gìn an ninh trật tự", "security"),
        (QPAN, "Tổ cựu chiến binh tự quản đường phố", "security"),
        (XDD, "Cựu chiến binh gương mẫu", "party"),
        (QPAN, "Cựu chiến binh tham gia hòa giải ở cơ sở", "security"),
        (VHXH, "Mái ấm đồng đội", "social"),
        (VHXH, "Cựu chiến binh tham gia bảo vệ môi trường", "green"),
        (XDD, "Cựu chiến binh tham gia giám sát, phản biện xã hội", "party"),
    ),
    "CQ06": (
        (VHXH, "Mái ấm công đoàn", "social"),
        (VHXH, "Bữa cơm công đoàn", "social"),
        (XDD, "Công đoàn cơ sở vững mạnh gắn với phát triển đảng viên", "party"),
        (VHXH, "Chợ phiên công đoàn", "social"),
        (KT, "Đoàn viên công đoàn giúp nhau phát triển kinh tế", "econ"),
        (XDD, "Văn hóa công sở, doanh nghiệp", "party"),
        (QPAN, "Doanh nghiệp an toàn về an ninh trật tự", "security"),
        (VHXH, "Tết sum vầy cho đoàn viên khó khăn", "social"),
    ),
    "CQ07": (
        (QPAN, "Camera an ninh khu dân cư", "security"),
        (QPAN, "Khu dân cư không có tội phạm", "security"),
        (QPAN, "Tổ tự quản về an ninh trật tự", "security"),
        (XDD, "Công an thành phố gần dân, vì dân", "party"),
        (QPAN, "Cổng trường an toàn giao thông", "security"),
        (QPAN, "Tuyến phố không ma túy", "security"),
        (XDD, "Dân vận khéo trong cấp căn cước công dân gắn chip", "party"),
        (QPAN, "Tiếng loa an ninh khu dân cư", "security"),
        (VHXH, "Trao sinh kế cho người lầm lỗi hoàn lương", "social"),
    ),
    "CQ08": (
        (QPAN, "Dân quân tự vệ giúp dân", "security"),
        (VHXH, "Quân dân y kết hợp", "social"),
        (QPAN, "Dân vận khéo trong công tác tuyển quân", "security"),
        (VHXH, "Hậu phương quân đội", "social"),
        (QPAN, "Xây dựng lực lượng dân quân vững mạnh, rộng khắp", "security"),
        (KT, "Vườn rau tăng gia gắn với giúp dân", "econ"),
        (XDD, "Chi bộ quân sự “4 tốt”", "party"),
    ),
    "CQ09": (
        (QPAN, "Cổng trường an toàn giao thông", "security"),
        (VHXH, "Tủ sách dùng chung", "social"),
        (VHXH, "Áo ấm cho em", "social"),
        (VHXH, "Trường học xanh - sạch - đẹp - an toàn", "green"),
        (VHXH, "Nuôi heo đất giúp bạn nghèo", "social"),
        (XDD, "Nhà giáo gương mẫu", "party"),
        (VHXH, "Dạy học trực tuyến trong phòng, chống dịch Covid-19", "covid"),
        (VHXH, "Bữa sáng yêu thương", "social"),
    ),
    "CQ10": (
        (VHXH, "Phân loại rác thải tại nguồn", "green"),
        (KT, "Dân vận khéo trong giải phóng mặt bằng", "gpmb"),
        (KT, "Cấp giấy chứng nhận quyền sử dụng đất lần đầu", "gpmb"),
        (VHXH, "Tuyến đường không rác thải", "green"),
        (XDD, "Một cửa thân thiện", "party"),
        (VHXH, "Thu gom bao gói thuốc bảo vệ thực vật", "green"),
        (KT, "Đo đạc, chỉnh lý bản đồ địa chính có sự tham gia của Nhân dân", "gpmb"),
    ),
    "CQ11": (
        (VHXH, "Không để ai bị bỏ lại phía sau", "social"),
        (KT, "Hỗ trợ hộ nghèo thoát nghèo bền vững", "econ"),
        (VHXH, "Chi trả trợ cấp tận nhà cho người có công", "social"),
        (VHXH, "Đền ơn đáp nghĩa", "social"),
        (KT, "Dạy nghề cho lao động nông thôn", "econ"),
        (KT, "Kết nối việc làm cho người lao động", "econ"),
        (XDD, "Cán bộ lao động - xã hội gần dân", "party"),
    ),
    "CQ12": (
        (VHXH, "Khám bệnh miễn phí cho người cao tuổi", "social"),
        (VHXH, "Hiến máu tình nguyện", "social"),
        (VHXH, "Tiêm chủng an toàn phòng Covid-19", "covid"),
        (XDD, "Cán bộ y tế “Thân thiện, vì người bệnh”", "party"),
    ),
    "CQ13": (
        (XDD, "Một cửa thân thiện", "party"),
        (XDD, "Cán bộ, công chức gần dân", "party"),
        (XDD, "Tiếp công dân chu đáo, tận tình", "party"),
        (XDD, "Văn hóa công sở", "party"),
        (XDD, "Chính quyền số phục vụ Nhân dân", "party"),
        (QPAN, "Trả lời kiến nghị cử tri đúng hạn", "party"),
        (VHXH, "Cơ quan xanh - sạch - đẹp", "green"),
    ),
}

NOTES_NEW = ("Mô hình điểm năm 2021", "Đang triển khai", "Hoàn thành tháng 10/2021", "Đăng ký mới", "Có sự hỗ trợ của thành phố")
NOTES_REPLICATED = ("Duy trì từ năm {year}", "Nhân rộng từ năm {year}", "Tiếp tục duy trì", "Nâng chất năm 2021")
FAMILY = ("Nguyễn", "Trần", "Lê", "Phan", "Võ", "Hoàng", "Đặng", "Bùi", "Đinh", "Hồ", "Dương", "Phạm")
MIDDLE_F = ("Thị", "Thị Thu", "Thị Minh", "Thị Hồng", "Thị Thanh")
MIDDLE_M = ("Văn", "Đình", "Hữu", "Xuân", "Quang", "Công")
GIVEN_F = ("Lan", "Hương", "Hà", "Hằng", "Nga", "Thủy", "Hoa", "Loan", "Trang", "Phương")
GIVEN_M = ("Hùng", "Dũng", "Tuấn", "Thắng", "Sơn", "Hải", "Long", "Cường", "Quân", "Minh")


# ------------------------------------------------------------------ helpers
class Rng:
    """Seeded randomness built on ``random.Random.random()`` only (stable across Python versions)."""

    def __init__(self, seed: str) -> None:
        self._r = random.Random(seed)

    def random(self) -> float:
        return self._r.random()

    def randint(self, a: int, b: int) -> int:
        return a + min(int(self._r.random() * (b - a + 1)), b - a)

    def chance(self, p: float) -> bool:
        return self._r.random() < p

    def choice(self, seq: Sequence):
        return seq[self.randint(0, len(seq) - 1)]

    def shuffled(self, seq: Sequence) -> list:
        out = list(seq)
        for i in range(len(out) - 1, 0, -1):
            j = self.randint(0, i)
            out[i], out[j] = out[j], out[i]
        return out

    def day(self, first: date, last: date) -> date:
        return first + timedelta(days=self.randint(0, (last - first).days))


@dataclass(frozen=True)
class Unit:
    """A version of a reporting unit: its code, name and kind over [valid_from, valid_to)."""

    code: str
    name: str
    kind: str
    aliases: tuple[str, ...]
    valid_from: date | None = None  # None: the list has no dates (a snapshot list)
    valid_to: date | None = None  # exclusive; None: still valid

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day < self.valid_to)

    @property
    def is_local(self) -> bool:
        return self.kind in {"phuong", "xa"}

    @property
    def short(self) -> str:  # "Bắc Hà" for "Phường Bắc Hà"
        return re.sub(r"^(Phường|Xã)\s+", "", self.name)


@dataclass(frozen=True)
class Candidate:
    name: str
    field: str
    profile: str


@dataclass
class Planned:
    """A file to write: the submission, its format, and when it arrived."""

    file_name: str
    submission: Submission
    fmt: str  # "xlsx" / "csv"
    bom: bool
    received_at: datetime  # UTC
    unit_code: str
    period_id: str


@dataclass
class UnitPlan:
    unit: Unit
    lines_2021: list[ModelLine] = field(default_factory=list)
    unused: list[Candidate] = field(default_factory=list)
    chosen: dict[str, Candidate] = field(default_factory=dict)  # model name -> its candidate


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _iso_date(text: str) -> date | None:
    return date.fromisoformat(text.strip()) if text and text.strip() else None


def load_history(path: Path = UNITS_CSV) -> list[Unit]:
    """Every version of every unit of a time-versioned master list (``valid_from``/``valid_to``).

    Raises ``ValueError`` for a snapshot list (``expected_from``/``expected_to``): the 2025 and 2026
    submissions need the units' validity dates.
    """
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if "valid_from" not in (reader.fieldnames or ()):
            raise ValueError(f"{path} is not a time-versioned master list (no valid_from/valid_to columns)")
        return [
            Unit(
                row["code"].strip(),
                row["name"].strip(),
                row["kind"].strip(),
                tuple(a.strip() for a in (row.get("aliases") or "").split(";") if a.strip()),
                _iso_date(row["valid_from"]),
                _iso_date(row.get("valid_to") or ""),
            )
            for row in reader
        ]


def units_valid_on(history: list[Unit], day: date) -> list[Unit]:
    """The units valid on ``day``, ordered by code (one version per code: codes are unique on a day)."""
    units = sorted((u for u in history if u.valid_on(day)), key=lambda u: u.code)
    codes = [u.code for u in units]
    assert len(codes) == len(set(codes)), f"two versions of a code valid on {day}: {codes}"
    return units


def load_units(path: Path = UNITS_CSV) -> list[Unit]:
    """The units expected for 2021, ordered by code: from a time-versioned list, those valid on
    14 Dec 2021 (the last day of the year's window); from a snapshot list, by expected years."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if "valid_from" in (reader.fieldnames or ()):
            return units_valid_on(load_history(path), WINDOW_END["2021"])
        return sorted(
            (
                Unit(
                    row["code"],
                    row["name"],
                    row["kind"],
                    tuple(a.strip() for a in row["aliases"].split(";") if a.strip()),
                )
                for row in reader
                if int(row["expected_from"]) <= 2021 and (not row["expected_to"] or int(row["expected_to"]) >= 2021)
            ),
            key=lambda u: u.code,
        )


def load_changes(path: Path = CHANGES_CSV) -> dict[tuple[str, date], list[tuple[str, str]]]:
    """(new code, change date) -> [(old code, change kind)] it took over (``unit_changes.csv``)."""
    out: dict[tuple[str, date], list[tuple[str, str]]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            key = (row["new_code"], date.fromisoformat(row["change_date"]))
            out.setdefault(key, []).append((row["old_code"], row["change_kind"]))
    return out


def allocate(rng: Rng, lows: list[int], highs: list[int], start: list[int], target: int) -> list[int]:
    """Move ``start`` by single steps within [low, high] until it sums to ``target``."""
    values = list(start)
    assert sum(lows) <= target <= sum(highs), (sum(lows), target, sum(highs))
    while sum(values) != target:
        step = 1 if sum(values) < target else -1
        i = rng.randint(0, len(values) - 1)
        if lows[i] <= values[i] + step <= highs[i]:
            values[i] += step
    return values


def candidates_for(unit: Unit, rng: Rng) -> list[Candidate]:
    """Every model name this unit could run, in a random order, unique names."""
    out: list[Candidate] = []
    if unit.is_local:
        scope = unit.kind
        group = "tổ dân phố" if scope == "phuong" else "thôn"
        n_groups = rng.randint(9, 16)
        for fld, template, profile, where in LOCAL_TEMPLATES:
            if where not in {"both", scope}:
                continue
            repeats = 2 if "{loc}" in template or "{street}" in template else 1
            for _ in range(repeats):
                name = template.format(
                    loc=f"{group} {rng.randint(1, n_groups)}",
                    street=rng.choice(STREETS),
                    project=rng.choice(PROJECTS),
                    unit=unit.short,
                )
                out.append(Candidate(name, fld, profile))
    else:
        out = [Candidate(name, fld, profile) for fld, name, profile in AGENCY_TEMPLATES[unit.code]]
    seen: set[str] = set()
    unique = []
    for cand in rng.shuffled(out):
        if cand.name not in seen:
            seen.add(cand.name)
            unique.append(cand)
    return unique


def pick(cands: list[Candidate], n: int, all_fields: bool) -> tuple[list[Candidate], list[Candidate]]:
    """n candidates (one of each field first when asked); returns (picked, the rest)."""
    picked: list[Candidate] = []
    if all_fields:
        for code in FIELD_NAMES:
            first = next(c for c in cands if c.field == code)
            picked.append(first)
    for cand in cands:
        if len(picked) >= n:
            break
        if cand not in picked:
            picked.append(cand)
    assert len(picked) == n, (n, len(cands))
    return picked, [c for c in cands if c not in picked]


def one_decimal(rng: Rng, low: float, high: float) -> float:
    return rng.randint(int(low * 10), int(high * 10)) / 10


def measures(rng: Rng, profile: str, scale: float = 1.0) -> tuple:
    """(households, funds in million VND, labour days, land m2), some blank."""
    s = scale

    def n(a: int, b: int) -> int:
        return max(0, rng.randint(int(a * s), max(int(a * s), int(b * s))))

    if profile == "road":
        values = (n(25, 180), one_decimal(rng, 80 * s, 1200 * s), n(150, 1500), n(50, 900) if rng.chance(0.6) else None)
    elif profile == "urban":
        values = (n(40, 250), one_decimal(rng, 50 * s, 800 * s), n(100, 900), n(10, 400) if rng.chance(0.3) else None)
    elif profile == "gpmb":
        values = (n(10, 90), None if rng.chance(0.5) else 0, n(20, 200), n(200, 5000))
    elif profile == "econ":
        values = (n(10, 120), one_decimal(rng, 100 * s, 3000 * s), n(30, 400) if rng.chance(0.5) else None, None)
    elif profile == "green":
        values = (n(50, 400), one_decimal(rng, 10 * s, 250 * s), n(50, 800), n(10, 300) if rng.chance(0.2) else None)
    elif profile == "social":
        values = (n(30, 600), one_decimal(rng, 5 * s, 300 * s), n(0, 300) if rng.chance(0.6) else None, None)
    elif profile == "security":
        values = (n(40, 450), one_decimal(rng, 10 * s, 250 * s), n(10, 150), None)
    elif profile == "party":
        values = (
            n(5, 80) if rng.chance(0.5) else None,
            one_decimal(rng, 1 * s, 40 * s) if rng.chance(0.5) else None,
            None,
            None,
        )
    elif profile == "covid":
        values = (n(100, 1500), one_decimal(rng, 20 * s, 500 * s), n(100, 2000), None)
    else:
        raise ValueError(profile)
    return tuple(None if (v is not None and rng.chance(0.1)) else v for v in values)


def recognition(rng: Rng, unit: Unit, new: bool) -> str | None:
    r = rng.random()
    if unit.is_local:
        levels = ((0.6, "Cấp xã"), (0.8, "Cấp thành phố"), (0.82, "Cấp tỉnh")) if new else (
            (0.35, "Cấp xã"), (0.8, "Cấp thành phố"), (0.9, "Cấp tỉnh"))
    else:
        levels = ((0.5, "Cấp thành phố"), (0.55, "Cấp tỉnh")) if new else ((0.7, "Cấp thành phố"), (0.85, "Cấp tỉnh"))
    return next((level for bound, level in levels if r < bound), None)


def model_line(
    rng: Rng,
    unit: Unit,
    cand: Candidate,
    new: bool,
    year: int,
    registered_on: date | None = None,
    scale: float = 1.0,
) -> ModelLine:
    replicated = REPLICATED_SPELLING.get(unit.code, "Nhân rộng")
    if registered_on is None:
        if new:
            registered_on = rng.day(date(year, 1, 4), date(year, 11, 30) if year == 2021 else date(year, 3, 10))
        elif not rng.chance(0.15):
            registered_on = rng.day(date(2018, 1, 8), date(year - 1, 12, 10))
    hh, funds, labour, land = measures(rng, cand.profile, scale)
    note = None
    if rng.chance(0.25):
        if new:
            note = rng.choice(NOTES_NEW).replace("2021", str(year))
        else:
            since = registered_on.year if registered_on else year - 1
            note = rng.choice(NOTES_REPLICATED).format(year=since).replace("2021", str(year))
    return ModelLine(
        name=cand.name,
        field=FIELD_NAMES[cand.field],
        kind=KIND_NEW if new else replicated,
        registered_on=registered_on,
        recognition_level=recognition(rng, unit, new),
        households=hh,
        funds_million_vnd=funds,
        labour_days=labour,
        land_m2=land,
        note=note,
    )


def preparer(rng: Rng) -> tuple[str, str]:
    if rng.chance(0.6):
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_F)} {rng.choice(GIVEN_F)}"
    else:
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}"
    digits = f"09{rng.randint(10, 99)}{rng.randint(100000, 999999)}"
    phone = digits if rng.chance(0.5) else f"{digits[:4]} {digits[4:7]} {digits[7:]}"
    return name, phone


def utc(local: datetime) -> datetime:
    return local.replace(tzinfo=LOCAL_TZ).astimezone(timezone.utc)


def arrival(rng: Rng, report_date: date, latest_local: datetime) -> datetime:
    """Office hours, the same day or the next, never after ``latest_local``."""
    for _ in range(100):
        r = rng.random()
        day = report_date + timedelta(days=0 if r < 0.25 else 1 if r < 0.85 else 2)
        local = datetime(day.year, day.month, day.day, rng.randint(7, 16), rng.randint(0, 59))
        if local <= latest_local:
            return local
    return datetime(report_date.year, report_date.month, report_date.day, 16, 0)


def as_csv_fields(sub: Submission) -> Submission:
    """The CSV export of a unit whose software writes field codes."""
    return replace(sub, models=[replace(m, field=field_code(m.field)) for m in sub.models])


# ------------------------------------------------------------------ the plan
def build(units: list[Unit]) -> list[Planned]:
    rng = Rng(f"{SEED}-allocation")
    reporting = [u for u in units if u.code != MISSING_2021]
    assert len(reporting) == HEADLINE_2021["units"], len(reporting)
    lows = [WARD_MODELS[0] if u.is_local else AGENCY_MODELS[0] for u in reporting]
    highs = [WARD_MODELS[1] if u.is_local else AGENCY_MODELS[1] for u in reporting]
    counts = allocate(rng, lows, highs, [rng.randint(a, b) for a, b in zip(lows, highs)], HEADLINE_2021["models"])
    new_start = [min(n, max(1, round(n * 0.62) + rng.randint(-2, 2))) for n in counts]
    new_counts = allocate(rng, [1] * len(counts), counts, new_start, HEADLINE_2021["new"])

    planned: list[Planned] = []
    plans: dict[str, UnitPlan] = {}
    due_local = datetime(2021, 12, 19, 23, 59)
    for unit, n, n_new in zip(reporting, counts, new_counts):
        r = Rng(f"{SEED}-2021-{unit.code}")
        cands = candidates_for(unit, r)
        chosen, rest = pick(cands, n, all_fields=unit.is_local)
        new_flags = r.shuffled([True] * n_new + [False] * (n - n_new))
        lines = [model_line(r, unit, c, new, 2021) for c, new in zip(chosen, new_flags)]
        plans[unit.code] = UnitPlan(unit, lines, rest, {c.name: c for c in chosen})
        name, phone = preparer(r)
        written_name = WRITTEN_NAME_2021.get(unit.code, unit.name)
        if unit.code in LATE_2021:
            report_date, received_local = LATE_2021[unit.code]
        elif unit.code in EDGE_2021:
            report_date, received_local = EDGE_2021[unit.code]
        elif unit.code == CORRECTED_2021:
            report_date, received_local = CORRECTION_2021[1]
        else:
            report_date = r.day(date(2021, 12, 10), date(2021, 12, 18))
            received_local = arrival(r, report_date, due_local - timedelta(hours=8))
        base = Submission(
            unit_code=unit.code,
            unit_name=written_name,
            period="Năm 2021",
            report_date=report_date,
            models=lines,
            preparer_name=name,
            preparer_phone=phone,
        )
        fmt = "csv" if unit.code in CSV_2021 else "xlsx"
        bom = CSV_2021.get(unit.code, False)
        sub = as_csv_fields(base) if unit.code in CSV_FIELD_CODES else base
        stem = f"2021_{unit.code}_{slugify(unit.name)}"
        if unit.code == CORRECTED_2021:
            # v1: signed earlier and one model short (the last new one was forgotten)
            forgotten = max(i for i, line in enumerate(lines) if line.kind == KIND_NEW)
            v1_date, v1_received = CORRECTION_2021[0]
            v1 = replace(sub, report_date=v1_date, models=[m for i, m in enumerate(lines) if i != forgotten])
            planned.append(Planned(f"{stem}.{fmt}", v1, fmt, bom, utc(v1_received), unit.code, "2021"))
            stem = f"{stem}_v2"
        planned.append(Planned(f"{stem}.{fmt}", sub, fmt, bom, utc(received_local), unit.code, "2021"))

    for code, (fmt, bom) in Q1_2022.items():
        plan = plans[code]
        unit = plan.unit
        r = Rng(f"{SEED}-2022Q1-{code}")
        keep = r.randint(3, 6) if unit.is_local else r.randint(1, 3)
        carried = r.shuffled(plan.lines_2021)[:keep]
        fresh_n = r.randint(1, 3) if unit.is_local else r.randint(1, 2)
        fresh = plan.unused[:fresh_n]
        lines = []
        for old in sorted(carried, key=lambda m: plan.lines_2021.index(m)):
            # carried on from 2021 (replicated in 2022), with the quarter's smaller figures
            cand = plan.chosen[old.name]
            line = model_line(r, unit, cand, False, 2022, registered_on=old.registered_on, scale=0.3)
            lines.append(replace(line, recognition_level=old.recognition_level))
        for cand in fresh:
            lines.append(model_line(r, unit, cand, True, 2022, scale=0.3))
        report_date = r.day(date(2022, 3, 14), date(2022, 3, 17))
        name, phone = preparer(r)
        sub = Submission(
            unit_code=unit.code,
            unit_name=unit.name,
            period=Q1_PERIOD_WRITTEN.get(code, "Quý I/2022"),
            report_date=report_date,
            models=lines,
            preparer_name=name,
            preparer_phone=phone,
        )
        if code in CSV_FIELD_CODES:
            sub = as_csv_fields(sub)
        received = utc(arrival(r, report_date, datetime(2022, 3, 18, 17, 0)))
        planned.append(Planned(f"2022Q1_{code}_{slugify(unit.name)}.{fmt}", sub, fmt, bom, received, code, "2022Q1"))
    return planned


def window_end(period_id: str) -> date:
    """The last day of a period's data window (spec §2): the 14th of its last month."""
    year = int(period_id[:4])
    if len(period_id) == 4:
        return date(year, 12, 14)
    number = int(period_id[5:])
    return date(year, {"Q": 3, "S": 6}[period_id[4]] * number, 14)


def period_months(period_id: str) -> int:
    return 12 if len(period_id) == 4 else {"Q": 3, "S": 6}[period_id[4]]


WINDOW_END = {"2021": window_end("2021")}


def _scaled(line: ModelLine, factor: float) -> ModelLine:
    """The line with its figures for part of the year (year-to-date: full-year figures x factor)."""
    if factor == 1:
        return line

    def part(value):
        if value is None:
            return None
        return int(value * factor) if isinstance(value, int) else round(value * factor, 1)

    return replace(line, households=part(line.households), funds_million_vnd=part(line.funds_million_vnd),
                   labour_days=part(line.labour_days), land_m2=part(line.land_m2))


def _unit_year_pool(unit: Unit, year: int, low_high: tuple[int, int], carried: list[ModelLine] | None,
                    new_from: date, new_to: date) -> list[ModelLine]:
    """A unit's models of ``year`` with full-year figures: replicated ones (some carried on from
    ``carried``, last year's pool) and new ones registered between ``new_from`` and ``new_to``."""
    r = Rng(f"{SEED}-pool-{year}-{unit.code}-{unit.valid_from}")
    cands = candidates_for(unit, r)
    low, high = low_high
    n = min(r.randint(low, high), len(cands))
    n_new = max(1, min(n - 2, round(n * 0.55) + r.randint(-2, 2)))
    n_rep = n - n_new
    lines: list[ModelLine] = []
    taken: set[str] = set()
    for old in (carried or [])[:]:
        if len(lines) >= n_rep:
            break
        if r.chance(0.7):
            cand = next((c for c in cands if c.name == old.name), None) or Candidate(old.name, field_code(old.field), "party")
            line = model_line(r, unit, cand, False, year, registered_on=old.registered_on)
            lines.append(replace(line, recognition_level=old.recognition_level))
            taken.add(old.name)
    fresh = [c for c in cands if c.name not in taken]
    if unit.is_local:  # every field in a ward's or commune's year
        for code in FIELD_NAMES:
            i = next(i for i, c in enumerate(fresh) if c.field == code)
            fresh.insert(0, fresh.pop(i))
    picks = iter(fresh)
    news: list[ModelLine] = []
    while len(lines) < n_rep:
        lines.append(model_line(r, unit, next(picks), False, year))
    for _ in range(n_new):
        news.append(model_line(r, unit, next(picks), True, year, registered_on=r.day(new_from, new_to)))
    news.sort(key=lambda m: m.registered_on)
    # two new models already in the first report of the year (cumulative reports are never empty)
    for i in range(min(2, len(news))):
        news[i] = replace(news[i], registered_on=r.day(new_from, new_from + timedelta(days=45)))
    pool = lines + news
    return [pool[i] for i in Rng(f"{SEED}-order-{year}-{unit.code}-{unit.valid_from}").shuffled(range(len(pool)))]


def build_later(history: list[Unit]) -> list[Planned]:
    """The 2025 and 2026 submissions (reorganisations.md): see ``NOT_SENT`` and the constants above."""
    planned: list[Planned] = []
    pools: dict[tuple[str, date | None, int], list[ModelLine]] = {}
    for period_id in LATER_PERIODS:
        year = int(period_id[:4])
        end = window_end(period_id)
        first_day, last_day, latest_arrival = REPORT_DAYS[period_id]
        for unit in units_valid_on(history, end):
            key = (unit.code, unit.valid_from, year)
            if key not in pools:
                if unit.valid_from is not None and unit.valid_from >= CITY_END:
                    kind = "new"
                    carried = pools.get((unit.code, unit.valid_from, year - 1))
                    new_to = date(year, 11, 30)
                else:
                    kind = "city_local" if unit.is_local else "city_agency"
                    carried, new_to = None, date(year, 6, 10)
                pools[key] = _unit_year_pool(unit, year, LATER_MODELS[(kind, year)], carried, date(year, 1, 4), new_to)
            if unit.code in NOT_SENT[period_id]:
                continue
            factor = period_months(period_id) / 12
            lines = [_scaled(m, factor) for m in pools[key] if not is_new(m.kind) or m.registered_on <= end]
            r = Rng(f"{SEED}-{period_id}-{unit.code}")
            if (period_id, unit.code) in LATE_LATER:
                report_date, received_local = LATE_LATER[(period_id, unit.code)]
            else:
                report_date = r.day(first_day, last_day)
                received_local = arrival(r, report_date, latest_arrival)
            assert received_local < TODAY_LOCAL, (period_id, unit.code)
            name, phone = preparer(r)
            sub = Submission(
                unit_code=unit.code,
                unit_name=WRITTEN_NAME_LATER.get((period_id, unit.code), unit.name),
                period=PERIOD_WRITTEN_VARIANT.get((period_id, unit.code), PERIOD_WRITTEN[period_id]),
                report_date=report_date,
                models=lines,
                preparer_name=name,
                preparer_phone=phone,
            )
            fmt = "csv" if unit.code in CSV_LATER else "xlsx"
            if unit.code in CSV_FIELD_CODES:
                sub = as_csv_fields(sub)
            file_name = f"{period_id}_{unit.code}_{slugify(unit.name)}.{fmt}"
            planned.append(Planned(file_name, sub, fmt, CSV_LATER.get(unit.code, False), utc(received_local), unit.code, period_id))
    return planned


def _newest(planned: list[Planned]) -> dict[tuple[str, str], Planned]:
    """(unit code, period id) -> the accepted submission: the newest by report date, then arrival."""
    newest: dict[tuple[str, str], Planned] = {}
    for p in planned:
        cur = newest.get((p.unit_code, p.period_id))
        if cur is None or (p.submission.report_date, p.received_at) > (cur.submission.report_date, cur.received_at):
            newest[(p.unit_code, p.period_id)] = p
    return newest


def _year_source(newest: dict[tuple[str, str], Planned], unit: Unit, year: int) -> Planned | None:
    """The unit's submission for the year's figures (spec §2): its annual report, else its report of
    the latest shorter period of the year (on a tie, the longer period); only the periods whose
    window ends while this version of the unit is valid (a reused code is another unit)."""
    mine = [p for (code, period_id), p in newest.items()
            if code == unit.code and period_id[:4] == str(year) and unit.valid_on(window_end(period_id))]
    if not mine:
        return None
    return max(mine, key=lambda p: (len(p.period_id) == 4, window_end(p.period_id), period_months(p.period_id)))


def year_figures(planned: list[Planned], history: list[Unit], changes: dict, year: int) -> dict:
    """A year's figures as a correct warehouse computes them (spec §2, reorganisations.md Rules 2-3)."""
    newest = _newest(planned)
    expected = units_valid_on(history, window_end(str(year)))
    reported, provisional, from_predecessors, missing = [], [], [], []
    counted: list[tuple[str, list[ModelLine]]] = []
    for unit in expected:
        source = _year_source(newest, unit, year)
        if source is not None:
            (reported if len(source.period_id) == 4 else provisional).append(unit.code)
            counted.append((unit.code, list(source.submission.models)))
            continue
        lines: list[ModelLine] = []
        for old_code, kind in changes.get((unit.code, unit.valid_from), []):
            assert kind != "split", "the oracle does not apportion split units"
            old = next((u for u in history if u.code == old_code and u.valid_to == unit.valid_from), None)
            if old is None:  # came from outside the deployment (transfer_in): no reports here
                continue
            old_source = _year_source(newest, old, year)
            if old_source is not None:
                lines.extend(old_source.submission.models)
        if lines:
            from_predecessors.append(unit.code)
            counted.append((unit.code, lines))
        else:
            missing.append(unit.code)
    models = [m for _, lines in counted for m in lines]
    fields = {code: {"total": 0, "new": 0, "replicated": 0} for code in FIELD_NAMES}
    for m in models:
        f = fields[field_code(m.field)]
        f["total"] += 1
        f["new" if is_new(m.kind) else "replicated"] += 1
    new = sum(1 for m in models if is_new(m.kind))
    return {
        "units_expected": len(expected),
        "units_reported": len(reported),
        "units_registered": sum(1 for _, lines in counted if lines),
        "models_total": len(models),
        "models_new": new,
        "models_replicated": len(models) - new,
        "fields": fields,
        "provisional_units": provisional,
        "from_predecessors_units": from_predecessors,
        "missing_units": missing,
    }


def period_rates(planned: list[Planned], history: list[Unit], period_id: str) -> dict:
    """Rule 2: the units expected for a period (valid on its window's last day) and those that sent it."""
    expected = {u.code for u in units_valid_on(history, window_end(period_id))}
    sent = {p.unit_code for p in planned if p.period_id == period_id}
    assert sent <= expected, (period_id, sorted(sent - expected))
    return {"expected": len(expected), "reported": len(sent), "missing_units": sorted(expected - sent)}


def headline(planned: list[Planned], period_id: str = "2021") -> dict:
    """Figures over the newest submission (report date, then received time) of each unit."""
    newest: dict[str, Planned] = {}
    for p in planned:
        if p.period_id != period_id:
            continue
        cur = newest.get(p.unit_code)
        if cur is None or (p.submission.report_date, p.received_at) > (cur.submission.report_date, cur.received_at):
            newest[p.unit_code] = p
    models = [m for p in newest.values() for m in p.submission.models]
    return {
        "units": sum(1 for p in newest.values() if p.submission.models),
        "models": len(models),
        "new": sum(1 for m in models if is_new(m.kind)),
        "replicated": sum(1 for m in models if not is_new(m.kind)),
        "fields": sorted({field_code(m.field) for m in models}),
    }


def oracle(planned: list[Planned], history: list[Unit], changes: dict) -> tuple[dict[int, dict], dict[str, dict]]:
    """The figures per year (2021, 2025, 2026) and the reporting rates per period of 2025 and 2026."""
    years = {year: year_figures(planned, history, changes, year) for year in (2021, 2025, 2026)}
    periods = {period_id: period_rates(planned, history, period_id) for period_id in LATER_PERIODS}
    return years, periods


def check(planned: list[Planned], units: list[Unit], history: list[Unit] | None = None, changes: dict | None = None) -> dict:
    figures = headline(planned)
    expected = dict(HEADLINE_2021, fields=sorted(FIELD_NAMES))
    assert figures == expected, f"demo 2021 figures {figures} != headline {expected}"
    names = [p.file_name for p in planned]
    assert len(names) == len(set(names)) and all(n.isascii() for n in names), names
    reported_2021 = {p.unit_code for p in planned if p.period_id == "2021"}
    missing = sorted(u.code for u in units if u.code not in reported_2021)
    assert missing == [MISSING_2021], missing
    for p in planned:
        model_names = [m.name for m in p.submission.models]
        assert len(model_names) == len(set(model_names)), (p.file_name, model_names)
        for text in (*model_names, p.submission.unit_name or "", *(m.note or "" for m in p.submission.models)):
            assert unicodedata.is_normalized("NFC", text), text
        assert p.received_at.date() >= p.submission.report_date - timedelta(days=1), p.file_name
    if history is not None:
        years, periods = oracle(planned, history, changes or {})
        y2021 = years[2021]
        assert (y2021["units_registered"], y2021["models_total"], y2021["models_new"], y2021["models_replicated"]) == (
            HEADLINE_2021["units"], HEADLINE_2021["models"], HEADLINE_2021["new"], HEADLINE_2021["replicated"]), y2021
        assert years == EXPECTED_FIGURES, f"demo figures changed: {years} != the oracle {EXPECTED_FIGURES}"
        assert periods == EXPECTED_PERIODS, f"demo reporting rates changed: {periods} != {EXPECTED_PERIODS}"
        assert years[2025]["from_predecessors_units"] == [FROM_PREDECESSORS_2025]
        assert years[2026]["missing_units"] == [MISSING_2026]
        for p in planned:  # the names and codes exactly as the master list has them that day
            if p.period_id in LATER_PERIODS:
                unit = next(u for u in units_valid_on(history, window_end(p.period_id)) if u.code == p.unit_code)
                assert p.submission.unit_name in (unit.name, *unit.aliases) or (p.period_id, p.unit_code) in WRITTEN_NAME_LATER
                assert p.file_name == f"{p.period_id}_{unit.code}_{slugify(unit.name)}.{p.fmt}"
                assert p.received_at <= utc(TODAY_LOCAL) and p.submission.models, p.file_name
    counts_by_unit = {p.unit_code: len(p.submission.models) for p in planned if p.period_id == "2021"}
    for u in units:
        if u.code in counts_by_unit:
            low, high = WARD_MODELS if u.is_local else AGENCY_MODELS
            assert low <= counts_by_unit[u.code] <= high, (u.code, counts_by_unit[u.code])
    return figures


def write(planned: list[Planned], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for old in sorted([*out.glob("*.xlsx"), *out.glob("*.csv")]):
        old.unlink()
    for p in planned:
        if p.fmt == "xlsx":
            write_xlsx(p.submission, out / p.file_name)
        else:
            write_csv(p.submission, out / p.file_name, bom=p.bom)
    rows = sorted(planned, key=lambda p: (p.received_at, p.file_name))
    lines = ["file_name,received_at"] + [f"{p.file_name},{p.received_at.strftime('%Y-%m-%dT%H:%M:%SZ')}" for p in rows]
    (out / "_manifest.csv").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT, help="output folder (default demo/inbox)")
    parser.add_argument("--units", type=Path, default=UNITS_CSV,
                        help="the time-versioned master list (default dbt_project/seeds/reporting_units.csv)")
    parser.add_argument("--changes", type=Path, default=CHANGES_CSV,
                        help="the list of unit changes (default dbt_project/seeds/unit_changes.csv)")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    units = load_units(args.units)
    history = load_history(args.units)
    changes = load_changes(args.changes)
    planned = build(units) + build_later(history)
    figures = check(planned, units, history, changes)
    write(planned, args.out)
    if not args.quiet:
        due_utc = utc(datetime(2021, 12, 19, 23, 59, 59))
        y2021 = [p for p in planned if p.period_id == "2021"]
        late = sorted(p.unit_code for p in y2021 if p.received_at > due_utc or p.submission.report_date > date(2021, 12, 19))
        print(f"wrote {len(planned)} submissions + _manifest.csv to {args.out}")
        print(
            f"  2021 annual: {len(y2021)} files ({sum(p.fmt == 'xlsx' for p in y2021)} xlsx, "
            f"{sum(p.fmt == 'csv' for p in y2021)} csv), newest per unit: {figures['units']} units, "
            f"{figures['models']} models, {figures['new']} new, {figures['replicated']} replicated, "
            f"fields {', '.join(figures['fields'])}"
        )
        print(f"  2021 missing: {MISSING_2021}; corrected (v1 + v2): {CORRECTED_2021}; late: {', '.join(late)}")
        q1 = [p for p in planned if p.period_id == "2022Q1"]
        print(f"  2022Q1: {len(q1)} files, {sum(len(p.submission.models) for p in q1)} models ({', '.join(p.unit_code for p in q1)})")
        for period_id, rate in EXPECTED_PERIODS.items():
            files = [p for p in planned if p.period_id == period_id]
            print(f"  {period_id}: {rate['reported']}/{rate['expected']} units sent, {len(files)} files, "
                  f"{sum(len(p.submission.models) for p in files)} models; missing: {', '.join(rate['missing_units']) or '-'}")
        for year in (2025, 2026):
            f = EXPECTED_FIGURES[year]
            print(f"  {year} figures: {f['units_registered']} units ({f['units_reported']} annual reports, provisional "
                  f"{', '.join(f['provisional_units']) or '-'}, from predecessors {', '.join(f['from_predecessors_units']) or '-'}, "
                  f"missing {', '.join(f['missing_units']) or '-'}), {f['models_total']} models, {f['models_new']} new, "
                  f"{f['models_replicated']} replicated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
