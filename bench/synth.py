"""Deterministic synthetic "Dân vận khéo" submissions at the scale of a city, a province or the country.

    .venv/bin/python bench/synth.py --scale province --out /tmp/province            # seed 2026
    .venv/bin/python bench/synth.py --scale city --out /tmp/city --seed 7
    .venv/bin/python bench/synth.py --scale city --out /tmp/city --new-files 0.01    # the nightly delta

or, with the repository root (or ``bench/``) on ``sys.path``::

    from bench.synth import SCALES, generate, generate_new_files
    summary = generate("province", Path("/tmp/province"))
    new = generate_new_files("province", Path("/tmp/province"), fraction=0.01, seed=2027)

``generate`` writes into its output folder (which it owns: an existing ``inbox/`` is replaced):

- ``units.csv``: the scale's real master list as it is (``units_file``), or a synthetic master list
  of reporting units, in exactly the format of ``dbt_project/seeds/reporting_units.csv``,
  time-versioned (``code,name,kind,parent_code,aliases,valid_from,valid_to``: a synthetic unit
  expected in years Y1..Y2 is valid from 1 January Y1 to 1 January Y2+1, exclusive, so it is
  expected for every period of those years and no other). Wards (``phuong``) and communes (``xa``) have 5-digit numeric codes, mass
  organisations (``doan_the``) and agencies (``co_quan``) ``CQnnnn`` codes from ``CQ1000`` up
  (no leading zero after "CQ": the ingest reads a typed "CQ0012" as "CQ12", see the note below).
  Every name and alias is unique on the product's own matching key (:func:`dvk.text.fold`, then
  :func:`dvk.reference.strip_unit_prefix`), so "Phường An Hòa" and "Xã An Hòa" never coexist;
- ``unit_changes.csv`` and ``unit_split_shares.csv``: the list's reorganisations in the format of
  the seeds of the same names (:func:`unit_merges`: a ward or commune that ceases is merged into a
  continuing one of its district, which starts a new version that day and so has two rows in
  ``units.csv``; no split, so the shares file is its header). A real list: headers only;
- ``inbox/``: the submission files, and ``inbox/_manifest.csv`` (``file_name,received_at``, ISO
  8601 UTC, oldest first) as the demo inbox has it;
- ``expected.json``: ``{"meta": {...}, "years": {"2023": {...}, ...}}``, the annual summary of
  each year as the spec defines it (§2), computed from the generated submissions themselves: per
  (unit, period) the newest submission (report date, then arrival) is accepted; a unit's figures of
  year Y come from its accepted annual report, else from its accepted report of the latest shorter
  period of Y (latest window end, on a tie the longer period: "provisional"). Keys per year:
  ``units_registered`` (units with at least one model), ``units_expected``, ``units_reported``
  (annual report), ``units_provisional``, ``models_total``, ``models_new``, ``models_replicated``,
  ``fields`` (``KT``/``VHXH``/``QPAN``/``XDD`` → ``total``/``new``/``replicated``),
  ``households``, ``funds_million_vnd``, ``labour_days``, ``land_m2``, ``missing_units`` and
  ``provisional_units`` (codes), ``files`` (files whose period lies in Y). "New" and "replicated"
  follow :func:`dvk.forms.is_new`, fields :func:`dvk.forms.field_code`.

What the data looks like. Each unit, each year it is expected: four quarterly reports ("Quý I/2023",
sometimes "Quý 1 năm 2023"), two half-year reports ("6 tháng đầu năm 2023", "6 tháng cuối năm
2023") and the annual report ("Năm 2023"). Each unit-year has a pool of 8-25 models (5-15 for
agencies): some carried over from the previous year (replicated, keeping their registration
date), the others new, registered during the year. Reports are cumulative for the year (spec §2):
a report lists the replicated models and the new ones registered by the end of its data window,
with year-to-date figures (the pool's annual figures × months elapsed / 12). About 3 % of reports
are missing (about 1 % of unit-years send nothing at all: the unit is "missing" that year), about
3 % of submissions are corrected (the same unit and period sent again a few days later, with a later
report date: the first version forgot one model, or had one wrong figure). Report dates fall in the
days after the data window's end; most files arrive within the 5-day grace, a few are late. Nothing lies
after :data:`TODAY` (2026-11-29).

Files: ``.xlsx`` workbooks written by :func:`dvk.forms.xlsx_bytes` (declared totals computed from
the model lines, so the quality gate passes) and, for about ``csv_share`` of the units, the CSV of
spec §4 by :func:`dvk.forms.csv_bytes`, with or without a UTF-8 BOM. Units have habits, as offices
do; a small share of files carry the text quirks of spec §5: NFD-decomposed text, the unit's name
without diacritics, prefixed ("UBND phường ...", "P. ...") or as an alias/abbreviation, the field
written as its code ("KT") or an alias ("VH-XH", "An ninh"), numbers as text with Vietnamese
separators ("1.250", "12,5"), dates as "dd/mm/yyyy" text, sheet names without diacritics
("ThongTin"), no title rows above the model header. The unit code is always filled in and right.
Every file loads: nothing is quarantined.

Scales (:data:`SCALES`): ``tiny`` 6 units, 2023, about 45 files; ``city`` 30 units, 2022-2024,
about 600 files; ``province`` Hà Tĩnh's real list (:data:`PROVINCE_UNITS_FILE`: the 69 wards and
communes of 1 July 2025 and six province agencies, time-versioned), 2025-2026, about 600 files: a
unit is expected for a period when it is valid on the last day of the period's window, so nothing
before 2025Q3; ``units.csv`` is then that list as it is (the seed's history format, for
``DVK_UNITS_FILE``); ``province-synthetic`` 300 synthetic units, 2022-2024, about 6,200 files (15 s,
the province of the measurements in docs/benchmarks.md); ``national`` 10,000
units, 2023-2024, about 136,000 files, CSV only (``csv_only``, about 1 minute): the same number of
workbooks would take 5 to 6 minutes to write (and the pandas comparison with openpyxl far longer),
and a national collection would come from the units' software anyway.

Deterministic: the same scale and seed give byte-identical files (``random.Random`` seeded with
strings, per unit and per file, so the order of work does not matter; no clock; workbook
timestamps are the report date at 08:00 UTC, as :mod:`dvk.forms.writer` stamps them).

``generate_new_files`` is the nightly delta: about ``fraction`` × the files already there, as
corrections of accepted submissions and late arrivals of missing reports, all received after every
file already in the inbox; it appends them to ``_manifest.csv`` and rewrites ``expected.json``.
It rebuilds the plan of the existing files from ``expected.json``'s ``meta`` (scale, seed, earlier
deltas) without rendering them, so it needs only the output folder.

Note on agency codes: :meth:`dvk.reference.UnitDirectory.lookup_code` rewrites a typed code
"CQ0*<n>" as "CQ<n:02d>" but keeps the master list's codes as written, so a master list with
"CQ0012" (zero-padded to 4 digits) could never be matched by code; ``CQ1000`` and up are safe.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import sys
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:  # run from a checkout without the package installed
    sys.path.insert(0, str(REPO / "src"))
from dvk.forms import (  # noqa: E402
    FIELD_NAMES,
    KIND_NEW,
    DeclaredTotal,
    ModelLine,
    SheetNames,
    Submission,
    compute_declared_totals,
    csv_bytes,
    field_code,
    is_new,
    xlsx_bytes,
)

__all__ = ["SCALES", "TODAY", "Scale", "generate", "generate_new_files", "main", "unit_merges"]

#: Nothing is dated after this day (the project's "today" when the data was designed).
TODAY = date(2026, 11, 29)
LOCAL_TZ = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh
UNITS_HEADER = ("code", "name", "kind", "parent_code", "aliases", "valid_from", "valid_to")
MANIFEST = "_manifest.csv"
GRACE_DAYS = 5

MISSING_REPORT_RATE = 0.03  # a report a unit does not send
SILENT_YEAR_RATE = 0.01  # a unit-year with no report at all
CORRECTION_RATE = 0.03  # a submission sent again later
LATE_RATE = 0.06  # a report signed and sent after its due date


@dataclass(frozen=True)
class Scale:
    """How much to generate: ``units`` units reporting over ``years``.

    ``csv_only``: every unit sends the CSV form (no workbook); otherwise about ``csv_share`` of
    the units send CSV and the others the Excel workbook.
    """

    name: str
    units: int
    years: tuple[int, ...]
    csv_only: bool = False
    csv_share: float = 0.2
    #: A real master list (time-versioned, the seed's history format; relative to the repository)
    #: instead of synthetic units: ``units`` is then the number of rows it holds.
    units_file: str | None = None
    #: Only these periods (ids such as "2025" or "2026Q1"); None: every period of each year.
    period_ids: tuple[str, ...] | None = None
    #: The name the random streams use (a renamed scale keeps generating the same data).
    stream_name: str | None = None

    @property
    def stream(self) -> str:
        return self.stream_name or self.name

    def as_dict(self) -> dict[str, Any]:
        data = {**asdict(self), "years": list(self.years)}
        if self.period_ids is not None:
            data["period_ids"] = list(self.period_ids)
        # the optional keys only when set (the meta of the synthetic scales stays as it was)
        return {k: v for k, v in data.items() if v is not None or k not in ("units_file", "period_ids", "stream_name")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scale:
        period_ids = data.get("period_ids")
        return cls(name=data["name"], units=int(data["units"]), years=tuple(int(y) for y in data["years"]),
                   csv_only=bool(data["csv_only"]), csv_share=float(data["csv_share"]),
                   units_file=data.get("units_file"),
                   period_ids=None if period_ids is None else tuple(str(p) for p in period_ids),
                   stream_name=data.get("stream_name"))


#: The real province: Hà Tĩnh's 69 wards and communes from 1 July 2025 (GSO list, reorganisations.md
#: §2) and six province agencies (invented), in the master list's history format; pass it to the
#: warehouse as ``DVK_UNITS_FILE`` (or copy it over ``dbt_project/seeds/reporting_units.csv``).
PROVINCE_UNITS_FILE = "bench/data/hatinh_province_reporting_units.csv"

SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", 6, (2023,), False, 0.2),
    "city": Scale("city", 30, (2022, 2023, 2024), False, 0.2),
    # the province as it is since 1 July 2025: every report of a unit valid on its window's last day
    # (2025Q3, 2025Q4, 2025S2 and 2025; 2026Q1 to 2026Q3), on the real list
    "province": Scale("province", 75, (2025, 2026), False, 0.2, units_file=PROVINCE_UNITS_FILE),
    # the earlier synthetic province (300 units, 2022-2024), on which docs/benchmarks.md's province
    # measurements were taken: its streams keep the name "province", so it gives the same files
    "province-synthetic": Scale("province-synthetic", 300, (2022, 2023, 2024), False, 0.2, stream_name="province"),
    "national": Scale("national", 10_000, (2023, 2024), True, 1.0),
}


def _scale(scale: str | Scale) -> Scale:
    if isinstance(scale, Scale):
        return scale
    try:
        return SCALES[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}: one of {', '.join(SCALES)}") from None


# ============================================================================ vocabulary

#: Place names for wards and communes (unique on their fold keys; a number is added on reuse).
PLACE_NAMES: tuple[str, ...] = (
    "An Hòa", "An Phú", "Bắc Hà", "Bình Minh", "Cẩm Bình", "Đông Hòa", "Đồng Tâm", "Gia Lộc", "Hà Lâm",
    "Hòa Bình", "Hòa Lạc", "Hưng Lộc", "Hương Sơn", "Kỳ Lâm", "Liên Minh", "Minh Khai", "Nam Hồng",
    "Nghĩa Hưng", "Ngọc Sơn", "Phú Lợi", "Phúc Đồng", "Quang Trung", "Quỳnh Lâm", "Sơn Kim", "Tân Giang",
    "Tân Lập", "Thạch Bình", "Thạch Hạ", "Thạch Hưng", "Thạch Linh", "Thạch Sơn", "Thạch Trung",
    "Thạch Quý", "Thanh Bình", "Thành Công", "Thịnh Lộc", "Thượng Lộc", "Tiến Lộc", "Trung Lương",
    "Trường Sơn", "Tùng Lộc", "Vĩnh Lộc", "Văn Yên", "Xuân An", "Xuân Hồng", "Xuân Thành", "Yên Hòa",
    "Đại Nài", "Đức Thuận", "Kim Liên", "Hồng Lộc", "Mỹ Lộc", "Phù Việt", "Sơn Tiến", "Cẩm Thịnh",
    "Đậu Liêu", "Nam Giang", "Bắc Sơn", "Đông Mỹ", "Hải Thượng", "Lam Hồng", "Ích Hậu", "Khánh Lộc",
    "Ngọc Lâm", "Phúc Trạch", "Quang Lộc", "Sơn Lễ", "Tân Mỹ", "Trung Lễ", "Vượng Lộc",
)
#: Districts, for the agencies and mass organisations ("Hội Nông dân huyện Cẩm Xuyên").
DISTRICTS: tuple[str, ...] = (
    "Cẩm Xuyên", "Can Lộc", "Đức Thọ", "Hương Khê", "Kỳ Anh", "Lộc Hà", "Nghi Xuân", "Thạch Hà",
    "Vũ Quang", "Yên Thành", "Diễn Châu", "Quỳnh Lưu", "Nam Đàn", "Thanh Chương", "Đô Lương", "Anh Sơn",
    "Con Cuông", "Tân Kỳ", "Nghĩa Đàn", "Quế Phong", "Hưng Nguyên", "Tương Dương", "Quỳ Hợp", "Quỳ Châu",
    "Bố Trạch", "Quảng Ninh", "Lệ Thủy", "Minh Hóa", "Tuyên Hóa", "Gio Linh", "Hải Lăng", "Triệu Phong",
    "Cam Lộ", "Vĩnh Linh", "Phong Điền", "Quảng Điền", "Phú Vang", "Phú Lộc", "Nam Đông", "A Lưới",
)
#: (name, abbreviation used as an alias, kind)
ORGANISATIONS: tuple[tuple[str, str, str], ...] = (
    ("Ủy ban MTTQ Việt Nam", "MTTQ", "doan_the"),
    ("Hội Liên hiệp Phụ nữ", "Hội LHPN", "doan_the"),
    ("Đoàn TNCS Hồ Chí Minh", "Đoàn Thanh niên", "doan_the"),
    ("Hội Nông dân", "Hội ND", "doan_the"),
    ("Hội Cựu chiến binh", "Hội CCB", "doan_the"),
    ("Liên đoàn Lao động", "LĐLĐ", "doan_the"),
    ("Công an", "CA", "co_quan"),
    ("Ban Chỉ huy Quân sự", "Ban CHQS", "co_quan"),
    ("Phòng Giáo dục và Đào tạo", "Phòng GD&ĐT", "co_quan"),
    ("Phòng Tài nguyên và Môi trường", "Phòng TN-MT", "co_quan"),
    ("Trung tâm Y tế", "TTYT", "co_quan"),
    ("Văn phòng HĐND và UBND", "VP HĐND-UBND", "co_quan"),
)
KIND_PREFIX = {"phuong": "Phường", "xa": "Xã"}

FIELD_WEIGHTS = (("KT", 25), ("VHXH", 35), ("QPAN", 20), ("XDD", 20))
#: Model names per field; {loc} is a residential group ("tổ dân phố 3", "thôn 3", ...).
MODEL_TEMPLATES: dict[str, tuple[str, ...]] = {
    "KT": (
        "Huy động sức dân làm đường giao thông nông thôn {loc}", "Bê tông hóa kênh mương nội đồng {loc}",
        "Chỉnh trang vỉa hè, hệ thống thoát nước {loc}", "Tổ hợp tác sản xuất rau an toàn {loc}",
        "Dồn điền đổi thửa, tích tụ ruộng đất {loc}", "Vườn mẫu gắn với phát triển kinh tế hộ {loc}",
        "Hộ kinh doanh văn minh {loc}", "Giúp hộ nghèo, cận nghèo phát triển sinh kế {loc}",
        "Dân vận khéo trong giải phóng mặt bằng {loc}", "Liên kết tiêu thụ nông sản {loc}",
        "Phụ nữ giúp nhau phát triển kinh tế {loc}", "Thanh niên khởi nghiệp {loc}",
    ),
    "VHXH": (
        "Khu dân cư văn minh, kiểu mẫu {loc}", "Tuyến đường “Sáng - xanh - sạch - đẹp” {loc}",
        "Văn minh trong việc cưới, việc tang {loc}", "Vườn hoa tri ân {loc}",
        "Phân loại rác thải tại nguồn {loc}", "Đường hoa, đường cây xanh {loc}",
        "Câu lạc bộ dưỡng sinh người cao tuổi {loc}", "Thắp sáng đường quê {loc}",
        "Khu dân cư không rác thải nhựa {loc}", "Quỹ khuyến học {loc}", "Mái ấm đại đoàn kết {loc}",
        "Hũ gạo tình thương {loc}", "Tủ sách cộng đồng {loc}",
    ),
    "QPAN": (
        "Camera an ninh khu dân cư {loc}", "Khu dân cư không có tội phạm {loc}",
        "Tổ tự quản về an ninh trật tự {loc}", "Dòng họ không có người vi phạm pháp luật {loc}",
        "Tổ hòa giải ở cơ sở giỏi {loc}", "An toàn giao thông trước cổng trường {loc}",
        "Tiếng loa an ninh {loc}", "Dân quân tự vệ giúp dân {loc}",
    ),
    "XDD": (
        "Chi bộ “4 tốt” {loc}", "Đảng viên giúp hộ nghèo {loc}", "Nâng cao chất lượng sinh hoạt chi bộ {loc}",
        "Đảng viên gương mẫu nơi cư trú {loc}", "Ban công tác Mặt trận tiêu biểu {loc}",
        "Đối thoại trực tiếp giữa người đứng đầu với Nhân dân {loc}", "Một cửa thân thiện {loc}",
        "Cán bộ, công chức gần dân {loc}",
    ),
}
LOC_BY_KIND = {"phuong": ("tổ dân phố",), "xa": ("thôn",), "doan_the": ("khu dân cư số", "chi hội số"),
               "co_quan": ("khu dân cư số", "tổ công tác số")}
LEVELS = ("Cấp xã", "Cấp thành phố", "Cấp tỉnh")
NOTES_NEW = ("Đăng ký mới", "Đang triển khai", "Mô hình điểm năm {year}", "Có sự hỗ trợ của cấp trên")
NOTES_REPLICATED = ("Duy trì từ năm {since}", "Tiếp tục duy trì", "Nâng chất năm {year}", "Nhân rộng từ năm {since}")
REPLICATED_SPELLINGS = (("Nhân rộng", 60), ("Duy trì", 25), ("Duy trì, nhân rộng", 15))
#: Field aliases units write (all in dbt_project/seeds/fields.csv).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "KT": ("Kinh tế", "Phát triển KT"),
    "VHXH": ("VH-XH", "Văn hóa xã hội"),
    "QPAN": ("QP-AN", "An ninh"),
    "XDD": ("Xây dựng Đảng", "XD Đảng"),
}
FAMILY = ("Nguyễn", "Trần", "Lê", "Phan", "Võ", "Hoàng", "Đặng", "Bùi", "Đinh", "Hồ", "Dương", "Phạm")
MIDDLE = ("Thị", "Thị Thu", "Văn", "Đình", "Hữu", "Thị Minh", "Xuân", "Quang")
GIVEN = ("Lan", "Hương", "Hà", "Hằng", "Nga", "Thủy", "Hùng", "Dũng", "Tuấn", "Sơn", "Hải", "Long")

# ============================================================================ periods


@dataclass(frozen=True)
class PeriodRef:
    """A reporting period of spec §2 (quarter, half-year or year)."""

    kind: str  # quarter | half_year | year
    year: int
    number: int

    @property
    def id(self) -> str:
        return {"quarter": f"{self.year}Q{self.number}", "half_year": f"{self.year}S{self.number}"}.get(
            self.kind, str(self.year))

    @property
    def last_month(self) -> int:
        return {"quarter": 3 * self.number, "half_year": 6 * self.number, "year": 12}[self.kind]

    @property
    def months(self) -> int:
        return {"quarter": 3, "half_year": 6, "year": 12}[self.kind]

    @property
    def window_end(self) -> date:
        return date(self.year, self.last_month, 14)

    @property
    def due_date(self) -> date:
        return self.window_end + timedelta(days=GRACE_DAYS)

    def source_rank(self) -> tuple[bool, int, int]:
        """Order of preference as the annual source (spec §2): the year, then latest window, longer."""
        return (self.kind == "year", self.last_month, self.months)

    def written(self, variant: bool) -> str:
        """As written on the form: "Quý I/2023" ("Quý 1 năm 2023" with ``variant``), ..."""
        if self.kind == "quarter":
            roman = ("I", "II", "III", "IV")[self.number - 1]
            return f"Quý {self.number} năm {self.year}" if variant else f"Quý {roman}/{self.year}"
        if self.kind == "half_year":
            if self.number == 1 and variant:
                return f"6 tháng {self.year}"
            return f"6 tháng {'đầu' if self.number == 1 else 'cuối'} năm {self.year}"
        return f"Năm {self.year}"


def scale_periods(scale: Scale, year: int) -> list[PeriodRef]:
    """The periods of ``year`` the scale generates (all of :func:`periods_of`, or its ``period_ids``)."""
    return [p for p in periods_of(year) if scale.period_ids is None or p.id in scale.period_ids]


def periods_of(year: int) -> list[PeriodRef]:
    """The seven reports of a year, in the order they fall due (Q4, S2 and the year share a due date)."""
    out = [PeriodRef("quarter", year, 1), PeriodRef("quarter", year, 2), PeriodRef("half_year", year, 1),
           PeriodRef("quarter", year, 3), PeriodRef("quarter", year, 4), PeriodRef("half_year", year, 2),
           PeriodRef("year", year, 1)]
    # a report due (with a lateness margin) after TODAY cannot have arrived yet
    return [p for p in out if p.due_date + timedelta(days=40) <= TODAY]


# ============================================================================ units


@dataclass(frozen=True)
class SynthUnit:
    """A reporting unit and its habits (how its office writes the forms)."""

    code: str
    name: str
    kind: str
    parent_code: str
    aliases: tuple[str, ...]
    expected_from: int
    expected_to: int | None
    place: str  # the name without its prefix ("Hòa Bình 12"), for "UBND phường ..."
    abbreviation: str | None  # agencies: "Hội ND huyện Cẩm Xuyên"
    fmt: str  # xlsx | csv
    bom: bool
    name_style: str  # canonical | plain | prefixed | alias
    field_style: str  # name | code | alias
    replicated: str  # "Nhân rộng" / "Duy trì" / "Duy trì, nhân rộng"
    nfd: bool
    numbers_text: bool
    dates_text: bool
    period_variant: bool
    compact_sheets: bool
    no_title: bool
    csv_iso_dates: bool
    preparer: tuple[str, str]
    #: A unit of a time-versioned list: valid over [valid_from, valid_to) (None: no dates, or still valid).
    valid_from: date | None = None
    valid_to: date | None = None

    @property
    def is_local(self) -> bool:
        return self.kind in ("phuong", "xa")

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day < self.valid_to)

    def expected_in(self, year: int) -> bool:
        """Expected for the year's figures: valid on the last day of the year's window (14 Dec)."""
        if self.valid_from is not None:
            return self.valid_on(date(year, 12, 14))
        return self.expected_from <= year and (self.expected_to is None or year <= self.expected_to)

    def expected_for(self, period: PeriodRef) -> bool:
        """Expected to send ``period``: valid on the last day of its window (reorganisations.md Rule 2)."""
        if self.valid_from is not None:
            return self.valid_on(period.window_end)
        return self.expected_in(period.year)

    def csv_row(self) -> list[str]:
        return [self.code, self.name, self.kind, self.parent_code, "; ".join(self.aliases),
                f"{self.expected_from}-01-01", "" if self.expected_to is None else f"{self.expected_to + 1}-01-01"]


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    total = sum(w for _, w in pairs)
    r = rng.random() * total
    for value, weight in pairs:
        r -= weight
        if r < 0:
            return value
    return pairs[-1][0]


def _strip_accents(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(ch for ch in text if not unicodedata.combining(ch)))


def _slug(text: str) -> str:
    out = "".join(ch if ch.isalnum() else "-" for ch in _strip_accents(text).lower())
    return "-".join(part for part in out.split("-") if part)


def _unit_keys(text: str) -> set[str]:
    """The product's matching keys of a unit name: folded, and folded without its prefixes."""
    from dvk.reference import strip_unit_prefix
    from dvk.text import fold

    key = fold(text)
    return {key, strip_unit_prefix(key)}


