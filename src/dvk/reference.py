"""Reference data shared with dbt: units and fields from ``dbt_project/seeds/``, and their matching.

The ingest reads the very files dbt seeds (``reporting_units.csv``, ``fields.csv``), so the two can
never disagree. Matching is done on fold keys (:func:`dvk.text.fold`): case, diacritics, đ/d,
punctuation and spacing do not matter.

- a unit is found by its code, its name or an alias, with or without a prefix ("P.", "Phường",
  "Xã", "UBND", "Ủy ban nhân dân", ...) and with or without diacritics;
- a field by its code, its Vietnamese or English name or an alias ("VH-XH", "Kinh tế", ...);
- the kind of a model ("Hình thức") is ``new`` (Xây mới) or ``replicated`` (Nhân rộng, Duy trì,
  Duy trì, nhân rộng).

Lookups that fail raise :class:`LookupProblem`, which carries a short code and messages in
Vietnamese and English that name the closest known values.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dvk.periods import Period
from dvk.settings import SEEDS_DIR, get_settings
from dvk.text import clean, closest, fold, fold_compact

#: Prefixes written before a unit's name, on fold keys; any run of them is dropped ("UBND phường").
UNIT_PREFIXES = (
    "uy ban nhan dan", "ubnd", "dang uy", "phuong", "xa", "thi tran", "tt", "p", "x",
)
_PREFIX_RE = re.compile(r"^(?:(?:%s)\s+)+(?=\S)" % "|".join(UNIT_PREFIXES))
#: "..., thành phố Hà Tĩnh" / "TP Hà Tĩnh" / "Hà Tĩnh" written after a ward's name.
_CITY_SUFFIX_RE = re.compile(r"\s+(?:(?:thanh pho|tp)\s+)?ha tinh$")


def _code_key(code: str) -> str:
    """An agency code without its leading zeros ("CQ0012" -> "CQ12"); other codes unchanged."""
    if m := re.fullmatch(r"CQ0*(\d+)", code):
        return f"CQ{int(m.group(1))}"
    return code


class LookupProblem(ValueError):
    """A value that matches no unit, field or kind (or matches two units at once)."""

    def __init__(self, code: str, message_vi: str, message_en: str):
        super().__init__(message_en)
        self.code = code
        self.message_vi = message_vi
        self.message_en = message_en


@dataclass(frozen=True)
class Unit:
    """One version of a reporting unit: a code with a name, valid from ``valid_from`` (inclusive)
    to ``valid_to`` (exclusive; None: still valid). The same code may mean other units at other
    dates (codes are reused, reorganisations spec section 1): a unit is (code, validity)."""

    code: str
    name: str
    kind: str
    parent_code: str | None
    aliases: tuple[str, ...]
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    @property
    def label(self) -> str:
        return f"{self.code} – {self.name}"

    def valid_on(self, day: dt.date) -> bool:
        """Valid that day: ``valid_from <= day < valid_to`` (open ends always match)."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day < self.valid_to)

    def expected_for(self, period: Period) -> bool:
        """Expected to report for the period (rule 2): valid on the last day of its data window."""
        return self.valid_on(period.window_end)

    def expected_in(self, year: int) -> bool:
        """Expected for the year's annual report (valid on 14 December of the year)."""
        return self.valid_on(dt.date(year, 12, 14))


@dataclass(frozen=True)
class UnitChange:
    """One (old unit, successor) pair of a reorganisation (seed ``unit_changes.csv``)."""

    change_date: dt.date
    old_code: str
    old_name: str
    new_code: str
    new_name: str
    change_kind: str


@dataclass(frozen=True)
class Field:
    code: str
    name_vi: str
    name_en: str
    sort_order: int
    aliases: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.code} – {self.name_vi}"


def _split_aliases(value: str | None) -> tuple[str, ...]:
    return tuple(a for a in (clean(x) for x in (value or "").split(";")) if a)


