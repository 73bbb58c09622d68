"""The master-list setting (DVK_UNITS_FILE): the ingest and dbt read the same time-versioned list."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
from pathlib import Path

import duckdb
import pytest

from dvk.reference import LookupProblem, UnitDirectory, load_units
from dvk.settings import DEFAULT_UNITS_FILE, get_settings
from dvk.transform import run_dbt

_spec = importlib.util.spec_from_file_location(
    "dvk_test_raw_fixture_units", Path(__file__).parent / "fixtures" / "raw_fixture.py"
)
raw_fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(raw_fixture)

PROVINCE = """code,name,kind,parent_code,aliases,valid_from,valid_to
18073,Phường Thành Sen,phuong,42,,2025-07-01,
18685,Xã Cẩm Bình,xa,42,Cẩm Bình,2025-07-01,
CQ0101,Ủy ban MTTQ Việt Nam tỉnh,doan_the,42,MTTQ tỉnh,2025-07-01,
"""


@pytest.fixture
def province_list(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "province units.csv"
    path.write_text(PROVINCE, encoding="utf-8")
    monkeypatch.setenv("DVK_UNITS_FILE", str(path))
    return path


def test_default_is_the_seed(monkeypatch):
    monkeypatch.delenv("DVK_UNITS_FILE", raising=False)
    assert get_settings().units_file == DEFAULT_UNITS_FILE
    assert len(load_units()) == 57


def test_the_ingest_reads_the_setting(province_list):
    assert get_settings().units_file == province_list.resolve()
    units = UnitDirectory()
    assert [u.code for u in units.units] == ["18073", "18685", "CQ0101"]
    assert units.resolve(None, "Xã Cẩm Bình", on=dt.date(2026, 3, 14)).code == "18685"
    with pytest.raises(LookupProblem):  # Nam Hà is not in this list
        units.resolve(None, "Phường Nam Hà", on=dt.date(2026, 3, 14))


def test_a_list_without_validity_is_refused(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text("code,name,kind,parent_code,aliases,expected_from,expected_to\n18070,P,phuong,436,,2020,\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match="valid_from"):
        load_units(path)


def test_dbt_reads_the_same_file(province_list, tmp_path):
    settings = dataclasses.replace(get_settings(), warehouse=tmp_path / "w" / "dvk.duckdb")
    raw_fixture.make_raw_warehouse(settings.warehouse, empty=True)
    run_dbt(["run", "--select", "stg_reference__reporting_units"], settings)
    with duckdb.connect(str(settings.warehouse)) as con:
        got = con.execute("select unit_code, unit_name, valid_from, valid_to, is_current, unit_key "
                          "from staging.stg_reference__reporting_units order by unit_code").fetchall()
    assert [g[:5] for g in got] == [
        ("18073", "Phường Thành Sen", dt.date(2025, 7, 1), None, True),
        ("18685", "Xã Cẩm Bình", dt.date(2025, 7, 1), None, True),
        ("CQ0101", "Ủy ban MTTQ Việt Nam tỉnh", dt.date(2025, 7, 1), None, True),
    ]
    import hashlib
    assert got[0][5] == hashlib.md5(b"18073|2025-07-01").hexdigest()