def make_units(scale: str | Scale, seed: int = 2026) -> list[SynthUnit]:
    """The synthetic master list of a scale (deterministic), wards and communes first."""
    sc = _scale(scale)
    rng = random.Random(f"{seed}|units|{sc.stream}|{sc.units}")
    n_agencies = max(1, round(sc.units * (2 / 6 if sc.units < 10 else 0.15)))
    n_local = sc.units - n_agencies
    years = sc.years
    units: list[SynthUnit] = []
    seen_keys: set[str] = set()

    def claim(*names: str) -> None:
        keys = set().union(*(_unit_keys(n) for n in names))
        clash = keys & seen_keys
        if clash:
            raise AssertionError(f"unit names collide on matching keys {sorted(clash)}: {names}")
        seen_keys.update(keys)

    def habits() -> dict[str, Any]:
        fmt = "csv" if sc.csv_only or rng.random() < sc.csv_share else "xlsx"
        r = rng.random()
        name_style = ("plain" if r < 0.05 else "prefixed" if r < 0.11 else "alias" if r < 0.15 else "canonical")
        r = rng.random()
        field_style = "code" if r < 0.10 else "alias" if r < 0.18 else "name"
        family, middle, given = rng.choice(FAMILY), rng.choice(MIDDLE), rng.choice(GIVEN)
        phone = f"09{rng.randint(10, 99)}{rng.randint(100000, 999999)}"
        return dict(
            fmt=fmt, bom=rng.random() < 0.5, name_style=name_style, field_style=field_style,
            replicated=_weighted(rng, REPLICATED_SPELLINGS), nfd=rng.random() < 0.05,
            numbers_text=rng.random() < 0.06, dates_text=rng.random() < 0.06,
            period_variant=rng.random() < 0.10, compact_sheets=rng.random() < 0.08,
            no_title=rng.random() < 0.20, csv_iso_dates=rng.random() < 0.10,
            preparer=(f"{family} {middle} {given}", phone if rng.random() < 0.5 else f"{phone[:4]} {phone[4:7]} {phone[7:]}"),
        )

    def years_expected() -> tuple[int, int | None]:
        if len(years) > 1:
            r = rng.random()
            if r < 0.02:
                return years[1], None  # a new unit (split off a larger one)
            if r < 0.04:
                return 2020, years[-2]  # merged away after years[-2]
        return 2020, None

    if sc.units_file:
        for row in read_units_file(REPO / sc.units_file):
            claim(row["name"], *row["aliases"])
            valid_from, valid_to = row["valid_from"], row["valid_to"]
            local = row["kind"] in KIND_PREFIX
            place = row["name"].split(" ", 1)[1] if local else row["name"]
            units.append(SynthUnit(
                code=row["code"], name=row["name"], kind=row["kind"], parent_code=row["parent_code"],
                aliases=row["aliases"], expected_from=valid_from.year,
                expected_to=None if valid_to is None else (valid_to - timedelta(days=1)).year, place=place,
                abbreviation=None if local or not row["aliases"] else row["aliases"][-1],
                valid_from=valid_from, valid_to=valid_to, **habits()))
        if len(units) != sc.units:
            raise ValueError(f"{sc.units_file} holds {len(units)} units, the scale {sc.name!r} says {sc.units}")
        return _ensure_habits(units, sc, rng)

    # wards and communes: 5-digit codes in the GSO style (rising by 1 to 3)
    place_use: dict[str, int] = {}
    places = list(PLACE_NAMES)
    code = 10_000 + rng.randint(0, 900)
    for i in range(n_local):
        kind = "phuong" if rng.random() < 0.4 else "xa"
        base = places[rng.randrange(len(places))]
        n = place_use.get(base, 0) + 1
        place_use[base] = n
        place = base if n == 1 else f"{base} {n}"
        name = f"{KIND_PREFIX[kind]} {place}"
        aliases: tuple[str, ...] = ()
        if kind == "xa" and rng.random() < 0.05:
            # a former name (the commune was renamed): another unused place
            old = places[rng.randrange(len(places))]
            m = place_use.get(old, 0) + 1
            place_use[old] = m
            aliases = (f"Xã {old if m == 1 else f'{old} {m}'}",)
        claim(name, *aliases)
        code += rng.randint(1, 3)
        expected_from, expected_to = years_expected()
        units.append(SynthUnit(
            code=f"{code:05d}", name=name, kind=kind, parent_code=str(400 + (i * len(DISTRICTS)) // max(1, n_local)),
            aliases=aliases, expected_from=expected_from, expected_to=expected_to, place=place,
            abbreviation=None, **habits()))
    if code > 99_999:
        raise AssertionError("too many wards and communes for 5-digit codes")

    # mass organisations and agencies: CQ1000, CQ1001, ...
    org_use: dict[tuple[int, int], int] = {}
    for j in range(n_agencies):
        oi, di = rng.randrange(len(ORGANISATIONS)), rng.randrange(len(DISTRICTS))
        n = org_use.get((oi, di), 0) + 1
        org_use[(oi, di)] = n
        org, abbr, kind = ORGANISATIONS[oi]
        where = f"huyện {DISTRICTS[di]}" + ("" if n == 1 else f" {n}")
        name, abbreviation = f"{org} {where}", f"{abbr} {where}"
        claim(name, abbreviation)
        expected_from, expected_to = years_expected()
        units.append(SynthUnit(
            code=f"CQ{1000 + j}", name=name, kind=kind, parent_code=str(400 + di), aliases=(abbreviation,),
            expected_from=expected_from, expected_to=expected_to, place=where, abbreviation=abbreviation,
            **habits()))
    return _ensure_habits(units, sc, rng)


#: Habits every scale shows at least once (when it has units to show them): (condition, change).
_HABITS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("any", {"name_style": "plain"}),
    ("local", {"name_style": "prefixed"}),
    ("alias", {"name_style": "alias"}),
    ("any", {"field_style": "code"}),
    ("any", {"field_style": "alias"}),
    ("any", {"replicated": "Duy trì"}),
    ("any", {"replicated": "Duy trì, nhân rộng"}),
    ("any", {"nfd": True}),
    ("any", {"period_variant": True}),
    ("xlsx", {"numbers_text": True}),
    ("xlsx", {"dates_text": True}),
    ("xlsx", {"compact_sheets": True}),
    ("xlsx", {"no_title": True}),
    ("csv", {"bom": True}),
    ("csv", {"bom": False}),
    ("csv", {"csv_iso_dates": True}),
    ("csv", {"numbers_text": True}),
)


