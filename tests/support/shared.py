"""Build an expensive state once per test run and share it between the tests, and between the
pytest-xdist workers (each worker is its own pytest session).

The first worker that needs the state builds it, under an exclusive lock on a file in the run's
shared temp folder (``basetemp`` of the controller; each worker's own is a sub-folder of it), and
writes a ``.done`` marker; the others wait on the lock, then reuse the folder. A build that fails
leaves a ``.failed`` marker with its error, so that the other workers fail at once instead of
building it again. Without xdist the same code builds it once per session.

The state is read-only for the tests: a test that changes something works on its own copy
(``shutil.copytree``).
"""

from __future__ import annotations

import contextlib
import fcntl
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def run_temp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temp folder shared by every worker of this run (the session's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    # pytest-xdist gives worker gwN the folder <run basetemp>/popen-gwN
    return base.parent if base.name.startswith("popen-gw") else base


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``<run temp>/<name>``, filled by ``build(folder)`` once for the whole run."""
    root = run_temp_root(tmp_path_factory)
    folder = root / name
    done, failed = root / f"{name}.done", root / f"{name}.failed"
    with _locked(root / f"{name}.lock"):
        if failed.exists():
            pytest.fail(f"building the shared state {name!r} failed in another worker:\n{failed.read_text()}")
        if not done.exists():
            folder.mkdir()
            try:
                build(folder)
            except BaseException:
                failed.write_text(traceback.format_exc())
                raise
            done.touch()
    return folder
