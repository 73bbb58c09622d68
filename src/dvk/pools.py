"""The Airflow pool that serialises the warehouse (light: imported at DAG-parse time).

DuckDB lets one process hold the warehouse file read-write and, while it does, nobody else may
open it, not even read-only; a reader's shared lock likewise keeps a writer out. ``max_active_runs``
limits one DAG, not two, so every task of every DAG that opens the warehouse (ingest, dbt build,
gate, report, publish, the year lists) takes the one slot of this pool: under the scheduler they
queue instead of failing with "Could not set lock". Processes outside Airflow (the operators'
command line, ``./scripts/run``) wait for the lock with backoff instead (``dvk.warehouse``).

On PostgreSQL (``DVK_WAREHOUSE_URL``) the pool keeps its one slot, on purpose: MVCC lets readers
run beside a writer, but the stages still must not overlap. The ingest commits group by group, so
a ``dbt build`` started meanwhile (many statements, each its own snapshot) would build marts from
part of a delivery; a gate or publish during the build would check or publish marts half rebuilt.
Analysts' queries do not go through Airflow: they are the readers MVCC serves
(docs/deployment.md, "The dvk_warehouse pool").
"""

from __future__ import annotations

WAREHOUSE_POOL = "dvk_warehouse"
WAREHOUSE_POOL_SLOTS = 1
WAREHOUSE_POOL_DESCRIPTION = (
    "Kho dữ liệu: một tác vụ mỗi lúc / the warehouse: one task at a time "
    "(DuckDB: one writer, a reader's lock keeps writers out; PostgreSQL: stages must not overlap)"
)


def ensure_pool() -> None:
    """Create the pool in the metadata database, or reset it to one slot (idempotent).

    Needs a configured, migrated metadata database (``dvk.airflow_local.ensure_metadata_db``
    calls it; so does ``dvk.serve`` before it starts the services).
    """
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(
        name=WAREHOUSE_POOL,
        slots=WAREHOUSE_POOL_SLOTS,
        description=WAREHOUSE_POOL_DESCRIPTION,
        include_deferred=False,
    )
