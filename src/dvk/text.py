"""Vietnamese text: Unicode NFC, legacy TCVN3 / VNI repaired, spaces folded, and a matching key.

Clerks type on many machines. Besides composed (NFC) and decomposed (NFD) Unicode, text still
arrives in two legacy 8-bit encodings, stored by Excel as the Latin-1 characters of their bytes:

* **TCVN3** (TCVN 5712:1993 VN3, the "ABC" keyboard with the ``.VnTime`` fonts): one byte per
  precomposed lower-case letter, e.g. "Phường Bắc Hà" arrives as ``"Ph\\xadêng B¾c Hµ"``. VN3 has
  upper-case codes only for Ă Â Ê Ô Ơ Ư Đ (the ``.VnTimeH`` fonts draw lower-case codes as capitals);
  the other capitals of TCVN 5712 (VN1/VN2) are decoded too.
* **VNI** (VNI-Windows, the ``VNI-Times`` fonts): the base letter followed by a Latin-1 character
  for the diacritic, e.g. "Phường Bắc Hà" arrives as ``"Phöôøng Baéc Haø"``.

:func:`clean` (used for every text cell) detects both and converts them; :func:`detect_legacy`
says which it saw. Detection only ever looks at text made of ASCII and Latin-1 characters with no
Vietnamese letter beyond Latin-1 (real Unicode Vietnamese nearly always has one: ă đ ơ ư ạ ả ...),
and converts only when the converted words are valid Vietnamese syllables and the text as it came
is not: "Quý I/2022", "Tân", "Hà", "Café" are left alone. The encoders
(:func:`unicode_to_tcvn3`, :func:`unicode_to_vni`) exist for tests and the test corpus.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_ZERO_WIDTH_AND_SOFT_HYPHEN = _ZERO_WIDTH | {0xAD: None}  # U+00AD is TCVN3's "ư": dropped only once decoded
_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_ZERO_WIDTH_OR_SOFT_HYPHEN_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")

# --------------------------------------------------------------------------- the two tables

#: Unicode letter → TCVN3 character (VN3: lower case and Ă Â Ê Ô Ơ Ư Đ).
_TCVN3_VN3: dict[str, str] = dict(zip(
    "àảãáạăằẳẵắặâầẩẫấậđèẻẽéẹêềểễếệìỉĩíịòỏõóọôồổỗốộơờởỡớợùủũúụưừửữứựỳỷỹýỵĂÂÊÔƠƯĐ",
    "\xb5\xb6\xb7\xb8\xb9\xa8\xbb\xbc\xbd\xbe\xc6\xa9\xc7\xc8\xc9\xca\xcb\xae\xcc\xce\xcf\xd0\xd1"
    "\xaa\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xdc\xdd\xde\xdf\xe1\xe2\xe3\xe4\xab\xe5\xe6\xe7\xe8\xe9"
    "\xac\xea\xeb\xec\xed\xee\xef\xf1\xf2\xf3\xf4\xad\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe"
    "\xa1\xa2\xa3\xa4\xa5\xa6\xa7",
    strict=True,
))
#: The capitals TCVN 5712 (VN1/VN2) places in the Latin-1 range; decoded, never produced.
_TCVN3_VN1_CAPITALS: dict[str, str] = dict(zip(
    "ẰẲẴẮẦẨẪẤỀỂỄẾỒỔỖỐ",
    "\xaf\xba\xbf\xc0\xc1\xc2\xc3\xc4\xc5\xcd\xd9\xda\xdb\xe0\xf0\xff",
    strict=True,
))
_TCVN3_DECODE: dict[int, str] = {ord(v): k for k, v in (_TCVN3_VN3 | _TCVN3_VN1_CAPITALS).items()}

# VNI: tone suffixes in the order none, sắc (acute), huyền (grave), hỏi (hook), ngã (tilde), nặng (dot).
_TONES = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")
_VNI_TONE = ("", "ù", "ø", "û", "õ", "ï")
_VNI_CIRCUMFLEX = ("â", "á", "à", "å", "ã", "ä")  # â ê ô with their tones
_VNI_BREVE = ("ê", "é", "è", "ú", "ü", "ë")  # ă with its tones


def _vni_table() -> dict[str, str]:
    """Unicode letter → VNI string, for every Vietnamese letter in both cases."""
    table: dict[str, str] = {}

    def add(base: str, marks: str, sequence: tuple[str, ...]) -> None:
        for tone, suffix in zip(_TONES, sequence):
            letter = unicodedata.normalize("NFC", base + marks + tone)
            table[letter] = suffix
            table[letter.upper()] = suffix.upper()

    for vowel in "aeouy":
        add(vowel, "", tuple(vowel + t for t in _VNI_TONE))
    for vowel in "aeo":
        add(vowel, "\u0302", tuple(vowel + t for t in _VNI_CIRCUMFLEX))
    add("a", "\u0306", tuple("a" + t for t in _VNI_BREVE))
    add("o", "\u031b", tuple("ô" + t for t in _VNI_TONE))  # ơ is "ô"
    add("u", "\u031b", tuple("ö" + t for t in _VNI_TONE))  # ư is "ö"
    add("i", "", ("i", "í", "ì", "æ", "ó", "ò"))
    table["ỵ"], table["Ỵ"] = "î", "Î"  # y with a dot below is one character
    table["đ"], table["Đ"] = "ñ", "Ñ"
    return {k: v for k, v in table.items() if k != v}


_VNI_ENCODE = _vni_table()
_VNI_DECODE: dict[str, str] = {}
for _letter, _seq in _VNI_ENCODE.items():
    _VNI_DECODE[_seq] = _letter
    if len(_seq) == 2:  # the mark's case may not follow the base letter's
        _VNI_DECODE.setdefault(_seq[0] + _seq[1].swapcase(), _letter)
_VNI_MARKS = frozenset(seq[1] for seq in _VNI_DECODE if len(seq) == 2)
_VNI_SINGLE = {seq: letter for seq, letter in _VNI_DECODE.items() if len(seq) == 1}
del _letter, _seq


def unicode_to_tcvn3(text: str) -> str:
    """Unicode → TCVN3 (as Excel stores it: the Latin-1 characters of the bytes).

    Capitals with a tone have no VN3 code: like the ``.VnTimeH`` fonts, they get the lower-case code.
    """
    out = []
    for ch in unicodedata.normalize("NFC", text):
        code = _TCVN3_VN3.get(ch)
        if code is None and ch != ch.lower():
            code = _TCVN3_VN3.get(ch.lower())
        out.append(code if code is not None else ch)
    return "".join(out)


def unicode_to_vni(text: str) -> str:
    """Unicode → VNI-Windows (as Excel stores it: the Latin-1 characters of the bytes)."""
    return "".join(_VNI_ENCODE.get(ch, ch) for ch in unicodedata.normalize("NFC", text))


def tcvn3_to_unicode(text: str) -> str:
    """TCVN3 → Unicode NFC, character by character (no detection: see :func:`fix_legacy`)."""
    return text.translate(_TCVN3_DECODE)


def vni_to_unicode(text: str) -> str:
    """VNI → Unicode NFC: a base letter and its mark become one letter (no detection)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        pair = text[i:i + 2]
        if len(pair) == 2 and pair[1] in _VNI_MARKS and pair in _VNI_DECODE:
            out.append(_VNI_DECODE[pair])
            i += 2
            continue
        out.append(_VNI_SINGLE.get(text[i], text[i]))
        i += 1
    return "".join(out)


