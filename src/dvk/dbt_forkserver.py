"""dbt imported once per process, run in a child of its own per invocation: a fork server.

:func:`dvk.transform.run_dbt` runs each dbt invocation in a child process, so that the operating
system closes dbt-duckdb's DuckDB file when it ends and none of dbt's global state stays behind.
Started as ``python -m dbt.cli.main``, each child spent about 1.7 s of its start-up importing dbt and
its adapters (docs/benchmarks.md, "dbt's fork server"). Here a server process imports them once
(``python -m dvk.dbt_forkserver``, started by the first invocation of a process, or earlier by
:func:`warm_up`) and forks one child per invocation; the child runs dbt's own command line
(``dbt.cli.main.cli``, exactly what ``python -m dbt.cli.main`` runs) in the caller's working folder
and environment (and file-creation mask), its stdout and stderr on a pipe the caller reads line by
line, and exits. A child is still a process of its own: its DuckDB file is closed when it exits, as
before. What Python fixes when it starts (``PYTHON*`` variables, the locale's encoding, resource
limits) is the server's, taken from the caller's environment when it started it; dbt's usage
messages name it ``dbt``.

    code = run(["build"], env=env, cwd=folder, on_line=print)   # dbt's exit code (or -signal)

Before it forks the second child that reads the project (``build``, ``run``, ``test``, ``parse``
…), or at once when :func:`warm_up` names the invocation to come, the server parses the project
once itself (the priming parse), from the parse state dbt saved (the request's target folder's
``partial_parse.msgpack``, or the one ``DBT_PARTIAL_PARSE_FILE_PATH`` names), in a temporary
folder: dbt generates its serialisation code on first use (mashumaro, lazily) and builds the JSON
schemas it checks the project and profile with, about 0.6 s of every invocation's start-up
(docs/benchmarks.md, "The fork server's priming parse"); made once in the server, every child
inherits them. A process that runs dbt once (an Airflow task) is not primed for: the parse would
cost more than it saves, unless it runs while the caller does other work. Nothing of the request's
folders is written, and nothing of the parse is kept but that code: dbt's adapters are reset (each
invocation registers its own, as dbt always does), its log file closed, multiprocessing's resource
tracker stopped. Without a saved state (a deployment's first build) the server does not prime
until a later request has one: a full parse would cost more than it saves. The static parser stays
off in the priming parse (its Rust threads would not survive a fork). A request that says
``prime: false`` (``settings.dbt_prime`` off, ``DVK_DBT_PRIME=0``) is never primed for.

The server belongs to the process that started it (a forked process starts its own) and ends with
it: it reads the caller's end of a Unix socket, and when that closes (the caller exited or was
killed) it stops the child it is running and exits. One invocation at a time per server (the
caller serialises them: ``dvk.transform``'s lock).

Without ``os.fork`` (not POSIX: :func:`supported`) or with ``DVK_DBT_FORKSERVER=0``
(``settings.dbt_forkserver``), ``dvk.transform`` starts ``python -m dbt.cli.main`` for each
invocation, as before.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dvk.filemodes import current_umask

if TYPE_CHECKING:
    from dvk.settings import Settings

#: What the server imports before it forks: dbt's command line and the adapters the project uses
#: (PostgreSQL's only where it is installed), with the modules a build loads on its first use.
PRELOAD = (
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "dbt.adapters.duckdb.impl",
    "dbt.adapters.duckdb.environments.local",
    "dbt.adapters.postgres",
    "dbt.task.build",
    "dbt.task.docs.generate",
    "dbt.parser.manifest",
    "dbt.contracts.graph.manifest",
    "dbt.parser.schema_yaml_readers",
    "dbt_common.clients.agate_helper",
)
#: dbt's commands that load the project (the ones the priming parse is for).
PROJECT_COMMANDS = frozenset({
    "build", "run", "test", "seed", "snapshot", "compile", "parse", "ls", "list", "show", "docs",
    "source", "run-operation", "clone", "retry",
})
#: Options of a request passed on to the priming parse: what decides which project it parses and
#: whether the saved parse state fits (dbt parses in full when the vars or the profile differ).
_PROJECT_OPTIONS = ("--project-dir", "--profiles-dir", "--profile", "--target", "-t", "--vars")
#: dbt's saved parse state in its target folder, and dbt's variable naming one to read instead
#: (``dvk.transform`` names them ``PARTIAL_PARSE_FILE`` and ``PARTIAL_PARSE_VARIABLE``).
PARSE_STATE_FILE = "partial_parse.msgpack"
PARSE_STATE_VARIABLE = "DBT_PARTIAL_PARSE_FILE_PATH"
#: The setting that turns the server off (``settings.dbt_forkserver``; dbt then starts as
#: ``python -m dbt.cli.main``), named in the server's errors.
VARIABLE = "DVK_DBT_FORKSERVER"
_HEADER = struct.Struct("!I")


class ForkServerError(RuntimeError):
    """The server stopped or could not be reached (not a dbt failure: dbt's own exit code says that)."""


def supported() -> bool:
    """Whether this platform can run the server (``os.fork`` and descriptor passing: POSIX)."""
    return hasattr(os, "fork") and hasattr(socket, "send_fds")


# -- the caller's side ---------------------------------------------------------------------------

class _Server:
    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.owner = os.getpid()
        self.primed = False  # whether the server has parsed the project (module docstring), as it last said
        self.sock = ours
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-P", "-m", "dvk.dbt_forkserver", str(theirs.fileno())],
                # never the caller's stdout and stderr: a pipe someone reads to its end (a run's log,
                # Airflow's task supervisor) must not wait for the server; its own errors (dbt not
                # importable) are read from its stderr when it stops (ForkServerError)
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, cwd="/",  # each child goes to its invocation's folder
            )
        finally:
            theirs.close()

    def close(self) -> None:
        """Close the socket (the server stops its child, if any, and exits); the process that
        started the server reaps it (a forked process only lets go of it)."""
        with contextlib.suppress(OSError):
            self.sock.close()
        if self.owner == os.getpid():
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            with contextlib.suppress(OSError):
                self.process.stderr.close()


