"""The gate's and the report's fixture warehouse: a small raw story, built by the real dbt project.

    from tests.support.gate_fixtures import settings_with, sid, BH_DECLARES_5_KT
    settings = settings_with(tmp_path)                  # a copy of the built warehouse
    settings = settings_with(tmp_path, "update ...")    # ... with SQL run on the copy

``base_warehouse()`` writes the story below into ``raw.*`` (the tables of
tests/fixtures/raw_fixture.py), with its own master list of units, no reorganisations, and runs
``dbt build`` (dvk.transform; seeds, snapshot and models: the data and unit tests run in
tests/test_dbt_build.py) once per test run and story (the xdist workers share it);
``settings_with`` copies the built file per test, so the marts and the gate's
``checks.*`` models (views over the marts) are exactly what the pipeline builds. A mutation
changes a mart or a raw table of the copy; the checks views see it at once.

The story, year 2021 (and one 2022 report):

- 18070 Phường Trần Phú: annual 2021 sent twice; the accepted version has 6 models on the four
  fields (names that look like formulas: "=1+2", "+84 ...", "-Camera ...", "@Chi bộ ..."), with
  declared totals that agree. Also a 2022Q1 report.
- 18076 Phường Bắc Hà: annual 2021, declared KT 4 (3 new, 1 replicated), QPAN 1, a blank VHXH row.
- 18073 Phường Nam Hà: 2021Q2 and 2021Q3 only (CSV): provisional, counted from 2021Q3 (2 models).
- 18079 Phường Tân Giang: annual 2021 with no model, declared "Tổng cộng" 0.
- CQ01 Hội Liên hiệp Phụ nữ thành phố: annual 2021 as CSV (no declared totals), 3 models.
- 18077 Phường Nguyễn Du: nothing: missing. 18080 is valid only until 31/12/2020.

2021: 4 units with models, 16 models, 10 new, 6 replicated;
KT 7/4/3, VHXH 3/1/2, QPAN 3/3/0, XDD 3/2/1.
"""

from __future__ import annotations

import atexit
import csv
import fcntl
import hashlib
import shutil
import tempfile
import threading
from datetime import date, datetime
from pathlib import Path

import duckdb

from dvk.settings import SEEDS_DIR, Settings
from tests.fixtures import raw_fixture

UNITS = [
    # code, name, kind, valid_from, valid_to (exclusive; one version per code)
    ("18070", "Phường Trần Phú", "phuong", date(2020, 1, 1), None),
    ("18073", "Phường Nam Hà", "phuong", date(2020, 1, 1), None),
    ("18076", "Phường Bắc Hà", "phuong", date(2020, 1, 1), None),
    ("18077", "Phường Nguyễn Du", "phuong", date(2020, 1, 1), None),
    ("18079", "Phường Tân Giang", "phuong", date(2020, 1, 1), None),
    ("18080", "Xã Cũ", "xa", date(2020, 1, 1), date(2021, 1, 1)),
    ("CQ01", "Hội Liên hiệp Phụ nữ thành phố", "doan_the", date(2020, 1, 1), None),
]
UNIT_NAMES = {code: name for code, name, *_ in UNITS}

# name -> unit, period_id, period_kind, period_year, accepted (as the build should find it),
# has_declared_totals, received_at (UTC; the report date is its date)
SUBMISSIONS = {
    "tp_2021_v1": ("18070", "2021", "year", 2021, False, True, datetime(2021, 12, 10, 8, 0)),
    "tp_2021_v2": ("18070", "2021", "year", 2021, True, True, datetime(2021, 12, 16, 9, 30)),
    "tp_2022q1": ("18070", "2022Q1", "quarter", 2022, True, True, datetime(2022, 3, 16, 8, 0)),
    "bh_2021": ("18076", "2021", "year", 2021, True, True, datetime(2021, 12, 15, 10, 0)),
    "nh_2021q2": ("18073", "2021Q2", "quarter", 2021, True, False, datetime(2021, 6, 15, 7, 0)),
    "nh_2021q3": ("18073", "2021Q3", "quarter", 2021, True, False, datetime(2021, 9, 15, 7, 0)),
    "tg_2021": ("18079", "2021", "year", 2021, True, True, datetime(2021, 12, 14, 16, 0)),
    "pn_2021": ("CQ01", "2021", "year", 2021, True, False, datetime(2021, 12, 18, 11, 0)),
}

