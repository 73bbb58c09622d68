"""dbt build time against the same compiled SQL run directly in DuckDB, and dbt's fixed start-up.

    .venv/bin/python bench/direct_sql.py --warehouse W                # 5 runs, medians
    .venv/bin/python bench/direct_sql.py --warehouse W --runs 7 --verify --json out.json
    .venv/bin/python bench/direct_sql.py --warehouse W --variants     # + no unit tests, threads 4

``W`` is a warehouse that has the ``raw.*`` tables (``python -m dvk.ingest``); it is never written
to: every run starts from a fresh copy of it (``--workdir``, default a temporary folder), one for
dbt and one for the direct run, so both start from the same raw-only state.

What is compared, per run (the order of dbt and direct alternates from run to run):

* **dbt build**: ``dbt build`` as the project invokes it (:func:`dvk.transform.run_dbt`: the
  project and profiles dirs, the settings in its environment, ``DVK_WAREHOUSE``), in a child
  process (dbt's CLI, as the project runs it), with the target and log dirs in the work dir (kept
  from run to run, so dbt's partial parse is warm as it is beside a real warehouse). The child
  closes and checkpoints the database when it ends, as the direct run's ``close()`` does
  (``dvk.transform.release_dbt_duckdb`` stays in the call for a dbt run in-process: a no-op now). One untimed warm-up build
  comes first (imports, first parse). ``--fresh-process`` times each dbt invocation as a new
  ``python`` process instead (imports and interpreter start included, as ``python -m
  dvk.transform build`` from a shell or a DAG task).
* **direct**: the SQL dbt compiled (``dbt compile --full-refresh`` once, up front, on a copy of
  the raw warehouse; :func:`compile_project`, :func:`load_plan`) run by :func:`run_direct` in
  one DuckDB connection: seeds with ``read_csv`` (the seed's ``column_types``), the snapshot as
  its first build (the select plus the ``dbt_scd_id``, ``dbt_updated_at``, ``dbt_valid_from``,
  ``dbt_valid_to`` columns dbt adds), every model ``create or replace view|table ... as
  <compiled>`` (the incremental facts as a full build, then their post-hooks), then every data
  test as ``select count(*) ... from (<compiled test>)`` checked for 0 failures. Unit tests are
  dbt-only fixtures: skipped.
* **fixed start-up**: :func:`fixed_startup`, a ``dbt build`` whose selector matches nothing.

``--verify`` checks, on the first run, that the direct run built the same relations as dbt: the
same schemas and relation names, equal row counts for every table and view, and equal contents
of every marts table (except the snapshot's run timestamps).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dvk.settings import DBT_PROJECT_DIR, get_settings  # noqa: E402
from dvk.transform import release_dbt_duckdb, run_dbt  # noqa: E402
from dvk.warehouse import quote_ident as _quote, quote_string as _sql_string  # noqa: E402

#: A selector that matches no node: dbt loads the project, the profile and the manifest, then
#: stops with "Nothing to do" (the selection warns that it matches nothing).
NOTHING_SELECTOR = "tag:__dvk_bench_matches_nothing__"

#: Columns whose values are the time of the run (the snapshot's), left out of content checks.
RUN_TIME_COLUMNS = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "recorded_from")


# --------------------------------------------------------------------------------------------
# Plan: what dbt would run, from the compiled manifest
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One node of the plan: a seed, the snapshot, a model or a data test."""

    unique_id: str
    resource_type: str  # seed | snapshot | model | test
    name: str
    database: str
    schema: str
    alias: str
    materialized: str  # seed | snapshot | view | table | incremental | ephemeral | test | ...
    compiled_code: str
    depends_on: tuple[str, ...] = ()
    #: seeds: the CSV file, its delimiter and its configured column types
    seed_path: Path | None = None
    delimiter: str = ","
    column_types: dict = field(default_factory=dict)
    #: models: hook SQL as configured ({{ this }} and ref() are rendered when run)
    post_hooks: tuple[str, ...] = ()
    pre_hooks: tuple[str, ...] = ()
    #: snapshot (strategy, unique_key, ...) or test (severity, fail_calc, warn_if, ...) config
    config: dict = field(default_factory=dict)

    @property
    def relation(self) -> str:
        return ".".join(_quote(part) for part in (self.database, self.schema, self.alias))


