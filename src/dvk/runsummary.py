"""The run command's short lines: one a stage (counts, elapsed), the gate warnings as a table, and
on failure which task failed and the first lines of its error. Read from what the stages wrote
(``raw.loads``, dbt's ``run_results.json``, ``gate_result.json``, the publication manifest, the
annual reports) and the task states of the DAG runs."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

#: How many lines of a failed task's error the summary shows (all of it is in the log file).
ERROR_LINES = 3
#: How many rows the warnings table shows at most.
WARNING_ROWS = 12


def _seconds(outcome, prefix: str) -> float:
    return sum(d for task, d in outcome.durations.items() if task == prefix or task.startswith(prefix + "["))


def _state(outcome, task: str) -> str:
    states = sorted({s for t, s in outcome.tasks.items() if t == task or t.startswith(task + "[")})
    return "/".join(states) or "not run"


def ingest_line(outcome, settings) -> str:
    task = "ingest_inbox"
    counts = ""
    try:
        from dvk import warehouse

        with warehouse.read_only(warehouse.target(settings), wait=0) as con:  # the run is over: nobody writes
            row = con.execute("select files_seen, files_loaded, files_skipped, files_quarantined from raw.loads "
                              "order by started_at desc limit 1").fetchone()
        if row:
            counts = (f"{row[0]} tệp / files seen, {row[1]} loaded, {row[2]} skipped (already loaded), "
                      f"{row[3]} quarantined; ")
    except Exception:  # noqa: BLE001 - the counts are a courtesy; the state below tells the truth
        counts = ""
    state = _state(outcome, task)
    if state == "skipped":
        state = "skipped (nothing new)"
    line = f"ingest: {counts}{state} ({_seconds(outcome, task):.1f} s)"
    waiting = _uploads_waiting()
    if waiting:
        line += (f"; {waiting} tệp đang chờ (mới ghi) / file(s) waiting (written within the settle time): "
                 f"a later run reads them (dvk status)")
    return line


def _uploads_waiting() -> int:
    """Files the inbox holds back for the settle time now (this process's settings: the run's)."""
    from dvk.ingest.inbox import list_inbox, read_manifest
    from dvk.settings import get_settings

    settings = get_settings()
    try:
        return len(list_inbox(settings.inbox_dir, settle_seconds=settings.inbox_settle_seconds,
                              manifest=read_manifest(settings.inbox_dir)).settling)
    except OSError:
        return 0


def _fresh(path: Path, since: float) -> bool:
    try:
        return path.stat().st_mtime >= since - 1
    except OSError:
        return False


def gate_results(reports_dir: Path, since: float) -> list[dict]:
    """The gate results written since ``since`` (a run's years), oldest year first."""
    out = []
    for path in sorted((reports_dir / "gate").glob("*/gate_result.json"), key=lambda p: p.parent.name):
        if _fresh(path, since):
            out.append(json.loads(path.read_text(encoding="utf-8")) | {"_path": str(path)})
    return out


def dbt_line(outcome, settings, since: float) -> str:
    task = "dbt_build"
    path = settings.dbt_target_dir / "run_results.json"
    counts = ""
    if _fresh(path, since):
        results = json.loads(path.read_text(encoding="utf-8")).get("results", [])
        kinds = Counter(r["unique_id"].split(".")[0] for r in results)
        tests = Counter(r.get("status") for r in results if r["unique_id"].startswith("test."))
        errors = sum(1 for r in results if r.get("status") == "error")
        counts = (f"{kinds.get('model', 0)} models, {kinds.get('seed', 0)} seeds, {kinds.get('snapshot', 0)} snapshot(s); "
                  f"{sum(tests.values())} tests: {tests.get('pass', 0)} passed, {tests.get('warn', 0)} warnings, "
                  f"{tests.get('fail', 0)} failed; {errors} errors; ")
    elif outcome.tasks.get(task) == "success":
        counts = "nothing new since the last build, not run again; "  # dvk.pipeline.transform
    return f"dbt build: {counts}{_state(outcome, task)} ({_seconds(outcome, task):.1f} s)"


def gate_lines(results: list[dict], label: str = "gate") -> list[str]:
    lines = []
    for r in results:
        verdict = "passed" if r.get("passed") else f"BLOCKED ({len(r.get('failures') or [])} failures)"
        report = f" -> {r['data_docs']}" if r.get("data_docs") else ""
        lines.append(f"{label} {r.get('year')}: {verdict}, {len(r.get('warnings') or [])} warnings{report}")
    return lines


def publish_line(outcome, settings) -> str:
    from dvk.publish import read_manifest

    task = "publish"
    manifest = read_manifest(settings) or {}
    current = ", ".join(str(y) for y in manifest.get("years_current") or []) or "—"
    held = ", ".join(str(y) for y in manifest.get("years_held_back") or []) or "none"
    return f"publish: years current {current}; held back {held}; {_state(outcome, task)} ({_seconds(outcome, task):.1f} s)"


def transform_lines(outcome, settings, since: float) -> list[str]:
    lines = [dbt_line(outcome, settings, since)]
    gates = gate_results(settings.reports_dir, since)
    if gates:
        lines.append(f"gate: {len(gates)} year(s) checked ({_seconds(outcome, 'gate'):.1f} s); gate reports:")
    lines += ["  " + line for line in gate_lines(gates)]
    if "publish" in outcome.tasks:
        lines.append(publish_line(outcome, settings))
    return lines


def report_lines(outcome, settings, since: float, unit: str | None = None) -> list[str]:
    """One line per outcome of the years this run gated, naming them (``report 2022, 2025: ok``):
    report written, or left as it was (same figures), or blocked by the gate, or not written (its
    report task failed)."""
    reports_failed = any(s == "failed" for t, s in outcome.tasks.items() if t.startswith("year_report.report"))
    outcomes: dict[str, list[str]] = {}
    for r in gate_results(settings.reports_dir, since):
        year = r.get("year")
        summary = settings.reports_dir / "annual" / str(year) / "summary.json"
        if not r.get("passed"):
            what = "BLOCKED by the gate (no report)"
        elif summary.exists() and not (reports_failed and not _fresh(summary, since)):
            what = "ok" if _fresh(summary, since) else "ok (unchanged)"
        else:
            what = "NOT written (its report task failed)"
        outcomes.setdefault(what, []).append(str(year))
    lines = [f"report {', '.join(years)}: {what}" for what, years in outcomes.items()]
    if lines:
        seconds = _seconds(outcome, "year_report.gate") + _seconds(outcome, "year_report.report")
        lines[-1] += f" (gates and reports {seconds:.1f} s)"
    if unit:
        lines.append(f"unit_summary {unit}: {_state(outcome, 'unit_summary')} (figures in the log file)")
    return lines


def warning_table(reports_dir: Path, since: float) -> list[str]:
    """The gate warnings once: how many per check (rows) and year (columns)."""
    results = gate_results(reports_dir, since)
    counts = Counter((w.get("check"), r.get("year")) for r in results for w in r.get("warnings") or [])
    if not counts:
        return []
    years = sorted({y for _, y in counts})
    checks = sorted({c for c, _ in counts}, key=lambda c: (-sum(n for (k, _), n in counts.items() if k == c), c))
    width = max(len("check"), *(len(str(c)) for c in checks[:WARNING_ROWS]))
    lines = ["\nCảnh báo kiểm tra / gate warnings (chi tiết / details: báo cáo kiểm tra / gate reports):",
             "  " + "check".ljust(width) + "".join(f"{y:>7}" for y in years)]
    for check in checks[:WARNING_ROWS]:
        lines.append("  " + str(check).ljust(width) + "".join(f"{counts.get((check, y), 0):>7}" for y in years))
    if len(checks) > WARNING_ROWS:
        lines.append(f"  … {len(checks) - WARNING_ROWS} more checks")
    return lines


_TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+) map_index=(-?\d+)")
#: a log record (structlog's console format or logging's): the end of an exception's message
_LOG_RECORD = re.compile(r"^\s*(\d{4}-\d\d-\d\d[T ]\d\d:\d\d|\[\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d )")
_EXCEPTION = re.compile(r"^\s*(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Failed|Refused|Exit|Interrupt)\b:?")