_SERVER: _Server | None = None
_LOCK = threading.Lock()


def _server() -> _Server:
    global _SERVER
    if _SERVER is not None and (_SERVER.owner != os.getpid() or _SERVER.process.poll() is not None):
        _drop()
    if _SERVER is None:
        _SERVER = _Server()
    return _SERVER


def _drop() -> None:
    """Let go of this process's server (stopped and reaped if this process started it)."""
    global _SERVER
    server, _SERVER = _SERVER, None
    if server is not None:
        server.close()


def stop() -> None:
    """Stop this process's server (started again by the next invocation)."""
    with _LOCK:
        _drop()


def _after_fork_in_child() -> None:
    """A forked process starts its own server, with a lock of its own: a thread of the parent that
    held the lock at the fork does not exist in the child, which would wait for it for ever."""
    global _LOCK
    _LOCK = threading.Lock()
    _drop()


atexit.register(stop)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def warm_up(invocation: tuple[Sequence[str], Mapping[str, str], Path | str] | None = None,
            settings: Settings | None = None) -> None:
    """Start this process's server now, so that it imports dbt while the caller does other work
    (the README's run command calls it before the ingest); with the ``(args, env, cwd)`` of the
    invocation to come, it also makes its priming parse then (module docstring) unless
    ``settings.dbt_prime`` is off. Does nothing where dbt runs without it (``settings.dbt_forkserver``
    off, or not :func:`supported`). ``settings``: default the environment's."""
    from dvk.settings import get_settings

    settings = settings or get_settings()
    if settings.dbt_forkserver and supported():
        with _LOCK:
            server = _server()
            if invocation is not None and settings.dbt_prime:
                args, env, cwd = invocation
                try:
                    _send(server.sock, {"invocation": {"args": list(args), "env": dict(env), "cwd": str(cwd)}})
                except OSError:
                    _drop()  # the next invocation starts a new one
                    raise


def run(args: Sequence[str], *, env: Mapping[str, str], cwd: Path | str, on_line: Callable[[str], None],
        prime: bool = True) -> int:
    """Run ``dbt <args>`` in a child forked by the server, in ``cwd`` with exactly ``env`` as its
    environment; each line of its output (stdout and stderr together) goes to ``on_line`` as it
    comes. ``prime=False``: the server makes no priming parse for it (module docstring). Returns
    its exit code, or minus the signal that ended it."""
    with _LOCK:
        server = _server()
        read_end, write_end = os.pipe()
        try:
            try:
                _send(server.sock, {"args": list(args), "env": dict(env), "cwd": str(cwd),
                                    "umask": current_umask(), "prime": prime}, fds=(write_end,))
            finally:
                os.close(write_end)
            reply = _receive(server)
            pid, server.primed = reply["pid"], bool(reply.get("primed"))
        except BaseException:
            os.close(read_end)
            _drop()
            raise
        try:
            with open(read_end, encoding="utf-8", errors="replace", newline=None) as stream:
                for line in stream:
                    on_line(line)
            return int(_receive(server)["exit"])
        except BaseException:
            # interrupted (a task killed, Ctrl-C) or the server gone: stop the child, then the server
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
            _drop()
            raise


