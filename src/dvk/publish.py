"""Publish the warehouse for analysts: a read-only DuckDB copy and Parquet files, swapped in atomically.

DuckDB lets one process write a database file and, while it does, nobody else may open it, not
even read-only. Analysts therefore never open the warehouse itself: after a run that passed the
quality gate, the marts are copied into a *new* database file which is then moved onto the
published one with ``os.replace`` (an atomic rename). A reader that holds the old file open keeps
reading the old inode, a consistent copy, for as long as it likes; a reader that connects after the
swap sees the new figures; the writer never waits on readers, and readers never wait on the writer.

    publish(settings=None) -> PublishResult                  # publish now (no gate decision)
    publish_if_gate_passed(years=None, settings=None)        # refuse (PublishRefused) unless the
                                                              # gate of every year passed on the
                                                              # warehouse as it is now

Layout under ``settings.published_dir`` (``DVK_PUBLISHED_DIR``, default ``<warehouse dir>/published``)::

    dvk.duckdb                 schema ``marts`` (every mart and dim), schema ``meta`` (publication)
    parquet/<table>.parquet    one file per mart; ``parquet`` is a symlink to ``parquet-<stamp>/``,
                               swapped atomically, so a reader never sees a mix of two publications
    manifest.json              tables, row counts, source warehouse, published_at, gate years passed

Only the ``marts`` schema is published (no raw, staging or intermediate layer), and any column that
carries personal data (``preparer_name``, ``preparer_phone`` and the like) is left out even if a
mart were ever to expose it. The warehouse is read through ``ATTACH ... (READ_ONLY)``, so publishing
never holds it for writing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from dvk.settings import Settings, get_settings

log = logging.getLogger(__name__)

#: The schemas of the warehouse that analysts get.
PUBLISHED_SCHEMAS = ("marts",)
#: Column names that carry personal data (spec §3: "Người lập biểu", "Số điện thoại"): never published.
PERSONAL_DATA_COLUMNS = re.compile(r"preparer|phone|nguoi_lap|dien_thoai|so_dt", re.IGNORECASE)
DATABASE_NAME = "dvk.duckdb"
PARQUET_LINK = "parquet"
MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".publish.lock"
#: How many Parquet versions stay on disk (the current one and the one before, for slow readers).
KEEP_PARQUET_VERSIONS = 2
#: How long to wait for a writer that holds the warehouse (e.g. an ingest that started meanwhile).
ATTACH_TIMEOUT_SECONDS = 120.0


class PublishError(RuntimeError):
    """Publishing could not run (no warehouse, no marts, the warehouse held by a writer too long)."""


class PublishRefused(PublishError):
    """The gate of a year did not pass (or has not run on the warehouse as it is): nothing published."""

    def __init__(self, reasons: list[tuple[int, str, str]]):
        self.reasons = reasons  # (year, message_vi, message_en)
        lines = [
            "Không phát hành kho dữ liệu cho người phân tích; bản phát hành trước được giữ nguyên. "
            "/ Not publishing the warehouse; the last published copy stays as it was."
        ]
        lines += [f"- {year}: {vi} / {en}" for year, vi, en in reasons]
        super().__init__("\n".join(lines))

    @property
    def years(self) -> list[int]:
        return sorted({year for year, _, _ in self.reasons})


@dataclass
class PublishedTable:
    schema: str
    name: str
    rows: int
    columns: list[str]
    parquet: str | None  # relative to the published folder

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class PublishResult:
    database: Path
    parquet_dir: Path
    manifest: Path
    published_at: str
    source_warehouse: str
    tables: list[PublishedTable] = field(default_factory=list)
    gate: dict[str, dict[str, Any]] = field(default_factory=dict)
    gate_years_passed: list[int] = field(default_factory=list)
    excluded_columns: list[str] = field(default_factory=list)
    duration_seconds: float = 0.0

    @property
    def row_counts(self) -> dict[str, int]:
        return {t.qualified: t.rows for t in self.tables}

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["database"] = str(self.database)
        out["parquet_dir"] = str(self.parquet_dir)
        out["manifest"] = str(self.manifest)
        return out


# --------------------------------------------------------------------------------------------
# helpers


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _mtime_iso(path: Path) -> str | None:
    try:
        return _iso(dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc))
    except FileNotFoundError:
        return None


def _sql_string(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (best effort; not every platform can open a folder)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _publish_lock(folder: Path) -> Iterator[None]:
    """One publisher at a time (readers never take it)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a+") as fh:
        try:
            import fcntl
        except ImportError:  # not POSIX: rely on the scheduler running one publisher at a time
            yield
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _attach_warehouse(con: duckdb.DuckDBPyConnection, warehouse: Path, timeout: float) -> None:
    """``ATTACH <warehouse> AS wh (READ_ONLY)``, waiting while another process writes it."""
    from dvk.warehouse_lock import WarehouseBusy, wait_for_lock

    try:
        wait_for_lock(
            lambda: con.execute(f"attach {_sql_string(str(warehouse))} as wh (read_only)"),
            what=f"kho dữ liệu / the warehouse {warehouse}",
            timeout=timeout,
        )
    except WarehouseBusy as exc:
        raise PublishError(str(exc)) from exc


