"""The pipeline as production runs it: Airflow's four services (``./scripts/serve``'s module) on
PostgreSQL, driven through the REST API only.

One stack for the session (tests/support/services_stack.py); the tests below run in order on it:
ingest -> asset-triggered transform -> annual report 2021; overlapping runs of two DAGs on the
warehouse; a 2024 submission that fails the gate, whose run fails while 2021's report stands;
an ingest with nothing new, which sends no asset event.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date

import pytest

from dvk import serve
from dvk.forms.writer import ModelLine, Submission, compute_declared_totals, write_xlsx
from dvk.settings import PROJECT_ROOT
from tests.support.services_stack import stop_stack

pytestmark = pytest.mark.services

HEADLINE_2021 = (27, 253, 157, 96)


def _headline(stack, year: int) -> tuple[int, int, int, int]:
    summary = json.loads((stack.reports / "annual" / str(year) / "summary.json").read_text(encoding="utf-8"))
    return (summary["units_registered"], summary["models_total"], summary["models_new"], summary["models_replicated"])


def _raw_events(stack) -> int:
    api = stack.api()
    assets = api.call("GET", "/api/v2/assets?name_pattern=dvk_raw_submissions")["assets"]
    asset_id = next(a["id"] for a in assets if a["name"] == "dvk_raw_submissions")
    return api.call("GET", f"/api/v2/assets/events?asset_id={asset_id}&limit=100")["total_entries"]


def test_services_start_healthy_on_postgres_with_the_pool(airflow_stack):
    stack = airflow_stack
    api = stack.api()
    health = api.health()
    for part in ("metadatabase", "scheduler", "dag_processor", "triggerer"):
        assert health[part]["status"] == "healthy", health
    assert "postgres" in json.loads(stack.layout.state.read_text())["database"] or "127.0.0.1" in stack.env[
        "DVK_AIRFLOW_DATABASE_URL"]
    pool = api.call("GET", "/api/v2/pools/dvk_warehouse")
    assert pool["slots"] == 1
    assert {"dvk_ingest", "dvk_transform", "dvk_annual_report"} <= api.dag_ids()
    assert api.import_errors() == []
    # asset-scheduled: serve unpauses it; time-scheduled: left to the operator (no surprise run)
    assert stack.paused_at_start == {"dvk_transform": False, "dvk_ingest": True, "dvk_annual_report": True}
    assert stack.url.startswith("http://127.0.0.1:") and "admin / " in stack.startup_output


def test_ingest_triggers_the_transform_through_the_asset(loaded_stack):
    stack = loaded_stack
    assert stack.runs["ingest"]["state"] == "success"
    transform = stack.runs["transform"]
    assert transform["run_type"] == "asset_triggered"
    assert transform["state"] == "success", stack.task_states("dvk_transform", transform["dag_run_id"])
    states = stack.task_states("dvk_transform", transform["dag_run_id"])
    assert states["dbt_build"] == "success" and states["publish"] == "success"


def test_annual_report_2021_through_the_api(loaded_stack):
    stack = loaded_stack
    run = stack.run_and_wait("dvk_annual_report", {"year": 2021})
    states = stack.task_states("dvk_annual_report", run["dag_run_id"])
    assert run["state"] == "success", states
    assert run["conf"] == {"year": 2021}
    assert states["all_years_reported"] == "success"
    assert _headline(stack, 2021) == HEADLINE_2021
    # Triggering the paused scheduled DAGs then unpausing them made no scheduled run besides:
    # the trigger took the latest interval's logical date.
    api = stack.api()
    for dag_id in ("dvk_ingest", "dvk_annual_report"):
        assert api.dag(dag_id)["is_paused"] is False
        assert [r["run_type"] for r in api.runs(dag_id)] == ["manual"] * len(api.runs(dag_id))
    assert len(api.runs("dvk_ingest")) == 1


def test_overlapping_runs_of_two_dags_never_clash_on_the_warehouse(loaded_stack):
    """dvk_transform's dbt build and dvk_annual_report's gate and report at the same time."""
    stack = loaded_stack
    api = stack.api()
    transform = api.trigger("dvk_transform")
    report = api.trigger("dvk_annual_report", {"year": 2021})
    runs = {
        "dvk_transform": api.wait_for_run("dvk_transform", transform["dag_run_id"], 900),
        "dvk_annual_report": api.wait_for_run("dvk_annual_report", report["dag_run_id"], 900),
    }
    for dag_id, run in runs.items():
        tis = api.task_instances(dag_id, run["dag_run_id"])
        assert run["state"] == "success", (dag_id, [(t["task_id"], t["state"]) for t in tis])
        # no task needed a retry (a lock failure would have used one) ...
        assert all(t["try_number"] == 1 for t in tis), [(t["task_id"], t["try_number"]) for t in tis]
    # ... and no task log saw DuckDB's lock error
    logs = [p for p in (stack.layout.logs / "tasks").rglob("*.log")]
    assert logs
    assert not [p for p in logs if "Could not set lock" in p.read_text(errors="replace")]
    # the two runs did overlap in time: both were queued before either had finished
    assert runs["dvk_annual_report"]["queued_at"] < runs["dvk_transform"]["end_date"]


def _failing_2024_submission(path):
    """A 2024 annual report whose declared KT totals claim one model more than its lines hold."""
    lines = [
        ModelLine("Huy động sức dân làm đường giao thông thôn 5", "Phát triển kinh tế", "Xây mới",
                  date(2024, 3, 1), "Cấp xã", 80, 300.5, 400, 20.0),
        ModelLine("Tổ dân phố văn minh", "Văn hóa - xã hội", "Nhân rộng", date(2024, 4, 2), "Cấp xã", 120, 50.0, 90),
        ModelLine("Camera an ninh khu dân cư", "Quốc phòng - an ninh", "Xây mới", date(2024, 5, 3), None, 60, 40.0),
    ]
    totals = compute_declared_totals(lines)
    wrong = [replace(t, models_total=t.models_total + 1, models_new=t.models_new + 1)
             if t.label in ("Phát triển kinh tế", "Tổng cộng") else t for t in totals]
    sub = Submission("18073", "Phường Nam Hà", "Năm 2024", date(2024, 12, 16), lines, "Trần Văn Bình",
                     "0912 000 111", declared_totals=wrong)
    return write_xlsx(sub, path)


def test_a_blocked_year_fails_its_run_while_other_years_stand(loaded_stack):
    stack = loaded_stack
    api = stack.api()
    upload = _failing_2024_submission(stack.inbox / "2024_18073_phuong-nam-ha.xlsx")
    settled = time.time() - 3600  # an upload finished an hour ago: past the inbox's settle time
    os.utime(upload, (settled, settled))
    known = {r["dag_run_id"] for r in api.runs("dvk_transform")}
    ingest = stack.run_and_wait("dvk_ingest")
    assert ingest["state"] == "success"
    assert stack.task_states("dvk_ingest", ingest["dag_run_id"])["ingest_inbox"] == "success"
    transform = stack.wait_for_new_run("dvk_transform", known)
    t_states = stack.task_states("dvk_transform", transform["dag_run_id"])
    assert transform["state"] == "failed", t_states  # the 2024 gate failed: 2024 held back
    assert t_states["publish"] == "success"  # the years that passed are published
    assert t_states["every_year_current"] == "failed"

    run = stack.run_and_wait("dvk_annual_report", {})  # every year to report
    states = stack.task_states("dvk_annual_report", run["dag_run_id"])
    assert run["state"] == "failed", states  # read through the REST API: the blocked year is red
    gates = [s for k, s in states.items() if k.startswith("year_report.gate")]
    reports = [s for k, s in states.items() if k.startswith("year_report.report")]
    assert len(gates) >= 2 and gates.count("failed") == 1 and gates.count("success") == len(gates) - 1, states
    assert reports.count("upstream_failed") == 1 and reports.count("success") == len(reports) - 1, states
    assert states["all_years_reported"] == "upstream_failed"
    assert states["unit_summary"] == "success"
    # 2021's report was written by this run all the same, with the same figures; 2024 has none
    assert _headline(stack, 2021) == HEADLINE_2021
    assert not (stack.reports / "annual" / "2024").exists()
    gate_2024 = json.loads((stack.reports / "gate" / "2024" / "gate_result.json").read_text(encoding="utf-8"))
    assert gate_2024["passed"] is False
    assert "18073" in {f["unit_code"] for f in gate_2024["failures"]}


def test_an_ingest_with_nothing_new_sends_no_asset_event(loaded_stack):
    stack = loaded_stack
    before = _raw_events(stack)
    assert before >= 1
    known = {r["dag_run_id"] for r in stack.api().runs("dvk_transform")}
    run = stack.run_and_wait("dvk_ingest")
    assert run["state"] == "success"
    assert stack.task_states("dvk_ingest", run["dag_run_id"])["ingest_inbox"] == "skipped"
    # events are written when the producing task succeeds, so the count is final once the run ended
    assert _raw_events(stack) == before
    assert {r["dag_run_id"] for r in stack.api().runs("dvk_transform")} == known


@pytest.fixture
def redis_server(tmp_path):
    binary = shutil.which("redis-server")
    if not binary:
        pytest.skip("no redis-server (apt-get install redis-server; .ci/run does)")
    port = serve.free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_celery_executor_runs_the_annual_report(loaded_stack, redis_server, tmp_path):
    """The CeleryExecutor variant: Redis broker, a Celery worker, results in PostgreSQL.

    A second Airflow (its own metadata database on the same PostgreSQL) on a copy of the loaded
    warehouse, so the two Airflows never share the file."""
    import psycopg2

    stack = loaded_stack
    pg = stack.pg
    con = psycopg2.connect(host="127.0.0.1", port=pg.port, user="postgres", dbname="postgres")
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute("create database airflow_celery")
    con.close()
    (tmp_path / "warehouse").mkdir()
    shutil.copy2(stack.env["DVK_WAREHOUSE"], tmp_path / "warehouse" / "dvk.duckdb")
    layout = serve.Layout(tmp_path / "serve")
    env = dict(stack.env)
    env.update(
        DVK_SERVE_DIR=str(layout.root),
        DVK_AIRFLOW_DATABASE_URL=pg.url.rsplit("/", 1)[0] + "/airflow_celery",
        DVK_AIRFLOW_PORT=str(serve.free_port()),
        DVK_AIRFLOW_EXECUTOR="CeleryExecutor",
        DVK_CELERY_BROKER_URL=redis_server,
        DVK_WAREHOUSE=str(tmp_path / "warehouse" / "dvk.duckdb"),
        DVK_REPORTS_DIR=str(tmp_path / "reports"),
        DVK_PUBLISHED_DIR=str(tmp_path / "published"),
    )
    try:
        proc = subprocess.run([sys.executable, "-m", "dvk.serve", "--detach"], env=env, cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=900)
        tails = "\n".join(serve.log_tail(layout, n) for n in ("migrate", *serve.SERVICES, "celery-worker"))
        assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}\n{tails}"
        assert set(serve.running(layout)) == {*serve.SERVICES, "celery-worker"}
        api = serve.Api(f"http://127.0.0.1:{env['DVK_AIRFLOW_PORT']}", serve.USERNAME, serve.read_password(layout))
        run = api.trigger("dvk_annual_report", {"year": 2021})
        run = api.wait_for_run("dvk_annual_report", run["dag_run_id"], 900)
        tis = api.task_instances("dvk_annual_report", run["dag_run_id"])
        assert run["state"] == "success", [(t["task_id"], t["state"]) for t in tis] + [serve.log_tail(layout, "celery-worker")]
        summary = json.loads((tmp_path / "reports" / "annual" / "2021" / "summary.json").read_text(encoding="utf-8"))
        assert (summary["units_registered"], summary["models_total"], summary["models_new"],
                summary["models_replicated"]) == HEADLINE_2021
        # the tasks ran on the Celery worker: its log saw them
        worker_log = layout.log_file("celery-worker").read_text(errors="replace")
        assert "dvk_annual_report" in worker_log, serve.log_tail(layout, "celery-worker")
    finally:
        stop_stack(env, layout)
