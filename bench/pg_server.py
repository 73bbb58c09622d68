"""A throw-away PostgreSQL server for the benchmarks (Debian's postgresql: initdb + pg_ctl as the
``postgres`` user when run as root), in a temp folder, on a free loopback port; ``stop()`` removes
it. The same steps as tests/support/postgres.py, without pytest (bench/ never imports tests/)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found (install postgresql)")
    return found


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PgServer:
    folder: Path
    port: int
    pg_ctl: str

    def connect(self, dbname: str = "postgres", user: str = "postgres"):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=user, dbname=dbname)

    def admin(self, sql: str, dbname: str = "postgres") -> None:
        con = self.connect(dbname)
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(sql)
        finally:
            con.close()

    def new_database(self, name: str) -> str:
        """An empty database ``name`` (dropped first); its ``postgresql://`` URL (DVK_WAREHOUSE_URL)."""
        self.admin(f'drop database if exists "{name}" with (force)')
        self.admin(f'create database "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(_as_postgres([self.pg_ctl, "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=120)
        shutil.rmtree(self.folder, ignore_errors=True)


def start(settings: dict[str, str] | None = None) -> PgServer:
    """initdb and start a server; ``settings`` are extra ``-c name=value`` server settings."""
    from dvk.serve import free_port

    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    folder = Path(tempfile.mkdtemp(prefix="dvk-bench-pg-"))
    data = folder / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(data, "postgres")
    port = free_port()
    init = subprocess.run(_as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                                        "--locale=C.UTF-8"]), capture_output=True, text=True, timeout=300)
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    options += "".join(f" -c {k}={v}" for k, v in (settings or {}).items())
    started = subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-o", options, "-l", str(data / "postgres.log"),
                                           "-w", "-t", "120", "start"]), capture_output=True, text=True, timeout=180)
    if started.returncode != 0:
        raise RuntimeError(f"pg_ctl start failed:\n{started.stdout}\n{started.stderr}")
    return PgServer(folder=folder, port=port, pg_ctl=pg_ctl)
