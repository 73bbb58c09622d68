"""Ingest the inbox: every new file parsed, then loaded whole (never in part), or quarantined.

One run (:func:`ingest_inbox`):

1. lists the inbox (:func:`list_inbox`): every entry except those starting with ``_`` or ``.``
   (``_manifest.csv`` says when each file arrived: ``file_name,received_at`` in ISO 8601; a file it
   does not list arrived at its modification time, UTC). Temporary names (``.part``, ``.tmp``,
   ``.crdownload``, ``~$``) are ignored; symlinks, folders, FIFOs and devices are refused (never
   followed or opened); a file modified within the settle time (``inbox_settle_seconds``) waits
   for the next run, unless the manifest lists it. All of these stay in the inbox untouched;
2. opens the warehouse once, creates ``raw.*`` if needed, marks the runs that never finished
   (killed) ``interrupted`` and writes one ``raw.loads`` row;
3. for each file: its sha256 is its ``submission_id``; a file already loaded or already
   quarantined is skipped. Anything but ``.xlsx`` / ``.csv`` is quarantined as "not a submission
   file"; the others are checked, parsed, and either loaded whole or, with every problem found,
   moved to ``<quarantine dir>/<date>_<load id>/`` beside a ``<file name>.problems.txt`` report
   and listed in ``raw.quarantine(_problems)``. A parser crash is a problem (``unreadable``),
   never the end of the run;
4. closes the warehouse (dbt opens it next; DuckDB allows one writer).

**Atomicity.** A file's rows (submission, model lines, declared totals) are always written in one
transaction, never split. To keep the warehouse's per-commit cost off each file, parsed files are
committed in groups (``batch_files``, default :data:`BATCH_FILES`; ``batch_files=1`` is one
transaction a file): a group is all or nothing, and a group that fails is retried one file per
transaction, so one bad file cannot keep the others out. If the process is killed, nothing of the
uncommitted group is in the warehouse and the next run loads those files again (their sha256 is
not yet known); no file is ever half-loaded or loaded twice.

A file that changes while it is read (size, modification time, inode) is left for the next run,
neither loaded nor quarantined. A quarantined file is first copied aside (under a temporary name,
mode 0640, synced, its sha256 checked, then renamed) with its report, then recorded in its own
transaction, then removed from the inbox if it still holds the same bytes. If the run dies between the
record and the removal, the next run finds the file recorded and its copy in place, and finishes
the move.

A file whose load fails in the warehouse itself (disk full, a lock) is rolled back, left in the
inbox for the next run, and reported in ``IngestResult.failed``; the run goes on with the other
files and then raises :class:`IngestError`, so that the task fails visibly and is retried.
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import functools
import hashlib
import logging
import os
import re
import stat
import time
import traceback
import unicodedata
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dvk import warehouse as dvk_warehouse
from dvk.ingest import inbox_index, parse_pool, warehouse
from dvk.ingest.form import ParsedSubmission
from dvk.ingest.guard import check_content, check_size
from dvk.ingest.parse import SUBMISSION_SUFFIXES, parse_file
from dvk.ingest.problems import Problem, SubmissionError
from dvk.periods import local_today
from dvk.reference import FieldDirectory, UnitDirectory
from dvk.settings import Settings, get_settings
from dvk.warehouse import sha256_file

log = logging.getLogger(__name__)

MANIFEST = "_manifest.csv"
SKIP_ALREADY_LOADED = "already_loaded"
SKIP_ALREADY_QUARANTINED = "already_quarantined"
#: Parsed files committed together (group commit); each file is still whole or absent.
BATCH_FILES = 250
#: ... or fewer, so that one transaction stays small.
BATCH_ROWS = 25_000


@dataclass
class IngestResult:
    """What one run did, file by file (``as_dict()`` is JSON-serialisable, for a DAG task's XCom)."""

    load_id: str
    inbox_dir: str
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    loaded: list[str] = field(default_factory=list)
    #: file name → why it was skipped: ``already_loaded`` / ``already_quarantined`` (same sha256).
    skipped: dict[str, str] = field(default_factory=dict)
    #: file name → every problem that kept it out.
    quarantined: dict[str, list[Problem]] = field(default_factory=dict)
    #: file name → the warehouse error that rolled its load back (the file stays in the inbox).
    failed: dict[str, str] = field(default_factory=dict)
    #: file name → rows read as not being models (headings, notes, signatures), for the log.
    notes: dict[str, list[str]] = field(default_factory=dict)
    #: file name → why it was left in the inbox for the next run, untouched: ``upload_in_progress``
    #: (modified within the settle time) or ``changed_while_read`` (size, time or bytes changed).
    waiting: dict[str, str] = field(default_factory=dict)
    #: file name → why it was ignored: a temporary name (``.part``, ``.tmp``, ``.crdownload``, ``~$``).
    ignored: dict[str, str] = field(default_factory=dict)
    #: name → why it was refused (never read, never moved): a symlink, a folder, a FIFO, a device.
    refused: dict[str, str] = field(default_factory=dict)
    #: file name → warnings of a loaded file (a column with data the form does not know), also in
    #: ``raw.submission_warnings``.
    warnings: dict[str, list[Problem]] = field(default_factory=dict)
    #: load ids of earlier runs found unfinished (killed) and marked ``interrupted`` by this run.
    interrupted_loads: list[str] = field(default_factory=list)

    @property
    def files_seen(self) -> int:
        return len(self.loaded) + len(self.skipped) + len(self.quarantined) + len(self.failed)

    def as_dict(self) -> dict:
        return {
            "load_id": self.load_id,
            "inbox_dir": self.inbox_dir,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "files_seen": self.files_seen,
            "files_loaded": len(self.loaded),
            "files_skipped": len(self.skipped),
            "files_quarantined": len(self.quarantined),
            "files_failed": len(self.failed),
            "loaded": list(self.loaded),
            "skipped": dict(self.skipped),
            "quarantined": {name: [p.as_dict() for p in problems] for name, problems in self.quarantined.items()},
            "failed": dict(self.failed),
            "notes": {name: list(notes) for name, notes in self.notes.items()},
            "files_waiting": len(self.waiting),
            "files_ignored": len(self.ignored),
            "files_refused": len(self.refused),
            "waiting": dict(self.waiting),
            "ignored": dict(self.ignored),
            "refused": dict(self.refused),
            "warnings": {name: [p.as_dict() for p in problems] for name, problems in self.warnings.items()},
            "interrupted_loads": list(self.interrupted_loads),
        }


class IngestError(RuntimeError):
    """Some files could not be written to the warehouse; they were rolled back and stay in the inbox."""

    def __init__(self, result: IngestResult):
        self.result = result
        names = ", ".join(f"{name} ({error})" for name, error in result.failed.items())
        super().__init__(f"{len(result.failed)} file(s) not loaded, left in the inbox for the next run: {names}")


# ------------------------------------------------------------------------------------- the inbox


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def _nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip()


def parse_timestamp(text: str) -> dt.datetime:
    """ISO 8601 → naive UTC ("2021-12-16T08:30:00Z", "...+07:00"; without an offset: UTC)."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def read_manifest(inbox: Path) -> dict[str, dt.datetime]:
    """``_manifest.csv`` (file_name, received_at): when each file arrived, if the uploader records it."""
    path = inbox / MANIFEST
    if not path.is_file():
        return {}
    out: dict[str, dt.datetime] = {}
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                out[_nfc(row["file_name"])] = parse_timestamp(row["received_at"])
            except (KeyError, ValueError, TypeError, AttributeError):
                log.warning("Ignoring a bad line of %s: %s", path, row)
    return out


#: Names an uploader gives a file while writing it: never read, reported as ignored.
TEMPORARY_SUFFIXES = (".part", ".tmp", ".crdownload")
TEMPORARY_PREFIXES = ("~$",)
WAIT_UPLOAD = "upload_in_progress"
WAIT_CHANGED = "changed_while_read"


def temporary_name(name: str) -> bool:
    """A name an upload or an editor uses while writing (``x.xlsx.part``, ``~$x.xlsx``)."""
    return name.lower().endswith(TEMPORARY_SUFFIXES) or name.startswith(TEMPORARY_PREFIXES)


@dataclass
class InboxListing:
    """The inbox as one run sees it: the files to read now and what is left, with why."""

    files: list[tuple[Path, os.stat_result]] = field(default_factory=list)  # regular, complete
    waiting: dict[str, str] = field(default_factory=dict)
    #: the files of ``waiting`` modified within the settle time (``upload_in_progress``)
    settling: list[Path] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


_KINDS = {  # what an inbox entry is: (Vietnamese, English)
    "link": ("liên kết tượng trưng (symlink)", "a symbolic link"), "dir": ("thư mục", "a folder"),
    "fifo": ("ống dẫn (FIFO)", "a FIFO (named pipe)"), "sock": ("socket", "a socket"),
    "dev": ("thiết bị", "a device"), "other": ("không phải tệp thường", "not a regular file"),
}


def _refusal(st: os.stat_result | None = None, kind: str | None = None) -> str:
    """Why an inbox entry is refused, in Vietnamese and English."""
    if kind is None:
        mode = st.st_mode
        kind = ("link" if stat.S_ISLNK(mode) else "dir" if stat.S_ISDIR(mode) else "fifo" if stat.S_ISFIFO(mode)
                else "sock" if stat.S_ISSOCK(mode) else "dev" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "other")
    vi, en = _KINDS[kind]
    return (f"từ chối: đây là {vi}, không phải tệp thường trong hộp thư (không đọc, không di chuyển) / "
            f"refused: {en}, not a regular file of the inbox (never followed, read or moved)")


def list_inbox(inbox: Path, *, settle_seconds: float = 0, manifest: dict[str, dt.datetime] | None = None,
               now: float | None = None) -> InboxListing:
    """Sort the inbox's entries (except ``.*`` and ``_*``): regular files complete enough to read,
    files still being written (waiting), temporary names (ignored), anything else (refused).

    Nothing is followed or opened here (``lstat`` only). A file modified less than ``settle_seconds``
    ago waits for the next run, unless ``_manifest.csv`` lists it: the uploader lists a file once it
    is complete."""
    listing = InboxListing()
    now = time.time() if now is None else now
    manifest = manifest or {}
    with os.scandir(inbox) as entries:
        found = sorted(entries, key=lambda e: e.name)
    for entry in found:
        name = entry.name
        if name.startswith((".", "_")):
            continue
        path = Path(entry.path)
        shown = display_name(path)
        if temporary_name(name):
            listing.ignored[shown] = "temporary_name"
            continue
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(st.st_mode):
            listing.refused[shown] = _refusal(st)
            continue
        if settle_seconds > 0 and abs(now - st.st_mtime) < settle_seconds and _nfc(name) not in manifest:
            listing.waiting[shown] = WAIT_UPLOAD
            listing.settling.append(path)
            continue
        listing.files.append((path, st))
    return listing


def changing_files(paths: Sequence[Path], seconds: float, *, sleep=time.sleep) -> list[Path]:
    """Those of ``paths`` whose size, modification time, change time or inode moved while this
    watched them for ``seconds`` (still being written, replaced or removed); ``lstat`` only."""
    def signature(path: Path) -> tuple | None:
        try:
            st = os.lstat(path)
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino

    before = {path: signature(path) for path in paths}
    sleep(seconds)
    return [path for path in paths if before[path] is None or signature(path) != before[path]]


def candidate_files(inbox: Path) -> list[Path]:
    """The regular files of the inbox a run may read (no hidden or ``_`` file, no temporary name,
    no symlink, folder or FIFO), whether complete yet or not."""
    listing = list_inbox(inbox)
    return [path for path, _ in listing.files]


def is_submission_name(path: Path) -> bool:
    return path.suffix.lower() in SUBMISSION_SUFFIXES


class _Refused(Exception):
    """The inbox entry is not (or is no longer) a regular file of the inbox."""


class _Changed(Exception):
    """The file changed while it was read: it is left for the next run."""


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns) == (b.st_dev, b.st_ino, b.st_size, b.st_mtime_ns)


def _read(path: Path, max_bytes: int, listed: os.stat_result | None = None) -> tuple[bytes | None, str]:
    """The file's bytes (None when empty or over the size limit: never read whole) and sha256.

    Opened without following a symlink and without blocking (a FIFO); the file must still be the
    regular file listed (``listed``) and must not change while it is read (:class:`_Changed`)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _Refused(_refusal(kind="link")) from exc
        raise
    with os.fdopen(fd, "rb") as fh:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise _Refused(_refusal(before))
        if listed is not None and not _same_file(before, listed):
            raise _Changed(WAIT_CHANGED)
        size = before.st_size
        if size == 0 or size > max_bytes:
            data, sha = None, sha256_file(fh)
        else:
            data = fh.read(size + 1)
            sha = hashlib.sha256(data).hexdigest()
            if len(data) != size:
                raise _Changed(WAIT_CHANGED)
        if not _same_file(os.fstat(fd), before):
            raise _Changed(WAIT_CHANGED)
    return data, sha


def _unchanged(path: Path, listed: os.stat_result | None) -> bool:
    """The inbox file is still the very file read (same inode, size and modification time)."""
    if listed is None:
        return True
    try:
        return _same_file(os.lstat(path), listed)
    except OSError:
        return False


def display_name(path: Path) -> str:
    """The file's name as text for the warehouse and the reports (bytes that are not UTF-8 escaped)."""
    name = path.name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # a name in another encoding: surrogate escapes from the file system
        name = os.fsencode(name).decode("utf-8", "backslashreplace")
    if not name.isprintable():  # control characters (ESC, BEL, newlines) shown as \xNN escapes
        name = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in name)
    return name


