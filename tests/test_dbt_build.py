"""dbt build on a hand-made raw dataset (tests/fixtures/raw_fixture.py): the marts' contents.

dbt builds the fixture once per test run (the session fixture ``raw_fixture_build``), then once
more here on a copy: the second build (an incremental run with nothing new) must give the same
marts. Then ``dbt docs generate`` runs on the built warehouse.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from dvk.periods import parse_period
from dvk.settings import DBT_PROJECT_DIR, SEEDS_DIR, get_settings
from dvk.text import fold
from dvk.transform import build, docs, run_dbt
from tests.fixtures import raw_fixture
from tests.support.dbt_build import copy_build, read_ids, warehouse_of

# docs/architecture.md, "Marts": the contract's columns, in order; the gate and the report read
# them. Every mart starts with exactly these.
MART_COLUMNS = {
    "dim_reporting_unit": [
        "unit_code", "unit_name", "unit_kind", "parent_code", "aliases", "valid_from",
        "valid_to",
    ],
    "dim_field": ["field_code", "field_name_vi", "field_name_en", "sort_order"],
    "dim_period": [
        "period_id", "period_kind", "period_year", "label_vi", "window_start", "window_end",
        "due_date",
    ],
    "fct_submission": [
        "submission_id", "unit_code", "period_id", "period_kind", "period_year", "file_name",
        "received_at", "report_date", "version_no", "is_accepted", "models_count",
        "has_declared_totals",
    ],
    "fct_model": [
        "model_line_id", "submission_id", "unit_code", "period_id", "period_kind",
        "period_year", "line_no", "model_name", "field_code", "model_kind", "registered_on",
        "recognition_level", "households", "funds_million_vnd", "labour_days", "land_m2", "note",
    ],
    "fct_annual_unit_status": [
        "year", "unit_code", "status", "source_submission_id", "source_period_id",
    ],
    "fct_annual_unit_field": [
        "year", "unit_code", "field_code", "models_total", "models_new", "models_replicated",
        "households", "funds_million_vnd", "labour_days", "land_m2", "is_provisional",
        "source_submission_id", "source_period_id",
    ],
    "fct_submission_totals_check": [
        "submission_id", "field_code", "unit_code", "period_id", "declared_total",
        "declared_new", "declared_replicated", "computed_total", "computed_new",
        "computed_replicated", "declared_funds", "computed_funds", "fields_sum_total",
        "fields_sum_new", "fields_sum_replicated",
    ],
}

# Columns added after the contract's (docs/architecture.md lists them too), and the new marts.
ADDED_COLUMNS = {
    "dim_reporting_unit": [
        "unit_key", "is_current", "code_versions_count", "predecessor_codes", "successor_codes",
        "records_count", "previous_names",
    ],
    "dim_field": [],
    "dim_period": [
        "period_no", "period_months", "aliases_vi", "start_date", "end_date", "parent_period_id",
        "quarter_id", "half_year_id", "year_id", "period_sort_key",
    ],
    "fct_submission": [
        "versions_count", "superseded_by_submission_id", "accepted_submission_id", "received_on",
        "due_date", "is_on_time", "days_late", "loaded_at", "load_id", "unit_key",
    ],
    "fct_model": [
        "model_key", "model_name_key", "first_period_id", "loaded_at", "unit_year_loaded_at",
        "unit_key",
    ],
    "fct_annual_unit_status": [
        "unit_key", "figures_source", "predecessor_unit_codes", "uncounted_split_predecessor_codes",
        "is_expected",
    ],
    "fct_annual_unit_field": ["unit_key", "figures_source", "source_unit_key", "source_unit_code"],
    "fct_submission_totals_check": ["unit_key"],
}
NEW_MARTS = {
    "dim_reporting_unit_history": [
        "unit_key", "unit_code", "record_no", "unit_name", "unit_kind", "parent_code", "aliases",
        "valid_from", "valid_to", "recorded_from", "recorded_to", "is_current_record",
        "is_in_master_list",
    ],
    "dim_reporting_unit_year": [
        "unit_code", "year", "unit_name", "unit_kind", "is_expected", "has_data", "unit_key",
        "valid_from", "valid_to",
    ],
    "dim_date": [
        "date_day", "year", "quarter", "month", "day_of_month", "iso_year", "iso_week", "weekday",
        "weekday_vi", "is_weekend", "month_period_id", "quarter_period_id", "half_year_period_id",
        "year_period_id",
    ],
    "fct_reporting_rate_unit": [
        "period_id", "period_kind", "period_year", "unit_code", "is_expected", "has_submitted",
        "is_on_time", "status", "due_date", "first_received_on", "days_late",
        "submissions_count", "accepted_submission_id", "unit_key",
    ],
    "fct_reporting_rate": [
        "period_id", "period_kind", "period_year", "label_vi", "due_date", "expected_units",
        "received_units", "on_time_units", "missing_units", "missing_unit_codes",
        "reporting_rate", "on_time_rate", "late_units", "late_unit_codes", "unexpected_units",
    ],
    "fct_model_year": [
        "model_key", "year", "unit_code", "model_name", "model_name_key", "field_code",
        "model_kind", "first_period_id", "last_period_id", "periods_count",
        "is_in_annual_source", "is_provisional", "lines_in_last_period", "households",
        "funds_million_vnd", "labour_days", "land_m2", "unit_year_loaded_at", "unit_key",
    ],
    "fct_unit_field_ytd": [
        "unit_code", "period_id", "period_kind", "period_year", "field_code", "submission_id",
        "models_total", "models_new", "models_replicated", "households", "funds_million_vnd",
        "labour_days", "land_m2", "is_annual_source", "unit_key",
    ],
    "fct_annual_unit_source": [
        "year", "unit_key", "unit_code", "source_submission_id", "source_period_id",
        "source_period_kind", "source_unit_key", "source_unit_code", "figures_source",
        "is_provisional",
    ],
    # today's geography (reorganisations spec, rules 4-5)
    "fct_annual_unit_field_today": [
        "year", "today_unit_code", "today_unit_name", "field_code", "models_total", "models_new",
        "models_replicated", "households", "funds_million_vnd", "labour_days", "land_m2",
        "is_estimated", "is_incomplete", "is_provisional", "source_units_count", "source_units",
    ],
    "fct_annual_unit_today": [
        "year", "today_unit_code", "today_unit_name", "has_figures", "models_total", "models_new",
        "models_replicated", "households", "funds_million_vnd", "labour_days", "land_m2",
        "is_estimated", "is_incomplete", "is_provisional", "outside_parts", "source_units",
        "uncounted_parts",
    ],
}
ALL_MARTS = [*MART_COLUMNS, *NEW_MARTS]
# dim_reporting_unit_history records when the snapshot saw each version (wall clock).
CLOCK_COLUMNS = {"dim_reporting_unit_history": {"recorded_from", "recorded_to"}}


@dataclass
class Built:
    path: Path
    target_dir: Path
    ids: dict[str, str]
    first: dict
    second: dict
    seconds: list[float]
    run_results: dict

    def rows(self, sql: str, params=None) -> list[tuple]:
        with duckdb.connect(str(self.path)) as con:
            return con.execute(sql, params or []).fetchall()

    def dicts(self, sql: str, params=None) -> list[dict]:
        with duckdb.connect(str(self.path)) as con:
            cur = con.execute(sql, params or [])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]


def snapshot(path: Path, *, read_only: bool = False) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every mart's columns and sorted rows."""
    with duckdb.connect(str(path), read_only=read_only) as con:
        out = {}
        for mart in ALL_MARTS:
            cur = con.execute(f"select * from marts.{mart} order by all")
            out[mart] = ([d[0] for d in cur.description], cur.fetchall())
        return out


