"""Every DAG imports without error and carries what an operator needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvk import airflow_local

EXPECTED = {"dvk_ingest", "dvk_transform", "dvk_annual_report"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(airflow_local.DAGS_FOLDER))


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert EXPECTED <= set(dagbag.dag_ids)


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_dag_has_docs_tags_owner(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.doc_md and len(dag.doc_md) > 80
    assert "dvk" in dag.tags
    assert all(task.owner == "dvk-data" for task in dag.tasks)


def test_schedules_wire_the_pipeline(dagbag):
    from dvk.assets import MARTS, RAW_SUBMISSIONS

    ingest = dagbag.dags["dvk_ingest"]
    transform = dagbag.dags["dvk_transform"]
    assert ingest.timetable.expression == "0 1 * * *"
    assert RAW_SUBMISSIONS in ingest.get_task("ingest_inbox").outlets
    assert MARTS in transform.get_task("publish").outlets
    assert "dvk_raw_submissions" in str(transform.timetable.asset_condition)


def test_annual_report_year_param_validates(dagbag):
    dag = dagbag.dags["dvk_annual_report"]
    assert dag.params["year"] is None
    p = dag.params.get_param("year")
    assert p.resolve(2021) == 2021
    assert p.resolve(None) is None
    with pytest.raises(Exception):
        p.resolve("hai nghìn")  # not a year
    with pytest.raises(Exception):
        p.resolve(1999)


def test_dag_files_are_thin():
    """DAG files wire tasks: no pandas/duckdb/dbt/GX import at parse time."""
    heavy = ("import pandas", "import duckdb", "great_expectations", "from dbt", "import dbt")
    for path in airflow_local.DAGS_FOLDER.glob("*.py"):
        top_level = [line for line in path.read_text().splitlines() if not line.startswith(" ")]
        assert not [line for line in top_level if any(h in line for h in heavy)], path


def test_annual_report_unit_param_validates(dagbag):
    p = dagbag.dags["dvk_annual_report"].params.get_param("unit_code")
    assert p.resolve(None) is None
    assert p.resolve("18076") == "18076" and p.resolve("CQ01") == "CQ01"
    with pytest.raises(Exception):
        p.resolve("Phường Bắc Hà")  # a name, not a code


# Tasks that open the DuckDB warehouse (read or write): under the scheduler they share one slot.
WAREHOUSE_TASKS = {
    "dvk_ingest": {"ingest_inbox"},
    "dvk_transform": {"dbt_build", "changed_years", "gate", "publish"},
    "dvk_annual_report": {"report_years", "year_report.gate", "year_report.report"},
}


def test_every_task_that_opens_the_warehouse_takes_the_pool(dagbag):
    from dvk.pools import WAREHOUSE_POOL, WAREHOUSE_POOL_SLOTS

    assert WAREHOUSE_POOL_SLOTS == 1
    for dag_id, task_ids in WAREHOUSE_TASKS.items():
        dag = dagbag.dags[dag_id]
        for task in dag.tasks:
            in_pool = task.pool == WAREHOUSE_POOL
            assert in_pool == (task.task_id in task_ids), (dag_id, task.task_id, task.pool)


def test_pool_is_created_with_the_metadata_db():
    from airflow.models.pool import Pool

    from dvk.pools import WAREHOUSE_POOL

    airflow_local.ensure_metadata_db()
    airflow_local.ensure_metadata_db()  # idempotent
    pool = Pool.get_pool(WAREHOUSE_POOL)
    assert pool is not None and pool.slots == 1


def test_a_migrated_metadata_db_is_not_migrated_again_unless_something_changed(monkeypatch):
    import json

    import airflow.utils.db
    from airflow.configuration import AIRFLOW_HOME
    from airflow.models.pool import Pool

    from dvk.pools import WAREHOUSE_POOL

    airflow_local.ensure_metadata_db()
    stamp_path = Path(AIRFLOW_HOME) / airflow_local.MIGRATED_STAMP_NAME
    stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    assert stamp["revision"] == airflow_local._current_revision() and stamp["revision"]
    assert ["apache-airflow-core", __import__("airflow").__version__] in stamp["packages"]
    assert "sqlite" not in json.dumps(stamp)  # the database's address only as a digest

    upgrades = []
    real_upgradedb = airflow.utils.db.upgradedb
    monkeypatch.setattr(airflow.utils.db, "upgradedb", lambda: upgrades.append(1) or real_upgradedb())
    # the pool is still put right when nothing is migrated
    Pool.create_or_update_pool(name=WAREHOUSE_POOL, slots=3, description="", include_deferred=False)
    assert Pool.get_pool(WAREHOUSE_POOL).slots == 3
    airflow_local.ensure_metadata_db()
    assert upgrades == []
    assert Pool.get_pool(WAREHOUSE_POOL).slots == 1

    # another Airflow (or provider) version, or a database left at another revision: migrated
    for change in ({"packages": [["apache-airflow-core", "0.0.1"]]}, {"revision": "0123456789ab"}):
        stamp_path.write_text(json.dumps({**stamp, **change}), encoding="utf-8")
        airflow_local.ensure_metadata_db()
    stamp_path.unlink()  # no record at all: migrated
    airflow_local.ensure_metadata_db()
    assert upgrades == [1, 1, 1]
    assert json.loads(stamp_path.read_text(encoding="utf-8")) == stamp


def test_a_blocked_year_fails_the_annual_report_run(dagbag):
    """Airflow takes a run's state from its leaves: the only leaf waits on every year's report."""
    dag = dagbag.dags["dvk_annual_report"]
    leaves = [t for t in dag.tasks if not t.downstream_task_ids]
    assert [t.task_id for t in leaves] == ["all_years_reported"]
    done = leaves[0]
    assert done.trigger_rule == "all_success"
    # fed by the year's report directly, not only through unit_summary (which runs all_done)
    assert {"year_report.report", "unit_summary"} <= done.upstream_task_ids
    assert dag.get_task("unit_summary").trigger_rule == "all_done"


def test_ingest_with_nothing_new_is_skipped_and_sends_no_asset_event(monkeypatch):
    from airflow.sdk.exceptions import AirflowSkipException

    from dvk import pipeline

    nothing = {"files_seen": 3, "files_loaded": 0, "files_skipped": 3, "files_quarantined": 0}
    monkeypatch.setattr(pipeline, "ingest", lambda: dict(nothing))
    with pytest.raises(AirflowSkipException, match="nothing new"):
        pipeline.ingest_or_skip()
    for changed in ({"files_loaded": 1}, {"files_quarantined": 1}):
        summary = {**nothing, **changed}
        monkeypatch.setattr(pipeline, "ingest", lambda s=summary: dict(s))
        assert pipeline.ingest_or_skip() == summary
