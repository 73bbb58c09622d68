"""Parse submission files in worker processes, a bounded window ahead of the run that loads them.

The ingest reads and hashes each file and decides what to do with it in one process, in the
inbox's order (:mod:`dvk.ingest.inbox`); only the parse, most of a file's cost, goes to the
workers. :class:`ParsePool` takes files with :meth:`~ParsePool.add` (in chunks, so that the
per-task cost of a process pool is paid once for several files) and hands each outcome back with
:meth:`~ParsePool.result`, in any order the caller asks; whatever the parse raises is raised there.

The workers are forked when the pool is opened: before the run opens the warehouse, so no
database thread or lock is copied into them. They inherit the run's parse function (its settings
and reference data), reset SIGINT and SIGTERM, and send back what they log (a parser crash)
instead of writing to the run's log handlers themselves; the run logs it.

With ``workers <= 1`` nothing is forked and :meth:`~ParsePool.result` parses in the calling
process, exactly as the run did before. If a worker dies (killed, out of memory), the files not
yet parsed are parsed in the calling process and a warning says so.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Hashable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: Files sent to a worker in one task (fewer, larger tasks: less of the pool's cost per file;
#: measured at province scale, 8 → 32 files a task took the ingest from about 3.35 s to 3.3 s).
CHUNK_FILES = 32
#: Below this many files to read, the run parses in its own process (forking costs more).
MIN_FILES = 200
#: Chunks each worker may have waiting: how far ahead of the run's commits the parse may go.
CHUNKS_AHEAD = 4

ParseFunction = Callable[..., Any]
Convert = Callable[[Any], Any]

_parse: ParseFunction | None = None  # the run's parse function, in a worker
_pack: Convert | None = None  # what a worker does to an outcome before sending it back


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def workers_for(files: int, setting: int | None) -> int:
    """How many parse workers a run of ``files`` files uses: ``setting`` (``DVK_INGEST_WORKERS``;
    None: the usable CPUs), or none (0) below :data:`MIN_FILES` files or with a single CPU."""
    wanted = usable_cpus() if setting is None else setting
    return wanted if wanted > 1 and files >= MIN_FILES else 0


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


def _parse_chunk(items: list[tuple[Any, ...]]) -> tuple[list[tuple[bool, Any]], list[tuple[str, int, str]]]:
    """Each item's (True, outcome) or (False, the exception it raised); and what was logged."""
    assert _parse is not None and _collect is not None
    _collect.records.clear()
    out: list[tuple[bool, Any]] = []
    for args in items:
        try:
            outcome = _parse(*args)
            out.append((True, _pack(outcome) if _pack is not None else outcome))
        except Exception as exc:  # raised again in the run, for the file that raised it
            out.append((False, exc))
    return out, list(_collect.records)


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
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker, initargs=(self.parse, self.pack))
            self._executor.submit(_ready).result()  # forks every worker now
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
        done: dict[Hashable, tuple[bool, Any]] = {}  # the pool is gone: parsed here
        for key, args in zip(chunk.keys, chunk.items, strict=True):
            try:
                done[key] = (True, self.parse(*args))
            except Exception as exc:
                done[key] = (False, exc)
        return done

    def _broken(self) -> None:
        """A worker died: the rest is parsed in this process."""
        if self._executor is None:
            return
        log.warning("A parse worker stopped unexpectedly; the remaining files are parsed in the run's "
                    "own process")
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None
