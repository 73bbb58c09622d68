"""The operators' command line: ``dvk …`` (console script), ``./scripts/dvk …`` or ``python -m dvk …``.

    dvk status                      last ingest, files waiting, quarantine, gate per year, publication
    dvk missing --period 2022Q1     expected units without an accepted submission for a period
    dvk quarantine [--unit 18070]   quarantined files and each file's problems
    dvk ingest                      load the inbox now (prints the result as JSON)
    dvk transform [build|docs|DBT…] dbt build (or docs, or any dbt command) on the warehouse
    dvk gate [--year 2021]          the quality gate of a year (default: every year with annual reports)
    dvk report [--year 2021]        the gate and the annual report of a year
    dvk rebuild --year 2021         dbt build, then the gate and the annual report of that year
    dvk publish [--year 2021]       publish for analysts the years whose gate passed (others keep their rows)
    dvk run [--year 2021]           the whole pipeline through Airflow (``./scripts/run``, ``dvk.run_local``)
    dvk sql [-c "select …"]         read-only SQL on the published warehouse (``./scripts/sql``)

A click app, only presentation: the questions are answered as data by :mod:`dvk.ops`, the SQL
shell is :mod:`dvk.sql_shell`, the work is :mod:`dvk.pipeline`, :mod:`dvk.transform`,
:mod:`dvk.publish`, :mod:`dvk.run_local`. Wrong input prints the usage and exits 2, never a
traceback. Every read goes through a read-only DuckDB connection. The settings come from
``dvk.settings``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import click

from dvk.ops import (  # noqa: F401  (re-exported: tests and callers use dvk.cli.collect_status …)
    EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, OpsError as CliError, collect_missing, collect_quarantine,
    collect_status, fmt_ts as _fmt_ts, warehouse_present,
)
from dvk.settings import get_settings
from dvk.sql_shell import SqlSession  # noqa: F401  (re-exported)
from dvk.warehouse import describe as describe_warehouse
from dvk.warehouse import json_value as _json_default

DESCRIPTION = """\b
Dân vận khéo — công cụ dòng lệnh cho người vận hành kho dữ liệu.
Dân vận khéo — the command line for the warehouse's operators.

\b
Cài đặt / settings: DVK_INBOX_DIR, DVK_WAREHOUSE, DVK_REPORTS_DIR, DVK_QUARANTINE_DIR, DVK_PUBLISHED_DIR.
"""

EPILOG = """\b
Ví dụ / examples:
  ./scripts/dvk status
  ./scripts/dvk missing --period 2022Q1          (or "Quý I/2022")
  ./scripts/dvk quarantine --unit 18070
  ./scripts/dvk rebuild --year 2021
  ./scripts/dvk report --year 2021
  ./scripts/dvk publish
  ./scripts/dvk sql -c "select * from marts.dim_field"
"""

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 120}


# --------------------------------------------------------------------------------------------
# the app and its shared options


class _Bilingual:
    """The help option says it in both languages too."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = "in trợ giúp này / show this help and exit"
        return option


class Command(_Bilingual, click.Command):
    pass


class Group(_Bilingual, click.Group):
    command_class = Command


@click.group(cls=Group, context_settings=CONTEXT_SETTINGS, invoke_without_command=True, help=DESCRIPTION,
             epilog=EPILOG)
@click.option("-v", "--verbose", is_flag=True, help="in nhật ký chi tiết (dbt, Great Expectations) / show detailed logs")
@click.pass_context
def app(ctx: click.Context, verbose: bool) -> int | None:
    ctx.ensure_object(dict)["verbose"] = verbose
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        return EXIT_USAGE
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="replace")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from dvk.filemodes import apply_umask

    apply_umask(get_settings())
    return None


class Year(click.ParamType):
    """A report year, 2000–2100, with the error in both languages."""

    name = "YEAR"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            year = int(value)
        except (TypeError, ValueError):
            self.fail(f"năm không hợp lệ / not a year: {value!r}", param, ctx)
        if not 2000 <= year <= 2100:
            self.fail(f"năm ngoài khoảng 2000–2100 / year outside 2000–2100: {year}", param, ctx)
        return year


def year_option(required: bool = False, multiple: bool = False,
                help: str = "năm báo cáo / the report year") -> Callable:  # noqa: A002
    return click.option("--year", type=Year(), required=required, multiple=multiple, help=help)


