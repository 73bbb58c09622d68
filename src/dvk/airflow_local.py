"""Run the project's DAGs through Airflow on this machine: SQLite metadata, no servers.

``configure()`` must run before anything imports ``airflow``: Airflow reads its configuration at
import time. The Airflow home defaults to ``.local/airflow`` under the project (override with
``DVK_AIRFLOW_HOME``), so a developer's own ``AIRFLOW_HOME`` is never touched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dvk.settings import PROJECT_ROOT, get_settings

DAGS_FOLDER = PROJECT_ROOT / "dags"


def airflow_home() -> Path:
    """The Airflow home of local runs (``settings.airflow_home``, ``DVK_AIRFLOW_HOME``)."""
    return get_settings().airflow_home


def configure(home: Path | None = None) -> Path:
    """Point Airflow at a local home, the project's dags folder and a SQLite database."""
    if "airflow" in __import__("sys").modules:
        # Too late to change the configuration of this process; the caller must configure first.
        import airflow.configuration as conf

        if Path(conf.AIRFLOW_HOME).resolve() != (home or airflow_home()).resolve():
            raise RuntimeError("dvk.airflow_local.configure() must run before airflow is imported")
    home = (home or airflow_home()).resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(home)
    defaults = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    return home


#: Held while the metadata database is created or migrated (in the Airflow home).
MIGRATE_LOCK_NAME = ".airflow-db-migrate.lock"
#: What the last migration left (in the Airflow home): the Airflow packages and database it was
#: made for, and the revision it left the database at (``_migration_stamp``).
MIGRATED_STAMP_NAME = ".dvk-airflow-db-migrated.json"


def ensure_metadata_db() -> None:
    """Create or migrate the Airflow metadata database (idempotent), with the project's pool
    (``dvk_warehouse``, ``dvk.pools``).

    A database that an earlier call migrated, for the same Airflow packages and the same database,
    and that is still at the revision that call left it at, is not migrated again: Airflow's
    ``upgradedb`` loads every table model and its migration scripts to find nothing to do (0.4 s
    of a README run that brings nothing new, docs/benchmarks.md). Anything else (a first run, another Airflow version or provider,
    another database, a database at another revision, e.g. restored from an older backup) runs
    ``upgradedb`` as before.

    Safe to run from two processes at once: they take turns on a lock file (:func:`_migrate_lock_path`:
    beside a SQLite database, whatever the processes' Airflow homes), so the second one finds the
    database up to date instead of creating the same tables and rows again (on a fresh database that
    used to end in ``sqlite3.IntegrityError`` or "table ... already exists")."""
    import json

    from airflow.configuration import AIRFLOW_HOME

    from dvk.filemodes import write_text_atomic
    from dvk.pools import ensure_pool
    from dvk.runlock import wait_lock

    home = Path(AIRFLOW_HOME)
    stamp_path = home / MIGRATED_STAMP_NAME
    with wait_lock(_migrate_lock_path(home)):
        current = _current_revision()
        want = _migration_stamp(current)
        try:
            stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stamp = None
        if current is None or stamp != want:
            from airflow.utils.db import upgradedb

            stamp_path.unlink(missing_ok=True)
            upgradedb()
            write_text_atomic(stamp_path, json.dumps({**want, "revision": _current_revision()}))
        ensure_pool()


def _migrate_lock_path(home: Path) -> Path:
    """The lock that :func:`ensure_metadata_db` holds: beside the database file when it is SQLite,
    so that every process using that file takes turns, whatever its Airflow home (a process started
    with ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` set keeps that database in another home); else in
    the home (a database server: Airflow's migration also takes the server's own lock)."""
    url = _metadata_db_url()
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        return database.with_name(f"{database.name}.dvk-migrate.lock")
    return home / MIGRATE_LOCK_NAME


def _metadata_db_url():
    """The metadata database's address as Airflow is configured (a SQLAlchemy ``URL``)."""
    from airflow.configuration import conf
    from sqlalchemy.engine import make_url

    return make_url(conf.get("database", "sql_alchemy_conn"))


def _migration_stamp(revision: str | None) -> dict:
    """What a migration is valid for: the installed Airflow distributions (core and providers, whose
    database managers ``upgradedb`` also migrates), the external managers configured, a digest of
    the database's address without its password, and the revision."""
    import hashlib
    from importlib import metadata

    from airflow.configuration import conf

    packages = sorted({(d.metadata["Name"].lower(), d.version) for d in metadata.distributions()
                       if (d.metadata["Name"] or "").lower().startswith("apache-airflow")})
    address = _metadata_db_url().set(password=None).render_as_string()
    return {
        "packages": [list(p) for p in packages],
        "external_db_managers": conf.get("database", "external_db_managers", fallback=""),
        "database": hashlib.sha256(address.encode("utf-8")).hexdigest(),
        "revision": revision,
    }


def _current_revision() -> str | None:
    """The metadata database's Alembic revision; None when it has none (a new database)."""
    from airflow import settings
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with settings.engine.connect() as connection:
            return connection.execute(text("select version_num from alembic_version")).scalar()
    except DBAPIError:  # no such table (nothing migrated yet), or no database: upgradedb says which
        return None


@dataclass
class DagRunOutcome:
    dag_id: str
    state: str
    tasks: dict[str, str] = field(default_factory=dict)
    #: seconds each task ran (same keys as ``tasks``)
    durations: dict[str, float] = field(default_factory=dict)
    #: what the run printed, when the caller captured it (``dvk.runlog``)
    log_text: str = ""

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    @property
    def failed_tasks(self) -> list[str]:
        return sorted(t for t, s in self.tasks.items() if s in {"failed", "upstream_failed"})


def load_dag(dag_id: str):
    """Parse the dags folder and return one DAG, failing loudly on import errors."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise KeyError(f"No DAG {dag_id!r} in {DAGS_FOLDER}")
    return dag


def run_dag(dag_id: str, conf: dict | None = None) -> DagRunOutcome:
    """Execute one run of ``dag_id`` with ``dag.test()`` (real Airflow scheduling, in-process).

    ``dag.test()`` serialises the dags folder to the metadata database first (Airflow 3.1+).
    """
    dag = load_dag(dag_id)
    run = dag.test(run_conf=conf or {})
    tasks, durations = {}, {}
    for ti in run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        tasks[key] = str(ti.state.value if hasattr(ti.state, "value") else ti.state)
        if ti.start_date and ti.end_date:
            durations[key] = (ti.end_date - ti.start_date).total_seconds()
    state = run.state.value if hasattr(run.state, "value") else str(run.state)
    return DagRunOutcome(dag_id=dag_id, state=str(state), tasks=tasks, durations=durations)
