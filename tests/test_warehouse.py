"""The warehouse access layer (``dvk.warehouse``) and what is built on it: opening with one
lock-wait policy, quoting, rows, JSON-safe values, hashing; the analysts' ``dvk.analyst.connect``
that always reads the current publication; the run logs' folder and pruning."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from dvk import analyst, warehouse
from dvk.settings import Settings

HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold(path: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _settings(tmp_path: Path) -> Settings:
    return Settings(inbox_dir=tmp_path / "inbox", warehouse=tmp_path / "wh" / "dvk.duckdb",
                    reports_dir=tmp_path / "reports", quarantine_dir=tmp_path / "quarantine",
                    inbox_settle_seconds=0)


def test_read_only_of_a_missing_file_says_so_in_both_languages(tmp_path):
    with pytest.raises(warehouse.WarehouseNotFound, match=r"Không tìm thấy .* does not exist"):
        warehouse.connect(tmp_path / "none.duckdb", read_only=True)
    assert not (tmp_path / "none.duckdb").exists()


def test_read_write_creates_the_file_and_its_folder_then_readers_read_it(tmp_path):
    path = tmp_path / "a" / "b" / "wh.duckdb"
    with warehouse.read_write(path, wait=0) as con:
        con.execute("create schema raw; create table raw.t (\"row\" integer, x varchar)")
        con.execute("insert into raw.t values (1, 'it''s'), (2, null)")
    with warehouse.read_only(path, wait=0) as con:
        assert warehouse.table_names(con, "raw") == {"t"}
        assert warehouse.query_rows(con, "select * from raw.t where \"row\" = ?", [1]) == [{"row": 1, "x": "it's"}]
        assert warehouse.query_rows(con, "select * from raw.t where \"row\" = $r", {"r": 2}) == [{"row": 2, "x": None}]
        assert warehouse.query_value(con, "select count(*) from raw.t") == 2
        assert warehouse.query_value(con, "select 1 where false") is None
        assert list(warehouse.query_df(con, "select * from raw.t order by 1")["row"]) == [1, 2]
        with pytest.raises(duckdb.Error):
            con.execute("insert into raw.t values (3, 'x')")


def test_quoting_round_trips_through_duckdb():
    con = duckdb.connect()
    try:
        name, text = 'a "b" c', "l'été; drop table x; --"
        con.execute(f"create table {warehouse.quote_ident(name)} as select {warehouse.quote_string(text)} as v")
        assert con.execute(f"select v from {warehouse.quote_ident(name)}").fetchone() == (text,)
    finally:
        con.close()


def test_a_reader_of_the_quarantine_list_waits_for_a_writer(tmp_path, monkeypatch):
    """``ingest/quarantine.py`` opens through the one policy: it waits, then reads."""
    from dvk.ingest.quarantine import pending_quarantine

    settings = _settings(tmp_path)
    with warehouse.read_write(settings.warehouse) as con:
        from dvk.contract import ddl

        con.execute(ddl())
    monkeypatch.setenv("DVK_LOCK_WAIT_SECONDS", "60")
    writer = _hold(settings.warehouse, 1.0)
    try:
        with pytest.raises(warehouse.WarehouseBusy, match="vẫn bị một tiến trình khác khoá .* stayed locked"):
            warehouse.connect(settings.warehouse, read_only=True, wait=0)
        assert pending_quarantine(settings) == []  # waited for the writer, then read the empty tables
    finally:
        writer.wait(timeout=30)


def test_the_ingest_waits_for_a_reader_instead_of_failing(tmp_path, monkeypatch):
    from dvk.ingest.inbox import ingest_inbox

    settings = _settings(tmp_path)
    settings.inbox_dir.mkdir()
    with warehouse.read_write(settings.warehouse):
        pass
    monkeypatch.setenv("DVK_LOCK_WAIT_SECONDS", "60")
    reader = subprocess.Popen([sys.executable, "-c", HOLD.replace("duckdb.connect(sys.argv[1])",
                                                                    "duckdb.connect(sys.argv[1], read_only=True)"),
                               str(settings.warehouse), "1.0"], stdout=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "held"
    try:
        result = ingest_inbox(settings)
        assert result.files_seen == 0
    finally:
        reader.wait(timeout=30)


def test_plain_and_json_values():
    assert warehouse.plain_value(np.int64(3)) == 3 and type(warehouse.plain_value(np.int64(3))) is int
    assert warehouse.plain_value(np.float64("nan")) is None
    assert warehouse.plain_value(pd.NA) is None and warehouse.plain_value(pd.NaT) is None
    ts = warehouse.plain_value(pd.Timestamp("2021-12-19 17:30"))
    assert type(ts) is dt.datetime and ts == dt.datetime(2021, 12, 19, 17, 30)
    assert warehouse.plain_value(dt.date(2021, 1, 2)) == dt.date(2021, 1, 2)
    assert warehouse.plain_value(decimal.Decimal("1.5")) == decimal.Decimal("1.5")
    value = {"a": [np.int32(1), pd.Timestamp("2021-01-02"), None, float("nan")], "b": dt.date(2021, 1, 2),
             "c": decimal.Decimal("1.5"), "d": Path("/x"), "e": (True, "s")}
    got = warehouse.json_value(value)
    assert got == {"a": [1, "2021-01-02T00:00:00", None, None], "b": "2021-01-02", "c": "1.5", "d": "/x",
                   "e": [True, "s"]}
    json.dumps(got)


def test_records_of_a_dataframe_are_plain():
    df = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "t": [pd.Timestamp("2021-01-01"), pd.NaT]})
    assert warehouse.records(df) == [{"n": 1, "t": dt.datetime(2021, 1, 1)}, {"n": None, "t": None}]


def test_sha256_of_a_path_and_of_an_open_file(tmp_path):
    data = b"x" * (3 << 20) + b"tail"
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert warehouse.sha256_file(path) == expected == warehouse.sha256_file(str(path))
    fh = io.BytesIO(data)
    assert warehouse.sha256_file(fh) == expected and not fh.closed


# --------------------------------------------------------------------------------------------
# analysts: the current publication, even while an old connection is held


def _marts_warehouse(path: Path, models: int) -> None:
    with warehouse.read_write(path) as con:
        con.execute("create schema if not exists marts")
        con.execute("create or replace table marts.dim_field as select 'KT' as field_code, 1 as sort_order")
        con.execute(f"create or replace table marts.fct_model as select range as model_no from range({models})")


def test_analyst_connect_always_opens_the_current_publication(tmp_path):
    from dvk.publish import publish

    settings = _settings(tmp_path)
    _marts_warehouse(settings.warehouse, 3)
    publish(settings)
    old = duckdb.connect(str(settings.published_warehouse), read_only=True)  # a notebook's open session
    try:
        assert old.execute("select count(*) from marts.fct_model").fetchone() == (3,)
        _marts_warehouse(settings.warehouse, 5)
        publish(settings)
        # what the guide used to say: "reconnect" — DuckDB hands back the cached, old instance
        again = duckdb.connect(str(settings.published_warehouse), read_only=True)
        try:
            assert again.execute("select count(*) from marts.fct_model").fetchone() == (3,)
        finally:
            again.close()
        con = analyst.connect(settings.published_warehouse)
        try:
            assert con.execute("select count(*) from marts.fct_model").fetchone() == (5,)
            assert con.execute("select count(*) from meta.published_tables").fetchone() == (2,)
            with pytest.raises(duckdb.Error, match="read-only"):
                con.execute("create table marts.x as select 1")
        finally:
            con.close()
    finally:
        old.close()


def test_analyst_parquet_file_names_the_current_version_not_the_link(tmp_path):
    from dvk.publish import publish

    settings = _settings(tmp_path)
    _marts_warehouse(settings.warehouse, 3)
    publish(settings)
    first = analyst.parquet_file("fct_model", settings.published_dir)
    assert first.parent.name.startswith("parquet-") and not first.parent.is_symlink()
    count = "select count(*) from read_parquet(?)"
    assert duckdb.connect().execute(count, [str(first)]).fetchone() == (3,)
    _marts_warehouse(settings.warehouse, 5)
    publish(settings)
    second = analyst.parquet_file("fct_model", settings.published_dir)
    assert second != first
    # the resolved path goes on reading the version it named; the link reads the new one
    assert duckdb.connect().execute(count, [str(first)]).fetchone() == (3,)
    assert duckdb.connect().execute(count, [str(second)]).fetchone() == (5,)
    link = settings.published_dir / "parquet" / "fct_model.parquet"
    assert duckdb.connect().execute(count, [str(link)]).fetchone() == (5,)
    assert analyst.parquet_folder(settings.published_dir) == second.parent != first.parent
    with pytest.raises(warehouse.WarehouseNotFound, match="no_such_table.parquet"):
        analyst.parquet_file("no_such_table", settings.published_dir)
    with pytest.raises(warehouse.WarehouseNotFound, match="dvk publish"):
        analyst.parquet_folder(tmp_path / "nothing-published")


def test_stale_parquet_versions_never_take_the_linked_one_or_the_one_before(tmp_path):
    # two publications killed before their swap left newer version folders behind
    from dvk.publish import _remove_stale

    folder = tmp_path / "published"
    for name in ("parquet-20261201T000000", "parquet-20261202T000000", "parquet-20261203T000000",
                 "parquet-20261204T000000", "parquet-20261205T000000"):
        (folder / name).mkdir(parents=True)
    (folder / "parquet").symlink_to("parquet-20261203T000000", target_is_directory=True)
    _remove_stale(folder, keep=[])
    assert sorted(p.name for p in folder.glob("parquet-*")) == ["parquet-20261202T000000", "parquet-20261203T000000"]
    assert (folder / "parquet").resolve().name == "parquet-20261203T000000"


def test_analyst_connect_without_a_publication_says_what_to_run(tmp_path):
    with pytest.raises(warehouse.WarehouseNotFound, match="dvk publish"):
        analyst.connect(tmp_path / "published" / "dvk.duckdb")


# --------------------------------------------------------------------------------------------
# run logs


def test_run_logs_follow_the_setting_and_the_oldest_are_pruned(tmp_path, monkeypatch):
    from dvk.runlog import RunLog, prune_run_logs
    from dvk.settings import get_settings

    folder = tmp_path / "logs"
    monkeypatch.setenv("DVK_LOG_DIR", str(folder))
    monkeypatch.setenv("DVK_KEEP_RUN_LOGS", "3")
    assert get_settings().log_dir == folder and get_settings().keep_run_logs == 3
    folder.mkdir()
    for i in range(5):
        (folder / f"run-2026010{i}T000000Z-1.log").write_text("old")
    (folder / "other.txt").write_text("kept")
    log = RunLog()
    assert log.path.parent == folder
    with log:
        pass
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["other.txt", "run-20260104T000000Z-1.log", "run-20260103T000000Z-1.log", log.path.name])
    assert prune_run_logs(folder, 0) == []


def test_airflow_home_is_read_through_settings(tmp_path, monkeypatch):
    from dvk import airflow_local

    monkeypatch.setenv("DVK_AIRFLOW_HOME", str(tmp_path / "af"))
    assert airflow_local.airflow_home() == tmp_path / "af"
