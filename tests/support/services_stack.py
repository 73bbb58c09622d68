"""Session fixtures (re-exported by tests/conftest.py): PostgreSQL and Airflow's four services as real processes (tests marked
``services`` and ``browser``), started once, stopped by pid whatever happens.

    airflow_stack   PostgreSQL 15 in a temp folder on a loopback port, then ``python -m dvk.serve
                    --detach`` on it, with its own inbox (a copy of demo/inbox), warehouse, reports
    loaded_stack    the same after one ``dvk_ingest`` run through the REST API and the
                    asset-triggered ``dvk_transform`` run it started

Waits are bounded and say what they waited for; on teardown after a failure the services' log
tails are printed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dvk import serve
from dvk.pg_local import PgServer
from dvk.settings import DEMO_INBOX_DIR, PROJECT_ROOT
from tests.support.postgres import start_postgres

START_TIMEOUT = 900
RUN_TIMEOUT = 900


@dataclass
class Stack:
    base: Path
    env: dict[str, str]
    url: str
    password: str
    layout: serve.Layout
    pg: PgServer | None
    startup_output: str
    runs: dict[str, dict] = field(default_factory=dict)
    #: Each DAG's is_paused right after the start (before any test triggered anything).
    paused_at_start: dict[str, bool] = field(default_factory=dict)

    @property
    def inbox(self) -> Path:
        return self.base / "inbox"

    @property
    def reports(self) -> Path:
        return self.base / "reports"

    def api(self) -> serve.Api:
        return serve.Api(self.url, serve.USERNAME, self.password)

    def log_tails(self, lines: int = 60) -> str:
        names = [p.stem for p in self.layout.logs.glob("*.log")]
        text = "\n".join(serve.log_tail(self.layout, name, lines) for name in sorted(names))
        for path in sorted((self.layout.logs / "tasks").rglob("*.log"))[-6:]:
            text += f"\n--- {path} (last 30 lines) ---\n" + "\n".join(path.read_text(errors="replace").splitlines()[-30:])
        return text

    def run_and_wait(self, dag_id: str, conf: dict | None = None, timeout: float = RUN_TIMEOUT) -> dict:
        api = self.api()
        run = api.trigger(dag_id, conf)
        return api.wait_for_run(dag_id, run["dag_run_id"], timeout)

    def wait_for_new_run(self, dag_id: str, known: set[str], timeout: float = RUN_TIMEOUT) -> dict:
        """The first run of ``dag_id`` not in ``known`` (e.g. an asset-triggered one), once it ended."""
        api = self.api()
        deadline = time.monotonic() + timeout
        while True:
            new = [r for r in api.runs(dag_id) if r["dag_run_id"] not in known]
            if new:
                return api.wait_for_run(dag_id, new[0]["dag_run_id"], max(1.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                raise AssertionError(f"no new {dag_id} run within {timeout:.0f} s (known: {sorted(known)})")
            time.sleep(2)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        out = {}
        for ti in self.api().task_instances(dag_id, run_id):
            key = ti["task_id"] if ti.get("map_index", -1) < 0 else f"{ti['task_id']}[{ti['map_index']}]"
            out[key] = ti.get("state")
        return out


def stop_stack(stack_env: dict[str, str], layout: serve.Layout) -> None:
    subprocess.run([sys.executable, "-m", "dvk.serve", "--stop"], env=stack_env, cwd=PROJECT_ROOT,
                   capture_output=True, timeout=180)
    # whatever the stop command missed: every pid file we wrote, by pid (process group)
    for pid in serve.running(layout).values():
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@pytest.fixture(scope="session")
def airflow_stack(request):
    pg = start_postgres()
    base = Path(tempfile.mkdtemp(prefix="dvk-test-services-"))
    layout = serve.Layout(base / "serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DVK_"))}
    env.update(
        DVK_SERVE_DIR=str(layout.root),
        DVK_AIRFLOW_DATABASE_URL=pg.url,
        DVK_AIRFLOW_PORT=str(serve.free_port()),
        DVK_INBOX_DIR=str(base / "inbox"),
        DVK_WAREHOUSE=str(base / "warehouse" / "dvk.duckdb"),
        DVK_REPORTS_DIR=str(base / "reports"),
        DVK_QUARANTINE_DIR=str(base / "quarantine"),
        DVK_PUBLISHED_DIR=str(base / "published"),
    )
    shutil.copytree(DEMO_INBOX_DIR, base / "inbox")
    stack = None
    try:
        proc = subprocess.run([sys.executable, "-m", "dvk.serve", "--detach"], env=env, cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=START_TIMEOUT)
        if proc.returncode != 0:
            tails = "\n".join(serve.log_tail(layout, n) for n in ("migrate", *serve.SERVICES))
            pytest.fail(f"./scripts/serve did not start (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{tails}")
        state = json.loads(layout.state.read_text())
        stack = Stack(base=base, env=env, url=state["url"], password=serve.read_password(layout), layout=layout,
                      pg=pg, startup_output=proc.stdout)
        stack.paused_at_start = {d: stack.api().dag(d)["is_paused"] for d in serve.PROJECT_DAGS}
        yield stack
    finally:
        if stack is not None and request.session.testsfailed:
            print("\n==== Airflow services' logs (a test failed) ====\n" + stack.log_tails(), file=sys.stderr)
        stop_stack(env, layout)
        pg.stop(remove=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def loaded_stack(airflow_stack):
    """One ingest through the REST API, and the dvk_transform run its asset event started."""
    stack = airflow_stack
    if "ingest" not in stack.runs:
        known = {r["dag_run_id"] for r in stack.api().runs("dvk_transform")}
        stack.runs["ingest"] = stack.run_and_wait("dvk_ingest")
        assert stack.runs["ingest"]["state"] == "success", stack.log_tails()
        stack.runs["transform"] = stack.wait_for_new_run("dvk_transform", known)
    return stack
