"""dbt's fork server (dvk.dbt_forkserver): dbt imported once, each invocation a child of its own that
runs dbt's command line with the caller's arguments, environment and folder, and ends with the
process that started it. dbt runs here only as ``dbt debug --config-dir`` and an unknown command
(no project, no warehouse); the builds through it are the e2e tests'."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from dvk import dbt_forkserver
from dvk.settings import PROJECT_ROOT, get_settings

#: the tests that run dbt (its command line, no project) are e2e; the settings' are not
e2e = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _no_parse_state(monkeypatch):
    """dbt runs here without a project: the run's parse state is not for it, and until the
    background parse has made it (conftest's dbt_parse_state) the variable names no file, which dbt
    refuses ("Invalid value for '--partial-parse-file-path'")."""
    monkeypatch.delenv("DBT_PARTIAL_PARSE_FILE_PATH", raising=False)


def _run(args, env=None, cwd=None):
    lines: list[str] = []
    code = dbt_forkserver.run(args, env=env if env is not None else dict(os.environ), cwd=cwd or os.getcwd(),
                              on_line=lines.append)
    return code, "".join(lines)


_HANGING_PROFILE = """p:
  target: t
  outputs:
    t: {type: postgres, host: 127.0.0.1, port: PORT, user: u, password: x, dbname: d, schema: s, connect_timeout: 120}
"""


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except FileNotFoundError:
        return []


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1].startswith("Z")  # exited, not yet reaped by init
    except FileNotFoundError:
        return True


def _server_pid() -> int:
    assert dbt_forkserver._SERVER is not None
    return dbt_forkserver._SERVER.process.pid


@e2e
def test_dbt_gets_the_callers_environment_and_folder_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.setenv("DBT_PROFILES_DIR", "/not/this/one")  # this process's, not the invocation's
    dbt_forkserver.stop()  # a server started now, with it in its own environment
    env = {k: v for k, v in os.environ.items() if k != "DBT_PROFILES_DIR"}
    code, out = _run(["debug", "--config-dir"], env={**env, "DBT_PROFILES_DIR": str(tmp_path / "given")},
                     cwd=tmp_path)
    assert code == 0 and str(tmp_path / "given") in out and "/not/this/one" not in out
    # without it in the invocation's environment, dbt looks in its working folder: the invocation's,
    # not this process's or the server's
    here = tmp_path / "here"
    here.mkdir()
    (here / "profiles.yml").write_text("{}\n", encoding="utf-8")
    code, out = _run(["debug", "--config-dir"], env=env, cwd=here)
    assert code == 0 and str(here) in out and "/not/this/one" not in out


@e2e
def test_exit_codes_and_output_are_dbts(tmp_path):
    code, out = _run(["no-such-command"], cwd=tmp_path)
    assert code == 2 and "No such command 'no-such-command'" in out
    code, out = _run(["debug", "--config-dir", "--profiles-dir", "rel"], cwd=tmp_path)
    assert code == 0 and "Running with dbt=" in out


@e2e
def test_one_server_for_the_invocations_of_a_process(tmp_path):
    dbt_forkserver.warm_up()  # this worker's, if a test before started it
    first = _server_pid()
    assert _run(["debug", "--config-dir"], cwd=tmp_path)[0] == 0
    assert _run(["debug", "--config-dir"], cwd=tmp_path)[0] == 0
    assert _server_pid() == first


@e2e
def test_an_interrupted_invocation_stops_its_child_and_the_next_starts_a_new_server(tmp_path):
    dbt_forkserver.warm_up()
    first = _server_pid()

    def stop_at_the_first_line(line):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        dbt_forkserver.run(["debug", "--config-dir"], env=dict(os.environ), cwd=tmp_path, on_line=stop_at_the_first_line)
    assert dbt_forkserver._SERVER is None
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)  # reaped
    assert _run(["debug", "--config-dir"], cwd=tmp_path)[0] == 0
    assert _server_pid() != first


@e2e
def test_the_server_ends_with_the_process_that_started_it():
    driver = ("import sys, time; from dvk import dbt_forkserver as f; f.warm_up(); "
              "print(f._SERVER.process.pid, flush=True); time.sleep(600)")
    caller = subprocess.Popen([sys.executable, "-c", driver], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        server = int(caller.stdout.readline())
        os.kill(server, 0)  # running
        caller.send_signal(signal.SIGKILL)  # no atexit, no clean-up: the socket's end closes
        caller.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _gone(server):
            time.sleep(0.1)
        assert _gone(server), f"dbt's fork server {server} outlived its caller"
    finally:
        caller.kill()
        caller.wait()


@pytest.mark.parametrize(("value", "on"), [("", True), ("1", True), ("yes", True), ("0", False), ("off", False)])
def test_its_setting(monkeypatch, value, on):
    monkeypatch.setenv(dbt_forkserver.VARIABLE, value)
    assert get_settings().dbt_forkserver is on


def test_a_wrong_setting_is_named(monkeypatch):
    monkeypatch.setenv(dbt_forkserver.VARIABLE, "maybe")
    with pytest.raises(ValueError, match="DVK_DBT_FORKSERVER must be 1 .on. or 0 .off., not 'maybe'"):
        get_settings()


@e2e
def test_a_forked_process_starts_a_server_of_its_own(tmp_path):
    dbt_forkserver.warm_up()
    parent_server = _server_pid()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, never return into pytest
        code = 1
        try:
            os.close(read_end)
            lines: list[str] = []
            dbt_forkserver.run(["debug", "--config-dir"], env=dict(os.environ), cwd=tmp_path, on_line=lines.append)
            os.write(write_end, f"{_server_pid()} {int(any('Running with dbt' in x for x in lines))}".encode())
            dbt_forkserver.stop()
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        server, ran = answer.read().split()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert int(server) != parent_server and ran == "1"
    assert _server_pid() == parent_server  # the parent's is untouched
    assert _run(["debug", "--config-dir"], cwd=tmp_path)[0] == 0


@e2e
def test_turned_off_dbt_starts_as_its_own_command(tmp_path, monkeypatch, capsys):
    from dvk import transform

    monkeypatch.setattr(transform, "DBT_COMMAND", (sys.executable, "-c", "import os; print('PLAIN', os.getpid())"))
    settings = replace(get_settings(), warehouse=tmp_path / "wh" / "dvk.duckdb", dbt_forkserver=False)
    dbt_forkserver.stop()
    transform.run_dbt(["parse"], settings)
    assert "PLAIN" in capsys.readouterr().out and dbt_forkserver._SERVER is None
    monkeypatch.setenv(dbt_forkserver.VARIABLE, "0")
    dbt_forkserver.stop()
    dbt_forkserver.warm_up()
    assert dbt_forkserver._SERVER is None
    monkeypatch.delenv(dbt_forkserver.VARIABLE)
    dbt_forkserver.warm_up()  # the next dbt test of this worker finds it started


def test_the_run_command_imports_dbt_early_only_when_it_will_probably_build(tmp_path):
    from dvk.changes import build_inputs_path
    from dvk.ingest import inbox_index
    from dvk.run_local import _dbt_likely, _inbox_listing

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = replace(get_settings(), inbox_dir=inbox, warehouse=tmp_path / "wh" / "dvk.duckdb")
    assert _dbt_likely(settings, _inbox_listing(settings))  # never built
    record = build_inputs_path(settings)
    record.parent.mkdir(parents=True)
    record.write_text("{}", encoding="utf-8")
    assert not _dbt_likely(settings, _inbox_listing(settings))  # built, nothing in the inbox
    report = inbox / "18076_2021.xlsx"
    report.write_bytes(b"a report")
    assert _dbt_likely(settings, _inbox_listing(settings))  # a file the ingest has not read
    index = inbox_index.index_path(settings.warehouse)
    inbox_index.write_index(index, inbox, {report.name: (inbox_index.stat_key(report.stat()), "sha")})
    assert not _dbt_likely(settings, _inbox_listing(settings))  # read as it is now: nothing new
    report.write_bytes(b"a corrected report")
    assert _dbt_likely(settings, _inbox_listing(settings))


@e2e
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads the process tree in /proc (Linux)")
def test_a_caller_killed_while_dbt_runs_takes_its_dbt_with_it(tmp_path):
    # dbt waits for a database that accepts the connection and never answers: it runs until stopped
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    (tmp_path / "profiles.yml").write_text(_HANGING_PROFILE.replace("PORT", str(listener.getsockname()[1])),
                                           encoding="utf-8")
    driver = ("import os, sys; from dvk import dbt_forkserver as f; f.warm_up(); "
              "print(f._SERVER.process.pid, flush=True); "
              "f.run(['debug', '--connection', '--profiles-dir', '.', '--profile', 'p'], env=dict(os.environ), "
              "cwd=sys.argv[1], on_line=lambda line: print(line, end='', flush=True))")
    caller = subprocess.Popen([sys.executable, "-c", driver, str(tmp_path)], cwd=PROJECT_ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        server = int(caller.stdout.readline())
        for line in caller.stdout:  # dbt has started and is connecting
            if "Registered adapter: postgres" in line:
                break
        else:
            pytest.fail("dbt ended before it connected")
        (dbt,) = _children(server)
        assert not _gone(dbt)
        caller.send_signal(signal.SIGKILL)
        caller.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (_gone(dbt) and _gone(server)):
            time.sleep(0.1)
        assert _gone(dbt), "dbt outlived the process that ran it"
        assert _gone(server)
    finally:
        caller.kill()
        caller.wait()
        listener.close()


# -- the priming parse -----------------------------------------------------------------------------

_TINY_PROFILE = """tiny:
  target: dev
  outputs:
    dev: {type: duckdb, path: tiny.duckdb, threads: 1}
"""


def _tiny_project(folder):
    """A dbt project of one model, with its DuckDB profile, in ``folder``."""
    (folder / "models").mkdir(parents=True)
    (folder / "dbt_project.yml").write_text("name: tiny\nversion: '1.0'\nprofile: tiny\n", encoding="utf-8")
    (folder / "profiles.yml").write_text(_TINY_PROFILE, encoding="utf-8")
    (folder / "models" / "one.sql").write_text("select 1 as one\n", encoding="utf-8")
    return folder


def test_the_parse_state_a_request_starts_from(tmp_path):
    target = tmp_path / "t"
    given = tmp_path / "given.msgpack"
    args = ["build", "--project-dir", "p", "--target-path", str(target)]
    assert dbt_forkserver.saved_parse_state(args, {}, str(tmp_path)) is None  # a first build: none
    given.write_bytes(b"state")
    env = {"DBT_PARTIAL_PARSE_FILE_PATH": str(given)}
    assert dbt_forkserver.saved_parse_state(args, env, str(tmp_path)) == given
    target.mkdir()
    (target / "partial_parse.msgpack").write_bytes(b"its own")
    assert dbt_forkserver.saved_parse_state(args, env, str(tmp_path)) == target / "partial_parse.msgpack"
    # without --target-path: dbt's variable, else the project's target folder, from the working folder
    (tmp_path / "p" / "target").mkdir(parents=True)
    (tmp_path / "p" / "target" / "partial_parse.msgpack").write_bytes(b"project's")
    assert dbt_forkserver.saved_parse_state(["ls", "--project-dir", "p"], {}, str(tmp_path)) == \
        tmp_path / "p" / "target" / "partial_parse.msgpack"
    assert dbt_forkserver.saved_parse_state(["ls"], {"DBT_TARGET_PATH": str(target)}, str(tmp_path)) == \
        target / "partial_parse.msgpack"


def test_the_priming_parse_reads_the_requests_project_and_writes_only_its_own_folder(tmp_path):
    args = ["build", "--select", "one", "--project-dir", "p", "--profiles-dir=q", "--target", "dev",
            "--vars", "{a: 1}", "--target-path", "t", "--log-path", "l", "--full-refresh"]
    parse = dbt_forkserver.priming_args(args, tmp_path)
    assert parse[:9] == ["parse", "--project-dir", "p", "--profiles-dir", "q", "--target", "dev", "--vars", "{a: 1}"]
    assert parse[parse.index("--target-path") + 1] == parse[parse.index("--log-path") + 1] == str(tmp_path)
    assert "--no-static-parser" in parse and "one" not in parse and "--full-refresh" not in parse


def _server_state(pid: int) -> tuple[set[str], int, list[int]]:
    """The server's open files, its threads and its child processes."""
    files = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            files.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return files, len(os.listdir(f"/proc/{pid}/task")), _children(pid)


@e2e
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads the process in /proc (Linux)")
def test_the_server_primes_from_a_saved_state_before_the_second_invocation_and_keeps_nothing(tmp_path, monkeypatch):
    project = _tiny_project(tmp_path / "tiny")
    monkeypatch.delenv("DVK_DBT_PRIME", raising=False)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # the server's temporary folders
    dbt_forkserver.stop()
    dbt_forkserver.warm_up()  # a server of its own, started with priming on
    monkeypatch.delenv("TMPDIR")
    server = dbt_forkserver._SERVER
    before = _server_state(server.process.pid)
    options = ["--project-dir", str(project), "--profiles-dir", str(project)]
    assert _run(["parse", *options], cwd=project)[0] == 0
    assert not server.primed  # a first invocation: no saved state to start from, and it runs dbt once
    code, out = _run(["build", *options], cwd=project)
    assert code == 0 and "PASS=1" in out and "Unable to do partial parsing" not in out
    assert server.primed
    # nothing of the parse stays in the server: no log file, no thread (the children are forked from
    # it), no process (multiprocessing's resource tracker)
    assert _server_state(server.process.pid) == before
    assert list(scratch.iterdir()) == []  # the priming parse's own folder is removed
    # a process's first invocation is not primed (it would pay more than it saves); nor one that
    # says so (settings.dbt_prime off), nor for warm_up then
    dbt_forkserver.stop()
    assert _run(["ls", *options], cwd=project)[0] == 0 and not dbt_forkserver._SERVER.primed
    monkeypatch.setenv("DVK_DBT_PRIME", "0")
    dbt_forkserver.warm_up((["ls", *options], dict(os.environ), project))
    assert dbt_forkserver.run(["ls", *options], env=dict(os.environ), cwd=project, on_line=print, prime=False) == 0
    assert not dbt_forkserver._SERVER.primed
    monkeypatch.delenv("DVK_DBT_PRIME")
    # warm_up naming the invocation to come: the priming runs at once, while the caller does other work
    dbt_forkserver.stop()
    dbt_forkserver.warm_up((["ls", *options], dict(os.environ), project))
    assert _run(["ls", *options], cwd=project)[0] == 0 and dbt_forkserver._SERVER.primed  # the next dbt test
    # of this worker finds a server started, as before


@pytest.mark.parametrize(("value", "on"), [("", True), ("1", True), ("0", False), ("off", False)])
def test_the_priming_setting(monkeypatch, value, on):
    monkeypatch.setenv("DVK_DBT_PRIME", value)
    assert get_settings().dbt_prime is on


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork (POSIX)")
@pytest.mark.parametrize("module", ["dvk.dbt_forkserver", "dvk.transform"])
def test_a_process_forked_while_a_thread_runs_dbt_can_run_dbt(module):
    """The lock that serialises a process's dbt invocations, held by another thread when the
    process forks (a task runner forked from a process with threads), is a new one in the child."""
    import importlib
    import threading

    lock_owner = importlib.import_module(module)
    held, release = threading.Event(), threading.Event()

    def hold():
        with lock_owner._LOCK:
            held.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10)
        pid = os.fork()
        if pid == 0:  # the child: take the lock as an invocation would, never return into pytest
            code = 1
            try:
                code = 0 if lock_owner._LOCK.acquire(timeout=5) else 3
            finally:
                os._exit(code)
        deadline = time.monotonic() + 20
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        if done[0] == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the child hung")
        assert os.waitstatus_to_exitcode(done[1]) == 0, "the child found the lock held by a thread it does not have"
    finally:
        release.set()
        thread.join()
