"""The command line for the data engineer's daily questions: ``python -m dvk …`` or ``./scripts/dvk …``.

    dvk status                      last ingest, files waiting, quarantine, gate per year, publication
    dvk missing --period 2022Q1     expected units without an accepted submission for a period
    dvk quarantine [--unit 18070]   quarantined files and each file's problems
    dvk rebuild --year 2021         dbt build, then the gate and the annual report of that year
    dvk report --year 2021          the gate and the annual report of that year
    dvk publish [--year 2021]       publish for analysts the years whose gate passed (others keep their rows)
    dvk sql [-c "select …"]         read-only SQL on the published warehouse (``./scripts/sql``)

Every read goes through a read-only DuckDB connection. The settings come from ``dvk.settings``
(``DVK_INBOX_DIR``, ``DVK_WAREHOUSE``, ``DVK_REPORTS_DIR``, ``DVK_QUARANTINE_DIR``,
``DVK_PUBLISHED_DIR``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from dvk.ops import (  # noqa: F401  (re-exported)
    EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, OpsError as CliError, collect_missing, collect_quarantine,
    collect_status, fmt_ts as _fmt_ts, json_default as _json_default,
)
from dvk.settings import Settings, get_settings
from dvk.sql_shell import SqlSession  # noqa: F401  (re-exported)

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



def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    s = collect_status(settings)
    if args.json:
        _print_json(s)
        return EXIT_OK
    print(f"Kho dữ liệu / warehouse:   {s['warehouse']}")
    if s["warehouse_state"] == "missing":
        print("  chưa có: hãy chạy ./scripts/run / not built yet: run ./scripts/run")
    elif s["warehouse_state"] == "busy":
        print("  đang được ghi (một lần chạy đang diễn ra) / being written (a pipeline run is in progress)")
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


def cmd_missing(args: argparse.Namespace, settings: Settings) -> int:
    m = collect_missing(settings, args.period, args.published)
    notice = m.pop("notice")
    if notice:
        _err(notice)
    missing, expected, due, source = m["missing"], m["expected"], m["due_date"], m["source"]
    if args.json:
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


def cmd_quarantine(args: argparse.Namespace, settings: Settings) -> int:
    files = collect_quarantine(settings, args.unit)
    if args.json:
        _print_json(files)
        return EXIT_OK
    scope = f" của đơn vị / for unit {args.unit}" if args.unit else ""
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


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from dvk import pipeline
    from dvk.transform import TransformError

    progress = Progress()
    progress.line(f"kho dữ liệu / warehouse {settings.warehouse}")
    try:
        with progress.step("dbt build (staging, intermediate, marts, dbt tests)"), _quiet_dbt(args.verbose):
            pipeline.transform()
    except TransformError as exc:
        print(str(exc))
        return EXIT_FAILED
    return _gate_and_report(args.year, progress)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    progress = Progress()
    if not settings.warehouse.is_file():
        raise CliError(f"Không tìm thấy kho dữ liệu / no warehouse at {settings.warehouse}", EXIT_UNAVAILABLE)
    return _gate_and_report(args.year, progress)


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


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    from dvk.publish import PublishError, PublishRefused, publish_years

    progress = Progress()
    years = args.year or None
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



def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    if args.db:
        path = Path(args.db).expanduser()
    elif args.warehouse:
        path = settings.warehouse
    else:
        path = settings.published_warehouse
    session = SqlSession(path, fmt="csv" if args.csv else "box", max_rows=args.max_rows, max_width=args.max_width)
    try:
        if args.command is not None:
            return session.run_command(args.command)
        return session.repl(sys.stdin, interactive=sys.stdin.isatty())
    finally:
        session.close()


# --------------------------------------------------------------------------------------------
# parser


DESCRIPTION = """\
Dân vận khéo — công cụ dòng lệnh cho người vận hành kho dữ liệu.
Dân vận khéo — the command line for the warehouse's operators.

Cài đặt / settings: DVK_INBOX_DIR, DVK_WAREHOUSE, DVK_REPORTS_DIR, DVK_QUARANTINE_DIR, DVK_PUBLISHED_DIR.
"""

EPILOG = """\
Ví dụ / examples:
  ./scripts/dvk status
  ./scripts/dvk missing --period 2022Q1          (or "Quý I/2022")
  ./scripts/dvk quarantine --unit 18070
  ./scripts/dvk rebuild --year 2021
  ./scripts/dvk report --year 2021
  ./scripts/dvk publish
  ./scripts/dvk sql -c "select * from marts.dim_field"
