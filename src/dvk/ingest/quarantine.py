"""What is waiting in quarantine for a unit to fix, from ``raw.quarantine(_problems)``.

:func:`pending_quarantine` lists the quarantined files no fixed file has replaced yet, each with
every problem (sheet, row, column, Vietnamese and English) and a best-effort guess of its unit and
period, so that a data engineer (or a later ``dvk quarantine --pending`` command) can tell each unit
what to fix. The guess comes from the file's content when it can be read safely (the "Thông tin"
sheet, or the first CSV row), else from its name ("2022Q1_18070_phuong-tran-phu.xlsx").

A quarantined file is no longer waiting when its very bytes were loaded since, or when a submission
for the same unit and period was received at or after it (the unit sent a fixed file).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

from dvk import warehouse
from dvk.ingest.guard import check_content
from dvk.periods import PeriodError, parse_period, period_from_id
from dvk.reference import UnitDirectory
from dvk.settings import Settings, get_settings
from dvk.text import fold

_PERIOD_IN_NAME = re.compile(r"(?<![0-9])(20\d\d)(?:[ _.-]?(q[1-4]|s[12]|0[1-9]|1[0-2]))?(?![0-9])", re.I)
_CODE_IN_NAME = re.compile(r"(?<![0-9A-Za-z])(\d{5}|CQ\d{1,3})(?![0-9])", re.I)


def _guess_period(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return parse_period(text, today=dt.date.max - dt.timedelta(days=400)).id  # future periods too
    except PeriodError:
        return None


def _window_end(period_id: str | None, fallback: dt.date | None) -> dt.date | None:
    """The day units are looked up on (rule 1): the period's window end, else ``fallback``."""
    if period_id:
        try:
            return period_from_id(period_id).window_end
        except PeriodError:
            pass
    return fallback


def _unit_from(units: UnitDirectory, code: str | None, name: str | None, on: dt.date | None = None) -> str | None:
    found = units.lookup_code(code, on=on) if code else None
    if found is None and name:
        found = units.by_name(name, on=on)
    if found is None and on is not None:  # a guess only: any version of the code or name
        return _unit_from(units, code, name)
    return found.code if found else None


def _from_xlsx(data: bytes, units: UnitDirectory, on: dt.date | None = None) -> tuple[str | None, str | None]:
    from dvk.ingest.cells import to_text
    from dvk.ingest.xlsx_form import SHEET_INFO, SHEET_MODELS, _Workbook, read_info

    book = _Workbook(data)
    name = book.find(SHEET_INFO) or book.find(SHEET_MODELS)
    if name is None:
        return None, None
    info = read_info(book.rows(name))

    def value(item: str) -> str | None:
        return to_text(info.get(item, (None,))[0])

    period = _guess_period(value("period"))
    return _unit_from(units, value("unit_code"), value("unit_name"), _window_end(period, on)), period


def _from_csv(data: bytes, units: UnitDirectory, on: dt.date | None = None) -> tuple[str | None, str | None]:
    text = data.decode("utf-8-sig")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [fold(h).replace(" ", "_") for h in next(rows, [])]
    for row in rows:
        cells = dict(zip(header, row))
        if any(cells.get(k, "").strip() for k in ("ma_don_vi", "ten_don_vi", "ky_bao_cao")):
            period = _guess_period(cells.get("ky_bao_cao"))
            return (_unit_from(units, cells.get("ma_don_vi"), cells.get("ten_don_vi"), _window_end(period, on)),
                    period)
    return None, None


def guess_from_content(path: Path, units: UnitDirectory, max_bytes: int,
                       on: dt.date | None = None) -> tuple[str | None, str | None]:
    """(unit code, period id) as the file states them, when it can be read without risk; else Nones.

    The unit is looked up among those valid on the period's window end, else ``on``."""
    try:
        if not path.is_file() or not 0 < path.stat().st_size <= max_bytes:
            return None, None
        data = path.read_bytes()
        suffix = path.suffix.lower()
        if suffix not in (".xlsx", ".csv") or check_content(data, path.name, suffix):
            return None, None  # not a workbook, a zip bomb, encrypted ...: not opened
        return _from_xlsx(data, units, on) if suffix == ".xlsx" else _from_csv(data, units, on)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # a broken file (a parser's panic too): it is in quarantine for a reason
        return None, None


