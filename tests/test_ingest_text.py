"""Legacy Vietnamese encodings (TCVN3 / VNI): the tables, their detection, and what must not change."""

from __future__ import annotations

import csv
import shutil
import subprocess
import unicodedata

import pytest

from dvk.settings import SEEDS_DIR
from dvk.text import (
    clean,
    detect_legacy,
    fix_legacy,
    fold,
    tcvn3_to_unicode,
    unicode_to_tcvn3,
    unicode_to_vni,
    vni_to_unicode,
)

TONES = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")
BASES = ("a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y")
#: Every Vietnamese letter with a diacritic, lower case (a-y with tones, ă â ê ô ơ ư, đ): 67 + 1.
LOWER = sorted({unicodedata.normalize("NFC", b + t) for b in BASES for t in TONES} - set("aeiouy") | {"đ"})
UPPER = [ch.upper() for ch in LOWER]


def test_the_alphabet_is_complete():
    assert len(LOWER) == 67 and len(set(UPPER)) == 67  # 12 vowels × 6 tones - 6 plain ASCII + đ


def test_tcvn3_round_trips_every_lower_case_letter_and_its_seven_capitals():
    for ch in LOWER + ["Ă", "Â", "Ê", "Ô", "Ơ", "Ư", "Đ"]:
        code = unicode_to_tcvn3(ch)
        assert len(code) == 1 and "\u00a1" <= code <= "\u00ff", ch
        assert tcvn3_to_unicode(code) == ch
    codes = [unicode_to_tcvn3(ch) for ch in LOWER + ["Ă", "Â", "Ê", "Ô", "Ơ", "Ư", "Đ"]]
    assert len(set(codes)) == len(codes)  # one code a letter


def test_tcvn3_capitals_with_a_tone_take_the_lower_case_code():
    # VN3 has no capital with a tone; the .VnTimeH fonts draw the lower-case code as a capital.
    for lower, upper in zip(LOWER, UPPER):
        if upper not in "ĂÂÊÔƠƯĐ":
            assert unicode_to_tcvn3(upper) == unicode_to_tcvn3(lower)


@pytest.mark.parametrize(("code", "letter"), [
    ("\xb5", "à"), ("\xb8", "á"), ("\xb6", "ả"), ("\xb7", "ã"), ("\xb9", "ạ"), ("\xa8", "ă"), ("\xbe", "ắ"),
    ("\xa9", "â"), ("\xca", "ấ"), ("\xae", "đ"), ("\xd0", "é"), ("\xaa", "ê"), ("\xd5", "ế"), ("\xdd", "í"),
    ("\xe3", "ó"), ("\xab", "ô"), ("\xe8", "ố"), ("\xac", "ơ"), ("\xed", "ớ"), ("\xf3", "ú"), ("\xad", "ư"),
    ("\xf8", "ứ"), ("\xfd", "ý"), ("\xfe", "ỵ"), ("\xa1", "Ă"), ("\xa2", "Â"), ("\xa3", "Ê"), ("\xa4", "Ô"),
    ("\xa5", "Ơ"), ("\xa6", "Ư"), ("\xa7", "Đ"),
])
def test_tcvn3_code_points_of_the_standard(code, letter):
    assert tcvn3_to_unicode(code) == letter


