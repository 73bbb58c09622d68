"""The annual report: Great Expectations gate, then the report extracts, for one year or all."""

from __future__ import annotations

from airflow.sdk import Param, dag, task, task_group
from dvk.assets import ANNUAL_REPORTS
from dvk.dag_defaults import dag_defaults
from dvk.pools import WAREHOUSE_POOL

DOC = """
### Báo cáo năm / Annual report

For each year (the `year` param, or, when it is left empty, every year with annual reports and every year whose annual report is due):

1. **gate** — the Great Expectations checks of spec §6 on the marts (declared totals equal the
   model lines, new + replicated = total, marts reconcile with the raw submissions; missing and
   provisional units listed). A failure fails this task, names unit, period and field, and blocks
   that year's report; other years go on. When the year's saved verdict was reached on the same
   inputs (its submissions, the reference data, the checks), that verdict stands and nothing is
   validated again (`dvk.pipeline.gate`; on a normal night `dvk_transform` has just gated it).
2. **report** — `<DVK_REPORTS_DIR>/annual/<year>/`: the Vietnamese workbook, CSV extracts,
   `summary.json`, and a new version with its changes when a correction changed a published year.
3. **unit_summary** — only with the `unit_code` param: that unit's figures, status (reported,
   provisional, missing) and gate failures for each year, in the task's log and XCom. Runs
   whatever happened to the years (`all_done`).
4. **all_years_reported** — the run's last task: succeeds only when every year's gate and report
   succeeded. A blocked year leaves it `upstream_failed`, so **the run is failed (red)** while the
   other years' reports are written all the same: look for the red `gate` of that year, whose log
   (and `<DVK_REPORTS_DIR>/gate/<year>/`) names unit, period and field.

The year lists, the gate and the report take the one slot of the `dvk_warehouse` pool, so they
never meet a dbt build or an ingest on the DuckDB file.

Scheduled on 20 December, after the annual cut-off (14 Dec) and the due date (19 Dec). Trigger by hand:
`airflow dags trigger dvk_annual_report --conf '{"year": 2021}'`, or for one unit
`--conf '{"year": 2021, "unit_code": "18076"}'`. Unpausing it starts the run of the last 20 December
at once (every year): see docs/operations.md.
"""


@dag(
    dag_id="dvk_annual_report",
    schedule="0 6 20 12 *",
    doc_md=DOC,
    **dag_defaults(),
    tags=["dvk", "report", "gate"],
    params={
        "year": Param(
            None,
            type=["null", "integer"],
            minimum=2000,
            maximum=2100,
            title="Năm báo cáo / Report year",
            description="Năm cần lập báo cáo; để trống: mọi năm có báo cáo năm. "
            "The year to report; empty: every year with annual reports, and every year whose annual report is due.",
        ),
        "unit_code": Param(
            None,
            type=["null", "string"],
            pattern=r"^(\d{5}|CQ\d{2,3})$",
            title="Một đơn vị / One unit (optional)",
            description="Mã đơn vị (ví dụ 18076 hoặc CQ01): in thêm số liệu, trạng thái và lỗi kiểm tra "
            "của riêng đơn vị này. Unit code: also show this unit's figures, status and gate failures.",
        ),
    },
)
def dvk_annual_report():
    @task(pool=WAREHOUSE_POOL)
    def report_years(params: dict | None = None) -> list[int]:
        from dvk.pipeline import report_years

        return report_years(params.get("year") if params else None)

    @task(pool=WAREHOUSE_POOL)
    def gate(year: int) -> dict:
        from dvk.pipeline import gate

        return gate(year)

    @task(outlets=[ANNUAL_REPORTS], pool=WAREHOUSE_POOL)
    def report(year: int, gate_result: dict) -> str:
        from dvk.pipeline import report

        return report(year, gate_result)

    @task(trigger_rule="all_done")
    def unit_summary(years: list[int], params: dict | None = None) -> list[dict]:
        from dvk.pipeline import unit_summary

        code = (params or {}).get("unit_code")
        return [unit_summary(year, code) for year in years] if code else []

    @task
    def all_years_reported(years: list[int]) -> list[str]:
        """Default trigger rule (all_success): a blocked year fails the run."""
        from dvk.pipeline import confirm_reports

        return confirm_reports(years)

    @task_group
    def year_report(year: int):
        report(year, gate(year))

    years = report_years()
    reports = year_report.expand(year=years)
    summary = unit_summary(years)
    done = all_years_reported(years)
    reports >> summary
    reports >> done  # the run's only leaf, fed by every year's gate and report directly
    summary >> done


dvk_annual_report()