def _settings_for(warehouse: Path):
    return dataclasses.replace(get_settings(), warehouse=Path(warehouse).resolve())


def _dbt_args(args: Sequence[str], target_dir: Path, profiles_dir: Path | None = None) -> list[str]:
    target_dir = Path(target_dir).resolve()
    out = [*args, "--target-path", str(target_dir), "--log-path", str(target_dir / "logs")]
    if profiles_dir is not None:
        out += ["--profiles-dir", str(Path(profiles_dir).resolve())]
    return out


@contextlib.contextmanager
def _quiet(enabled: bool = True):
    """Send dbt's console log (stdout) to nowhere; its file log in the target dir stays."""
    if not enabled:
        yield
        return
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield


def invoke_dbt(
    args: Sequence[str],
    warehouse: Path,
    target_dir: Path,
    *,
    profiles_dir: Path | None = None,
    quiet: bool = True,
) -> None:
    """``dvk.transform.run_dbt(args)`` on ``warehouse`` with dbt's target/logs in ``target_dir``
    (and another profiles dir if given); releases dbt-duckdb's DuckDB instance afterwards.

    A measurement never changes what the pipeline's next build does: ``run_dbt`` makes dvk forget
    the last successful build's record (``dvk.changes.build_inputs_path``) for any build, even one
    selecting nothing, so the record is put back."""
    from dvk.changes import build_inputs_path

    settings = _settings_for(warehouse)
    record = build_inputs_path(settings)
    kept = record.read_bytes() if record.is_file() else None
    try:
        with _quiet(quiet):
            run_dbt(_dbt_args(args, target_dir, profiles_dir), settings)
    finally:
        release_dbt_duckdb()
        if kept is not None:
            record.write_bytes(kept)


def compile_project(warehouse: Path, target_dir: Path) -> Path:
    """``dbt compile --full-refresh`` on ``warehouse`` (the project's invocation, see
    :func:`invoke_dbt`); returns the path of ``manifest.json`` in ``target_dir``.

    ``--full-refresh`` makes ``is_incremental()`` false whatever the warehouse holds, so the
    incremental facts compile to their full build. The compiled SQL names the warehouse's
    database (the file's stem, e.g. ``"dvk"``); :func:`run_direct` attaches the warehouse under
    that name. Compiling needs no raw tables and writes no relation.
    """
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    invoke_dbt(["compile", "--full-refresh"], warehouse, target_dir)
    manifest = target_dir / "manifest.json"
    if not manifest.exists():
        raise FileNotFoundError(f"dbt compile wrote no {manifest}")
    return manifest


def _hooks(config: dict, key: str) -> tuple[str, ...]:
    hooks = config.get(key) or []
    return tuple(h["sql"] if isinstance(h, dict) else str(h) for h in hooks)


def _topological(nodes: dict[str, dict]) -> list[str]:
    """Kahn's algorithm on the nodes' depends_on (within ``nodes``), ties by unique_id."""
    deps = {
        uid: {d for d in n.get("depends_on", {}).get("nodes", []) if d in nodes}
        for uid, n in nodes.items()
    }
    children: dict[str, set[str]] = {uid: set() for uid in nodes}
    for uid, parents in deps.items():
        for parent in parents:
            children[parent].add(uid)
    ready = sorted(uid for uid, parents in deps.items() if not parents)
    order: list[str] = []
    while ready:
        uid = ready.pop(0)
        order.append(uid)
        for child in sorted(children[uid]):
            deps[child].discard(uid)
            if not deps[child]:
                ready.append(child)
        ready.sort()
    if len(order) != len(nodes):
        cycle = sorted(set(nodes) - set(order))
        raise ValueError(f"dependency cycle among {cycle}")
    return order


