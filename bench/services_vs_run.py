"""The same work two ways, side by side: ``./scripts/run`` (dag.test, one process) against Airflow's
services (``dvk.serve``: api-server, scheduler, dag-processor, triggerer, LocalExecutor, SQLite).

    .venv/bin/python bench/services_vs_run.py [--rounds 1]

Each round, on fresh folders and a copy of demo/inbox:
  run       python -m dvk.run_local (ingest, transform, annual report of every year), wall time
  services  python -m dvk.serve --detach: start to healthy (DAGs listed); then, through the REST
            API, trigger dvk_ingest -> the asset-triggered dvk_transform -> dvk_annual_report,
            from the ingest's trigger to the report run's success; then stop
Prints a Markdown table (docs/operations.md). Timing only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dvk import serve  # noqa: E402
from dvk.settings import DEMO_INBOX_DIR  # noqa: E402


def _env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DVK_"))}
    shutil.copytree(DEMO_INBOX_DIR, base / "inbox")
    env.update(
        DVK_INBOX_DIR=str(base / "inbox"),
        DVK_WAREHOUSE=str(base / "warehouse" / "dvk.duckdb"),
        DVK_REPORTS_DIR=str(base / "reports"),
        DVK_QUARANTINE_DIR=str(base / "quarantine"),
        DVK_AIRFLOW_HOME=str(base / "airflow"),
        DVK_SERVE_DIR=str(base / "serve"),
        DVK_AIRFLOW_PORT=str(serve.free_port()),
    )
    return env


def time_run() -> float:
    base = Path(tempfile.mkdtemp(prefix="dvk-bench-run-"))
    try:
        env = _env(base)
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "dvk.run_local"], env=env, cwd=ROOT, capture_output=True, text=True)
        seconds = time.monotonic() - started
        if proc.returncode != 0:
            raise SystemExit(f"run_local failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return seconds
    finally:
        shutil.rmtree(base, ignore_errors=True)


def time_services() -> dict[str, float]:
    base = Path(tempfile.mkdtemp(prefix="dvk-bench-serve-"))
    env = _env(base)
    layout = serve.Layout(base / "serve")
    try:
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "dvk.serve", "--detach"], env=env, cwd=ROOT,
                              capture_output=True, text=True)
        start_seconds = time.monotonic() - started
        if proc.returncode != 0:
            raise SystemExit(f"serve failed:\n{proc.stdout}\n{proc.stderr}")
        state = json.loads(layout.state.read_text())
        api = serve.Api(state["url"], serve.USERNAME, serve.read_password(layout))
        t0 = time.monotonic()
        ingest = api.trigger("dvk_ingest")
        assert api.wait_for_run("dvk_ingest", ingest["dag_run_id"], 1800)["state"] == "success"
        t_ingest = time.monotonic() - t0
        while not api.runs("dvk_transform"):
            time.sleep(1)
        transform = api.runs("dvk_transform")[0]
        assert api.wait_for_run("dvk_transform", transform["dag_run_id"], 1800)["state"] == "success"
        t_transform = time.monotonic() - t0
        report = api.trigger("dvk_annual_report", {})
        assert api.wait_for_run("dvk_annual_report", report["dag_run_id"], 1800)["state"] == "success"
        total = time.monotonic() - t0
        return {"start": start_seconds, "ingest": t_ingest, "transform": t_transform - t_ingest,
                "report": total - t_transform, "total": total}
    finally:
        subprocess.run([sys.executable, "-m", "dvk.serve", "--stop"], env=env, cwd=ROOT, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    rows = []
    for i in range(args.rounds):
        run = time_run()
        svc = time_services()
        rows.append((i + 1, run, svc))
        print(f"round {i + 1}: run {run:.0f} s; services {svc}", file=sys.stderr, flush=True)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
    print("| round | `./scripts/run` (dag.test) | services: start to healthy | ingest | asset-triggered transform | annual report | trigger to report |")
    print("|---|---|---|---|---|---|---|")
    for i, run, s in rows:
        print(f"| {i} | {run:.0f} s | {s['start']:.0f} s | {s['ingest']:.0f} s | {s['transform']:.0f} s | "
              f"{s['report']:.0f} s | {s['total']:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