@pytest.fixture(scope="module")
def built(raw_fixture_build, tmp_path_factory) -> Built:
    """The first build: the shared ``raw_fixture_build`` (tests/conftest.py, read-only); the second
    build runs on a copy of it, which the tests then read."""
    first_path = warehouse_of(raw_fixture_build)
    first = snapshot(first_path, read_only=True)
    first_results = json.loads((first_path.parent / "dbt_target" / "run_results.json").read_text(encoding="utf-8"))
    path = copy_build(raw_fixture_build, tmp_path_factory.mktemp("dbt_build") / "build")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DVK_WAREHOUSE", str(path))
        mp.setenv("DVK_REPORTS_DIR", str(path.parent.parent / "reports"))
        mp.delenv("DVK_DUE_GRACE_DAYS", raising=False)
        started = time.perf_counter()
        build(unit_tests=False)  # dbt's unit tests ran in the first build (test_dbt_unit_tests_ran_in_the_build)
        seconds = [time.perf_counter() - started]
        second = snapshot(path)
        target_dir = get_settings().dbt_target_dir
    print(f"second dbt build: {seconds[0]:.1f}s")
    return Built(path, target_dir, read_ids(raw_fixture_build), first, second, seconds, first_results)


def expected_units(year: int) -> set[str]:
    """Rule 2: the units of the seed valid on 14 December of the year."""
    day = date(year, 12, 14).isoformat()
    with open(SEEDS_DIR / "reporting_units.csv", encoding="utf-8") as f:
        return {
            row["code"]
            for row in csv.DictReader(f)
            if row["valid_from"] <= day and (not row["valid_to"] or row["valid_to"] > day)
        }


def test_mart_columns_match_the_contract(built):
    for mart, columns in MART_COLUMNS.items():
        got = built.first[mart][0]
        assert got[: len(columns)] == columns, mart
        assert got == columns + ADDED_COLUMNS[mart], mart
    for mart, columns in NEW_MARTS.items():
        assert built.first[mart][0] == columns, mart


