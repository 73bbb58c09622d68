"""Run the dbt project (``dbt_project/``) on the warehouse, in-process.

    from dvk.transform import build, docs, run_dbt
    build()                               # dbt build: seeds, snapshot, models, data + unit tests
    build(select="marts")                 # dbt build --select marts
    build(full_refresh=True)              # rebuild the incremental facts from scratch
    docs()                                # dbt docs generate: the static site, returns index.html
    run_dbt(["test", "--select", "fct_model"])

or from a shell::

    python -m dvk.transform               # = build()
    python -m dvk.transform build --select +fct_model
    python -m dvk.transform build --full-refresh
    python -m dvk.transform docs          # = docs() (also: docs generate)

dbt is invoked with ``dbtRunner`` (dbt's programmatic entry point). The warehouse is the DuckDB
file of ``settings.warehouse`` (exported to dbt as ``DVK_WAREHOUSE``, which ``profiles.yml``
reads); dbt's target and log folders go to ``settings.dbt_target_dir`` (beside the warehouse,
never inside ``dbt_project/``); ``settings.due_grace_days`` becomes the ``due_grace_days`` var and ``settings.units_file`` (the
master list of units the ingest also reads) the ``units_file`` var, ``settings.unit_changes_file`` and
``settings.unit_shares_file`` (the deployment's reorganisations and split shares) the ``unit_changes_file``
and ``unit_shares_file`` vars.
A failed invocation raises :class:`TransformError`, which names every failed model and test.

With ``settings.warehouse_url`` a ``postgresql://`` URL (``DVK_WAREHOUSE_URL``), dbt runs the
same project on that PostgreSQL database instead: the profile's ``postgres`` target, whose
connection values are exported from the URL (``DVK_PG_HOST``, ``DVK_PG_PORT``, ``DVK_PG_USER``,
``DVK_PG_DBNAME`` and the password as ``DBT_ENV_SECRET_DVK_PG_PASSWORD``, which dbt scrubs from
its logs). The server cannot read this machine's files, so before ``dbt build`` / ``dbt run``
the reference files (units, changes, shares) are copied into ``raw.reference_<seed>`` tables
(:func:`load_reference_files`). See docs/deployment.md, "PostgreSQL".
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from dvk.contract import READ_BY_DBT
from dvk.settings import DBT_PROJECT_DIR, Settings, get_settings

#: The ``raw.*`` tables the models read (the contract: ``dvk.contract``).
RAW_TABLES = READ_BY_DBT

# Commands that take no --target-path (dbt 1.11).
_NO_TARGET_PATH = {"debug", "deps", "init"}
# dbt runs one invocation at a time in a process (it keeps global state).
_LOCK = threading.Lock()


@dataclass(frozen=True)
class NodeFailure:
    """One dbt node (model, seed, test) that did not succeed."""

    unique_id: str
    resource_type: str
    status: str
    message: str
    failures: int | None = None

    def __str__(self) -> str:
        extra = f" ({self.failures} failing rows)" if self.failures else ""
        message = " ".join((self.message or "").split())
        if len(message) > 500:
            message = message[:500] + "..."
        return f"{self.status.upper()} {self.unique_id}{extra}: {message}".rstrip(": ")


class TransformError(RuntimeError):
    """dbt did not succeed. ``failures`` lists the failed nodes; ``skipped`` the ones not run."""

    def __init__(
        self,
        message: str,
        failures: Sequence[NodeFailure] = (),
        skipped: Sequence[str] = (),
    ) -> None:
        self.failures = list(failures)
        self.skipped = list(skipped)
        lines = [message]
        lines += [f"  - {failure}" for failure in self.failures]
        if self.skipped:
            shown = ", ".join(self.skipped[:20])
            more = f" and {len(self.skipped) - 20} more" if len(self.skipped) > 20 else ""
            lines.append(f"  skipped because of an upstream failure: {shown}{more}")
        super().__init__("\n".join(lines))


def dbt_paths(settings: Settings) -> dict[str, Path]:
    """Where dbt reads its project and profile and writes its target and logs."""
    target = settings.dbt_target_dir
    return {
        "project_dir": DBT_PROJECT_DIR,
        "profiles_dir": DBT_PROJECT_DIR,
        "target_path": target,
        "log_path": target / "logs",
    }


def _has_option(args: Sequence[str], option: str) -> bool:
    return any(a == option or a.startswith(option + "=") for a in args)


def _merge_units_file(args: list[str], units_file: str | dict[str, str]) -> list[str]:
    """Given ``--vars`` without ``units_file`` (or the other reference files' vars): add them, so
    dbt and the ingest read one master list and one list of changes."""
    files = units_file if isinstance(units_file, dict) else {"units_file": units_file}
    for i, arg in enumerate(args):
        if arg == "--vars" and i + 1 < len(args):
            at, text = i + 1, args[i + 1]
        elif arg.startswith("--vars="):
            at, text = i, arg[len("--vars="):]
        else:
            continue
        given = yaml.safe_load(text) or {}
        if isinstance(given, dict) and not set(files) <= set(given):
            given = {**files, **given}
            merged = json.dumps(given)
            args = [*args[:at], merged if at == i + 1 else f"--vars={merged}", *args[at + 1:]]
        return args
    return args


def dbt_cli_args(args: Sequence[str], settings: Settings) -> list[str]:
    """``args`` plus the project, profile, target/log paths and vars this deployment uses."""
    args = [str(a) for a in args]
    if not args:
        raise ValueError("run_dbt needs a dbt command, e.g. ['build']")
    paths = dbt_paths(settings)
    command = args[0]
    extra: list[str] = []
    options = [
        ("--project-dir", str(paths["project_dir"])),
        ("--profiles-dir", str(paths["profiles_dir"])),
        ("--log-path", str(paths["log_path"])),
    ]
    if command not in _NO_TARGET_PATH:
        options.append(("--target-path", str(paths["target_path"])))
    files = {
        "units_file": str(settings.units_file),
        "unit_changes_file": str(settings.unit_changes_file),
        "unit_shares_file": str(settings.unit_shares_file),
    }
    our_vars = {"due_grace_days": int(settings.due_grace_days), **files}
    options.append(("--vars", json.dumps(our_vars)))
    args = _merge_units_file(args, files)
    if settings.warehouse_engine == "postgres" and command not in _NO_TARGET_PATH:
        options.append(("--target", "postgres"))
    for option, value in options:
        if not _has_option(args, option):
            extra += [option, value]
    return args + extra


@contextmanager
def _dbt_environment(settings: Settings) -> Iterator[None]:
    """Export DVK_WAREHOUSE (read by profiles.yml) and dbt's paths for one invocation, and on
    PostgreSQL the connection's parts (the ``postgres`` output of profiles.yml)."""
    paths = dbt_paths(settings)
    values = {
        "DVK_WAREHOUSE": str(settings.warehouse),
        "DBT_TARGET_PATH": str(paths["target_path"]),
        "DBT_LOG_PATH": str(paths["log_path"]),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    pg = settings.postgres
    if pg is not None:
        values.update({
            "DVK_PG_HOST": pg.host,
            "DVK_PG_PORT": str(pg.port),
            "DVK_PG_USER": pg.user,
            "DBT_ENV_SECRET_DVK_PG_PASSWORD": pg.password,
            "DVK_PG_DBNAME": pg.dbname,
        })
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def _collect_failures(result) -> tuple[list[NodeFailure], list[str]]:
    failures: list[NodeFailure] = []
    skipped: list[str] = []
    for node_result in getattr(result, "results", None) or []:
        status = str(getattr(node_result, "status", ""))
        node = getattr(node_result, "node", None)
        unique_id = getattr(node, "unique_id", None) or "<unknown node>"
        if status in ("error", "fail", "runtime error"):
            failures.append(
                NodeFailure(
                    unique_id=unique_id,
                    resource_type=str(getattr(node, "resource_type", "")),
                    status=status,
                    message=str(getattr(node_result, "message", "") or ""),
                    failures=getattr(node_result, "failures", None),
                )
            )
        elif status == "skipped":
            skipped.append(unique_id)
    return failures, skipped


def run_dbt(args: list[str], settings: Settings | None = None) -> None:
    """Invoke dbt with ``args`` (e.g. ``["build", "--select", "marts"]``) on the warehouse.

    Raises :class:`TransformError` naming the failed nodes and tests if dbt does not succeed.
    """
    from dbt.cli.main import dbtRunner

    settings = settings or get_settings()
    cli_args = dbt_cli_args(args, settings)
    settings.dbt_target_dir.mkdir(parents=True, exist_ok=True)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    if settings.postgres is not None and args and str(args[0]) in ("build", "run"):
        load_reference_files(settings)
    with _LOCK, _dbt_environment(settings):
        res = dbtRunner().invoke(cli_args)
    if res.success:
        return
    command = " ".join(args)
    if res.exception is not None:
        raise TransformError(
            f"dbt {command} failed on {warehouse_name(settings)}: {res.exception}"
        ) from res.exception
    failures, skipped = _collect_failures(res.result)
    raise TransformError(
        f"dbt {command} failed on {warehouse_name(settings)}: "
        f"{len(failures)} node(s) failed (logs in {dbt_paths(settings)['log_path']})",
        failures,
        skipped,
    )


def warehouse_name(settings: Settings) -> str:
    """The warehouse in messages: the DuckDB file, or the PostgreSQL database (no password)."""
    pg = settings.postgres
    if pg is None:
        return str(settings.warehouse)
    return f"postgresql://{pg.user}@{pg.host}:{pg.port}/{pg.dbname}"


def _pg_connect(settings: Settings):
    import psycopg2

    return psycopg2.connect(settings.postgres.dsn)


def load_reference_files(settings: Settings) -> None:
    """PostgreSQL: copy the deployment's reference files (``units_file``, ``unit_changes_file``,
    ``unit_shares_file``) into ``raw.reference_<seed>`` tables, every column text (as DuckDB's
    ``read_csv(all_varchar)`` reads them; the macro ``reference_file`` selects from them). One
    transaction: the three tables are replaced together or not at all."""
    import csv

    files = {
        "reporting_units": settings.units_file,
        "unit_changes": settings.unit_changes_file,
        "unit_split_shares": settings.unit_shares_file,
    }
    con = _pg_connect(settings)
    try:
        with con, con.cursor() as cur:
            cur.execute("create schema if not exists raw")
            for seed, path in files.items():
                with open(path, newline="", encoding="utf-8-sig") as handle:
                    header = next(csv.reader(handle), None)
                    if not header:
                        raise TransformError(f"the reference file {path} has no header row")
                    names = [name.strip().lower() for name in header]
                    columns = ", ".join('"' + name.replace('"', '""') + '" text' for name in names)
                    cur.execute(f"drop table if exists raw.reference_{seed}")
                    cur.execute(f"create table raw.reference_{seed} ({columns})")
                    handle.seek(0)
                    cur.copy_expert(
                        f"copy raw.reference_{seed} from stdin with (format csv, header true)", handle
                    )
    finally:
        con.close()


def missing_raw_tables(settings: Settings | None = None) -> list[str]:
    """The ``raw.*`` tables dbt reads that the warehouse does not have (all if no warehouse).

    Read-only, waiting like every reader (``dvk.warehouse``) for a writer that holds the file;
    a database an earlier dbt invocation of this process still holds is released first (DuckDB
    refuses a read-only connection beside a read-write one in the same process)."""
    from dvk import warehouse

    settings = settings or get_settings()
    if settings.postgres is not None:
        con = _pg_connect(settings)
        try:
            with con.cursor() as cur:
                cur.execute("select table_name from information_schema.tables where table_schema = 'raw'")
                present = {row[0] for row in cur.fetchall()}
        finally:
            con.close()
        return [f"raw.{name}" for name in RAW_TABLES if name not in present]
    if not settings.warehouse.exists():
        return [f"raw.{name}" for name in RAW_TABLES]
    release_dbt_duckdb()
    with warehouse.read_only(settings.warehouse) as con:
        present = warehouse.table_names(con, "raw")
    return [f"raw.{name}" for name in RAW_TABLES if name not in present]


def release_dbt_duckdb() -> None:
    """Close the DuckDB instance dbt-duckdb keeps open for the life of the process.

    Until then the warehouse stays held read-write by this process, and any other connection to
    it (the gate's read-only one, another process) is refused. Harmless when dbt never ran.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def build(
    settings: Settings | None = None,
    select: str | None = None,
    *,
    full_refresh: bool = False,
    unit_tests: bool = True,
) -> None:
    """``dbt build`` (seeds, the unit snapshot, staging, intermediate, marts, every dbt data and
    unit test) on the warehouse.

    ``unit_tests=False`` leaves out dbt's unit tests (``--exclude-resource-type unit_test``):
    they test the SQL's logic on fixed inputs, not the data, so the nightly pipeline skips them
    (dbt's advice: run them in development and CI) and the test command runs them.

    Idempotent: the tables are rebuilt from ``raw.*`` and the seeds; the incremental facts
    (``fct_model``, ``fct_model_year``) only recompute the unit-years with newly loaded
    submissions, with the same result as a rebuild. ``full_refresh=True`` rebuilds them from
    scratch (``--full-refresh``; needed after changing their SQL). Works on empty raw tables (the
    marts are then empty, dims aside). Raises :class:`TransformError` if the raw tables are
    missing (run the ingest first) or if any model, seed or test fails.
    """
    settings = settings or get_settings()
    missing = missing_raw_tables(settings)
    if missing:
        raise TransformError(
            f"the warehouse {warehouse_name(settings)} lacks {', '.join(missing)}: "
            "run the ingest (dvk.ingest) before the transform"
        )
    args = ["build"]
    if select:
        args += ["--select", select]
    if full_refresh:
        args.append("--full-refresh")
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    run_dbt(args, settings)


def docs(settings: Settings | None = None) -> Path:
    """``dbt docs generate --static``: the documentation site of the project (models, columns,
    tests, lineage, the exposure) with the warehouse's catalog, written to
    ``settings.dbt_target_dir`` (``index.html`` with ``manifest.json`` and ``catalog.json``
    beside it, and ``static_index.html``, one self-contained file to open without a server).

    Run it after :func:`build` (the catalog describes the tables as built). Returns the path of
    ``index.html``; raises :class:`TransformError` if dbt fails.
    """
    settings = settings or get_settings()
    missing = missing_raw_tables(settings)
    if missing:
        raise TransformError(
            f"the warehouse {warehouse_name(settings)} lacks {', '.join(missing)}: "
            "run the ingest (dvk.ingest) and the transform before the docs"
        )
    run_dbt(["docs", "generate", "--static"], settings)
    return dbt_paths(settings)["target_path"] / "index.html"


def main(argv: list[str] | None = None) -> int:
    """``python -m dvk.transform …`` = ``dvk transform …`` (options and usage: :mod:`dvk.cli`)."""
    from dvk.cli import main as dvk

    return dvk(["transform", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
