"""Rule 4 of the reorganisations spec (totals conserved on today's units) for a unit whose validity
ends in the master list: its figures must land on a unit of today, never vanish.

The case behind it: ``bench/scale_bench.py --scale province-synthetic`` failed
``assert_today_geography_conserves_totals`` (8 rows: 2022 and 2023 x 4 fields) because
``bench/synth.py`` made wards "merged away" (valid until 1 January 2024) without recording the
merge (its deployment's unit_changes was empty): their 2022-2023 figures reached no unit of today
and were dropped from ``fct_annual_unit_field_today``. The data was impossible by the spec (a unit
that ceases has a successor); the model now names such a version
(``assert_today_map_shares_conserve_each_unit`` checks every version, also one with no way to
today) and the generator records its merges.

In a few rows: Phường Một (10001) ceases on 1 January 2023, Phường Hai (10002) continues; both
sent their 2022 annual report, Phường Hai its 2023 one.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from dvk.settings import Settings
from dvk.transform import TransformError, build, release_dbt_duckdb
from tests.fixtures import raw_fixture
from tests.support.scripts import synth

UNITS_HEADER = "code,name,kind,parent_code,aliases,valid_from,valid_to\n"
CHANGES_HEADER = "change_date,legal_act,old_code,old_name,new_code,new_name,change_kind,share_note,source\n"
SHARES_HEADER = "change_date,old_code,new_code,share,is_estimate,basis\n"
AGENCY = "CQ1000,Hội Nông dân huyện Một,doan_the,400,,2020-01-01,\n"


def _sub(unit: str, year: int) -> tuple:
    received = datetime(year, 12, 16, 8)
    return (unit, str(year), "year", year, "xlsx", received.date(), received, False)


REPORTS = {
    # name: (submission, [(field, kind, households, funds, days, land)])
    "mot_2022": (_sub("10001", 2022), [("KT", "new", 1, None, None, None), ("VHXH", "new", 2, None, None, None)]),
    "hai_2022": (_sub("10002", 2022), [("KT", "new", 3, None, None, None)]),
    "hai_2023": (_sub("10002", 2023), [("KT", "replicated", 3, None, None, None), ("KT", "new", 4, None, None, None)]),
}


def _build(root: Path, units: str, changes: str) -> Path:
    data = root / "data"
    data.mkdir(parents=True)
    (data / "units.csv").write_text(UNITS_HEADER + units + AGENCY, encoding="utf-8")
    (data / "unit_changes.csv").write_text(CHANGES_HEADER + changes, encoding="utf-8")
    (data / "unit_split_shares.csv").write_text(SHARES_HEADER, encoding="utf-8")
    settings = Settings(inbox_dir=root / "inbox", warehouse=root / "warehouse" / "dvk.duckdb",
                        reports_dir=root / "reports", quarantine_dir=root / "quarantine",
                        units_file=data / "units.csv", unit_changes_file=data / "unit_changes.csv",
                        unit_shares_file=data / "unit_split_shares.csv")
    raw_fixture.make_raw_warehouse(settings.warehouse, empty=True)
    with duckdb.connect(str(settings.warehouse)) as con:
        raw_fixture.insert_load(con, raw_fixture.LOAD_ID, datetime(2023, 12, 20), len(REPORTS))
        for name, (submission, models) in REPORTS.items():
            raw_fixture.insert_submission(con, name, submission, models)
    try:
        build(settings, unit_tests=False)
    finally:
        release_dbt_duckdb()
    return settings.warehouse


def _rows(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path)) as con:
        return con.execute(sql).fetchall()


@pytest.mark.e2e
def test_a_ceased_unit_without_successor_is_named_not_dropped(tmp_path):
    units = ("10001,Phường Một,phuong,400,,2020-01-01,2023-01-01\n"
             "10002,Phường Hai,phuong,400,,2020-01-01,\n")
    with pytest.raises(TransformError) as failed:
        _build(tmp_path, units, changes="")
    assert "assert_today_map_shares_conserve_each_unit" in str(failed.value)
    # the version behind it: in the list, with no way to a unit of today
    wh = tmp_path / "warehouse" / "dvk.duckdb"
    lost = _rows(wh, "select v.unit_version_id from intermediate.int_unit_versions v "
                     "where not exists (select 1 from intermediate.int_unit_today_map m "
                     "where m.unit_version_id = v.unit_version_id)")
    assert lost == [("10001@2020-01-01",)]


@pytest.mark.e2e
def test_a_recorded_merge_puts_the_ceased_units_figures_on_its_successor(tmp_path):
    units = ("10001,Phường Một,phuong,400,,2020-01-01,2023-01-01\n"
             "10002,Phường Hai,phuong,400,,2020-01-01,2023-01-01\n"
             "10002,Phường Hai,phuong,400,,2023-01-01,\n")
    changes = ("2023-01-01,test,10001,Phường Một,10002,Phường Hai,merge,whole unit,test\n"
               "2023-01-01,test,10002,Phường Hai,10002,Phường Hai,merge,whole unit,test\n")
    wh = _build(tmp_path, units, changes)  # every data test passes, conservation included
    today = _rows(wh, "select year, today_unit_code, field_code, models_total, source_units "
                      "from marts.fct_annual_unit_field_today order by all")
    assert today == [
        (2022, "10002", "KT", 2, "10001, 10002"),
        (2022, "10002", "VHXH", 1, "10001"),
        (2023, "10002", "KT", 2, "10002"),
    ]


def test_synth_records_a_merge_for_every_ceased_ward():
    """Every synthetic ward or commune whose validity ends has a merge into a unit whose new
    version starts that day (so today's map links them); the scale has some."""
    module = synth()
    units = module.make_units("province-synthetic")
    listed = list(csv.DictReader(io.StringIO(module.units_csv_bytes(units).decode("utf-8"))))
    changes = list(csv.DictReader(io.StringIO(module.unit_changes_csv_bytes(units).decode("utf-8"))))
    starts = {(r["code"], r["valid_from"]) for r in listed}
    ceased = [r for r in listed if r["kind"] in ("phuong", "xa") and r["valid_to"]]
    assert len(ceased) >= 4
    for row in ceased:
        merges = [c for c in changes if c["old_code"] == row["code"] and c["change_date"] == row["valid_to"]]
        assert len(merges) == 1, row
        assert (merges[0]["new_code"], merges[0]["change_date"]) in starts, merges[0]
        assert date.fromisoformat(merges[0]["change_date"]) == date.fromisoformat(row["valid_to"])
