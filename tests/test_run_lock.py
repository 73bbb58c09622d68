"""Two runs at once (issue 11 §5): one run-level lock, and a metadata set-up safe to run twice.

Real processes on a fresh Airflow home and warehouse folder under tmp_path:
- while one process holds the run's lock, ``python -m dvk.run_local`` exits 3 at once with a
  message naming the holder (pid, since when, command) and what to do, no traceback, and touches
  nothing (no metadata database is created); once the holder ends (even by kill -9) the lock is free;
- two processes migrating the same fresh metadata database at the same moment both succeed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dvk.settings import PROJECT_ROOT


def _env(tmp_path: Path) -> dict[str, str]:
    """The environment of a fresh site: no AIRFLOW_* of this test session (they point at its own
    metadata database), a fresh Airflow home and warehouse folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({
        "DVK_AIRFLOW_HOME": str(tmp_path / "airflow"),
        "DVK_WAREHOUSE": str(tmp_path / "warehouse" / "dvk.duckdb"),
        "DVK_REPORTS_DIR": str(tmp_path / "reports"),
        "DVK_QUARANTINE_DIR": str(tmp_path / "quarantine"),
        "DVK_INBOX_DIR": str(tmp_path / "inbox"),
        "PYTHONUNBUFFERED": "1",
    })
    return env


HOLDER = textwrap.dedent("""
    import sys
    from dvk.run_local import run_lock_paths
    from dvk.runlock import run_lock
    with run_lock(run_lock_paths()):
        print("holding", flush=True)
        sys.stdin.read()   # until the test closes our stdin (or kills us)
""")


def _start_holder(env: dict[str, str]) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], env=env, cwd=PROJECT_ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


def test_a_second_run_is_refused_with_who_and_since_when(tmp_path):
    env = _env(tmp_path)
    (tmp_path / "inbox").mkdir()
    holder = _start_holder(env)
    try:
        second = subprocess.run([sys.executable, "-m", "dvk.run_local"], env=env, cwd=PROJECT_ROOT,
                                capture_output=True, text=True, timeout=300)
        assert second.returncode == 3, second.stdout + second.stderr
        err = second.stderr
        assert "Traceback" not in err + second.stdout
        assert f"pid {holder.pid}" in err
        assert f"kill {holder.pid}" in err
        assert "Another pipeline run is in progress since 20" in err  # an ISO date follows
        assert "Một lần chạy khác đang diễn ra" in err
        assert str(tmp_path / "warehouse" / ".dvk-run.lock") in err
        # it changed nothing: no metadata database, no warehouse
        assert not (tmp_path / "airflow" / "airflow.db").exists()
        assert not (tmp_path / "warehouse" / "dvk.duckdb").exists()
        # what the holder wrote in the lock file: its pid and since when
        info = json.loads((tmp_path / "warehouse" / ".dvk-run.lock").read_text(encoding="utf-8"))
        assert info["pid"] == holder.pid and info["since"].endswith("Z")
    finally:
        holder.stdin.close()
        _stop(holder)


def test_the_lock_is_free_again_when_its_holder_dies(tmp_path, monkeypatch):
    from dvk.run_local import run_lock_paths
    from dvk.runlock import RunLocked, run_lock

    env = _env(tmp_path)
    for key in ("DVK_AIRFLOW_HOME", "DVK_WAREHOUSE"):
        monkeypatch.setenv(key, env[key])
    holder = _start_holder(env)
    try:
        with pytest.raises(RunLocked) as locked:
            with run_lock(run_lock_paths()):
                pass
        assert locked.value.holder["pid"] == holder.pid
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        _stop(holder)
    with run_lock(run_lock_paths()):  # no stale lock to clean up by hand
        pass


MIGRATE = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from dvk import airflow_local
    airflow_local.configure()
    import airflow.utils.db  # the slow imports first, so that both migrations start together
    go = Path(sys.argv[1])
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.01)
    airflow_local.ensure_metadata_db()
    print("migrated", flush=True)
""")


def test_two_metadata_setups_at_once_on_a_fresh_home(tmp_path):
    """Two processes set up one new metadata database at once: they take turns. They take turns
    on the database (a lock beside the SQLite file), not on the Airflow home: here each has a home
    of its own and the database is set in AIRFLOW__DATABASE__SQL_ALCHEMY_CONN (what a process
    started by another with that variable set gets; with the lock in the home, this ended in
    "table ... already exists")."""
    env = _env(tmp_path)
    database = tmp_path / "airflow" / "airflow.db"
    database.parent.mkdir()
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{database}"
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", MIGRATE, str(go)], env={**env, "DVK_AIRFLOW_HOME": str(tmp_path / home)},
                         cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for home in ("home-1", "home-2")
    ]
    try:
        for p in procs:  # both have imported airflow and wait: then both migrate at once
            assert p.stdout.readline().strip() == "ready"
        go.touch()
        outputs = [p.communicate(timeout=600) for p in procs]
    finally:
        for p in procs:
            _stop(p)
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-4000:]
        assert "migrated" in out
        assert "IntegrityError" not in err and "already exists" not in err
    # and the database is usable: a third set-up finds it up to date
    third = subprocess.run([sys.executable, "-c", MIGRATE.replace("go.exists()", "True"), str(go)],
                           env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert third.returncode == 0, third.stderr[-4000:]
    assert (tmp_path / "airflow" / "airflow.db").is_file()
