"""The pipeline's steps, as the Airflow tasks call them.

Each function reads the settings from the environment at call time, does one stage, and returns
something small and JSON-serialisable for XCom. The DAG files only wire these together.
"""

from __future__ import annotations

import logging

from dvk.filemodes import apply_umask

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


def transform() -> None:
    """``dbt build``: seeds, the snapshot, models and dbt data tests.

    dbt's unit tests (fixed inputs, no data) are left to the test command, as dbt advises.
    """
    from dvk.transform import build

    # dbt runs in a child process: when it ends, the warehouse file is free for the gate's
    # read-only connection (under dag.test() every task runs in this process).
    build(unit_tests=False)


def report_years(year: int | None) -> list[int]:
    """The years to report: the one asked for, else every year with annual submissions."""
    if year is not None:
        return [int(year)]
    from dvk.report import years_with_annual_submissions

    years = years_with_annual_submissions()
    log.info("Years with annual submissions: %s", years)
    return years


def gate(year: int) -> dict:
    """Run the Great Expectations gate for ``year``; raise ``GateFailed`` to block the report.

    Returns the whole result (JSON-serialisable), so the report step can use it instead of
    validating the same warehouse again.
    """
    from dvk.gate import enforce_gate

    return enforce_gate(year).to_dict()


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
    log.info("Published %d tables to %s; years current %s, held back %s", len(result.tables), result.database,
             result.years_current, result.years_held_back)
    return {
        "database": str(result.database),
        "tables": len(result.tables),
        "years": result.gate_years_passed,
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

    ``gate_result``: what :func:`gate` returned for this year in the same run; without it the
    gate is run here first.
    """
    from dvk.gate import GateResult
    from dvk.report import build_annual_report

    result = GateResult.from_dict(gate_result) if gate_result else None
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