def load_plan(manifest: Path, include_tests: bool = True) -> list[Step]:
    """The seeds, snapshots and models of a compiled manifest in a valid topological order (ties
    by unique_id), then (``include_tests``) every enabled data test, each with its compiled SQL,
    materialization, schema and alias. Unit tests (``manifest["unit_tests"]``) are not in it.
    Ephemeral models are in the plan but create nothing (their SQL is inlined by dbt)."""
    data = json.loads(Path(manifest).read_text(encoding="utf-8"))
    nodes = data["nodes"]
    buildable = {
        uid: n
        for uid, n in nodes.items()
        if n["resource_type"] in ("seed", "snapshot", "model") and n["config"].get("enabled", True)
    }
    steps: list[Step] = []
    for uid in _topological(buildable):
        n = buildable[uid]
        config = n["config"]
        if n["resource_type"] != "seed" and not n.get("compiled", False):
            raise ValueError(f"{uid} is not compiled in {manifest}: run dbt compile first")
        seed_path = None
        if n["resource_type"] == "seed":
            seed_path = Path(n["root_path"]) / n["original_file_path"]
        steps.append(
            Step(
                unique_id=uid,
                resource_type=n["resource_type"],
                name=n["name"],
                database=n["database"],
                schema=n["schema"],
                alias=n.get("alias") or n["name"],
                materialized=config.get("materialized", ""),
                compiled_code=n.get("compiled_code") or "",
                depends_on=tuple(n.get("depends_on", {}).get("nodes", [])),
                seed_path=seed_path,
                delimiter=config.get("delimiter") or ",",
                column_types=dict(config.get("column_types") or {}),
                post_hooks=_hooks(config, "post-hook"),
                pre_hooks=_hooks(config, "pre-hook"),
                config={
                    k: config.get(k)
                    for k in (
                        "strategy", "unique_key", "updated_at", "check_cols",
                        "snapshot_meta_column_names", "dbt_valid_to_current", "hard_deletes",
                    )
                    if k in config
                },
            )
        )
    if include_tests:
        for uid in sorted(nodes):
            n = nodes[uid]
            if n["resource_type"] != "test" or not n["config"].get("enabled", True):
                continue
            config = n["config"]
            steps.append(
                Step(
                    unique_id=uid,
                    resource_type="test",
                    name=n["name"],
                    database=n["database"],
                    schema=n["schema"],
                    alias=n.get("alias") or n["name"],
                    materialized="test",
                    compiled_code=n.get("compiled_code") or "",
                    depends_on=tuple(n.get("depends_on", {}).get("nodes", [])),
                    config={
                        "severity": str(config.get("severity") or "error").lower(),
                        "fail_calc": config.get("fail_calc") or "count(*)",
                        "warn_if": config.get("warn_if") or "!= 0",
                        "error_if": config.get("error_if") or "!= 0",
                        "limit": config.get("limit"),
                    },
                )
            )
    return steps


# --------------------------------------------------------------------------------------------
# Direct run
# --------------------------------------------------------------------------------------------


def _seed_sql(step: Step) -> str:
    """The seed as dbt-duckdb loads it (a table of the CSV's columns, the configured types),
    with read_csv; columns without a configured type are left to DuckDB's sniffer (dbt infers
    those with agate, which may choose another type)."""
    options = [
        "header = true",
        f"delim = {_sql_string(step.delimiter)}",
        "quote = '\"'",
        "escape = '\"'",
    ]
    if step.column_types:
        types = ", ".join(f"{_sql_string(c)}: {_sql_string(t)}" for c, t in step.column_types.items())
        options.append(f"types = {{{types}}}")
    return (
        f"create or replace table {step.relation} as "
        f"select * from read_csv({_sql_string(str(step.seed_path))}, {', '.join(options)})"
    )


