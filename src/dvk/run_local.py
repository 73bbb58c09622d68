"""The README's run command: the whole pipeline through Airflow on the embedded default.

    ./scripts/run [--year 2021]     (= dvk run; also python -m dvk.run_local)

Runs ``dvk_ingest``, ``dvk_transform`` and ``dvk_annual_report`` one after the other with
``dag.test()`` on a local Airflow home (SQLite), honouring ``DVK_INBOX_DIR``, ``DVK_WAREHOUSE``
and ``DVK_REPORTS_DIR``, then prints where the reports are. Exits 1 if a DAG run failed (a gate
failure included), after saying why.

Quiet by default: one line a stage as it ends (counts, seconds), the gate warnings once as a
table, the outcome (annual reports, gate reports, publication) and, when a task failed, its name
and the first lines of its error. Everything Airflow, dbt and the gate print goes to the run's log
file (``DVK_LOG_DIR``, default ``.local/logs``: ``run-<UTC time>-<pid>.log``, named at the end; the
last ``DVK_KEEP_RUN_LOGS`` are kept); ``--verbose`` shows it as well.

One run at a time: the run holds a lock beside the warehouse (``<warehouse dir>/.dvk-run.lock``)
and one in the Airflow home (``.dvk-run.lock``) from before the metadata set-up to the end. A
second run started meanwhile changes nothing: it says since when and which process holds the lock,
and exits 3.
"""

from __future__ import annotations

import argparse
import json
import sys

from dvk import airflow_local

#: Exit code of a run refused because another run holds the lock (as ``dvk``'s "unavailable").
EXIT_LOCKED = 3
RUN_LOCK_NAME = ".dvk-run.lock"
#: A file written within the settle time (``DVK_INBOX_SETTLE_SECONDS``) is read by this command
#: when it stays unchanged this many seconds (see :func:`_read_settled_uploads`).
HAND_RUN_QUIET_SECONDS = 3
#: How many of a year's gate failures the run prints, in Vietnamese (all of them, both languages, are in
#: its gate report, whose path the run prints with the year's gate line).
GATE_FAILURES_SHOWN = 3


def run_lock_paths(settings=None) -> list:
    """The run's lock files: beside the warehouse (two runs on one warehouse) and in the Airflow
    home (two runs on one metadata database)."""
    from dvk.settings import get_settings

    settings = settings or get_settings()
    return [settings.warehouse.parent / RUN_LOCK_NAME, airflow_local.airflow_home() / RUN_LOCK_NAME]


def _print_publication(settings) -> None:
    from dvk.publish import read_manifest

    manifest = read_manifest(settings)
    if not manifest:
        return
    current = ", ".join(str(y) for y in manifest.get("years_current") or []) or "—"
    print(f"\nBản phát hành / published for analysts: {manifest.get('published_at')} ({settings.published_warehouse})")
    print(f"  năm mới nhất / years current: {current}")
    for year in manifest.get("years_held_back") or []:
        y = (manifest.get("years") or {}).get(str(year), {})
        rows = y.get("rows_as_of") or "không có / none"
        print(f"  năm {year} GIỮ LẠI / HELD BACK từ / since {y.get('held_since')}: {y.get('reason_vi')} / "
              f"{y.get('reason_en')} (số liệu của lần phát hành / rows as of: {rows})")


