"""Ingest the inbox: every new file parsed, loaded in its own transaction, or quarantined."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
import re
import shutil
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dvk.ingest import warehouse
from dvk.ingest.guard import check_file
from dvk.ingest.parse import parse_file
from dvk.ingest.problems import Problem, SubmissionError
from dvk.reference import FieldDirectory, UnitDirectory
from dvk.settings import Settings, get_settings

log = logging.getLogger(__name__)

SUBMISSION_SUFFIXES = {".xlsx", ".csv"}
MANIFEST = "_manifest.csv"


@dataclass
class IngestResult:
    load_id: str
    inbox_dir: str
    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    quarantined: dict[str, list[Problem]] = field(default_factory=dict)

    @property
    def files_seen(self) -> int:
        return len(self.loaded) + len(self.skipped) + len(self.quarantined)

    def as_dict(self) -> dict:
        return {
            "load_id": self.load_id,
            "inbox_dir": self.inbox_dir,
            "files_seen": self.files_seen,
            "files_loaded": len(self.loaded),
            "files_skipped": len(self.skipped),
            "files_quarantined": len(self.quarantined),
            "loaded": self.loaded,
            "skipped": self.skipped,
            "quarantined": {name: [p.as_dict() for p in problems] for name, problems in self.quarantined.items()},
        }


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def _parse_ts(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def read_manifest(inbox: Path) -> dict[str, dt.datetime]:
    """``_manifest.csv`` (file_name, received_at): when each file arrived, if the uploader records it."""
    path = inbox / MANIFEST
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8-sig", newline="") as fh:
        out = {}
        for row in csv.DictReader(fh):
            try:
                out[row["file_name"].strip()] = _parse_ts(row["received_at"])
            except (KeyError, ValueError, AttributeError):
                log.warning("Ignoring a bad line of %s: %s", path, row)
        return out


def candidate_files(inbox: Path) -> list[Path]:
    """Every file of the inbox except hidden ones and those starting with '_' (manifests)."""
    return sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith((".", "_")))


_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def _safe_name(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("._") or "file"


def _problem_report(file_name: str, sha256: str, problems: list[Problem]) -> str:
    lines = [
        f"Tệp / file: {file_name}",
        f"sha256: {sha256}",
        "",
        "Tệp này chưa được nạp vào kho dữ liệu vì các lỗi dưới đây. Hãy sửa tệp và gửi lại.",
        "This file was not loaded because of the problems below. Fix the file and send it again.",
        "",
    ]
    for i, p in enumerate(problems, start=1):
        lines.append(f"{i}. [{p.code}] {p.where_vi()}: {p.message_vi}")
        lines.append(f"   {p.where_en()}: {p.message_en}")
    return "\n".join(lines) + "\n"


def _quarantine(con: duckdb.DuckDBPyConnection, settings: Settings, path: Path, sha: str, received_at: dt.datetime,
                load_id: str, problems: list[Problem], record: bool) -> None:
    folder = settings.quarantine_dir / f"{dt.date.today():%Y%m%d}_{load_id[:8]}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / _safe_name(path.name)
    if target.exists():
        target = folder / f"{sha[:8]}_{target.name}"
    report = target.with_name(target.name + ".problems.txt")
    report.write_text(_problem_report(path.name, sha, problems), encoding="utf-8")
    if record:
        con.execute("begin")
        try:
            warehouse.insert_quarantine(con, sha256=sha, file_name=path.name, received_at=received_at,
                                        quarantined_at=_utc_now(), load_id=load_id, quarantine_path=str(target),
                                        report_path=str(report), problems=problems)
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
    shutil.move(str(path), target)


def ingest_inbox(settings: Settings | None = None, today: dt.date | None = None) -> IngestResult:
    """Load every new submission of the inbox into ``raw.*``; quarantine what cannot be read."""
    settings = settings or get_settings()
    inbox = settings.inbox_dir
    if not inbox.is_dir():
        raise FileNotFoundError(f"Không có thư mục hộp thư {inbox} / inbox folder {inbox} does not exist (DVK_INBOX_DIR)")
    today = today or dt.date.today()
    load_id = str(uuid.uuid4())
    result = IngestResult(load_id=load_id, inbox_dir=str(inbox))
    units, fields = UnitDirectory(), FieldDirectory()
    manifest = read_manifest(inbox)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse))
    try:
        warehouse.ensure_schema(con)
        started = _utc_now()
        con.execute("insert into raw.loads (load_id, started_at, inbox_dir) values (?, ?, ?)", [load_id, started, str(inbox)])
        loaded_hashes, quarantined_hashes = warehouse.known_hashes(con)
        for path in candidate_files(inbox):
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            received_at = manifest.get(path.name) or dt.datetime.fromtimestamp(
                path.stat().st_mtime, dt.timezone.utc).replace(tzinfo=None, microsecond=0)
            if sha in loaded_hashes:
                result.skipped.append(path.name)
                continue
            problems = _problems_of(path, data, settings, units, fields, today)
            if isinstance(problems, list):
                _quarantine(con, settings, path, sha, received_at, load_id, problems, record=sha not in quarantined_hashes)
                quarantined_hashes.add(sha)
                result.quarantined[path.name] = problems
                log.warning("Quarantined %s: %d problem(s)", path.name, len(problems))
                continue
            con.execute("begin")
            try:
                warehouse.insert_submission(con, problems, submission_id=sha, file_name=path.name, size=len(data),
                                            received_at=received_at, loaded_at=_utc_now(), load_id=load_id)
                con.execute("commit")
            except Exception:
                con.execute("rollback")
                raise
            loaded_hashes.add(sha)
            result.loaded.append(path.name)
        con.execute(
            "update raw.loads set finished_at = ?, files_seen = ?, files_loaded = ?, files_skipped = ?, "
            "files_quarantined = ? where load_id = ?",
            [_utc_now(), result.files_seen, len(result.loaded), len(result.skipped), len(result.quarantined), load_id],
        )
    finally:
        con.close()
    return result


def _problems_of(path: Path, data: bytes, settings: Settings, units: UnitDirectory, fields: FieldDirectory,
                 today: dt.date):
    """The parsed submission, or the list of every problem that keeps it out."""
    suffix = path.suffix.lower()
    if suffix not in SUBMISSION_SUFFIXES:
        return [Problem(path.name, "not_submission",
                        "Không phải tệp báo cáo: chỉ nhận tệp .xlsx (mẫu Excel) hoặc .csv",
                        "not a submission file: only .xlsx (the Excel form) and .csv are accepted")]
    guard = check_file(data, path.name, suffix, settings.max_file_bytes)
    if guard.problems:
        return guard.problems
    try:
        return parse_file(data, path.name, units=units, fields=fields, today=today)
    except SubmissionError as exc:
        return exc.problems
    except Exception as exc:  # a file that breaks the parser must not break the run
        log.debug("Parser crash on %s:\n%s", path, traceback.format_exc())
        return [Problem(path.name, "unreadable", f"Không đọc được tệp: {exc}", f"cannot read the file: {exc!r}")]