def _snapshot_sql(step: Step) -> str:
    """The snapshot's first build, as dbt's ``build_snapshot_table`` with dbt-duckdb's
    ``snapshot_get_time`` (``now()::timestamp``): the select plus the dbt_* columns."""
    config = step.config
    names = {
        "dbt_scd_id": "dbt_scd_id",
        "dbt_updated_at": "dbt_updated_at",
        "dbt_valid_from": "dbt_valid_from",
        "dbt_valid_to": "dbt_valid_to",
        "dbt_is_deleted": "dbt_is_deleted",
    }
    names.update({k: v for k, v in (config.get("snapshot_meta_column_names") or {}).items() if v})
    strategy = config.get("strategy") or "timestamp"
    if strategy == "timestamp":
        updated_at = config.get("updated_at")
        if not updated_at:
            raise ValueError(f"{step.unique_id}: timestamp strategy without updated_at")
    elif strategy == "check":
        updated_at = config.get("updated_at") or "now()::timestamp"
    else:
        raise ValueError(f"{step.unique_id}: snapshot strategy {strategy!r} not supported")
    keys = config.get("unique_key")
    keys = list(keys) if isinstance(keys, (list, tuple)) else [keys]
    hashed = " || '|' || ".join(f"coalesce(cast({arg} as varchar), '')" for arg in [*keys, updated_at])
    valid_to_current = config.get("dbt_valid_to_current") or "null"
    columns = [
        f"md5({hashed}) as {names['dbt_scd_id']}",
        f"{updated_at} as {names['dbt_updated_at']}",
        f"{updated_at} as {names['dbt_valid_from']}",
        f"coalesce(nullif({updated_at}, {updated_at}), {valid_to_current}) as {names['dbt_valid_to']}",
    ]
    if config.get("hard_deletes") == "new_record":
        columns.append(f"'False' as {names['dbt_is_deleted']}")
    return (
        f"create or replace table {step.relation} as "
        f"select *, {', '.join(columns)} from ({step.compiled_code}) sbq"
    )


_JINJA_THIS = re.compile(r"\{\{\s*this\s*\}\}")
_JINJA_REF = re.compile(r"\{\{\s*ref\(\s*['\"]([^'\"]+)['\"]\s*\)\s*\}\}")


def _render_hook(sql: str, step: Step, by_name: dict[str, Step]) -> str | None:
    """A hook's SQL with ``{{ this }}`` and ``{{ ref('x') }}`` rendered; None if it has other
    Jinja (then it is skipped, with a note)."""
    out = _JINJA_THIS.sub(lambda m: step.relation, sql)
    out = _JINJA_REF.sub(lambda m: by_name[m.group(1)].relation if m.group(1) in by_name else m.group(0), out)
    if "{{" in out or "{%" in out:
        return None
    return out


def _test_sql(step: Step) -> str:
    """dbt's ``get_test_sql``: failures, should_warn, should_error of the compiled test."""
    c = step.config
    limit = f" limit {int(c['limit'])}" if c.get("limit") is not None else ""
    calc = c["fail_calc"]
    return (
        f"select {calc} as failures, {calc} {c['warn_if']} as should_warn, "
        f"{calc} {c['error_if']} as should_error "
        f"from ({step.compiled_code}\n{limit}) dbt_internal_test"
    )


def _connect(warehouse: Path, database: str | None):
    """One DuckDB connection on ``warehouse`` where the compiled SQL's database name resolves:
    the file itself if its stem is that name, else attached under that name (the views then
    name that catalog, as dbt's would: open such a file under the compiled name)."""
    import duckdb

    warehouse = Path(warehouse)
    if database is None or warehouse.stem == database:
        return duckdb.connect(str(warehouse))
    con = duckdb.connect()
    con.execute(f"attach {_sql_string(str(warehouse))} as {_quote(database)}")
    con.execute(f"use {_quote(database)}")
    return con


