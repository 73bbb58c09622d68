"""dbt build of staging, intermediate and marts, run whenever new raw data lands."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from dvk.assets import MARTS, RAW_SUBMISSIONS

DOC = """
### Biến đổi dữ liệu / Transform with dbt

`dbt build` on `dbt_project/`: seeds (units, fields), staging views, intermediate models, the
marts (`dim_*`, `fct_*`) and every dbt test. Scheduled on the `dvk_raw_submissions` asset, so it
follows each ingest; updates the `dvk_marts` asset. Trigger by hand:
`airflow dags trigger dvk_transform`.
"""


@dag(
    dag_id="dvk_transform",
    schedule=[RAW_SUBMISSIONS],
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    doc_md=DOC,
    tags=["dvk", "dbt"],
    default_args={"owner": "dvk-data", "retries": 0},
)
def dvk_transform():
    @task(outlets=[MARTS], retries=1, retry_delay=pendulum.duration(minutes=2))
    def dbt_build() -> None:
        from dvk.pipeline import transform

        transform()

    dbt_build()


dvk_transform()