# --------------------------------------------------------------------------- detection

# A Vietnamese letter (or a combining mark) beyond Latin-1: the text is Unicode already.
_BEYOND_LATIN1 = re.compile("[\u0102\u0103\u0110\u0111\u0128\u0129\u0168\u0169\u01a0\u01a1\u01af\u01b0"
                            "\u0300-\u036f\u1ea0-\u1ef9]")
_LATIN1_HIGH = re.compile("[\u00a1-\u00ff]")
_WORD = re.compile(r"[^\s!-@\[-`{-~\u2010-\u206f]+")  # split on spaces, ASCII punctuation, digits
_TONE_MARKS = frozenset(_TONES[1:])
_INITIALS = ("ngh", "ng", "gh", "gi", "kh", "nh", "ph", "qu", "th", "tr", "ch",
             "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "")
_FINALS = ("ch", "ng", "nh", "c", "m", "n", "p", "t")
# Vowel clusters (tone removed): those that end the syllable (with the index of the vowel that
# carries the tone), those that need a final consonant, and those that take either.
_OPEN_ONLY = {c: 0 for c in "ai ao au ay âu ây eo êu ia iu oi ôi ơi ua ui ưa ưi ưu".split()} | {
    c: 1 for c in "oai oao oay oeo uây uôi ươi ươu iêu yêu uya uyu".split()}
_NEED_FINAL = frozenset("ă â iê yê uô ươ uyê oă uâ".split())
_EITHER = frozenset("a e ê i o ô ơ u ư y oa oe uê uy uơ".split())
_BEFORE_CH_NH = frozenset("a ê i y oa uê uy".split())  # "ach", "ênh", "inh", "uych", "oanh"
_RARE = {"oo": ("ng", "c")}  # xoong, boong, soóc: loanwords
_VIET_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") | frozenset(
    letter
    for base in ("a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y")
    for tone in _TONES
    for letter in (unicodedata.normalize("NFC", base + tone), unicodedata.normalize("NFC", base + tone).upper())
) | {"đ", "Đ"}
_CONSONANTS = frozenset("bcdđfghjklmnpqrstvwxz")


