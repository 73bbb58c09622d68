"""dvk.serve without starting Airflow: the processes' shared configuration and the pid files."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from dvk import serve
from dvk.settings import get_settings


def test_every_service_gets_the_same_loopback_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("DVK_SERVE_DIR", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "SequentialExecutor")  # a developer's own: dropped
    monkeypatch.delenv("DVK_AIRFLOW_DATABASE_URL", raising=False)
    layout = serve.Layout(tmp_path)
    env = serve.service_env(get_settings(), layout, 18080)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'airflow' / 'airflow.db'}"
    assert env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"].startswith(str(layout.logs))
    # the shared secrets are generated once, private, and the same at the next start
    assert (layout.secrets.stat().st_mode & 0o777) == 0o600
    again = serve.service_env(get_settings(), layout, 18080)
    assert again["AIRFLOW__API_AUTH__JWT_SECRET"] == env["AIRFLOW__API_AUTH__JWT_SECRET"]
    # no log server on every interface
    commands = serve.service_commands("LocalExecutor")
    assert set(commands) == set(serve.SERVICES)
    assert "--skip-serve-logs" in commands["scheduler"] and "--skip-serve-logs" in commands["triggerer"]


def test_postgres_and_celery_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DVK_AIRFLOW_DATABASE_URL", "postgresql+psycopg2://a:b@127.0.0.1:5433/airflow")
    monkeypatch.setenv("DVK_AIRFLOW_EXECUTOR", "CeleryExecutor")
    monkeypatch.delenv("DVK_CELERY_BROKER_URL", raising=False)
    layout = serve.Layout(tmp_path)
    with pytest.raises(serve.ServeError, match="DVK_CELERY_BROKER_URL"):
        serve.service_env(get_settings(), layout, 18080)
    monkeypatch.setenv("DVK_CELERY_BROKER_URL", "redis://127.0.0.1:6390/0")
    env = serve.service_env(get_settings(), layout, 18080)
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+postgresql+psycopg2://a:b@127.0.0.1:5433/airflow"
    assert "celery-worker" in serve.service_commands("CeleryExecutor")
    monkeypatch.delenv("DVK_AIRFLOW_DATABASE_URL")
    with pytest.raises(serve.ServeError, match="PostgreSQL"):
        serve.service_env(get_settings(), layout, 18080)


def test_stop_signals_only_the_processes_it_started(tmp_path):
    layout = serve.Layout(tmp_path)
    layout.pids.mkdir(parents=True)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    try:
        serve._write_pid(layout, "scheduler", proc.pid)
        # a stale pid file: the pid is alive, but it is another process (start time differs)
        layout.pid_file("triggerer").write_text(f"{proc.pid} 1\n")
        assert serve.running(layout) == {"scheduler": proc.pid}
        started = time.monotonic()
        assert serve.stop(layout, timeout=10) == ["scheduler"]
        assert proc.wait(timeout=10) is not None
        assert time.monotonic() - started < 60
        assert not list(layout.pids.glob("*.pid"))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