def _print_gate_failures(reports_dir) -> None:
    for path in sorted((reports_dir / "gate").glob("*/gate_result.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        if result.get("passed"):
            continue
        failures = result.get("failures", [])
        print(f"\nKiểm tra chất lượng năm {result.get('year')} KHÔNG ĐẠT / gate FAILED: {len(failures)} lỗi / "
              f"failure(s) ({path}):")
        for failure in failures[:GATE_FAILURES_SHOWN]:
            line = str(failure.get("message_vi"))
            print(f"  - {line if len(line) <= 160 else line[:159] + '…'}")
        if len(failures) > GATE_FAILURES_SHOWN:
            print(f"  … {len(failures) - GATE_FAILURES_SHOWN} lỗi khác / more: {path.parent / 'data_docs' / 'index.html'}")


def _print_annual_summaries(reports_dir, year: int | None = None) -> None:
    """One line per year with an annual report (every year, oldest first, or only ``year``)."""
    paths = sorted((reports_dir / "annual").glob("*/summary.json"), key=lambda p: p.parent.name)
    summaries = [json.loads(p.read_text(encoding="utf-8")) | {"_dir": p.parent} for p in paths]
    summaries = [s for s in summaries if year is None or s.get("year") == year]
    if not summaries:
        return
    print("\nBáo cáo năm / annual reports:")
    for summary in summaries:
        provisional = sum(1 for unit in summary.get("units", []) if unit.get("provisional"))
        missing = len(summary.get("missing_units", []))
        print(
            f"  {summary['year']}: {summary['units_registered']} đơn vị, {summary['models_total']} mô hình, "
            f"{summary['models_new']} xây mới, {summary['models_replicated']} nhân rộng; "
            f"tạm tính / provisional {provisional}, chưa báo cáo / missing {missing} -> {summary['_dir']}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dvk run", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--year", type=int, default=None, help="report only this year (default: every year with annual reports, and every year whose annual report is due)")
    parser.add_argument("--unit", default=None, help="also show one unit's figures, status and gate failures (unit code)")
    parser.add_argument("--verbose", action="store_true",
                        help="also show what Airflow, dbt and the gate print (always kept in the run's log file)")
    args = parser.parse_args(argv)

    from dvk.filemodes import apply_umask
    from dvk.runlock import RunLocked, run_lock

    apply_umask()
    try:
        with run_lock(run_lock_paths()):
            return _run(args)
    except RunLocked as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_LOCKED


def _run(args: argparse.Namespace) -> int:
    import os

    from dvk.runlog import RunLog

    # Airflow's INFO lines go to the log file; the terminal shows them only with --verbose.
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
    home = airflow_local.configure()
    from dvk.settings import get_settings

    settings = get_settings()
    with RunLog(verbose=args.verbose) as runlog:
        say = runlog.say
        say(f"Inbox: {settings.inbox_dir} | Warehouse: {settings.warehouse}")
        say(f"Reports: {settings.reports_dir} | Airflow: {home} (SQLite, dag.test)")
        settle = os.environ.get("DVK_INBOX_SETTLE_SECONDS")
        try:
            outcomes = _run_dags(args, settings, runlog)
        except Exception as exc:  # noqa: BLE001 - said in two lines; the traceback is in the log
            runlog.log_exception()
            say(f"LỖI / ERROR: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            say(f"Nhật ký đầy đủ / full log: {runlog.path}")
            return 1
        finally:
            # dbt's fork server (started by _run_dags) ends with the run: reaped here, its memory
            # given back before the summary, not at the interpreter's exit
            from dvk import dbt_forkserver

            dbt_forkserver.stop()
            # the settle time this run may have shortened (_read_settled_uploads)
            if settle is None:
                os.environ.pop("DVK_INBOX_SETTLE_SECONDS", None)
            else:
                os.environ["DVK_INBOX_SETTLE_SECONDS"] = settle
        _print_outcome(settings, args, outcomes, runlog)
        ok = all(o.succeeded for o in outcomes) and len(outcomes) == 3
        say(f"\n{'XONG / DONE' if ok else 'CÓ LỖI / FAILED'} — nhật ký đầy đủ / full log: {runlog.path}")
        return 0 if ok else 1


def _run_dags(args: argparse.Namespace, settings, runlog) -> list[airflow_local.DagRunOutcome]:
    from dvk import runsummary

    say = runlog.say
    listing = _inbox_listing(settings)
    _read_settled_uploads(settings, say, listing)
    if _dbt_likely(settings, listing):
        # dbt's fork server imports dbt (and primes it, from the last build's parse state) while
        # Airflow sets up and the ingest runs: dvk_transform's tasks run in this process (dag.test)
        # and fork their dbt invocations from it
        from dvk import transform

        try:
            transform.warm_up(settings)
        except OSError as exc:  # no process could be started: the first dbt invocation says why
            print(f"dbt's fork server not started early: {exc}", file=sys.stderr)  # the run's log
    with runlog.stage("airflow metadata"):
        airflow_local.ensure_metadata_db()
    with runlog.stage("dvk_ingest") as text:
        ingest = airflow_local.run_dag("dvk_ingest")
    ingest.log_text = text()
    say(runsummary.ingest_line(ingest, settings))
    outcomes = [ingest]

    with runlog.stage("dvk_transform") as text:
        transform = airflow_local.run_dag("dvk_transform")
    transform.log_text = text()
    outcomes.append(transform)
    for line in runsummary.transform_lines(transform, settings, since=runlog.stage_started):
        say(line)

    if ingest.succeeded and transform.tasks.get("dbt_build") == "success":
        # Even when a gate failed in dvk_transform, the other years' reports are still produced.
        with runlog.stage("dvk_annual_report") as text:
            report = airflow_local.run_dag("dvk_annual_report", {"year": args.year, "unit_code": args.unit})
        report.log_text = text()
        outcomes.append(report)
        for line in runsummary.report_lines(report, settings, runlog.stage_started, args.unit):
            say(line)
    return outcomes


def _inbox_listing(settings):
    """The inbox as the ingest will list it (``list_inbox``, with the settle time and the upload
    manifest), read once for this command's own decisions; None without a readable inbox (the
    ingest says why)."""
    from dvk.ingest.inbox import list_inbox, read_manifest

    try:
        if not settings.inbox_dir.is_dir():
            return None
        return list_inbox(settings.inbox_dir, settle_seconds=settings.inbox_settle_seconds,
                          manifest=read_manifest(settings.inbox_dir))
    except OSError:
        return None


def _dbt_likely(settings, listing) -> bool:
    """Whether this run will probably run dbt (so that importing it early pays): no record of a
    successful build of this warehouse, or an inbox file (of ``listing``) the ingest has not read
    as it is now. A run that builds for another reason (a new units file) starts dbt when it gets
    there."""
    from dvk.changes import build_inputs_path
    from dvk.ingest import inbox_index

    try:
        if not build_inputs_path(settings).is_file():
            return True
        if listing is None:
            return False
        if listing.settling:  # written just now: new or changed
            return True
        index = inbox_index.read_index(inbox_index.index_path(settings.warehouse), settings.inbox_dir)
        return bool(inbox_index.unknown(listing.files, index))
    except Exception:  # noqa: BLE001 - only an early start is at stake: dbt then starts when needed
        return False


def _read_settled_uploads(settings, say, listing) -> None:
    """Files modified within the settle time wait for a later run: the nightly run must never read
    an upload in progress. This command is started by a person who has just put the files in the
    inbox (spec §7: ``DVK_INBOX_DIR=/some/folder`` runs the whole pipeline on that folder), so when
    every such file stays unchanged for :data:`HAND_RUN_QUIET_SECONDS` this run reads them now (the
    settle time is those seconds for its tasks); when one still changes, the settle time holds for all of them
    and the run says so. A settle time set by hand (``DVK_INBOX_SETTLE_SECONDS``) is kept as set."""
    import os

    from dvk.ingest.inbox import changing_files

    if "DVK_INBOX_SETTLE_SECONDS" in os.environ or settings.inbox_settle_seconds <= 0:
        return
    if listing is None:
        return  # no inbox: the ingest says so
    if not listing.settling:
        return
    moving = changing_files(listing.settling, HAND_RUN_QUIET_SECONDS)
    n, settle = len(listing.settling), settings.inbox_settle_seconds
    if moving:
        names = ", ".join(p.name for p in moving[:3]) + (" …" if len(moving) > 3 else "")
        say(f"inbox: {len(moving)} tệp đang được ghi / file(s) still being written ({names}): {n} tệp mới ghi "
            f"chờ lần chạy sau / recently written file(s) wait for a later run (DVK_INBOX_SETTLE_SECONDS={settle})")
        return
    # this run's tasks (dag.test, in this process; _run puts the old value back): a file written
    # after the watch still waits
    os.environ["DVK_INBOX_SETTLE_SECONDS"] = str(HAND_RUN_QUIET_SECONDS)
    say(f"inbox: {n} tệp ghi trong {settle} s qua, không đổi trong {HAND_RUN_QUIET_SECONDS} s: đọc ngay / "
        f"file(s) written in the last {settle} s, unchanged for {HAND_RUN_QUIET_SECONDS} s: read now "
        f"(the nightly run waits {settle} s)")


def _print_outcome(settings, args, outcomes, runlog) -> None:
    from dvk import runsummary

    say = runlog.say
    for line in runsummary.warning_table(settings.reports_dir, since=runlog.started):
        say(line)
    for line in runsummary.failure_lines(outcomes):
        say(line)
    with runlog.to_terminal():
        _print_gate_failures(settings.reports_dir)
        _print_annual_summaries(settings.reports_dir, args.year)
        quarantine = settings.quarantine_dir
        if quarantine.exists() and any(quarantine.rglob("*.problems.txt")):
            print(f"\nFiles in quarantine / tệp bị cách ly: {quarantine}")
        _print_publication(settings)


if __name__ == "__main__":
    sys.exit(main())
