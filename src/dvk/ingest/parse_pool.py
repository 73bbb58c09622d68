"""Parse submission files in worker processes, a bounded window ahead of the run that loads them.

The ingest reads and hashes each file and decides what to do with it in one process, in the
inbox's order (:mod:`dvk.ingest.inbox`); only the parse, most of a file's cost, goes to the
workers. :class:`ParsePool` takes files with :meth:`~ParsePool.add` (in chunks, so that the
per-task cost of a process pool is paid once for several files) and hands each outcome back with
:meth:`~ParsePool.result`, in any order the caller asks; whatever the parse raises is raised there.

The workers are forked when the pool is opened: before the run opens the warehouse, so no
database thread or lock is copied into them. They inherit the run's parse function (its settings
and reference data), ignore SIGINT (the run stops them), take SIGTERM's default, end when the run's
process dies (Linux: a parent-death signal), and send back what they log (a parser crash) instead
of writing to the run's log handlers themselves; the run logs it.

With ``workers <= 1`` nothing is forked and :meth:`~ParsePool.result` parses in the calling
process, exactly as the run did before. A process that may not have children (a daemonic one: a
Celery prefork worker's task) gets no workers, and neither does a run whose workers cannot be
started (the fork refused): it parses in its own process, with a warning. If a worker dies
(killed, out of memory), every file not yet parsed is parsed in the calling process and a warning
says so.
"""

from __future__ import annotations