def _received_at(path: Path, manifest: dict[str, dt.datetime], st: os.stat_result | None = None) -> dt.datetime:
    listed = manifest.get(_nfc(path.name))
    if listed is not None:
        return listed
    # to the microsecond: a correction written a moment after its first version (a script writing
    # both in one second) is still the newer one (versions tie on report date, then arrival)
    mtime = dt.datetime.fromtimestamp((st or path.stat()).st_mtime, dt.timezone.utc)
    return mtime.replace(tzinfo=None)


# ------------------------------------------------------------------------------------- reading


def read_submission(path: Path, settings: Settings, units: UnitDirectory, fields: FieldDirectory,
                    today: dt.date, data: bytes | None = None) -> ParsedSubmission | list[Problem]:
    """The parsed submission, or every problem that keeps the file out. Never raises for a bad file.

    ``data``: the file's bytes if already read (the file is then not read again).
    """
    name = display_name(path)
    if not is_submission_name(path):
        return [Problem(name, "not_submission",
                        f"Không phải tệp báo cáo («{path.suffix or 'không có đuôi'}»): chỉ nhận tệp .xlsx "
                        "(mẫu Excel) hoặc .csv",
                        f"not a submission file ({path.suffix or 'no extension'!s}): only .xlsx (the Excel "
                        "form) and .csv files are accepted")]
    try:
        size = os.lstat(path).st_size
        problems = check_size(size, name, settings.max_file_bytes)
        if problems:
            return problems
        if data is None or len(data) != size:
            data, _ = _read(path, settings.max_file_bytes)
            if data is None:
                raise _Changed(WAIT_CHANGED)
        problems = check_content(data, name, path.suffix.lower())
        if problems:
            return problems
        return parse_file(data, name, units=units, fields=fields, today=today)
    except SubmissionError as exc:
        return exc.problems
    except (KeyboardInterrupt, SystemExit, _Changed, _Refused):
        raise  # the operator's or the interpreter's stop: not the file's fault
    except BaseException as exc:  # a file that breaks the parser (a Rust panic too) must not break the run
        log.warning("Parser crash on %s:\n%s", path, traceback.format_exc())
        return [Problem(name, "unreadable",
                        f"Không đọc được tệp (lỗi không lường trước: {type(exc).__name__}). Hãy mở tệp bằng Excel, "
                        "lưu lại dạng .xlsx và gửi lại; nếu vẫn lỗi, báo cho bộ phận kỹ thuật.",
                        f"the file cannot be read (unexpected {type(exc).__name__}: {exc})")]


