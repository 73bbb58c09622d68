"""Locks between processes on this machine: one pipeline run at a time, one metadata set-up at a time.

``run_lock(paths)`` takes an exclusive ``fcntl`` lock on each file without waiting; when another
process holds one it raises :class:`RunLocked`, whose message says since when, which process (pid,
command) and what to do. ``wait_lock(path)`` waits for its turn instead (the Airflow metadata
set-up: the second process migrates an up-to-date database, a no-op).

The kernel releases an ``fcntl`` lock when its process ends, however it ends (``kill -9``
included), so a lock is never left behind by a crash; the holder's details written into the file
are only informative.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking (the scheduler runs one at a time)
    fcntl = None  # type: ignore[assignment]


class RunLocked(RuntimeError):
    """Another process holds the lock ``path``; ``holder``: what it wrote there (pid, since, command)."""

    def __init__(self, path: Path, holder: dict, what: str):
        self.path = path
        self.holder = holder
        pid = holder.get("pid", "?")
        since = holder.get("since", "?")
        command = holder.get("command") or "?"
        host = holder.get("host")
        where = f" trên máy / on host {host}" if host and host != socket.gethostname() else ""
        super().__init__(
            f"Một lần chạy khác đang diễn ra từ {since} (pid {pid}{where}): {command}\n"
            f"Another {what} is in progress since {since} (pid {pid}{where}): {command}\n"
            f"Khoá / lock: {path}\n"
            f"Hãy đợi lần chạy đó kết thúc rồi chạy lại; nếu nó bị treo, dừng nó (kill {pid}): khoá tự "
            f"mở khi tiến trình kết thúc, không cần xoá tệp khoá.\n"
            f"Wait for it to finish, then run again; if it hangs, stop it (kill {pid}): the lock is "
            f"released when that process ends, there is no lock file to delete."
        )


def _holder_info() -> dict:
    return {
        "pid": os.getpid(),
        "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "host": socket.gethostname(),
        "command": " ".join([Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]]),
    }


def _read_holder(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, 65536).decode("utf-8", "replace")
        return json.loads(data) if data.strip() else {}
    except (OSError, ValueError):
        return {}


def _open(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)


def _write_holder(fd: int) -> None:
    data = json.dumps(_holder_info(), ensure_ascii=False).encode("utf-8")
    os.ftruncate(fd, 0)
    os.pwrite(fd, data + b"\n", 0)


@contextlib.contextmanager
def run_lock(paths: Sequence[Path | str], what: str = "pipeline run") -> Iterator[None]:
    """Hold an exclusive lock on every one of ``paths`` (taken in order, none waited for), or
    raise :class:`RunLocked` naming the process that holds one (and hold none)."""
    fds: list[int] = []
    try:
        for raw in paths:
            path = Path(raw)
            fd = _open(path)
            fds.append(fd)
            if fcntl is None:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunLocked(path, _read_holder(fd), what) from None
            _write_holder(fd)
        yield
    finally:
        for fd in reversed(fds):
            os.close(fd)  # closing the descriptor releases its lock


@contextlib.contextmanager
def wait_lock(path: Path | str) -> Iterator[None]:
    """Hold an exclusive lock on ``path``, waiting for any other holder to finish."""
    fd = _open(Path(path))
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            _write_holder(fd)
        yield
    finally:
        os.close(fd)


__all__ = ["RunLocked", "run_lock", "wait_lock"]