def _ensure_habits(units: list[SynthUnit], sc: Scale, rng: random.Random) -> list[SynthUnit]:
    """Give a habit no unit has to a unit (chosen by ``rng``) that can show it; scales of 5+ units."""
    if len(units) < 5:
        return units
    if not sc.csv_only and sum(u.fmt == "csv" for u in units) < 2:
        for i in rng.sample(range(len(units)), 2):
            units[i] = replace(units[i], fmt="csv")
    fits = {
        "any": lambda u: True,
        "local": lambda u: u.is_local,
        "alias": lambda u: bool(u.aliases),
        "xlsx": lambda u: u.fmt == "xlsx",
        "csv": lambda u: u.fmt == "csv",
    }
    given: set[tuple[int, str]] = set()  # (unit, attribute) set here: never overwritten
    for condition, change in _HABITS:
        able = [i for i, u in enumerate(units) if fits[condition](u)]
        if any(all(getattr(units[i], k) == v for k, v in change.items()) for i in able):
            continue
        free = [i for i in able if not any((i, k) in given for k in change)]
        if not free:
            continue
        i = free[rng.randrange(len(free))]
        units[i] = replace(units[i], **change)
        given.update((i, k) for k in change)
    return units


def read_units_file(path: Path) -> list[dict[str, Any]]:
    """The rows of a time-versioned master list (``code,name,kind,parent_code,aliases,valid_from,
    valid_to``), aliases split on ``;``, dates parsed."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"code", "name", "kind", "parent_code", "aliases", "valid_from", "valid_to"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: not a time-versioned master list, columns missing: {sorted(missing)}")
        return [{
            "code": r["code"].strip(), "name": r["name"].strip(), "kind": r["kind"].strip(),
            "parent_code": r["parent_code"].strip(),
            "aliases": tuple(a.strip() for a in r["aliases"].split(";") if a.strip()),
            "valid_from": date.fromisoformat(r["valid_from"].strip()),
            "valid_to": date.fromisoformat(r["valid_to"].strip()) if r["valid_to"].strip() else None,
        } for r in reader]


UNIT_CHANGES_HEADER = ("change_date", "legal_act", "old_code", "old_name", "new_code", "new_name",
                       "change_kind", "share_note", "source")
UNIT_SHARES_HEADER = ("change_date", "old_code", "new_code", "share", "is_estimate", "basis")


@dataclass(frozen=True)
class SynthMerge:
    """A synthetic ward or commune merged away (valid until ``day``) into a continuing one, as the
    reorganisations spec records it (rule 4): the absorbed unit's version ends on ``day``, the
    absorbing unit's version too, and the merged unit (same code and name as the absorbing one,
    enlarged) starts a new version that day; two ``merge`` rows name it as the successor."""

    day: date
    old: SynthUnit
    into: SynthUnit


def unit_merges(units: Sequence[SynthUnit]) -> list[SynthMerge]:
    """The merges of a synthetic list (deterministic, no randomness): each local unit whose
    validity ends (``expected_to``) goes into the nearest following continuing local unit of its
    district (else of the list). A unit that merely ceased would leave its figures on no unit of
    today, which the spec does not allow; agencies have no territory and are not merged."""
    continuing = [u for u in units if u.is_local and u.valid_from is None and u.expected_to is None
                  and u.expected_from <= 2020]
    merges: list[SynthMerge] = []
    for unit in units:
        if not unit.is_local or unit.valid_from is not None or unit.expected_to is None:
            continue
        same_district = [u for u in continuing if u.parent_code == unit.parent_code] or continuing
        if not same_district:
            raise AssertionError(f"no continuing ward or commune to merge {unit.code} into")
        into = next((u for u in same_district if u.code > unit.code), same_district[0])
        merges.append(SynthMerge(date(unit.expected_to + 1, 1, 1), unit, into))
    return merges


def units_csv_bytes(units: Iterable[SynthUnit]) -> bytes:
    """The master list in the seeds format (UTF-8, no BOM, LF). A unit that absorbed another
    (:func:`unit_merges`) has two versions: before the merge and from it."""
    units = list(units)
    merged_on = {m.into.code: m.day for m in unit_merges(units)}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(UNITS_HEADER)
    for unit in units:
        row = unit.csv_row()
        day = merged_on.get(unit.code)
        if day is None:
            writer.writerow(row)
        else:
            writer.writerow([*row[:6], day.isoformat()])
            writer.writerow([*row[:5], day.isoformat(), row[6]])
    return buffer.getvalue().encode("utf-8")


def unit_changes_csv_bytes(units: Iterable[SynthUnit]) -> bytes:
    """The list's changes in the format of ``dbt_project/seeds/unit_changes.csv``: per merge, the
    absorbed unit and the absorbing one's former version, both into the merged unit."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(UNIT_CHANGES_HEADER)
    kept: set[tuple[date, str]] = set()
    for m in unit_merges(list(units)):
        for old, note in ((m.old, "whole unit; code retired"), (m.into, "whole unit; code kept by merged unit")):
            if old is m.into and (m.day, old.code) in kept:
                continue  # a unit that absorbed two: its former version is named once
            kept.add((m.day, old.code))
            writer.writerow([m.day.isoformat(), "synthetic", old.code, old.name, m.into.code, m.into.name,
                             "merge", note, "bench/synth.py"])
    return buffer.getvalue().encode("utf-8")


