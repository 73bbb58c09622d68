"""dvk.reference: units and fields from the dbt seeds, and how forms name them."""

from __future__ import annotations

import datetime as dt

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


#: The last day of the data window of the year 2021 / 2024 (rule 1 looks units up that day).
Y2021, Y2024 = dt.date(2021, 12, 14), dt.date(2024, 12, 14)


def test_seeds_are_loaded():
    units = load_units()
    codes = [u.code for u in units]
    assert codes[0] == "18070" and "CQ13" in codes
    in_2021 = [u for u in units if u.expected_in(2021)]
    assert len(in_2021) == 28  # 15 wards and communes, 13 agencies
    dong_mon = next(u for u in in_2021 if u.code == "18103")
    assert dong_mon.aliases == ("Xã Thạch Môn", "Xã Thạch Đồng") and dong_mon.name == "Xã Đồng Môn"
    assert dong_mon.valid_from == dt.date(2020, 1, 1) and dong_mon.valid_to == dt.date(2025, 1, 1)
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
    assert units.by_name(name, on=Y2021).code == code
    assert units.resolve(None, name, on=Y2021).code == code


@pytest.mark.parametrize(("typed", "code"), [("18076", "18076"), (18076.0, "18076"), ("18076.0", "18076"),
                                             (" cq1 ", "CQ01"), ("CQ07", "CQ07")])
def test_unit_by_code(units, typed, code):
    assert units.lookup_code(typed, on=Y2021).code == code


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
    assert units.resolve("18076", "Phường Bắc Hà", on=Y2024).code == "18076"
    assert units.resolve("18076", "a name nobody knows", on=Y2024).code == "18076"  # the code is enough
    assert units.resolve("99999", "P. Bắc Hà", on=Y2024).code == "18076"  # the name identifies the unit
    with pytest.raises(LookupProblem) as info:
        units.resolve("18076", "Phường Nam Hà", on=Y2024)
    assert info.value.code == "unit_mismatch" and "18073" in info.value.message_vi


def test_unknown_unit_suggests_the_closest(units):
    with pytest.raises(LookupProblem) as info:
        units.resolve(None, "Phường Bắc Hàa", on=Y2024)
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
        # "và" or a comma between the words, the usual abbreviation of the political system
        ("Xây dựng Đảng, hệ thống chính trị", "XDD"), ("XD Đảng và HTCT", "XDD"), ("XD Đảng, HTCT", "XDD"),
        ("Quốc phòng và an ninh", "QPAN"), ("Văn hóa và xã hội", "VHXH"),
    ],
)
def test_fields(fields, text, code):
    assert fields.resolve(text) == code
    assert fields.require(text) == code


@pytest.mark.parametrize("text", ["Kinh tế và", "Xây dựng Đảng và", "và xã hội", "Kinh tế và xã hội"])
def test_a_name_cut_short_or_two_fields_is_no_field(fields, text):
    assert fields.resolve(text) is None


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


# ------------------------------------------------------------- rule 1: the unit valid on the day

Q1_2025, S1_2025, Y2025, Y2026 = (dt.date(2025, 3, 14), dt.date(2025, 6, 14), dt.date(2025, 12, 14),
                                  dt.date(2026, 12, 14))


def test_reused_codes_mean_the_unit_valid_on_the_last_day_of_the_window(units):
    """18073 is Nam Hà in 2024 and Thành Sen in 2026; 18094 is Thạch Linh in 2024 and the merged
    Trần Phú in 2025S1 (reorganisations spec, section 1)."""
    assert units.resolve("18073", None, on=Y2024).name == "Phường Nam Hà"
    assert units.resolve("18073", "Phường Nam Hà", on=Y2024).valid_to == dt.date(2025, 7, 1)
    assert units.resolve("18073", None, on=Y2026).name == "Phường Thành Sen"
    assert units.resolve("18073", "Phường Thành Sen", on=Y2026).valid_from == dt.date(2025, 7, 1)
    assert units.resolve("18094", None, on=Y2024).name == "Phường Thạch Linh"
    assert units.resolve("18094", "Phường Trần Phú", on=S1_2025).valid_from == dt.date(2025, 1, 1)
    assert units.resolve(None, "Phường Trần Phú", on=Y2024).code == "18070"
    assert units.resolve(None, "Phường Trần Phú", on=S1_2025).code == "18094"
    assert units.resolve(None, "Phường Trần Phú", on=Y2026).code == "18100"
    assert units.resolve(None, "Phường Hà Huy Tập", on=Y2024).code == "18085"
    assert units.resolve(None, "Phường Hà Huy Tập", on=Y2026).code == "18652"


