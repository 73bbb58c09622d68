"""The one place for settings (spec section 7).

Every path the project uses is resolved here, from environment variables with defaults under the
project's local data folder (``.local/``), so that the run command, the DAGs, the tests and the
command line all agree.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

PROJECT_ROOT = Path(os.environ.get("DVK_PROJECT_ROOT", Path(__file__).resolve().parents[2]))
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DEMO_INBOX_DIR = PROJECT_ROOT / "demo" / "inbox"
LOCAL_DIR = PROJECT_ROOT / ".local"
DEFAULT_UNITS_FILE = SEEDS_DIR / "reporting_units.csv"
DEFAULT_UNIT_CHANGES_FILE = SEEDS_DIR / "unit_changes.csv"
DEFAULT_UNIT_SHARES_FILE = SEEDS_DIR / "unit_split_shares.csv"


@dataclass(frozen=True)
class Settings:
    inbox_dir: Path
    warehouse: Path
    reports_dir: Path
    quarantine_dir: Path
    due_grace_days: int = 5
    #: The first year units are expected to report (``DVK_FIRST_EXPECTED_YEAR``, default 2020: the
    #: reorganisations spec, "Reports are expected from 2020 on"); a report of an earlier year is
    #: loaded and counted, but no unit is missing for it.
    first_expected_year: int = 2020
    max_file_bytes: int = 20 * 1024 * 1024
    #: A file modified less than this many seconds ago may still be being written: it waits for the
    #: next run (``DVK_INBOX_SETTLE_SECONDS``, default 120; docs/ingest.md, "Uploading"). 0: take
    #: every file now. A Settings built in code without it also takes the environment's value.
    inbox_settle_seconds: int = field(default_factory=lambda: _settle_seconds())
    #: Where the read-only copy for analysts is published (``dvk.publish``); None: beside the
    #: warehouse, ``<warehouse dir>/published``.
    published_dir: Path | None = None
    #: How long a reader (gate, report, publish, ``dvk status``) waits for a writer that holds the
    #: warehouse before giving up, in seconds (``DVK_LOCK_WAIT_SECONDS``; ``dvk.warehouse``).
    lock_wait_seconds: float = 300.0
    #: Airflow's metadata database for ``./scripts/serve`` (``DVK_AIRFLOW_DATABASE_URL``, e.g.
    #: ``postgresql+psycopg2://airflow:...@127.0.0.1:5432/airflow``); None: SQLite under ``.local/``.
    airflow_database_url: str | None = None
    #: ``./scripts/serve``: its Airflow home, logs and pid files (``DVK_SERVE_DIR``).
    serve_dir: Path = LOCAL_DIR / "serve"
    #: ``./scripts/serve``: the port of the Airflow UI and API on 127.0.0.1 (``DVK_AIRFLOW_PORT``).
    airflow_port: int = 8080
    #: ``./scripts/serve``: ``LocalExecutor`` (default) or ``CeleryExecutor`` (``DVK_AIRFLOW_EXECUTOR``;
    #: Celery needs ``DVK_CELERY_BROKER_URL``, e.g. ``redis://127.0.0.1:6379/0``, and PostgreSQL).
    airflow_executor: str = "LocalExecutor"
    celery_broker_url: str | None = None
    #: The file-creation mask of every process that writes (``DVK_UMASK``, octal, default 027):
    #: files 0640, folders 0750, so the warehouse (raw holds the preparers' names and phones),
    #: the quarantine copies and the reports are never world-readable. See ``dvk.filemodes``.
    umask: int = 0o027
    #: The master list of reporting units, time-versioned (``code,name,kind,parent_code,aliases,
    #: valid_from,valid_to``): the ingest resolves units against it and dbt builds the unit
    #: dimension from it (``dvk.transform`` passes it in dbt's environment). None: the shipped
    #: seed ``dbt_project/seeds/reporting_units.csv`` (Hà Tĩnh city, 2019 → today).
    units_file: Path | None = None
    #: The deployment's reorganisations (``DVK_UNIT_CHANGES_FILE``, the columns of the seed
    #: ``unit_changes.csv``): successors named by the ingest's messages (rule 1) and the chain of
    #: today's geography (rule 4); dbt reads it as the ``unit_changes_file`` var. None: the shipped
    #: seed (Hà Tĩnh city's changes). A deployment with another master list names its own (a
    #: file with the header only when it has no history to map).
    unit_changes_file: Path | None = None
    #: The deployment's shares of its split units (``DVK_UNIT_SHARES_FILE``, the columns of the
    #: seed ``unit_split_shares.csv``; dbt var ``unit_shares_file``). None: the shipped seed.
    unit_shares_file: Path | None = None
    #: ``./scripts/run``'s Airflow home (``DVK_AIRFLOW_HOME``; metadata database, task logs), never
    #: the developer's own ``AIRFLOW_HOME`` (``dvk.airflow_local``).
    airflow_home: Path = LOCAL_DIR / "airflow"
    #: Where ``./scripts/run`` writes its log files, ``run-<UTC time>-<pid>.log`` (``DVK_LOG_DIR``).
    log_dir: Path = LOCAL_DIR / "logs"
    #: How many run logs are kept: the oldest beyond this number are removed when a run starts
    #: (``DVK_KEEP_RUN_LOGS``, default 20; 0 keeps them all).
    keep_run_logs: int = 20
    #: The warehouse engine (``DVK_WAREHOUSE_URL``): None (the default) or ``duckdb``: the DuckDB
    #: file of ``warehouse``; ``postgresql://user:password@host:port/dbname``: that PostgreSQL
    #: database, dbt's ``postgres`` target (docs/deployment.md, "PostgreSQL"). Never commit one
    #: with a password: set it in the environment. When it is unset, Airflow's connection
    #: ``dvk_warehouse`` in its environment form (``AIRFLOW_CONN_DVK_WAREHOUSE``, a URI or
    #: Airflow's JSON) gives it; ``DVK_WAREHOUSE_URL`` wins when both are set.
    warehouse_url: str | None = None
    #: Worker processes that parse the inbox's files (``DVK_INGEST_WORKERS``): None (the default)
    #: uses every CPU the process may use (a container's quota counted), at most 4; 1 (or 0)
    #: parses in the run's own process. A run with fewer than 200 files to read never starts
    #: workers (``dvk.ingest.parse_pool``).
    ingest_workers: int | None = None
    #: dbt's invocations forked from a process that imported dbt once (``DVK_DBT_FORKSERVER``,
    #: default on; ``0`` starts ``python -m dbt.cli.main`` for each, as before): each is still a
    #: child process of its own (``dvk.dbt_forkserver``). Always off where ``os.fork`` is missing. A
    #: Settings built in code without it also takes the environment's value.
    dbt_forkserver: bool = field(default_factory=lambda: _switch("DVK_DBT_FORKSERVER", default=True))
    #: The fork server's priming parse (``DVK_DBT_PRIME``, default on; ``0`` leaves it out): the
    #: server parses the project once from the last build's parse state, before a process's second
    #: dbt invocation or while the README's run command ingests, so that every later invocation
    #: starts about 0.7 s sooner (``dvk.dbt_forkserver``). Taken from the environment like the above.
    dbt_prime: bool = field(default_factory=lambda: _switch("DVK_DBT_PRIME", default=True))

    def __post_init__(self) -> None:
        if self.published_dir is None:
            object.__setattr__(self, "published_dir", Path(self.warehouse).parent / "published")
        if self.units_file is None:
            object.__setattr__(self, "units_file", DEFAULT_UNITS_FILE)
        if self.unit_changes_file is None:
            object.__setattr__(self, "unit_changes_file", DEFAULT_UNIT_CHANGES_FILE)
        if self.unit_shares_file is None:
            object.__setattr__(self, "unit_shares_file", DEFAULT_UNIT_SHARES_FILE)

    @property
    def warehouse_engine(self) -> str:
        """``duckdb`` or ``postgres``, from ``warehouse_url``."""
        return "postgres" if self.postgres is not None else "duckdb"

    @property
    def postgres(self) -> PostgresConnection | None:
        """The PostgreSQL warehouse's connection, or None on DuckDB."""
        return parse_warehouse_url(self.warehouse_url)

    @property
    def published_warehouse(self) -> Path:
        """The published database analysts open (read-only): ``<published_dir>/dvk.duckdb``."""
        return self.published_dir / "dvk.duckdb"

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's target/ and logs/ live beside the warehouse, never inside ``dbt_project/``."""
        return self.warehouse.parent / "dbt_target"