def run_direct(warehouse: Path, plan: list[Step], include_tests: bool = True) -> dict:
    """Run ``plan`` on ``warehouse`` in one DuckDB connection, the way a full ``dbt build`` from
    the raw tables leaves it (views and tables replaced, the snapshot as its first build).

    Returns ``{"total_s", "phases_s": {"connect", "seeds", "models", "tests", "close"},
    "counts": {...}, "steps_s": {unique_id: seconds}, "test_failures": [...],
    "test_warnings": [...], "notes": [...]}``. ``total_s`` runs from opening the connection to
    closing it (the close checkpoints the database). A test whose ``should_error`` is true (with
    severity error) is listed in ``test_failures``; nothing is raised.
    """
    notes: list[str] = []
    counts: dict[str, int] = {}
    steps_s: dict[str, float] = {}
    phases = {"connect": 0.0, "seeds": 0.0, "models": 0.0, "tests": 0.0, "close": 0.0}
    failures: list[dict] = []
    warnings: list[dict] = []
    by_name = {s.name: s for s in plan if s.resource_type in ("model", "seed", "snapshot")}
    databases = {s.database for s in plan if s.resource_type != "test"}
    if len(databases) > 1:
        raise ValueError(f"the plan spans several databases: {sorted(databases)}")

    def count(key: str) -> None:
        counts[key] = counts.get(key, 0) + 1

    start = time.perf_counter()
    con = _connect(warehouse, next(iter(databases), None))
    phases["connect"] = time.perf_counter() - start
    try:
        schemas = sorted({(s.database, s.schema) for s in plan if s.resource_type != "test"})
        t = time.perf_counter()
        for database, schema in schemas:
            con.execute(f"create schema if not exists {_quote(database)}.{_quote(schema)}")
        phases["models"] += time.perf_counter() - t

        for step in plan:
            if step.resource_type == "test":
                continue
            t = time.perf_counter()
            phase = "seeds" if step.resource_type == "seed" else "models"
            if step.resource_type == "seed":
                con.execute(_seed_sql(step))
                count("seeds")
            elif step.resource_type == "snapshot":
                con.execute(_snapshot_sql(step))
                count("snapshots")
            elif step.materialized == "ephemeral":
                count("ephemeral (inlined, nothing built)")
                continue
            else:
                for hook in step.pre_hooks:
                    rendered = _render_hook(hook, step, by_name)
                    if rendered is None:
                        notes.append(f"{step.unique_id}: pre-hook with other Jinja skipped: {hook!r}")
                    else:
                        con.execute(rendered)
                if step.materialized == "view":
                    con.execute(f"create or replace view {step.relation} as {step.compiled_code}")
                elif step.materialized in ("table", "incremental"):
                    con.execute(f"create or replace table {step.relation} as {step.compiled_code}")
                else:
                    raise ValueError(f"{step.unique_id}: materialization {step.materialized!r} not supported")
                for hook in step.post_hooks:
                    rendered = _render_hook(hook, step, by_name)
                    if rendered is None:
                        notes.append(f"{step.unique_id}: post-hook with other Jinja skipped: {hook!r}")
                    else:
                        con.execute(rendered)
                count(step.materialized)
            elapsed = time.perf_counter() - t
            phases[phase] += elapsed
            steps_s[step.unique_id] = elapsed

        if include_tests:
            for step in plan:
                if step.resource_type != "test":
                    continue
                t = time.perf_counter()
                n_failures, should_warn, should_error = con.execute(_test_sql(step)).fetchone()
                elapsed = time.perf_counter() - t
                phases["tests"] += elapsed
                steps_s[step.unique_id] = elapsed
                count("tests")
                entry = {"unique_id": step.unique_id, "failures": n_failures}
                if should_error and step.config["severity"] == "error":
                    failures.append(entry)
                elif should_warn or should_error:
                    warnings.append(entry)
        t = time.perf_counter()
    finally:
        con.close()
    phases["close"] = time.perf_counter() - t
    total = time.perf_counter() - start
    notes.append("unit tests skipped (dbt-only fixtures)")
    return {
        "total_s": total,
        "phases_s": phases,
        "counts": counts,
        "steps_s": steps_s,
        "test_failures": failures,
        "test_warnings": warnings,
        "notes": notes,
    }


# --------------------------------------------------------------------------------------------
# dbt timings
# --------------------------------------------------------------------------------------------


