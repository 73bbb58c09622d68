"""Nightly ingest of the communes' submissions into the raw layer of the warehouse."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from dvk.assets import RAW_SUBMISSIONS
from dvk.dag_defaults import dag_defaults
from dvk.pools import WAREHOUSE_POOL

DOC = """
### Nạp báo cáo / Ingest submissions

Reads every `.xlsx` / `.csv` submission in the inbox (`DVK_INBOX_DIR`), resolves unit, period and
field, and loads `raw.*` in the DuckDB warehouse (`DVK_WAREHOUSE`), one transaction a file.
A file already loaded (same sha256) is skipped; a file that cannot be read is moved to the
quarantine folder with a report of every problem (sheet, row, column) and listed in
`raw.quarantine_problems`. When it loaded or quarantined a file it updates the
`dvk_raw_submissions` asset, which triggers `dvk_transform`; when there was nothing new the task
ends **skipped** (the run stays green) and no asset event is sent, so nothing downstream runs again.

The task takes the one slot of the `dvk_warehouse` pool: no other task opens the warehouse meanwhile.

Runs nightly at 01:00 (Asia/Ho_Chi_Minh). Trigger by hand: `airflow dags trigger dvk_ingest`.
Unpausing it starts the run for the last night at once (Airflow runs the latest interval even with
`catchup=False`): that run is the first ingest, do not trigger another (see docs/operations.md).
"""


@dag(
    dag_id="dvk_ingest",
    schedule="0 1 * * *",
    doc_md=DOC,
    **dag_defaults(),
    tags=["dvk", "ingest"],
)
def dvk_ingest():
    @task(outlets=[RAW_SUBMISSIONS], pool=WAREHOUSE_POOL, retries=2, retry_delay=pendulum.duration(minutes=2))
    def ingest_inbox() -> dict:
        """Load new files; skipped (no asset event) when nothing changed. Retried because a process
        outside Airflow (the operators' command line) may briefly hold the warehouse."""
        from dvk.pipeline import ingest_or_skip

        return ingest_or_skip()

    ingest_inbox()


dvk_ingest()
