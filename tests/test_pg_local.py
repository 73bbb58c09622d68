"""dvk.pg_local without a server: what a machine without PostgreSQL is told."""

from __future__ import annotations

import pytest

from dvk import pg_local


def test_a_missing_program_says_what_to_install(monkeypatch):
    monkeypatch.setattr(pg_local.shutil, "which", lambda name: None)
    monkeypatch.setattr(pg_local.glob, "glob", lambda pattern: [])
    with pytest.raises(pg_local.PostgresUnavailable, match=r"initdb not found: install postgresql"):
        pg_local.start()


def test_the_newest_installed_version_is_used(monkeypatch):
    monkeypatch.setattr(pg_local.shutil, "which", lambda name: None)
    monkeypatch.setattr(pg_local.glob, "glob",
                        lambda pattern: [pattern.replace("*", v) for v in ("13", "15", "14")])
    assert pg_local.pg_bin("pg_ctl") == "/usr/lib/postgresql/15/bin/pg_ctl"


def test_root_runs_the_server_as_postgres(monkeypatch):
    monkeypatch.setattr(pg_local.os, "geteuid", lambda: 0)
    assert pg_local.as_postgres(["initdb"]) == ["runuser", "-u", "postgres", "--", "initdb"]
    monkeypatch.setattr(pg_local.os, "geteuid", lambda: 1000)
    assert pg_local.as_postgres(["initdb"]) == ["initdb"]