def guess_from_name(file_name: str, units: UnitDirectory, on: dt.date | None = None) -> tuple[str | None, str | None]:
    """(unit code, period id) from a file name: a unit code, else a unit's name written in it.

    Names are those of the units valid on the named period's window end, else ``on`` (else any)."""
    period = None
    m = _PERIOD_IN_NAME.search(file_name)
    if m:
        year, part = m.group(1), (m.group(2) or "").upper()
        period = _guess_period(f"{year}{part}" if part else year)
    day = _window_end(period, on)
    unit = None
    for token in _CODE_IN_NAME.findall(file_name):
        found = units.lookup_code(token, on=day) or units.lookup_code(token)
        if found:
            unit = found.code
            break
    if unit is None:
        words = f" {fold(Path(file_name).stem)} "
        hits = set()
        for u in (units.valid_on(day) if day else units.units):
            for text in (u.name, *u.aliases):
                key = re.sub(r"^(phuong|xa|thi tran)\s+", "", fold(text))
                if key and f" {key} " in words:
                    hits.add(u.code)
        unit = next(iter(hits)) if len(hits) == 1 else None
    return unit, period


def pending_quarantine(settings: Settings | None = None, unit_code: str | None = None) -> list[dict]:
    """The quarantined files still waiting for a fix, oldest first; ``unit_code``: only that unit's.

    Each item: ``sha256``, ``file_name``, ``received_at``, ``quarantined_at``, ``load_id``,
    ``quarantine_path``, ``report_path``, ``unit_code`` / ``period_id`` (the guess, or None),
    ``guessed_from`` ("content", "file_name" or None) and ``problems`` (dicts with ``problem_no``,
    ``code``, ``sheet``, ``row``, ``column``, ``message_vi``, ``message_en``).
    """
    settings = settings or get_settings()
    if not warehouse.exists(settings):
        return []
    units = UnitDirectory()
    wanted = None
    if unit_code:
        found = units.lookup_code(unit_code)
        wanted = found.code if found else str(unit_code).strip().upper()
    con = warehouse.connect(warehouse.target(settings), read_only=True)  # waits for a writer (DVK_LOCK_WAIT_SECONDS)
    try:
        tables = warehouse.table_names(con, "raw")
        if not {"quarantine", "quarantine_problems", "submissions"} <= tables:
            return []
        files = con.execute("""
            select sha256, file_name, received_at, quarantined_at, load_id, quarantine_path, report_path
            from (
                select q.*, row_number() over (partition by sha256 order by quarantined_at desc, file_name) as n
                from raw.quarantine q
                where sha256 not in (select submission_id from raw.submissions)
            ) latest
            where n = 1
            order by received_at, file_name""").fetchall()
        problems = con.execute("""
            select sha256, file_name, problem_no, code, sheet, "row", "column", message_vi, message_en
            from raw.quarantine_problems order by sha256, file_name, problem_no""").fetchall()
        received = con.execute(
            "select unit_code, period_id, max(received_at) from raw.submissions group by unit_code, period_id").fetchall()
    finally:
        con.close()
    latest = {(u, p): t for u, p, t in received}
    by_file: dict[tuple[str, str], list[dict]] = {}
    for sha, name, no, code, sheet, row, column, vi, en in problems:
        by_file.setdefault((sha, name), []).append(
            {"problem_no": no, "code": code, "sheet": sheet, "row": row, "column": column,
             "message_vi": vi, "message_en": en})
    out = []
    for sha, name, received_at, quarantined_at, load_id, qpath, rpath in files:
        day = received_at.date() if received_at is not None else None
        unit, period = guess_from_content(Path(qpath), units, settings.max_file_bytes, on=day)
        source = "content" if unit else None
        name_unit, name_period = guess_from_name(name, units, on=day)
        if unit is None and name_unit:
            unit, source = name_unit, "file_name"
        period = period or name_period
        if wanted is not None and unit != wanted:
            continue
        fixed_at = latest.get((unit, period)) if unit and period else None
        if fixed_at is not None and received_at is not None and fixed_at >= received_at:
            continue  # the unit sent this period again since: no longer waiting
        out.append({"sha256": sha, "file_name": name, "received_at": received_at, "quarantined_at": quarantined_at,
                    "load_id": load_id, "quarantine_path": qpath, "report_path": rpath, "unit_code": unit,
                    "period_id": period, "guessed_from": source, "problems": by_file.get((sha, name), [])})
    return out
