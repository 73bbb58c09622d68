"""What the last ingest knew of the inbox's files: each loaded file's sha256 by what ``lstat`` says of it.

The inbox keeps every file it ever loaded (skipped by its sha256 the next time), so a run that
read and hashed every file would cost what the inbox holds, not what arrived: at national scale
(137,000 files, 600 MB) about 7 s a night. The index lets a run skip reading a file the last run
read: same name, device, inode, size, modification time and change time (``st_ctime_ns``, which
no program can set back: any write, rename or ``chmod`` moves it), as ``git`` trusts its index.
A file found there is skipped as already loaded only if the warehouse knows its sha256 as loaded;
anything else (a file not in the index, a stat that differs, a sha256 the warehouse does not know
as loaded, a damaged or missing index) is read and hashed as before. So the index can only save a
read, never decide what is loaded.

It is a JSON file beside the warehouse (``<warehouse folder>/inbox-index.json``), for one inbox
folder, rewritten whole (atomically) at the end of each run with the files loaded or found loaded.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "inbox-index.json"
VERSION = 1

#: (device, inode, size, modification time ns, change time ns)
StatKey = tuple[int, int, int, int, int]


def stat_key(st: os.stat_result) -> StatKey:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def index_path(warehouse: Path) -> Path:
    return Path(warehouse).parent / FILE_NAME


def read_index(path: Path, inbox: Path) -> dict[str, tuple[StatKey, str]]:
    """File name → (stat key, sha256) as the last run of this inbox left them; {} when there is no
    usable index (none, another inbox, another version, damaged)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != VERSION or data.get("inbox") != str(Path(inbox).resolve()):
            return {}
        return {name: (tuple(entry[:5]), entry[5]) for name, entry in data["files"].items()
                if isinstance(entry, list) and len(entry) == 6}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def unknown(files: list[tuple[Path, os.stat_result]], index: dict[str, tuple[StatKey, str]]) -> list[Path]:
    """The listed files the index does not know unchanged: what the next ingest reads and hashes
    (new, changed, or never read). Named as the ingest names them in the index (``display_name``)."""
    from dvk.ingest.inbox import display_name

    return [path for path, st in files if index.get(display_name(path), (None, ""))[0] != stat_key(st)]


def write_index(path: Path, inbox: Path, files: dict[str, tuple[StatKey, str]]) -> None:
    """Replace the index (a new file renamed into place); a failure only costs the next run reads."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"version": VERSION, "inbox": str(Path(inbox).resolve()),
                   "files": {name: [*key, sha] for name, (key, sha) in sorted(files.items())}}
        tmp.write_text(json.dumps(payload, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("Could not write the inbox index %s (the next run reads every file): %s", path, exc)
        tmp.unlink(missing_ok=True)