def unit_shares_csv_bytes() -> bytes:
    """No split in a synthetic list: the header of ``dbt_project/seeds/unit_split_shares.csv``."""
    return (",".join(UNIT_SHARES_HEADER) + "\n").encode("utf-8")


# ============================================================================ models and the plan


@dataclass(frozen=True)
class PoolModel:
    """A model of a unit-year, with its full-year figures (money and land in tenths)."""

    name: str
    field: str  # KT | VHXH | QPAN | XDD
    new: bool
    registered_on: date | None
    level: str | None
    households: int | None
    funds_tenths: int | None
    labour_days: int | None
    land_tenths: int | None
    note: str | None

    def listed_in(self, period: PeriodRef) -> bool:
        """Reports are cumulative: replicated models from the start, new ones once registered."""
        return not self.new or (self.registered_on is not None and self.registered_on <= period.window_end)


def _ytd(value: int | None, months: int) -> int | None:
    """The year-to-date share of a full-year figure after ``months`` months."""
    return None if value is None else value * months // 12


@dataclass(frozen=True)
class Planned:
    """One submission file: a unit's report of a period (version ``version`` of it)."""

    unit_code: str
    period: PeriodRef
    version: int
    report_date: date
    received_at: datetime  # UTC, aware
    models: tuple[PoolModel, ...]
    file_name: str
    fmt: str
    origin: str  # base | correction | delta-correction | delta-late

    @property
    def order_key(self) -> tuple[date, datetime, str]:
        """Which version of a (unit, period) is newest: report date, then arrival (as the warehouse)."""
        return (self.report_date, self.received_at, self.file_name)


