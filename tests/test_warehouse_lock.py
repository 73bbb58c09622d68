"""The lock-wait policy: a reader waits while another process writes the warehouse, then reads."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import pytest

from dvk.warehouse import WarehouseBusy, is_lock_error, wait_for_lock

HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
con.execute("create or replace table t as select 42 as x")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_reader_waits_for_a_writer_in_another_process(tmp_path):
    db = tmp_path / "wh.duckdb"
    writer = _hold(db, 1.0)
    try:
        with pytest.raises(duckdb.IOException) as raised:  # what a reader without the policy gets
            duckdb.connect(str(db), read_only=True)
        assert is_lock_error(raised.value)
        con = wait_for_lock(lambda: duckdb.connect(str(db), read_only=True), what="wh", timeout=60)
        try:
            assert con.execute("select x from t").fetchone() == (42,)
        finally:
            con.close()
    finally:
        writer.wait(timeout=30)


def test_gives_up_after_the_wait_with_a_clear_message(tmp_path):
    db = tmp_path / "wh.duckdb"
    writer = _hold(db, 30.0)
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseBusy, match=r"stayed locked by another process for 1 s"):
            wait_for_lock(lambda: duckdb.connect(str(db), read_only=True), what="the warehouse", timeout=1)
        assert time.monotonic() - started < 20
    finally:
        writer.kill()
        writer.wait()


def test_other_errors_are_not_retried():
    calls = []

    def broken():
        calls.append(1)
        raise duckdb.CatalogException("no such table")

    with pytest.raises(duckdb.CatalogException):
        wait_for_lock(broken, what="x", timeout=60, sleep=lambda s: None)
    assert calls == [1]


def test_backoff_grows_and_is_capped():
    pauses: list[float] = []
    now = [0.0]
    attempts = []

    def opener():
        attempts.append(1)
        if len(attempts) < 8:
            raise duckdb.IOException('Could not set lock on file "wh.duckdb": Conflicting lock is held')
        return "connection"

    def sleep(s):
        pauses.append(s)
        now[0] += s

    assert wait_for_lock(opener, what="x", timeout=600, sleep=sleep, clock=lambda: now[0]) == "connection"
    assert pauses == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