def time_dbt(
    args: Sequence[str],
    warehouse: Path,
    target_dir: Path,
    *,
    profiles_dir: Path | None = None,
    fresh_process: bool = False,
) -> float:
    """Wall seconds of one dbt invocation (``args``, e.g. ``["build"]``) as :func:`invoke_dbt`
    runs it, release of dbt-duckdb's DuckDB included; or, ``fresh_process``, of a new Python
    process doing the same (interpreter start and imports included)."""
    if not fresh_process:
        start = time.perf_counter()
        invoke_dbt(args, warehouse, target_dir, profiles_dir=profiles_dir)
        return time.perf_counter() - start
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import json;"
        "from pathlib import Path; import direct_sql as d;"
        "d.invoke_dbt(json.loads(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]),"
        " profiles_dir=Path(sys.argv[5]) if sys.argv[5] else None)"
    )
    argv = [
        sys.executable, "-c", code, str(Path(__file__).resolve().parent), json.dumps(list(args)),
        str(warehouse), str(target_dir), str(profiles_dir or ""),
    ]
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def fixed_startup(
    warehouse: Path,
    target_dir: Path,
    *,
    profiles_dir: Path | None = None,
    fresh_process: bool = False,
) -> float:
    """Seconds of a ``dbt build --select <a tag no node has>``: the part of every ``dbt build``
    that does no model work.

    Why this one: it is the same command with the same flags as the build it is compared with,
    so it pays what every build pays before its first node: the CLI and flag set-up, loading the
    project and the profile, the adapter plugin (dbt-duckdb) and its macros, the manifest (a
    partial parse when the target dir is warm), writing manifest.json and the graph, and the
    node selection. It stops at "Nothing to do", so it leaves out the per-run work that grows
    with the project: the adapter's connection to the warehouse, the relation cache (a query per
    schema), creating the schemas and run_results.json. Those are small on DuckDB. ``dbt parse``
    would leave out the selection, and ``dbt ls`` the adapter; ``dbt debug`` does not parse.
    """
    return time_dbt(
        ["build", "--select", NOTHING_SELECTOR],
        warehouse,
        target_dir,
        profiles_dir=profiles_dir,
        fresh_process=fresh_process,
    )


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def relation_counts(warehouse: Path, schemas: Iterable[str] | None = None) -> dict[str, int]:
    """``{"schema.name": row count}`` of every table and view (but raw.*) of ``warehouse``."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() and table_schema not in ('raw') "
            "order by 1, 2"
        ).fetchall()
        wanted = set(schemas) if schemas is not None else None
        return {
            f"{s}.{t}": con.execute(f"select count(*) from {_quote(s)}.{_quote(t)}").fetchone()[0]
            for s, t in rows
            if wanted is None or s in wanted
        }


def compare_warehouses(dbt_warehouse: Path, direct_warehouse: Path, content_schemas=("marts",)) -> dict:
    """Same relations, same row counts, and the same contents in ``content_schemas`` (except
    :data:`RUN_TIME_COLUMNS`, doubles to 9 decimals), of a warehouse built by dbt and one built
    by :func:`run_direct`.
    Returns ``{"ok", "relations", "count_mismatches", "only_dbt", "only_direct",
    "content_mismatches", "marts_counts"}``."""
    import duckdb

    a = relation_counts(dbt_warehouse)
    b = relation_counts(direct_warehouse)
    count_mismatches = {k: (a[k], b[k]) for k in sorted(set(a) & set(b)) if a[k] != b[k]}
    content_mismatches: dict[str, str] = {}
    con = duckdb.connect()
    try:
        con.execute(f"attach {_sql_string(str(dbt_warehouse))} as a (read_only)")
        con.execute(f"attach {_sql_string(str(direct_warehouse))} as b (read_only)")
        for key in sorted(set(a) & set(b)):
            schema, name = key.split(".", 1)
            if schema not in content_schemas:
                continue
            rel = f"{_quote(schema)}.{_quote(name)}"
            cols_a = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_catalog = 'a' and table_schema = ? and table_name = ? order by ordinal_position",
                [schema, name],
            ).fetchall()
            cols_b = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_catalog = 'b' and table_schema = ? and table_name = ? order by ordinal_position",
                [schema, name],
            ).fetchall()
            if cols_a != cols_b:
                content_mismatches[key] = f"columns differ: {cols_a} vs {cols_b}"
                continue
            # doubles rounded: a sum of doubles depends on the order of the rows, which DuckDB's
            # parallel execution does not fix (fct_unit_field_ytd: 486.7 vs 486.70000000000005)
            cols = ", ".join(
                f"round({_quote(c)}, 9) as {_quote(c)}" if t in ("DOUBLE", "FLOAT", "REAL") else _quote(c)
                for c, t in cols_a
                if c not in RUN_TIME_COLUMNS
            )
            diff = con.execute(
                f"select (select count(*) from (select {cols} from a.{rel}"
                f" except all select {cols} from b.{rel})),"
                f" (select count(*) from (select {cols} from b.{rel}"
                f" except all select {cols} from a.{rel}))"
            ).fetchone()
            if diff != (0, 0):
                content_mismatches[key] = f"{diff[0]} rows only in dbt's, {diff[1]} only in direct's"
    finally:
        con.close()
    result = {
        "relations": len(set(a) & set(b)),
        "count_mismatches": count_mismatches,
        "only_dbt": sorted(set(a) - set(b)),
        "only_direct": sorted(set(b) - set(a)),
        "content_mismatches": content_mismatches,
        "marts_counts": {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if k.startswith("marts.")},
    }
    result["ok"] = not (count_mismatches or result["only_dbt"] or result["only_direct"] or content_mismatches)
    return result


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _fresh_copy(source: Path, folder: Path) -> Path:
    """``folder/<source name>``, a copy of ``source`` (no WAL), replacing what was there."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    for path in (target, target.with_name(target.name + ".wal")):
        path.unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


