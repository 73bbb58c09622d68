"""The quality gate (dvk.gate) on a hand-made warehouse holding the marts of docs/architecture.md.

``build_warehouse(path, *mutations)`` writes ``raw.submission_models`` and every ``marts.*`` table
the gate and the report read, derived from the small story below by plain SQL (so that the marts
agree with raw), then runs the ``mutations`` (SQL) to break one thing at a time.
``settings_with(folder, *mutations)`` does the same from a copy of one unbroken warehouse built once
per session (faster). tests/test_report.py reuses ``make_settings``; tests/test_gate_checks.py
(one test per blocking check), tests/test_gate_warnings.py and tests/test_gate_data_docs.py reuse
the rest.

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
import json
import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from dvk.gate import (
    GateFailed,
    GateResult,
    data_docs_path,
    enforce_gate,
    gate_result_path,
    run_gate,
)
from dvk.settings import Settings

UNITS = [
    # code, name, kind, valid_from, valid_to (one version per code here: unit_key = code)
    ("18070", "Phường Trần Phú", "phuong", date(2020, 1, 1), None),
    ("18073", "Phường Nam Hà", "phuong", date(2020, 1, 1), None),
    ("18076", "Phường Bắc Hà", "phuong", date(2020, 1, 1), None),
    ("18077", "Phường Nguyễn Du", "phuong", date(2020, 1, 1), None),
    ("18079", "Phường Tân Giang", "phuong", date(2020, 1, 1), None),
    ("18080", "Xã Cũ", "xa", date(2020, 1, 1), date(2021, 1, 1)),
    ("CQ01", "Hội Liên hiệp Phụ nữ thành phố", "doan_the", date(2020, 1, 1), None),
]

FIELDS = [
    ("KT", "Phát triển kinh tế", "Economic development", 1),
    ("VHXH", "Văn hóa - xã hội", "Culture and society", 2),
    ("QPAN", "Quốc phòng - an ninh", "Defence and security", 3),
    ("XDD", "Xây dựng Đảng và hệ thống chính trị", "Building the Party and the political system", 4),
]

# name -> unit, period_id, period_kind, period_year, accepted, has_declared_totals, received_at
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

PERIODS = [
    ("2021", "year", 2021, "Năm 2021", date(2020, 12, 15), date(2021, 12, 14), date(2021, 12, 19)),
    ("2021Q2", "quarter", 2021, "Quý II/2021", date(2021, 3, 15), date(2021, 6, 14), date(2021, 6, 19)),
    ("2021Q3", "quarter", 2021, "Quý III/2021", date(2021, 6, 15), date(2021, 9, 14), date(2021, 9, 19)),
    ("2022Q1", "quarter", 2022, "Quý I/2022", date(2021, 12, 15), date(2022, 3, 14), date(2022, 3, 19)),
    ("2022", "year", 2022, "Năm 2022", date(2021, 12, 15), date(2022, 12, 14), date(2022, 12, 19)),
]

RAW_DDL = """
create table raw.submission_models (
    submission_id varchar, line_no integer, source_sheet varchar, source_row integer,
    stt integer, model_name varchar, field_code varchar, field_raw varchar,
    model_kind varchar, model_kind_raw varchar, registered_on date,
    recognition_level varchar, households bigint, funds_million_vnd double,
    labour_days bigint, land_m2 double, note varchar)
