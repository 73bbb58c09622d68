"""Airflow's own services on this machine, from the project's venv: the UI on 127.0.0.1.

    ./scripts/serve                      start, print the URL and the login, stay until Ctrl-C
    ./scripts/serve --detach             start, print, return (stop later with --stop)
    ./scripts/serve --stop               stop what --detach started (pid files)
    ./scripts/serve --status             what runs, and the URL
    ./scripts/serve trigger dvk_ingest   trigger a DAG through the REST API, never a double run
    ./scripts/serve trigger dvk_annual_report --conf '{"year": 2021}' --wait

Starts ``airflow api-server``, ``scheduler``, ``dag-processor`` and ``triggerer`` (and a Celery
worker with ``DVK_AIRFLOW_EXECUTOR=CeleryExecutor``) as background processes with one shared
configuration: this project's ``dags/``, LocalExecutor, metadata on SQLite under
``<DVK_SERVE_DIR>/airflow/`` or on PostgreSQL when ``DVK_AIRFLOW_DATABASE_URL`` is set, the API on
127.0.0.1 only (the scheduler's and triggerer's log servers are not started: the API server reads
the task logs from the same folder). Before the services start it migrates the metadata database
and creates the ``dvk_warehouse`` pool; it then waits until ``/api/v2/monitor/health`` is healthy
and the project's DAGs are listed, and unpauses the asset-scheduled ``dvk_transform`` (no run is
created by that). Every log is under ``<DVK_SERVE_DIR>/logs/``.

The DAGs read ``DVK_INBOX_DIR``, ``DVK_WAREHOUSE``, ``DVK_REPORTS_DIR``... from this command's
environment, as ``./scripts/run`` does.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvk.settings import PROJECT_ROOT, Settings, get_settings

DAGS_FOLDER = PROJECT_ROOT / "dags"
PROJECT_DAGS = ("dvk_ingest", "dvk_transform", "dvk_annual_report")
USERNAME = "admin"
SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
#: Bounded waits (seconds): migrate, then healthy, then the DAGs listed.
MIGRATE_TIMEOUT = 600
HEALTHY_TIMEOUT = 300
DAGS_TIMEOUT = 300
STOP_TIMEOUT = 30


class ServeError(RuntimeError):
    pass


# --------------------------------------------------------------------------------------------
# layout and configuration


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def home(self) -> Path:
        return self.root / "airflow"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def secrets(self) -> Path:
        return self.home / "dvk-serve-secrets.json"

    @property
    def passwords(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json.generated"

    @property
    def state(self) -> Path:
        return self.root / "serve.json"

    def pid_file(self, name: str) -> Path:
        return self.pids / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.logs / f"{name}.log"


def _secrets(layout: Layout) -> dict[str, str]:
    """Generated once per serve folder (mode 600) and shared by every process."""
    if layout.secrets.is_file():
        return json.loads(layout.secrets.read_text())
    values = {
        "jwt_secret": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "api_secret_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "fernet_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    layout.home.mkdir(parents=True, exist_ok=True)
    fd = os.open(layout.secrets, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(values, fh)
    return values


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(settings: Settings, layout: Layout) -> str:
    return settings.airflow_database_url or f"sqlite:///{layout.home / 'airflow.db'}"


def result_backend(url: str) -> str:
    """Celery's result backend on the metadata database: ``db+postgresql+psycopg2://...``."""
    if not url.startswith("postgresql"):
        raise ServeError("CeleryExecutor needs the metadata on PostgreSQL: set DVK_AIRFLOW_DATABASE_URL")
    rest = url.split("://", 1)[1]
    return f"db+postgresql+psycopg2://{rest}"


