"""The run command's output: a few lines on the terminal, everything in a log file.

``RunLog`` redirects this process's file descriptors 1 and 2 (Airflow's task logs, dbt's node
lines, Great Expectations, Python warnings, child processes) into a pipe; a thread copies the pipe
to ``<DVK_LOG_DIR>/run-<UTC timestamp>-<pid>.log`` (default ``.local/logs``) and, with
``verbose``, to the terminal too. What the run command itself wants the user to read goes through
:meth:`RunLog.say` (terminal and log). When a run starts, the oldest run logs beyond
``DVK_KEEP_RUN_LOGS`` (default 20) are removed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from dvk.settings import get_settings

_SYNC = b"\x00dvk-runlog-sync\x00"


def prune_run_logs(folder: Path, keep: int, current: Path | None = None) -> list[Path]:
    """Remove the oldest ``run-*.log`` files of ``folder`` beyond the newest ``keep`` (0: none
    removed); ``current`` is never removed. Returns what was removed."""
    if keep <= 0:
        return []
    logs = sorted(folder.glob("run-*.log"), key=lambda p: p.name, reverse=True)  # names start with UTC time
    removed = []
    for old in logs[keep:]:
        if current is not None and old == current:
            continue
        old.unlink(missing_ok=True)
        removed.append(old)
    return removed


class _SayWriter:
    """A text stream for ``print`` that goes to the terminal and the log (``RunLog.to_terminal``)."""

    def __init__(self, runlog: RunLog):
        self._runlog = runlog

    def write(self, text: str) -> int:
        self._runlog._emit(text.encode("utf-8"))
        return len(text)

    def flush(self) -> None:
        pass


class RunLog:
    def __init__(self, verbose: bool = False, log_dir: Path | None = None, keep: int | None = None):
        """``log_dir``: default ``settings.log_dir``; ``keep``: how many run logs stay (default
        ``settings.keep_run_logs``; 0 keeps all)."""
        self.verbose = verbose
        settings = get_settings() if log_dir is None or keep is None else None
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.path = Path(log_dir or settings.log_dir) / f"run-{stamp}-{os.getpid()}.log"
        self.keep = settings.keep_run_logs if keep is None else keep
        self.started = time.time()
        self.stage_started = self.started
        self._lock = threading.Lock()
        self._synced = threading.Event()
        self._recording: list[bytes] | None = None

    # -- set-up -------------------------------------------------------------------------------
    def __enter__(self) -> RunLog:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.path, "ab")  # noqa: SIM115 - closed in __exit__
        prune_run_logs(self.path.parent, self.keep, current=self.path)
        self._flush_std()
        self._terminal = os.dup(1)
        self._terminal_err = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 1)
        os.dup2(write_end, 2)
        os.close(write_end)
        self._read_end = read_end
        self._thread = threading.Thread(target=self._pump, name="dvk-runlog", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.sync()
        os.dup2(self._terminal, 1)  # closes the pipe's last write ends: the pump sees its end
        os.dup2(self._terminal_err, 2)
        self._thread.join(timeout=5)
        os.close(self._terminal)
        os.close(self._terminal_err)
        with self._lock:
            self._log.close()

    @staticmethod
    def _flush_std() -> None:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()

    def _pump(self) -> None:
        while True:
            try:
                chunk = os.read(self._read_end, 65536)
            except OSError:
                break
            if not chunk:
                break
            synced = _SYNC in chunk
            if synced:
                chunk = chunk.replace(_SYNC, b"")
            with self._lock:
                self._log.write(chunk)
                self._log.flush()
                if self._recording is not None:
                    self._recording.append(chunk)
                if self.verbose and chunk:
                    self._write_terminal(chunk)
            if synced:
                self._synced.set()
        os.close(self._read_end)

    def _write_terminal(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._terminal, view)
            view = view[written:]

    def sync(self) -> None:
        """Wait until everything written so far to stdout and stderr is in the log."""
        self._flush_std()
        self._synced.clear()
        os.write(1, _SYNC)
        self._synced.wait(timeout=10)

    # -- output -------------------------------------------------------------------------------
    def _emit(self, data: bytes) -> None:
        with self._lock:
            self._write_terminal(data)
            self._log.write(data)
            self._log.flush()

    def say(self, line: str = "") -> None:
        """One line for the user: on the terminal and in the log."""
        self.sync()
        self._emit((line + "\n").encode("utf-8"))

    @contextlib.contextmanager
    def to_terminal(self):
        """``print`` inside goes to the terminal (and the log) instead of the log only."""
        self.sync()
        with contextlib.redirect_stdout(_SayWriter(self)):
            yield

    def log_exception(self) -> None:
        with self._lock:
            self._log.write(traceback.format_exc().encode("utf-8"))
            self._log.flush()

    @contextlib.contextmanager
    def stage(self, name: str):
        """Record what the stage prints; yields a function returning that text (after the stage)."""
        self.sync()
        with self._lock:
            self._log.write(f"\n===== {name} =====\n".encode())
            self._recording = []
        self.stage_started = time.time()
        captured: list[bytes] = []
        try:
            yield lambda: b"".join(captured).decode("utf-8", errors="replace")
        finally:
            self.sync()
            with self._lock:
                captured.extend(self._recording or [])
                self._recording = None