def _int_or_none(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value else None


def _date_or_none(value: str | None, file: Path, line: int, column: str) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{file}, line {line}, column {column}: {value!r} is not a date (YYYY-MM-DD)") from None


UNIT_COLUMNS = ("code", "name", "kind", "parent_code", "aliases", "valid_from", "valid_to")


def _validity_of_years(row: dict[str, str | None], file: Path, line: int) -> tuple[dt.date, dt.date | None]:
    """A unit of a list by years (``expected_from``, ``expected_to``: the first and last year it
    must report, blank: still expected) as a validity: from 1 January of the first year to
    1 January after the last (exclusive). A unit is expected for a period when it is valid on the
    last day of the period's window (reorganisations spec, rule 2), so these are the same years."""
    years = []
    for column in ("expected_from", "expected_to"):
        value = clean(row.get(column))
        if not value:
            years.append(None)
            continue
        try:
            years.append(int(value))
        except ValueError:
            raise ValueError(f"{file}, line {line}, column {column}: {value!r} is not a year") from None
    first, last = years
    if first is None:
        raise ValueError(f"{file}, line {line}, column expected_from: the first year the unit reports is missing")
    return dt.date(first, 1, 1), (dt.date(last + 1, 1, 1) if last is not None else None)


def units_file(path: Path | str | None = None) -> Path:
    """The master list in use: ``path``, else the setting ``DVK_UNITS_FILE`` (default: the seed)."""
    return Path(path) if path is not None else get_settings().units_file


def load_units(path: Path | str | None = None) -> tuple[Unit, ...]:
    """The master list of reporting units, time-versioned (``code,name,kind,parent_code,aliases,
    valid_from,valid_to``), in file order. ``path``: a CSV file, or a folder holding
    ``reporting_units.csv``; default the setting ``DVK_UNITS_FILE`` (the file dbt reads too)."""
    path = units_file(path)
    if path.is_dir():
        path = path / "reporting_units.csv"
    return _load_units(path.resolve())


@lru_cache(maxsize=8)
def _load_units(path: Path) -> tuple[Unit, ...]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or ()
        # the spec's first list (reporting_units.csv, 2020-2024): the years a unit must report
        by_years = "valid_from" not in columns and "expected_from" in columns
        missing = [c for c in ("code", "name", "kind", "expected_from" if by_years else "valid_from")
                   if c not in columns]
        if missing:
            raise ValueError(f"{path}: the master list of units lacks the column(s) {', '.join(missing)} "
                             f"(expected: {','.join(UNIT_COLUMNS)}, or expected_from,expected_to years "
                             "in place of valid_from,valid_to)")
        units = []
        for line, row in enumerate(reader, start=2):
            if by_years:
                valid_from, valid_to = _validity_of_years(row, path, line)
            else:
                valid_from = _date_or_none(row.get("valid_from"), path, line, "valid_from")
                valid_to = _date_or_none(row.get("valid_to"), path, line, "valid_to")
            unit = Unit(
                code=clean(row["code"]).upper(),
                name=clean(row["name"]),
                kind=clean(row["kind"]),
                parent_code=clean(row.get("parent_code")) or None,
                aliases=_split_aliases(row.get("aliases")),
                valid_from=valid_from,
                valid_to=valid_to,
            )
            if unit.valid_from and unit.valid_to and unit.valid_from >= unit.valid_to:
                raise ValueError(f"{path}, line {line}: valid_from {unit.valid_from} is not before "
                                 f"valid_to {unit.valid_to}")
            units.append(unit)
    return tuple(units)


def units_file_with_every_column(path: Path | str, folder: Path) -> Path:
    """The master list ``path`` as dbt reads it: ``path`` itself when its header has every column
    of :data:`UNIT_COLUMNS`; else (a list as published, e.g. the province's
    ``code,name,kind,valid_from,source``, without ``parent_code``, ``aliases`` or ``valid_to``) a
    copy with exactly those columns, read with :func:`load_units` (so that the ingest and the marts
    read the same units), written to ``folder/reporting_units.csv`` when it differs from what is
    there. Raises what :func:`load_units` raises for a list that lacks a required column; a path
    that names no file is returned as it is (what reads it says so)."""
    path = Path(path)
    if path.is_dir():
        path = path / "reporting_units.csv"
    if not path.is_file():
        return path
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = [clean(name).lower() for name in next(csv.reader(fh), [])]
    if set(UNIT_COLUMNS) <= set(header):
        return path
    rows = [[u.code, u.name, u.kind, u.parent_code or "", ";".join(u.aliases),
             u.valid_from.isoformat() if u.valid_from else "", u.valid_to.isoformat() if u.valid_to else ""]
            for u in load_units(path)]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows([list(UNIT_COLUMNS), *rows])
    target = folder / "reporting_units.csv"
    text = out.getvalue()
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        from dvk.filemodes import write_text_atomic

        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(target, text)
    return target


def load_unit_changes(path: Path | str | None = None) -> tuple[UnitChange, ...]:
    """The reorganisations: every (old unit, successor) pair of ``path``, else of the setting
    ``DVK_UNIT_CHANGES_FILE`` (default the seed ``unit_changes.csv``; the file dbt reads too)."""
    return _load_unit_changes(Path(path or get_settings().unit_changes_file).resolve())


@lru_cache(maxsize=8)
def _load_unit_changes(path: Path) -> tuple[UnitChange, ...]:
    if not path.is_file():
        raise FileNotFoundError(f"the list of unit changes (DVK_UNIT_CHANGES_FILE) is not a file: {path}")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return tuple(
            UnitChange(
                change_date=dt.date.fromisoformat(clean(row["change_date"])),
                old_code=clean(row["old_code"]).upper(),
                old_name=clean(row.get("old_name")),
                new_code=clean(row["new_code"]).upper(),
                new_name=clean(row.get("new_name")),
                change_kind=clean(row.get("change_kind")),
            )
            for row in csv.DictReader(fh)
        )


@lru_cache(maxsize=8)
def load_fields(seeds_dir: Path = SEEDS_DIR) -> tuple[Field, ...]:
    """The four fields (``fields.csv``), in their sort order."""
    with open(Path(seeds_dir) / "fields.csv", encoding="utf-8-sig", newline="") as fh:
        fields = [
            Field(
                code=clean(row["field_code"]).upper(),
                name_vi=clean(row["field_name_vi"]),
                name_en=clean(row["field_name_en"]),
                sort_order=_int_or_none(row.get("sort_order")) or 0,
                aliases=_split_aliases(row.get("aliases")),
            )
            for row in csv.DictReader(fh)
        ]
    return tuple(sorted(fields, key=lambda f: f.sort_order))


# ------------------------------------------------------------------------------------------ units


def strip_unit_prefix(key: str) -> str:
    """"phuong bac ha" → "bac ha", "ubnd phuong nam ha" → "nam ha" (on fold keys)."""
    return _PREFIX_RE.sub("", key).strip()


def _tp(key: str) -> str:
    return re.sub(r"\bthanh pho\b", "tp", key)


def _full_keys(text: str) -> list[str]:
    key = fold(text)
    return [k for k in dict.fromkeys((key, _tp(key))) if k]


def _bare_keys(text: str) -> list[str]:
    """Keys without the prefix, then also without a trailing "(thành phố) Hà Tĩnh"."""
    out = []
    for key in _full_keys(text):
        bare = strip_unit_prefix(key)
        out.append(bare)
        no_city = _CITY_SUFFIX_RE.sub("", key)
        if no_city != key:
            out.append(strip_unit_prefix(no_city))
    return [k for k in dict.fromkeys(out) if k]


def _did_you_mean(hints: list[str], sep_vi: str, sep_en: str) -> tuple[str, str]:
    """The " Có phải là: …?" / " Did you mean: …?" tails of a lookup message ("" without hints)."""
    if not hints:
        return "", ""
    return f" Có phải là: {sep_vi.join(hints)}?", f" Did you mean: {sep_en.join(hints)}?"


def _day(day: dt.date | None) -> str:
    return f"{day:%d/%m/%Y}" if day else "?"


class _UnitIndex:
    """Code, name and alias lookups over a set of unit versions (those valid on one day, or all)."""

    def __init__(self, units: Iterable[Unit]):
        # Newest version first, so that a code of all versions means its latest unit.
        self.units = tuple(sorted(units, key=lambda u: (u.valid_from or dt.date.min), reverse=True))
        self.by_code: dict[str, Unit] = {}
        # "CQ5", "CQ05" and "CQ0005" are one agency code, whichever way the master list writes it.
        self._by_code_key: dict[str, Unit] = {}
        self.versions: dict[str, list[Unit]] = {}
        for unit in self.units:
            self.by_code.setdefault(unit.code.upper(), unit)
            self._by_code_key.setdefault(_code_key(unit.code.upper()), unit)
            self.versions.setdefault(_code_key(unit.code.upper()), []).append(unit)
        self._full: dict[str, set[Unit]] = {}
        self._bare: dict[str, set[Unit]] = {}
        for unit in self.units:
            for text in (unit.name, *unit.aliases):
                for key in _full_keys(text):
                    self._full.setdefault(key, set()).add(unit)
                for key in _bare_keys(text):
                    self._bare.setdefault(key, set()).add(unit)

    @staticmethod
    def code_text(code: object) -> str:
        text = clean(code).upper().replace(" ", "")
        if re.fullmatch(r"\d+\.0+", text):  # a code typed as a number in Excel
            text = text.split(".")[0]
        return text

    def lookup_code(self, code: object) -> Unit | None:
        text = self.code_text(code)
        return self.by_code.get(text) or self._by_code_key.get(_code_key(text))

    def code_versions(self, code: object) -> list[Unit]:
        """Every version of the code (newest first)."""
        return list(self.versions.get(unit_code_key(code), ()))

    def candidates(self, name: object) -> list[Unit]:
        text = clean(name)
        if not text:
            return []
        for index, keys in ((self._full, _full_keys(text)), (self._bare, _bare_keys(text))):
            found: set[Unit] = set()
            for key in keys:
                found |= index.get(key, set())
            if found:
                return sorted(found, key=lambda u: (u.code, u.valid_from or dt.date.min))
        return []

    def suggest(self, text: object, n: int = 3) -> list[str]:
        labels_of: dict[str, list[str]] = {}
        for key, units in self._bare.items():
            labels_of[key] = sorted({u.label for u in units})
        query = (_bare_keys(str(text)) or [fold(text)])[0]
        keys = closest(query, labels_of, n=n * 3, cutoff=0.5)
        return list(dict.fromkeys(label for k in keys for label in labels_of[k]))[:n]


def unit_code_key(code: object) -> str:
    """What two spellings of one unit code share, as the lookup reads them: typed as a number
    (18076.0), with spaces, in lower case, an agency's with leading zeros ("CQ02" and "cq2")."""
    return _code_key(_UnitIndex.code_text(code))


class UnitDirectory:
    """Finds a unit by code, name or alias; with or without prefixes and diacritics; on a date.

    The master list is time-versioned: ``resolve(code, name, on=day)`` looks among the units valid
    that day only (reorganisations spec, rule 1: the day is the last day of the period's data
    window), so 18073 is Phường Nam Hà on 14/12/2024 and Phường Thành Sen on 14/12/2026. A code
    retired by then, a name of a unit that had ceased (or not yet begun) by then, or a code and a
    name meaning two units that day raise :class:`LookupProblem` naming what they mean on that day
    and the successor to use (from ``unit_changes.csv``). Without a day, every version counts and a
    code means its newest unit.

    Names are tried as written first (so "Xã Thạch Môn" is the alias of 18103 even if another unit
    were called "Phường Thạch Môn"), then without prefixes and the city's name.
    """

    def __init__(self, units: Iterable[Unit] | None = None, changes: Iterable[UnitChange] | None = None):
        self.units = tuple(units) if units is not None else load_units()
        if changes is None:
            changes = load_unit_changes() if units is None else ()
        self.changes = tuple(changes)
        self._all = _UnitIndex(self.units)
        self.by_code = self._all.by_code
        self._on: dict[dt.date, _UnitIndex] = {}

    def on(self, day: dt.date | None) -> _UnitIndex:
        """The index of the units valid on ``day`` (None: of every version)."""
        if day is None:
            return self._all
        index = self._on.get(day)
        if index is None:
            if len(self._on) > 256:
                self._on.clear()
            index = self._on[day] = _UnitIndex(u for u in self.units if u.valid_on(day))
        return index

    def valid_on(self, day: dt.date) -> list[Unit]:
        """The units valid that day, in file order."""
        return [u for u in self.units if u.valid_on(day)]

    def expected_for(self, period: Period) -> list[Unit]:
        """Who must report for the period (rule 2): the units valid on its window's last day."""
        return self.valid_on(period.window_end)

    # -- by code

    def lookup_code(self, code: object, on: dt.date | None = None) -> Unit | None:
        """The unit of a code as typed ("18076", 18076.0, " cq1 "), valid ``on`` that day."""
        return self.on(on).lookup_code(code)

    # -- by name

    def candidates(self, name: object, on: dt.date | None = None) -> list[Unit]:
        """Every unit the name may mean, at the most specific level that matches anything."""
        return self.on(on).candidates(name)

    def by_name(self, name: object, on: dt.date | None = None) -> Unit | None:
        """The one unit the name or alias means; None when unknown or ambiguous."""
        found = self.candidates(name, on)
        if len({(u.code, u.name) for u in found}) == 1 and on is None:
            return found[0]  # versions of one unit (same code and name): its newest
        return found[0] if len(found) == 1 else None

    def suggest(self, text: object, n: int = 3, on: dt.date | None = None) -> list[str]:
        """Labels ("18076 – Phường Bắc Hà") of the units whose names are closest to ``text``."""
        return self.on(on).suggest(text, n)

    # -- successors

    def successors(self, unit: Unit, on: dt.date, _depth: int = 0) -> list[tuple[str, str]]:
        """(code, name) of the units valid ``on`` that day that took over ``unit``'s territory,
        along the chain of changes (unit_changes.csv); a successor outside the list by its name."""
        if unit.valid_to is None or _depth > 10:
            return []
        out: list[tuple[str, str]] = []
        for change in self.changes:
            if change.old_code != unit.code or change.change_date != unit.valid_to:
                continue
            new = next((u for u in self._all.code_versions(change.new_code)
                        if u.valid_on(change.change_date)), None)
            if new is None:
                out.append((change.new_code, change.new_name))
            elif new.valid_on(on) or new.valid_to is None or new.valid_to > on:
                out.append((new.code, new.name))
            else:
                out += self.successors(new, on, _depth + 1)
        return list(dict.fromkeys(out))

    def _fate(self, unit: Unit, on: dt.date) -> tuple[str, str]:
        """What became of a unit not valid ``on`` that day, in Vietnamese and English."""
        if unit.valid_from and unit.valid_from > on:
            return (f"{unit.name} ({unit.code}) chỉ có từ ngày {_day(unit.valid_from)}",
                    f"{unit.name} ({unit.code}) exists only from {_day(unit.valid_from)}")
        after = self.successors(unit, on)
        if after:
            listed = " và ".join(f"{name}, {code}" for code, name in after)
            listed_en = " and ".join(f"{name}, {code}" for code, name in after)
            return (f"{unit.name} ({unit.code}) đã thôi tồn tại từ ngày {_day(unit.valid_to)}; địa bàn "
                    f"nay thuộc {listed}",
                    f"{unit.name} ceased on {_day(unit.valid_to)}; its territory is now part of {listed_en}")
        return (f"{unit.name} ({unit.code}) đã thôi tồn tại từ ngày {_day(unit.valid_to)} và không có "
                "đơn vị kế thừa trong danh sách",
                f"{unit.name} ({unit.code}) ceased on {_day(unit.valid_to)} and has no successor in the list")

    @staticmethod
    def _latest_per_code(units: Iterable[Unit], on: dt.date) -> list[Unit]:
        """One version per code: the latest that ended by ``on``, else the earliest still to come."""
        best: dict[str, Unit] = {}
        for u in units:
            old = best.get(u.code)
            key = (u.valid_from is None or u.valid_from <= on, u.valid_from or dt.date.min)
            if old is None or key > (old.valid_from is None or old.valid_from <= on, old.valid_from or dt.date.min):
                best[u.code] = u
        return sorted(best.values(), key=lambda u: u.code)

    # -- resolve

    def resolve(self, code: object = None, name: object = None, on: dt.date | None = None) -> Unit:
        """The unit a form names by its code and/or name; :class:`LookupProblem` if none or two.

        ``on``: the last day of the period's data window (rule 1); the units valid that day are
        searched. The code decides when it is known; a known name that means another unit is a
        conflict. An unknown (or missing) code is fine when the name identifies the unit (spec
        §3). A code valid at another date only, or a name of a unit not valid that day, is a
        problem naming the successor.
        """
        code_text, name_text = clean(code), clean(name)
        if not code_text and not name_text:
            raise LookupProblem("missing_unit", "Thiếu «Mã đơn vị» và «Tên đơn vị»",
                                "the unit code and the unit name are both missing")
        index = self.on(on)
        by_code = index.lookup_code(code_text) if code_text else None
        named = index.candidates(name_text) if name_text else []
        if on is not None:
            self._check_validity(code_text, name_text, by_code, named, on)
        at = f"Ngày {_day(on)}, " if on else ""
        at_en = f"on {_day(on)}, " if on else ""
        if by_code is not None and on is None and named and by_code not in named:
            # no day known: any version of the code the name means
            by_code = next((u for u in named if u.code == by_code.code), by_code)
        if by_code is not None:
            if named and by_code not in named:
                other = "; ".join(u.label for u in named)
                raise LookupProblem(
                    "unit_mismatch",
                    f"{at}mã đơn vị «{code_text}» là của {by_code.name}, nhưng tên đơn vị «{name_text}» là "
                    f"của {other}. Hãy sửa cho mã và tên khớp nhau.",
                    f"{at_en}unit code {code_text!r} is {by_code.name}, but the unit name {name_text!r} is "
                    f"{other}; make the code and the name agree",
                )
            return by_code
        if len(named) == 1 or (on is None and len({(u.code, u.name) for u in named}) == 1):
            return named[0]
        if len(named) > 1:
            listed = "; ".join(u.label for u in named)
            raise LookupProblem(
                "ambiguous_unit",
                f"Tên đơn vị «{name_text}» có thể là nhiều đơn vị ({listed}); hãy ghi «Mã đơn vị».",
                f"unit name {name_text!r} may mean several units ({listed}); fill in the unit code",
            )
        shown = " / ".join(x for x in (code_text, name_text) if x)
        hints = self.suggest(name_text or code_text, on=on)
        hint_vi, hint_en = _did_you_mean(hints, "; ", "; ")
        when_vi = f" (các đơn vị có hiệu lực ngày {_day(on)})" if on else ""
        when_en = f" (units valid on {_day(on)})" if on else ""
        raise LookupProblem(
            "unknown_unit",
            f"Không nhận ra đơn vị «{shown}» trong danh sách đơn vị báo cáo{when_vi}.{hint_vi}",
            f"unknown reporting unit {shown!r}{when_en}.{hint_en}",
        )

    def _check_validity(self, code_text: str, name_text: str, by_code: Unit | None, named: list[Unit],
                        on: dt.date) -> None:
        """Rule 1: a code or name known only at other dates is never guessed (quarantined)."""
        code_other = (self._latest_per_code(self._all.code_versions(code_text), on)
                      if code_text and by_code is None else [])
        name_other = (self._latest_per_code(self._all.candidates(name_text), on)
                      if name_text and not named else [])
        # one per name: "Phường Bắc Hà" was 18076, then 18077: the latest says where it went
        name_other = list({u.name: u for u in sorted(
            name_other, key=lambda u: u.valid_to or dt.date.max)}.values())
        if not code_other and not name_other:
            return
        day = _day(on)
        vi: list[str] = []
        en: list[str] = []
        if code_text:
            if by_code is not None:
                vi.append(f"mã «{code_text}» là {by_code.name}")
                en.append(f"code {code_text!r} is {by_code.name}")
            elif code_other:
                vi.append(f"mã «{code_text}» không thuộc đơn vị nào")
                en.append(f"code {code_text!r} belongs to no unit")
        if name_text:
            if named:
                listed = "; ".join(u.label for u in named)
                vi.append(f"tên «{name_text}» là {listed}")
                en.append(f"the name {name_text!r} is {listed}")
            elif name_other:
                vi.append(f"tên «{name_text}» không thuộc đơn vị nào")
                en.append(f"the name {name_text!r} belongs to no unit")
        fates = [self._fate(u, on) for u in dict.fromkeys([*code_other, *name_other])]
        retired = bool(code_other) and all(u.valid_to and u.valid_to <= on for u in code_other)
        ceased = bool(name_other) and all(u.valid_to and u.valid_to <= on for u in name_other)
        problem = ("retired_unit_code" if retired else "ceased_unit" if ceased and not code_other
                   else "unit_not_valid_on_date")
        raise LookupProblem(
            problem,
            f"Ngày {day} (ngày cuối của kỳ báo cáo) {', '.join(vi)}: " + "; ".join(f[0] for f in fates)
            + ". Hãy ghi mã và tên của đơn vị có hiệu lực vào ngày đó.",
            f"on {day} (the last day of the period's window) {', '.join(en)}: " + "; ".join(f[1] for f in fates)
            + ". Write the code and the name of the unit valid that day.",
        )


# ----------------------------------------------------------------------------------------- fields


def _loose_key(key: str) -> str:
    """A folded field name without its joining words, spaces or punctuation: "xay dung dang va he
    thong chinh tri" and "xay dung dang he thong chinh tri" (a comma instead of "và") meet."""
    words = key.split()
    if not words or words[0] in ("va", "and") or words[-1] in ("va", "and"):
        return key.replace(" ", "")  # "Kinh tế và" is cut short, not a field's name
    return "".join(w for w in words if w not in ("va", "and"))


class FieldDirectory:
    """Finds a field by code, name or alias (spec §1), with or without diacritics, with "và" or a
    comma between its words ("Xây dựng Đảng, hệ thống chính trị", "Quốc phòng và an ninh")."""

    def __init__(self, fields: Iterable[Field] | None = None):
        self.fields = tuple(fields) if fields is not None else load_fields()
        self.by_code = {f.code: f for f in self.fields}
        self._by_key: dict[str, str] = {}
        self._by_compact: dict[str, str] = {}
        self._by_loose: dict[str, str] = {}
        for f in self.fields:
            for text in (f.code, f.name_vi, f.name_en, *f.aliases):
                self._by_key.setdefault(fold(text), f.code)
                self._by_compact.setdefault(fold_compact(text), f.code)
                self._by_loose.setdefault(_loose_key(fold(text)), f.code)

    def resolve(self, text: object) -> str | None:
        """The field code of a code, name or alias; None when unknown."""
        key = fold(text)
        if key.startswith("linh vuc ") and key not in self._by_key:
            key = key[len("linh vuc "):]
        return (self._by_key.get(key) or self._by_compact.get(key.replace(" ", ""))
                or self._by_loose.get(_loose_key(key)))

    def valid_list(self) -> str:
        return "; ".join(f.label for f in self.fields)

    def suggest(self, text: object, n: int = 2) -> list[str]:
        """Labels ("VHXH – Văn hóa - xã hội") of the fields closest to ``text``."""
        code_of: dict[str, str] = {}
        for f in self.fields:
            for name in (f.name_vi, *f.aliases):
                code_of.setdefault(name, f.code)
        near = closest(text, code_of, n=n * 3, cutoff=0.5)
        codes = list(dict.fromkeys(code_of[name] for name in near))[:n]
        return [self.by_code[c].label for c in codes]

    def require(self, text: object) -> str:
        """The field code, or :class:`LookupProblem` naming the valid fields and the closest."""
        code = self.resolve(text)
        if code is not None:
            return code
        shown = clean(text)
        if not shown:
            raise LookupProblem("missing_value", "Thiếu «Lĩnh vực»", "the field (Lĩnh vực) is empty")
        hints = self.suggest(shown)
        hint_vi, hint_en = _did_you_mean(hints, " hoặc ", " or ")
        raise LookupProblem(
            "unknown_field",
            f"Không nhận ra lĩnh vực «{shown}». Các lĩnh vực hợp lệ: {self.valid_list()}.{hint_vi}",
            f"unknown field {shown!r}. Valid fields: {self.valid_list()}.{hint_en}",
        )


# ------------------------------------------------------------------------------------------ kinds

KIND_NEW, KIND_REPLICATED = "new", "replicated"
_KINDS = {
    KIND_NEW: ("xay moi", "moi", "xd moi", "xay dung moi", "tao moi", "xm", "new"),
    KIND_REPLICATED: (
        "nhan rong", "duy tri", "duy tri nhan rong", "duy tri va nhan rong", "duy tri hoac nhan rong",
        "nhan rong duy tri", "nhan rong va duy tri", "tiep tuc duy tri", "nr", "dt", "replicated",
        "maintained",
    ),
}
_KIND_BY_KEY = {key: kind for kind, keys in _KINDS.items() for key in keys}
_KIND_BY_COMPACT = {key.replace(" ", ""): kind for key, kind in _KIND_BY_KEY.items()}
KIND_LABELS_VI = {KIND_NEW: "Xây mới", KIND_REPLICATED: "Nhân rộng"}


def resolve_kind(text: object) -> str | None:
    """``new`` (Xây mới) or ``replicated`` (Nhân rộng, Duy trì, Duy trì, nhân rộng); None if unknown."""
    key = fold(text)
    return _KIND_BY_KEY.get(key) or _KIND_BY_COMPACT.get(key.replace(" ", ""))


def require_kind(text: object) -> str:
    """The kind, or :class:`LookupProblem` listing what may be written."""
    kind = resolve_kind(text)
    if kind is not None:
        return kind
    shown = clean(text)
    if not shown:
        raise LookupProblem("missing_value", "Thiếu «Hình thức»", "the kind (Hình thức) is empty")
    raise LookupProblem(
        "unknown_kind",
        f"Không nhận ra hình thức «{shown}». Hãy ghi «Xây mới» hoặc «Nhân rộng» (hoặc «Duy trì», "
        "«Duy trì, nhân rộng»).",
        f"unknown kind {shown!r}: write Xây mới (new) or Nhân rộng / Duy trì / Duy trì, nhân rộng (replicated)",
    )