"""

MARTS_SQL = [
    """create table marts.fct_submission as
    select s.submission_id, s.unit_code, s.period_id, s.period_kind, s.period_year, s.file_name,
        s.received_at, cast(s.received_at as date) as report_date,
        cast(row_number() over (partition by s.unit_code, s.period_id order by s.received_at) as integer)
            as version_no,
        s.is_accepted,
        cast((select count(*) from raw.submission_models m where m.submission_id = s.submission_id)
            as bigint) as models_count,
        s.has_declared_totals, s.unit_code as unit_key
    from fixture_submissions s""",
    """create table marts.fct_model as
    select m.submission_id || '-' || m.line_no as model_line_id, m.submission_id, s.unit_code,
        s.period_id, s.period_kind, s.period_year, m.line_no, m.model_name, m.field_code,
        m.model_kind, m.registered_on, m.recognition_level, m.households, m.funds_million_vnd,
        m.labour_days, m.land_m2, m.note, s.unit_key
    from raw.submission_models m
    join marts.fct_submission s on s.submission_id = m.submission_id and s.is_accepted""",
    """create table fixture_sources as
    select * from (
        select s.period_year as year, s.unit_code, s.unit_key, s.submission_id as source_submission_id,
            s.period_id as source_period_id, s.period_kind <> 'year' as is_provisional,
            row_number() over (partition by s.period_year, s.unit_code
                order by (s.period_kind = 'year') desc, p.window_end desc) as rnk
        from marts.fct_submission s join marts.dim_period p on p.period_id = s.period_id
        where s.is_accepted
    ) where rnk = 1""",
    """create table marts.fct_annual_unit_status as
    with years as (select distinct period_year as year from marts.fct_submission),
    unit_years as (
        select y.year, u.unit_code from years y join marts.dim_reporting_unit u
            on u.valid_from <= make_date(y.year, 12, 14)
            and (u.valid_to is null or u.valid_to > make_date(y.year, 12, 14))
        union select year, unit_code from fixture_sources
    )
    select uy.year, uy.unit_code,
        case when src.source_submission_id is null then 'missing'
             when src.is_provisional then 'provisional' else 'reported' end as status,
        src.source_submission_id, src.source_period_id, uy.unit_code as unit_key,
        case when src.source_submission_id is not null then 'own_report' end as figures_source,
        cast(null as varchar) as predecessor_unit_codes,
        cast(null as varchar) as uncounted_split_predecessor_codes, true as is_expected
    from unit_years uy
    left join fixture_sources src on src.year = uy.year and src.unit_code = uy.unit_code""",
    """create table marts.fct_annual_unit_source as
    select src.year, src.unit_key, src.unit_code, src.source_submission_id, src.source_period_id,
        p.period_kind as source_period_kind, src.unit_key as source_unit_key,
        src.unit_code as source_unit_code, 'own_report' as figures_source, src.is_provisional
    from fixture_sources src join marts.dim_period p on p.period_id = src.source_period_id""",
    """create table marts.fct_annual_unit_field as
    select src.year, src.unit_code, m.field_code,
        cast(count(*) as bigint) as models_total,
        cast(count(*) filter (where m.model_kind = 'new') as bigint) as models_new,
        cast(count(*) filter (where m.model_kind = 'replicated') as bigint) as models_replicated,
        cast(coalesce(sum(m.households), 0) as bigint) as households,
        cast(coalesce(sum(m.funds_million_vnd), 0) as double) as funds_million_vnd,
        cast(coalesce(sum(m.labour_days), 0) as bigint) as labour_days,
        cast(coalesce(sum(m.land_m2), 0) as double) as land_m2,
        src.is_provisional, src.source_submission_id, src.source_period_id, src.unit_key,
        'own_report' as figures_source, src.unit_key as source_unit_key,
        src.unit_code as source_unit_code
    from fixture_sources src
    join raw.submission_models m on m.submission_id = src.source_submission_id
    group by all""",
    """create table marts.fct_submission_totals_check as
    with subs as (select * from marts.fct_submission where is_accepted and has_declared_totals),
    declared as (
        select d.* from fixture_declared d join subs using (submission_id)
    ),
    lines as (select m.* from raw.submission_models m join subs using (submission_id)),
    computed as (
        select submission_id, field_code, count(*) as t,
            count(*) filter (where model_kind = 'new') as n,
            count(*) filter (where model_kind = 'replicated') as r,
            coalesce(sum(funds_million_vnd), 0) as f
        from lines group by all
        union all
        select submission_id, 'TOTAL', count(*), count(*) filter (where model_kind = 'new'),
            count(*) filter (where model_kind = 'replicated'), coalesce(sum(funds_million_vnd), 0)
        from lines group by all
    ),
    sums as (
        select submission_id, sum(models_total) as t, sum(models_new) as n,
            sum(models_replicated) as r
        from declared where field_code <> 'TOTAL' group by all
    ),
    grid as (
        select submission_id, field_code from declared
        union select submission_id, field_code from computed
        union select submission_id, 'TOTAL' from subs
    )
    select g.submission_id, g.field_code, s.unit_code, s.period_id,
        d.models_total as declared_total, d.models_new as declared_new,
        d.models_replicated as declared_replicated,
        cast(coalesce(c.t, 0) as bigint) as computed_total,
        cast(coalesce(c.n, 0) as bigint) as computed_new,
        cast(coalesce(c.r, 0) as bigint) as computed_replicated,
        d.funds_million_vnd as declared_funds, cast(coalesce(c.f, 0) as double) as computed_funds,
        case when g.field_code = 'TOTAL' then sums.t end as fields_sum_total,
        case when g.field_code = 'TOTAL' then sums.n end as fields_sum_new,
        case when g.field_code = 'TOTAL' then sums.r end as fields_sum_replicated,
        s.unit_key
    from grid g join subs s using (submission_id)
    left join declared d on d.submission_id = g.submission_id and d.field_code = g.field_code
    left join computed c on c.submission_id = g.submission_id and c.field_code = g.field_code
    left join sums on sums.submission_id = g.submission_id""",
]


def sid(name: str) -> str:
    import hashlib

    return hashlib.sha256(name.encode()).hexdigest()


def build_warehouse(path: Path, *mutations: str) -> Path:
    """Write the fixture warehouse at ``path``; run ``mutations`` (SQL) at the end."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema raw")
        con.execute("create schema marts")
        con.execute(RAW_DDL)
        con.execute("""create table marts.dim_reporting_unit (unit_code varchar,
            unit_name varchar, unit_kind varchar, parent_code varchar, aliases varchar,
            valid_from date, valid_to date, unit_key varchar primary key)""")
        for code, name, kind, start, end in UNITS:
            con.execute("insert into marts.dim_reporting_unit values (?, ?, ?, '436', null, ?, ?, ?)",
                        [code, name, kind, start, end, code])
        con.execute("""create table marts.dim_field (field_code varchar primary key,
            field_name_vi varchar, field_name_en varchar, sort_order integer)""")
        con.executemany("insert into marts.dim_field values (?, ?, ?, ?)", FIELDS)
        con.execute("""create table marts.dim_period (period_id varchar primary key,
            period_kind varchar, period_year integer, label_vi varchar, window_start date,
            window_end date, due_date date)""")
        con.executemany("insert into marts.dim_period values (?, ?, ?, ?, ?, ?, ?)", PERIODS)
        con.execute("""create temp table fixture_submissions (submission_id varchar,
            unit_code varchar, period_id varchar, period_kind varchar, period_year integer,
            file_name varchar, received_at timestamp, is_accepted boolean,
            has_declared_totals boolean)""")
        con.execute("""create temp table fixture_declared (submission_id varchar,
            field_code varchar, models_total bigint, models_new bigint, models_replicated bigint,
            funds_million_vnd double)""")
        for name, (unit, period, kind, year, accepted, declared, received) in SUBMISSIONS.items():
            con.execute("insert into fixture_submissions values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [sid(name), unit, period, kind, year, f"{name}.xlsx", received, accepted,
                         declared])
            for line_no, (field, mkind, mname, hh, funds, days, land) in enumerate(MODELS[name], 1):
                con.execute(
                    "insert into raw.submission_models values "
                    "(?, ?, 'Mô hình', ?, ?, ?, ?, ?, ?, ?, ?, 'Cấp xã', ?, ?, ?, ?, null)",
                    [sid(name), line_no, line_no + 3, line_no, mname, field, field, mkind,
                     "Xây mới" if mkind == "new" else "Nhân rộng", date(year, 2, 1), hh, funds,
                     days, land],
                )
            for field, total, new, repl, funds in DECLARED.get(name, []):
                con.execute("insert into fixture_declared values (?, ?, ?, ?, ?, ?)",
                            [sid(name), field, total, new, repl, funds])
        for sql in MARTS_SQL:
            con.execute(sql)
        con.execute("drop table fixture_sources")
        for sql in mutations:
            con.execute(sql)
    finally:
        con.close()
    return path