def profiles_with_threads(threads: int, folder: Path) -> Path:
    """A copy of the project's profiles.yml in ``folder`` with ``threads: <threads>``."""
    text = (DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^(\s*)threads:\s*\d+\s*$", rf"\g<1>threads: {int(threads)}", text)
    if n == 0:
        raise ValueError("profiles.yml has no threads: line")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.yml").write_text(text, encoding="utf-8")
    return folder


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def bench(
    warehouse: Path,
    workdir: Path,
    runs: int,
    *,
    variants: bool = False,
    fresh_process: bool = False,
    include_tests: bool = True,
    verify: bool = False,
    log=print,
) -> dict:
    warehouse = Path(warehouse).resolve()
    workdir = Path(workdir).resolve()
    dbt_dir, direct_dir, compile_dir = workdir / "dbt", workdir / "direct", workdir / "compile"
    dbt_target = dbt_dir / "dbt_target"

    log(f"compiling the project on a copy of {warehouse} ...")
    t = time.perf_counter()
    manifest = compile_project(_fresh_copy(warehouse, compile_dir), compile_dir / "dbt_target")
    compile_s = time.perf_counter() - t
    plan = load_plan(manifest, include_tests=include_tests)
    manifest_data = json.loads(manifest.read_text(encoding="utf-8"))
    n_unit = len(manifest_data.get("unit_tests", {}))

    configs: dict[str, dict] = {"dbt build": {"args": ["build"], "profiles_dir": None}}
    if variants:
        configs["dbt build --exclude-resource-type unit_test"] = {
            "args": ["build", "--exclude-resource-type", "unit_test"], "profiles_dir": None,
        }
        configs["dbt build, threads 4"] = {
            "args": ["build"], "profiles_dir": profiles_with_threads(4, workdir / "profiles_threads4"),
        }

    log("warm-up dbt build (untimed) ...")
    t = time.perf_counter()
    time_dbt(["build"], _fresh_copy(warehouse, dbt_dir), dbt_target, fresh_process=fresh_process)
    warmup_s = time.perf_counter() - t

    times: dict[str, list[float]] = {name: [] for name in configs}
    times["direct"] = []
    times["fixed start-up"] = []
    direct_results: list[dict] = []
    verification = None
    for i in range(runs):
        order = list(configs) + ["direct"]
        if i % 2:
            order.reverse()
        for name in order:
            if name == "direct":
                wh = _fresh_copy(warehouse, direct_dir)
                result = run_direct(wh, plan, include_tests=include_tests)
                if result["test_failures"]:
                    raise RuntimeError(f"direct run: failing tests {result['test_failures']}")
                direct_results.append(result)
                times["direct"].append(result["total_s"])
            else:
                cfg = configs[name]
                wh = _fresh_copy(warehouse, dbt_dir)
                times[name].append(
                    time_dbt(
                        cfg["args"], wh, dbt_target,
                        profiles_dir=cfg["profiles_dir"], fresh_process=fresh_process,
                    )
                )
            log(f"  run {i + 1}/{runs} {name}: {times[name][-1]:.2f} s")
        if verify and verification is None:
            verification = compare_warehouses(dbt_dir / warehouse.name, direct_dir / warehouse.name)
            status = "OK" if verification["ok"] else "MISMATCH"
            log(f"  verify: {status} ({verification['relations']} relations)")
        # fixed start-up, on the built warehouse (it touches no relation)
        times["fixed start-up"].append(
            fixed_startup(dbt_dir / warehouse.name, dbt_target, fresh_process=fresh_process)
        )
        log(f"  run {i + 1}/{runs} fixed start-up: {times['fixed start-up'][-1]:.2f} s")

    phases = {
        key: _median([r["phases_s"][key] for r in direct_results]) for key in direct_results[0]["phases_s"]
    }
    return {
        "warehouse": str(warehouse),
        "runs": runs,
        "fresh_process": fresh_process,
        "compile_s": compile_s,
        "warmup_dbt_build_s": warmup_s,
        "median_s": {name: _median(values) for name, values in times.items()},
        "all_s": times,
        "direct_phases_median_s": phases,
        "direct_counts": direct_results[0]["counts"],
        "direct_notes": direct_results[0]["notes"],
        "direct_test_warnings": direct_results[0]["test_warnings"],
        "plan": {
            "steps": len(plan),
            "data_tests": sum(1 for s in plan if s.resource_type == "test"),
            "unit_tests_skipped": n_unit,
        },
        "verification": verification,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "duckdb": __import__("duckdb").__version__,
            "dbt": _dbt_versions(),
        },
    }


