"""The annual report: Great Expectations gate, then the report extracts, for one year or all."""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task, task_group
from dvk.assets import ANNUAL_REPORTS

DOC = """
### Báo cáo năm / Annual report

For each year (the `year` param, or every year with annual submissions when it is left empty):

1. **gate** — the Great Expectations checks of spec §6 on the marts (declared totals equal the
   model lines, new + replicated = total, marts reconcile with the raw submissions; missing and
   provisional units listed). A failure fails this task, names unit, period and field, and blocks
   that year's report; other years go on.
2. **report** — `<DVK_REPORTS_DIR>/annual/<year>/`: the Vietnamese workbook, CSV extracts,
   `summary.json`, and a new version with its changes when a correction changed a published year.
3. **unit_summary** — only with the `unit_code` param: that unit's figures, status (reported,
   provisional, missing) and gate failures for each year, in the task's log and XCom.

Scheduled on 20 December, after the annual cut-off (14 Dec) and the due date (19 Dec). Trigger by hand:
`airflow dags trigger dvk_annual_report --conf '{"year": 2021}'`, or for one unit
`--conf '{"year": 2021, "unit_code": "18076"}'`.
"""


@dag(
    dag_id="dvk_annual_report",
    schedule="0 6 20 12 *",
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    doc_md=DOC,
    tags=["dvk", "report", "gate"],
    default_args={"owner": "dvk-data", "retries": 0},
    params={
        "year": Param(
            None,
            type=["null", "integer"],
            minimum=2000,
            maximum=2100,
            title="Năm báo cáo / Report year",
            description="Năm cần lập báo cáo; để trống: mọi năm có báo cáo năm. "
            "The year to report; empty: every year with annual submissions.",
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
    @task
    def report_years(params: dict | None = None) -> list[int]:
        from dvk.pipeline import report_years

        return report_years(params.get("year") if params else None)

    @task
    def gate(year: int) -> dict:
        from dvk.pipeline import gate

        return gate(year)

    @task(outlets=[ANNUAL_REPORTS])
    def report(year: int, gate_result: dict) -> str:
        from dvk.pipeline import report

        return report(year, gate_result)

    @task(trigger_rule="all_done")
    def unit_summary(years: list[int], params: dict | None = None) -> list[dict]:
        from dvk.pipeline import unit_summary

        code = (params or {}).get("unit_code")
        return [unit_summary(year, code) for year in years] if code else []

    @task_group
    def year_report(year: int):
        report(year, gate(year))

    years = report_years()
    year_report.expand(year=years) >> unit_summary(years)


dvk_annual_report()
