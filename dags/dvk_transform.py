"""dbt build of staging, intermediate and marts, the quality gate, and the analysts' copy."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from dvk.assets import MARTS, RAW_SUBMISSIONS
from dvk.dag_defaults import dag_defaults
from dvk.pools import WAREHOUSE_POOL

DOC = """
### Biến đổi, kiểm tra, công bố / Transform, check, publish

1. **dbt_build** — `dbt build` on `dbt_project/`: seeds (units, fields), staging views,
   intermediate models, the marts (`dim_*`, `fct_*`) and every dbt test. Skipped (green, said in
   its log) when nothing dbt reads changed since the last successful build.
2. **changed_years** — the years the night changed (`dvk.changes`): every year with annual
   submissions whose submissions (new load ids), reference data (master list, changes, shares,
   the dbt project) or gate differ from what it was last published from, or that is not current
   in the last publication. The other years keep their publication and are not gated again.
3. **gate** — the Great Expectations gate of spec §6 for every changed year, all in this one task
   (one process, one GX import). Every year is validated; the task fails when a year failed
   (its log and `gate/<year>/` name unit, period and field).
4. **publish** — after the gate, whatever its outcome: the analysts' read-only copy
   (`published/dvk.duckdb`, updated for the changed years and swapped in atomically, and
   Parquet files): changed years whose gate passed are written from the warehouse, unchanged
   years keep their rows, a year whose gate failed keeps its last published rows (or none).
   Publishes nothing when nothing changed; fails when no year passed.
5. **every_year_current** — fails the run when a year was held back (the others are published).

Every task that opens the warehouse takes the one slot of the `dvk_warehouse` pool, so this DAG's
dbt build never meets another DAG's gate or report on the DuckDB file (one writer, no reader
meanwhile).

Scheduled on the `dvk_raw_submissions` asset, so it follows each ingest that lands data; updates
the `dvk_marts` asset. Trigger by hand: `airflow dags trigger dvk_transform`.
"""


@dag(
    dag_id="dvk_transform",
    schedule=[RAW_SUBMISSIONS],
    doc_md=DOC,
    **dag_defaults(),
    tags=["dvk", "dbt", "gate"],
)
def dvk_transform():
    @task(pool=WAREHOUSE_POOL, retries=1, retry_delay=pendulum.duration(minutes=2))
    def dbt_build() -> None:
        """Retried once: a process outside Airflow may briefly hold the warehouse file."""
        from dvk.pipeline import transform

        transform()

    @task(pool=WAREHOUSE_POOL)
    def changed_years() -> dict:
        from dvk.pipeline import changed_years

        return changed_years()

    @task(pool=WAREHOUSE_POOL)
    def gate(plan: dict) -> dict:
        """Every changed year in this one task; fails (after all of them) when a year failed."""
        from dvk.pipeline import gate_years

        return gate_years(plan)

    @task(outlets=[MARTS], pool=WAREHOUSE_POOL, retries=2, retry_delay=pendulum.duration(minutes=1),
          trigger_rule="all_done_min_one_success")
    def publish(plan: dict) -> dict:
        """Runs when changed_years succeeded, even if a year's gate failed (that year is held back)."""
        from dvk.pipeline import publish

        return publish(plan["years"])

    @task
    def every_year_current(published: dict) -> None:
        from dvk.pipeline import every_year_current

        every_year_current(published)

    plan = changed_years()
    dbt_build() >> plan
    published = publish(plan)
    gate(plan) >> published
    every_year_current(published)


dvk_transform()