def _dbt_versions() -> str:
    try:
        from importlib.metadata import version

        return f"dbt-core {version('dbt-core')}, dbt-duckdb {version('dbt-duckdb')}"
    except Exception:  # pragma: no cover
        return "?"


def _print_table(result: dict) -> None:
    med = result["median_s"]
    build = med["dbt build"]
    direct = med["direct"]
    startup = med["fixed start-up"]
    print()
    how = "fresh process per dbt call" if result["fresh_process"] else "dbt in-process"
    print(f"medians of {result['runs']} runs ({how})")
    width = max(len(k) for k in med) + 2
    for name, value in med.items():
        extra = ""
        if name != "direct" and name != "fixed start-up":
            extra = f"   {value / direct:6.1f}x direct   minus start-up {value - startup:6.2f} s"
        print(f"  {name:<{width}} {value:7.2f} s{extra}")
    p = result["direct_phases_median_s"]
    print(
        "  direct phases: " + ", ".join(f"{k} {v:.3f} s" for k, v in p.items())
    )
    if not result["plan"]["data_tests"]:
        print("  (the direct run ran no data tests: --no-tests)")
    print(
        f"  dbt build - fixed start-up - direct = {build - startup - direct:.2f} s "
        "(dbt's per-node overhead: materialization macros, relation cache, transactions, "
        f"run_results, the {result['plan']['unit_tests_skipped']} unit tests)"
    )
    v = result.get("verification")
    if v is not None:
        print(f"  verify: {'OK' if v['ok'] else 'MISMATCH'}: {v['relations']} relations, marts row counts "
              + ", ".join(f"{k.split('.', 1)[1]}={a}" for k, (a, b) in v["marts_counts"].items()))
        if not v["ok"]:
            keys = ("count_mismatches", "only_dbt", "only_direct", "content_mismatches")
            print("    " + json.dumps({k: v[k] for k in keys}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--warehouse", type=Path, required=True, help="a warehouse with the raw.* tables (not modified)"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="scratch folder (default: a temporary one)"
    )
    parser.add_argument("--variants", action="store_true",
                        help="also time dbt build --exclude-resource-type unit_test and threads: 4")
    parser.add_argument(
        "--fresh-process", action="store_true", help="time each dbt call as a new python process"
    )
    parser.add_argument("--no-tests", action="store_true", help="direct run without the data tests")
    parser.add_argument("--verify", action="store_true", help="compare dbt's and the direct run's relations")
    parser.add_argument("--json", type=Path, default=None, help="write the full result here")
    args = parser.parse_args(argv)

    if not args.warehouse.exists():
        parser.error(f"{args.warehouse} does not exist (run python -m dvk.ingest first)")
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dvk-bench-")))
        result = bench(
            args.warehouse,
            workdir,
            args.runs,
            variants=args.variants,
            fresh_process=args.fresh_process,
            include_tests=not args.no_tests,
            verify=args.verify,
        )
    _print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    if result["verification"] is not None and not result["verification"]["ok"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
