"""File modes: who may read what the pipeline writes (docs/operations.md, "File modes and who may read what").

Every entry point that writes (the pipeline steps the DAG tasks call, ``./scripts/run``,
``./scripts/dvk``, ``./scripts/airflow``) calls :func:`apply_umask` once, first: with the default
``DVK_UMASK=027`` every file it creates is 0640 and every folder 0750 (owner reads and writes, the
service's group reads, nobody else). The helpers below cover the few places where a file does not
get its mode from the umask: a temporary file (``mkstemp``: 0600), a temporary folder
(``mkdtemp``: 0700), and the
published copy for analysts, which is made read-only on disk (:func:`make_read_only`).
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from pathlib import Path

from dvk.settings import Settings, get_settings

_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def apply_umask(settings: Settings | None = None) -> int:
    """Set this process's umask from ``DVK_UMASK``; return the previous one."""
    settings = settings or get_settings()
    return os.umask(settings.umask)


def current_umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux's
    ``/proc/self/status``); elsewhere set and put back at once (another thread creating a file in
    between would get mask 0)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a new file gets under the current umask (0640 with 027)."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """The mode a new folder gets under the current umask (0750 with 027)."""
    return 0o777 & ~current_umask()


def as_created(path: Path | str) -> None:
    """Give a file or folder made by ``mkstemp`` / ``mkdtemp`` (0600 / 0700) the mode any other
    file or folder gets under the umask, so the service's group can read it like the rest."""
    path = Path(path)
    path.chmod(dir_mode() if path.is_dir() and not path.is_symlink() else file_mode())


def write_text_atomic(path: Path | str, text: str, *, durable: bool = False, read_only: bool = False) -> None:
    """Write ``text`` (UTF-8) to ``path`` in one step for its readers: into a new file beside it,
    then renamed over it, so a reader sees the old file or the new one, never half of one. The file
    gets the umask's mode (read-only with ``read_only``: :func:`make_read_only`); ``durable``: on
    disk before the rename. A failed write leaves no temporary file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        if read_only:
            make_read_only(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def make_read_only(path: Path | str) -> None:
    """Remove the write bits of ``path`` and, for a folder, of everything under it (0640 -> 0440,
    0750 -> 0550; a setgid bit stays). The folder holding it must stay writable: the next
    publication replaces the file by a rename and removes old folders with :func:`remove_tree`."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        for child in path.iterdir():
            make_read_only(child)
    if not path.is_symlink():
        path.chmod(stat.S_IMODE(path.stat().st_mode) & ~_WRITE_BITS)


def remove_tree(path: Path | str) -> None:
    """``shutil.rmtree`` that also removes read-only folders (:func:`make_read_only`); missing is fine."""
    path = Path(path)
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
        return
    if not path.exists():
        return
    for folder, dirs, _files in os.walk(path):
        for name in dirs:
            sub = Path(folder) / name
            if not sub.is_symlink():
                sub.chmod(stat.S_IMODE(sub.stat().st_mode) | stat.S_IRWXU)
    path.chmod(stat.S_IMODE(path.stat().st_mode) | stat.S_IRWXU)
    shutil.rmtree(path, ignore_errors=True)


__all__ = ["apply_umask", "as_created", "current_umask", "dir_mode", "file_mode",
           "make_read_only", "remove_tree"]
