"""Vietnamese text: Unicode NFC, trimmed and folded spaces, and a diacritics-free key for matching."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def clean(value: object) -> str:
    """NFC text with surrounding spaces trimmed and inner runs of spaces folded to one."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value)).replace("\u00a0", " ")
    return _SPACES.sub(" ", text).strip()


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return bare.replace("đ", "d").replace("Đ", "D")


def fold(value: object) -> str:
    """Matching key: lower case, no diacritics, punctuation and spaces folded to one space."""
    return _NON_ALNUM.sub(" ", strip_accents(clean(value)).lower()).strip()