def make_settings(tmp_path: Path, *mutations: str) -> Settings:
    warehouse = build_warehouse(tmp_path / "warehouse" / "dvk.duckdb", *mutations)
    return Settings(
        inbox_dir=tmp_path / "inbox",
        warehouse=warehouse,
        reports_dir=tmp_path / "reports",
        quarantine_dir=tmp_path / "quarantine",
    )


_BASE: dict[str, Path] = {}


def settings_with(folder: Path, *mutations: str) -> Settings:
    """Settings on a copy of the unbroken fixture warehouse (built once), with ``mutations`` run."""
    if "path" not in _BASE:
        base = tempfile.mkdtemp(prefix="dvk-gate-base-")
        atexit.register(shutil.rmtree, base, ignore_errors=True)
        _BASE["path"] = build_warehouse(Path(base) / "dvk.duckdb")
    warehouse = Path(folder) / "warehouse" / "dvk.duckdb"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_BASE["path"], warehouse)
    if mutations:
        con = duckdb.connect(str(warehouse))
        try:
            for sql in mutations:
                con.execute(sql)
        finally:
            con.close()
    return Settings(inbox_dir=Path(folder) / "inbox", warehouse=warehouse,
                    reports_dir=Path(folder) / "reports", quarantine_dir=Path(folder) / "quarantine")