@dataclass
class Plan:
    """Everything generated: the units, the files, and the reports that were not sent."""

    scale: Scale
    seed: int
    units: list[SynthUnit]
    files: list[Planned] = field(default_factory=list)
    #: (unit code, period) of the reports not sent, in plan order.
    skipped: list[tuple[str, PeriodRef]] = field(default_factory=list)
    #: (unit code, year) → the unit-year's pool of models.
    pools: dict[tuple[str, int], list[PoolModel]] = field(default_factory=dict)
    deltas: list[dict[str, Any]] = field(default_factory=list)
    #: How many of ``files`` the base plan made (the rest come from deltas).
    base_files: int = 0
    #: (unit code, period id) not sent on purpose, so that every scale of 6+ units has a
    #: provisional unit (no annual report) and, from 20 units, a unit missing for a whole year.
    forced_skips: set[tuple[str, str]] = field(default_factory=set)


def _measures(rng: random.Random, fld: str) -> tuple[int | None, int | None, int | None, int | None]:
    """(households, funds in tenths of a million VND, labour days, land in tenths of m2).

    Spreads stay within 10 times a unit's upper quartile, so that the quality gate's outlier
    warning (``value_within_unit_usual_range``) flags only the deliberate typos of first versions.
    """
    r = rng.randint
    if fld == "KT":
        values = (r(10, 180), r(500, 8000), r(30, 1500) if rng.random() < 0.7 else None,
                  r(500, 9000) if rng.random() < 0.4 else None)
    elif fld == "VHXH":
        values = (r(30, 500), r(100, 3000), r(0, 600) if rng.random() < 0.6 else None,
                  r(300, 3000) if rng.random() < 0.15 else None)
    elif fld == "QPAN":
        values = (r(40, 450), r(100, 2500), r(10, 150), None)
    else:
        values = (r(5, 80) if rng.random() < 0.5 else None, r(10, 400) if rng.random() < 0.5 else None, None, None)
    return tuple(None if (v is not None and rng.random() < 0.08) else v for v in values)  # type: ignore[return-value]


class _Namer:
    """Model names unique within a unit (on the product's fold key), across its years."""

    def __init__(self, unit: SynthUnit):
        self.locs = LOC_BY_KIND[unit.kind]
        self.used: set[str] = set()

    def new(self, rng: random.Random, fld: str) -> str:
        from dvk.text import fold

        templates = MODEL_TEMPLATES[fld]
        for attempt in range(200):
            loc = f"{rng.choice(self.locs)} {rng.randint(1, 30 if attempt < 100 else 400)}"
            name = rng.choice(templates).format(loc=loc)
            key = fold(name)
            if key not in self.used:
                self.used.add(key)
                return name
        raise AssertionError("no unused model name left")


def _model(rng: random.Random, namer: _Namer, unit: SynthUnit, year: int, new: bool,
           registered_on: date | None = None, fld: str | None = None) -> PoolModel:
    fld = fld or _weighted(rng, FIELD_WEIGHTS)
    if new and registered_on is None:
        registered_on = date(year, 1, 2) + timedelta(days=rng.randint(0, 342))  # 2 Jan .. 10 Dec
    elif not new and registered_on is None and rng.random() < 0.85:
        registered_on = date(rng.randint(2018, year - 1), rng.randint(1, 12), rng.randint(1, 28))
    r = rng.random()
    if unit.is_local:
        level = LEVELS[0] if r < 0.5 else LEVELS[1] if r < 0.75 else LEVELS[2] if r < 0.8 else None
    else:
        level = LEVELS[1] if r < 0.55 else LEVELS[2] if r < 0.65 else None
    note = None
    if rng.random() < 0.25:
        since = registered_on.year if registered_on and not new else year - 1
        note = rng.choice(NOTES_NEW if new else NOTES_REPLICATED).format(year=year, since=since)
    hh, funds, labour, land = _measures(rng, fld)
    return PoolModel(namer.new(rng, fld), fld, new, registered_on, level, hh, funds, labour, land, note)