@lru_cache(maxsize=8192)
def _syllable_penalty(word: str) -> float:
    """0 for a Vietnamese syllable (initial, vowel cluster, final, one tone in its place),
    0.5 for a rare loanword shape, 1 for anything else."""
    if any(ch not in _VIET_LETTERS for ch in word):
        return 1.0
    decomposed = unicodedata.normalize("NFD", word.lower())
    base_chars: list[str] = []
    tone_at = None
    for ch in decomposed:
        if ch in _TONE_MARKS:
            if tone_at is not None:
                return 1.0
            tone_at = len(unicodedata.normalize("NFC", "".join(base_chars))) - 1
        else:
            base_chars.append(ch)
    base = unicodedata.normalize("NFC", "".join(base_chars))
    if all(ch in _CONSONANTS for ch in base):
        return 0.0  # "ĐT", "HĐND": an abbreviation
    for initial in _INITIALS:
        if not base.startswith(initial):
            continue
        rest = base[len(initial):]
        if rest in _OPEN_ONLY:
            if tone_at is None or tone_at - len(initial) == _OPEN_ONLY[rest]:
                return 0.0
            continue
        if rest in _EITHER:
            return 0.0
        for final in _FINALS:
            if rest.endswith(final) and len(rest) > len(final):
                vowels = rest[: -len(final)]
                if final in ("ch", "nh") and vowels not in _BEFORE_CH_NH:
                    continue
                if vowels in _NEED_FINAL or vowels in _EITHER:
                    return 0.0
                if final in _RARE.get(vowels, ()):
                    return 0.5
    return 1.0


def _is_syllable(word: str) -> bool:
    return _syllable_penalty(word) == 0.0


def _word_penalty(word: str) -> float:
    if word.isascii() or not any("a" <= ch <= "z" or "A" <= ch <= "Z" for ch in word):
        return 0.0  # ASCII words and lone symbols say nothing
    for prev, ch in zip(word, word[1:]):
        if ch in _LATIN1_CAPITALS and "a" <= prev <= "z":
            return 1.0  # "vËn", "tuÊn": a capital after a small letter is TCVN3, not Vietnamese
    return _syllable_penalty(word)


_LATIN1_CAPITALS = frozenset(chr(c) for c in range(0xC0, 0xDF) if c != 0xD7)


def _penalty(text: str) -> float:
    """How far the words mixing ASCII and other letters are from Vietnamese syllables."""
    return sum(_word_penalty(word) for word in _WORD.findall(text))


def _restore_capitals(original: str, converted: str) -> str:
    """TCVN3 typed with a capitals font (.VnTimeH) uses lower-case codes: ASCII capitals tell."""
    letters = [ch for ch in original if ch.isascii() and ch.isalpha()]
    if len(letters) >= 2 and all(ch.isupper() for ch in letters):
        return converted.upper()
    return converted


_DECODERS = {"tcvn3": tcvn3_to_unicode, "vni": vni_to_unicode}


def _detect(text: str) -> str | None:
    if text.isascii() or _BEYOND_LATIN1.search(text) or not _LATIN1_HIGH.search(text):
        return None
    as_is = _penalty(text)
    if as_is == 0:
        return None
    best, best_bad = None, as_is
    for name, decode in _DECODERS.items():
        bad = _penalty(decode(text))
        if bad < best_bad:
            best, best_bad = name, bad
    return best


@lru_cache(maxsize=8192)
def detect_legacy(text: str) -> str | None:
    """``"tcvn3"`` or ``"vni"`` when ``text`` is Vietnamese typed in that legacy encoding, else None."""
    return _detect(text)