def json_option(f: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="in JSON / print JSON")(f)


def published_option(f: Callable) -> Callable:
    return click.option(
        "--published", is_flag=True,
        help="đọc bản phát hành thay vì kho dữ liệu / read the published copy instead of the warehouse",
    )(f)


# --------------------------------------------------------------------------------------------
# output helpers


class Progress:
    """Step lines with the seconds elapsed since the command started."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out
        self.t0 = time.monotonic()

    def line(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {text}", file=self.out or sys.stdout, flush=True)

    @contextlib.contextmanager
    def step(self, label: str) -> Iterator[None]:
        start = time.monotonic()
        self.line(f"▶ {label} …")
        try:
            yield
        except BaseException:
            self.line(f"✗ {label}: thất bại / failed ({time.monotonic() - start:.1f}s)")
            raise
        self.line(f"✓ {label} ({time.monotonic() - start:.1f}s)")


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)



def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default))



# --------------------------------------------------------------------------------------------
# status



@app.command("status", short_help="tình trạng kho dữ liệu / pipeline status", help="""\b
Lần nạp gần nhất, tệp chờ nạp, tệp bị cách ly, kết quả kiểm tra từng năm, bản phát hành.
Last ingest, files waiting in the inbox, quarantine, last gate result per year, publication.""")
@json_option
def cmd_status(as_json: bool) -> int:
    settings = get_settings()
    s = collect_status(settings)
    if as_json:
        _print_json(s)
        return EXIT_OK
    print(f"Kho dữ liệu / warehouse:   {s['warehouse']}")
    if s["warehouse_state"] == "missing":
        print("  chưa có: hãy chạy ./scripts/run / not built yet: run ./scripts/run")
    elif s["warehouse_state"] == "busy":
        print("  đang được ghi (một lần chạy đang diễn ra) / being written (a pipeline run is in progress)")
    elif s["warehouse_state"] == "unreachable":
        print("  không kết nối được máy chủ PostgreSQL / cannot reach the PostgreSQL server")
    last = s["last_load"]
    if last:
        print(
            f"Lần nạp gần nhất / last ingest: {_fmt_ts(last['started_at'])} (load {str(last['load_id'])[:8]}, "
            f"{s['loads']} lần / runs in all)"
        )
        print(
            f"  {last['files_seen']} tệp / files seen: {last['files_loaded']} nạp / loaded, "
            f"{last['files_skipped']} bỏ qua (đã nạp) / skipped (already loaded), "
            f"{last['files_quarantined']} cách ly / quarantined"
            + ("" if last["finished_at"] else "  — CHƯA KẾT THÚC / NOT FINISHED")
        )
    elif s["warehouse_state"] == "ok":
        print("Lần nạp gần nhất / last ingest: chưa có / none")
    if s["submissions"] is not None:
        print(f"Báo cáo trong kho / submissions loaded: {s['submissions']}")
    waiting = s["waiting_files"]
    if waiting is None:
        print(f"Tệp chờ nạp / files waiting in the inbox: ? ({s['inbox_dir']})")
    else:
        uploading = len(s["uploads_in_progress"] or [])
        print(f"Tệp chờ nạp / files waiting in the inbox: {len(waiting) + uploading} ({s['inbox_dir']})")
        for name in waiting[:20]:
            print(f"  - {name}")
        if len(waiting) > 20:
            print(f"  … và {len(waiting) - 20} tệp khác / and {len(waiting) - 20} more")
    for name in s["uploads_in_progress"] or []:
        print(f"  - {name}  (đang tải lên, chờ lần chạy sau / upload in progress: waits for the next run)")
    for label, items in (("Tệp bỏ qua (tên tạm) / ignored (temporary names)", s["ignored_files"]),
                         ("Tệp bị từ chối / refused (not regular files)", s["refused_files"])):
        if items:
            print(f"{label}: {len(items)}")
            for name, why in list(items.items())[:20]:
                print(f"  - {name}: {why}")
    if s["warnings"]:
        print(f"Cảnh báo khi nạp / ingest warnings: {len(s['warnings'])}")
        for w in s["warnings"][:20]:
            print(f"  - {w['file_name']}: {_where(w)}: {w['message_vi']}")
    if s["quarantined_files"] is not None:
        hint = "  (./scripts/dvk quarantine)" if s["quarantined_files"] else ""
        print(f"Tệp bị cách ly / quarantined files: {s['quarantined_files']}{hint}")
    build = s["dbt_last_build"]
    if build:
        failed = f", {len(build['failed'])} lỗi / failed" if build["failed"] else ""
        print(f"dbt build gần nhất / last dbt build: {build['generated_at']} ({build['nodes']} nodes{failed})")
    if s["gate"]:
        print("Kiểm tra chất lượng / quality gate:")
        for year, g in sorted(s["gate"].items()):
            verdict = "ĐẠT / passed" if g.get("passed") else f"KHÔNG ĐẠT / FAILED ({g.get('failures', '?')} lỗi / failures)"
            print(f"  {year}: {verdict}, {g.get('checked_at')}")
    else:
        print("Kiểm tra chất lượng / quality gate: chưa chạy / not run yet")
    for year, r in sorted(s["annual_reports"].items()):
        print(
            f"Báo cáo năm / annual report {year}: {r['units_registered']} đơn vị / units, {r['models_total']} mô hình / models "
            f"({r['models_new']} xây mới / new, {r['models_replicated']} nhân rộng / replicated) → {r['path']}"
        )
    p = s["published"]
    if p:
        years = ", ".join(str(y) for y in p["gate_years_passed"] or []) or "—"
        print(f"Bản phát hành / published: {p['published_at']} ({p['tables']} bảng / tables, năm đạt / gate years: {years})")
        print(f"  {p['database']}")
        _print_years(p["years"], indent="  ")
        if p["warehouse_changed_since"]:
            print("  kho dữ liệu đã thay đổi sau lần phát hành / the warehouse changed since (./scripts/dvk publish)")
    else:
        print("Bản phát hành / published: chưa có / nothing published yet")
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# missing


@app.command("missing", short_help="đơn vị chưa báo cáo một kỳ / units that have not reported for a period",
             help="""\b
