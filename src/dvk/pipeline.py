"""The pipeline's steps, as the Airflow tasks call them.

Each function reads the settings from the environment at call time, does one stage, and returns
something small and JSON-serialisable for XCom. The DAG files only wire these together.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from dvk.filemodes import apply_umask

if TYPE_CHECKING:  # imported where used: a DAG task imports only what its step needs
    from dvk.gate import GateResult
    from dvk.settings import Settings

log = logging.getLogger(__name__)

# Every DAG task imports this module before its step runs: files and folders it creates are
# 0640 / 0750 (DVK_UMASK), never world-readable (docs/operations.md).
apply_umask()


def ingest() -> dict:
    """Load the inbox into ``raw.*``; bad files are quarantined, never fatal."""
    from dvk.ingest import ingest_inbox

    result = ingest_inbox()
    summary = result.as_dict()
    log.info(
        "Ingest: %s seen, %s loaded, %s skipped (already loaded), %s quarantined",
        summary["files_seen"],
        summary["files_loaded"],
        summary["files_skipped"],
        summary["files_quarantined"],
    )
    return summary


def ingest_changed_warehouse(summary: dict) -> bool:
    """Whether an ingest changed ``raw.*``: a file loaded, or a new file quarantined (its problems
    are rows of ``raw.quarantine_problems``). Files already seen (same sha256) change nothing."""
    return bool(summary.get("files_loaded") or summary.get("files_quarantined"))


def ingest_or_skip() -> dict:
    """The ``ingest_inbox`` task: :func:`ingest`, then *skip* the task when nothing changed.

    Airflow emits a task's asset events only when it succeeds (a skipped task emits none), so an
    ingest that found nothing new does not update ``dvk_raw_submissions`` and does not start
    another ``dvk_transform``; the run is still green (all its tasks skipped or succeeded).
    """
    from airflow.sdk.exceptions import AirflowSkipException

    summary = ingest()
    if not ingest_changed_warehouse(summary):
        raise AirflowSkipException(
            f"Không có tệp mới / nothing new in the inbox ({summary['files_seen']} file(s) seen, all "
            "already loaded or quarantined): the warehouse is unchanged, no dvk_raw_submissions event"
        )
    return summary


def transform(*, force: bool = False) -> bool:
    """``dbt build``: seeds, the snapshot, models and dbt data tests; returns whether it ran.

    dbt's unit tests (fixed inputs, no data) are left to the test command, as dbt advises.

    Skipped when nothing dbt reads changed since the last successful build of this warehouse
    file (``dvk.changes.build_inputs``: the raw submissions and quarantined files, the dbt
    project and reference data, the gate's checks): the build would give the same marts and the
    same test results. When only the raw data changed since then (same project, reference data
    and warehouse file: a night's submissions), only what the raw tables feed is built and tested
    (``dvk.transform.DATA_ONLY_SELECTION``); the seeds, the unit snapshot, the views and the
    reference-only tables are as that build left them. ``force`` builds everything regardless.
    """
    import json

    from dvk.changes import build_inputs, build_inputs_path

    path = build_inputs_path()
    before = build_inputs()
    last = None
    if not force and before is not None and path.is_file():
        try:
            last = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            last = None
        if last == before and before["has_marts"]:
            log.info("dbt build bỏ qua: không có gì mới từ lần dựng trước / dbt build skipped: nothing dbt reads "
                     "changed since the last successful build (%s submissions, same project and reference data)",
                     before["submissions"].split(":")[0])
            return False
    from dvk.transform import build  # dbt runs in a child process: the warehouse is free when it ends

    same_reference = (not force and before is not None and before["has_marts"] and isinstance(last, dict)
                      and bool(last.get("has_marts"))
                      and all(last.get(key) == before[key] for key in ("reference_fingerprint", "warehouse", "inode")))
    if same_reference:
        log.info("dbt build: chỉ phần dữ liệu mới ảnh hưởng / only what the raw data feeds (same project and "
                 "reference data as the last successful build: no seeds, snapshot or views)")
    build(unit_tests=False, data_only=same_reference)  # removes the record first (dvk.transform.run_dbt)
    after = build_inputs()
    same = before is not None and after is not None and {**before, "has_marts": True} == after
    if same:
        # recorded only when nothing arrived during the build (else the next run builds again)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(after, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return True


def report_years(year: int | None) -> list[int]:
    """The years to report: the one asked for, else every year with annual submissions and every
    year whose annual report is due (:func:`dvk.report.years_to_report`)."""
    if year is not None:
        return [int(year)]
    from dvk.report import years_to_report

    years = years_to_report()
    log.info("Năm có báo cáo năm / years to report: %s", years)
    return years


def changed_years() -> dict:
    """The years the night changed (:mod:`dvk.changes`): every year to report, and
    which of them must be gated and published again. A plan, as a dict for XCom."""
    from dvk.changes import plan_changes

    return plan_changes().as_dict()


class YearsGateFailed(RuntimeError):
    """The gate of one year or more did not pass (or could not run); the others did."""


def gate_years(plan: dict) -> dict:
    """The gate of every changed year of ``plan`` in this one process (one Great Expectations
    import and context); years the night left as they were are not validated again.

    Returns ``{year: {"passed", "failures", "warnings", "data_docs"}}``. Every year is validated,
    then, if a year's gate failed or could not run, raises :class:`YearsGateFailed` naming them:
    the task is red, ``publish`` still runs (it publishes the years that passed, each saved in
    ``gate/<year>/gate_result.json``) and ``every_year_current`` fails the run.
    """
    years = [int(y) for y in plan.get("changed") or []]
    unchanged = plan.get("unchanged") or []
    if unchanged:
        log.info("Không kiểm tra lại (không có gì mới) / not gated again (nothing new since their last "
                 "publication): %s", unchanged)
    if not years:
        log.info("Không có năm nào thay đổi / no year changed: nothing to gate")
        return {}
    from dvk.gate import run_gates  # pandas and Great Expectations: only when a year is gated

    results = run_gates(years)
    out: dict[str, dict] = {}
    problems = []
    for year, r in sorted(results.items()):
        if isinstance(r, Exception):
            out[str(year)] = {"passed": False, "error": f"{type(r).__name__}: {r}"}
            problems.append(f"{year}: không chạy được / could not run ({type(r).__name__}: {r})")
            continue
        out[str(year)] = {"passed": r.passed, "failures": len(r.failures), "warnings": len(r.warnings),
                          "data_docs": r.data_docs}
        if not r.passed:
            problems.append(f"{year}: KHÔNG ĐẠT / FAILED ({len(r.failures)} lỗi / failure(s), "
                            f"gate/{year}/gate_result.json)")
    if problems:
        raise YearsGateFailed(
            "Kiểm tra chất lượng không đạt / quality gate not passed: " + "; ".join(problems)
            + f". Các năm khác / the other years: {sorted(int(y) for y, v in out.items() if v['passed'])}")
    return out


def gate(year: int) -> dict:
    """The Great Expectations gate for ``year`` (the annual report's); raise ``GateFailed`` to
    block the report.

    When the year's saved result was reached on this warehouse with the same inputs as now (the
    year's submissions and the reference: ``dvk.changes.year_inputs``), that verdict is the
    gate's verdict: it is used as it is, without validating identical data again (on a normal
    night the transform's ``gate`` task has just gated every changed year). Otherwise the gate runs.

    Returns the verdict, when it was reached and where the whole result is saved
    (:func:`gate_summary`): small whatever the number of units (an XCom lives in Airflow's
    database), and enough for the report step to use that saved result instead of validating the
    same warehouse again.
    """
    import os

    from dvk.changes import warehouse_version, year_inputs
    from dvk.gate import GateFailed, gate_result_path, load_result
    from dvk.gate.result import save_result
    from dvk.settings import get_settings
    from dvk.warehouse import describe, read_only, target as warehouse_target

    settings = get_settings()
    saved = load_result(year, settings)
    if saved is not None and saved.inputs and saved.warehouse == describe(settings):
        with read_only(warehouse_target(settings)) as con:
            now = year_inputs(con, year, settings)
            version = warehouse_version(con)
        if saved.inputs == now:
            # the verdict holds for the warehouse as it is now: the file's time says so (what
            # publish and the run's summary read; ``checked_at`` inside stays when it was reached),
            # and on PostgreSQL the warehouse version it records
            if version is not None:
                saved.warehouse_version = version
                save_result(saved, gate_result_path(year, settings))
            os.utime(gate_result_path(year, settings))
            log.info("Kiểm tra năm %s: dùng kết quả %s (số liệu không đổi) / gate of %s: the verdict of %s stands "
                     "(same submissions, same reference data and checks): %s", year, saved.checked_at, year,
                     saved.checked_at, "passed" if saved.passed else "FAILED")
            if not saved.passed:
                error = GateFailed(saved)
                log.error("%s", error)
                raise error
            return gate_summary(saved, settings)
    from dvk.gate import enforce_gate  # pandas and Great Expectations: only when the gate must run

    return gate_summary(enforce_gate(year, settings), settings)


def gate_summary(result: GateResult, settings: Settings | None = None) -> dict:
    """A passed gate result as the annual report's ``gate`` task returns it: its year, verdict,
    ``checked_at`` (which identifies the saved result), counts, the gate report and the saved
    result's path. :func:`report` reads the whole result from that file."""
    from dvk.gate import gate_result_path

    return {"year": int(result.year), "passed": result.passed, "checked_at": result.checked_at,
            "failures": len(result.failures), "warnings": len(result.warnings), "data_docs": result.data_docs,
            "gate_result": str(gate_result_path(result.year, settings))}


def publish(years: list[int]) -> dict:
    """Publish the read-only copy for analysts (DuckDB + Parquet): the years of ``years`` whose
    gate passed, and the years never gated; a year whose gate failed keeps its last published rows.
    Fails without retry (nothing published) when no gated year passed."""
    from dvk.publish import PublishRefused, publish_years

    try:
        result = publish_years(years)
    except PublishRefused as exc:
        # no gated year passed: retrying cannot change that (only a new run of the gate can)
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(exc)) from exc
    if result.unchanged:
        log.info("Nothing new to publish: %s stays as published at %s; years current %s, held back %s",
                 result.database, result.published_at, result.years_current, result.years_held_back)
    else:
        log.info("Published %d tables to %s (%s); years written now %s, current %s, held back %s",
                 len(result.tables), result.database, "updated in place" if result.in_place else "written whole",
                 result.years_republished, result.years_current, result.years_held_back)
    return {
        "database": str(result.database),
        "tables": len(result.tables),
        "years": result.gate_years_passed,
        "years_republished": result.years_republished,
        "unchanged": result.unchanged,
        "years_current": result.years_current,
        "years_held_back": {y: result.years[str(y)]["reason_en"] for y in result.years_held_back},
    }


def every_year_current(published: dict) -> None:
    """Fail (and with it the run) when :func:`publish` held a year back; the other years are
    published by then. Without it the run would end green with a failed gate (only the last tasks
    of a run decide its state)."""
    held = published.get("years_held_back") or {}
    if held:
        lines = "; ".join(f"{year}: {why}" for year, why in sorted(held.items()))
        raise RuntimeError(
            f"Các năm chưa được cập nhật cho người phân tích (giữ số liệu đã phát hành trước) / years held "
            f"back from the analysts (they keep their last published rows): {lines}"
        )


def report(year: int, gate_result: dict | None = None) -> str:
    """Write the annual report extracts for ``year``; return their folder.

    ``gate_result``: what :func:`gate` returned for this year in the same run (:func:`gate_summary`);
    the saved result it names is used when it is still the one the gate reached (same
    ``checked_at``); without it, or when the year was gated again since, the gate is run here first.
    """
    from dvk.gate import load_result
    from dvk.report import build_annual_report

    result = None
    if gate_result:
        saved = load_result(year)
        if saved is not None and saved.checked_at == gate_result.get("checked_at"):
            result = saved
        else:
            log.info("Kết quả kiểm tra năm %s đã thay đổi từ bước kiểm tra / the gate result of %s changed "
                     "since the gate task (%s, now %s): the gate runs again", year, year,
                     gate_result.get("checked_at"), saved.checked_at if saved else None)
    path = build_annual_report(year, gate_result=result)
    log.info("Annual report %s written to %s", year, path)
    return str(path)


def confirm_reports(years: list[int]) -> list[str]:
    """The annual report run's last task: every year asked for has its report.

    Runs only when every year's gate and report succeeded (Airflow's default trigger rule), so a
    blocked year leaves this task ``upstream_failed`` and the run *failed*, while the other years'
    reports are still written. Raises if a report folder is missing all the same.
    """
    from dvk.report import annual_report_dir
    from dvk.settings import get_settings

    settings = get_settings()
    folders = [annual_report_dir(year, settings) for year in years]
    missing = [year for year, folder in zip(years, folders) if not (folder / "summary.json").is_file()]
    if missing:
        raise RuntimeError(
            f"Thiếu báo cáo năm / annual report missing for {missing} (no summary.json in {settings.reports_dir})"
        )
    log.info("Annual reports written for %s", years)
    return [str(folder) for folder in folders]


def unit_summary(year: int, unit_code: str) -> dict:
    """One unit's line of a year: figures and status from the report, failures from the gate."""
    import json

    from dvk.gate import gate_result_path
    from dvk.report import annual_report_dir
    from dvk.settings import get_settings

    settings = get_settings()
    out: dict = {"year": year, "unit_code": unit_code, "status": None, "figures": None, "gate_failures": []}
    summary_path = annual_report_dir(year, settings) / "summary.json"
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        out["figures"] = next((u for u in summary["units"] if u["code"] == unit_code), None)
        if unit_code in summary.get("missing_units", []):
            out["status"] = "missing"
        elif out["figures"] is not None:
            out["status"] = "provisional" if out["figures"].get("provisional") else "reported"
    gate_path = gate_result_path(year, settings)
    if gate_path.is_file():
        result = json.loads(gate_path.read_text(encoding="utf-8"))
        out["gate_failures"] = [f.get("message_vi") for f in result.get("failures", []) if f.get("unit_code") == unit_code]
    log.info("Unit %s, %s: status %s, figures %s, %d gate failure(s)", unit_code, year, out["status"],
             out["figures"], len(out["gate_failures"]))
    return out