"""


def _year(text: str) -> int:
    try:
        year = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"năm không hợp lệ / not a year: {text!r}") from None
    if not 2000 <= year <= 2100:
        raise argparse.ArgumentTypeError(f"năm ngoài khoảng 2000–2100 / year outside 2000–2100: {year}")
    return year


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="dvk", description=DESCRIPTION, epilog=EPILOG, formatter_class=fmt)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="in nhật ký chi tiết (dbt, Great Expectations) / show detailed logs")
    sub = parser.add_subparsers(dest="command_name", metavar="COMMAND")

    p = sub.add_parser(
        "status", formatter_class=fmt,
        help="tình trạng kho dữ liệu / pipeline status",
        description="Lần nạp gần nhất, tệp chờ nạp, tệp bị cách ly, kết quả kiểm tra từng năm, bản phát hành.\n"
                    "Last ingest, files waiting in the inbox, quarantine, last gate result per year, publication.",
    )
    p.add_argument("--json", action="store_true", help="in JSON / print JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "missing", formatter_class=fmt,
        help="đơn vị chưa báo cáo một kỳ / units that have not reported for a period",
        description="Các đơn vị phải báo cáo trong năm của kỳ mà chưa có báo cáo được chấp nhận cho đúng kỳ đó.\n"
                    "Units expected in the period's year without an accepted submission for that period.",
    )
    p.add_argument("--period", required=True,
                   help="kỳ báo cáo / the period: 2022Q1, 2022S1, 2021, 202203, \"Quý I/2022\", \"Năm 2021\" …")
    p.add_argument("--published", action="store_true",
                   help="đọc bản phát hành thay vì kho dữ liệu / read the published copy instead of the warehouse")
    p.add_argument("--json", action="store_true", help="in JSON / print JSON")
    p.set_defaults(func=cmd_missing)

    p = sub.add_parser(
        "quarantine", formatter_class=fmt,
        help="danh sách tệp bị cách ly và lỗi / quarantined files and their problems",
        description="Mỗi tệp bị cách ly với từng lỗi (sheet, dòng, cột) từ raw.quarantine_problems.\n"
                    "Every quarantined file with each problem (sheet, row, column) from raw.quarantine_problems.",
    )
    p.add_argument("--unit", metavar="CODE",
                   help="chỉ các tệp của đơn vị (mã trong tên tệp) / only files of this unit (code or name in the file name)")
    p.add_argument("--json", action="store_true", help="in JSON / print JSON")
    p.set_defaults(func=cmd_quarantine)

    p = sub.add_parser(
        "rebuild", formatter_class=fmt,
        help="dựng lại (dbt build), kiểm tra và lập báo cáo một năm / rebuild, gate and report a year",
        description="dbt build (staging, intermediate, marts, dbt tests), rồi kiểm tra chất lượng và báo cáo năm.\n"
                    "dbt build, then the quality gate and the annual report of the year. Exit 1 if the gate fails.",
    )
    p.add_argument("--year", type=_year, required=True, help="năm báo cáo / the report year")
    p.set_defaults(func=cmd_rebuild)

    p = sub.add_parser(
        "report", formatter_class=fmt,
        help="kiểm tra chất lượng và lập báo cáo năm / gate and annual report of a year",
        description="Kiểm tra chất lượng (Great Expectations) rồi lập báo cáo năm, trên kho dữ liệu hiện có.\n"
                    "The quality gate, then the annual report, on the warehouse as it is. Exit 1 if the gate fails.",
    )
    p.add_argument("--year", type=_year, required=True, help="năm báo cáo / the report year")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "publish", formatter_class=fmt,
        help="phát hành kho dữ liệu cho người phân tích / publish the warehouse for analysts",
        description="Sao các bảng marts sang một tệp DuckDB chỉ đọc và Parquet: các năm đạt kiểm tra chất lượng được\n"
                    "cập nhật; năm không đạt (hoặc chưa kiểm tra, hoặc kiểm tra trước khi kho thay đổi) giữ số liệu\n"
                    "đã phát hành lần trước (không có nếu chưa từng phát hành).\n"
                    "Copy the marts into a read-only DuckDB file and Parquet files: the years whose gate passed are\n"
                    "updated; a year whose gate failed (or has not run, or ran before the warehouse changed) keeps\n"
                    "its last published rows (none if never published). Exit 1 if a year was held back by its gate,\n"
                    "or nothing was published because no year passed.",
    )
    p.add_argument("--year", type=_year, action="append",
                   help="chỉ phát hành năm này (lặp lại được); các năm khác giữ nguyên như lần phát hành trước "
                        "/ publish only this year (repeatable); every other year stays as last published")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser(
        "sql", formatter_class=fmt,
        help="truy vấn SQL chỉ đọc trên bản phát hành / read-only SQL on the published warehouse",
        description="Phiên SQL chỉ đọc trên bản phát hành (./scripts/sql). Không có -c: đọc câu lệnh từ bàn phím hoặc stdin.\n"
                    "A read-only SQL session on the published warehouse. Without -c: statements from the keyboard or stdin.",
    )
    p.add_argument("-c", "--command", metavar="SQL", help="chạy một lần rồi thoát / run once and exit")
    p.add_argument("--csv", action="store_true", help="in CSV thay vì bảng / print CSV instead of tables")
    p.add_argument("--max-rows", type=int, default=None, help="số dòng tối đa mỗi kết quả / rows shown per result")
    p.add_argument("--max-width", type=int, default=None, help="độ rộng tối đa / maximum output width")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--warehouse", action="store_true",
                     help="mở kho dữ liệu (chỉ đọc) thay vì bản phát hành / open the warehouse itself (read-only)")
    src.add_argument("--db", metavar="PATH", help="mở tệp DuckDB khác (chỉ đọc) / open another DuckDB file (read-only)")
    p.set_defaults(func=cmd_sql)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="replace")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = get_settings()
    from dvk.filemodes import apply_umask

    apply_umask(settings)
    try:
        return args.func(args, settings)
    except CliError as exc:
        _err(str(exc))
        return exc.code
    except KeyboardInterrupt:
        _err("Đã dừng / interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK


__all__ = ["SqlSession", "build_parser", "collect_quarantine", "collect_status", "main"]