def task_log(text: str, task: str) -> str:
    """The part of a DAG run's captured output that one task printed (``gate[1]``: map index 1)."""
    name, _, index = task.partition("[")
    index = index.rstrip("]") or "-1"
    parts = _TASK_START.split(text)
    # parts: [before, task_id, map_index, body, task_id, map_index, body, ...]
    bodies = [parts[i + 2] for i in range(1, len(parts) - 2, 3) if parts[i] == name and parts[i + 1] == index]
    return "\n".join(bodies)


def error_lines(text: str, limit: int = ERROR_LINES) -> list[str]:
    """The first lines of the last exception in ``text`` (its type and message), else its last lines."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    starts = [i for i, ln in enumerate(lines) if _EXCEPTION.match(ln)]
    if starts:
        picked = []
        for ln in lines[starts[-1]:]:
            if _LOG_RECORD.match(ln) or len(picked) == limit:
                break
            if ln.strip():
                picked.append(ln)
    else:
        picked = [ln for ln in lines if ln.strip()][-limit:]
    return [ln if len(ln) <= 160 else ln[:159] + "…" for ln in picked]


def failure_lines(outcomes) -> list[str]:
    """Per failed DAG run: its failed tasks, and the first lines of each one's error (an error seen
    in an earlier task, such as the same year's gate in two DAGs, is named, not repeated)."""
    lines: list[str] = []
    shown: dict[str, str] = {}
    for outcome in outcomes:
        if outcome.succeeded:
            continue
        failed = [t for t, s in sorted(outcome.tasks.items()) if s == "failed"]
        upstream = [t for t, s in sorted(outcome.tasks.items()) if s == "upstream_failed"]
        lines.append(f"{'' if lines else chr(10)}{outcome.dag_id}: {outcome.state}; task failed: {', '.join(failed) or '—'}"
                     + (f"; not run (upstream failed): {', '.join(upstream)}" if upstream else ""))
        for task in failed:
            body = task_log(outcome.log_text, task)
            if not body:
                continue
            error = [ln.strip() for ln in error_lines(body)]
            if not error:
                continue
            key = "\n".join(error)
            if key in shown:
                lines.append(f"  {task}: {error[0][:60]}… (as {shown[key]})")
                continue
            shown[key] = f"{outcome.dag_id} {task}"
            lines.append(f"  {task}: {error[0]}")
            if "GateFailed" not in error[0]:  # a gate's failures are listed after this (their first few)
                lines += [f"    {ln}" for ln in error[1:]]
    return lines