@pytest.mark.skipif(shutil.which("iconv") is None, reason="no iconv")
def test_tcvn3_table_agrees_with_glibc_for_the_latin1_range():
    raw = bytes(b for b in range(0xA1, 0x100) if not 0xB0 <= b <= 0xB4)  # B0-B4: VN1 combining marks
    proc = subprocess.run(["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=raw, capture_output=True)
    if proc.returncode != 0:
        pytest.skip("iconv has no TCVN5712-1")
    assert tcvn3_to_unicode(raw.decode("latin-1")) == unicodedata.normalize("NFC", proc.stdout.decode("utf-8"))


def test_vni_round_trips_every_letter_in_both_cases():
    for ch in LOWER + UPPER:
        seq = unicode_to_vni(ch)
        assert 1 <= len(seq) <= 2 and all(c < "\u0100" for c in seq), ch
        assert vni_to_unicode(seq) == ch
    seqs = [unicode_to_vni(ch) for ch in LOWER + UPPER]
    assert len(set(seqs)) == len(seqs)


@pytest.mark.parametrize(("seq", "letter"), [
    ("aù", "á"), ("aø", "à"), ("aû", "ả"), ("aõ", "ã"), ("aï", "ạ"), ("aâ", "â"), ("aá", "ấ"), ("aà", "ầ"),
    ("aå", "ẩ"), ("aã", "ẫ"), ("aä", "ậ"), ("aê", "ă"), ("aé", "ắ"), ("aè", "ằ"), ("aú", "ẳ"), ("aü", "ẵ"),
    ("aë", "ặ"), ("ô", "ơ"), ("ôù", "ớ"), ("ö", "ư"), ("öï", "ự"), ("í", "í"), ("ì", "ì"), ("æ", "ỉ"),
    ("ó", "ĩ"), ("ò", "ị"), ("î", "ỵ"), ("ñ", "đ"), ("Ñ", "Đ"), ("AÙ", "Á"), ("OÂ", "Ô"), ("ÔØ", "Ờ"), ("Î", "Ỵ"),
])
def test_vni_sequences_of_the_standard(seq, letter):
    assert vni_to_unicode(seq) == letter


PHRASES = [
    "Phường Bắc Hà", "Xã Đồng Môn", "Huy động sức dân xây dựng đường giao thông nông thôn", "Văn hóa - xã hội",
    "Quốc phòng - an ninh", "Xây dựng Đảng và hệ thống chính trị", "Duy trì, nhân rộng", "Tổ dân phố mẫu",
    "Người lập biểu", "Kinh phí huy động (triệu đồng)", "Đất hiến (m2)", "PHƯỜNG THẠCH QUÝ", "Năm 2021",
    "Tháng 3/2022", "Quý I/2022", "Mô hình “Dân vận khéo” giúp nhau thoát nghèo", "Hội Liên hiệp Phụ nữ thành phố",
    "Ghi chú: đã hoàn thành 100%", "Đoàn TNCS Hồ Chí Minh thành phố", "Camera an ninh khu dân cư",
]


@pytest.mark.parametrize("text", PHRASES)
def test_tcvn3_and_vni_text_is_detected_and_converted(text):
    tcvn3, vni = unicode_to_tcvn3(text), unicode_to_vni(text)
    # TCVN3 loses the capitals it has no code for; matching (fold keys) does not care.
    assert fold(clean(tcvn3)) == fold(text) and unicodedata.is_normalized("NFC", clean(tcvn3))
    assert clean(vni) == text
    if tcvn3 != text:
        assert detect_legacy(tcvn3) == "tcvn3"
    if vni != text:
        assert detect_legacy(vni) == "vni"


def test_tcvn3_typed_in_capitals_comes_back_in_capitals():
    assert clean(unicode_to_tcvn3("PHƯỜNG BẮC HÀ")) == "PHƯỜNG BẮC HÀ"


def _master_texts() -> list[str]:
    with open(SEEDS_DIR / "reporting_units.csv", encoding="utf-8-sig", newline="") as fh:
        units = [t for row in csv.DictReader(fh) for t in [row["name"], *row["aliases"].split(";")] if t.strip()]
    with open(SEEDS_DIR / "fields.csv", encoding="utf-8-sig", newline="") as fh:
        fields = [t for row in csv.DictReader(fh) for t in [row["field_name_vi"], *row["aliases"].split(";")]]
    return [t.strip() for t in units + fields if t.strip()]


@pytest.mark.parametrize("text", _master_texts() + PHRASES + [
    "Quý", "Tân", "Hà", "Cà Mau", "Thành", "Tô Hiến Thành", "Bình", "ÂN", "Café", "José Martí", "m²", "50½", "25°C",
    "Tel: 0912 345 678", "Zalo", "Wi-Fi miễn phí", "Chi bộ “4 tốt”", "Tổng cộng", "Cộng", "HĐND-UBND", "GD&ĐT",
])
def test_unicode_and_ascii_are_never_changed(text):
    assert detect_legacy(text) is None
    assert fix_legacy(text) == text
    nfc = unicodedata.normalize("NFC", text)
    assert clean(text) == " ".join(nfc.split())
    assert clean(unicodedata.normalize("NFD", text)) == clean(text)


def test_ambiguous_text_is_left_as_typed():
    # Every word of TCVN3 "Dòng" (for "Dũng") is also a Unicode spelling: it is kept, not guessed.
    assert clean(unicode_to_tcvn3("Dũng")) == "Dòng"