def _source_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str | None]]:
    """(schema, name, comment) of every table and view of the published schemas of ``wh``."""
    placeholders = ", ".join("?" for _ in PUBLISHED_SCHEMAS)
    rows = con.execute(
        f"""
        select schema_name, table_name, comment from duckdb_tables()
        where database_name = 'wh' and schema_name in ({placeholders})
        union all
        select schema_name, view_name, comment from duckdb_views()
        where database_name = 'wh' and not internal and schema_name in ({placeholders})
        order by 1, 2
        """,
        [*PUBLISHED_SCHEMAS, *PUBLISHED_SCHEMAS],
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def _source_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str | None]]:
    rows = con.execute(
        """
        select column_name, comment from duckdb_columns()
        where database_name = 'wh' and schema_name = ? and table_name = ?
        order by column_index
        """,
        [schema, table],
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def read_gate_results(settings: Settings | None = None) -> dict[str, dict[str, Any]]:
    """Every year's last gate verdict (``<reports_dir>/gate/<year>/gate_result.json``)."""
    settings = settings or get_settings()
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((settings.reports_dir / "gate").glob("*/gate_result.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            out[path.parent.name] = {"passed": False, "checked_at": _mtime_iso(path), "unreadable": True}
            continue
        out[str(data.get("year", path.parent.name))] = {
            "passed": bool(data.get("passed")),
            "checked_at": _mtime_iso(path),
            "failures": len(data.get("failures") or []),
            "path": str(path),
        }
    return out


def read_manifest(settings: Settings | None = None) -> dict[str, Any] | None:
    """The manifest of the current publication, or None if nothing was published yet."""
    settings = settings or get_settings()
    path = settings.published_dir / MANIFEST_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_stale(folder: Path, keep: Iterable[Path]) -> None:
    """Leftovers of interrupted publications, and Parquet versions older than the last ones kept."""
    keep = {p.resolve() for p in keep}
    for tmp in folder.glob("dvk.tmp-*.duckdb*"):
        if tmp.resolve() not in keep:
            tmp.unlink(missing_ok=True)
    for tmp in folder.glob(f".{PARQUET_LINK}.tmp-*"):
        if tmp.is_symlink() or tmp.is_file():
            tmp.unlink(missing_ok=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    versions = sorted(
        (p for p in folder.glob(f"{PARQUET_LINK}-*") if p.is_dir() and not p.is_symlink()),
        key=lambda p: p.name,
    )
    for old in versions[:-KEEP_PARQUET_VERSIONS]:
        if old.resolve() not in keep:
            shutil.rmtree(old, ignore_errors=True)


def _swap_parquet(folder: Path, version_dir: Path) -> Path:
    """Point ``<folder>/parquet`` at ``version_dir`` in one atomic step; return the link."""
    link = folder / PARQUET_LINK
    if link.exists() and not link.is_symlink():
        # A plain folder (an older layout or a platform without symlinks): move it aside first.
        link.rename(folder / f"{PARQUET_LINK}-0-legacy-{uuid.uuid4().hex[:8]}")
    tmp_link = folder / f".{PARQUET_LINK}.tmp-{uuid.uuid4().hex}"
    try:
        os.symlink(version_dir.name, tmp_link, target_is_directory=True)
    except (OSError, NotImplementedError):  # no symlinks here: a plain folder, renamed into place
        if link.exists():
            link.rename(folder / f"{PARQUET_LINK}-0-old-{uuid.uuid4().hex[:8]}")
        version_dir.rename(link)
        return link
    os.replace(tmp_link, link)
    return link


# --------------------------------------------------------------------------------------------
# public API


def publish(
    settings: Settings | None = None,
    *,
    gate_years: Iterable[int] | None = None,
    attach_timeout: float = ATTACH_TIMEOUT_SECONDS,
) -> PublishResult:
    """Publish the marts of the warehouse for analysts (see the module docstring).

    Takes no gate decision: the caller publishes only after a run that passed the gate (or use
    :func:`publish_if_gate_passed`). ``gate_years``: the years whose gate the caller checked;
    recorded in the manifest as ``gate_years_passed`` (default: every year whose last
    ``gate_result.json`` says passed).
    """
    settings = settings or get_settings()
    started = time.monotonic()
    warehouse = Path(settings.warehouse)
    if not warehouse.is_file():
        raise PublishError(
            f"Không tìm thấy kho dữ liệu {warehouse} / warehouse file {warehouse} does not exist "
            "(run the ingest and the transform first)"
        )
    folder = Path(settings.published_dir)
    gate = read_gate_results(settings)
    if gate_years is None:
        passed_years = sorted(int(y) for y, g in gate.items() if g.get("passed") and str(y).isdigit())
    else:
        passed_years = sorted({int(y) for y in gate_years})

    with _publish_lock(folder):
        published_at = _utc_now()
        stamp = published_at.strftime("%Y%m%dT%H%M%S%fZ")
        token = uuid.uuid4().hex
        tmp_db = folder / f"dvk.tmp-{token}.duckdb"
        version_dir = folder / f"{PARQUET_LINK}-{stamp}-{token[:8]}"
        _remove_stale(folder, keep=[])
        tables: list[PublishedTable] = []
        excluded: list[str] = []
        try:
            con = duckdb.connect(str(tmp_db))
            try:
                _attach_warehouse(con, warehouse, attach_timeout)
                sources = _source_tables(con)
                if not sources:
                    raise PublishError(
                        f"Kho dữ liệu {warehouse} chưa có bảng marts (hãy chạy dbt build) "
                        f"/ the warehouse {warehouse} has no marts (run the transform first)"
                    )
                for schema in sorted({s for s, _, _ in sources}):
                    con.execute(f"create schema if not exists {_ident(schema)}")
                for schema, name, comment in sources:
                    columns = _source_columns(con, schema, name)
                    keep = [(c, cmt) for c, cmt in columns if not PERSONAL_DATA_COLUMNS.search(c)]
                    excluded += [f"{schema}.{name}.{c}" for c, _ in columns if PERSONAL_DATA_COLUMNS.search(c)]
                    if not keep:
                        continue
                    target = f"{_ident(schema)}.{_ident(name)}"
                    select_list = ", ".join(_ident(c) for c, _ in keep)
                    con.execute(
                        f"create table {target} as select {select_list} "
                        f"from wh.{_ident(schema)}.{_ident(name)}"
                    )
                    if comment:
                        con.execute(f"comment on table {target} is {_sql_string(comment)}")
                    for column, column_comment in keep:
                        if column_comment:
                            con.execute(
                                f"comment on column {target}.{_ident(column)} is {_sql_string(column_comment)}"
                            )
                    rows = con.execute(f"select count(*) from {target}").fetchone()[0]
                    tables.append(PublishedTable(schema, name, int(rows), [c for c, _ in keep], None))
                con.execute("detach wh")
                if excluded:
                    log.warning("Personal data columns left out of the publication: %s", ", ".join(excluded))

                # meta: what this copy is, for analysts who only have the database file
                con.execute("create schema meta")
                con.execute(
                    "create table meta.publication (published_at timestamp, source_warehouse varchar, "
                    "source_modified_at varchar, gate_years_passed varchar, tables integer)"
                )
                con.execute(
                    "insert into meta.publication values (?, ?, ?, ?, ?)",
                    [
                        published_at.replace(tzinfo=None, microsecond=0),
                        str(warehouse),
                        _mtime_iso(warehouse),
                        ", ".join(str(y) for y in passed_years),
                        len(tables),
                    ],
                )
                con.execute(
                    "create table meta.published_tables (table_schema varchar, table_name varchar, "
                    "row_count bigint, parquet_file varchar)"
                )

                # Parquet, from the new database (the same snapshot), into a fresh version folder
                version_dir.mkdir(parents=True)
                for table in tables:
                    file_name = f"{table.name}.parquet" if table.schema == "marts" else f"{table.schema}.{table.name}.parquet"
                    con.execute(
                        f"copy {_ident(table.schema)}.{_ident(table.name)} "
                        f"to {_sql_string(str(version_dir / file_name))} (format parquet)"
                    )
                    table.parquet = f"{PARQUET_LINK}/{file_name}"
                    con.execute(
                        "insert into meta.published_tables values (?, ?, ?, ?)",
                        [table.schema, table.name, table.rows, table.parquet],
                    )
                con.execute("checkpoint")
            finally:
                con.close()
            wal = tmp_db.with_name(tmp_db.name + ".wal")
            if wal.exists():  # a clean close checkpoints; never publish a file that needs its WAL
                raise PublishError(f"the new database {tmp_db} was not checkpointed ({wal} remains)")
            with open(tmp_db, "rb") as fh:
                os.fsync(fh.fileno())

            # the swaps: database first, then the Parquet folder, then the manifest
            database = folder / DATABASE_NAME
            stale_wal = database.with_name(database.name + ".wal")
            if stale_wal.exists():
                log.warning("Removing a stray WAL beside the published database: %s", stale_wal)
                stale_wal.unlink(missing_ok=True)
            os.replace(tmp_db, database)
            parquet_link = _swap_parquet(folder, version_dir)
            _fsync_dir(folder)
        except BaseException:
            tmp_db.unlink(missing_ok=True)
            tmp_db.with_name(tmp_db.name + ".wal").unlink(missing_ok=True)
            if version_dir.exists() and not (folder / PARQUET_LINK).resolve() == version_dir.resolve():
                shutil.rmtree(version_dir, ignore_errors=True)
            raise

        result = PublishResult(
            database=database,
            parquet_dir=parquet_link,
            manifest=folder / MANIFEST_NAME,
            published_at=_iso(published_at),
            source_warehouse=str(warehouse),
            tables=tables,
            gate=gate,
            gate_years_passed=passed_years,
            excluded_columns=excluded,
            duration_seconds=round(time.monotonic() - started, 3),
        )
        manifest = {
            "published_at": result.published_at,
            "source_warehouse": result.source_warehouse,
            "source_modified_at": _mtime_iso(warehouse),
            "database": DATABASE_NAME,
            "parquet_dir": PARQUET_LINK,
            "parquet_version": version_dir.name,
            "gate_years_passed": passed_years,
            "gate": gate,
            "tables": [
                {"schema": t.schema, "name": t.name, "rows": t.rows, "columns": t.columns, "parquet": t.parquet}
                for t in tables
            ],
            "excluded_columns": excluded,
            "duration_seconds": result.duration_seconds,
        }
        _write_json_atomic(result.manifest, manifest)
        _remove_stale(folder, keep=[version_dir])
    log.info(
        "Published %d tables to %s (Parquet: %s) in %.1f s",
        len(tables), result.database, result.parquet_dir, result.duration_seconds,
    )
    return result


def gate_refusals(years: Iterable[int], settings: Settings | None = None) -> list[tuple[int, str, str]]:
    """Why the warehouse may not be published for ``years`` (empty: every year's gate passed
    on the warehouse as it is now)."""
    from dvk.gate import gate_result_path

    settings = settings or get_settings()
    warehouse = Path(settings.warehouse)
    changed = [p.stat().st_mtime for p in (warehouse, warehouse.with_name(warehouse.name + ".wal")) if p.exists()]
    warehouse_mtime = max(changed) if changed else None
    reasons: list[tuple[int, str, str]] = []
    for year in sorted({int(y) for y in years}):
        path = gate_result_path(year, settings)
        if not path.is_file():
            reasons.append((year, f"chưa chạy kiểm tra chất lượng ({path})",
                            f"the gate has not run ({path} does not exist)"))
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            reasons.append((year, f"không đọc được {path}", f"cannot read {path}: {exc}"))
            continue
        if not data.get("passed"):
            n = len(data.get("failures") or [])
            reasons.append((year, f"kiểm tra chất lượng KHÔNG ĐẠT ({n} lỗi, xem {path})",
                            f"the gate FAILED ({n} failure(s), see {path})"))
            continue
        checked = data.get("warehouse")
        if checked and Path(checked).resolve() != warehouse.resolve():
            reasons.append((year, f"kết quả kiểm tra thuộc kho dữ liệu khác ({checked})",
                            f"the gate result is for another warehouse ({checked})"))
            continue
        if warehouse_mtime is not None and path.stat().st_mtime < warehouse_mtime:
            reasons.append((year, "kho dữ liệu đã thay đổi sau lần kiểm tra chất lượng gần nhất; hãy chạy lại kiểm tra",
                            "the warehouse changed after the last gate run; run the gate again"))
    return reasons


def publish_if_gate_passed(years: Iterable[int] | None = None, settings: Settings | None = None) -> PublishResult:
    """Publish unless the gate of one of ``years`` failed, has not run, or ran before the
    warehouse last changed; then raise :class:`PublishRefused` and leave the published copy as
    it was. ``years=None``: every year with annual submissions (the years the report DAG gates)."""
    settings = settings or get_settings()
    if years is None:
        from dvk.report import years_with_annual_submissions

        years = years_with_annual_submissions(settings)
    years = sorted({int(y) for y in years})
    reasons = gate_refusals(years, settings)
    if reasons:
        error = PublishRefused(reasons)
        log.error("%s", error)
        raise error
    return publish(settings, gate_years=years)


__all__ = [
    "PERSONAL_DATA_COLUMNS",
    "PublishError",
    "PublishRefused",
    "PublishResult",
    "PublishedTable",
    "gate_refusals",
    "publish",
    "publish_if_gate_passed",
    "read_gate_results",
    "read_manifest",
]
