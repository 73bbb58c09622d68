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
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dvk.settings import SEEDS_DIR
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
    code: str
    name: str
    kind: str
    parent_code: str | None
    aliases: tuple[str, ...]
    expected_from: int | None
    expected_to: int | None

    @property
    def label(self) -> str:
        return f"{self.code} – {self.name}"

    def expected_in(self, year: int) -> bool:
        return (self.expected_from is None or self.expected_from <= year) and (
            self.expected_to is None or year <= self.expected_to)


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


@lru_cache(maxsize=8)
def load_units(seeds_dir: Path = SEEDS_DIR) -> tuple[Unit, ...]:
    """The master list of reporting units (``reporting_units.csv``), in file order."""
    with open(Path(seeds_dir) / "reporting_units.csv", encoding="utf-8-sig", newline="") as fh:
        return tuple(
            Unit(
                code=clean(row["code"]).upper(),
                name=clean(row["name"]),
                kind=clean(row["kind"]),
                parent_code=clean(row.get("parent_code")) or None,
                aliases=_split_aliases(row.get("aliases")),
                expected_from=_int_or_none(row.get("expected_from")),
                expected_to=_int_or_none(row.get("expected_to")),
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


class UnitDirectory:
    """Finds a unit by code, name or alias; with or without prefixes and diacritics.

    Names are tried as written first (so "Xã Thạch Môn" is the alias of 18103 even if another unit
    were called "Phường Thạch Môn"), then without prefixes and the city's name.
    """

    def __init__(self, units: Iterable[Unit] | None = None):
        self.units = tuple(units) if units is not None else load_units()
        self.by_code = {u.code.upper(): u for u in self.units}
        # "CQ5", "CQ05" and "CQ0005" are one agency code, whichever way the master list writes it.
        self._by_code_key: dict[str, Unit] = {}
        for unit in self.units:
            self._by_code_key.setdefault(_code_key(unit.code.upper()), unit)
        self._full: dict[str, set[str]] = {}
        self._bare: dict[str, set[str]] = {}
        for unit in self.units:
            for text in (unit.name, *unit.aliases):
                for key in _full_keys(text):
                    self._full.setdefault(key, set()).add(unit.code)
                for key in _bare_keys(text):
                    self._bare.setdefault(key, set()).add(unit.code)

    # -- by code

    def lookup_code(self, code: object) -> Unit | None:
        """The unit of a code as typed: "18076", 18076.0 (a number cell), " cq1 "."""
        text = clean(code).upper().replace(" ", "")
        if re.fullmatch(r"\d+\.0+", text):  # a code typed as a number in Excel
            text = text.split(".")[0]
        return self.by_code.get(text) or self._by_code_key.get(_code_key(text))

    # -- by name

    def candidates(self, name: object) -> list[Unit]:
        """Every unit the name may mean, at the most specific level that matches anything."""
        text = clean(name)
        if not text:
            return []
        for index, keys in ((self._full, _full_keys(text)), (self._bare, _bare_keys(text))):
            codes: set[str] = set()
            for key in keys:
                codes |= index.get(key, set())
            if codes:
                return sorted((self.by_code[c] for c in codes), key=lambda u: u.code)
        return []

    def by_name(self, name: object) -> Unit | None:
        """The one unit the name or alias means; None when unknown or ambiguous."""
        found = self.candidates(name)
        return found[0] if len(found) == 1 else None

    def suggest(self, text: object, n: int = 3) -> list[str]:
        """Labels ("18076 – Phường Bắc Hà") of the units whose names are closest to ``text``."""
        label_of: dict[str, str] = {}
        for key, codes in self._bare.items():
            for code in sorted(codes):
                label_of.setdefault(key, self.by_code[code].label)
        query = (_bare_keys(str(text)) or [fold(text)])[0]
        keys = closest(query, label_of, n=n * 3, cutoff=0.5)
        return list(dict.fromkeys(label_of[k] for k in keys))[:n]

    def resolve(self, code: object = None, name: object = None) -> Unit:
        """The unit a form names by its code and/or name; :class:`LookupProblem` if none or two.

        The code decides when it is known; a known name that means another unit is a conflict.
        An unknown (or missing) code is fine when the name identifies the unit (spec §3).
        """
        code_text, name_text = clean(code), clean(name)
        if not code_text and not name_text:
            raise LookupProblem("missing_unit", "Thiếu «Mã đơn vị» và «Tên đơn vị»",
                                "the unit code and the unit name are both missing")
        by_code = self.lookup_code(code_text) if code_text else None
        named = self.candidates(name_text) if name_text else []
        if by_code is not None:
            if named and by_code not in named:
                other = "; ".join(u.label for u in named)
                raise LookupProblem(
                    "unit_mismatch",
                    f"Mã đơn vị «{code_text}» là của {by_code.name}, nhưng tên đơn vị «{name_text}» là của "
                    f"{other}. Hãy sửa cho mã và tên khớp nhau.",
                    f"unit code {code_text!r} is {by_code.name}, but the unit name {name_text!r} is {other}; "
                    "make the code and the name agree",
                )
            return by_code
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            listed = "; ".join(u.label for u in named)
            raise LookupProblem(
                "ambiguous_unit",
                f"Tên đơn vị «{name_text}» có thể là nhiều đơn vị ({listed}); hãy ghi «Mã đơn vị».",
                f"unit name {name_text!r} may mean several units ({listed}); fill in the unit code",
            )
        shown = " / ".join(x for x in (code_text, name_text) if x)
        hints = self.suggest(name_text or code_text)
        hint_vi = f" Có phải là: {'; '.join(hints)}?" if hints else ""
        hint_en = f" Did you mean: {'; '.join(hints)}?" if hints else ""
        raise LookupProblem(
            "unknown_unit",
            f"Không nhận ra đơn vị «{shown}» trong danh sách đơn vị báo cáo.{hint_vi}",
            f"unknown reporting unit {shown!r}.{hint_en}",
        )


# ----------------------------------------------------------------------------------------- fields


class FieldDirectory:
    """Finds a field by code, name or alias (spec §1), with or without diacritics."""

    def __init__(self, fields: Iterable[Field] | None = None):
        self.fields = tuple(fields) if fields is not None else load_fields()
        self.by_code = {f.code: f for f in self.fields}
        self._by_key: dict[str, str] = {}
        self._by_compact: dict[str, str] = {}
        for f in self.fields:
            for text in (f.code, f.name_vi, f.name_en, *f.aliases):
                self._by_key.setdefault(fold(text), f.code)
                self._by_compact.setdefault(fold_compact(text), f.code)

    def resolve(self, text: object) -> str | None:
        """The field code of a code, name or alias; None when unknown."""
        key = fold(text)
        if key.startswith("linh vuc ") and key not in self._by_key:
            key = key[len("linh vuc "):]
        return self._by_key.get(key) or self._by_compact.get(key.replace(" ", ""))

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
        hint_vi = f" Có phải là: {' hoặc '.join(hints)}?" if hints else ""
        hint_en = f" Did you mean: {' or '.join(hints)}?" if hints else ""
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
