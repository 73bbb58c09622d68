"""Reference data shared with dbt: units and fields from ``dbt_project/seeds/``, and their matching."""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dvk.settings import SEEDS_DIR
from dvk.text import clean, fold

# Prefixes written before a unit's name; matched on folded text, longest first.
_UNIT_PREFIXES = (
    "uy ban nhan dan", "ubnd", "dang uy", "phuong", "xa", "thi tran", "p", "x",
)
_PREFIX_RE = re.compile(r"^(?:(?:%s)\s+)+" % "|".join(_UNIT_PREFIXES))


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str
    aliases: tuple[str, ...]
    expected_from: int | None
    expected_to: int | None


@dataclass(frozen=True)
class Field:
    code: str
    name_vi: str
    name_en: str
    aliases: tuple[str, ...]


def _split_aliases(value: str) -> tuple[str, ...]:
    return tuple(a for a in (clean(x) for x in (value or "").split(";")) if a)


def _int_or_none(value: str) -> int | None:
    value = (value or "").strip()
    return int(value) if value else None


@lru_cache(maxsize=4)
def load_units(seeds_dir: Path = SEEDS_DIR) -> tuple[Unit, ...]:
    with open(seeds_dir / "reporting_units.csv", encoding="utf-8-sig", newline="") as fh:
        return tuple(
            Unit(
                code=clean(row["code"]),
                name=clean(row["name"]),
                kind=clean(row["kind"]),
                aliases=_split_aliases(row.get("aliases", "")),
                expected_from=_int_or_none(row.get("expected_from", "")),
                expected_to=_int_or_none(row.get("expected_to", "")),
            )
            for row in csv.DictReader(fh)
        )


@lru_cache(maxsize=4)
def load_fields(seeds_dir: Path = SEEDS_DIR) -> tuple[Field, ...]:
    with open(seeds_dir / "fields.csv", encoding="utf-8-sig", newline="") as fh:
        return tuple(
            Field(
                code=clean(row["field_code"]),
                name_vi=clean(row["field_name_vi"]),
                name_en=clean(row["field_name_en"]),
                aliases=_split_aliases(row.get("aliases", "")),
            )
            for row in csv.DictReader(fh)
        )


def _strip_unit_prefix(key: str) -> str:
    return _PREFIX_RE.sub("", key).strip()


def _unit_key_variants(text: str) -> set[str]:
    key = fold(text)
    keys = {key, _strip_unit_prefix(key)}
    # "thành phố" / "TP" are written either way after agency names.
    keys |= {k.replace("thanh pho", "tp") for k in list(keys)}
    return {k for k in keys if k}


class UnitDirectory:
    """Finds a unit by code, name or alias; with or without prefixes and diacritics."""

    def __init__(self, units: tuple[Unit, ...] | None = None):
        self.units = units if units is not None else load_units()
        self.by_code = {u.code.upper(): u for u in self.units}
        self._by_key: dict[str, set[str]] = {}
        for unit in self.units:
            for text in (unit.name, *unit.aliases):
                for key in _unit_key_variants(text):
                    self._by_key.setdefault(key, set()).add(unit.code)

    def by_name(self, name: str) -> Unit | None:
        codes: set[str] = set()
        for key in _unit_key_variants(name):
            codes |= self._by_key.get(key, set())
        return self.by_code[next(iter(codes))] if len(codes) == 1 else None

    def lookup_code(self, code: str) -> Unit | None:
        code = clean(code).upper()
        if code.endswith(".0"):  # a code typed as a number in Excel
            code = code[:-2]
        return self.by_code.get(code)

    def suggest(self, text: str, n: int = 3) -> list[str]:
        key = _strip_unit_prefix(fold(text))
        labels = {k: c for k, cs in self._by_key.items() for c in cs}
        close = difflib.get_close_matches(key, list(labels), n=n * 2, cutoff=0.5)
        seen: list[str] = []
        for k in close:
            unit = self.by_code[labels[k]]
            label = f"{unit.code} – {unit.name}"
            if label not in seen:
                seen.append(label)
        return seen[:n]


class FieldDirectory:
    """Finds a field by code, name or alias (spec §1), with or without diacritics."""

    def __init__(self, fields: tuple[Field, ...] | None = None):
        self.fields = fields if fields is not None else load_fields()
        self._by_key: dict[str, str] = {}
        for f in self.fields:
            for text in (f.code, f.name_vi, *f.aliases):
                self._by_key[fold(text)] = f.code

    def resolve(self, text: str) -> str | None:
        key = fold(text)
        if key.startswith("linh vuc "):
            key = key[len("linh vuc "):]
        return self._by_key.get(key)

    def suggest(self, text: str, n: int = 3) -> list[str]:
        names = {fold(f.name_vi): f"{f.code} – {f.name_vi}" for f in self.fields}
        close = difflib.get_close_matches(fold(text), list(names), n=n, cutoff=0.3)
        return [names[k] for k in close] or [f"{f.code} – {f.name_vi}" for f in self.fields]


_NEW = {"xay moi", "moi", "xd moi", "xay dung moi", "new"}
_REPLICATED = {"nhan rong", "duy tri", "duy tri nhan rong", "duy tri va nhan rong", "replicated"}


def resolve_kind(text: str) -> str | None:
    """``new`` (Xây mới) or ``replicated`` (Nhân rộng, Duy trì, Duy trì, nhân rộng)."""
    key = fold(text)
    if key in _NEW:
        return "new"
    if key in _REPLICATED:
        return "replicated"
    return None
