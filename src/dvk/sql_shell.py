"""A small read-only SQL shell on one DuckDB file, or on the PostgreSQL warehouse: ``dvk sql`` /
``./scripts/sql``.

Statements end with ``;``; dot commands (``.tables``, ``.schema``, ``.mode``, ``.reload`` …) work
in a session, on stdin and with ``-c``. On PostgreSQL (``DVK_WAREHOUSE_URL``) the session is a
read-only one on the warehouse's database (:func:`dvk.warehouse.connect`): the publication is the
schema ``analytics`` (read in the role ``dvk_analyst`` when the login may take it; ``analytics`` and
``analytics_meta`` on the search path), ``--warehouse`` reads ``marts`` (and ``raw``…) instead.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import sys
from pathlib import Path
from typing import Any, TextIO

import duckdb

from dvk import warehouse
from dvk.ops import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, OpsError, fmt_ts


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


SQL_HELP = """\
Lệnh / commands (read-only; end SQL statements with ;):
  .tables              các bảng / the published tables, with row counts
  .schema TABLE        các cột của bảng / a table's columns (marts. may be omitted)
  .mode box|csv        cách in kết quả / output format
  .maxrows N           số dòng tối đa khi in bảng / rows shown per result (box mode)
  .reload              mở lại bản phát hành mới nhất / reopen the newest publication
  .help                trợ giúp / this help
  .quit                thoát / quit (also Ctrl-D)
