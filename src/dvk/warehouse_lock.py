"""One policy for opening the warehouse while another process may hold it.

DuckDB's file lock is exclusive: while one process writes the warehouse, a read-only open from
another process fails with ``IOException: Could not set lock``, and while a reader holds it a
writer cannot open it. Under Airflow the ``dvk_warehouse`` pool (``dvk.pools``) keeps the DAGs'
own tasks apart; everything else that reads (the gate and report outside Airflow, publishing,
the operators' ``status`` and ``sql`` commands) goes through :func:`wait_for_lock`: retry with
growing pauses (0.5 s, doubling, at most 5 s) until the lock is free or the wait is over, then
fail with a message that says what held it up.

    con = wait_for_lock(lambda: duckdb.connect(path, read_only=True), what=f"warehouse {path}")
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import duckdb

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 5.0


class WarehouseBusy(RuntimeError):
    """The warehouse stayed locked by another process for longer than the wait allowed."""


def is_lock_error(exc: BaseException) -> bool:
    """True for DuckDB's "Could not set lock on file" (another process holds the file)."""
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def wait_for_lock(
    open_: Callable[[], T],
    *,
    what: str,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call ``open_()`` until it does not fail on DuckDB's file lock; return what it returns.

    ``timeout``: seconds to keep trying (default: the ``DVK_LOCK_WAIT_SECONDS`` setting; 0 tries
    once). Any error other than the lock is raised at once. After the wait, raises
    :class:`WarehouseBusy` (chained to DuckDB's error).
    """
    if timeout is None:
        from dvk.settings import get_settings

        timeout = get_settings().lock_wait_seconds
    deadline = clock() + max(0.0, timeout)
    delay = FIRST_DELAY_SECONDS
    attempts = 0
    while True:
        attempts += 1
        try:
            return open_()
        except duckdb.Error as exc:
            if not is_lock_error(exc):
                raise
            now = clock()
            if now >= deadline:
                raise WarehouseBusy(
                    f"{what} vẫn bị một tiến trình khác khoá sau {timeout:.0f} giây ({attempts} lần thử) "
                    f"/ {what} stayed locked by another process for {timeout:.0f} s ({attempts} attempts): {exc}"
                ) from exc
            pause = min(delay, max(0.0, deadline - now))
            log.info("%s is locked by another process; retrying in %.1f s", what, pause)
            sleep(pause)
            delay = min(delay * 2, MAX_DELAY_SECONDS)