def _send(sock: socket.socket, message: dict, fds: Sequence[int] = ()) -> None:
    data = json.dumps(message).encode("utf-8")
    socket.send_fds(sock, [_HEADER.pack(len(data))], list(fds))
    sock.sendall(data)


def _receive_message(sock: socket.socket, max_fds: int = 0) -> tuple[dict | None, list[int]]:
    """One message and the descriptors sent with it; (None, []) when the other end closed."""
    if max_fds:
        header, fds, _flags, _addr = socket.recv_fds(sock, _HEADER.size, max_fds)
    else:
        header, fds = sock.recv(_HEADER.size), []
    if not header:
        return None, fds
    while len(header) < _HEADER.size:
        more = sock.recv(_HEADER.size - len(header))
        if not more:
            return None, fds
        header += more
    (size,) = _HEADER.unpack(header)
    data = b""
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), 1 << 16))
        if not chunk:
            return None, fds
        data += chunk
    return json.loads(data.decode("utf-8")), fds


def _receive(server: _Server) -> dict:
    message, _ = _receive_message(server.sock)
    if message is None:
        try:
            _, err = server.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # closed its end but did not exit
            server.process.kill()
            _, err = server.process.communicate()
        code = server.process.returncode
        error = (err or b"").decode("utf-8", "replace").strip()
        raise ForkServerError(
            f"dbt's fork server (python -m dvk.dbt_forkserver, pid {server.process.pid}) stopped with exit code "
            f"{code}{': ' + error[-3000:] if error else ''}\nRun dbt without it: {VARIABLE}=0.")
    return message


# -- the server's side ---------------------------------------------------------------------------

def _preload() -> None:
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # an adapter that is not installed (dbt-postgres is optional)
            continue
    import gc

    gc.collect()
    gc.freeze()  # the preloaded objects stay shared with the children (no copy on write by the GC)


def option_value(args: Sequence[str], option: str) -> str | None:
    """The value of ``option`` in a dbt command line (``--x value`` or ``--x=value``), or None."""
    for i, arg in enumerate(args):
        if arg == option and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(option + "="):
            return arg[len(option) + 1:]
    return None


def saved_parse_state(args: Sequence[str], env: Mapping[str, str], cwd: str) -> Path | None:
    """The parse state a request's dbt would start from: its target folder's, else the one
    ``DBT_PARTIAL_PARSE_FILE_PATH`` names; None when there is none (dbt would parse in full)."""
    target = option_value(args, "--target-path") or env.get("DBT_TARGET_PATH")
    if target is None:
        project = Path(cwd, option_value(args, "--project-dir") or env.get("DBT_PROJECT_DIR") or ".")
        target = str(project / "target")
    own = Path(cwd, target, PARSE_STATE_FILE)
    if own.is_file():
        return own
    given = env.get(PARSE_STATE_VARIABLE)
    return Path(cwd, given) if given and Path(cwd, given).is_file() else None


def priming_args(args: Sequence[str], folder: Path) -> list[str]:
    """The priming ``dbt parse`` for a request's ``args``: the same project, profile, target and
    vars; the target and log folders ``folder``; the static parser off; no output."""
    parse = ["parse"]
    for name in _PROJECT_OPTIONS:
        value = option_value(args, name)
        if value is not None:
            parse += [name, value]
    return [*parse, "--target-path", str(folder), "--log-path", str(folder), "--no-static-parser",
            "--log-level", "none", "--log-level-file", "none"]


def _prime(message: dict) -> bool:
    """Parse the request's project in this process, from its saved parse state copied to a
    temporary folder (module docstring). False when there is no saved state (nothing done).
    Whatever happens, the process's environment, folder and dbt's adapters and loggers are put
    back; a failure is not the request's (its child parses as it would have)."""
    args = [str(arg) for arg in message["args"]]
    state = saved_parse_state(args, message["env"], message["cwd"])
    if state is None:
        return False
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    with tempfile.TemporaryDirectory(prefix="dvk-dbt-priming-") as folder:
        try:
            shutil.copyfile(state, Path(folder, PARSE_STATE_FILE))
            os.chdir(message["cwd"])
            os.environ.clear()
            os.environ.update({k: v for k, v in message["env"].items()
                               if k not in (PARSE_STATE_VARIABLE, "DBT_TARGET_PATH", "DBT_LOG_PATH")})
            from dbt.cli.main import dbtRunner

            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                dbtRunner().invoke(priming_args(args, Path(folder)))
        except Exception as exc:  # noqa: BLE001 - an optimisation: the request runs as without it
            print(f"dbt's fork server: priming parse skipped: {exc!r}", file=sys.stderr)
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
            _release_dbt_state()
    return True