def service_env(settings: Settings, layout: Layout, port: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every Airflow process: the same for all, as Airflow requires.

    Inherited ``AIRFLOW*`` variables are dropped (a developer's own Airflow, or a test session's,
    must not leak in); ``DVK_*`` settings pass through to the tasks.
    """
    base = dict(os.environ if base is None else base)
    env = {k: v for k, v in base.items() if not k.startswith("AIRFLOW")}
    secrets = _secrets(layout)
    url = database_url(settings, layout)
    executor = settings.airflow_executor
    env.update(
        AIRFLOW_HOME=str(layout.home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_FOLDER),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR=executor,
        AIRFLOW__CORE__PARALLELISM="4",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
        AIRFLOW__CORE__DEFAULT_TIMEZONE="Asia/Ho_Chi_Minh",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=url,
        AIRFLOW__CORE__AUTH_MANAGER=AUTH_MANAGER,
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{USERNAME}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(layout.passwords),
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API__WORKERS="1",
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__API_AUTH__JWT_SECRET=secrets["jwt_secret"],
        AIRFLOW__API__SECRET_KEY=secrets["api_secret_key"],
        AIRFLOW__CORE__FERNET_KEY=secrets["fernet_key"],
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(layout.logs / "tasks"),
        AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY=str(layout.logs / "dag-processor"),
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        DVK_PROJECT_ROOT=str(PROJECT_ROOT),
        DO_NOT_TRACK="1",
        SCARF_ANALYTICS="false",
    )
    if executor == "CeleryExecutor":
        if not settings.celery_broker_url:
            raise ServeError("CeleryExecutor needs a broker: set DVK_CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0)")
        env.update(
            AIRFLOW__CELERY__BROKER_URL=settings.celery_broker_url,
            AIRFLOW__CELERY__RESULT_BACKEND=result_backend(url),
            AIRFLOW__CELERY__WORKER_CONCURRENCY="4",
        )
    elif executor != "LocalExecutor":
        raise ServeError(f"DVK_AIRFLOW_EXECUTOR: LocalExecutor or CeleryExecutor, not {executor!r}")
    return env


def _airflow_bin() -> str:
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else "airflow"


def service_commands(executor: str) -> dict[str, list[str]]:
    airflow = _airflow_bin()
    commands = {
        "api-server": [airflow, "api-server"],
        # --skip-serve-logs: their log servers would listen on every interface (8793, 8794); the
        # API server reads the task logs from the shared log folder instead.
        "scheduler": [airflow, "scheduler", "--skip-serve-logs"],
        "dag-processor": [airflow, "dag-processor"],
        "triggerer": [airflow, "triggerer", "--skip-serve-logs"],
    }
    if executor == "CeleryExecutor":
        commands["celery-worker"] = [airflow, "celery", "worker", "--skip-serve-logs", "--concurrency", "4"]
    return commands


# --------------------------------------------------------------------------------------------
# processes


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of this process is not running any more
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22): with the
    pid, it tells our process from a later one that got the same pid."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _is_ours(pid: int, start_time: str | None) -> bool:
    """A pid file may outlive its process (a reboot): only signal the very process we started."""
    now = _start_time(pid)
    if now is None or start_time is None:  # no /proc: trust the pid
        return _pid_alive(pid)
    return now == start_time


def _write_pid(layout: Layout, name: str, pid: int) -> None:
    layout.pid_file(name).write_text(f"{pid} {_start_time(pid) or ''}\n")


def running(layout: Layout) -> dict[str, int]:
    out = {}
    if layout.pids.is_dir():
        for path in sorted(layout.pids.glob("*.pid")):
            fields = path.read_text().split()
            try:
                pid = int(fields[0])
            except (ValueError, IndexError):
                continue
            if _pid_alive(pid) and _is_ours(pid, fields[1] if len(fields) > 1 else None):
                out[path.stem] = pid
    return out


def log_tail(layout: Layout, name: str, lines: int = 40) -> str:
    path = layout.log_file(name)
    if not path.is_file():
        return f"(no log {path})"
    text = path.read_text(errors="replace").splitlines()
    return f"--- {path} (last {min(lines, len(text))} lines) ---\n" + "\n".join(text[-lines:])


def stop(layout: Layout, timeout: float = STOP_TIMEOUT, out=sys.stdout) -> list[str]:
    """SIGTERM to each service's process group (the pid we started leads it), SIGKILL after
    ``timeout``; removes the pid files. Returns the names stopped."""
    procs = running(layout)
    for name, pid in procs.items():
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        except PermissionError:
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_pid_alive(pid) for pid in procs.values()):
        time.sleep(0.5)
    for name, pid in procs.items():
        if _pid_alive(pid):
            print(f"{name} (pid {pid}) did not stop in {timeout:.0f} s: SIGKILL", file=out)
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    # the process groups' other members (task runners) get the same treatment
    for pid in procs.values():
        try:
            os.killpg(pid, 0)
        except (ProcessLookupError, PermissionError):
            continue
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if layout.pids.is_dir():
        for path in layout.pids.glob("*.pid"):
            path.unlink(missing_ok=True)
    layout.state.unlink(missing_ok=True)
    return list(procs)


def _run_logged(cmd: list[str], env: dict[str, str], log: Path, timeout: float, what: str) -> None:
    with open(log, "ab") as fh:
        proc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise ServeError(f"{what} failed (exit {proc.returncode}); log {log}:\n{tail}")


def prepare_metadata(env: dict[str, str], layout: Layout) -> None:
    """``airflow db migrate`` and the ``dvk_warehouse`` pool, in one child process."""
    code = "from dvk.airflow_local import ensure_metadata_db; ensure_metadata_db()"
    _run_logged([sys.executable, "-c", code], env, layout.log_file("migrate"), MIGRATE_TIMEOUT,
                "airflow db migrate / pool")


# --------------------------------------------------------------------------------------------
# REST client


class Api:
    """The bits of Airflow's REST API the project uses (token login, DAGs, runs)."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.timeout = timeout
        self._token: str | None = None

    def _request(self, method: str, path: str, body: Any = None, auth: bool = True) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        req.add_header("Accept", "application/json")
        if auth:
            req.add_header("Authorization", f"Bearer {self.token()}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                payload = json.loads(raw) if raw else None
            except ValueError:
                payload = raw.decode(errors="replace")
            return exc.code, payload

    def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201)) -> Any:
        status, payload = self._request(method, path, body)
        if status == 401 and self._token:  # expired token: log in again once
            self._token = None
            status, payload = self._request(method, path, body)
        if status not in ok:
            raise ServeError(f"{method} {path}: HTTP {status}: {payload}")
        return payload

    def token(self) -> str:
        if self._token is None:
            status, payload = self._request(
                "POST", "/auth/token", {"username": self.username, "password": self.password}, auth=False
            )
            if status not in (200, 201):
                raise ServeError(f"login as {self.username} failed: HTTP {status}: {payload}")
            self._token = payload["access_token"]
        return self._token

    def health(self) -> dict:
        status, payload = self._request("GET", "/api/v2/monitor/health", auth=False)
        return payload if status == 200 and isinstance(payload, dict) else {}

    def dag(self, dag_id: str) -> dict:
        return self.call("GET", f"/api/v2/dags/{dag_id}")

    def dag_ids(self) -> set[str]:
        payload = self.call("GET", "/api/v2/dags?limit=100")
        return {d["dag_id"] for d in payload.get("dags", [])}

    def import_errors(self) -> list[dict]:
        return self.call("GET", "/api/v2/importErrors").get("import_errors", [])

    def set_paused(self, dag_id: str, paused: bool) -> dict:
        return self.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": paused})

    def runs(self, dag_id: str) -> list[dict]:
        payload = self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=-run_after")
        return payload.get("dag_runs", [])

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.request.quote(run_id, safe='')}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        rid = urllib.request.quote(run_id, safe="")
        return self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{rid}/taskInstances?limit=200").get(
            "task_instances", []
        )

    def trigger(self, dag_id: str, conf: dict | None = None) -> dict:
        """Trigger one run of ``dag_id``, and leave the DAG unpaused, without a second run.

        Unpausing a scheduled DAG makes the scheduler create a run for its latest interval at once
        (even with ``catchup=False``). So a paused DAG's run is created *at that interval's logical
        date* (``next_dagrun_logical_date``) before the DAG is unpaused: the scheduler then finds
        the run it would have created and adds none. An unpaused DAG gets a plain manual run.
        """
        dag = self.dag(dag_id)
        logical_date = None
        if dag.get("is_paused") and dag.get("next_dagrun_logical_date"):
            logical_date = dag["next_dagrun_logical_date"]
        run = self.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": logical_date, "conf": conf or {}})
        if dag.get("is_paused"):
            self.set_paused(dag_id, False)
        return run

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float, poll: float = 2.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(dag_id, run_id)
            if run.get("state") in ("success", "failed"):
                return run
            if time.monotonic() >= deadline:
                raise ServeError(f"{dag_id} run {run_id} still {run.get('state')} after {timeout:.0f} s")
            time.sleep(poll)


