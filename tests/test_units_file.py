"""The master-list setting (DVK_UNITS_FILE): the ingest and dbt read the same time-versioned list."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import duckdb
import pytest

from dvk.reference import LookupProblem, UnitDirectory, load_units
from dvk.settings import DEFAULT_UNITS_FILE, get_settings
from dvk.transform import run_dbt
from tests.fixtures import raw_fixture

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


def test_a_list_by_years_is_read_as_validities(tmp_path):
    """The spec's first list (reporting_units.csv: expected_from / expected_to years)."""
    path = tmp_path / "by years.csv"
    path.write_text("code,name,kind,parent_code,aliases,expected_from,expected_to\n"
                    "18070,Phường Trần Phú,phuong,436,,2020,2024\n"
                    "CQ01,Ủy ban MTTQ thành phố,doan_the,436,MTTQ,2021,\n", encoding="utf-8")
    units = load_units(path)
    assert [(u.code, u.valid_from, u.valid_to, u.aliases) for u in units] == [
        ("18070", dt.date(2020, 1, 1), dt.date(2025, 1, 1), ()),
        ("CQ01", dt.date(2021, 1, 1), None, ("MTTQ",)),
    ]
    directory = UnitDirectory(units, changes=())
    assert directory.resolve(None, "Phường Trần Phú", on=dt.date(2024, 12, 14)).code == "18070"
    with pytest.raises(LookupProblem):  # no longer expected in 2025
        directory.resolve("18070", None, on=dt.date(2025, 3, 14))


