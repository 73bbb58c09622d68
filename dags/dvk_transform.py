"""dbt build of staging, intermediate and marts, the quality gate, and the analysts' copy."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from dvk.assets import MARTS, RAW_SUBMISSIONS
from dvk.pools import WAREHOUSE_POOL

DOC = """
### Biến đổi, kiểm tra, công bố / Transform, check, publish

1. **dbt_build** — `dbt build` on `dbt_project/`: seeds (units, fields), staging views,
   intermediate models, the marts (`dim_*`, `fct_*`) and every dbt test.
2. **gate** — the Great Expectations gate of spec §6 for every year with annual submissions
   (one mapped task a year). A failure fails the run and names unit, period and field.
3. **publish** — after the gates, whatever their outcome: a new read-only copy of the marts for
   analysts (`published/dvk.duckdb`, swapped in atomically, and Parquet files) with the years whose
   gate passed; a year whose gate failed keeps its last published rows (or none). Publishes nothing
   when no year passed.
4. **every_year_current** — fails the run when a year was held back (the others are published).

Every task that opens the warehouse takes the one slot of the `dvk_warehouse` pool, so this DAG's
dbt build never meets another DAG's gate or report on the DuckDB file (one writer, no reader
meanwhile).

Scheduled on the `dvk_raw_submissions` asset, so it follows each ingest that lands data; updates
the `dvk_marts` asset. Trigger by hand: `airflow dags trigger dvk_transform`.
"""


@dag(
    dag_id="dvk_transform",
    schedule=[RAW_SUBMISSIONS],
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    doc_md=DOC,
    tags=["dvk", "dbt", "gate"],
    default_args={"owner": "dvk-data", "retries": 0},
)
def dvk_transform():
    @task(pool=WAREHOUSE_POOL, retries=1, retry_delay=pendulum.duration(minutes=2))
    def dbt_build() -> None:
        """Retried once: a process outside Airflow may briefly hold the warehouse file."""
        from dvk.pipeline import transform

        transform()

    @task(pool=WAREHOUSE_POOL)
    def gated_years() -> list[int]:
        from dvk.pipeline import report_years

        return report_years(None)

    @task(pool=WAREHOUSE_POOL)
    def gate(year: int) -> dict:
        from dvk.pipeline import gate

        return gate(year)

    @task(outlets=[MARTS], pool=WAREHOUSE_POOL, retries=2, retry_delay=pendulum.duration(minutes=1),
          trigger_rule="all_done_min_one_success")
    def publish(years: list[int]) -> dict:
        """Runs when gated_years succeeded, even if a year's gate failed (that year is held back)."""
        from dvk.pipeline import publish

        return publish(years)

    @task
    def every_year_current(published: dict) -> None:
        from dvk.pipeline import every_year_current

        every_year_current(published)

    years = gated_years()
    dbt_build() >> years
    published = publish(years)
    gate.expand(year=years) >> published
    every_year_current(published)


dvk_transform()