def read_password(layout: Layout) -> str:
    data = json.loads(layout.passwords.read_text())
    return data[USERNAME]


def api_for(layout: Layout) -> Api:
    state = json.loads(layout.state.read_text())
    return Api(state["url"], USERNAME, read_password(layout))


# --------------------------------------------------------------------------------------------
# start


def _wait(what: str, check, timeout: float, layout: Layout, procs: dict[str, subprocess.Popen], poll: float = 1.0):
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise ServeError(f"{name} exited with {proc.returncode} while waiting for {what}\n{log_tail(layout, name)}")
        try:
            result = check()
            if result:
                return result
        except (OSError, ServeError, ValueError, KeyError) as exc:
            last_error = str(exc)
        if time.monotonic() >= deadline:
            tails = "\n".join(log_tail(layout, name, 20) for name in procs)
            raise ServeError(f"timed out after {timeout:.0f} s waiting for {what} {last_error}\n{tails}")
        time.sleep(poll)


def start(settings: Settings | None = None, port: int | None = None, out=sys.stdout) -> dict:
    """Start the services (unless they run already) and wait until they are usable.

    Returns ``{"url", "username", "password", "logs", "pids", "seconds"}``.
    """
    settings = settings or get_settings()
    layout = Layout(settings.serve_dir)
    already = running(layout)
    if already and layout.state.is_file():
        state = json.loads(layout.state.read_text())
        print(f"Already running: {state['url']} (pids {already}); stop with ./scripts/serve --stop", file=out)
        return {**state, "password": read_password(layout), "pids": already}
    if already:
        stop(layout, out=out)
    started = time.monotonic()
    port = port or settings.airflow_port
    for folder in (layout.home, layout.logs, layout.pids):
        folder.mkdir(parents=True, exist_ok=True)
    env = service_env(settings, layout, port)
    url = f"http://127.0.0.1:{port}"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            raise ServeError(f"port {port} on 127.0.0.1 is in use: choose another (--port or DVK_AIRFLOW_PORT)")
    print(f"Airflow home: {layout.home}\nMetadata:     {env['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN'].split('@')[-1]}"
          f"\nExecutor:     {env['AIRFLOW__CORE__EXECUTOR']}\nLogs:         {layout.logs}", file=out)
    print("Migrating the metadata database and creating the dvk_warehouse pool ...", file=out, flush=True)
    prepare_metadata(env, layout)

    procs: dict[str, subprocess.Popen] = {}
    try:
        for name, cmd in service_commands(env["AIRFLOW__CORE__EXECUTOR"]).items():
            log = open(layout.log_file(name), "ab")
            procs[name] = subprocess.Popen(
                cmd, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stopped as a whole, deaf to our Ctrl-C
            )
            log.close()
            _write_pid(layout, name, procs[name].pid)
        state = {"url": url, "port": port, "username": USERNAME, "logs": str(layout.logs),
                 "executor": env["AIRFLOW__CORE__EXECUTOR"], "database": database_url(settings, layout).split("@")[-1]}
        layout.state.write_text(json.dumps(state, indent=2))
        print(f"Started {', '.join(f'{n} ({p.pid})' for n, p in procs.items())}; waiting until healthy ...",
              file=out, flush=True)

        def healthy():
            h = Api(url, USERNAME, "").health()
            parts = ("metadatabase", "scheduler", "dag_processor", "triggerer")
            return h and all((h.get(p) or {}).get("status") == "healthy" for p in parts)

        _wait("/api/v2/monitor/health", healthy, HEALTHY_TIMEOUT, layout, procs)
        api = Api(url, USERNAME, read_password(layout))

        def dags_listed():
            errors = api.import_errors()
            if errors:
                raise ServeError(f"DAG import errors: {errors}")
            return set(PROJECT_DAGS) <= api.dag_ids()

        _wait("the project's DAGs", dags_listed, DAGS_TIMEOUT, layout, procs)
        for dag_id in PROJECT_DAGS:
            dag = api.dag(dag_id)
            # Only on assets (no time schedule, so no "latest interval"): unpausing creates no run.
            if dag["is_paused"] and dag.get("timetable_summary") == "Asset" and not dag.get("timetable_periodic"):
                api.set_paused(dag_id, False)
    except BaseException:
        stop(layout, out=out)
        raise
    seconds = time.monotonic() - started
    state["seconds_to_ready"] = round(seconds, 1)
    layout.state.write_text(json.dumps(state, indent=2))
    print(
        f"\nAirflow is up in {seconds:.0f} s: {url}\n"
        f"  login:    {USERNAME} / {read_password(layout)}\n"
        f"  logs:     {layout.logs}/ (api-server, scheduler, dag-processor, triggerer, tasks/)\n"
        f"  DAGs:     {', '.join(PROJECT_DAGS)} (dvk_transform unpaused: it follows each ingest that loads data)\n"
        f"  first run: ./scripts/serve trigger dvk_ingest   (see docs/operations.md)\n",
        file=out, flush=True,
    )
    return {**state, "password": read_password(layout), "pids": {n: p.pid for n, p in procs.items()}}