@pytest.mark.parametrize(("columns", "row", "message"), [
    ("code,name,kind,expected_to", "18070,P,phuong,2024", "lacks the column.s. valid_from .*or expected_from"),
    ("code,name,kind,expected_from,expected_to", "18070,P,phuong,năm 2020,", "line 2, column expected_from"),
    ("code,name,kind,expected_from,expected_to", "18070,P,phuong,2022,2020", "not before"),
])
def test_a_list_by_years_with_a_wrong_year_names_line_and_column(tmp_path, columns, row, message):
    path = tmp_path / "wrong.csv"
    path.write_text(f"{columns}\n{row}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_units(path)


#: The province's list as published (reorganisations spec: hatinh_province_units_2025-07.csv's
#: columns), without parent_code, aliases or valid_to.
PROVINCE_AS_PUBLISHED = """code,name,kind,valid_from,source
18073,Phường Thành Sen,phuong,2025-07-01,GSO
18685,Xã Cẩm Bình,xa,2025-07-01,GSO
CQ0101,Ủy ban MTTQ Việt Nam tỉnh,doan_the,2025-07-01,the province
"""


def test_a_list_without_the_optional_columns_reaches_dbt_with_every_column(tmp_path):
    from dvk.reference import UNIT_COLUMNS, units_file_with_every_column

    complete = tmp_path / "complete.csv"
    complete.write_text(PROVINCE, encoding="utf-8")
    assert units_file_with_every_column(complete, tmp_path / "ref") == complete  # used as it is
    given = tmp_path / "given.csv"
    given.write_text(PROVINCE_AS_PUBLISHED, encoding="utf-8")
    copy = units_file_with_every_column(given, tmp_path / "ref")
    lines = copy.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(UNIT_COLUMNS)
    assert lines[1:] == ["18073,Phường Thành Sen,phuong,,,2025-07-01,", "18685,Xã Cẩm Bình,xa,,,2025-07-01,",
                         "CQ0101,Ủy ban MTTQ Việt Nam tỉnh,doan_the,,,2025-07-01,"]
    mtime = copy.stat().st_mtime_ns
    assert units_file_with_every_column(given, tmp_path / "ref") == copy and copy.stat().st_mtime_ns == mtime
    broken = tmp_path / "broken.csv"
    broken.write_text("code,name\n18073,Phường Thành Sen\n", encoding="utf-8")
    with pytest.raises(ValueError, match="kind, valid_from"):
        units_file_with_every_column(broken, tmp_path / "ref")


@pytest.mark.e2e
def test_dbt_reads_the_same_file(tmp_path, monkeypatch):
    # the list as the province publishes it: dbt reads it with every column, as the ingest does
    province_list = tmp_path / "province units.csv"
    province_list.write_text(PROVINCE_AS_PUBLISHED, encoding="utf-8")
    monkeypatch.setenv("DVK_UNITS_FILE", str(province_list))
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


# ------------------------------------------------------ the deployment's changes and split shares

HISTORY = """code,name,kind,parent_code,aliases,valid_from,valid_to
18001,Xã Một,xa,42,,2019-01-01,2025-07-01
18002,Xã Hai,xa,42,,2019-01-01,2025-07-01
18002,Xã Hai Mới,xa,42,,2025-07-01,
"""
CHANGES = """change_date,legal_act,old_code,old_name,new_code,new_name,change_kind,share_note,source
2025-07-01,1665/NQ-UBTVQH15,18001,Xã Một,18002,Xã Hai Mới,split,,
2025-07-01,1665/NQ-UBTVQH15,18002,Xã Hai,18002,Xã Hai Mới,merge,,
"""
SHARES = """change_date,old_code,new_code,share,is_estimate,basis
2025-07-01,18001,18002,1,false,whole (test)
"""


@pytest.fixture
def deployment_files(tmp_path, monkeypatch) -> dict[str, Path]:
    files = {"units": tmp_path / "units.csv", "changes": tmp_path / "changes.csv", "shares": tmp_path / "shares.csv"}
    for key, text in (("units", HISTORY), ("changes", CHANGES), ("shares", SHARES)):
        files[key].write_text(text, encoding="utf-8")
    monkeypatch.setenv("DVK_UNITS_FILE", str(files["units"]))
    monkeypatch.setenv("DVK_UNIT_CHANGES_FILE", str(files["changes"]))
    monkeypatch.setenv("DVK_UNIT_SHARES_FILE", str(files["shares"]))
    return files


def test_changes_and_shares_default_to_the_seeds(monkeypatch):
    from dvk.settings import DEFAULT_UNIT_CHANGES_FILE, DEFAULT_UNIT_SHARES_FILE
    monkeypatch.delenv("DVK_UNIT_CHANGES_FILE", raising=False)
    monkeypatch.delenv("DVK_UNIT_SHARES_FILE", raising=False)
    settings = get_settings()
    assert (settings.unit_changes_file, settings.unit_shares_file) == (DEFAULT_UNIT_CHANGES_FILE, DEFAULT_UNIT_SHARES_FILE)
    assert DEFAULT_UNIT_CHANGES_FILE.name == "unit_changes.csv" and DEFAULT_UNIT_SHARES_FILE.is_file()


def test_the_ingest_names_successors_from_the_deployments_changes(deployment_files):
    assert get_settings().unit_changes_file == deployment_files["changes"].resolve()
    with pytest.raises(LookupProblem) as info:
        UnitDirectory().resolve("18001", None, on=dt.date(2025, 12, 14))
    assert "Xã Hai Mới, 18002" in info.value.message_en


def test_a_missing_changes_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DVK_UNIT_CHANGES_FILE", str(tmp_path / "nowhere.csv"))
    with pytest.raises(FileNotFoundError, match="DVK_UNIT_CHANGES_FILE"):
        UnitDirectory()


def test_dbt_gets_the_files_in_its_environment(deployment_files):
    from dvk.transform import dbt_child_environment, dbt_cli_args

    settings = get_settings()
    env = dbt_child_environment(settings, dbt_cli_args(["build"], settings))
    assert env["DVK_UNIT_CHANGES_FILE"] == str(deployment_files["changes"].resolve())
    assert env["DVK_UNIT_SHARES_FILE"] == str(deployment_files["shares"].resolve())
    # vars given by hand reach dbt as they are (the project's setting() macro prefers them)
    args = dbt_cli_args(["build", "--vars", '{"unit_shares_file": "/x.csv"}'], settings)
    assert args[args.index("--vars") + 1] == '{"unit_shares_file": "/x.csv"}' and args.count("--vars") == 1


@pytest.mark.e2e
def test_dbt_reads_the_deployments_changes_and_shares(deployment_files, tmp_path):
    settings = dataclasses.replace(get_settings(), warehouse=tmp_path / "w" / "dvk.duckdb")
    raw_fixture.make_raw_warehouse(settings.warehouse, empty=True)
    run_dbt(["run", "--select", "stg_reference__reporting_units stg_reference__unit_changes "
             "stg_reference__unit_split_shares int_unit_versions int_unit_today_map"], settings)
    with duckdb.connect(str(settings.warehouse)) as con:
        changes = con.execute("select old_code, new_code, change_kind, change_date "
                              "from staging.stg_reference__unit_changes order by old_code").fetchall()
        shares = con.execute("select old_code, new_code, share, is_estimate "
                             "from staging.stg_reference__unit_split_shares").fetchall()
        today = con.execute("select unit_version_id, today_unit_code, share from intermediate.int_unit_today_map "
                            "order by unit_version_id").fetchall()
    assert changes == [("18001", "18002", "split", dt.date(2025, 7, 1)),
                       ("18002", "18002", "merge", dt.date(2025, 7, 1))]
    assert [(s[0], s[1], float(s[2]), s[3]) for s in shares] == [("18001", "18002", 1.0, False)]
    assert [(t[0], t[1], float(t[2])) for t in today] == [
        ("18001@2019-01-01", "18002", 1.0), ("18002@2019-01-01", "18002", 1.0), ("18002@2025-07-01", "18002", 1.0)]