def test_new_units_and_renamed_kinds_are_found(units):
    """A 2026 report from Xã Cẩm Bình loads; a unit that only became a ward keeps its code."""
    cam_binh = units.resolve(None, "Xã Cẩm Bình", on=Y2026)
    assert cam_binh.code == "18685" and cam_binh.valid_from == dt.date(2025, 7, 1)
    assert units.resolve("18685", "UBND xã Cẩm Bình", on=Y2025).code == "18685"
    for name in ("Xã Thạch Trung", "Phường Thạch Trung", "Thach Trung"):
        assert units.resolve("18088", name, on=Q1_2025).name == "Phường Thạch Trung", name
    assert units.resolve(None, "Xã Đồng Môn", on=Q1_2025).label == "18103 – Phường Đồng Môn"
    assert units.resolve(None, "Xã Thạch Môn", on=Q1_2025).code == "18103"


def test_agencies_are_valid_through_2025s1(units):
    assert units.resolve("CQ07", None, on=S1_2025).name == "Công an thành phố"
    with pytest.raises(LookupProblem) as info:
        units.resolve("CQ07", "Công an thành phố", on=dt.date(2025, 9, 14))
    assert info.value.code == "retired_unit_code"
    assert "đã thôi tồn tại từ ngày 01/07/2025" in info.value.message_vi
    assert "no successor" in info.value.message_en


def test_a_ceased_name_is_quarantined_with_its_successor(units):
    with pytest.raises(LookupProblem) as info:
        units.resolve("18073", "Phường Nam Hà", on=Y2026)
    problem = info.value
    assert problem.code == "ceased_unit"
    assert ("Phường Nam Hà ceased on 01/07/2025; its territory is now part of Phường Thành Sen, 18073"
            in problem.message_en)
    assert "mã «18073» là Phường Thành Sen" in problem.message_vi
    assert "địa bàn nay thuộc Phường Thành Sen, 18073" in problem.message_vi
    with pytest.raises(LookupProblem) as info:
        units.resolve(None, "Phường Thạch Linh", on=Y2026)  # along the chain: Trần Phú, then Thành Sen
    assert info.value.code == "ceased_unit" and "Phường Thành Sen, 18073" in info.value.message_en


def test_a_retired_code_is_never_guessed(units):
    with pytest.raises(LookupProblem) as info:
        units.resolve("18070", "Phường Trần Phú", on=Q1_2025)  # the name alone would mean 18094
    problem = info.value
    assert problem.code == "retired_unit_code"
    assert "Phường Trần Phú, 18094" in problem.message_en and "Phường Bắc Hà, 18077" in problem.message_en
    assert "tên «Phường Trần Phú» là 18094 – Phường Trần Phú" in problem.message_vi
    with pytest.raises(LookupProblem) as info:
        units.resolve("18076", None, on=Q1_2025)  # Bắc Hà moved to 18077
    assert info.value.code == "retired_unit_code" and "Phường Bắc Hà, 18077" in info.value.message_en


def test_a_unit_not_yet_valid_is_never_guessed(units):
    with pytest.raises(LookupProblem) as info:
        units.resolve(None, "Phường Thành Sen", on=Y2024)
    assert info.value.code == "unit_not_valid_on_date" and "01/07/2025" in info.value.message_vi
    with pytest.raises(LookupProblem) as info:
        units.resolve("18685", None, on=Y2024)  # Cẩm Bình joined the city on 01/01/2025
    assert info.value.code == "unit_not_valid_on_date"


def test_code_and_name_of_two_units_valid_that_day(units):
    with pytest.raises(LookupProblem) as info:
        units.resolve("18094", "Phường Nam Hà", on=S1_2025)
    assert info.value.code == "unit_mismatch"
    assert "14/06/2025" in info.value.message_vi and "Phường Trần Phú" in info.value.message_vi


def test_expected_units_follow_validity(units):
    """Rule 2: the units valid on the last day of the period's window."""
    from dvk.periods import period_from_id

    def expected(pid: str) -> list[str]:
        return [u.code for u in units.expected_for(period_from_id(pid))]

    assert len(expected("2021")) == 28 and len(expected("2024")) == 28
    for pid in ("2025Q1", "2025S1"):
        found = expected(pid)
        assert len([c for c in found if not c.startswith("CQ")]) == 27, pid
        assert len([c for c in found if c.startswith("CQ")]) == 13, pid
    for pid in ("2025Q3", "2025", "2026Q1", "2026"):
        assert sorted(expected(pid)) == ["18073", "18100", "18604", "18619", "18628", "18652", "18685"], pid