# name -> [(field, kind, model name, households, funds, labour_days, land_m2)]
MODELS = {
    "tp_2021_v1": [
        ("KT", "new", "Huy động sức dân làm đường giao thông", 100, 200.0, 250, 1000.0),
        ("VHXH", "new", "Tổ dân phố mẫu", 40, None, None, None),
    ],
    "tp_2021_v2": [
        ("KT", "new", "Huy động sức dân làm đường giao thông", 120, 250.5, 300, 1500.0),
        ("KT", "replicated", "=1+2", 80, 100.25, 150, None),
        ("VHXH", "new", "Tổ dân phố mẫu", 45, 12.25, 60, 0.0),
        ("VHXH", "replicated", "+84 Dân vận khéo", None, None, None, None),
        ("QPAN", "new", "-Camera an ninh khu dân cư", 30, 15.0, 20, None),
        ("XDD", "replicated", "@Chi bộ bốn tốt", None, None, None, None),
    ],
    "tp_2022q1": [("KT", "replicated", "Đường giao thông 2022", 10, 5.0, 10, None)],
    "bh_2021": [
        ("KT", "new", "Vườn mẫu", 10, 10.0, 5, None),
        ("KT", "new", "Chăn nuôi an toàn", 20, 5.0, 5, None),
        ("KT", "new", "Hợp tác xã rau sạch", 15, None, 8, 200.0),
        ("KT", "replicated", "Cánh đồng mẫu lớn", 25, 20.0, 10, None),
        ("QPAN", "new", "Tổ tự quản an ninh", 12, None, 4, None),
    ],
    "nh_2021q2": [("QPAN", "new", "Tuyến phố an toàn", 7, None, 14, None)],
    "nh_2021q3": [
        ("QPAN", "new", "Tuyến phố an toàn", 7, None, 14, None),
        ("VHXH", "replicated", "Gia đình văn hóa", None, 1.0, None, 25.5),
    ],
    "tg_2021": [],
    "pn_2021": [
        ("XDD", "new", "Chi hội phụ nữ tự quản", 50, 3.5, 12, None),
        ("XDD", "new", "Phụ nữ tham gia xây dựng Đảng", 20, None, None, None),
        ("KT", "replicated", "Tiết kiệm vì phụ nữ nghèo", 60, 30.0, None, None),
    ],
}

# name -> [(field_code, total, new, replicated, funds)]; None = blank cell
DECLARED = {
    "tp_2021_v1": [("KT", 1, 1, 0, 200.0), ("VHXH", 1, 1, 0, None), ("TOTAL", 2, 2, 0, 200.0)],
    "tp_2021_v2": [
        ("KT", 2, 1, 1, 350.75), ("VHXH", 2, 1, 1, 12.25), ("QPAN", 1, 1, 0, 15.0),
        ("XDD", 1, 0, 1, None), ("TOTAL", 6, 3, 3, 378.0),
    ],
    "tp_2022q1": [("KT", 1, 0, 1, 5.0), ("TOTAL", 1, 0, 1, 5.0)],
    "bh_2021": [
        ("KT", 4, 3, 1, 35.0), ("VHXH", None, None, None, None), ("QPAN", 1, 1, 0, None),
        ("TOTAL", 5, 4, 1, 35.0),
    ],
    "tg_2021": [("TOTAL", 0, 0, 0, None)],
}

SUITES = {
    "submission_totals", "annual_counts", "reconciliation", "reconciliation_submissions",
    "model_lines", "unit_status", "ytd_progression", "model_measures",
}


def sid(name: str) -> str:
    """The submission id of a story submission (raw_fixture's: sha256 of the name)."""
    return raw_fixture.sid(name)


# The KT line counts of Bắc Hà's annual report: declared 5 (and 4 new), lines 4 (3 new); the
# TOTAL row and the declared sum move with it, as when a clerk edits both cells.
BH_DECLARES_5_KT = [
    f"""update marts.fct_submission_totals_check
        set declared_total = declared_total + 1, declared_new = declared_new + 1
        where submission_id = '{sid('bh_2021')}' and field_code in ('KT', 'TOTAL')""",
    f"""update marts.fct_submission_totals_check
        set fields_sum_total = fields_sum_total + 1, fields_sum_new = fields_sum_new + 1
        where submission_id = '{sid('bh_2021')}' and field_code = 'TOTAL'""",
]


def write_raw(path: Path) -> None:
    """The story in the ``raw.*`` tables of a new DuckDB file ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        raw_fixture.create_raw_tables(con)
        raw_fixture.insert_load(con, raw_fixture.LOAD_ID, datetime(2022, 3, 20, 1, 0), len(SUBMISSIONS))
        for name, (unit, period, kind, year, _accepted, declared, received) in SUBMISSIONS.items():
            fmt = "xlsx" if declared else "csv"
            lines = [(field, mkind, hh, funds, days, land, mname)
                     for field, mkind, mname, hh, funds, days, land in MODELS[name]]
            raw_fixture.insert_submission(
                con, name, (unit, period, kind, year, fmt, received.date(), received, declared),
                lines, DECLARED.get(name, []))
        # the story's model lists start under a three-row heading, on the sheet "Mô hình"
        con.execute("update raw.submission_models set source_sheet = 'Mô hình', source_row = line_no + 3")
        # ... registered on 1 February of the report's year
        con.execute("""update raw.submission_models as m set registered_on = make_date(s.period_year, 2, 1)
                       from raw.submissions as s where s.submission_id = m.submission_id""")


def write_reference(folder: Path) -> dict[str, Path]:
    """The story's master list of units and empty reorganisation files (headers of the seeds)."""
    folder.mkdir(parents=True, exist_ok=True)
    units = folder / "units.csv"
    with units.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "name", "kind", "parent_code", "aliases", "valid_from", "valid_to"])
        for code, name, kind, start, end in UNITS:
            w.writerow([code, name, kind, "436", "", start.isoformat(), end.isoformat() if end else ""])
    files = {"units_file": units}
    for var, seed in (("unit_changes_file", "unit_changes.csv"), ("unit_shares_file", "unit_split_shares.csv")):
        header = (SEEDS_DIR / seed).read_text(encoding="utf-8").splitlines()[0]
        (folder / seed).write_text(header + "\n", encoding="utf-8")
        files[var] = folder / seed
    return files