import gc
import logging
import math
import multiprocessing
import os
import signal
from collections.abc import Callable, Hashable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Files sent to a worker in one task (fewer, larger tasks: less of the pool's cost per file;
#: measured at province scale: 3.6 s with 4 files a task, 3.35 s with 8, 3.2 to 3.3 s with 32).
CHUNK_FILES = 32
#: Below this many files to read, the run parses in its own process (forking costs more).
MIN_FILES = 200
#: Workers by default at most: the run's own share (reading, hashing, committing: about a quarter
#: of the work) keeps more than about three busy.
MAX_DEFAULT_WORKERS = 4
#: Chunks each worker may have waiting: how far ahead of the run's commits the parse may go.
CHUNKS_AHEAD = 4

ParseFunction = Callable[..., Any]
Convert = Callable[[Any], Any]

_parse: ParseFunction | None = None  # the run's parse function, in a worker
_pack: Convert | None = None  # what a worker does to an outcome before sending it back


def usable_cpus() -> int:
    """CPUs this process may use: its affinity, and a container's CPU quota (cgroup v2
    ``cpu.max``) when it sets fewer; at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text(encoding="ascii").split()[:2]
        if quota != "max":
            cpus = min(cpus, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def workers_for(files: int, setting: int | None) -> int:
    """How many parse workers a run of ``files`` files uses: ``setting`` (``DVK_INGEST_WORKERS``;
    None: the usable CPUs, at most :data:`MAX_DEFAULT_WORKERS`), or none (0) below
    :data:`MIN_FILES` files, with a single CPU, or in a daemonic process (which may not have
    children: a task of Celery's prefork pool)."""
    if multiprocessing.current_process().daemon:
        return 0
    wanted = min(usable_cpus(), MAX_DEFAULT_WORKERS) if setting is None else setting
    return wanted if wanted > 1 and files >= MIN_FILES else 0


def _end_with_parent() -> None:
    """Linux: this process gets SIGTERM when the process that forked it dies (a run killed with
    SIGKILL leaves no worker behind). Elsewhere nothing (the run's queue closing ends them)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _Collect(logging.Handler):
    """A worker's log records, kept to be sent back with the chunk's outcomes."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, self.format(record)))


_collect: _Collect | None = None


def _start_worker(parse: ParseFunction, pack: Convert | None) -> None:
    global _parse, _pack, _collect
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the run stops its workers itself
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _end_with_parent()
    _parse, _pack = parse, pack
    gc.freeze()  # what the worker inherited is never collected here: fewer objects for each collection
    _collect = _Collect()
    root = logging.getLogger()
    for handler in list(root.handlers):  # never write into the run's handlers (an Airflow task's socket)
        root.removeHandler(handler)
    root.addHandler(_collect)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)


def _ready() -> int:
    return os.getpid()


def _attempt(parse: ParseFunction, args: tuple[Any, ...], pack: Convert | None = None) -> tuple[bool, Any]:
    """(True, the outcome, packed if asked) or (False, the exception ``parse(*args)`` raised: raised
    again in the run, for the file that raised it)."""
    try:
        outcome = parse(*args)
    except Exception as exc:
        return False, exc
    return True, pack(outcome) if pack is not None else outcome


def _parse_chunk(items: list[tuple[Any, ...]]) -> tuple[list[tuple[bool, Any]], list[tuple[str, int, str]]]:
    """Each item's :func:`_attempt`, in a worker; and what was logged."""
    assert _parse is not None and _collect is not None
    _collect.records.clear()
    return [_attempt(_parse, args, _pack) for args in items], list(_collect.records)


@dataclass
class _Chunk:
    keys: list[Hashable] = field(default_factory=list)
    items: list[tuple[Any, ...]] = field(default_factory=list)
    future: Future | None = None
    done: dict[Hashable, tuple[bool, Any]] | None = None


class ParsePool:
    """Parse files with ``parse(*args)`` in ``workers`` forked processes (none: in this process).

    Use as a context manager, opened before anything whose threads or locks must not be forked.
    ``pack`` (in a worker) and ``unpack`` (here) turn an outcome into something quicker to send
    between processes, and back."""

    def __init__(self, parse: ParseFunction, workers: int = 0, chunk_files: int | None = None, *,
                 pack: Convert | None = None, unpack: Convert | None = None):
        self.parse = parse
        self.pack, self.unpack = pack, unpack
        self.workers = workers if workers > 1 else 0
        self.chunk_files = max(1, chunk_files or CHUNK_FILES)
        self._executor: ProcessPoolExecutor | None = None
        self._open: _Chunk = _Chunk()
        self._chunk_of: dict[Hashable, _Chunk] = {}
        self._serial: dict[Hashable, tuple[Any, ...]] = {}

    def __enter__(self) -> ParsePool:
        if self.workers:
            try:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("fork"),
                    initializer=_start_worker, initargs=(self.parse, self.pack))
                self._executor.submit(_ready).result()  # forks every worker now
            except (OSError, AssertionError, BrokenProcessPool) as exc:  # a refused fork, a daemonic process
                log.warning("The parse workers could not start (%s: %s); the files are parsed in the run's "
                            "own process", type(exc).__name__, exc)
                if self._executor is not None:
                    self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor, self.workers = None, 0
        return self

    def __exit__(self, *exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    @property
    def window(self) -> int:
        """How many files the run may have added and not yet taken back: 0 without workers (each
        file parsed when its result is asked for, as the run always did)."""
        return self.workers * self.chunk_files * CHUNKS_AHEAD

    def add(self, key: Hashable, *args: Any) -> None:
        """Parse ``parse(*args)`` for ``key`` (a key not waiting already)."""
        if self._executor is None:
            self._serial[key] = args
            return
        self._open.keys.append(key)
        self._open.items.append(args)
        self._chunk_of[key] = self._open
        if len(self._open.items) >= self.chunk_files:
            self._send()

    def flush(self) -> None:
        """Send the files added since the last full chunk (the run has no more to add)."""
        self._send()

    def _send(self) -> None:
        chunk, self._open = self._open, _Chunk()
        if not chunk.items or self._executor is None:
            return  # without workers, :meth:`_wait` parses it here
        try:
            chunk.future = self._executor.submit(_parse_chunk, chunk.items)
        except BrokenProcessPool:
            self._broken()

    def result(self, key: Hashable) -> Any:
        """The outcome of ``key``'s parse (raises what the parse raised)."""
        if key in self._serial:
            return self.parse(*self._serial.pop(key))
        chunk = self._chunk_of.pop(key)
        if chunk is self._open:
            self._send()
        if chunk.done is None:
            chunk.done = self._wait(chunk)
        ok, value = chunk.done.pop(key)
        if not ok:
            raise value
        return value

    def _wait(self, chunk: _Chunk) -> dict[Hashable, tuple[bool, Any]]:
        if chunk.future is not None:
            try:
                outcomes, records = chunk.future.result()
            except (BrokenProcessPool, CancelledError):
                self._broken()
            except Exception as exc:  # the chunk's outcome could not come back (pickling): parse it here
                log.warning("A parse worker could not send back its files (%s: %s); parsing them in the "
                            "run's own process", type(exc).__name__, exc)
            else:
                for name, level, text in records:
                    logging.getLogger(name).log(level, "%s", text)
                if self.unpack is not None:
                    outcomes = [(ok, self.unpack(value) if ok else value) for ok, value in outcomes]
                return dict(zip(chunk.keys, outcomes, strict=True))
        # the pool is gone: parsed here
        return {key: _attempt(self.parse, args) for key, args in zip(chunk.keys, chunk.items, strict=True)}

    def _broken(self) -> None:
        """A worker died: the rest is parsed in this process."""
        if self._executor is None:
            return
        log.warning("A parse worker stopped unexpectedly; the remaining files are parsed in the run's "
                    "own process")
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None