def detect_legacy_file(text: str) -> str | None:
    """The legacy encoding of a whole file's (or sheet's) text, decided from all of it at once
    (the same test as :func:`detect_legacy`, uncached: a file's text is seen once).

    A cell alone can be ambiguous: the TCVN3 forms of "Số hộ tham gia" and "Ghi chú" ("Sè hé tham
    gia", "Ghi chó") are valid Unicode words too. The file as a whole is not: its other words are
    not syllables until converted. Only text without any Vietnamese letter beyond Latin-1 is a
    candidate (a file with real Unicode Vietnamese is Unicode)."""
    return _detect(text)


def fix_legacy(text: str, prefer: str | None = None) -> str:
    """``text`` converted to Unicode if it is TCVN3 or VNI (see :func:`detect_legacy`), else as is.

    ``prefer``: the encoding of the whole file (:func:`detect_legacy_file`); a text that reads as
    Vietnamese both as it is and converted is then converted."""
    kind = detect_legacy(text)
    if (kind is None and prefer in _DECODERS and not text.isascii() and not _BEYOND_LATIN1.search(text)
            and _LATIN1_HIGH.search(text) and _penalty(_DECODERS[prefer](text)) <= _penalty(text)):
        kind = prefer
    if kind == "tcvn3":
        return _restore_capitals(text, tcvn3_to_unicode(text))
    if kind == "vni":
        return vni_to_unicode(text)
    return text


# --------------------------------------------------------------------------- cleaning and keys


#: ANSI escape sequences (ESC [ ... letter, ESC ] ... BEL/ST) and the control characters (C0 but
#: the whitespace ones, DEL, C1): removed from every text at the ingest. Tab and newline are
#: whitespace: :func:`clean` folds them (with every other run of spaces) into one space.
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """``text`` without escape sequences and control characters (whitespace kept)."""
    if text.isprintable():
        return text
    if "\x1b" in text:
        text = _ESCAPE_SEQUENCE.sub("", text)
    return _CONTROL.sub("", text)


def clean(value: object) -> str:
    """NFC text, legacy encodings converted, control characters and zero-width characters dropped,
    spaces (tabs, newlines) trimmed and folded into one."""
    if value is None:
        return ""
    text = value if type(value) is str else str(value)
    if text.isascii():
        if not text.isprintable():
            text = strip_controls(text)
        return " ".join(text.split())
    return _clean_unicode(text)


@lru_cache(maxsize=65536)
def _clean_unicode(text: str) -> str:
    """:func:`clean` of a non-ASCII text (memoised: names of fields, kinds and units repeat)."""
    if not text.isprintable():
        text = strip_controls(text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if not _BEYOND_LATIN1.search(text) and _LATIN1_HIGH.search(text):
        fixed = fix_legacy(text)
        if fixed is text:  # not legacy after all: keep a lone U+00AD (it may still be a TCVN3 "ư")
            if _ZERO_WIDTH_RE.search(text):
                text = text.translate(_ZERO_WIDTH)
            return " ".join(text.split())
        text = fixed
    if _ZERO_WIDTH_OR_SOFT_HYPHEN_RE.search(text):
        text = text.translate(_ZERO_WIDTH_AND_SOFT_HYPHEN)
    return " ".join(text.split())


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return bare.replace("đ", "d").replace("Đ", "D")


@lru_cache(maxsize=16384)
def _fold(text: str) -> str:
    return _NON_ALNUM.sub(" ", strip_accents(clean(text)).lower()).strip()


def fold(value: object) -> str:
    """Matching key: lower case, no diacritics, punctuation and spaces folded to one space."""
    if value is None:
        return ""
    return _fold(value if type(value) is str else str(value))


def fold_compact(value: object) -> str:
    """The fold key without any space: "Thông tin", "ThongTin" and "thong_tin" all give "thongtin"."""
    return fold(value).replace(" ", "")


def closest(query: object, candidates: Iterable[str], n: int = 3, cutoff: float = 0.5) -> list[str]:
    """The candidates nearest to ``query`` by their fold keys (difflib), best first, no repeats."""
    by_key: dict[str, str] = {}
    for candidate in candidates:
        by_key.setdefault(fold(candidate), candidate)
    keys = difflib.get_close_matches(fold(query), list(by_key), n=n, cutoff=cutoff)
    return [by_key[k] for k in keys]
