"""Rules 2 and 3 of the reorganisations spec through dbt, on the shipped master list (the seed):
who is expected for each period of 2025, and the figures of a year of change.

A small raw warehouse of 2025 reports: Nam Hà (18073 until 30/06/2025) sent 2025Q1 and 2025S1;
Thành Sen (18073 since 01/07/2025) its 2025 annual report; Tân Lâm Hương (18652 in the first half)
its 2025S1 report and the new Hà Huy Tập (18652 since July) nothing; Đại Nài (split between
them) its 2025S1; Xã Cẩm Bình (18685) its 2025Q3 report; the agency CQ07 its 2025S1 report. And one
2021 report, whose meaning does not change.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from dvk.settings import Settings
from dvk.transform import build
from tests.fixtures import raw_fixture

pytestmark = pytest.mark.e2e  # a dbt build of the 2025 reports

NEW_UNITS = ["18073", "18100", "18604", "18619", "18628", "18652", "18685"]


def _sub(unit, period_id, kind, received):
    year = int(period_id[:4])
    return (unit, period_id, kind, year, "xlsx", received.date(), received, False)


REPORTS = {
    # name: (submission, [(field, kind, households, funds, days, land)])
    "nh_q1": (_sub("18073", "2025Q1", "quarter", datetime(2025, 3, 16, 8)), [("KT", "new", 1, None, None, None)]),
    "nh_s1": (_sub("18073", "2025S1", "half_year", datetime(2025, 6, 16, 8)),
              [("KT", "new", 2, None, None, None), ("VHXH", "new", 3, None, None, None)]),
    "ts_2025": (_sub("18073", "2025", "year", datetime(2025, 12, 16, 8)),
                [("KT", "new", 10, None, None, None), ("KT", "replicated", 11, None, None, None),
                 ("QPAN", "new", 12, None, None, None)]),
    "tlh_s1": (_sub("18652", "2025S1", "half_year", datetime(2025, 6, 16, 8)),
               [("XDD", "new", 4, None, None, None), ("XDD", "replicated", 5, None, None, None)]),
    "dn_s1": (_sub("18082", "2025S1", "half_year", datetime(2025, 6, 16, 8)), [("KT", "new", 6, None, None, None)]),
    "cb_q3": (_sub("18685", "2025Q3", "quarter", datetime(2025, 9, 16, 8)), [("VHXH", "new", 7, None, None, None)]),
    "cq_s1": (_sub("CQ07", "2025S1", "half_year", datetime(2025, 6, 16, 8)), [("QPAN", "new", 8, None, None, None)]),
    "nh_2021": (_sub("18073", "2021", "year", datetime(2021, 12, 16, 8)), [("KT", "new", 9, None, None, None)]),
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dbt_reorg")
    settings = Settings(inbox_dir=root / "inbox", warehouse=root / "warehouse" / "dvk.duckdb",
                        reports_dir=root / "reports", quarantine_dir=root / "quarantine")
    raw_fixture.make_raw_warehouse(settings.warehouse, empty=True)
    with duckdb.connect(str(settings.warehouse)) as con:
        raw_fixture.insert_load(con, raw_fixture.LOAD_ID, datetime(2025, 12, 20), len(REPORTS))
        for name, (submission, models) in REPORTS.items():
            raw_fixture.insert_submission(con, name, submission, models)
    build(settings, unit_tests=False)
    return settings.warehouse


def rows(path: Path, sql: str, params=None) -> list[dict]:
    with duckdb.connect(str(path)) as con:  # dbt-duckdb may still hold it in this process
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]


def test_who_is_expected_in_2025(warehouse):
    """Rule 2: the 27 units of the enlarged city and the 13 agencies for 2025Q1 and 2025S1; the
    seven new units for 2025Q3 and the 2025 annual report."""
    expected = {
        r["period_id"]: r for r in rows(warehouse, """
            select period_id,
                   count(*) filter (where is_expected and unit_code not like 'CQ%') as territorial,
                   count(*) filter (where is_expected and unit_code like 'CQ%') as agencies,
                   string_agg(unit_code, ',' order by unit_code) filter (where is_expected) as codes
            from marts.fct_reporting_rate_unit group by period_id""")
    }
    for pid in ("2025Q1", "2025S1"):
        assert (expected[pid]["territorial"], expected[pid]["agencies"]) == (27, 13), pid
    for pid in ("2025Q3", "2025"):
        assert (expected[pid]["territorial"], expected[pid]["agencies"]) == (7, 0), pid
        assert expected[pid]["codes"].split(",") == NEW_UNITS, pid
    assert (expected["2021"]["territorial"], expected["2021"]["agencies"]) == (15, 13)
    rate = {r["period_id"]: r for r in rows(warehouse, "select * from marts.fct_reporting_rate")}
    assert (rate["2025S1"]["expected_units"], rate["2025S1"]["received_units"]) == (40, 4)
    assert (rate["2025Q3"]["expected_units"], rate["2025Q3"]["received_units"]) == (7, 1)
    assert (rate["2025"]["expected_units"], rate["2025"]["received_units"]) == (7, 1)
    assert rate["2025"]["unexpected_units"] == 0


def test_each_submission_names_the_unit_version_of_its_period(warehouse):
    got = {(r["unit_code"], r["period_id"]): (r["unit_name"], r["valid_from"]) for r in rows(warehouse, """
        select s.unit_code, s.period_id, u.unit_name, u.valid_from
        from marts.fct_submission s join marts.dim_reporting_unit u on u.unit_key = s.unit_key""")}
    assert got[("18073", "2025S1")] == ("Phường Nam Hà", date(2019, 1, 1))
    assert got[("18073", "2025")] == ("Phường Thành Sen", date(2025, 7, 1))
    assert got[("18073", "2021")] == ("Phường Nam Hà", date(2019, 1, 1))
    assert got[("18652", "2025S1")] == ("Xã Tân Lâm Hương", date(2025, 1, 1))
    assert got[("18685", "2025Q3")] == ("Xã Cẩm Bình", date(2025, 7, 1))


def test_a_year_of_change(warehouse):
    """Rule 3: the seven units valid at the end of 2025; Thành Sen from its own annual report
    (Nam Hà's reports never added on top), Hà Huy Tập from its predecessor Tân Lâm Hương
    (provisional, from predecessors; Đại Nài, split, not counted), Cẩm Bình from its own 2025Q3
    report; the agency CQ07 (ceased 01/07/2025) has no 2025 annual figures."""
    status = {r["unit_code"]: r for r in rows(
        warehouse, "select * from marts.fct_annual_unit_status where year = 2025")}
    assert sorted(status) == NEW_UNITS
    assert (status["18073"]["status"], status["18073"]["figures_source"]) == ("reported", "own_report")
    assert status["18652"]["status"] == "provisional"
    assert status["18652"]["figures_source"] == "predecessors"
    assert status["18652"]["predecessor_unit_codes"] == "18652"
    assert status["18652"]["uncounted_split_predecessor_codes"] == "18082"
    assert (status["18685"]["status"], status["18685"]["source_period_id"]) == ("provisional", "2025Q3")
    assert {status[c]["status"] for c in ("18100", "18604", "18619", "18628")} == {"missing"}
    figures = {r["unit_code"]: r for r in rows(warehouse, """
        select unit_code, sum(models_total) as models, sum(households) as households,
               bool_and(is_provisional) as provisional, min(figures_source) as figures_source
        from marts.fct_annual_unit_field where year = 2025 group by unit_code""")}
    assert (figures["18073"]["models"], figures["18073"]["households"]) == (3, 33)  # never + Nam Hà's 2 + 3
    assert (figures["18652"]["models"], figures["18652"]["households"], figures["18652"]["provisional"],
            figures["18652"]["figures_source"]) == (2, 9, True, "predecessors")
    assert (figures["18685"]["models"], figures["18685"]["provisional"]) == (1, True)
    assert set(figures) == {"18073", "18652", "18685"}
    total = rows(warehouse, "select sum(models_total) as n from marts.fct_annual_unit_field where year = 2025")
    assert total[0]["n"] == 6  # 3 + 2 + 1: no predecessor, no agency added


def test_past_years_keep_their_meaning(warehouse):
    """Rule 6: the 2021 report of 18073 is Nam Hà's, expected among the 28 units of 2021."""
    status = rows(warehouse, """
        select s.status, u.unit_name, (select count(*) from marts.fct_annual_unit_status where year = 2021) as n
        from marts.fct_annual_unit_status s join marts.dim_reporting_unit u on u.unit_key = s.unit_key
        where s.year = 2021 and s.unit_code = '18073'""")
    assert status == [{"status": "reported", "unit_name": "Phường Nam Hà", "n": 28}]


def test_the_missing_command_follows_validity(warehouse, tmp_path, monkeypatch, capsys):
    """`dvk missing`: for 2025S1 the 40 units valid on 14 June 2025 (Nam Hà, Tân Lâm Hương, Đại
    Nài and CQ07 have reported); for 2025Q3 the seven new units (Cẩm Bình has reported)."""
    import json

    from dvk import cli

    with duckdb.connect(str(warehouse)) as con:
        con.execute("checkpoint")  # dbt-duckdb may still hold the file in this process: read a copy
    copy = tmp_path / "copy" / "dvk.duckdb"
    copy.parent.mkdir()
    copy.write_bytes(warehouse.read_bytes())
    monkeypatch.setenv("DVK_WAREHOUSE", str(copy))
    monkeypatch.setenv("DVK_PUBLISHED_DIR", str(tmp_path / "published"))
    assert cli.main(["missing", "--period", "2025S1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["expected"] == 40 and len(data["missing"]) == 36
    missing = {u["unit_code"] for u in data["missing"]}
    assert not missing & {"18073", "18652", "18082", "CQ07"} and {"18094", "CQ01"} <= missing
    assert cli.main(["missing", "--period", "2025Q3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["expected"] == 7
    assert sorted(u["unit_code"] for u in data["missing"]) == ["18073", "18100", "18604", "18619", "18628", "18652"]
    thanh_sen = next(u for u in data["missing"] if u["unit_code"] == "18073")
    assert thanh_sen["unit_name"] == "Phường Thành Sen" and thanh_sen["other_periods_reported"] == "2025"


def test_the_gate_passes_on_a_year_of_change(warehouse, tmp_path):
    """The quality gate of 2025 recounts every source, the predecessors' included."""
    import dataclasses

    from dvk.gate import run_gate
    from dvk.settings import get_settings

    with duckdb.connect(str(warehouse)) as con:
        con.execute("checkpoint")
    copy = tmp_path / "gate" / "dvk.duckdb"
    copy.parent.mkdir()
    copy.write_bytes(warehouse.read_bytes())
    settings = dataclasses.replace(get_settings(), warehouse=copy, reports_dir=tmp_path / "reports")
    result = run_gate(2025, settings, data_docs=False)
    assert result.passed, result.failure_lines()
    provisional = {u["unit_code"]: u for u in result.provisional_units}
    assert set(provisional) == {"18652", "18685"}
    assert {u["unit_code"] for u in result.missing_units} == {"18100", "18604", "18619", "18628"}
    # the annual report of 2025: the seven units, Hà Huy Tập marked as counted from its predecessors
    import json

    from dvk.report.build import build_annual_report

    folder = build_annual_report(2025, settings, gate_result=result)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert (summary["units_expected"], summary["models_total"]) == (7, 6)
    assert summary["units_provisional"] == 2 and summary["units_missing"] == 4


def test_today_map_of_a_year_counted_from_predecessors(warehouse):
    """Rules 3-5 together: Hà Huy Tập 18652 is counted in 2025 from its predecessors (only Tân
    Lâm Hương reported; Đại Nài, split, and Thạch Đài, silent, are not in its figures): on today's
    map its 2025 row is provisional AND incomplete, naming the parts left out. Thành Sen, with its
    own annual report covering its whole territory, is complete; Cẩm Bình, from its own 2025Q3
    report, is provisional but not incomplete. The unit versions of the map are the master list's."""
    today = {r["today_unit_code"]: r for r in rows(warehouse, """
        select * from marts.fct_annual_unit_today where year = 2025""")}
    assert sorted(today) == NEW_UNITS
    hht = today["18652"]
    assert (hht["is_provisional"], hht["is_incomplete"], hht["outside_parts"]) == (True, True, None)
    assert hht["uncounted_parts"] == "Phường Đại Nài; Xã Thạch Đài"
    assert hht["models_total"] == 2
    assert (today["18073"]["is_incomplete"], today["18073"]["is_provisional"]) == (False, False)
    assert (today["18685"]["is_incomplete"], today["18685"]["is_provisional"]) == (False, True)
    by_field = rows(warehouse, """
        select bool_and(is_incomplete) as incomplete from marts.fct_annual_unit_field_today
        where year = 2025 and today_unit_code = '18652'""")
    assert by_field == [{"incomplete": True}]
    versions = rows(warehouse, """
        select count(*) as n, count(*) filter (where not in_master_list) as outside,
               count(*) filter (where is_current) as today
        from intermediate.int_unit_versions""")[0]
    listed = rows(warehouse, """
        select count(*) as n from staging.stg_reference__reporting_units where unit_kind in ('phuong', 'xa')""")[0]
    assert versions["n"] - versions["outside"] == listed["n"] and versions["today"] == 7