def settings_at(folder: Path, warehouse: Path, reference: dict[str, Path]) -> Settings:
    folder = Path(folder)
    return Settings(inbox_dir=folder / "inbox", warehouse=warehouse, reports_dir=folder / "reports",
                    quarantine_dir=folder / "quarantine", **reference)


_BUILT: dict[str, tuple[Path, dict[str, Path]]] = {}
_LOCK = threading.Lock()


def _story_key() -> str:
    """The story as it is now (a test may add or replace submissions with monkeypatch)."""
    story = (UNITS, sorted(SUBMISSIONS.items()), sorted(MODELS.items()), sorted(DECLARED.items()))
    return hashlib.sha256(repr(story).encode()).hexdigest()


def _shared_root(folder: Path | None) -> Path | None:
    """pytest's base temporary folder shared by the xdist workers of this run (the parent of
    ``popen-gw<N>``), found from a test's folder; None outside xdist."""
    for parent in Path(folder).resolve().parents if folder else ():
        if parent.name.startswith("popen-gw"):
            return parent.parent
    return None


def _build_story(base: Path) -> tuple[Path, dict[str, Path]]:
    from dvk.transform import release_dbt_duckdb, run_dbt

    reference = write_reference(base / "reference")
    warehouse = base / "warehouse" / "dvk.duckdb"
    if warehouse.exists():
        warehouse.unlink()  # a build cut short before
    write_raw(warehouse)
    try:
        # the models only: the data and unit tests run in tests/test_dbt_build.py
        run_dbt(["build", "--exclude-resource-type", "test", "--exclude-resource-type",
                 "unit_test"], settings_at(base, warehouse, reference))
    finally:
        release_dbt_duckdb()
    return warehouse, reference


def base_warehouse(folder: Path | None = None) -> tuple[Path, dict[str, Path]]:
    """The story as it is now, built by ``dbt build`` once per test run and story: (warehouse
    file, reference files). Under pytest-xdist the workers share one build (a file lock in the
    run's base temporary folder, found from ``folder``); else once per process."""
    key = _story_key()
    with _LOCK:
        if key in _BUILT:
            return _BUILT[key]
        shared = _shared_root(folder)
        if shared is None:
            base = Path(tempfile.mkdtemp(prefix="dvk-gate-base-"))
            atexit.register(shutil.rmtree, base, ignore_errors=True)
            _BUILT[key] = _build_story(base)
        else:
            base = shared / f"dvk-gate-story-{key[:16]}"
            base.mkdir(exist_ok=True)
            with open(shared / f"dvk-gate-story-{key[:16]}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
                done = base / "built"
                if done.exists():
                    reference = {"units_file": base / "reference" / "units.csv",
                                 "unit_changes_file": base / "reference" / "unit_changes.csv",
                                 "unit_shares_file": base / "reference" / "unit_split_shares.csv"}
                    _BUILT[key] = (base / "warehouse" / "dvk.duckdb", reference)
                else:
                    _BUILT[key] = _build_story(base)
                    done.touch()
        return _BUILT[key]


def settings_with(folder: Path, *mutations: str) -> Settings:
    """Settings on a copy of the built story warehouse in ``folder``, with ``mutations`` (SQL) run."""
    base, reference = base_warehouse(folder)
    warehouse = Path(folder) / "warehouse" / "dvk.duckdb"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(base, warehouse)
    if mutations:
        with duckdb.connect(str(warehouse)) as con:
            for sql in mutations:
                con.execute(sql)
    return settings_at(folder, warehouse, reference)


def make_settings(folder: Path, *mutations: str) -> Settings:
    """``settings_with`` (the name tests/test_report.py used)."""
    return settings_with(folder, *mutations)


#: Bắc Hà's second 2021 model line with 5,000 households, 200 times the unit's usual level (a
#: warning: value_within_unit_usual_range), in raw, fct_model and the year's figures.
BH_HOUSEHOLDS_5000 = [
    f"update raw.submission_models set households = 5000 where submission_id = '{sid('bh_2021')}' and line_no = 2",
    f"update marts.fct_model set households = 5000 where model_line_id = '{sid('bh_2021')}-2'",
    "update marts.fct_annual_unit_field set households = households + 4980 "
    "where year = 2021 and unit_code = '18076' and field_code = 'KT'",
]