UNIT_NAMES = {code: name for code, name, *_ in UNITS}

# The KT line counts of Bắc Hà's annual report: declared 5 (and 4 new), lines 4 (3 new); the
# TOTAL row and the declared sum move with it, as when a clerk edits both cells.
BH_DECLARES_5_KT = [
    f"""update marts.fct_submission_totals_check
        set declared_total = declared_total + 1, declared_new = declared_new + 1
        where submission_id = '{sid("bh_2021")}' and field_code in ('KT', 'TOTAL')""",
    f"""update marts.fct_submission_totals_check
        set fields_sum_total = fields_sum_total + 1, fields_sum_new = fields_sum_new + 1
        where submission_id = '{sid("bh_2021")}' and field_code = 'TOTAL'""",
]


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    settings = settings_with(tmp_path_factory.mktemp("good"))
    return settings, run_gate(2021, settings)


SUITES = {
    "submission_totals", "annual_counts", "reconciliation", "reconciliation_submissions",
    "model_lines", "unit_status", "ytd_progression", "model_measures",
}


def test_gate_passes_on_consistent_data(good):
    settings, result = good
    assert isinstance(result, GateResult)
    assert result.passed, result.failures
    assert result.failures == []
    assert result.warnings == []
    assert result.year == 2021
    assert set(result.suites) == SUITES
    for name, suite in result.suites.items():
        assert suite["statistics"]["evaluated_expectations"] == len(suite["expectations"]), name
        assert all(e["error"] is None for e in suite["expectations"]), (name, suite)
        assert all(e["level"] in {"blocking", "warning", "info"} for e in suite["expectations"])
    # the blocking checks ran on rows (not vacuously) on this data
    totals = {e["check"]: e for e in result.suites["submission_totals"]["expectations"]}
    assert totals["declared_total_matches_lines"]["element_count"] > 0
    measures = {e["check"]: e for e in result.suites["model_measures"]["expectations"]}
    assert measures["value_within_unit_usual_range"]["element_count"] > 0
    ytd = {e["check"]: e for e in result.suites["ytd_progression"]["expectations"]}
    assert ytd["ytd_count_does_not_shrink"]["element_count"] == 2  # Nam Hà 2021Q2 -> 2021Q3: QPAN, VHXH


def test_missing_and_provisional_units_are_listed_not_blocking(good):
    _, result = good
    assert result.missing_units == [{"unit_code": "18077", "unit_name": "Phường Nguyễn Du"}]
    assert [(u["unit_code"], u["period_id"]) for u in result.provisional_units] == [("18073", "2021Q3")]
    status = {e["check"]: e for e in result.suites["unit_status"]["expectations"]}
    assert status["unit_reported_for_year"]["success"] is False
    assert status["unit_reported_for_year"]["level"] == "info"
    assert status["unit_reported_for_year"]["blocking"] is False
    assert status["unit_status_known"]["success"] is True


