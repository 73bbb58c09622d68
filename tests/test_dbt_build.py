"""dbt build on a hand-made raw dataset (tests/fixtures/raw_fixture.py): the marts' contents.

dbt is built twice, once per module: the second build must give the same marts.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from dvk.settings import DBT_PROJECT_DIR, SEEDS_DIR, get_settings
from dvk.transform import build

_spec = importlib.util.spec_from_file_location(
    "dvk_test_raw_fixture", Path(__file__).parent / "fixtures" / "raw_fixture.py"
)
raw_fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(raw_fixture)

# docs/architecture.md, "Marts": the exact columns, in order.
MART_COLUMNS = {
    "dim_reporting_unit": [
        "unit_code", "unit_name", "unit_kind", "parent_code", "aliases", "expected_from",
        "expected_to",
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


@dataclass
class Built:
    path: Path
    target_dir: Path
    ids: dict[str, str]
    first: dict
    second: dict
    seconds: list[float]

    def rows(self, sql: str, params=None) -> list[tuple]:
        with duckdb.connect(str(self.path)) as con:
            return con.execute(sql, params or []).fetchall()

    def dicts(self, sql: str, params=None) -> list[dict]:
        with duckdb.connect(str(self.path)) as con:
            cur = con.execute(sql, params or [])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]


def snapshot(path: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    with duckdb.connect(str(path)) as con:
        out = {}
        for mart in MART_COLUMNS:
            cur = con.execute(f"select * from marts.{mart} order by all")
            out[mart] = ([d[0] for d in cur.description], cur.fetchall())
        return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    root = tmp_path_factory.mktemp("dbt_build")
    path = root / "warehouse" / "dvk.duckdb"
    ids = raw_fixture.make_raw_warehouse(path)
    seconds = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DVK_WAREHOUSE", str(path))
        mp.setenv("DVK_REPORTS_DIR", str(root / "reports"))
        mp.delenv("DVK_DUE_GRACE_DAYS", raising=False)
        for _ in range(2):
            started = time.perf_counter()
            build()
            seconds.append(time.perf_counter() - started)
            if len(seconds) == 1:
                first = snapshot(path)
        second = snapshot(path)
        target_dir = get_settings().dbt_target_dir
    print(f"dbt build timings: {', '.join(f'{s:.1f}s' for s in seconds)}")
    return Built(path, target_dir, ids, first, second, seconds)


def expected_units(year: int) -> set[str]:
    with open(SEEDS_DIR / "reporting_units.csv", encoding="utf-8") as f:
        return {
            row["code"]
            for row in csv.DictReader(f)
            if int(row["expected_from"]) <= year
            and (not row["expected_to"] or int(row["expected_to"]) >= year)
        }


def test_mart_columns_match_the_contract(built):
    for mart, columns in MART_COLUMNS.items():
        assert built.first[mart][0] == columns, mart


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
    for mart in MART_COLUMNS:
        assert kinds[("marts", mart)] == "BASE TABLE"


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
            "fct_annual_unit_field", "fct_annual_unit_status", "fct_model",
            "dim_reporting_unit", "dim_field", "fct_submission_totals_check",
        )
    }


def test_second_build_gives_identical_marts(built):
    assert built.first == built.second
    assert built.first["fct_submission"][1], "the fixture has submissions"


def test_dims(built):
    units = built.dicts("select * from marts.dim_reporting_unit where unit_code = '18103'")
    assert units == [{
        "unit_code": "18103", "unit_name": "Xã Đồng Môn", "unit_kind": "xa", "parent_code": "436",
        "aliases": "Xã Thạch Môn; Xã Thạch Đồng", "expected_from": 2020, "expected_to": None,
    }]
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
    assert counts[(2021, "reported")] == 4
    assert counts[(2021, "provisional")] == 1
    assert counts[(2021, "missing")] == len(expected_units(2021)) - 5


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
    assert rows[(2022, "18070", "KT")]["is_provisional"] is True
    (total, new, replicated), = built.rows(
        "select sum(models_total), sum(models_new), sum(models_replicated) "
        "from marts.fct_annual_unit_field where year = 2021"
    )
    assert (total, new, replicated) == (4 + 3 + 3 + 4, 2 + 1 + 3 + 3, 2 + 2 + 0 + 1)


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