def _release_dbt_state() -> None:
    """What a dbt invocation leaves in its process: the adapters (their connections, and the
    lock that started multiprocessing's resource tracker, a process of its own), the event loggers
    (an open log file). The children start their own tracker, as without the priming parse."""
    with contextlib.suppress(Exception):
        from dbt.adapters.factory import reset_adapters

        reset_adapters()
    with contextlib.suppress(Exception):
        from dbt_common.events.event_manager_client import cleanup_event_logger

        cleanup_event_logger()
    import gc

    gc.collect()  # the adapters' locks: their semaphores unlinked (and unregistered from the tracker)
    from multiprocessing import resource_tracker

    with contextlib.suppress(Exception):
        resource_tracker._resource_tracker._stop()  # noqa: SLF001 - no public way in Python 3.11
    gc.freeze()


def serve(sock: socket.socket) -> int:
    """The server's loop: one request at a time, until the caller's end of ``sock`` closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the caller and dbt's child
    _preload()
    primed = served = False
    while True:
        message, fds = _receive_message(sock, max_fds=1)
        if message is None:
            return 0
        if "invocation" in message:  # prime now, for the invocation to come (no reply)
            if not primed:
                primed = _prime(message["invocation"])
            continue
        if message["args"] and str(message["args"][0]) in PROJECT_COMMANDS and message.get("prime", True):
            # from the second invocation on: a process that runs dbt once would pay more than it saves
            if not primed and served:
                primed = _prime(message)
            served = True
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            _run_child(message, fds[0], sock)
        for fd in fds:
            os.close(fd)
        try:
            _send(sock, {"pid": pid, "primed": primed})
            status = _wait(pid, sock)
        except BaseException:  # the caller gone between request and reply, or the socket broken
            _stop_child(pid)
            raise
        if status is None:  # the caller is gone
            return 0
        _send(sock, {"exit": os.waitstatus_to_exitcode(status)})


def _wait(pid: int, sock: socket.socket) -> int | None:
    """The child's wait status; None if the caller closed its end first (the child is stopped)."""
    pidfd = None
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:  # a kernel before 5.3, or a sandbox that refuses it: poll instead
            pidfd = None
    try:
        while True:
            ready, _, _ = select.select([sock] + ([pidfd] if pidfd is not None else []), [], [],
                                        None if pidfd is not None else 0.05)
            if sock in ready and not sock.recv(1, socket.MSG_PEEK):
                _stop_child(pid)
                return None
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _stop_child(pid: int, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; the child reaped."""
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.05)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _text_stream(fd: int) -> io.TextIOWrapper:
    # buffered: a short write to a full pipe is completed, never dropped
    return open(fd, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115 - line by line


def _run_child(message: dict, output: int, sock: socket.socket) -> None:
    code = 1
    try:
        sock.close()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        os.umask(message["umask"])  # the caller's, not the server's at its start
        os.chdir(message["cwd"])
        os.environ.clear()
        os.environ.update(message["env"])
        time.tzset()  # TZ as the caller's
        # the server's own stdout was /dev/null: new streams on the caller's pipe, in UTF-8
        sys.stdout = sys.__stdout__ = _text_stream(1)
        sys.stderr = sys.__stderr__ = _text_stream(2)
        sys.argv = ["dbt", *message["args"]]
        from dbt.cli.main import cli

        try:
            cli.main(args=list(message["args"]), prog_name="dbt")  # dbt's CLI; exits through SystemExit
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except KeyboardInterrupt:
            code = 130
        finally:
            atexit._run_exitfuncs()  # as at a process's exit (dbt-duckdb's, logging's)
    except BaseException:  # noqa: BLE001 - the set-up or dbt failed: say why on the caller's pipe
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: python -m dvk.dbt_forkserver FD  (started by dvk.transform, not by hand)", file=sys.stderr)
        return 2
    sock = socket.socket(fileno=int(argv[0]))
    try:
        return serve(sock)
    finally:
        sock.close()


if __name__ == "__main__":
    sys.exit(main())
