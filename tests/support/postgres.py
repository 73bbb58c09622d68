"""A throw-away PostgreSQL server (Debian's postgresql, initdb + pg_ctl) in a temp folder, on a
free loopback port picked at run time; ``stop()`` it (the session fixture ``postgres_server`` in
tests/conftest.py and the services stack do)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from dvk import serve


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb refuses root: run PostgreSQL as the postgres user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class Postgres:
    folder: Path
    port: int
    pg_ctl: str

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self, name: str) -> str:
        """Create an empty database ``name`` (dropped first if it exists); its ``postgresql://`` URL.
        Tests that share the session's server each work in a database of their own."""
        import psycopg2

        con = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(f'drop database if exists "{name}"')
                cur.execute(f'create database "{name}"')
        finally:
            con.close()
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(_as_postgres([self.pg_ctl, "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=120)


def start_postgres() -> Postgres:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.fail("PostgreSQL's initdb/pg_ctl not found (install postgresql; .ci/run does)")
    folder = Path(tempfile.mkdtemp(prefix="dvk-test-pg-"))
    data = folder / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(data, "postgres")
    port = serve.free_port()
    init = subprocess.run(
        _as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
        capture_output=True, text=True, timeout=300,
    )
    assert init.returncode == 0, f"initdb failed:\n{init.stdout}\n{init.stderr}"
    started = subprocess.run(
        _as_postgres([pg_ctl, "-D", str(data), "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
                      "-l", str(data / "postgres.log"), "-w", "-t", "120", "start"]),
        capture_output=True, text=True, timeout=180,
    )
    assert started.returncode == 0, f"pg_ctl start failed:\n{started.stdout}\n{started.stderr}"
    return Postgres(folder=folder, port=port, pg_ctl=pg_ctl)
