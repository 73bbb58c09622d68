"""A throw-away PostgreSQL server on this machine, for the tests and the benchmarks.

    server = start(prefix="dvk-test-pg-")     # initdb + pg_ctl in a temp folder, a free loopback port
    url = server.new_database("dvk")          # postgresql://postgres@127.0.0.1:<port>/dvk
    server.stop()                             # stop it; remove=True also deletes its folder

Debian's ``postgresql`` package (``initdb``/``pg_ctl`` on PATH or under
``/usr/lib/postgresql/<version>/bin``). ``initdb`` refuses root, so as root every command runs as
the ``postgres`` user. Trust authentication on 127.0.0.1 only: never a deployment's server
(docs/deployment.md describes that one).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's programs are missing, or the server would not initialise or start."""


def pg_bin(name: str) -> str:
    """The path of one of PostgreSQL's programs (the newest version installed)."""
    installed = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                       key=lambda path: [int(part) for part in Path(path).parts[-3].split(".") if part.isdigit()])
    found = shutil.which(name) or (installed[-1] if installed else None)
    if not found:
        raise PostgresUnavailable(f"PostgreSQL's {name} not found: install postgresql (apt-get install postgresql)")
    return found


def as_postgres(cmd: list[str]) -> list[str]:
    """``cmd`` as the ``postgres`` user when we are root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PgServer:
    folder: Path
    port: int
    pg_ctl: str

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database (Airflow's metadata database in the tests)."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def connect(self, dbname: str = "postgres", user: str = "postgres"):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=user, dbname=dbname)

    def admin(self, sql: str, dbname: str = "postgres") -> None:
        """Run one statement outside a transaction (``create database`` needs that)."""
        con = self.connect(dbname)
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(sql)
        finally:
            con.close()

    def new_database(self, name: str) -> str:
        """An empty database ``name`` (dropped first, sessions on it closed); its ``postgresql://``
        URL (``DVK_WAREHOUSE_URL``). Users of one server each work in a database of their own."""
        self.admin(f'drop database if exists "{name}" with (force)')
        self.admin(f'create database "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self, remove: bool = False) -> None:
        subprocess.run(as_postgres([self.pg_ctl, "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=120)
        if remove:
            shutil.rmtree(self.folder, ignore_errors=True)


def start(prefix: str = "dvk-pg-", settings: dict[str, str] | None = None) -> PgServer:
    """initdb and start a server in a new temp folder named ``prefix…`` on a free loopback port;
    ``settings`` are extra ``-c name=value`` server settings. Raises :class:`PostgresUnavailable`."""
    from dvk.serve import free_port

    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    data = folder / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(data, "postgres")
    port = free_port()
    init = subprocess.run(as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                                       "--locale=C.UTF-8"]), capture_output=True, text=True, timeout=300)
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise PostgresUnavailable(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    options += "".join(f" -c {k}={v}" for k, v in (settings or {}).items())
    started = subprocess.run(as_postgres([pg_ctl, "-D", str(data), "-o", options, "-l", str(data / "postgres.log"),
                                          "-w", "-t", "120", "start"]), capture_output=True, text=True, timeout=180)
    if started.returncode != 0:
        log = data / "postgres.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise PostgresUnavailable(f"pg_ctl start failed (folder {folder}):\n{started.stdout}\n{started.stderr}\n{tail}")
    return PgServer(folder=folder, port=port, pg_ctl=pg_ctl)
