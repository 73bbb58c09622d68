"""The warehouse model on the demo inbox (demo/README.md): ingest, dbt build, then the marts.

The expected figures are worked out by hand from demo/README.md and demo/inbox/_manifest.csv:

- 2021: the master list expects 28 units (all from 2020, none ending). 27 sent an annual report;
  Trung tâm Y tế thành phố (CQ12) sent nothing: missing. The due date is 19 Dec 2021 (window end
  14 Dec + 5 days). Late: 18112, CQ05, CQ13 (arrived 21-22 Dec) and 18088 (signed 17 Dec, arrived
  20 Dec 09:15 local). 18085 arrived on 19 Dec at 15:40 local: on time. Phường Bắc Hà (18076)
  sent v1 on 15 Dec and the correction v2 on 18 Dec 10:05 local: on time, v2 accepted.
  So received 27, on time 27 - 4 = 23, missing 1: rates 27/28 and 23/28.
- 2022Q1: six units reported, all between 16 and 18 March (due 19 March): received 6, on time 6,
  missing 22. There is no 2022 annual report: the 2022 year period has 0 received, 28 missing.
- The 2021 headline still reads 27 units / 253 models / 157 new / 96 replicated.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest

from dvk.settings import Settings
from tests.support.scripts import demo_generator
from tests.support.site import site_settings

LATE_2021 = ["18088", "18112", "CQ05", "CQ13"]


@pytest.fixture(scope="module")
def demo(demo_site) -> Settings:
    """The shared demo site (tests/support/site.py: the demo inbox ingested and built by dbt), read-only."""
    return site_settings(demo_site)


def rows(settings: Settings, sql: str) -> list[dict]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def test_reporting_rate_2021(demo):
    (r,) = rows(demo, "select * from marts.fct_reporting_rate where period_id = '2021'")
    assert r["due_date"] == dt.date(2021, 12, 19)
    assert (r["expected_units"], r["received_units"], r["on_time_units"], r["missing_units"]) == (
        28, 27, 23, 1
    )
    assert r["missing_unit_codes"] == "CQ12"
    assert (r["late_units"], r["late_unit_codes"]) == (4, "; ".join(LATE_2021))
    assert (r["reporting_rate"], r["on_time_rate"]) == (0.9643, 0.8214)  # 27/28, 23/28
    units = {
        u["unit_code"]: u
        for u in rows(demo, "select * from marts.fct_reporting_rate_unit where period_id = '2021'")
    }
    assert units["18085"]["status"] == "on_time" and units["18085"]["first_received_on"] == dt.date(2021, 12, 19)
    assert (units["18088"]["status"], units["18088"]["days_late"]) == ("late", 1)
    assert (units["18112"]["days_late"], units["CQ05"]["days_late"], units["CQ13"]["days_late"]) == (3, 2, 3)
    assert (units["18076"]["status"], units["18076"]["submissions_count"]) == ("on_time", 2)
    assert units["CQ12"]["status"] == "missing"


def test_reporting_rate_2022(demo):
    rates = {r["period_id"]: r for r in rows(demo, "select * from marts.fct_reporting_rate")}
    assert set(rates) == {"2021", "2022", "2022Q1", "2025Q1", "2025S1", "2025Q3", "2025",
                          "2026Q1", "2026Q2", "2026S1", "2026"}
    q1 = rates["2022Q1"]
    assert (q1["expected_units"], q1["received_units"], q1["on_time_units"], q1["missing_units"]) == (
        28, 6, 6, 22
    )
    assert set(q1["missing_unit_codes"].split("; ")).isdisjoint(
        {"18070", "18079", "18100", "18103", "CQ02", "CQ07"}
    )
    year = rates["2022"]
    assert (year["received_units"], year["missing_units"], year["reporting_rate"]) == (0, 28, 0.0)


def test_correction_and_timeliness_in_fct_submission(demo):
    subs = rows(
        demo,
        "select file_name, version_no, is_accepted, superseded_by_submission_id is not null as superseded, "
        "received_on, is_on_time from marts.fct_submission where unit_code = '18076' order by version_no",
    )
    assert [(s["file_name"], s["version_no"], s["is_accepted"], s["superseded"]) for s in subs] == [
        ("2021_18076_phuong-bac-ha.xlsx", 1, False, True),
        ("2021_18076_phuong-bac-ha_v2.xlsx", 2, True, False),
    ]
    assert [s["received_on"] for s in subs] == [dt.date(2021, 12, 15), dt.date(2021, 12, 18)]


def test_headline_2021_and_models_across_periods(demo):
    (h,) = rows(
        demo,
        "select count(distinct unit_code) as units, sum(models_total) as total, "
        "sum(models_new) as new, sum(models_replicated) as replicated "
        "from marts.fct_annual_unit_field where year = 2021",
    )
    assert (h["units"], h["total"], h["new"], h["replicated"]) == (27, 253, 157, 96)
    (m,) = rows(
        demo,
        "select count(*) as models, count(*) filter (where is_in_annual_source) as counted "
        "from marts.fct_model_year where year = 2021",
    )
    assert (m["models"], m["counted"]) == (253, 253)
    # 2022: every model of the 2022Q1 reports first appears in 2022Q1
    assert rows(
        demo,
        "select distinct first_period_id from marts.fct_model where period_year = 2022",
    ) == [{"first_period_id": "2022Q1"}]


def test_docs_warehouse_example_queries_run_on_the_demo(demo):
    """Every ```sql block of docs/warehouse.md runs on the demo warehouse and returns rows (the
    demo has no model dropped during a year: that query alone may return none)."""
    text = (Path(__file__).parents[1] / "docs" / "warehouse.md").read_text(encoding="utf-8")
    queries = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    assert len(queries) >= 8
    results = {}
    for sql in queries:
        result = rows(demo, sql)
        assert result or "not is_in_annual_source" in sql, sql
        results[sql] = result

    def result_of(*words: str) -> list[dict]:
        (sql,) = [q for q in results if all(w in q for w in words)]
        return results[sql]

    (rate,) = result_of("from marts.fct_reporting_rate\nwhere period_id = '2021'")
    assert (rate["reporting_pct"], rate["on_time_pct"], rate["missing_unit_codes"]) == (96.4, 82.1, "CQ12")
    headline = {r["year"]: r for r in result_of("units_registered")}
    assert (headline[2021]["units_registered"], headline[2021]["models_total"]) == (27, 253)


def _generator():
    return demo_generator()


def test_reporting_rates_of_2025_and_2026_are_the_generators(demo):
    """Rule 2 in the mart: for 2025Q1 and 2025S1 the 27 units of the enlarged city and the 13
    agencies (40), for 2025Q3 and the 2025 annual report the seven new units, never an agency
    after 2025S1; received and missing units as demo/generate.py's EXPECTED_PERIODS says."""
    gen = _generator()
    rates = {r["period_id"]: r for r in rows(demo, "select * from marts.fct_reporting_rate")}
    for period_id, want in gen.EXPECTED_PERIODS.items():
        got = rates[period_id]
        assert (got["expected_units"], got["received_units"], got["unexpected_units"]) == (
            want["expected"], want["reported"], 0), period_id
        assert sorted(got["missing_unit_codes"].split("; ") if got["missing_unit_codes"] else []) == sorted(
            want["missing_units"]), (period_id, got["missing_unit_codes"])
    expected = {(r["period_id"], r["kind"]): r["n"] for r in rows(demo, """
        select period_id, case when unit_code like 'CQ%' then 'agency' else 'territorial' end as kind, count(*) as n
        from marts.fct_reporting_rate_unit
        where is_expected and period_id in ('2025Q1', '2025S1', '2025Q3', '2025')
        group by all""")}
    assert expected == {("2025Q1", "territorial"): 27, ("2025Q1", "agency"): 13,
                        ("2025S1", "territorial"): 27, ("2025S1", "agency"): 13,
                        ("2025Q3", "territorial"): 7, ("2025", "territorial"): 7}


def test_a_unit_counted_from_predecessors_on_todays_map(demo):
    """Đồng Tiến 18619 sent nothing for 2025 and is counted from its three predecessors' 2025S1
    reports (rule 3): all three reported, so its 2025 figure on today's map is provisional but
    complete; every other new unit sent its own 2025 report and is neither."""
    gen = _generator()
    today = {r["today_unit_code"]: r for r in rows(demo, "select * from marts.fct_annual_unit_today where year = 2025")}
    assert len(today) == 7
    dong_tien = today[gen.FROM_PREDECESSORS_2025]
    assert (dong_tien["is_provisional"], dong_tien["is_incomplete"], dong_tien["uncounted_parts"]) == (True, False, None)
    assert dong_tien["models_total"] > 0
    assert not any(r["is_incomplete"] or r["uncounted_parts"] for r in today.values())
