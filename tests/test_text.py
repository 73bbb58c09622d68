"""dvk.text: NFC cleaning, fold keys for matching, and the closest-match helper."""

from __future__ import annotations

import unicodedata

import pytest

from dvk.text import clean, closest, fold, fold_compact, strip_accents


def test_clean_is_nfc_trimmed_and_single_spaced():
    decomposed = unicodedata.normalize("NFD", "Phường  Bắc Hà")
    assert decomposed != "Phường  Bắc Hà"
    assert clean("  " + decomposed + "\u00a0\t") == "Phường Bắc Hà"
    assert unicodedata.is_normalized("NFC", clean(decomposed))


def test_clean_of_none_and_non_text():
    assert clean(None) == ""
    assert clean(18076) == "18076"
    assert clean("a\u200bb") == "ab"  # zero-width space from copy-paste


def test_strip_accents_maps_d_stroke():
    assert strip_accents("Đồng Môn đường") == "Dong Mon duong"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Phường Bắc Hà", "phuong bac ha"),
        ("PHUONG  BAC HA", "phuong bac ha"),
        ("P. Bắc Hà", "p bac ha"),
        ("Văn hóa - xã hội", "van hoa xa hoi"),
        ("Văn hoá – Xã hội", "van hoa xa hoi"),  # old-style tone placement, en dash
        ("Xây dựng Đảng", "xay dung dang"),
        ("Kinh phí huy động (triệu đồng)", "kinh phi huy dong trieu dong"),
        ("  ", ""),
    ],
)
def test_fold(text, key):
    assert fold(text) == key


def test_fold_is_the_same_for_nfc_and_nfd():
    text = "Quốc phòng - an ninh"
    assert fold(unicodedata.normalize("NFD", text)) == fold(text)


@pytest.mark.parametrize("name", ["Thông tin", "ThongTin", " THÔNG TIN ", "thong_tin"])
def test_fold_compact_for_sheet_names(name):
    assert fold_compact(name) == "thongtin"


def test_closest_compares_fold_keys_and_returns_the_candidates():
    candidates = ["Phát triển kinh tế", "Văn hóa - xã hội", "Quốc phòng - an ninh"]
    assert closest("Van hoa xa hoi", candidates, n=1) == ["Văn hóa - xã hội"]
    assert closest("zzz", candidates) == []
