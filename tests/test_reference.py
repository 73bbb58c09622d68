"""dvk.reference: units and fields from the dbt seeds, and how forms name them."""

from __future__ import annotations

import pytest

from dvk.reference import (
    FieldDirectory,
    LookupProblem,
    UnitDirectory,
    load_fields,
    load_units,
    require_kind,
    resolve_kind,
)


@pytest.fixture(scope="module")
def units() -> UnitDirectory:
    return UnitDirectory()


@pytest.fixture(scope="module")
def fields() -> FieldDirectory:
    return FieldDirectory()


def test_seeds_are_loaded():
    codes = [u.code for u in load_units()]
    assert len(codes) == 28 and codes[0] == "18070" and "CQ13" in codes
    dong_mon = next(u for u in load_units() if u.code == "18103")
    assert dong_mon.aliases == ("Xã Thạch Môn", "Xã Thạch Đồng") and dong_mon.expected_in(2021)
    assert [f.code for f in load_fields()] == ["KT", "VHXH", "QPAN", "XDD"]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("P. Bắc Hà", "18076"),
        ("Phường Bắc Hà", "18076"),
        ("Phuong Bac Ha", "18076"),
        ("Bac Ha", "18076"),
        ("bắc hà", "18076"),
        ("Xã Thạch Môn", "18103"),  # alias
        ("Thach Dong", "18103"),  # alias, no prefix, no diacritics
        ("Xã Đồng Môn", "18103"),
        ("UBND phường Nam Hà", "18073"),
        ("Ủy ban nhân dân xã Thạch Hạ", "18100"),
        ("Phường Trần Phú, thành phố Hà Tĩnh", "18070"),
        ("MTTQ thành phố", "CQ01"),
        ("Hội Phụ nữ TP", "CQ02"),
        ("Công an TP Hà Tĩnh", "CQ07"),
        ("Phòng GD&ĐT", "CQ09"),
    ],
)
def test_unit_by_name(units, name, code):
    assert units.by_name(name).code == code
    assert units.resolve(None, name).code == code


@pytest.mark.parametrize(("typed", "code"), [("18076", "18076"), (18076.0, "18076"), ("18076.0", "18076"),
                                             (" cq1 ", "CQ01"), ("CQ07", "CQ07")])
def test_unit_by_code(units, typed, code):
    assert units.lookup_code(typed).code == code


def test_padded_agency_codes_of_the_master_list_are_found_however_typed():
    """A master list that writes "CQ0012" (a province's, say): typed as written, or as "CQ12"."""
    from dataclasses import replace

    base = load_units()[0]
    padded = replace(base, code="CQ0012", name="Công an huyện Cẩm Xuyên", kind="co_quan", aliases=())
    other = replace(base, code="CQ1000", name="Hội Nông dân tỉnh", kind="doan_the", aliases=())
    directory = UnitDirectory([padded, other])
    for typed in ("CQ0012", "cq0012", "CQ12", " cq 12 ", "CQ012"):
        assert directory.lookup_code(typed) is padded, typed
    assert directory.lookup_code("CQ1000") is other
    assert directory.lookup_code("CQ100") is None
    assert directory.resolve("CQ0012", "CA huyen Cam Xuyen") is padded


def test_code_decides_and_a_conflicting_name_is_a_problem(units):
    assert units.resolve("18076", "Phường Bắc Hà").code == "18076"
    assert units.resolve("18076", "a name nobody knows").code == "18076"  # the code is enough
    assert units.resolve("99999", "P. Bắc Hà").code == "18076"  # the name identifies the unit
    with pytest.raises(LookupProblem) as info:
        units.resolve("18076", "Phường Nam Hà")
    assert info.value.code == "unit_mismatch" and "18073" in info.value.message_vi


def test_unknown_unit_suggests_the_closest(units):
    with pytest.raises(LookupProblem) as info:
        units.resolve(None, "Phường Bắc Hàa")
    assert info.value.code == "unknown_unit"
    assert "Không nhận ra đơn vị «Phường Bắc Hàa»" in info.value.message_vi
    assert "18076 – Phường Bắc Hà" in info.value.message_vi and "18076" in info.value.message_en


def test_missing_unit(units):
    with pytest.raises(LookupProblem) as info:
        units.resolve("", "  ")
    assert info.value.code == "missing_unit"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Phát triển kinh tế", "KT"), ("kt", "KT"), ("Kinh tế", "KT"), ("Lĩnh vực kinh tế", "KT"),
        ("Văn hóa - xã hội", "VHXH"), ("Văn hoá - xã hội", "VHXH"), ("VH-XH", "VHXH"), ("van hoa xa hoi", "VHXH"),
        ("Quốc phòng - an ninh", "QPAN"), ("QP-AN", "QPAN"), ("QPAN", "QPAN"), ("Quốc phòng, an ninh", "QPAN"),
        ("Xây dựng Đảng và hệ thống chính trị", "XDD"), ("Xây dựng Đảng", "XDD"), ("XDĐ", "XDD"),
        ("Economic development", "KT"),
    ],
)
def test_fields(fields, text, code):
    assert fields.resolve(text) == code
    assert fields.require(text) == code


def test_unknown_field_lists_the_valid_ones_and_the_closest(fields):
    assert fields.resolve("Kinh te xa hoi") is None
    with pytest.raises(LookupProblem) as info:
        fields.require("Kinh te xa hoi")
    message = info.value.message_vi
    assert info.value.code == "unknown_field"
    assert message.startswith("Không nhận ra lĩnh vực «Kinh te xa hoi». Các lĩnh vực hợp lệ: ")
    for code in ("KT", "VHXH", "QPAN", "XDD"):
        assert code in message
    assert "Có phải là:" in message and "Did you mean:" in info.value.message_en


@pytest.mark.parametrize(
    ("text", "kind"),
    [("Xây mới", "new"), ("xay moi", "new"), ("XÂY MỚI", "new"), ("Nhân rộng", "replicated"),
     ("Duy trì", "replicated"), ("Duy trì, nhân rộng", "replicated"), ("Duy trì và nhân rộng", "replicated"),
     ("Mới toanh", None), ("", None)],
)
def test_kinds(text, kind):
    assert resolve_kind(text) == kind


def test_unknown_kind_says_what_to_write():
    with pytest.raises(LookupProblem) as info:
        require_kind("Mới toanh")
    assert info.value.code == "unknown_kind" and "Xây mới" in info.value.message_vi
