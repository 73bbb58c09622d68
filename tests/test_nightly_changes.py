"""The nightly run gates and publishes only the years the night changed (issue 16).

On a copy of the demo site (``demo_site``: the README's run command was its first night, every
year gated and published), through the pipeline's steps as ``dvk_transform`` calls them
(changed_years, gate_years, publish, every_year_current):

- with no publication yet, every year is planned as new (``never_published``);
- a run with nothing new gates nothing and leaves the publication as it is;
- a correction of one unit-year (2021) that breaks its declared totals is caught by the gate:
  2021 is held back, the run fails, and the years the night did not touch are neither gated nor
  written again (their gate results and their rows are those of the first publication);
- a good correction of the same unit-year shows in the published copy (DuckDB and Parquet),
  written in place, while the other years are still not gated nor written again.

"Not gated / not written again" is read from what the pipeline records (the gate result's
``checked_at``, the manifest's ``rows_as_of``, ``years_republished``, ``years_carried``), never
from timings.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.support.corrections import write_correction
from tests.support.site import copy_site, query_one, using_site

pytestmark = pytest.mark.e2e

HEADLINE_SQL = "select sum(models_total) from marts.fct_annual_unit_field where year = 2021"
HEADLINE_2021 = 253


def manifest(base: Path) -> dict:
    return json.loads((base / "warehouse" / "published" / "manifest.json").read_text(encoding="utf-8"))


def gate_checked_at(base: Path) -> dict[str, str]:
    return {p.parent.name: json.loads(p.read_text(encoding="utf-8"))["checked_at"]
            for p in sorted((base / "reports" / "gate").glob("*/gate_result.json"))}


def marts_compared(path: Path, other: Path) -> tuple[list[str], list[str]]:
    """The marts tables of ``path``, and those whose rows (``path``'s columns) are not exactly
    ``other``'s, compared both ways."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute(f"attach '{other}' as other (read_only)")
        (db,) = con.execute("select current_database()").fetchone()
        tables = [t for (t,) in con.execute("select table_name from duckdb_tables() where database_name = ? "
                                            "and schema_name = 'marts' order by 1", [db]).fetchall()]
        differing = []
        for table in tables:
            cols = ", ".join(f'"{c}"' for (c,) in con.execute(
                "select column_name from duckdb_columns() where database_name = ? and schema_name = 'marts' "
                "and table_name = ? order by column_index", [db, table]).fetchall())
            mine, theirs = f'select {cols} from marts."{table}"', f'select {cols} from other.marts."{table}"'
            if con.execute(f"select count(*) from (({mine} except all {theirs}) union all "
                           f"({theirs} except all {mine}))").fetchone()[0]:
                differing.append(table)
        return tables, differing
    finally:
        con.close()


def night(base: Path, *, loaded: int | None) -> tuple[dict, dict | Exception, dict]:
    """What dvk_transform does after an ingest: dbt build, the plan, the gate, publish."""
    from dvk.pipeline import changed_years, gate_years, ingest, publish, transform

    with using_site(base):
        files = ingest()["files_loaded"]
        assert loaded is None or files == loaded
        # dbt builds when something arrived, and only then
        assert transform() is bool(files)
        plan = changed_years()
        try:
            gated: dict | Exception = gate_years(plan)
        except Exception as exc:  # noqa: BLE001 - the gate task fails; publish runs all the same
            gated = exc
        return plan, gated, publish(plan["years"])


def test_a_correction_of_one_unit_year_is_gated_and_published_and_nothing_else_is(demo_site, tmp_path):
    from dataclasses import replace

    from dvk.changes import plan_changes
    from dvk.pipeline import YearsGateFailed, every_year_current

    # the first night is the demo site's (the README's run command: every year ingested, built,
    # gated and published); the nights below run on a copy of it
    base = tmp_path / "site"
    settings = copy_site(demo_site, base, adopt_gate_results=True)
    published = base / "warehouse" / "published" / "dvk.duckdb"
    m0, checked0 = manifest(base), gate_checked_at(base)
    years = sorted(int(y) for y in m0["years"] if m0["years"][y].get("gated"))
    assert 2021 in years and len(years) >= 2, m0["years"]
    assert all(m0["years"][str(y)]["state"] == "current" for y in years)
    assert set(checked0) == {str(y) for y in years}
    others = [y for y in years if y != 2021]
    assert query_one(published, HEADLINE_SQL) == HEADLINE_2021
    # what the first night planned: with no publication yet, every year is new
    first = plan_changes(replace(settings, published_dir=tmp_path / "nothing-published"))
    assert first.years == first.changed == years and set(first.reasons.values()) == {"never_published"}

    # nothing new: no year gated, the publication stays as it is (same file, same manifest)
    inode = published.stat().st_ino
    plan, gated, out = night(base, loaded=0)
    assert plan["changed"] == [] and plan["unchanged"] == years
    assert gated == {} and out["unchanged"] is True
    assert gate_checked_at(base) == checked0 and manifest(base) == m0 and published.stat().st_ino == inode

    # a bad correction of 2021 (totals that do not add up): 2021 is gated and caught, held back
    # with its last published rows; the other years are neither gated nor written again
    write_correction(settings, version=3, day=18, break_totals=True)
    plan, gated, out = night(base, loaded=1)
    assert plan["changed"] == [2021] and plan["reasons"] == {"2021": "new_loads"}
    assert len(plan["loads"]["2021"]) == 1 and plan["unchanged"] == others
    assert isinstance(gated, YearsGateFailed) and "2021" in str(gated)
    checked1 = gate_checked_at(base)
    assert checked1["2021"] != checked0["2021"]
    assert {y: checked1[str(y)] for y in others} == {y: checked0[str(y)] for y in others}
    assert set(out["years_held_back"]) == {2021}
    with pytest.raises(RuntimeError, match="2021"):
        every_year_current(out)
    m1 = manifest(base)
    assert m1["years"]["2021"]["reason"] == "gate_failed"
    assert m1["years"]["2021"]["rows_as_of"] == m0["published_at"]
    assert m1["years_republished"] == [] or set(m1["years_republished"]).isdisjoint(years)
    for y in others:
        assert m1["years"][str(y)]["carried"] and m1["years"][str(y)]["rows_as_of"] == m0["years"][str(y)]["rows_as_of"]
    assert query_one(published, HEADLINE_SQL) == HEADLINE_2021  # analysts keep the figures the gate vouched for
    # the annual report's gate of a year takes the verdict reached on the same inputs (no new
    # validation: checked_at unchanged), a failed one included
    from dvk.gate import GateFailed
    from dvk.pipeline import gate, report

    year = others[0]
    with using_site(base):
        verdict = gate(year)
        assert verdict["checked_at"] == checked0[str(year)] and verdict["passed"] is True
        # what the task hands to the report (an XCom, in Airflow's database): the verdict and where
        # the whole result is, not the result (its units and warnings grow with the deployment)
        assert set(verdict) == {"year", "passed", "checked_at", "failures", "warnings", "data_docs", "gate_result"}
        assert verdict["gate_result"] == str(base / "reports" / "gate" / str(year) / "gate_result.json")
        # the report takes that saved result: no validation again
        report(year, verdict)
        assert gate_checked_at(base)[str(year)] == checked0[str(year)]
        with pytest.raises(GateFailed):
            gate(2021)
    assert gate_checked_at(base) == checked1

    # a good correction of the same unit-year: gated, passed, and in the published copy
    write_correction(settings, version=4, day=19, break_totals=False)
    plan, gated, out = night(base, loaded=1)
    assert plan["changed"] == [2021] and plan["unchanged"] == others
    assert isinstance(gated, dict) and gated["2021"]["passed"], gated
    every_year_current(out)
    assert 2021 in out["years_republished"] and set(out["years_republished"]).isdisjoint(others)
    m2 = manifest(base)
    assert m2["updated_in_place"] is True
    assert m2["years"]["2021"]["rows_as_of"] == m2["published_at"] and m2["years"]["2021"]["state"] == "current"
    for y in others:
        assert m2["years"][str(y)]["carried"] and m2["years"][str(y)]["rows_as_of"] == m0["years"][str(y)]["rows_as_of"]
    checked2 = gate_checked_at(base)
    assert {y: checked2[str(y)] for y in others} == {y: checked0[str(y)] for y in others}
    warehouse = base / "warehouse" / "dvk.duckdb"
    # v4 is v3's lines (v3 was the unit's newest report when it was written) plus one more model
    assert query_one(warehouse, HEADLINE_SQL) == HEADLINE_2021 + 2
    assert query_one(published, HEADLINE_SQL) == HEADLINE_2021 + 2
    assert query_one(published, "select republished from meta.publication_years where year = 2021") is True
    parquet = base / "warehouse" / "published" / "parquet" / "fct_annual_unit_field.parquet"
    assert duckdb.connect().execute("select sum(models_total) from read_parquet(?) where year = 2021",
                                    [str(parquet)]).fetchone()[0] == HEADLINE_2021 + 2
    # the copy updated in place holds exactly the warehouse's rows, year by year and table by table
    tables, differing = marts_compared(published, warehouse)
    assert "fct_annual_unit_field" in tables and differing == []

    # The nights' dbt builds were data-only (the project and reference data never changed since the
    # first night's build): models and data tests only, no seed, snapshot or view built again ...
    from dvk.pipeline import transform

    target = base / "warehouse" / "dbt_target"
    nodes = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["nodes"]
    ran = [r["unique_id"] for r in json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]]
    assert {node.split(".")[0] for node in ran} == {"model", "test"}
    assert not [node for node in ran if nodes[node]["config"].get("materialized") == "view"]
    assert {"model.dvk.fct_model", "model.dvk.fct_annual_unit_field", "model.dvk.fct_submission"} <= set(ran)
    assert not {"model.dvk.dim_field", "model.dvk.stg_reference__reporting_units"} & set(ran)  # reference only
    # ... and they left the marts exactly as a build of everything does
    shutil.copy2(warehouse, tmp_path / "after-the-nights.duckdb")
    with using_site(base):
        assert transform(force=True) is True
    ran_all = [r["unique_id"] for r in json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]]
    assert {node.split(".")[0] for node in ran_all} >= {"seed", "snapshot", "model", "test"}
    tables, differing = marts_compared(warehouse, tmp_path / "after-the-nights.duckdb")
    assert "fct_annual_unit_field" in tables and differing == []

    # A report handed a verdict that is no longer the saved one (the year was gated again since
    # its gate task): the report's step gates the year again rather than trust either
    with using_site(base):
        report(year, {**verdict, "checked_at": "2000-01-01T00:00:00+00:00"})
    assert gate_checked_at(base)[str(year)] > checked2[str(year)]