def _foreground(layout: Layout) -> int:
    """Stay until Ctrl-C / SIGTERM, or until a service dies; then stop everything."""
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print("Ctrl-C stops every service.", flush=True)
    names = set(running(layout))
    code = 0
    while not stopping:
        time.sleep(1)
        dead = names - set(running(layout))
        if dead and not list(layout.pids.glob("*.pid")):
            print("Stopped by ./scripts/serve --stop.", flush=True)
            return 0
        if dead:
            for name in sorted(dead):
                print(f"{name} stopped unexpectedly\n{log_tail(layout, name)}", file=sys.stderr)
            code = 1
            break
    print("Stopping ...", flush=True)
    stopped = stop(layout)
    print(f"Stopped {', '.join(stopped) or 'nothing'}.")
    return code


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "trigger":
        return _trigger_main(argv[1:])
    parser = argparse.ArgumentParser(prog="./scripts/serve", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default DVK_AIRFLOW_PORT or 8080)")
    parser.add_argument("--detach", action="store_true", help="return once the services are up (stop with --stop)")
    parser.add_argument("--stop", action="store_true", help="stop the services started with --detach")
    parser.add_argument("--status", action="store_true", help="show what runs")
    args = parser.parse_args(argv)
    settings = get_settings()
    layout = Layout(settings.serve_dir)
    if args.stop:
        stopped = stop(layout)
        print(f"Stopped {', '.join(stopped)}." if stopped else "Nothing was running.")
        return 0
    if args.status:
        procs = running(layout)
        state = json.loads(layout.state.read_text()) if layout.state.is_file() else {}
        if not procs:
            print("Not running.")
            return 3
        print(f"{state.get('url', '?')}: " + ", ".join(f"{n} ({p})" for n, p in procs.items()))
        return 0
    try:
        start(settings, port=args.port)
    except ServeError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0 if args.detach else _foreground(layout)


