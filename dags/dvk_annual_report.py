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
2. **report** — `<DVK_REPORTS_DIR>/annual/<year>/`: the Vietnamese workbook and `summary.json`.

Scheduled on 20 December, after the annual cut-off (14 Dec) and the due date (19 Dec). Trigger by hand:
`airflow dags trigger dvk_annual_report --conf '{"year": 2021}'`.
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
        )
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

        return report(year)

    @task_group
    def year_report(year: int):
        report(year, gate(year))

    year_report.expand(year=report_years())


dvk_annual_report()