Các đơn vị phải báo cáo trong năm của kỳ mà chưa có báo cáo được chấp nhận cho đúng kỳ đó.
Units expected in the period's year without an accepted submission for that period.""")
@click.option("--period", required=True,
              help='kỳ báo cáo / the period: 2022Q1, 2022S1, 2021, 202203, "Quý I/2022", "Năm 2021" …')
@published_option
@json_option
def cmd_missing(period: str, published: bool, as_json: bool) -> int:
    settings = get_settings()
    m = collect_missing(settings, period, published)
    notice = m.pop("notice")
    if notice:
        _err(notice)
    missing, expected, due, source = m["missing"], m["expected"], m["due_date"], m["source"]
    if as_json:
        _print_json(m)
        return EXIT_OK
    print(f"Kỳ / period {m['period_id']} (hạn nộp / due {due:%d/%m/%Y}); nguồn / source: {source}")
    print(
        f"{len(missing)} / {expected} đơn vị phải báo cáo chưa có báo cáo được chấp nhận "
        f"/ of the expected units have no accepted submission"
    )
    for row in missing:
        other = f"  (đã gửi / has sent: {row['other_periods_reported']})" if row["other_periods_reported"] else ""
        print(f"  {row['unit_code']:<6} {row['unit_name']} [{row['unit_kind']}]{other}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# quarantine



def _where(p: dict[str, Any]) -> str:
    parts = []
    if p.get("sheet"):
        parts.append(f"sheet «{p['sheet']}»")
    if p.get("row") is not None:
        parts.append(f"dòng / row {p['row']}")
    if p.get("column"):
        parts.append(f"cột / column «{p['column']}»")
    return ", ".join(parts) or "tệp / file"


@app.command("quarantine", short_help="danh sách tệp bị cách ly và lỗi / quarantined files and their problems",
             help="""\b
Mỗi tệp bị cách ly với từng lỗi (sheet, dòng, cột) từ raw.quarantine_problems.
Every quarantined file with each problem (sheet, row, column) from raw.quarantine_problems.""")
@click.option("--unit", metavar="CODE",
              help="chỉ các tệp của đơn vị (mã trong tên tệp) / only files of this unit (code or name in the file name)")
@json_option
def cmd_quarantine(unit: str | None, as_json: bool) -> int:
    settings = get_settings()
    files = collect_quarantine(settings, unit)
    if as_json:
        _print_json(files)
        return EXIT_OK
    scope = f" của đơn vị / for unit {unit}" if unit else ""
    print(f"{len(files)} tệp bị cách ly{scope} / quarantined file(s){scope}")
    for i, f in enumerate(files, start=1):
        print(
            f"\n{i}. {f['file_name']}  (nhận / received {_fmt_ts(f['received_at'])}, "
            f"cách ly / quarantined {_fmt_ts(f['quarantined_at'])}, load {str(f['load_id'])[:8]})"
        )
        print(f"   tệp / file: {f['quarantine_path']}")
        print(f"   báo cáo lỗi / problem report: {f['report_path']}")
        for p in f["problems"]:
            print(f"   - [{p['code']}] {_where(p)}: {p['message_vi']}")
            print(f"     {p['message_en']}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# rebuild / report / publish


@contextlib.contextmanager
def _quiet_dbt(verbose: bool) -> Iterator[None]:
    """dbt prints every node; keep only its errors unless --verbose."""
    if verbose:
        yield
        return
    saved = os.environ.get("DBT_QUIET")
    os.environ["DBT_QUIET"] = "true"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("DBT_QUIET", None)
        else:
            os.environ["DBT_QUIET"] = saved


def _gate_and_report(year: int, progress: Progress) -> int:
    from dvk import pipeline
    from dvk.gate import GateFailed

    try:
        with progress.step(f"kiểm tra chất lượng năm {year} / quality gate {year} (Great Expectations)"):
            gate_result = pipeline.gate(year)
    except GateFailed as exc:
        print(str(exc))
        return EXIT_FAILED
    with progress.step(f"lập báo cáo năm {year} / annual report {year}"):
        folder = Path(pipeline.report(year, gate_result))
    _print_headline(folder)
    print("→ ./scripts/dvk publish: phát hành cho người phân tích / publish it for the analysts")
    return EXIT_OK


def _print_headline(folder: Path) -> None:
    try:
        s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        print(f"→ {folder}")
        return
    print(
        f"Năm {s['year']}: {s['units_registered']} đơn vị, {s['models_total']} mô hình, {s['models_new']} xây mới, "
        f"{s['models_replicated']} nhân rộng / {s['units_registered']} units, {s['models_total']} models, "
        f"{s['models_new']} new, {s['models_replicated']} replicated → {folder}"
    )


@app.command("rebuild", short_help="dựng lại (dbt build), kiểm tra và lập báo cáo một năm / rebuild, gate and report a year",
             help="""\b
dbt build (staging, intermediate, marts, dbt tests), rồi kiểm tra chất lượng và báo cáo năm.
dbt build, then the quality gate and the annual report of the year. Exit 1 if the gate fails.""")
@year_option(required=True)
@click.pass_context
def cmd_rebuild(ctx: click.Context, year: int) -> int:
    settings = get_settings()
    from dvk import pipeline
    from dvk.transform import TransformError

    progress = Progress()
    progress.line(f"kho dữ liệu / warehouse {describe_warehouse(settings)}")
    try:
        with progress.step("dbt build (staging, intermediate, marts, dbt tests)"), _quiet_dbt(ctx.obj["verbose"]):
            pipeline.transform(force=True)
    except TransformError as exc:
        print(str(exc))
        return EXIT_FAILED
    return _gate_and_report(year, progress)


@app.command("report", short_help="kiểm tra chất lượng và lập báo cáo năm / gate and annual report of a year",
             help="""\b
Kiểm tra chất lượng (Great Expectations) rồi lập báo cáo năm, trên kho dữ liệu hiện có.
The quality gate, then the annual report, on the warehouse as it is. Exit 1 if a gate fails.
Không có --year: mọi năm có báo cáo năm và mọi năm đã đến hạn báo cáo năm / without --year: every year with annual reports and every year whose annual report is due.""")
@year_option(multiple=True, help="năm báo cáo (lặp lại được) / the report year (repeatable)")
def cmd_report(year: tuple[int, ...]) -> int:
    settings = get_settings()
    progress = Progress()
    if not warehouse_present(settings):
        raise CliError(f"Không tìm thấy kho dữ liệu / no warehouse at {describe_warehouse(settings)}",
                       EXIT_UNAVAILABLE)
    from dvk.pipeline import report_years

    codes = [_gate_and_report(y, progress) for y in (list(year) or report_years(None))]
    return max(codes, default=EXIT_OK)


def _print_years(years: dict[str, dict[str, Any]], indent: str = "  ") -> None:
    """One line per year of a publication: current, or held back with why and since when."""
    for year, y in sorted(years.items()):
        if y.get("state") == "current":
            gated = "kiểm tra đạt / gate passed" if y.get("gated") else "không kiểm tra (chưa có báo cáo năm) / not gated (no annual report)"
            print(f"{indent}{year}: MỚI NHẤT / current ({gated})")
            continue
        rows = y.get("rows_as_of")
        rows_txt = (f"giữ số liệu phát hành {rows} / keeps the rows published {rows}" if rows
                    else "chưa từng phát hành: không có số liệu / never published: no rows")
        print(f"{indent}{year}: GIỮ LẠI / HELD BACK từ / since {y.get('held_since')}: {y.get('reason_vi')} / "
              f"{y.get('reason_en')}; {rows_txt}")
        for line in y.get("gate_failure_summary") or []:
            print(f"{indent}    - {line}")
        more = (y.get("gate_failures") or 0) - len(y.get("gate_failure_summary") or [])
        if more > 0:
            print(f"{indent}    - … và {more} lỗi khác / and {more} more ({y.get('gate_result')})")


@app.command("publish", short_help="phát hành kho dữ liệu cho người phân tích / publish the warehouse for analysts",
             help="""\b
Sao các bảng marts sang một tệp DuckDB chỉ đọc và Parquet: các năm đạt kiểm tra chất lượng được
cập nhật; năm không đạt (hoặc chưa kiểm tra, hoặc kiểm tra trước khi kho thay đổi) giữ số liệu
đã phát hành lần trước (không có nếu chưa từng phát hành).
Copy the marts into a read-only DuckDB file and Parquet files: the years whose gate passed are
updated; a year whose gate failed (or has not run, or ran before the warehouse changed) keeps
its last published rows (none if never published). Exit 1 if a year was held back by its gate,
or nothing was published because no year passed.""")
@year_option(multiple=True, help="chỉ phát hành năm này (lặp lại được); các năm khác giữ nguyên như lần phát hành trước "
                                 "/ publish only this year (repeatable); every other year stays as last published")
def cmd_publish(year: tuple[int, ...]) -> int:
    settings = get_settings()
    from dvk.publish import PublishError, PublishRefused, publish_years

    progress = Progress()
    years = list(year) or None
    try:
        with progress.step(f"phát hành / publishing to {settings.published_dir}"):
            result = publish_years(years, settings, only=bool(years))
    except PublishRefused as exc:
        print(str(exc))
        return EXIT_FAILED
    except PublishError as exc:
        print(str(exc))
        return EXIT_UNAVAILABLE
    years_txt = ", ".join(str(y) for y in result.gate_years_passed) or "—"
    print(f"Đã phát hành / published {result.published_at} (năm đạt kiểm tra / gate years passed: {years_txt})")
    print(f"  DuckDB:  {result.database}")
    print(f"  Parquet: {result.parquet_dir}/")
    for t in result.tables:
        print(f"  {t.qualified:<36} {t.rows:>8} dòng / rows")
    print("Các năm / years:")
    _print_years(result.years)
    # a year asked for (by default: every gated year) that was held back is a failure to look at
    held = [y for y in result.years_held_back if (y in years if years else result.years[str(y)].get("gated"))]
    return EXIT_FAILED if held else EXIT_OK


# --------------------------------------------------------------------------------------------
# sql



@app.command("sql", short_help="truy vấn SQL chỉ đọc trên bản phát hành / read-only SQL on the published warehouse",
             help="""\b
Phiên SQL chỉ đọc trên bản phát hành (./scripts/sql). Không có -c: đọc câu lệnh từ bàn phím hoặc stdin.
A read-only SQL session on the published warehouse. Without -c: statements from the keyboard or stdin.
-c nhận cả lệnh chấm / -c takes dot commands too: -c ".tables".""")
@click.option("-c", "--command", metavar="SQL", help="chạy một lần rồi thoát / run once and exit")
@click.option("--csv", "as_csv", is_flag=True, help="in CSV thay vì bảng / print CSV instead of tables")
@click.option("--max-rows", type=int, default=None, help="số dòng tối đa mỗi kết quả / rows shown per result")
@click.option("--max-width", type=int, default=None, help="độ rộng tối đa / maximum output width")
@click.option("--warehouse", is_flag=True,
              help="mở kho dữ liệu (chỉ đọc) thay vì bản phát hành / open the warehouse itself (read-only)")
@click.option("--db", metavar="PATH", help="mở tệp DuckDB khác (chỉ đọc) / open another DuckDB file (read-only)")
def cmd_sql(command: str | None, as_csv: bool, max_rows: int | None, max_width: int | None, warehouse: bool,
            db: str | None) -> int:
    settings = get_settings()
    if warehouse and db:
        raise click.UsageError("--warehouse và --db loại trừ nhau / --warehouse and --db are mutually exclusive")
    if db:
        path: Path | str = Path(db).expanduser()
    elif settings.postgres is not None:  # the publication is a schema of the warehouse's database
        path = settings.warehouse_url
    elif warehouse:
        path = settings.warehouse
    else:
        path = settings.published_warehouse
    session = SqlSession(path, fmt="csv" if as_csv else "box", max_rows=max_rows, max_width=max_width,
                         published=not warehouse)
    try:
        if command is not None:
            return session.run_command(command)
        return session.repl(sys.stdin, interactive=sys.stdin.isatty())
    finally:
        session.close()


# --------------------------------------------------------------------------------------------
# ingest / transform / gate / run


@app.command("ingest", short_help="nạp hộp thư đến ngay / load the inbox now", help="""\b
Nạp các tệp trong hộp thư đến vào kho dữ liệu; in kết quả dạng JSON. Tệp lỗi vào khu cách ly.
Load the inbox into the warehouse now and print the result as JSON; a bad file goes to quarantine
(a normal outcome, exit 0). Exit 1 when a file could not be written to the warehouse.""")
def cmd_ingest() -> int:
    from dvk.ingest import IngestError, ingest_inbox

    try:
        result, status = ingest_inbox(), EXIT_OK
    except IngestError as exc:
        result, status = exc.result, EXIT_FAILED
        _err(str(exc))
    _print_json(result.as_dict())
    return status


@app.command("transform", context_settings={"ignore_unknown_options": True},
             short_help="dbt build trên kho dữ liệu / dbt build on the warehouse", help="""\b
dbt build (seeds, snapshot, models, dbt tests) trên kho dữ liệu; hoặc `docs`; hoặc một lệnh dbt bất kỳ.
dbt build on the warehouse (seeds, snapshot, models, data and unit tests); `docs`: dbt docs generate
(prints the index.html); any other dbt command is passed to dbt as it is:
  dvk transform                          dvk transform build --select +fct_model
  dvk transform --full-refresh           dvk transform docs
  dvk transform test --select test_type:unit""")
@click.option("-s", "--select", metavar="SELECTOR", help="chỉ các nút này / only these dbt nodes (dbt --select)")
@click.option("--full-refresh", is_flag=True,
              help="dựng lại cả các bảng tăng dần / rebuild the incremental facts from scratch")
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
def cmd_transform(select: str | None, full_refresh: bool, dbt_args: tuple[str, ...]) -> int:
    from dvk.transform import TransformError, build, docs, run_dbt

    if dbt_args and not dbt_args[0].startswith("-"):
        command, rest = dbt_args[0], list(dbt_args[1:])
    else:  # `dvk transform --vars '{…}'`: options of dbt build
        command, rest = "build", list(dbt_args)
    options = (["--select", select] if select else []) + (["--full-refresh"] if full_refresh else [])
    try:
        if command == "build" and not rest:
            build(select=select, full_refresh=full_refresh)
        elif command == "docs" and rest in ([], ["generate"]) and not options:
            print(docs())
        else:
            run_dbt([command, *options, *rest])
    except TransformError as exc:
        _err(str(exc))
        return EXIT_FAILED
    return EXIT_OK


@app.command("gate", short_help="kiểm tra chất lượng một năm / the quality gate of a year", help="""\b
Kiểm tra chất lượng (Great Expectations) của năm, ghi kết quả và báo cáo kiểm tra.
The quality gate (Great Expectations) of the year: writes gate_result.json and the gate report.
Không có --year: mọi năm có báo cáo năm và mọi năm đã đến hạn báo cáo năm / without --year: every year with annual reports and every year whose annual report is due.
Exit 1 if a gate failed.""")
@year_option(multiple=True, help="năm kiểm tra (lặp lại được) / the year to check (repeatable)")
def cmd_gate(year: tuple[int, ...]) -> int:
    from dvk.gate import gate_result_path, run_gate
    from dvk.pipeline import report_years

    settings = get_settings()
    if not warehouse_present(settings):
        raise CliError(f"Không tìm thấy kho dữ liệu / no warehouse at {describe_warehouse(settings)}",
                       EXIT_UNAVAILABLE)
    ok = True
    for y in list(year) or report_years(None):
        result = run_gate(y)
        verdict = "ĐẠT / passed" if result.passed else "KHÔNG ĐẠT / FAILED"
        print(f"{y}: {verdict} ({gate_result_path(y)})")
        for line in result.failure_lines():
            print(f"  - {line}")
        for line in result.warning_lines():
            print(f"  ! {line}")
        if result.missing_units:
            print("  chưa báo cáo / missing: " + ", ".join(u["unit_code"] for u in result.missing_units))
        if result.provisional_units:
            print("  tạm tính / provisional: " + ", ".join(
                f"{u['unit_code']} ({u['period_id']})" for u in result.provisional_units))
        if result.data_docs:
            print(f"  Báo cáo kiểm tra / gate report: {result.data_docs}")
        elif result.data_docs_error:
            print(f"  Báo cáo kiểm tra / gate report: không tạo được / not written: {result.data_docs_error}")
        ok = ok and result.passed
    return EXIT_OK if ok else EXIT_FAILED


@app.command("run", add_help_option=False,
             context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
             short_help="chạy cả quy trình qua Airflow / the whole pipeline through Airflow (./scripts/run)",
             help="Chạy cả quy trình qua Airflow / the whole pipeline through Airflow: dvk run --help")
@click.argument("run_args", nargs=-1, type=click.UNPROCESSED)
def cmd_run(run_args: tuple[str, ...]) -> int:
    """``dvk.run_local`` with its own options (``--year``, ``--unit``, ``--verbose``, ``--help``)."""
    from dvk import run_local

    try:
        return run_local.main(list(run_args))
    except SystemExit as exc:  # its argparse: --help (0) or a usage error (2, usage printed)
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)


# --------------------------------------------------------------------------------------------
# entry point


def year_args(args: list[str]) -> list[str]:
    """``python -m dvk.gate 2021 2022`` style positional years as ``--year 2021 --year 2022``;
    options (``--help``) pass through."""
    out: list[str] = []
    for a in args:
        out += [a] if a.startswith("-") else ["--year", a]
    return out


def main(argv: list[str] | None = None) -> int:
    """The console script ``dvk`` (and ``python -m dvk``): the exit code, never a traceback for
    wrong input (usage and the error on stderr, exit 2).

    Without ``argv`` (the process's own command line: the console script and ``python -m dvk``),
    the process ends with the command: :func:`_end_of_process`."""
    code = _main(argv)
    if argv is None:
        _end_of_process()
    return code


def _end_of_process() -> None:
    """Let the interpreter end this process without its last garbage collections over everything
    the command imported (Airflow, dbt's client, Great Expectations, pandas: about 600,000 objects,
    1.1 to 1.3 s of every README run, more than the project's own work in a run that brings nothing
    new; docs/benchmarks.md). ``gc.freeze()`` takes them out of the collector's sight; the rest of
    the exit is as usual: ``atexit`` functions run (logging's handlers flushed and closed, dbt's fork
    server stopped), the standard streams are flushed, objects are freed by their last reference.
    Only objects in reference cycles are not finalised: by now everything the command wrote is
    closed (files, the run log and the warehouse by their ``with``), and a run with Python's
    ResourceWarnings on reports no file or socket left open (docs/benchmarks.md)."""
    import gc

    gc.freeze()


def _main(argv: list[str] | None) -> int:
    try:
        code = app.main(args=argv, prog_name="dvk", standalone_mode=False)
    except click.UsageError as exc:
        exc.show()
        return EXIT_USAGE
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except CliError as exc:
        _err(str(exc))
        return exc.code
    except (KeyboardInterrupt, click.Abort):
        _err("Đã dừng / interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    return code if isinstance(code, int) else EXIT_OK


__all__ = ["SqlSession", "app", "collect_missing", "collect_quarantine", "collect_status", "main"]