# ---------------------------------------------------------------------------------- quarantine


def problem_report(file_name: str, sha256: str, received_at: dt.datetime, load_id: str,
                   problems: list[Problem]) -> str:
    """The ``.problems.txt`` beside a quarantined file: Vietnamese, with English alongside."""
    lines = [
        f"Tệp / file: {file_name}",
        f"Nhận lúc / received at: {received_at:%d/%m/%Y %H:%M} UTC",
        f"Mã lần nạp / load id: {load_id}",
        f"sha256: {sha256}",
        "",
        f"Tệp này CHƯA được nạp vào kho dữ liệu vì {len(problems)} lỗi dưới đây. "
        "Hãy sửa tệp và gửi lại (cả tệp).",
        f"This file was NOT loaded because of the {len(problems)} problem(s) below. "
        "Fix the file and send it again (the whole file).",
        "",
    ]
    for i, p in enumerate(problems, start=1):
        lines.append(f"{i}. [{p.code}] {p.where_vi()}")
        lines.append(f"   {p.message_vi}")
        lines.append(f"   ({p.where_en()}: {p.message_en})")
    return "\n".join(lines) + "\n"


_UNSAFE_NAME = re.compile(r"[^\w.()+,=@ -]+")
_REPORT_SUFFIX = ".problems.txt"
#: Bytes left for a quarantined file's name: room for a 13-byte prefix and the report's suffix
#: under the usual 255-byte limit of a file name.
MAX_NAME_BYTES = 200