def _trigger_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./scripts/serve trigger", description=Api.trigger.__doc__)
    parser.add_argument("dag_id", choices=PROJECT_DAGS)
    parser.add_argument("--conf", default="{}", help='the run\'s conf as JSON, e.g. \'{"year": 2021}\'')
    parser.add_argument("--wait", action="store_true", help="wait for the run to end; exit 1 if it failed")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)
    layout = Layout(get_settings().serve_dir)
    if not running(layout) or not layout.state.is_file():
        print("serve: the services are not running (./scripts/serve --detach)", file=sys.stderr)
        return 1
    api = api_for(layout)
    run = api.trigger(args.dag_id, json.loads(args.conf))
    print(f"{args.dag_id}: run {run['dag_run_id']} {run.get('state')} (logical date {run.get('logical_date')})")
    if not args.wait:
        return 0
    final = api.wait_for_run(args.dag_id, run["dag_run_id"], args.timeout)
    print(f"{args.dag_id}: run {final['dag_run_id']} {final['state']}")
    for ti in api.task_instances(args.dag_id, final["dag_run_id"]):
        index = "" if ti.get("map_index", -1) < 0 else f"[{ti['map_index']}]"
        print(f"    {ti['task_id'] + index:<40} {ti.get('state')}")
    return 0 if final["state"] == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
