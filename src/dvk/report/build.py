"""Build the annual report of one year: ``<reports_dir>/annual/<year>/``.

    build_annual_report(2021)                        # runs enforce_gate(2021) first
    build_annual_report(2021, gate_result=result)    # reuse a passed GateResult of 2021

The report is refused (``GateFailed``) unless the quality gate of that year passed; an existing
report of an earlier run is then left as it was (the gate result says why there is no newer one).

Versions (docs/annual-report.md): the folder is the current version, ``versions/v<N>/`` a copy of
each published version. When the content (``versions.content_sha256``) equals the latest published
version's, nothing is written. Otherwise version N+1 is rendered, with ``changes.json`` /
``changes.md`` against version N, into a temporary folder under ``<reports_dir>/.tmp/`` together
with the earlier versions, and that folder is moved into place: a half-written report never
exists at ``annual/<year>/``. Builds of reports are serialised by a lock on ``annual/``. A national
year's workbook is started in a child process before the fingerprint is known (nothing in it
depends on the fingerprint) and discarded if the content did not change.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dvk.filemodes import as_created
from dvk.gate import GateFailed, GateResult
from dvk.periods import OFFICE_TZ
from dvk.report import versions
from dvk.report.data import AnnualData, load_annual_data
from dvk.report.extracts import write_csv
from dvk.report.summary import build_summary
from dvk.report.tables import Table, all_tables, model_records
from dvk.report.workbook import (
    Meta,
    PendingWorkbook,
    fork_workbook,
    start_workbook,
    workbook_name,
    write_workbook,
    written_in_background,
)
from dvk.settings import Settings, get_settings

log = logging.getLogger(__name__)



def annual_report_dir(year: int, settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return settings.reports_dir / "annual" / str(int(year))


def data_as_of(data: AnnualData) -> datetime:
    """The newest receipt among the source submissions, in Hà Tĩnh time (the data's date; never
    the clock, so the same warehouse gives the same report)."""
    as_of = data.as_of
    if as_of.tzinfo is None:
        if as_of == datetime(data.year, 12, 31):  # no source submission at all
            return as_of.replace(tzinfo=OFFICE_TZ)
        as_of = as_of.replace(tzinfo=timezone.utc)
    return as_of.astimezone(OFFICE_TZ)  # received times are UTC


_encode = json.JSONEncoder(ensure_ascii=False).encode


def _layout(value: Any, depth: int) -> str:
    """JSON laid out for reading: an object a key a line, indented by two spaces; a list holding
    objects or lists one item a line, each item on its line (Python's C encoder: ``indent`` would
    switch to the pure-Python one, seconds for a national year's unit lists); anything else on
    one line."""
    pad, end = "  " * (depth + 1), "  " * depth
    if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
        items = ",\n".join(f"{pad}{_encode(k)}: {_layout(v, depth + 1)}" for k, v in value.items())
        return "{\n" + items + "\n" + end + "}"
    if isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(pad + _encode(v) for v in value) + "\n" + end + "]"
    return _encode(value)


def _json_bytes(value: Any) -> bytes:
    """``summary.json``, ``changes.json``: see :func:`_layout`."""
    return (_layout(value, 0) + "\n").encode("utf-8")


def _json_lines_bytes(lines: list[str]) -> bytes:
    """A JSON list of already encoded items, one a line (``models.json``: the models' canonical
    lines, which the content fingerprint reads too; ``indent`` would switch to Python's pure-Python
    encoder, a few seconds for a national model list)."""
    if not lines:
        return b"[]\n"
    return ("[\n  " + ",\n  ".join(lines) + "\n]\n").encode("utf-8")


def render_report(folder: Path, data: AnnualData, summary: dict[str, Any],
                  model_lines: list[str], changes: dict[str, Any], meta: Meta,
                  tables: list[Table] | None = None, workbook: PendingWorkbook | None = None) -> list[str]:
    """Write every file of one version into ``folder``; return their names. ``model_lines``: each
    model as :func:`versions.model_line` (``models.json``). ``workbook``: the workbook already
    being written elsewhere (:func:`_start_workbook_early`), moved into ``folder`` when done."""
    tables = tables or all_tables(data, summary)
    name = workbook_name(data.year)
    # a national workbook is written by a child process meanwhile (start_workbook)
    workbook = workbook or start_workbook(folder / name, data, summary, meta, tables)
    try:
        names = ["summary.json"]
        (folder / "summary.json").write_bytes(_json_bytes(summary))
        for table in tables:
            names.append(write_csv(folder, table, data.year).name)
        (folder / "models.json").write_bytes(_json_lines_bytes(model_lines))
        (folder / "changes.json").write_bytes(_json_bytes(changes))
        (folder / "changes.md").write_bytes(versions.changes_markdown(changes).encode("utf-8"))
        names += ["models.json", "changes.json", "changes.md"]
    except BaseException:
        workbook.cancel()
        raise
    written = workbook.wait()
    if written != folder / name:
        os.replace(written, folder / name)
    names.insert(1, name)
    return names


def _start_workbook_early(settings: Settings, data: AnnualData, summary: dict[str, Any],
                          models: list[dict[str, Any]], tables: list[Table],
                          previous: versions.Published | None, as_of: datetime) -> PendingWorkbook | None:
    """A large workbook (``WORKBOOK_BACKGROUND_MIN_CELLS``: a national year) started in a child
    process before the content fingerprint is known, so that it is written while this process
    encodes the models and fingerprints them: nothing in the workbook depends on the fingerprint.
    ``summary`` holds the new version's number and date already; the child writes that version into
    ``<reports_dir>/.tmp/``; the caller discards it if the content did not change. None for a
    smaller workbook (written after the fingerprint, in this process, only when needed) or where
    the platform cannot fork."""
    if not written_in_background(tables):
        return None
    path = _staging(settings) / f"annual-{data.year}-{uuid.uuid4().hex}.xlsx"
    number = summary["version"]

    def write() -> None:  # in the child: the version's changes, then its workbook
        changes = versions.compute_changes(data.year, number, previous, summary, models)
        write_workbook(path, data, summary, Meta(version=number, data_as_of=as_of, changes=changes), tables)

    return fork_workbook(path, write, name=f"dvk-workbook-{data.year}")


def _move_into_place(tmp: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        old = tmp.parent / f"{final.name}.old-{uuid.uuid4().hex}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


def _link_or_copy(src: str, dst: str) -> None:
    """Earlier versions move from the old folder to the new one: a hard link is enough (the old
    folder is removed after the swap), a copy where links can't be made."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


@contextlib.contextmanager
def _lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``annual/``: two builds never number the same version."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _copy_files(src: Path, dst: Path) -> list[str]:
    names = sorted(p.name for p in src.iterdir() if p.is_file())
    for name in names:
        shutil.copy2(src / name, dst / name)
    return names


def _current_matches(final: Path, published: Path) -> bool:
    """The current folder holds exactly the files of the published version, byte for byte."""
    current = {p.name for p in final.iterdir() if p.is_file()} if final.is_dir() else set()
    wanted = {p.name for p in published.iterdir() if p.is_file()}
    return current == wanted and all(
        (final / n).read_bytes() == (published / n).read_bytes() for n in wanted
    )


def _publish(settings: Settings, year: int, final: Path, fill, number: int | None) -> None:
    """Fill a temporary folder (``fill(tmp) -> file names``), add ``versions/`` (the earlier
    versions, and ``v<number>`` with a copy of the new files unless ``number`` is None), then move
    it onto ``final`` in one rename."""
    staging = _staging(settings)
    tmp = Path(tempfile.mkdtemp(prefix=f"annual-{year}-", dir=staging))
    try:
        names = fill(tmp)
        archive = tmp / versions.VERSIONS_DIR
        if (final / versions.VERSIONS_DIR).is_dir():
            shutil.copytree(final / versions.VERSIONS_DIR, archive, copy_function=_link_or_copy)
        if number is not None:
            this = archive / f"v{number}"
            this.mkdir(parents=True)
            for name in names:
                # a copy, not a link: someone saving the current workbook in place must never
                # alter the published version
                shutil.copy2(tmp / name, this / name)
        for p in [tmp, archive, *archive.iterdir()]:
            as_created(p)  # mkdtemp makes 0700: the umask's mode (0750 with DVK_UMASK=027)
        _move_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _remove_if_empty(staging)


def _staging(settings: Settings) -> Path:
    """``<reports_dir>/.tmp/``, where a version is written before it is moved into place."""
    staging = settings.reports_dir / ".tmp"
    staging.mkdir(parents=True, exist_ok=True)
    return staging


def _remove_if_empty(staging: Path) -> None:
    try:
        staging.rmdir()  # only when empty: another report may be under way
    except OSError:
        pass


def build_annual_report(year: int, settings: Settings | None = None,
                        gate_result: GateResult | None = None) -> Path:
    """Write the report of ``year`` (a new version when its content changed); return its folder.

    Without ``gate_result`` the gate is run here (``enforce_gate``); with one, it must be a
    passed result of the same year. Raises ``GateFailed`` when the gate did not pass.
    """
    year = int(year)
    settings = settings or get_settings()
    if gate_result is None:
        from dvk.gate import enforce_gate  # Great Expectations, only when the gate runs here

        gate_result = enforce_gate(year, settings)
    elif int(gate_result.year) != year:
        raise ValueError(f"gate result is for {gate_result.year}, not {year}")
    elif not gate_result.passed:
        raise GateFailed(gate_result)

    data = load_annual_data(year, settings)
    summary = build_summary(data)
    models = model_records(data)
    final = annual_report_dir(year, settings)

    with _lock(final.parent):
        previous = versions.latest_published(final)
        number = max(versions.version_numbers(final), default=0) + 1
        as_of = data_as_of(data)
        # the version's number and date are not part of the content (versions.VERSION_KEYS)
        summary.update({"version": number, "data_as_of": as_of.isoformat(timespec="seconds")})
        tables, early = None, None
        if previous is None or (previous.summary or {}).get("data_as_of") != summary["data_as_of"]:
            # a submission newer than the last version's: the content has most likely changed, so a
            # large workbook is started now (when nothing newer came, it is written only if needed)
            tables = all_tables(data, summary)
            early = _start_workbook_early(settings, data, summary, models, tables, previous, as_of)
        try:
            lines = [versions.model_line(m) for m in models]
            fingerprint = versions.content_sha256(summary, models, lines)
            if previous is not None and previous.content_sha256 == fingerprint:
                if not _current_matches(final, previous.folder):
                    # someone removed or edited a current file: put the published version back
                    _publish(settings, year, final, lambda tmp: _copy_files(previous.folder, tmp), None)
                log.info("Báo cáo năm %s không đổi / annual report %s unchanged: phiên bản / version %s (%s)",
                         year, year, previous.number, final)
                return final
            summary["content_sha256"] = fingerprint
            changes = versions.compute_changes(year, number, previous, summary, models)
            meta = Meta(version=number, data_as_of=as_of, changes=changes)
            _publish(settings, year, final,
                     lambda tmp: render_report(tmp, data, summary, lines, changes, meta, tables, early), number)
        finally:
            if early is not None:
                early.discard()  # unchanged content, or a failure: stop the child, drop its file
                _remove_if_empty(early.path.parent)
    log.info(
        "Báo cáo năm %s, phiên bản %s / annual report %s, version %s: %s đơn vị / units, "
        "%s mô hình / models (%s xây mới / new, %s nhân rộng / replicated) -> %s",
        year, number, year, number, summary["units_registered"], summary["models_total"],
        summary["models_new"], summary["models_replicated"], final,
    )
    return final