The marts are on the search path: `from fct_model` = `from marts.fct_model`.
"""


_TRAILING_COMMENT = re.compile(r"--[^\n']*$")


def _statement_text(query: str) -> str:
    """The statement without its trailing ``;`` and comments (``.show()`` re-parses the text as a
    subquery, where they are a syntax error); "" for a statement that is only comments."""
    try:
        tokens = duckdb.tokenize(query)
    except Exception:  # noqa: BLE001 - no tokenizer: the text as it is
        return query.strip().rstrip(";").strip()
    comment = duckdb.token_type.comment
    operator = duckdb.token_type.operator
    data = query.encode("utf-8")  # token positions are byte offsets
    last = None
    for i, (start, kind) in enumerate(tokens):
        if kind == comment or (kind == operator and data[start:start + 1] == b";"):
            continue
        last = i
    if last is None:
        return ""
    end = tokens[last + 1][0] if last + 1 < len(tokens) else len(data)
    return data[:end].decode("utf-8").strip()


class SqlSession:
    """A small read-only SQL shell on one DuckDB file, or on a ``postgresql://`` warehouse URL
    (``published``: its ``analytics`` schema as an analyst reads it, else its marts)."""

    def __init__(self, path: Path | str, out: TextIO | None = None, fmt: str = "box",
                 max_rows: int | None = None, max_width: int | None = None, *, published: bool = True) -> None:
        self.url = str(path) if isinstance(path, str) and "://" in path else None
        self.path = self.url if self.url is not None else Path(path)
        self.published = published
        self.out = out
        self.fmt = fmt
        self.max_rows = max_rows
        self.max_width = max_width
        self.con: duckdb.DuckDBPyConnection | None = None
        self.connect()

    @property
    def stdout(self) -> TextIO:
        return self.out or sys.stdout

    @property
    def label(self) -> str:
        if self.url is None:
            return str(self.path)
        t = self.con.target if self.con is not None else None
        where = f"postgresql://{t.user}@{t.host}:{t.port}/{t.dbname}" if t else "postgresql"
        return f"{where} ({'analytics' if self.published else 'marts'})"

    def connect(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None
        if self.url is not None:
            self._connect_postgres()
            return
        if not self.path.is_file():
            raise OpsError(
                f"Chưa có bản phát hành {self.path}: hãy chạy ./scripts/dvk publish "
                f"/ nothing published at {self.path} yet: run ./scripts/dvk publish",
                EXIT_UNAVAILABLE,
            )
        try:  # the published copy is swapped in by rename, never held by a writer: no wait
            self.con = warehouse.connect(self.path, read_only=True, wait=0)
        except warehouse.WarehouseBusy as exc:
            raise OpsError(f"{self.path} đang bị khoá / is locked by a writer: {exc}", EXIT_UNAVAILABLE) from exc
        schemas = {r[0] for r in self.con.execute("select schema_name from duckdb_schemas()").fetchall()}
        path = ",".join(s for s in ("marts", "meta", "main") if s in schemas)
        if path:
            self.con.execute(f"set search_path = '{path}'")

    def _connect_postgres(self) -> None:
        if self.published:
            from dvk.analyst import connect as connect_analyst

            try:
                self.con = connect_analyst(self.url)
            except warehouse.WarehouseNotFound as exc:
                raise OpsError(str(exc), EXIT_UNAVAILABLE) from exc
            except Exception as exc:  # psycopg2.OperationalError: the server cannot be reached
                raise OpsError(f"Không kết nối được / cannot connect: {exc}", EXIT_UNAVAILABLE) from exc
            return
        try:
            self.con = warehouse.connect(self.url, read_only=True, wait=0)
        except Exception as exc:  # noqa: BLE001
            raise OpsError(f"Không kết nối được / cannot connect: {exc}", EXIT_UNAVAILABLE) from exc
        self.con.execute("set search_path = marts, raw, public")

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    def published_at(self) -> str | None:
        if self.url is not None:
            try:
                row = self.con.execute("select published_at from analytics_meta.publication").fetchone()
            except Exception:  # noqa: BLE001 - none published, or not readable
                return None
            return fmt_ts(row[0]) if row else None
        try:
            row = self.con.execute("select published_at from meta.publication").fetchone()
        except duckdb.Error:
            return None
        return fmt_ts(row[0]) if row else None

    # ---- output

    def _print_relation(self, rel: duckdb.DuckDBPyRelation) -> None:
        if self.fmt == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(rel.columns)
            for row in rel.fetchall():
                writer.writerow(["" if v is None else v for v in row])
            return
        kwargs: dict[str, Any] = {}
        if self.max_rows is not None:
            kwargs["max_rows"] = self.max_rows
        width = self.max_width
        if width is None and not self.stdout.isatty():
            width = 100_000  # piped or captured: never elide columns for a terminal that isn't there
        if width is not None:
            kwargs["max_width"] = width
        if self.out is None:
            rel.show(**kwargs)
        else:
            with contextlib.redirect_stdout(self.out):
                rel.show(**kwargs)

    # ---- execution

    def _print_rows(self, cur) -> None:
        """A PostgreSQL result, printed as DuckDB prints a relation (box) or as CSV."""
        if self.fmt == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow([d[0] for d in cur.description])
            for row in cur.fetchall():
                writer.writerow(["" if v is None else v for v in row])
            return
        df = cur.df()  # noqa: F841 - read by DuckDB's replacement scan below
        with duckdb.connect(":memory:") as local:
            self._print_relation(local.sql("select * from df"))

    def _execute_postgres(self, text: str) -> bool:
        import sqlparse

        for statement in sqlparse.split(text):
            statement = sqlparse.format(statement, strip_comments=True).strip().rstrip(";").strip()
            if not statement:
                continue
            try:
                cur = self.con.execute(statement)
                if cur.description:
                    self._print_rows(cur)
            except Exception as exc:  # noqa: BLE001 - psycopg2.Error: the server's message
                _err(f"Lỗi / error: {str(exc).strip()}")
                return False
        return True

    def execute(self, text: str) -> bool:
        """Run every statement of ``text``; print results; False on the first error."""
        if self.url is not None:
            return self._execute_postgres(text)
        try:
            statements = duckdb.extract_statements(text)
        except duckdb.Error as exc:
            _err(f"Lỗi / error: {exc}")
            return False
        for statement in statements:
            text = _statement_text(statement.query)
            if not text:
                continue
            try:
                rel = self.con.sql(text)
                if rel is not None:
                    self._print_relation(rel)
            except duckdb.Error as exc:
                _err(f"Lỗi / error: {exc}")
                return False
        return True

    def run_command(self, text: str) -> int:
        """``-c TEXT``: SQL statements, or dot commands (``-c ".tables"``), or both, one per line; exit code."""
        if not any(line.strip().startswith(".") for line in text.splitlines()):
            return EXIT_OK if self.execute(text) else EXIT_FAILED
        return self.repl(io.StringIO(text + "\n"), interactive=False)

    def dot(self, line: str) -> bool | None:
        """A dot command; None means quit."""
        parts = line.split()
        cmd, rest = parts[0].lower(), parts[1:]
        if cmd in (".quit", ".exit", ".q"):
            return None
        if cmd == ".help":
            print(SQL_HELP, file=self.stdout)
            return True
        if cmd == ".tables" and self.url is not None:
            if self.published:
                return self.execute("select table_schema || '.' || table_name as table_name, row_count "
                                    "from analytics_meta.published_tables order by 1;")
            return self.execute("select table_schema || '.' || table_name as table_name from information_schema.tables "
                                "where table_schema in ('marts', 'raw') order by 1;")
        if cmd in (".schema", ".describe") and rest and self.url is not None:
            name = rest[0].rstrip(";").split(".")
            schema = name[0] if len(name) > 1 else ("analytics" if self.published else "marts")
            return self.execute(
                "select column_name, data_type, is_nullable from information_schema.columns "
                f"where table_schema = {warehouse.quote_string(schema)} "
                f"and table_name = {warehouse.quote_string(name[-1])} order by ordinal_position;")
        if cmd == ".tables":
            try:
                self.con.execute("select 1 from meta.published_tables limit 0")
            except duckdb.Error:
                return self.execute(
                    "select schema_name || '.' || table_name as table_name, estimated_size as row_count "
                    "from duckdb_tables() where database_name = current_database() order by 1;"
                )
            return self.execute(
                "select table_schema || '.' || table_name as table_name, row_count, parquet_file "
                "from meta.published_tables order by 1;"
            )
        if cmd in (".schema", ".describe") and rest:
            name = rest[0].rstrip(";")
            return self.execute(f"describe {name};")
        if cmd == ".mode" and rest and rest[0] in ("box", "csv"):
            self.fmt = rest[0]
            return True
        if cmd == ".maxrows" and rest and rest[0].isdigit():
            self.max_rows = int(rest[0])
            return True
        if cmd == ".reload":
            self.connect()
            print(f"Đã mở lại / reopened {self.label} (phát hành / published {self.published_at()})", file=self.stdout)
            return True
        _err(f"Lệnh không rõ / unknown command: {line} (.help)")
        return False

    def repl(self, stream: TextIO, interactive: bool) -> int:
        if interactive:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (line editing and history for input())
            print(
                f"DVK — {self.label} (chỉ đọc / read-only; phát hành / published {self.published_at() or '—'})\n"
                "Kết thúc câu lệnh bằng ; — .help để xem trợ giúp, .quit để thoát. "
                "/ End statements with ; — .help for help, .quit to quit.",
                file=self.stdout,
            )
        buffer: list[str] = []
        failures = 0
        while True:
            if interactive:
                try:
                    line = input("dvk> " if not buffer else " ..> ")
                except EOFError:
                    print(file=self.stdout)
                    break
                except KeyboardInterrupt:
                    print(file=self.stdout)
                    buffer.clear()
                    continue
            else:
                line = stream.readline()
                if line == "":
                    break
            stripped = line.strip()
            if not buffer and stripped.startswith("."):
                try:
                    outcome = self.dot(stripped)
                except OpsError as exc:
                    _err(str(exc))
                    outcome = False
                if outcome is None:
                    break
                failures += outcome is False
                continue
            if not buffer and not stripped:
                continue
            buffer.append(line.rstrip("\n"))
            if _TRAILING_COMMENT.sub("", stripped).rstrip().endswith(";"):
                failures += not self._run(buffer)
        if buffer and "".join(buffer).strip():
            failures += not self._run(buffer)
        return EXIT_FAILED if failures and not interactive else EXIT_OK

    def _run(self, buffer: list[str]) -> bool:
        text = "\n".join(buffer)
        buffer.clear()
        try:
            return self.execute(text)
        except KeyboardInterrupt:
            _err("Đã dừng câu lệnh / statement interrupted")
            return False