def _pool(rng: random.Random, namer: _Namer, unit: SynthUnit, year: int,
          previous: list[PoolModel]) -> list[PoolModel]:
    """The unit's models of ``year``: some carried over from ``previous`` (replicated), the rest new."""
    low, high = (8, 25) if unit.is_local else (6, 15)
    total = rng.randint(low, high)
    n_new = max(1, min(total - 2, round(total * rng.uniform(0.45, 0.75))))
    n_rep = total - n_new
    replicated: list[PoolModel] = []
    for m in [m for m in previous if rng.random() < 0.7][:n_rep]:
        # carried over: the same model (name, field, registration), this year's figures
        hh, funds, labour, land = _measures(rng, m.field)
        since = m.registered_on.year if m.registered_on else year - 1
        note = None if rng.random() < 0.6 else f"Duy trì từ năm {since}"
        replicated.append(replace(m, new=False, households=hh, funds_tenths=funds, labour_days=labour,
                                  land_tenths=land, note=note))
    while len(replicated) < n_rep:
        replicated.append(_model(rng, namer, unit, year, new=False))
    fresh = sorted((_model(rng, namer, unit, year, new=True) for _ in range(n_new)),
                   key=lambda m: m.registered_on or date.min)
    # every report lists at least 5 models: enough new ones are registered in the first quarter
    q1 = PeriodRef("quarter", year, 1)
    i = 0
    while n_rep + sum(m.listed_in(q1) for m in fresh) < 5 and i < len(fresh):
        if not fresh[i].listed_in(q1):
            fresh[i] = replace(fresh[i], registered_on=date(year, 1, 2) + timedelta(days=rng.randint(0, 60)))
        i += 1
    pool = replicated + fresh
    rng.shuffle(pool)
    return pool


def _office_time(rng: random.Random, day: date) -> datetime:
    """A local office-hours moment of ``day``, as aware UTC."""
    local = datetime(day.year, day.month, day.day, rng.randint(7, 16), rng.randint(0, 59), rng.randint(0, 59),
                     tzinfo=LOCAL_TZ)
    return local.astimezone(timezone.utc)


def _timing(rng: random.Random, period: PeriodRef) -> tuple[date, datetime]:
    """(report date, arrival): shortly after the window's end, mostly within the grace, a few late."""
    if rng.random() < LATE_RATE:
        report_date = period.due_date + timedelta(days=rng.randint(1, 15))
    else:
        report_date = period.window_end + timedelta(days=rng.randint(0, GRACE_DAYS - 1))
    arrival_day = report_date + timedelta(days=0 if rng.random() < 0.4 else 1 if rng.random() < 0.8 else 2)
    if report_date <= period.due_date:
        arrival_day = min(arrival_day, period.due_date)
    return report_date, _office_time(rng, arrival_day)


def _file_name(unit: SynthUnit, period: PeriodRef, version: int, fmt: str) -> str:
    suffix = "" if version == 1 else f"_v{version}"
    return f"{period.id}_{unit.code}_{_slug(unit.name)}{suffix}.{fmt}"


def _wrong_figure(rng: random.Random, model: PoolModel) -> PoolModel:
    """The model with one figure typed wrong (the first version of a correction)."""
    if model.households is not None and (model.funds_tenths is None or rng.random() < 0.5):
        return replace(model, households=model.households + rng.randint(1, 40))
    if model.funds_tenths is not None:
        return replace(model, funds_tenths=model.funds_tenths * 10 + rng.randint(0, 9))
    return replace(model, households=rng.randint(1, 50))


def _changed_figure(rng: random.Random, model: PoolModel) -> PoolModel:
    """The model with one figure updated (a later correction: a modest change, not a typo)."""
    if model.funds_tenths is not None and (model.households is None or rng.random() < 0.5):
        return replace(model, funds_tenths=model.funds_tenths + rng.randint(10, 300))
    return replace(model, households=(model.households or 0) + rng.randint(1, 20))


def plan_unit(unit: SynthUnit, scale: Scale, seed: int, plan: Plan) -> None:
    """Add one unit's files (and skipped reports, and pools) to ``plan``; deterministic per unit."""
    rng = random.Random(f"{seed}|plan|{unit.code}")
    namer = _Namer(unit)
    previous: list[PoolModel] = []
    for year in scale.years:
        pool = _pool(rng, namer, unit, year, previous)
        previous = pool
        if not unit.expected_in(year):
            continue
        plan.pools[(unit.code, year)] = pool
        silent = rng.random() < SILENT_YEAR_RATE
        for period in scale_periods(scale, year):
            if not unit.expected_for(period):  # not valid yet (or any more) on its window's last day
                continue
            if rng.random() < MISSING_REPORT_RATE or silent or (unit.code, period.id) in plan.forced_skips:
                plan.skipped.append((unit.code, period))
                continue
            models = tuple(m for m in pool if m.listed_in(period))
            report_date, received = _timing(rng, period)
            fmt = unit.fmt if rng.random() >= 0.03 or unit.fmt == "csv" or scale.csv_only else "csv"
            if rng.random() < CORRECTION_RATE:
                # the first version: one model forgotten, or one figure typed wrong
                if len(models) > 5 and rng.random() < 0.5:
                    drop = rng.randrange(len(models))
                    first = models[:drop] + models[drop + 1:]
                else:
                    k = rng.randrange(len(models))
                    first = models[:k] + (_wrong_figure(rng, models[k]),) + models[k + 1:]
                plan.files.append(Planned(unit.code, period, 1, report_date, received, first,
                                          _file_name(unit, period, 1, fmt), fmt, "base"))
                report_date = report_date + timedelta(days=rng.randint(1, 8))
                received = max(received + timedelta(hours=rng.randint(20, 30)), _office_time(rng, report_date))
                plan.files.append(Planned(unit.code, period, 2, report_date, received, models,
                                          _file_name(unit, period, 2, fmt), fmt, "correction"))
            else:
                plan.files.append(Planned(unit.code, period, 1, report_date, received, models,
                                          _file_name(unit, period, 1, fmt), fmt, "base"))


def build_plan(scale: str | Scale, seed: int = 2026) -> Plan:
    """The whole plan of a scale and seed (no file written)."""
    sc = _scale(scale)
    plan = Plan(sc, seed, make_units(sc, seed))
    rng = random.Random(f"{seed}|forced|{sc.stream}")
    if len(plan.units) >= 6:
        unit = plan.units[rng.randrange(len(plan.units))]
        years = [y for y in sc.years if unit.expected_in(y) and scale_periods(sc, y)]
        if years:
            plan.forced_skips.add((unit.code, str(years[-1])))  # provisional in the latest year
    if len(plan.units) >= 20:
        unit = plan.units[rng.randrange(len(plan.units))]
        years = [y for y in sc.years if unit.expected_in(y)]
        if years:
            year = years[0]
            plan.forced_skips.update((unit.code, p.id) for p in scale_periods(sc, year))  # missing all year
    for unit in plan.units:
        plan_unit(unit, sc, seed, plan)
    plan.base_files = len(plan.files)
    return plan


# ============================================================================ rendering


def _nfd(value: Any) -> Any:
    return unicodedata.normalize("NFD", value) if isinstance(value, str) else value


def _vn_number(value: int | float) -> str:
    """A number as a Vietnamese clerk types it: "1.250", "12,5", "1.250,5"."""
    whole = int(value)
    frac = round((value - whole) * 10) if isinstance(value, float) else 0
    grouped = f"{whole:,}".replace(",", ".")
    return f"{grouped},{frac}" if frac else grouped


def _tenths(value: int | None) -> int | float | None:
    if value is None:
        return None
    return value // 10 if value % 10 == 0 else value / 10


def _written_name(unit: SynthUnit, style: str) -> str:
    if style == "plain":
        return _strip_accents(unit.name)
    if style == "prefixed":
        if unit.kind == "phuong":
            return f"UBND phường {unit.place}" if int(unit.code) % 2 else f"P. {unit.place}"
        if unit.kind == "xa":
            return f"UBND xã {unit.place}"
        return unit.abbreviation or unit.name
    if style == "alias" and unit.aliases:
        return unit.aliases[0]
    return unit.name


def _field_written(unit: SynthUnit, code: str, rng: random.Random) -> str:
    if unit.field_style == "code":
        return code
    if unit.field_style == "alias":
        return FIELD_ALIASES[code][rng.randrange(2)]
    return FIELD_NAMES[code]