@dataclass(frozen=True)
class PostgresConnection:
    """The parts of a ``postgresql://`` warehouse URL (dbt's ``postgres`` profile output)."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    def __repr__(self) -> str:  # never print the password
        return f"PostgresConnection(host={self.host!r}, port={self.port}, user={self.user!r}, dbname={self.dbname!r})"

    @property
    def dsn(self) -> str:
        """A libpq connection string (psycopg2.connect(dsn))."""
        def quote(value: str) -> str:
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        parts = {"host": self.host, "port": str(self.port), "user": self.user, "dbname": self.dbname}
        if self.password:
            parts["password"] = self.password
        return " ".join(f"{key}={quote(value)}" for key, value in parts.items())


_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg2"}


def parse_warehouse_url(url: str | None, name: str = "DVK_WAREHOUSE_URL") -> PostgresConnection | None:
    """``DVK_WAREHOUSE_URL`` → None (DuckDB: unset, empty or ``duckdb``) or the PostgreSQL
    connection. Raises ValueError (without echoing the password) for anything else; ``name`` is
    the variable the message names."""
    url = (url or "").strip()
    if not url or url.lower() in ("duckdb", "duckdb:"):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in _POSTGRES_SCHEMES:
        raise ValueError(
            f"{name} must be postgresql://user:password@host:port/dbname (or unset for "
            f"DuckDB), not a {parts.scheme or 'schemeless'} URL"
        )
    dbname = unquote(parts.path.lstrip("/"))
    try:
        port = parts.port or 5432
    except ValueError:
        raise ValueError(f"{name} has an invalid port") from None
    if not parts.hostname or not parts.username or not dbname:
        raise ValueError(f"{name} must name the host, the user and the database: "
                         "postgresql://user:password@host:port/dbname")
    return PostgresConnection(
        host=parts.hostname,
        port=port,
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        dbname=dbname,
    )


AIRFLOW_CONNECTION_VARIABLE = "AIRFLOW_CONN_DVK_WAREHOUSE"


def airflow_connection_url(value: str | None) -> str | None:
    """Airflow's connection ``dvk_warehouse`` in its environment form → the warehouse URL.

    Airflow accepts a URI (``postgresql://user:password@host:5432/dbname``, also ``postgres://``)
    or JSON (``{"conn_type": "postgres", "host": …, "port": 5432, "login": …, "password": …,
    "schema": "dbname"}``: Airflow's ``schema`` is PostgreSQL's database). Either becomes the
    ``postgresql://`` URL ``DVK_WAREHOUSE_URL`` would hold; None when unset or empty. Raises
    ValueError naming the variable (never the password) for another engine or a broken value.
    """
    value = (value or "").strip()
    if not value:
        return None
    name = AIRFLOW_CONNECTION_VARIABLE
    if value.startswith("{"):
        try:
            conn = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"{name} is neither a URI nor valid JSON") from None
        if not isinstance(conn, dict):
            raise ValueError(f"{name} must be a JSON object")
        conn_type = str(conn.get("conn_type") or "").lower()
        if conn_type not in ("postgres", "postgresql"):
            raise ValueError(f"{name} must be a postgres connection, not conn_type {conn_type or 'missing'!r}")
        host, login, dbname = (str(conn.get(k) or "") for k in ("host", "login", "schema"))
        if not host or not login or not dbname:
            raise ValueError(f"{name} must name the host, the login and the database (schema)")
        try:
            port = int(conn.get("port") or 5432)
        except (TypeError, ValueError):
            raise ValueError(f"{name} has an invalid port") from None
        password = str(conn.get("password") or "")
        auth = quote(login, safe="") + (":" + quote(password, safe="") if password else "")
        url = f"postgresql://{auth}@{host}:{port}/{quote(dbname, safe='')}"
    else:
        url = value
        if urlsplit(url).scheme.lower() not in _POSTGRES_SCHEMES:
            raise ValueError(f"{name} must be a postgres connection: postgresql://user:password@host:port/dbname")
    parse_warehouse_url(url, name=name)  # the same checks as DVK_WAREHOUSE_URL, naming this variable
    return url


def _warehouse_url() -> str | None:
    """``DVK_WAREHOUSE_URL`` if set (``duckdb`` included), else Airflow's ``dvk_warehouse``."""
    own = os.environ.get("DVK_WAREHOUSE_URL", "").strip()
    if own:
        return own
    return airflow_connection_url(os.environ.get(AIRFLOW_CONNECTION_VARIABLE))


def _settle_seconds() -> int:
    return int(os.environ.get("DVK_INBOX_SETTLE_SECONDS", "120"))


def _path(name: str, default: Path | None) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else default


def _ingest_workers(value: str) -> int | None:
    if not value or value.lower() == "auto":
        return None
    try:
        workers = int(value)
    except ValueError:
        raise ValueError(f"DVK_INGEST_WORKERS must be a number of processes (1: none) or auto, not {value!r}") from None
    if workers < 0:
        raise ValueError(f"DVK_INGEST_WORKERS must not be negative, not {value!r}")
    return workers


def _switch(name: str, default: bool) -> bool:
    """An on/off setting: ``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off`` (unset or
    empty: ``default``)."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 1 (on) or 0 (off), not {value!r}")


def _umask(value: str) -> int:
    try:
        mask = int(value, 8)
    except ValueError:
        raise ValueError(f"DVK_UMASK must be an octal mask such as 027, not {value!r}") from None
    if not 0 <= mask <= 0o777:
        raise ValueError(f"DVK_UMASK must be between 000 and 777, not {value!r}")
    return mask


def get_settings() -> Settings:
    """Read the settings now (not at import time), so tests and DAG runs can change them."""
    return Settings(
        inbox_dir=_path("DVK_INBOX_DIR", DEMO_INBOX_DIR),
        warehouse=_path("DVK_WAREHOUSE", LOCAL_DIR / "warehouse" / "dvk.duckdb"),
        reports_dir=_path("DVK_REPORTS_DIR", LOCAL_DIR / "reports"),
        quarantine_dir=_path("DVK_QUARANTINE_DIR", LOCAL_DIR / "quarantine"),
        due_grace_days=int(os.environ.get("DVK_DUE_GRACE_DAYS", "5")),
        first_expected_year=int(os.environ.get("DVK_FIRST_EXPECTED_YEAR", "2020")),
        max_file_bytes=int(os.environ.get("DVK_MAX_FILE_BYTES", str(20 * 1024 * 1024))),
        inbox_settle_seconds=_settle_seconds(),
        published_dir=_path("DVK_PUBLISHED_DIR", None),
        lock_wait_seconds=float(os.environ.get("DVK_LOCK_WAIT_SECONDS", "300")),
        airflow_database_url=os.environ.get("DVK_AIRFLOW_DATABASE_URL", "").strip() or None,
        serve_dir=_path("DVK_SERVE_DIR", LOCAL_DIR / "serve"),
        airflow_port=int(os.environ.get("DVK_AIRFLOW_PORT", "8080")),
        airflow_executor=os.environ.get("DVK_AIRFLOW_EXECUTOR", "").strip() or "LocalExecutor",
        celery_broker_url=os.environ.get("DVK_CELERY_BROKER_URL", "").strip() or None,
        umask=_umask(os.environ.get("DVK_UMASK", "").strip() or "027"),
        units_file=_path("DVK_UNITS_FILE", DEFAULT_UNITS_FILE),
        unit_changes_file=_path("DVK_UNIT_CHANGES_FILE", DEFAULT_UNIT_CHANGES_FILE),
        unit_shares_file=_path("DVK_UNIT_SHARES_FILE", DEFAULT_UNIT_SHARES_FILE),
        airflow_home=_path("DVK_AIRFLOW_HOME", LOCAL_DIR / "airflow"),
        log_dir=_path("DVK_LOG_DIR", LOCAL_DIR / "logs"),
        keep_run_logs=int(os.environ.get("DVK_KEEP_RUN_LOGS", "20")),
        warehouse_url=_warehouse_url(),
        ingest_workers=_ingest_workers(os.environ.get("DVK_INGEST_WORKERS", "").strip()),
    )