def safe_name(name: str) -> str:
    """A file name safe to create in the quarantine folder, still recognisable.

    NFC; path separators, control and shell-special characters become "_"; no leading dot or dash;
    at most :data:`MAX_NAME_BYTES` bytes of UTF-8, the extension kept.
    """
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE_NAME.sub("_", name).strip(" ._-") or "file"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        ext = f".{ext}" if dot and len(ext) <= 10 else ""
        stem = stem if ext else name
        budget = MAX_NAME_BYTES - len(ext.encode("utf-8"))
        stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(" ._-") or "file"
        name = stem + ext
    return name


def _quarantine_target(folder: Path, name: str, sha: str) -> Path:
    name = safe_name(name)
    target = folder / name
    if target.exists() or target.with_name(name + _REPORT_SUFFIX).exists():
        target = folder / f"{sha[:12]}_{name}"
    return target


#: Quarantine copies and reports are created with this mode (and the process umask): never
#: world-readable (a submission holds a preparer's name and phone).
QUARANTINE_FILE_MODE = 0o640


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` (it must not exist) with :data:`QUARANTINE_FILE_MODE`, write and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), QUARANTINE_FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _copy_verified(path: Path, data: bytes | None, partial: Path, sha: str) -> None:
    """Write the quarantine copy (from the bytes read, or streamed from the inbox file for one too
    large to read whole) and check that its bytes hash to ``sha``; else :class:`_Changed`."""
    if data is not None:
        _write_private(partial, data)
    else:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                     QUARANTINE_FILE_MODE)
        src_fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "wb") as out, os.fdopen(src_fd, "rb") as src:
            for block in iter(lambda: src.read(1 << 20), b""):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
    if sha256_file(partial) != sha:
        raise _Changed(WAIT_CHANGED)


def _quarantine(con: duckdb.DuckDBPyConnection, folder: Path, path: Path, sha: str, received_at: dt.datetime,
                load_id: str, problems: list[Problem], data: bytes | None = None,
                listed: os.stat_result | None = None) -> tuple[Path, Path]:
    """Copy the file and its report aside, verify the copy, record them, then remove the file from
    the inbox, but only if it is still the very bytes copied. A file that changed meanwhile raises
    :class:`_Changed` before anything is recorded (the copy removed): it waits for the next run."""
    name = display_name(path)
    folder.mkdir(parents=True, exist_ok=True)
    target = _quarantine_target(folder, name, sha)
    report = target.with_name(target.name + _REPORT_SUFFIX)
    partial = target.with_name(f".{sha[:12]}.partial")
    partial.unlink(missing_ok=True)  # left by a run killed while copying
    try:
        _copy_verified(path, data, partial, sha)  # never a half-copied file under the real name
        if not _unchanged(path, listed):
            raise _Changed(WAIT_CHANGED)
        os.replace(partial, target)
        _write_private(report, problem_report(name, sha, received_at, load_id, problems).encode("utf-8"))
        with warehouse.transaction(con):
            warehouse.insert_quarantine(con, sha256=sha, file_name=name, received_at=received_at,
                                        quarantined_at=_utc_now(), load_id=load_id, quarantine_path=str(target),
                                        report_path=str(report), problems=problems)
    except BaseException:
        partial.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        report.unlink(missing_ok=True)
        raise
    _remove_if_same(path, sha, listed)
    return target, report


def _remove_if_same(path: Path, sha: str, listed: os.stat_result | None) -> bool:
    """Remove the inbox file if it still holds the bytes hashing to ``sha`` (its copy is verified)."""
    try:
        if not _unchanged(path, listed) or sha256_file(path) != sha:
            log.warning("%s changed after it was copied to quarantine: left in the inbox", path)
            return False
        path.unlink()
        return True
    except OSError as exc:  # recorded: the next run finishes the move
        log.warning("Quarantined %s but could not remove it from the inbox: %s", path, exc)
        return False


def _finish_interrupted_quarantine(path: Path, name: str, sha: str,
                                   copies: dict[tuple[str, str], list[str]]) -> None:
    """A file recorded as quarantined still in the inbox under the same name, its copy in place:
    the run that quarantined it died before removing it (or the same file was sent again). Remove it."""
    for recorded in copies.get((sha, name), ()):
        copy = Path(recorded)
        try:
            if copy.is_file() and copy.stat().st_size == path.stat().st_size and sha256_file(copy) == sha:
                if _remove_if_same(path, sha, None):
                    log.info("Finished quarantining %s (its copy is %s)", name, copy)
                return
        except OSError as exc:
            log.warning("Could not finish quarantining %s: %s", name, exc)
            return


@dataclass
class _Pending:
    """A parsed file waiting for its group's commit."""

    name: str
    sha: str
    submission: ParsedSubmission
    record: dict


def _commit(con: duckdb.DuckDBPyConnection, pending: list[_Pending], result: IngestResult,
            loaded_hashes: set[str]) -> None:
    """Commit the waiting files together; if that fails, one transaction each (failures reported)."""
    if not pending:
        return
    committed: list[_Pending] = []
    try:
        with warehouse.transaction(con):
            warehouse.insert_submissions(con, [(p.submission, p.record) for p in pending])
        committed = list(pending)
    except Exception as group_error:
        if len(pending) == 1:
            p = pending[0]
            log.error("Could not write %s to the warehouse (rolled back): %s", p.name, group_error)
            result.failed[p.name] = f"{type(group_error).__name__}: {group_error}"
        else:
            log.warning("A group of %d files was rolled back (%s); retrying one file a transaction",
                        len(pending), group_error)
            for p in pending:
                try:
                    with warehouse.transaction(con):
                        warehouse.insert_submissions(con, [(p.submission, p.record)])
                except Exception as exc:  # the warehouse refused: rolled back, the file stays in the inbox
                    log.error("Could not write %s to the warehouse (rolled back): %s", p.name, exc)
                    result.failed[p.name] = f"{type(exc).__name__}: {exc}"
                else:
                    committed.append(p)
    for p in committed:
        loaded_hashes.add(p.sha)
        result.loaded.append(p.name)
        sub = p.submission
        if sub.warnings:
            result.warnings[p.name] = list(sub.warnings)
            for w in sub.warnings:
                log.warning("%s: %s: %s", p.name, w.where_en(), w.message_en)
        if sub.skipped_rows:
            result.notes[p.name] = [f"{sheet}!{row}: «{text}» (not a model row)"
                                    for sheet, row, text in sub.skipped_rows]
        log.info("Loaded %s: %s %s, %d model(s)", p.name, sub.unit_code, sub.period.id, len(sub.models))
    pending.clear()


# ------------------------------------------------------------------------------------------ run


def ingest_inbox(settings: Settings | None = None, *, today: dt.date | None = None,
                 batch_files: int = BATCH_FILES) -> IngestResult:
    """Load every new submission of the inbox into ``raw.*``; quarantine what cannot be read.

    ``today`` (default: the current date) decides which periods and report dates lie in the future.
    ``batch_files``: how many parsed files are committed together (1: one transaction a file).
    Raises :class:`IngestError` after the run if a file could not be written to the warehouse.
    """
    settings = settings or get_settings()
    inbox = Path(settings.inbox_dir)
    if not inbox.is_dir():
        raise FileNotFoundError(
            f"Không có thư mục hộp thư {inbox} / the inbox folder {inbox} does not exist (DVK_INBOX_DIR)")
    today = today or local_today()
    batch_files = max(1, int(batch_files))
    load_id = str(uuid.uuid4())
    result = IngestResult(load_id=load_id, inbox_dir=str(inbox), started_at=_utc_now())
    quarantine_folder = Path(settings.quarantine_dir) / f"{result.started_at:%Y%m%d}_{load_id}"
    units, fields = UnitDirectory(), FieldDirectory()
    manifest = read_manifest(inbox)
    listing = list_inbox(inbox, settle_seconds=settings.inbox_settle_seconds, manifest=manifest)
    result.waiting.update(listing.waiting)
    result.ignored.update(listing.ignored)
    result.refused.update(listing.refused)
    for name, why in listing.refused.items():
        log.warning("Refused %s: %s", name, why)

    parse = functools.partial(_parse_one, settings, units, fields, today)
    workers = parse_pool.workers_for(len(listing.files), settings.ingest_workers)
    with parse_pool.ParsePool(parse, workers, pack=_pack, unpack=_unpack) as pool:  # forked before the warehouse
        con = dvk_warehouse.connect(dvk_warehouse.target(settings), read_only=False)  # waits for a reader
        try:
            _run(con, pool, listing, result, settings, manifest, quarantine_folder, batch_files)
        finally:
            con.close()
    if result.failed:
        raise IngestError(result)
    return result


def _parse_one(settings: Settings, units: UnitDirectory, fields: FieldDirectory, today: dt.date, path: Path,
               data: bytes | None) -> ParsedSubmission | list[Problem]:
    """One file's parse (the bytes the run read and hashed), as the parse pool calls it."""
    return read_submission(path, settings, units, fields, today, data=data)


def _pack(outcome: ParsedSubmission | list[Problem]) -> tuple:
    """An outcome as a worker sends it back (:meth:`ParsedSubmission.packed`)."""
    return (True, outcome.packed()) if isinstance(outcome, ParsedSubmission) else (False, outcome)


def _unpack(sent: tuple) -> ParsedSubmission | list[Problem]:
    parsed, value = sent
    return ParsedSubmission.unpacked(value) if parsed else value


@dataclass
class _Read:
    """A file read and hashed, waiting for its parse (in the pool's window); or a file whose
    outcome was known when it was read (``noted``), recorded in its turn all the same."""

    path: Path
    listed: os.stat_result
    name: str
    data: bytes | None = None
    sha: str = ""
    received_at: dt.datetime | None = None
    parsing: bool = False  # sent to the pool (not when a file with the same bytes is already in the window)
    #: (the IngestResult field, its value, the log level, the log line) of a file refused, changed
    #: while read, vanished or unreadable (field None: only logged)
    noted: tuple[str | None, str, int, str] | None = None


#: Bytes of files the window may hold (besides :attr:`ParsePool.window` files): a run of large
#: workbooks holds no more than this many ahead of its commits.
WINDOW_BYTES = 64 * 1024 * 1024


def _run(con: duckdb.DuckDBPyConnection, pool: parse_pool.ParsePool, listing: InboxListing, result: IngestResult,
         settings: Settings, manifest: dict[str, dt.datetime], quarantine_folder: Path, batch_files: int) -> None:
    """The run on the open warehouse: every listed file read and hashed in order (unless the inbox
    index knows it, unchanged, as loaded: :mod:`dvk.ingest.inbox_index`); its parse sent to the
    pool up to a window ahead (in this process without workers: one file at a time); then, in the
    same order, skipped, quarantined or added to the group to commit. Last, the index is updated."""
    load_id = result.load_id
    with warehouse.transaction(con):  # one commit for the tables (a new warehouse) and the run's row
        warehouse.ensure_schema(con)
        result.interrupted_loads = warehouse.close_interrupted_loads(con, result.started_at)
        warehouse.start_load(con, load_id, result.started_at, str(result.inbox_dir))
    for old in result.interrupted_loads:
        log.warning("Load %s never finished (the run was killed): marked interrupted", old)
    loaded_hashes, quarantined_hashes = warehouse.known_hashes(con)
    copies = warehouse.quarantined_copies(con) if quarantined_hashes else {}
    pending: list[_Pending] = []
    pending_hashes: set[str] = set()
    pending_rows = 0
    window: deque[_Read] = deque()
    parsing: set[str] = set()  # the bytes (sha256) of the window's files sent to the pool
    ahead = pool.window
    index_file = inbox_index.index_path(settings.warehouse)
    index = inbox_index.read_index(index_file, Path(result.inbox_dir))
    hashed: dict[str, tuple[inbox_index.StatKey, str]] = {}  # what this run knows: the next run's index

    def finish(item: _Read) -> None:
        nonlocal pending_rows
        path, listed, name, data, sha, received_at = (item.path, item.listed, item.name, item.data, item.sha,
                                                      item.received_at)
        if item.noted is not None:
            field_name, value, level, line = item.noted
            if field_name is not None:
                getattr(result, field_name)[name] = value
            log.log(level, "%s", line)
            return
        outcome: ParsedSubmission | list[Problem] | str | None = None
        if item.parsing:
            parsing.discard(sha)
            try:
                outcome = pool.result(sha)
            except (_Changed, _Refused):
                outcome = WAIT_CHANGED
        if sha in loaded_hashes or sha in pending_hashes:
            result.skipped[name] = SKIP_ALREADY_LOADED
            return
        if sha in quarantined_hashes:
            _finish_interrupted_quarantine(path, name, sha, copies)
            result.skipped[name] = SKIP_ALREADY_QUARANTINED
            return
        if outcome is None:  # the same bytes as a file before it, which was not loaded: parsed here
            try:
                outcome = pool.parse(path, data)
            except (_Changed, _Refused):
                outcome = WAIT_CHANGED
        if outcome is WAIT_CHANGED:
            result.waiting[name] = WAIT_CHANGED
            return
        if not _unchanged(path, listed):  # written to while it was parsed: neither loaded nor moved
            result.waiting[name] = WAIT_CHANGED
            log.warning("%s changed while it was read: left for the next run", name)
            return
        if isinstance(outcome, list):
            try:
                _quarantine(con, quarantine_folder, path, sha, received_at, load_id, outcome, data, listed)
            except _Changed:
                result.waiting[name] = WAIT_CHANGED
                log.warning("%s changed while it was quarantined: left for the next run", name)
                return
            except Exception as exc:  # rolled back: the file stays in the inbox for the next run
                log.error("Could not quarantine %s: %s", name, exc)
                result.failed[name] = f"{type(exc).__name__}: {exc}"
                return
            quarantined_hashes.add(sha)
            result.quarantined[name] = outcome
            log.warning("Quarantined %s: %d problem(s)", name, len(outcome))
            return
        record = warehouse.submission_record(
            outcome, submission_id=sha, file_name=name, size=len(data) if data is not None else 0,
            received_at=received_at, loaded_at=_utc_now(), load_id=load_id)
        pending.append(_Pending(name, sha, outcome, record))
        pending_hashes.add(sha)
        pending_rows += 1 + len(outcome.models) + len(outcome.totals)
        if len(pending) >= batch_files or pending_rows >= BATCH_ROWS:
            _commit(con, pending, result, loaded_hashes)
            pending_hashes.clear()
            pending_rows = 0

    held = 0  # bytes of the window's files

    def read_next(path: Path, listed: os.stat_result) -> _Read:
        """The file as the window holds it: read and hashed (its parse sent to the pool), known
        from the index, or what reading it told."""
        name = display_name(path)
        key = inbox_index.stat_key(listed)
        last = index.get(name)
        if last is not None and last[0] == key and last[1] in loaded_hashes:  # as the last run read it
            hashed[name] = last
            return _Read(path, listed, name, sha=last[1])
        try:
            data, sha = _read(path, settings.max_file_bytes, listed)
            received_at = _received_at(path, manifest, listed)
        except FileNotFoundError:
            return _Read(path, listed, name, noted=(None, "", logging.WARNING,
                                                    f"{path} vanished from the inbox during the run"))
        except _Refused as exc:
            return _Read(path, listed, name, noted=("refused", str(exc), logging.WARNING, f"Refused {name}: {exc}"))
        except _Changed:
            return _Read(path, listed, name, noted=("waiting", WAIT_CHANGED, logging.WARNING,
                                                    f"{name} changed while it was read: left for the next run"))
        except OSError as exc:  # unreadable (permissions): nothing to record, left for the next run
            return _Read(path, listed, name, noted=("failed", f"{type(exc).__name__}: {exc}", logging.ERROR,
                                                    f"Cannot read {path}: {exc}"))
        hashed[name] = (key, sha)
        send = not (sha in loaded_hashes or sha in pending_hashes or sha in quarantined_hashes or sha in parsing)
        if send:
            pool.add(sha, path, data)
            parsing.add(sha)
        return _Read(path, listed, name, data, sha, received_at, send)

    for path, listed in listing.files:
        item = read_next(path, listed)
        window.append(item)
        held += len(item.data) if item.data is not None else 0
        while window and (len(window) > ahead or held > WINDOW_BYTES):
            done = window.popleft()
            held -= len(done.data) if done.data is not None else 0
            finish(done)
    pool.flush()  # the last files, fewer than a chunk
    while window:
        finish(window.popleft())
    _commit(con, pending, result, loaded_hashes)
    result.finished_at = _utc_now()
    warehouse.finish_load(con, load_id, result.finished_at, seen=result.files_seen, loaded=len(result.loaded),
                          skipped=len(result.skipped), quarantined=len(result.quarantined),
                          status="failed" if result.failed else "finished")
    now_known = {name: entry for name, entry in hashed.items() if entry[1] in loaded_hashes}
    if now_known != index:  # a night that brought nothing leaves it as it is
        inbox_index.write_index(index_file, Path(result.inbox_dir), now_known)