def test_architecture_doc_lists_every_mart_and_added_column():
    text = (DBT_PROJECT_DIR.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    marts = text[text.index("## Marts"):]
    for mart in ALL_MARTS:
        assert f"`{mart}`" in marts, mart
    for mart, columns in {**ADDED_COLUMNS, **NEW_MARTS}.items():
        for column in columns:
            assert f"`{column}`" in marts, (mart, column)


def test_schemas_and_materialisations(built):
    kinds = dict(
        ((schema, name), kind)
        for schema, name, kind in built.rows(
            "select table_schema, table_name, table_type from information_schema.tables"
        )
    )
    schemas = {schema for schema, _ in kinds}
    assert {"raw", "seeds", "staging", "intermediate", "marts"} <= schemas
    assert not any(s.startswith("main_") for s in schemas)
    assert kinds[("seeds", "reporting_units")] == "BASE TABLE"
    assert kinds[("staging", "stg_raw__submissions")] == "VIEW"
    assert kinds[("intermediate", "int_submissions_versioned")] == "VIEW"
    for mart in ALL_MARTS:
        assert kinds[("marts", mart)] == "BASE TABLE"
    assert kinds[("snapshots", "snp_reporting_units")] == "BASE TABLE"


def test_dbt_artifacts_live_beside_the_warehouse(built):
    assert built.target_dir == built.path.parent / "dbt_target"
    assert (built.target_dir / "manifest.json").exists()
    assert (built.target_dir / "logs" / "dbt.log").exists()
    assert not (DBT_PROJECT_DIR / "target").exists()
    assert not (DBT_PROJECT_DIR / "logs").exists()


def test_exposure_annual_report(built):
    manifest = json.loads((built.target_dir / "manifest.json").read_text(encoding="utf-8"))
    exposure = manifest["exposures"]["exposure.dvk.annual_report"]
    assert exposure["type"] in ("analysis", "dashboard")
    assert set(exposure["depends_on"]["nodes"]) == {
        f"model.dvk.{name}"
        for name in (
            "fct_annual_unit_field", "fct_annual_unit_status", "fct_annual_unit_source", "fct_model",
            "dim_reporting_unit", "dim_field", "fct_submission_totals_check",
            "fct_annual_unit_today",
        )
    }
    today = manifest["exposures"]["exposure.dvk.todays_geography_for_analysts"]
    assert set(today["depends_on"]["nodes"]) == {
        "model.dvk.fct_annual_unit_field_today", "model.dvk.fct_annual_unit_today"}


def test_second_build_gives_identical_marts(built):
    assert built.first == built.second
    assert built.first["fct_submission"][1], "the fixture has submissions"


def test_dims(built):
    units = built.dicts(
        "select unit_code, unit_name, unit_kind, parent_code, aliases, valid_from, valid_to, is_current, "
        "code_versions_count, predecessor_codes, successor_codes "
        "from marts.dim_reporting_unit where unit_code = '18103' order by valid_from"
    )
    assert units == [
        {"unit_code": "18103", "unit_name": "Xã Thạch Môn", "unit_kind": "xa", "parent_code": "436",
         "aliases": None, "valid_from": date(2019, 1, 1), "valid_to": date(2020, 1, 1), "is_current": False,
         "code_versions_count": 3, "predecessor_codes": None, "successor_codes": "18103"},
        {"unit_code": "18103", "unit_name": "Xã Đồng Môn", "unit_kind": "xa", "parent_code": "436",
         "aliases": "Xã Thạch Môn; Xã Thạch Đồng", "valid_from": date(2020, 1, 1), "valid_to": date(2025, 1, 1),
         "is_current": False, "code_versions_count": 3, "predecessor_codes": "18103; 18106",
         "successor_codes": "18103"},
        {"unit_code": "18103", "unit_name": "Phường Đồng Môn", "unit_kind": "phuong", "parent_code": "436",
         "aliases": "Xã Đồng Môn; Xã Thạch Môn; Xã Thạch Đồng", "valid_from": date(2025, 1, 1),
         "valid_to": date(2025, 7, 1), "is_current": False, "code_versions_count": 3,
         "predecessor_codes": "18103", "successor_codes": "18100"},
    ]
    keys = built.rows("select unit_key, md5(unit_code || '|' || cast(valid_from as varchar)) "
                      "from marts.dim_reporting_unit")
    assert all(key == expected for key, expected in keys)
    thanh_sen = built.dicts("select * from marts.dim_reporting_unit where unit_code = '18073' and is_current")
    assert [u["unit_name"] for u in thanh_sen] == ["Phường Thành Sen"]
    assert thanh_sen[0]["predecessor_codes"] == "18073; 18077; 18079; 18082; 18085; 18091; 18094; 18097; 18109"
    assert built.rows("select field_code from marts.dim_field order by sort_order") == [
        ("KT",), ("VHXH",), ("QPAN",), ("XDD",)
    ]


def test_submission_versions(built):
    ids = built.ids
    got = {
        row["submission_id"]: (row["version_no"], row["is_accepted"])
        for row in built.dicts("select * from marts.fct_submission")
    }
    assert len(got) == len(raw_fixture.SUBMISSIONS)
    # the correction wins by its report date although it was received earlier
    assert got[ids["u1_2021_old"]] == (1, False)
    assert got[ids["u1_2021_new"]] == (2, True)
    # same report date: received_at decides, then submission_id
    b, c = sorted([ids["u4_2021_b"], ids["u4_2021_c"]])
    assert got[ids["u4_2021_a"]] == (1, False)
    assert got[b] == (2, False)
    assert got[c] == (3, True)
    assert got[ids["u2_2021q2"]] == (1, True)
    assert got[ids["u2_2021q3"]] == (1, True)
    row = built.dicts(
        "select * from marts.fct_submission where submission_id = ?", [ids["u1_2021_new"]]
    )[0]
    assert row["models_count"] == 4
    assert row["has_declared_totals"] is True
    assert row["period_kind"] == "year" and row["period_year"] == 2021
    assert row["report_date"] == date(2021, 12, 16)


def test_fct_model_has_only_accepted_lines(built):
    accepted = {
        sid for (sid,) in built.rows("select submission_id from marts.fct_submission where is_accepted")
    }
    lines = built.rows("select submission_id, count(*) from marts.fct_model group by all")
    assert {sid for sid, _ in lines} <= accepted
    name_of = {v: k for k, v in built.ids.items()}
    assert {name_of[sid]: n for sid, n in lines} == {
        name_of[sid]: len(raw_fixture.MODELS[name_of[sid]])
        for sid in accepted
        if raw_fixture.MODELS[name_of[sid]]
    }
    assert built.ids["u1_2021_old"] not in {sid for sid, _ in lines}
    row = built.dicts(
        "select * from marts.fct_model where model_line_id = ?", [built.ids["u1_2021_new"] + "-1"]
    )[0]
    assert row["unit_code"] == "18070" and row["period_id"] == "2021" and row["line_no"] == 1
    assert (row["field_code"], row["model_kind"], row["households"], row["funds_million_vnd"]) == (
        "KT", "new", 120, 250.5
    )


def test_annual_unit_status(built):
    ids = built.ids
    status = {
        (r["year"], r["unit_code"]): (r["status"], r["source_submission_id"], r["source_period_id"])
        for r in built.dicts("select * from marts.fct_annual_unit_status")
    }
    assert {year for year, _ in status} == {2021, 2022}
    for year in (2021, 2022):
        assert {unit for y, unit in status if y == year} == expected_units(year)
    assert status[(2021, "18070")] == ("reported", ids["u1_2021_new"], "2021")
    assert status[(2021, "18076")] == ("reported", ids["u4_2021_c"], "2021")
    assert status[(2021, "18079")] == ("reported", ids["u5_2021"], "2021")
    assert status[(2021, "18082")] == ("reported", ids["u6_2021"], "2021")
    assert status[(2021, "18073")] == ("provisional", ids["u2_2021q3"], "2021Q3")
    assert status[(2021, "18077")] == ("missing", None, None)
    assert status[(2022, "18070")] == ("provisional", ids["u1_2022q1"], "2022Q1")
    assert status[(2022, "18073")] == ("missing", None, None)
    counts = dict(
        ((year, s), n)
        for year, s, n in built.rows(
            "select year, status, count(*) from marts.fct_annual_unit_status group by all"
        )
    )
    assert counts[(2021, "reported")] == 6
    assert counts[(2021, "provisional")] == 1
    assert counts[(2021, "missing")] == len(expected_units(2021)) - 7


def test_annual_unit_field(built):
    rows = {
        (r["year"], r["unit_code"], r["field_code"]): r
        for r in built.dicts("select * from marts.fct_annual_unit_field")
    }
    assert set(rows) == {
        (2021, "18070", "KT"), (2021, "18070", "VHXH"), (2021, "18070", "XDD"),
        (2021, "18073", "QPAN"), (2021, "18073", "VHXH"),
        (2021, "18076", "KT"),
        (2021, "18079", "KT"), (2021, "18079", "VHXH"), (2021, "18079", "XDD"),
        (2021, "18085", "VHXH"), (2021, "18088", "KT"),
        (2022, "18070", "KT"),
    }

    def counts(key):
        r = rows[key]
        return r["models_total"], r["models_new"], r["models_replicated"]

    assert counts((2021, "18070", "KT")) == (2, 1, 1)
    assert counts((2021, "18070", "VHXH")) == (1, 1, 0)
    assert counts((2021, "18070", "XDD")) == (1, 0, 1)
    assert counts((2021, "18073", "QPAN")) == (2, 1, 1)
    assert counts((2021, "18076", "KT")) == (3, 3, 0)
    assert counts((2021, "18079", "KT")) == (2, 2, 0)
    kt = rows[(2021, "18070", "KT")]
    assert (kt["households"], kt["funds_million_vnd"], kt["labour_days"], kt["land_m2"]) == (
        200, 350.5, 450, 1500.0
    )
    assert kt["is_provisional"] is False
    assert kt["source_submission_id"] == built.ids["u1_2021_new"]
    assert kt["source_period_id"] == "2021"
    q = rows[(2021, "18073", "QPAN")]
    assert q["is_provisional"] is True and q["source_period_id"] == "2021Q3"
    assert q["source_submission_id"] == built.ids["u2_2021q3"]
    ytd = {
        (r["period_id"], r["field_code"]): r
        for r in built.dicts("select * from marts.fct_unit_field_ytd where unit_code = '18073'")
    }
    # year to date: the 2021Q3 report lists the 2021Q2 model again; its figures replace 2021Q2's
    assert (ytd[("2021Q2", "QPAN")]["households"], ytd[("2021Q2", "QPAN")]["is_annual_source"]) == (7, False)
    assert (ytd[("2021Q3", "QPAN")]["households"], ytd[("2021Q3", "QPAN")]["is_annual_source"]) == (10, True)
    assert (q["households"], q["labour_days"], q["funds_million_vnd"]) == (7 + 3, 14 + 6, 2.0)
    assert rows[(2022, "18070", "KT")]["is_provisional"] is True
    (total, new, replicated), = built.rows(
        "select sum(models_total), sum(models_new), sum(models_replicated) "
        "from marts.fct_annual_unit_field where year = 2021"
    )
    assert (total, new, replicated) == (
        4 + 3 + 3 + 4 + 1 + 1, 2 + 1 + 3 + 3 + 1 + 0, 2 + 2 + 0 + 1 + 0 + 1
    )


def test_submission_totals_check(built):
    ids = built.ids
    rows = {
        (r["submission_id"], r["field_code"]): r
        for r in built.dicts("select * from marts.fct_submission_totals_check")
    }
    # accepted submissions with declared totals only
    assert {sid for sid, _ in rows} == {
        ids["u1_2021_new"], ids["u1_2022q1"], ids["u5_2021"], ids["u6_2021"]
    }

    def values(sid, field, *names):
        return tuple(rows[(sid, field)][n] for n in names)

    declared = ("declared_total", "declared_new", "declared_replicated")
    computed = ("computed_total", "computed_new", "computed_replicated")
    fields_sum = ("fields_sum_total", "fields_sum_new", "fields_sum_replicated")
    u5 = ids["u5_2021"]
    assert {f for sid, f in rows if sid == u5} == {"KT", "VHXH", "XDD", "TOTAL"}
    assert values(u5, "KT", *declared) == (3, 2, 1)
    assert values(u5, "KT", *computed) == (2, 2, 0)
    assert values(u5, "KT", "declared_funds", "computed_funds") == (15.0, 15.0)
    assert values(u5, "VHXH", *declared) == values(u5, "VHXH", *computed) == (1, 0, 1)
    assert values(u5, "XDD", *declared) == (None, None, None)  # row left out of the sheet
    assert values(u5, "XDD", *computed) == (1, 1, 0)
    assert values(u5, "TOTAL", *declared) == (5, 3, 2)
    assert values(u5, "TOTAL", *computed) == (4, 3, 1)
    assert values(u5, "TOTAL", *fields_sum) == (4, 2, 2)
    assert values(u5, "TOTAL", "declared_funds", "computed_funds") == (20.0, 17.5)
    assert values(u5, "KT", *fields_sum) == (None, None, None)
    assert values(u5, "TOTAL", "unit_code", "period_id") == ("18079", "2021")

    u1 = ids["u1_2021_new"]
    assert {f for sid, f in rows if sid == u1} == {"KT", "VHXH", "QPAN", "XDD", "TOTAL"}
    for field in ("KT", "VHXH", "QPAN", "XDD", "TOTAL"):
        assert values(u1, field, *declared) == values(u1, field, *computed), field
    assert values(u1, "TOTAL", *fields_sum) == (4, 2, 2)
    assert values(u1, "TOTAL", "declared_funds", "computed_funds") == (362.75, 362.75)

    u6 = ids["u6_2021"]
    assert {f for sid, f in rows if sid == u6} == {"TOTAL"}
    assert values(u6, "TOTAL", *declared) == values(u6, "TOTAL", *computed) == (0, 0, 0)


def test_no_personal_data_in_marts(built):
    columns = built.rows(
        "select table_schema, table_name, column_name from information_schema.columns"
    )
    assert ("staging", "stg_raw__submissions", "preparer_name") in columns
    leaked = [
        c for c in columns
        if c[0] in ("marts", "intermediate") and c[2].lower().startswith("preparer")
    ]
    assert leaked == []
    personal = {"Nguyễn Văn A", "0912 345 678"}
    for mart, (_, rows) in built.second.items():
        assert not personal & {v for row in rows for v in row if isinstance(v, str)}, mart


def test_dim_period(built):
    periods = {r["period_id"]: r for r in built.dicts("select * from marts.dim_period")}
    per_year = {}
    for r in periods.values():
        per_year[r["period_year"]] = per_year.get(r["period_year"], 0) + 1
    assert per_year == {2021: 19, 2022: 19}

    def window(pid):
        r = periods[pid]
        return r["window_start"], r["window_end"], r["due_date"]

    assert window("2021") == (date(2020, 12, 15), date(2021, 12, 14), date(2021, 12, 19))
    assert window("2022Q1") == (date(2021, 12, 15), date(2022, 3, 14), date(2022, 3, 19))
    assert window("2022S1") == (date(2021, 12, 15), date(2022, 6, 14), date(2022, 6, 19))
    assert window("2022S2") == (date(2022, 6, 15), date(2022, 12, 14), date(2022, 12, 19))
    assert window("2021Q4") == (date(2021, 9, 15), date(2021, 12, 14), date(2021, 12, 19))
    assert window("202203") == (date(2022, 2, 15), date(2022, 3, 14), date(2022, 3, 19))
    assert window("202201") == (date(2021, 12, 15), date(2022, 1, 14), date(2022, 1, 19))
    assert {pid: periods[pid]["label_vi"] for pid in ("2021", "2022Q1", "2022S1", "2022S2", "202203")} == {
        "2021": "Năm 2021",
        "2022Q1": "Quý I/2022",
        "2022S1": "6 tháng đầu năm 2022",
        "2022S2": "6 tháng cuối năm 2022",
        "202203": "Tháng 3/2022",
    }
    assert {(r["period_kind"]) for r in periods.values()} == {"year", "half_year", "quarter", "month"}
    assert periods["2021Q3"]["period_kind"] == "quarter" and periods["2021Q3"]["period_year"] == 2021


def test_submission_timeliness_and_supersession(built):
    ids = built.ids
    rows = {r["submission_id"]: r for r in built.dicts("select * from marts.fct_submission")}

    def get(name, *cols):
        return tuple(rows[ids[name]][c] for c in cols)

    timing = ("received_on", "due_date", "is_on_time", "days_late")
    # 17:30 UTC on the due date is 00:30 on 20 Dec in Hà Tĩnh: late
    assert get("u7_2021", *timing) == (date(2021, 12, 20), date(2021, 12, 19), False, 1)
    # no arrival time: the report date (18 Dec) decides
    assert get("u8_2021", *timing) == (None, date(2021, 12, 19), True, 0)
    assert get("u5_2021", *timing) == (date(2021, 12, 14), date(2021, 12, 19), True, 0)
    chain = ("versions_count", "superseded_by_submission_id", "accepted_submission_id")
    assert get("u1_2021_old", *chain) == (2, ids["u1_2021_new"], ids["u1_2021_new"])
    assert get("u1_2021_new", *chain) == (2, None, ids["u1_2021_new"])
    b, c = sorted([ids["u4_2021_b"], ids["u4_2021_c"]])
    assert get("u4_2021_a", *chain) == (3, b, c)
    assert rows[b]["superseded_by_submission_id"] == c
    assert get("u2_2021q3", *chain) == (1, None, ids["u2_2021q3"])
    assert get("u1_2021_new", "loaded_at", "load_id") == (datetime(2022, 3, 20, 1, 0), raw_fixture.LOAD_ID)


def test_reporting_rate(built):
    rates = {r["period_id"]: r for r in built.dicts("select * from marts.fct_reporting_rate")}
    assert set(rates) == {"2021", "2021Q2", "2021Q3", "2022", "2022Q1"}
    reported_2021 = {"18070", "18076", "18079", "18082", "18085", "18088"}
    r = rates["2021"]
    assert (r["expected_units"], r["received_units"], r["on_time_units"], r["missing_units"]) == (
        28, 6, 5, 22
    )
    assert r["missing_unit_codes"] == "; ".join(sorted(expected_units(2021) - reported_2021))
    assert (r["late_units"], r["late_unit_codes"], r["unexpected_units"]) == (1, "18085", 0)
    assert (r["reporting_rate"], r["on_time_rate"]) == (round(6 / 28, 4), round(5 / 28, 4))
    assert (r["period_kind"], r["period_year"], r["label_vi"], r["due_date"]) == (
        "year", 2021, "Năm 2021", date(2021, 12, 19)
    )
    for pid, unit in (("2021Q2", "18073"), ("2021Q3", "18073"), ("2022Q1", "18070")):
        r = rates[pid]
        assert (r["expected_units"], r["received_units"], r["on_time_units"], r["missing_units"]) == (
            28, 1, 1, 27
        ), pid
        assert unit not in r["missing_unit_codes"].split("; ")
    # a covered year without any annual report: every expected unit is missing
    r = rates["2022"]
    assert (r["received_units"], r["missing_units"], r["reporting_rate"], r["on_time_rate"]) == (
        0, 28, 0.0, 0.0
    )
    units = {
        (r["period_id"], r["unit_code"]): r
        for r in built.dicts("select * from marts.fct_reporting_rate_unit")
    }
    assert len(units) == 5 * 28
    late = units[("2021", "18085")]
    assert (late["status"], late["first_received_on"], late["days_late"]) == (
        "late", date(2021, 12, 20), 1
    )
    corrected = units[("2021", "18070")]
    assert (corrected["status"], corrected["submissions_count"], corrected["accepted_submission_id"]) == (
        "on_time", 2, built.ids["u1_2021_new"]
    )
    assert units[("2021", "18077")]["status"] == "missing"


def test_model_identity_across_periods(built):
    lines = built.dicts("select * from marts.fct_model")
    for line in lines:
        assert line["model_name_key"] == fold(line["model_name"]), line["model_name"]
        assert line["model_key"] == hashlib.md5(
            f"{line['unit_code']}|{line['period_year']}|{line['model_name_key']}".encode()
        ).hexdigest()
    by_id = {line["model_line_id"]: line for line in lines}
    q2 = by_id[built.ids["u2_2021q2"] + "-1"]
    q3 = by_id[built.ids["u2_2021q3"] + "-1"]
    assert (q2["model_name"], q3["model_name"]) == ("Tổ dân phố mẫu", "TỔ DÂN PHỐ  MẪU.")
    assert q2["model_key"] == q3["model_key"]
    assert q2["first_period_id"] == q3["first_period_id"] == "2021Q2"
    assert by_id[built.ids["u2_2021q3"] + "-2"]["first_period_id"] == "2021Q3"
    assert by_id[built.ids["u7_2021"] + "-1"]["model_name_key"] == "duong hoa xanh sach mau"
    years = {
        r["model_name_key"]: r
        for r in built.dicts("select * from marts.fct_model_year where unit_code = '18073'")
    }
    assert set(years) == {"to dan pho mau", "camera giam sat an ninh", "duong hoa nong thon"}
    tdp = years["to dan pho mau"]
    assert (tdp["first_period_id"], tdp["last_period_id"], tdp["periods_count"]) == ("2021Q2", "2021Q3", 2)
    assert (tdp["model_name"], tdp["households"], tdp["labour_days"]) == ("TỔ DÂN PHỐ  MẪU.", 7, 14)
    assert (tdp["is_in_annual_source"], tdp["is_provisional"], tdp["year"]) == (True, True, 2021)
    (n_models,) = built.rows("select count(*) from marts.fct_model_year where year = 2021")[0]
    (n_annual,) = built.rows(
        "select sum(models_total) from marts.fct_annual_unit_field where year = 2021"
    )[0]
    (n_lines,) = built.rows("select count(*) from marts.fct_model where period_year = 2021")[0]
    # 18073's 2021Q2 model is one of its 2021Q3 models: 17 accepted lines, 16 models, all counted
    assert (n_lines, n_models, n_annual) == (17, 16, 16)


def test_dim_period_written_forms_and_parents(built):
    periods = built.dicts("select * from marts.dim_period")
    for p in periods:
        forms = [p["label_vi"], *p["aliases_vi"].split("; ")]
        assert len(forms) >= 3, p["period_id"]
        for form in forms:
            assert parse_period(form, today=date(9999, 1, 1)).id == p["period_id"], form
    by_id = {p["period_id"]: p for p in periods}
    assert [by_id["202205"][c] for c in ("parent_period_id", "quarter_id", "half_year_id", "year_id")] == [
        "2022Q2", "2022Q2", "2022S1", "2022"
    ]
    assert [by_id["2022Q3"][c] for c in ("parent_period_id", "quarter_id", "half_year_id", "year_id")] == [
        "2022S2", "2022Q3", "2022S2", "2022"
    ]
    assert [by_id["2021S2"][c] for c in ("parent_period_id", "quarter_id", "half_year_id", "year_id")] == [
        "2021", None, "2021S2", "2021"
    ]
    assert (by_id["2021"]["parent_period_id"], by_id["2021"]["year_id"]) == (None, "2021")
    assert (by_id["2022Q1"]["start_date"], by_id["2022Q1"]["end_date"]) == (date(2022, 1, 1), date(2022, 3, 31))
    ordered = [p["period_id"] for p in sorted(periods, key=lambda p: p["period_sort_key"])]
    assert ordered.index("202203") < ordered.index("2022Q1") < ordered.index("202204")
    assert ordered.index("2022Q2") < ordered.index("2022S1") < ordered.index("202207")


def test_dim_date(built):
    days = {r["date_day"]: r for r in built.dicts("select * from marts.dim_date")}
    assert min(days) == date(2020, 12, 15) and max(days) == date(2022, 12, 31)
    assert len(days) == (date(2022, 12, 31) - date(2020, 12, 15)).days + 1

    def ids(day):
        r = days[day]
        return r["month_period_id"], r["quarter_period_id"], r["half_year_period_id"], r["year_period_id"]

    assert ids(date(2021, 12, 14)) == ("202112", "2021Q4", "2021S2", "2021")
    assert ids(date(2021, 12, 15)) == ("202201", "2022Q1", "2022S1", "2022")
    assert ids(date(2022, 6, 14)) == ("202206", "2022Q2", "2022S1", "2022")
    assert ids(date(2022, 6, 15)) == ("202207", "2022Q3", "2022S2", "2022")
    due = days[date(2021, 12, 19)]
    assert (due["weekday"], due["weekday_vi"], due["is_weekend"], due["iso_week"]) == (7, "Chủ nhật", True, 50)
    assert (due["year"], due["quarter"], due["month"], due["day_of_month"]) == (2021, 4, 12, 19)


def test_units_with_history(built):
    history = built.dicts("select * from marts.dim_reporting_unit_history")
    units = built.dicts("select * from marts.dim_reporting_unit")
    assert len(history) == len(units) == 57  # every version of the seed, recorded once
    assert all(h["record_no"] == 1 and h["is_current_record"] and h["is_in_master_list"] for h in history)
    assert all(u["records_count"] == 1 and u["previous_names"] is None for u in units)
    years = built.dicts("select * from marts.dim_reporting_unit_year")
    assert {y["year"] for y in years} == {2021, 2022}  # the years with data
    assert len(years) == 2 * 28
    for year in (2021, 2022):
        assert {y["unit_code"] for y in years if y["year"] == year and y["is_expected"]} == expected_units(year)
    assert all(y["has_data"] for y in years)


def test_dbt_unit_tests_ran_in_the_build(built):
    unit_tests = {
        r["unique_id"].rsplit(".", 1)[-1]: r["status"]
        for r in built.run_results["results"]
        if r["unique_id"].startswith("unit_test.")
    }
    assert unit_tests == {
        name: "pass"
        for name in (
            "ut_versions_supersession_and_out_of_order_corrections",
            "ut_on_time_flag_local_date_and_report_date",
            "ut_period_windows_due_dates_and_parents",
            "ut_period_due_dates_follow_the_grace_var",
            "ut_annual_source_provisional_units",
            "ut_annual_status_provisional_and_missing_units",
            "ut_unit_field_measures_count_each_submission_once",
            "ut_chk_ytd_progression_pairs_consecutive_reports_per_field",
            "ut_chk_reconciliation_matches_mart_and_recount_per_figure",
            "ut_model_key_and_first_period_full_refresh",
            "ut_model_incremental_run_replaces_touched_unit_years",
            "ut_model_year_latest_figures_replace_earlier_ones",
            "ut_reporting_rate_unit_on_time_first_submission",
            "ut_reporting_rate_summary",
            "ut_unit_year_names_and_expected_years",
            "ut_annual_source_year_of_change_rule3",
            "ut_unit_versions_from_reused_codes",
            "ut_today_map_follows_the_chain_and_multiplies_shares",
            "ut_coverage_marks_years_with_parts_outside",
            "ut_today_figures_are_shared_and_conserved",
        )
    }
    statuses = {r["status"] for r in built.run_results["results"]}
    assert statuses <= {"pass", "success", "no-op"}, statuses


@pytest.fixture(scope="module")
def docs_site(built):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DVK_WAREHOUSE", str(built.path))
        mp.delenv("DVK_DUE_GRACE_DAYS", raising=False)
        index = docs()
    return index


def test_docs_generate_writes_the_site(built, docs_site):
    assert docs_site == built.target_dir / "index.html"
    for name in ("index.html", "catalog.json", "manifest.json", "static_index.html"):
        assert (built.target_dir / name).stat().st_size > 0, name
    catalog = json.loads((built.target_dir / "catalog.json").read_text(encoding="utf-8"))
    assert {f"model.dvk.{mart}" for mart in ALL_MARTS} <= set(catalog["nodes"])


def test_every_model_and_column_is_described(built, docs_site):
    manifest = json.loads((built.target_dir / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((built.target_dir / "catalog.json").read_text(encoding="utf-8"))
    nodes = {**manifest["nodes"], **manifest["sources"]}
    undescribed = []
    checked = 0
    for uid, node in nodes.items():
        if node["resource_type"] not in ("model", "seed", "snapshot", "source"):
            continue
        checked += 1
        if not (node.get("description") or "").strip():
            undescribed.append(uid)
        built_columns = (catalog["nodes"].get(uid) or catalog["sources"].get(uid) or {}).get("columns", {})
        assert built_columns, uid
        for column in built_columns:
            if not (node["columns"].get(column.lower(), {}).get("description") or "").strip():
                undescribed.append(f"{uid}.{column}")
    assert checked >= 30
    assert undescribed == []


# ---------------------------------------------------------------------------------------------
# Incremental facts: a second load, an incremental build, then a full refresh of the same data.

LOAD_2 = "7d1c2e9a-0000-4c1e-8b5b-2a5d3e4f5a62"
LOADED_2 = datetime(2022, 4, 1, 8, 0)
SECOND_LOAD = {
    # 18073 sends its annual report: no longer provisional; its 2021Q2 model keeps first period 2021Q2
    "u2_2021": (("18073", "2021", "year", 2021, "csv", date(2021, 12, 18),
                 datetime(2021, 12, 18, 2, 0), False),
                [("QPAN", "replicated", 9, None, 16, None, "Tổ dân phố mẫu"),
                 ("QPAN", "replicated", 3, 2.0, 6, None, "Camera giám sát an ninh"),
                 ("VHXH", "replicated", None, 1.0, None, 25.5, "Đường hoa nông thôn"),
                 ("KT", "new", 20, 15.0, 30, 50.0, "Sân chơi thiếu nhi")], []),
    # an older report of 18070 (signed 9 Dec) arrives late: it must not win
    "u1_2021_older": (("18070", "2021", "year", 2021, "xlsx", date(2021, 12, 9),
                       datetime(2021, 12, 25, 8, 0), False),
                      [("KT", "new", 1, 1.0, 1, None)], []),
    # 18079 corrects its annual report with one that has no model at all (an empty partition)
    "u5_2021_fix": (("18079", "2021", "year", 2021, "xlsx", date(2021, 12, 20),
                     datetime(2021, 12, 21, 3, 0), True),
                    [], [("TOTAL", 0, 0, 0, None)]),
    # a new unit-year
    "u9_2022q1": (("CQ07", "2022Q1", "quarter", 2022, "csv", date(2022, 3, 14),
                   datetime(2022, 3, 14, 9, 0), False),
                  [("QPAN", "new", None, None, 40, None, "Camera an ninh khu dân cư")], []),
}
MARKER = "not rebuilt by the incremental run"


@dataclass
class Incremental:
    path: Path
    ids: dict[str, str]
    marked_after: dict[str, int]
    incremental: dict
    full_refresh: dict

    def dicts(self, sql: str, params=None) -> list[dict]:
        with duckdb.connect(str(self.path)) as con:
            cur = con.execute(sql, params or [])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]


@pytest.fixture(scope="module")
def incremental(built, tmp_path_factory) -> Incremental:
    root = tmp_path_factory.mktemp("dbt_incremental")
    path = root / "warehouse" / "dvk.duckdb"
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(built.path)) as con:
        con.execute("checkpoint")  # dbt-duckdb may still hold the database: flush its WAL
    path.write_bytes(built.path.read_bytes())
    ids = dict(built.ids)
    with duckdb.connect(str(path)) as con:
        raw_fixture.insert_load(con, LOAD_2, LOADED_2, len(SECOND_LOAD))
        for name, (submission, models, declared) in SECOND_LOAD.items():
            ids[name] = raw_fixture.insert_submission(
                con, name, submission, models, declared, loaded_at=LOADED_2, load_id=LOAD_2
            )
        # mark every line, to see which unit-years the incremental run rewrites
        con.execute("update marts.fct_model set note = ?", [MARKER])
        # history of the list's edits: as if the snapshot had recorded the 2020 version of 18103
        # as "Xã Đồng Môn (Thạch Môn)" in 2021, corrected to the list's name on 1 June 2022
        key = hashlib.md5(b"18103|2020-01-01").hexdigest()
        con.execute(
            "update snapshots.snp_reporting_units set dbt_valid_from = timestamp '2022-06-01' "
            "where unit_key = ?", [key]
        )
        con.execute(
            "insert into snapshots.snp_reporting_units (unit_key, unit_code, unit_name, unit_kind, "
            "parent_code, aliases, valid_from, valid_to, is_current, dbt_scd_id, dbt_updated_at, "
            "dbt_valid_from, dbt_valid_to) "
            "values (?, '18103', 'Xã Đồng Môn (Thạch Môn)', 'xa', '436', null, date '2020-01-01', "
            "date '2025-01-01', false, 'old-18103', timestamp '2021-01-01', timestamp '2021-01-01', "
            "timestamp '2022-06-01')", [key]
        )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DVK_WAREHOUSE", str(path))
        mp.delenv("DVK_DUE_GRACE_DAYS", raising=False)
        build(unit_tests=False)
        with duckdb.connect(str(path)) as con:
            marked_after = dict(con.execute(
                "select unit_code || '/' || period_year, count(*) from marts.fct_model "
                "where note = ? group by all", [MARKER]).fetchall())
            con.execute("update marts.fct_model set note = null where note = ?", [MARKER])
        after_incremental = snapshot(path)
        # rebuild the incremental facts and what reads them from scratch (the rest is unchanged)
        run_dbt(["run", "--full-refresh", "--select", "fct_model+"])
        after_full_refresh = snapshot(path)
    return Incremental(path, ids, marked_after, after_incremental, after_full_refresh)


def test_incremental_run_rewrites_only_the_touched_unit_years(incremental):
    # 18070/2021, 18073/2021, 18079/2021 and CQ07/2022 had new submissions; the others kept
    # their rows as they were
    assert incremental.marked_after == {"18076/2021": 3, "18085/2021": 1, "18088/2021": 1, "18070/2022": 1}


def test_incremental_and_full_refresh_give_identical_marts(incremental):
    for mart in ALL_MARTS:
        assert incremental.incremental[mart] == incremental.full_refresh[mart], mart


def test_incremental_run_applies_corrections(incremental):
    ids = incremental.ids
    lines = incremental.dicts("select * from marts.fct_model")
    by_unit_year = {}
    for line in lines:
        by_unit_year.setdefault((line["unit_code"], line["period_year"]), set()).add(line["submission_id"])
    # the late older report did not win; the correction with no model emptied 18079's year
    assert by_unit_year[("18070", 2021)] == {ids["u1_2021_new"]}
    assert ("18079", 2021) not in by_unit_year
    assert by_unit_year[("CQ07", 2022)] == {ids["u9_2022q1"]}
    assert by_unit_year[("18073", 2021)] == {ids["u2_2021q2"], ids["u2_2021q3"], ids["u2_2021"]}
    versions = {
        r["submission_id"]: (r["version_no"], r["is_accepted"], r["is_on_time"])
        for r in incremental.dicts("select * from marts.fct_submission where unit_code = '18070' and period_id = '2021'")
    }
    assert versions == {
        ids["u1_2021_older"]: (1, False, False),
        ids["u1_2021_old"]: (2, False, True),
        ids["u1_2021_new"]: (3, True, True),
    }
    status = {
        r["unit_code"]: (r["status"], r["source_submission_id"])
        for r in incremental.dicts("select * from marts.fct_annual_unit_status where year = 2021")
    }
    assert status["18073"] == ("reported", ids["u2_2021"])
    assert status["18079"] == ("reported", ids["u5_2021_fix"])
    assert not incremental.dicts("select * from marts.fct_annual_unit_field where unit_code = '18079'")
    years = {
        r["model_name_key"]: r
        for r in incremental.dicts("select * from marts.fct_model_year where unit_code = '18073'")
    }
    assert (years["to dan pho mau"]["first_period_id"], years["to dan pho mau"]["last_period_id"]) == (
        "2021Q2", "2021"
    )
    assert (years["to dan pho mau"]["households"], years["to dan pho mau"]["is_provisional"]) == (9, False)
    assert years["san choi thieu nhi"]["first_period_id"] == "2021"
    rate = incremental.dicts("select * from marts.fct_reporting_rate where period_id = '2021'")[0]
    assert (rate["received_units"], rate["on_time_units"], rate["late_unit_codes"]) == (7, 6, "18085")


def test_unit_renamed_in_the_history(incremental):
    key = hashlib.md5(b"18103|2020-01-01").hexdigest()
    history = incremental.dicts(
        "select * from marts.dim_reporting_unit_history where unit_key = ? order by record_no", [key]
    )
    assert [(h["record_no"], h["unit_name"], h["is_current_record"]) for h in history] == [
        (1, "Xã Đồng Môn (Thạch Môn)", False), (2, "Xã Đồng Môn", True)
    ]
    (unit,) = incremental.dicts("select * from marts.dim_reporting_unit where unit_key = ?", [key])
    assert (unit["unit_name"], unit["records_count"], unit["previous_names"]) == (
        "Xã Đồng Môn", 2, "Xã Đồng Môn (Thạch Môn)")
    # the other versions of the code are untouched
    others = incremental.dicts("select * from marts.dim_reporting_unit where unit_code = '18103' and unit_key <> ?",
                               [key])
    assert len(others) == 2 and all(u["records_count"] == 1 for u in others)


def test_fold_text_macro_is_the_twin_of_dvk_text_fold():
    macro = (DBT_PROJECT_DIR / "macros" / "text.sql").read_text(encoding="utf-8")
    body = macro[macro.index("fold_text(expression) -%}") + len("fold_text(expression) -%}"):]
    sql = body[: body.index("{%- endmacro")].replace("{{ expression }}", "name")
    names = [
        "Tổ dân phố mẫu", "TỔ DÂN PHỐ  MẪU.", "to-dan_pho/mau", "Đường giao thông nông thôn",
        "đường  GIAO\tthông\n(mẫu)", "Xây dựng “Khu dân cư kiểu mẫu” – 2022",
        "Camera\u200b an ninh", "\ufeffSân chơi", "Mô hình số 12", "  ",
        "Phòng GD&ĐT", "Hội LHPN: ‘Phụ nữ giúp nhau’", "Quỹ «Vì người nghèo»",
    ]
    names.append(unicodedata.normalize("NFD", "Đường hoa  xanh – sạch (mẫu)"))
    with duckdb.connect() as con:
        got = [con.execute(f"select {sql} from (select ? as name)", [n]).fetchone()[0] for n in names]
    assert got == [fold(n) for n in names]