def test_gate_result_json_is_saved(good):
    settings, result = good
    path = gate_result_path(2021, settings)
    assert path == settings.reports_dir / "gate" / "2021" / "gate_result.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["passed"] is True and saved["year"] == 2021
    assert saved["missing_units"][0]["unit_code"] == "18077"
    assert saved["data_docs"] == str(data_docs_path(2021, settings))
    assert saved["checked_at"]
    assert GateResult.from_dict(saved).passed


def test_gate_opens_the_warehouse_read_only(good):
    settings, _ = good
    # a writer can open the file right after the gate: the gate holds no connection
    con = duckdb.connect(str(settings.warehouse))
    con.close()


def test_failure_message_names_unit_period_field_values_and_next_step(tmp_path):
    """The clerk's view of the most common failure, through enforce_gate (as the DAG calls it)."""
    settings = settings_with(tmp_path, *BH_DECLARES_5_KT)
    with pytest.raises(GateFailed) as caught:
        enforce_gate(2021, settings)
    result = caught.value.result
    assert not result.passed
    total = next(f for f in result.failures if f["check"] == "declared_total_matches_lines")
    assert total["message_vi"] == (
        "Đơn vị 18076 (Phường Bắc Hà), kỳ 2021, lĩnh vực KT: khai báo 5 mô hình ở sheet Tổng hợp "
        "nhưng danh sách mô hình có 4 dòng. Việc cần làm: đơn vị kiểm tra lại sheet Tổng hợp hoặc "
        "danh sách mô hình của kỳ 2021, sửa cho khớp và gửi lại báo cáo."
    )
    assert total["message_en"] == (
        "Unit 18076 (Phường Bắc Hà), period 2021, field KT: declared 5 models on the Tổng hợp sheet, "
        "but the model list has 4 lines. Next: ask the unit to correct the Tổng hợp sheet or the model "
        "list of its 2021 report and resend the file."
    )
    message = str(caught.value)
    assert message.startswith("Kiểm tra chất lượng số liệu năm 2021 KHÔNG ĐẠT")
    assert f"- {total['message_vi']} / {total['message_en']}" in message
    assert f"Chi tiết / details: {data_docs_path(2021, settings)}" in message
    saved = json.loads(gate_result_path(2021, settings).read_text(encoding="utf-8"))
    assert saved["passed"] is False
    assert {f["field_code"] for f in saved["failures"]} == {"KT"}


def test_every_check_has_a_level_and_a_next_step():
    from dvk.gate.datasets import DATASETS
    from dvk.gate.suites import load_suite

    checks = [e["meta"] for d in DATASETS for e in load_suite(d.name).entries]
    assert len({m["check"] for m in checks}) == len(checks)  # ids unique across the suites
    for meta in checks:
        assert meta["level"] in {"blocking", "warning", "info"}
        assert meta["action_vi"] and meta["action_en"], meta["check"]
    by_suite = {d.name: {e["meta"]["level"] for e in load_suite(d.name).entries} for d in DATASETS}
    assert by_suite["ytd_progression"] == {"warning"}
    assert by_suite["model_measures"] == {"warning"}


def test_malformed_suite_file_is_refused(tmp_path):
    from dvk.gate.suites import SuiteDefinitionError, load_suite

    (tmp_path / "broken.yml").write_text(
        "- type: ExpectColumnValuesToNotBeNull\n  kwargs: {column: x}\n"
        "  meta: {check: x_not_null, level: blocking, description_vi: a, description_en: b,\n"
        "         message_vi: c, message_en: d}\n", encoding="utf-8")
    with pytest.raises(SuiteDefinitionError, match="action_vi, action_en"):
        load_suite("broken", tmp_path)


def test_other_year_is_checked_on_its_own(tmp_path):
    settings = settings_with(tmp_path, *BH_DECLARES_5_KT)
    result = run_gate(2022, settings, data_docs=False)  # the broken submission is of 2021
    assert result.passed, result.failures
    assert [u["unit_code"] for u in result.provisional_units] == ["18070"]


def test_missing_warehouse_raises_a_clear_error(tmp_path):
    settings = Settings(inbox_dir=tmp_path, warehouse=tmp_path / "nope.duckdb",
                        reports_dir=tmp_path / "r", quarantine_dir=tmp_path / "q")
    with pytest.raises(FileNotFoundError):
        run_gate(2021, settings)