def submission_of(p: Planned, unit: SynthUnit, seed: int) -> tuple[Submission, list[DeclaredTotal]]:
    """The :class:`dvk.forms.Submission` a planned file holds (with the unit's quirks), and its
    declared totals (computed from the canonical lines: consistent with the model lines)."""
    rng = random.Random(f"{seed}|render|{p.file_name}")
    months = p.period.last_month
    style = unit.name_style if rng.random() >= 0.02 else rng.choice(("plain", "prefixed", "canonical"))
    numbers_text = unit.numbers_text or rng.random() < 0.01
    dates_text = p.fmt == "xlsx" and (unit.dates_text or rng.random() < 0.01)
    nfd = unit.nfd or rng.random() < 0.01
    canonical: list[ModelLine] = []
    lines: list[ModelLine] = []
    for m in p.models:
        hh, labour = _ytd(m.households, months), _ytd(m.labour_days, months)
        funds, land = _tenths(_ytd(m.funds_tenths, months)), _tenths(_ytd(m.land_tenths, months))
        kind = KIND_NEW if m.new else unit.replicated
        line = ModelLine(name=m.name, field=FIELD_NAMES[m.field], kind=kind, registered_on=m.registered_on,
                         recognition_level=m.level, households=hh, funds_million_vnd=funds, labour_days=labour,
                         land_m2=land, note=m.note)
        canonical.append(line)
        written: dict[str, Any] = {"field": _field_written(unit, m.field, rng)}
        if numbers_text:
            written.update({k: None if v is None else _vn_number(v) for k, v in (
                ("households", hh), ("funds_million_vnd", funds), ("labour_days", labour), ("land_m2", land))})
        if dates_text and m.registered_on is not None:
            written["registered_on"] = m.registered_on.strftime("%d/%m/%Y")
        if nfd:
            written.update(name=_nfd(m.name), field=_nfd(written["field"]), kind=_nfd(kind), note=_nfd(m.note),
                           recognition_level=_nfd(m.level))
        lines.append(replace(line, **written))
    totals = compute_declared_totals(canonical)
    unit_name = _written_name(unit, style)
    period = p.period.written(unit.period_variant)
    report_date: date | str = p.report_date.strftime("%d/%m/%Y") if dates_text else p.report_date
    preparer = unit.preparer
    if nfd:
        unit_name, period, preparer = _nfd(unit_name), _nfd(period), (_nfd(preparer[0]), preparer[1])
    title = "" if unit.no_title else None
    sub = Submission(unit_code=unit.code, unit_name=unit_name, period=period, report_date=report_date,
                     models=lines, preparer_name=preparer[0], preparer_phone=preparer[1], declared_totals=totals,
                     title=title)
    return sub, totals


def render(p: Planned, unit: SynthUnit, seed: int) -> bytes:
    """The file's bytes (deterministic)."""
    sub, _ = submission_of(p, unit, seed)
    if p.fmt == "csv":
        return csv_bytes(sub, bom=unit.bom, date_format="%Y-%m-%d" if unit.csv_iso_dates else "%d/%m/%Y")
    names = SheetNames("ThongTin", "MoHinh", "TongHop") if unit.compact_sheets else SheetNames()
    return xlsx_bytes(sub, sheet_names=names)


# ============================================================================ expected figures


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def accepted_files(files: Iterable[Planned]) -> dict[tuple[str, str], Planned]:
    """(unit code, period id) → the newest submission (report date, then arrival)."""
    accepted: dict[tuple[str, str], Planned] = {}
    for p in files:
        key = (p.unit_code, p.period.id)
        current = accepted.get(key)
        if current is None or p.order_key > current.order_key:
            accepted[key] = p
    return accepted


def annual_sources(files: Iterable[Planned]) -> dict[tuple[int, str], Planned]:
    """(year, unit code) → the submission the unit's figures of the year come from (spec §2)."""
    sources: dict[tuple[int, str], Planned] = {}
    for p in accepted_files(files).values():
        key = (p.period.year, p.unit_code)
        current = sources.get(key)
        if current is None or (p.period.source_rank(), p.order_key) > (current.period.source_rank(), current.order_key):
            sources[key] = p
    return sources


def expected_summary(plan: Plan) -> dict[str, Any]:
    """``expected.json``: the meta data of the plan and the annual summary of each year."""
    sources = annual_sources(plan.files)
    units_by_code = {u.code: u for u in plan.units}
    # the words the files carry, classified by the project's own rules (dvk.forms)
    new_of = {kind: is_new(kind) for kind in (KIND_NEW, *(k for k, _ in REPLICATED_SPELLINGS))}
    field_of = {code: field_code(name) for code, name in FIELD_NAMES.items()}
    years: dict[str, Any] = {}
    for year in plan.scale.years:
        expected_units = [u.code for u in plan.units if u.expected_in(year)]
        fields = {code: {"total": 0, "new": 0, "replicated": 0} for code in FIELD_NAMES}
        hh = labour = funds = land = 0
        registered = reported = 0
        provisional: list[str] = []
        missing: list[str] = []
        for code in expected_units:
            p = sources.get((year, code))
            if p is None:
                missing.append(code)
                continue
            if p.period.kind == "year":
                reported += 1
            else:
                provisional.append(code)
            months = p.period.last_month
            if p.models:
                registered += 1
            replicated_word = units_by_code[code].replicated
            for m in p.models:
                new = new_of[KIND_NEW if m.new else replicated_word]
                f = fields[field_of[m.field]]
                f["total"] += 1
                f["new" if new else "replicated"] += 1
                hh += _ytd(m.households, months) or 0
                labour += _ytd(m.labour_days, months) or 0
                funds += _ytd(m.funds_tenths, months) or 0
                land += _ytd(m.land_tenths, months) or 0
        total = sum(f["total"] for f in fields.values())
        new_total = sum(f["new"] for f in fields.values())
        years[str(year)] = {
            "year": year,
            "units_expected": len(expected_units),
            "units_registered": registered,
            "units_reported": reported,
            "units_provisional": len(provisional),
            "models_total": total,
            "models_new": new_total,
            "models_replicated": total - new_total,
            "fields": fields,
            "households": hh,
            "funds_million_vnd": float(Decimal(funds) / 10),
            "labour_days": labour,
            "land_m2": float(Decimal(land) / 10),
            "missing_units": sorted(missing),
            "provisional_units": sorted(provisional),
            "files": sum(1 for p in plan.files if p.period.year == year),
        }
    xlsx = sum(1 for p in plan.files if p.fmt == "xlsx")
    meta = {
        "generator": "bench/synth.py",
        "scale": plan.scale.as_dict(),
        "seed": plan.seed,
        "today": TODAY.isoformat(),
        "units": len(plan.units),
        "years": list(plan.scale.years),
        "files": len(plan.files),
        "xlsx_files": xlsx,
        "csv_files": len(plan.files) - xlsx,
        "model_rows": sum(len(p.models) for p in plan.files),
        "corrections": sum(1 for p in plan.files if p.version > 1),
        "skipped_reports": len(plan.skipped),
        "last_received_at": _iso(max(p.received_at for p in plan.files)) if plan.files else None,
        "deltas": list(plan.deltas),
    }
    return {"meta": meta, "years": years}


# ============================================================================ writing


def _manifest_line(p: Planned) -> str:
    return f"{p.file_name},{_iso(p.received_at)}\n"


def _write_manifest(inbox: Path, files: Sequence[Planned], append: bool = False) -> None:
    rows = sorted(files, key=lambda p: (p.received_at, p.file_name))
    text = "".join(_manifest_line(p) for p in rows)
    path = inbox / MANIFEST
    if append and path.is_file():
        with open(path, "ab") as fh:
            fh.write(text.encode("utf-8"))
    else:
        path.write_bytes(("file_name,received_at\n" + text).encode("utf-8"))


