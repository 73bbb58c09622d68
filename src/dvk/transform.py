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

dbt runs in a child process, once per call: dbt's own CLI (``dbt.cli.main``) in a child forked by
this process's fork server, which imported dbt once (:mod:`dvk.dbt_forkserver`; about 1.7 s of every
invocation's start-up before; ``DVK_DBT_FORKSERVER=0``, or a platform without ``os.fork``, starts
``python -m dbt.cli.main`` each time instead). Its output is passed on line by line to this
process's stdout (the task log). When the child exits the operating system closes its DuckDB file:
no lock of dbt-duckdb's outlives the call, and no dbt state stays in a long-lived process
(``dag.test()``, a worker). The same build costs the same in-process with ``dbtRunner`` in a fresh
process (measured side by side: equal CPU, within noise; docs/benchmarks.md, "dbt's fixed costs").
dbt keeps its partial parse state
(``partial_parse.msgpack`` in the target folder) between runs: only the first run of a deployment,
or one after the project, its vars or its profile changed, parses the whole project (another
reference file or grace re-parses only the models that read it, see below). The warehouse is the
DuckDB file of ``settings.warehouse``: dbt runs in its folder and gets its file name as
``DVK_WAREHOUSE``, which ``profiles.yml`` reads, so the parse state does not depend on where the
warehouse lives. dbt's target and log folders go to ``settings.dbt_target_dir`` (beside the
warehouse, never inside ``dbt_project/``); a relative path among extra dbt arguments (``--vars``,
``--state``) is therefore read from the warehouse's folder. The project reads the deployment's
settings from dbt's environment (its ``setting()`` macro): ``settings.due_grace_days`` as
``DVK_DUE_GRACE_DAYS``, ``settings.units_file`` (the master list of units the ingest also reads) as
``DVK_UNITS_FILE``, ``settings.unit_changes_file`` and ``settings.unit_shares_file`` (the
deployment's reorganisations and split shares) as ``DVK_UNIT_CHANGES_FILE`` and
``DVK_UNIT_SHARES_FILE``, always the absolute paths of this process's settings; a var of the same
name given by hand (``--vars``) wins. Not ``--vars``: dbt parses the whole project again when its
vars change, but only the files that read an environment variable when that changes.
A failed invocation raises :class:`TransformError`, which names every failed model and test and,
for a failed data test, shows its first failing rows (read back from the warehouse with the
test's compiled query): a model's ``checks`` test has one row per failed check, naming the
model, the column and the check.

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
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from dvk import dbt_forkserver
from dvk.contract import READ_BY_DBT
from dvk.reference import units_file_with_every_column
from dvk.settings import DBT_PROJECT_DIR, Settings, get_settings

#: The ``raw.*`` tables the models read (the contract: ``dvk.contract``).
RAW_TABLES = READ_BY_DBT

# Commands that take no --target-path (dbt 1.11).
_NO_TARGET_PATH = {"debug", "deps", "init"}
# dbt runs one invocation at a time in a process (it keeps global state).
_LOCK = threading.Lock()


def _new_lock_in_child() -> None:
    # a thread that held the lock when the process forked does not exist in the child
    global _LOCK
    _LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


@dataclass(frozen=True)
class NodeFailure:
    """One dbt node (model, seed, test) that did not succeed."""

    unique_id: str
    resource_type: str
    status: str
    message: str
    failures: int | None = None
    #: a failed data test: its compiled SQL (from run_results.json), to read its failing rows
    compiled_code: str | None = None
    #: a failed data test: its first failing rows, as text (:func:`_read_failing_rows`); for a
    #: ``checks`` test one line per failed check: ``model.column: check (n failing, e.g. value)``
    rows: tuple[str, ...] = ()

    def __str__(self) -> str:
        extra = f" ({self.failures} failing rows)" if self.failures else ""
        message = " ".join((self.message or "").split())
        if len(message) > 500:
            message = message[:500] + "..."
        text = f"{self.status.upper()} {self.unique_id}{extra}: {message}".rstrip(": ")
        return "\n".join([text, *(f"      {row}" for row in self.rows)])


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


def dbt_cli_args(args: Sequence[str], settings: Settings) -> list[str]:
    """``args`` plus the project, profile and target/log paths this deployment uses (its settings
    go to dbt through the environment: :func:`dbt_child_environment`)."""
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
    if settings.warehouse_engine == "postgres" and command not in _NO_TARGET_PATH:
        options.append(("--target", "postgres"))
    for option, value in options:
        if not _has_option(args, option):
            extra += [option, value]
    return args + extra


def dbt_working_dir(settings: Settings) -> Path:
    """The folder dbt runs in: the warehouse's. ``profiles.yml`` gets the warehouse by its file
    name (``DVK_WAREHOUSE``, relative to this folder), so dbt's partial parse state, which hashes
    the profile's connection values, stays valid when the warehouse and its ``dbt_target`` folder
    are moved, copied or restored to another folder."""
    return settings.warehouse.parent


def _absolute_paths(settings: Settings) -> Settings:
    """``settings`` with the paths dbt is given made absolute: dbt runs in
    :func:`dbt_working_dir`, not in this process's folder."""
    return replace(
        settings,
        warehouse=settings.warehouse.absolute(),
        units_file=Path(settings.units_file).absolute(),
        unit_changes_file=Path(settings.unit_changes_file).absolute(),
        unit_shares_file=Path(settings.unit_shares_file).absolute(),
    )


def _dbt_values(settings: Settings) -> dict[str, str]:
    """What a dbt invocation needs in its environment: DVK_WAREHOUSE (read by profiles.yml: the
    file's name, relative to :func:`dbt_working_dir`, where dbt must run), the settings the
    project reads with its ``setting()`` macro (the grace days and the reference files: the
    environment, not ``--vars``, so that another value makes dbt re-parse the few files that
    read it, not the whole project), dbt's paths, and on PostgreSQL the connection's parts (the
    ``postgres`` output of profiles.yml)."""
    paths = dbt_paths(settings)
    values = {
        "DVK_WAREHOUSE": settings.warehouse.name,
        "DVK_DUE_GRACE_DAYS": str(int(settings.due_grace_days)),
        "DVK_FIRST_EXPECTED_YEAR": str(int(settings.first_expected_year)),
        "DVK_UNITS_FILE": str(_units_file_for_dbt(settings)),
        "DVK_UNIT_CHANGES_FILE": str(settings.unit_changes_file),
        "DVK_UNIT_SHARES_FILE": str(settings.unit_shares_file),
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
    return values


def _units_file_for_dbt(settings: Settings) -> Path:
    """The master list as dbt reads it (every column: ``dvk.reference.units_file_with_every_column``,
    a copy in ``<dbt target>/reference/`` when the deployment's list leaves columns out)."""
    return units_file_with_every_column(settings.units_file, dbt_paths(settings)["target_path"] / "reference")


def dbt_child_environment(settings: Settings, cli_args: Sequence[str] = ()) -> dict[str, str]:
    """The environment of a dbt child process (run it in :func:`dbt_working_dir`): this process's,
    plus :func:`_dbt_values`; this process's own environment is left as it is. A parse state given
    from outside (``DBT_PARTIAL_PARSE_FILE_PATH``, e.g. the test suite's one for every new
    warehouse) is passed on only to a target folder (``--target-path`` in ``cli_args``, else the
    settings') that has none of its own, and only once it exists (dbt stops on a path that names
    no file; without one it parses the project in full): the state dbt would start from,
    :func:`dvk.dbt_forkserver.saved_parse_state`, must be the given one."""
    env = {**os.environ, **_dbt_values(settings)}
    given = env.get(PARTIAL_PARSE_VARIABLE)
    cwd = dbt_working_dir(settings)
    if given is not None and dbt_forkserver.saved_parse_state(cli_args, env, str(cwd)) != Path(cwd, given):
        env.pop(PARTIAL_PARSE_VARIABLE)
    return env


@contextmanager
def _dbt_environment(settings: Settings) -> Iterator[Path]:
    """Set :func:`_dbt_values` in this process's environment for an in-process invocation
    (``dbtRunner``, bench/dbt_invoke.py) and yield :func:`dbt_working_dir`, where dbt must run."""
    values = _dbt_values(settings)
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield dbt_working_dir(settings)
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


#: dbt commands that write to the warehouse.
WRITING_COMMANDS = ("build", "run", "seed", "snapshot")
#: dbt's command line in a child process: this interpreter (the project's environment) running
#: dbt's CLI module.
DBT_COMMAND = (sys.executable, "-P", "-m", "dbt.cli.main")  # -P: not the warehouse folder on sys.path
#: dbt's saved parse state in its target folder, and dbt's variable naming one to read instead.
PARTIAL_PARSE_FILE = dbt_forkserver.PARSE_STATE_FILE
PARTIAL_PARSE_VARIABLE = dbt_forkserver.PARSE_STATE_VARIABLE
#: Lines of dbt's output kept for the error message when it fails without node results.
_TAIL_LINES = 30


def _failures_from_run_results(path: Path, since: float) -> tuple[list[NodeFailure], list[str]] | None:
    """The failed and skipped nodes of ``run_results.json`` when dbt wrote it after ``since``
    (None: no results of this invocation, e.g. dbt stopped before running any node)."""
    try:
        if path.stat().st_mtime < since:
            return None
        results = json.loads(path.read_text(encoding="utf-8")).get("results") or []
    except (OSError, ValueError):
        return None
    failures: list[NodeFailure] = []
    skipped: list[str] = []
    for r in results:
        status = str(r.get("status") or "")
        unique_id = r.get("unique_id") or "<unknown node>"
        if status in ("error", "fail", "runtime error"):
            failures.append(NodeFailure(
                unique_id=unique_id,
                resource_type=unique_id.split(".", 1)[0],
                status=status,
                message=str(r.get("message") or ""),
                failures=r.get("failures"),
                compiled_code=r.get("compiled_code") if status == "fail" else None,
            ))
        elif status == "skipped":
            skipped.append(unique_id)
    return failures, skipped


def warm_up(settings: Settings | None = None) -> None:
    """Start this process's dbt fork server now and let it make its priming parse for a build of
    the warehouse while this process does other work (:func:`dvk.dbt_forkserver.warm_up`; nothing
    where dbt runs without the server)."""
    settings = _absolute_paths(settings or get_settings())
    cli_args = dbt_cli_args(["build"], settings)
    dbt_forkserver.warm_up((cli_args, dbt_child_environment(settings, cli_args), dbt_working_dir(settings)),
                           settings)


def _run_child(cli_args: list[str], env: dict[str, str], cwd: Path, on_line: Callable[[str], None],
               forkserver: bool = True, prime: bool = True) -> int:
    """dbt's exit code, run in a child process: forked by this process's fork server (dbt imported
    once, :mod:`dvk.dbt_forkserver`; ``prime``: its priming parse allowed), else started as
    ``python -m dbt.cli.main``."""
    if forkserver and dbt_forkserver.supported():
        return dbt_forkserver.run(cli_args, env=env, cwd=cwd, on_line=on_line, prime=prime)
    with subprocess.Popen(
        [*DBT_COMMAND, *cli_args], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
        errors="replace", bufsize=1,
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            on_line(line)
        return child.wait()


def run_dbt(args: list[str], settings: Settings | None = None) -> None:
    """Run dbt with ``args`` (e.g. ``["build", "--select", "marts"]``) on the warehouse, in a child
    process; its output goes to this process's stdout as it comes.

    Raises :class:`TransformError` naming the failed nodes and tests if dbt does not succeed
    (from the invocation's ``run_results.json``; else with the end of dbt's output).
    """
    settings = _absolute_paths(settings or get_settings())  # dbt runs in another folder
    cli_args = dbt_cli_args(args, settings)
    if args and str(args[0]) in WRITING_COMMANDS:
        # what the last successful build recorded (dvk.pipeline.transform) no longer says what the
        # warehouse was built from: the next nightly build builds everything
        from dvk.changes import build_inputs_path

        build_inputs_path(settings).unlink(missing_ok=True)
    settings.dbt_target_dir.mkdir(parents=True, exist_ok=True)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    if settings.postgres is not None and args and str(args[0]) in ("build", "run"):
        load_reference_files(settings)
    tail: list[str] = []

    def echo(line: str) -> None:
        sys.stdout.write(line)
        tail.append(line.rstrip("\n"))
        del tail[:-_TAIL_LINES]

    with _LOCK:
        env = dbt_child_environment(settings, cli_args)
        started = time.time()
        returncode = _run_child(cli_args, env, dbt_working_dir(settings), echo, settings.dbt_forkserver,
                                settings.dbt_prime)
        sys.stdout.flush()
    if returncode == 0:
        return
    command = " ".join(args)
    found = _failures_from_run_results(dbt_paths(settings)["target_path"] / "run_results.json", started - 1)
    if found and (found[0] or found[1]):
        failures, skipped = found
        failures = [_with_failing_rows(failure, settings) for failure in failures]
        raise TransformError(
            f"dbt {command} failed on {warehouse_name(settings)}: "
            f"{len(failures)} node(s) failed (logs in {dbt_paths(settings)['log_path']})",
            failures,
            skipped,
        )
    last = "\n".join(line for line in tail if line.strip())
    raise TransformError(f"dbt {command} failed on {warehouse_name(settings)} (exit {returncode}):\n{last}")


#: Failing rows of a failed data test shown in its error (the test's query has them all).
FAILING_ROWS_SHOWN = 10


def format_failing_row(row: dict) -> str:
    """One failing row of a data test as a line of its error. A ``checks`` test's row (columns
    model_name, column_name, check_name, failing_rows, example) reads
    ``fct_submission.period_id: relationships: dim_period.period_id (2 failing, e.g. 2023Q5)``;
    any other test's row ``column=value, ...``."""
    if {"model_name", "column_name", "check_name", "failing_rows"} <= set(row):
        where = f"{row['model_name']}.{row['column_name']}" if row["column_name"] else str(row["model_name"])
        example = f", e.g. {row['example']}" if row.get("example") is not None else ""
        return f"{where}: {row['check_name']} ({row['failing_rows']} failing{example})"
    return ", ".join(f"{name}={value}" for name, value in row.items())


def _read_failing_rows(sql: str, settings: Settings, limit: int = FAILING_ROWS_SHOWN) -> list[dict]:
    """The first ``limit`` rows of a failed data test's compiled query, read from the warehouse
    after dbt exited (DuckDB read-only; PostgreSQL in a read-only transaction)."""
    query = f"select * from (\n{sql.strip().rstrip(';')}\n) as failing_rows limit {int(limit)}"
    if settings.postgres is not None:
        con = _pg_connect(settings)
        try:
            con.set_session(readonly=True)
            with con.cursor() as cur:
                cur.execute(query)
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row)) for row in cur.fetchall()]
        finally:
            con.close()
    from dvk import warehouse

    with warehouse.read_only(settings.warehouse) as con:
        return warehouse.query_rows(con, query)


def _with_failing_rows(failure: NodeFailure, settings: Settings) -> NodeFailure:
    """``failure`` with its failing rows when it is a failed data test whose query can be read
    again (else as it is: the rows only add detail to the message)."""
    if failure.resource_type != "test" or not failure.compiled_code:
        return failure
    try:
        rows = _read_failing_rows(failure.compiled_code, settings)
    except Exception as exc:  # noqa: BLE001 - the failure is reported either way
        return replace(failure, rows=(f"(its failing rows could not be read: {' '.join(str(exc).split())[:200]})",))
    return replace(failure, rows=tuple(format_failing_row(row) for row in rows))


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
        "reporting_units": _units_file_for_dbt(settings),
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
    """Close the DuckDB instance dbt-duckdb keeps open for the life of a process that ran dbt
    in-process (``dbtRunner``; :func:`run_dbt` runs dbt in a child process, which needs none of
    this). Harmless when dbt never ran here; imports nothing when dbt-duckdb was never loaded.
    """
    module = sys.modules.get("dbt.adapters.duckdb.connections")
    if module is None:
        return
    DuckDBConnectionManager = module.DuckDBConnectionManager
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


#: What ``build(data_only=True)`` selects: the tables and incremental models the raw tables feed,
#: and every data test downstream of them. Left out: the seeds, the snapshot of the unit list, the
#: views (a view reads the data as it is now: its definition did not change) and the tables and
#: tests of the reference data alone.
DATA_ONLY_SELECTION = (
    "source:raw+,config.materialized:table",
    "source:raw+,config.materialized:incremental",
    "source:raw+,resource_type:test",
)


def build(
    settings: Settings | None = None,
    select: str | None = None,
    *,
    full_refresh: bool = False,
    unit_tests: bool = True,
    data_only: bool = False,
) -> None:
    """``dbt build`` (seeds, the unit snapshot, staging, intermediate, marts, every dbt data and
    unit test) on the warehouse.

    ``unit_tests=False`` leaves out dbt's unit tests (``--exclude-resource-type unit_test``):
    they test the SQL's logic on fixed inputs, not the data, so the nightly pipeline skips them
    (dbt's advice: run them in development and CI) and the test command runs them.

    Idempotent: the tables are rebuilt from ``raw.*`` and the seeds; the incremental facts
    (``fct_model``, ``fct_model_year``) only recompute the unit-years with newly loaded
    submissions, with the same result as a rebuild. ``full_refresh=True`` rebuilds them from
    scratch (``--full-refresh``; needed after changing their SQL). ``data_only=True`` builds only
    what the raw tables feed (:data:`DATA_ONLY_SELECTION`): for a warehouse last built successfully
    from the same project and reference data, where only submissions arrived (the pipeline decides,
    ``dvk.pipeline.transform``). Works on empty raw tables (the
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
    if select and data_only:
        raise ValueError("build(): select and data_only exclude each other")
    args = ["build"]
    if select:
        args += ["--select", select]
    if data_only:
        args += ["--select", *DATA_ONLY_SELECTION]
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