def _write_files(inbox: Path, files: Sequence[Planned], units: dict[str, SynthUnit], seed: int,
                 progress: bool) -> None:
    step = max(1000, len(files) // 10)
    for i, p in enumerate(files, start=1):
        data = render(p, units[p.unit_code], seed)
        fd = os.open(inbox / p.file_name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        if progress and i % step == 0:
            print(f"  {i}/{len(files)} files", file=sys.stderr, flush=True)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def generate(scale: str | Scale, out: Path, seed: int = 2026, *, progress: bool = False) -> dict[str, Any]:
    """Write ``units.csv``, ``unit_changes.csv``, ``unit_split_shares.csv``, ``inbox/`` (files and
    ``_manifest.csv``) and ``expected.json`` into ``out``.

    Returns ``expected.json``'s ``meta`` (units, years, files, xlsx_files, csv_files, model_rows,
    corrections, skipped_reports, ...) plus ``out`` and ``seconds`` (the time taken).
    """
    start = time.perf_counter()
    out = Path(out)
    plan = build_plan(scale, seed)
    names = [p.file_name for p in plan.files]
    assert len(names) == len(set(names)), "duplicate file names"
    inbox = out / "inbox"
    if inbox.exists():
        for old in inbox.iterdir():
            if old.is_file() or old.is_symlink():
                old.unlink()
    inbox.mkdir(parents=True, exist_ok=True)
    if plan.scale.units_file:  # the real list, as it is (the history format: pass it as DVK_UNITS_FILE)
        (out / "units.csv").write_bytes((REPO / plan.scale.units_file).read_bytes())
        (out / "unit_changes.csv").write_bytes((",".join(UNIT_CHANGES_HEADER) + "\n").encode("utf-8"))
    else:
        (out / "units.csv").write_bytes(units_csv_bytes(plan.units))
        (out / "unit_changes.csv").write_bytes(unit_changes_csv_bytes(plan.units))
    (out / "unit_split_shares.csv").write_bytes(unit_shares_csv_bytes())
    _write_files(inbox, plan.files, {u.code: u for u in plan.units}, seed, progress)
    _write_manifest(inbox, plan.files)
    expected = expected_summary(plan)
    _write_json(out / "expected.json", expected)
    return {**expected["meta"], "out": str(out), "seconds": round(time.perf_counter() - start, 3)}


# ============================================================================ the nightly delta


def _apply_delta(plan: Plan, fraction: float, seed: int) -> list[Planned]:
    """New files (corrections and late reports), received after everything in ``plan``."""
    rng = random.Random(f"{seed}|delta|{len(plan.files)}|{fraction}")
    units = {u.code: u for u in plan.units}
    n_new = max(1, round(fraction * len(plan.files)))
    accepted = sorted(accepted_files(plan.files).values(), key=lambda p: p.file_name)
    taken_names = {p.file_name for p in plan.files}
    done: set[tuple[str, str]] = set()
    last = max(p.received_at for p in plan.files)
    day = (last.astimezone(LOCAL_TZ) + timedelta(days=1)).date()
    if day > TODAY:
        raise ValueError(f"no room for new files before {TODAY}: the inbox already has files of {day}")
    latest_year = max(plan.scale.years)
    late_pool = [(c, per) for c, per in plan.skipped]
    new: list[Planned] = []
    for i in range(n_new):
        received = datetime(day.year, day.month, day.day, 7, 0, tzinfo=LOCAL_TZ).astimezone(timezone.utc)
        received += timedelta(seconds=(i * 31_000) // n_new + rng.randint(0, 20))  # spread over the day
        late = bool(late_pool) and rng.random() < 0.4
        if late:
            code, period = late_pool.pop(rng.randrange(len(late_pool)))
            if (code, period.id) in done:
                continue
            unit = units[code]
            models = tuple(m for m in plan.pools[(code, period.year)] if m.listed_in(period))
            version, origin = 1, "delta-late"
        else:
            # a correction, mostly of the latest year's annual reports (those change the figures)
            candidates = [p for p in accepted if p.period.kind == "year" and p.period.year == latest_year]
            base = rng.choice(candidates if candidates and rng.random() < 0.6 else accepted)
            if (base.unit_code, base.period.id) in done:
                continue
            unit, period = units[base.unit_code], base.period
            models = base.models
            if rng.random() < 0.5:
                # one model added: a name the unit never used (every name comes from its pools,
                # or from the models earlier deltas added)
                namer = _Namer(unit)
                for pool_year in plan.scale.years:
                    namer.used.update(_fold_key(m.name) for m in plan.pools.get((unit.code, pool_year), ()))
                namer.used.update(_fold_key(m.name) for p in (*plan.files[plan.base_files:], *new)
                                  if p.unit_code == unit.code for m in p.models)
                added = _model(rng, namer, unit, period.year, new=True,
                               registered_on=min(period.window_end, date(period.year, 12, 10)) - timedelta(days=rng.randint(0, 20)))
                models = models + (added,)
            else:
                k = rng.randrange(len(models))
                models = models[:k] + (_changed_figure(rng, models[k]),) + models[k + 1:]
            version, origin = base.version + 1, "delta-correction"
        fmt = unit.fmt
        name = _file_name(unit, period, version, fmt)
        while name in taken_names:
            version += 1
            name = _file_name(unit, period, version, fmt)
        taken_names.add(name)
        done.add((unit.code, period.id))
        report_date = received.astimezone(LOCAL_TZ).date()
        new.append(Planned(unit.code, period, version, report_date, received, models, name, fmt, origin))
    return new


def _fold_key(text: str) -> str:
    from dvk.text import fold

    return fold(text)


def _replay(meta: dict[str, Any]) -> Plan:
    """The plan ``expected.json``'s meta describes: the base plan, then every delta in order."""
    sc = Scale.from_dict(meta["scale"])
    plan = build_plan(sc, int(meta["seed"]))
    for delta in meta.get("deltas", []):
        files = _apply_delta(plan, float(delta["fraction"]), int(delta["seed"]))
        plan.files.extend(files)
        plan.deltas.append(delta)
        _remove_sent(plan, files)
    return plan


def _remove_sent(plan: Plan, files: Iterable[Planned]) -> None:
    sent = {(p.unit_code, p.period.id) for p in files if p.origin == "delta-late"}
    plan.skipped = [(c, per) for c, per in plan.skipped if (c, per.id) not in sent]


def generate_new_files(scale: str | Scale, out: Path, fraction: float = 0.01, seed: int = 2027) -> list[Path]:
    """The nightly delta: write about ``fraction`` × the existing files as NEW files into ``out/inbox``.

    About 60 % are corrections of accepted submissions (mostly annual reports of the latest year:
    one model added, or one figure changed; a later version with a later report date), about 40 %
    late arrivals of reports that were missing. All are received on the day after the newest file
    already there. ``_manifest.csv`` gets their lines appended and ``expected.json`` is rewritten
    with the new figures (its ``meta.deltas`` records this delta, so it can be replayed). ``out``
    must hold the ``expected.json`` that :func:`generate` (or an earlier call) wrote; ``out/inbox``
    may be a symbolic link to a copy of the inbox. Returns the paths of the new files.
    """
    out = Path(out)
    expected = json.loads((out / "expected.json").read_text(encoding="utf-8"))
    meta = expected["meta"]
    sc = _scale(scale)
    if Scale.from_dict(meta["scale"]) != sc:
        raise ValueError(f"{out} holds scale {meta['scale']}, not {sc}")
    plan = _replay(meta)
    files = _apply_delta(plan, fraction, seed)
    plan.files.extend(files)
    plan.deltas.append({"seed": seed, "fraction": fraction, "files": len(files)})
    _remove_sent(plan, files)
    inbox = out / "inbox"
    _write_files(inbox, files, {u.code: u for u in plan.units}, plan.seed, progress=False)
    _write_manifest(inbox, files, append=True)
    _write_json(out / "expected.json", expected_summary(plan))
    return [inbox / p.file_name for p in files]


# ============================================================================ command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="tiny", choices=sorted(SCALES), help="default tiny")
    parser.add_argument("--out", type=Path, required=True, help="output folder (its inbox/ is replaced)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--new-files", type=float, default=None, metavar="FRACTION",
                        help="instead: add the nightly delta (e.g. 0.01) to an existing output folder")
    parser.add_argument("--delta-seed", type=int, default=2027, help="seed of the delta (default 2027)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.new_files is not None:
        files = generate_new_files(args.scale, args.out, fraction=args.new_files, seed=args.delta_seed)
        print(f"wrote {len(files)} new files into {args.out / 'inbox'} in {time.perf_counter() - start:.1f} s")
        return 0
    summary = generate(args.scale, args.out, seed=args.seed, progress=True)
    print(f"scale {args.scale}, seed {args.seed}: {summary['units']} units, {summary['files']} files "
          f"({summary['xlsx_files']} xlsx, {summary['csv_files']} csv), {summary['model_rows']} model rows, "
          f"{summary['corrections']} corrections, {summary['skipped_reports']} reports missing; "
          f"{summary['seconds']:.1f} s → {args.out}")
    expected = json.loads((args.out / "expected.json").read_text(encoding="utf-8"))
    for year, s in expected["years"].items():
        print(f"  {year}: {s['units_registered']} units, {s['models_total']} models "
              f"({s['models_new']} new, {s['models_replicated']} replicated), "
              f"{s['units_provisional']} provisional, {len(s['missing_units'])} missing")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
