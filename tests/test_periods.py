"""dvk.periods: every written form of spec §2, DHIS2 ids, windows, due dates, and the errors."""

from __future__ import annotations

import datetime as dt

import pytest

from dvk.periods import PeriodError, local_today, parse_period, period_from_id

LATER = dt.date(2026, 1, 1)


@pytest.mark.parametrize(
    ("text", "period_id", "kind", "year"),
    [
        ("Năm 2021", "2021", "year", 2021),
        ("2021", "2021", "year", 2021),
        (2021.0, "2021", "year", 2021),  # typed as a number in Excel
        ("Quý I/2022", "2022Q1", "quarter", 2022),
        ("Quý 1 năm 2022", "2022Q1", "quarter", 2022),
        ("Quý IV/2021", "2021Q4", "quarter", 2021),
        ("quy ii - 2022", "2022Q2", "quarter", 2022),
        ("6 tháng đầu năm 2022", "2022S1", "half_year", 2022),
        ("6 tháng 2022", "2022S1", "half_year", 2022),
        ("6 tháng cuối năm 2021", "2021S2", "half_year", 2021),
        ("Tháng 3/2022", "202203", "month", 2022),
        ("Tháng 03 năm 2022", "202203", "month", 2022),
        ("Thang 12/2021", "202112", "month", 2021),
        ("2022Q1", "2022Q1", "quarter", 2022),
        ("202203", "202203", "month", 2022),
        ("2022-03", "202203", "month", 2022),
        ("2022S1", "2022S1", "half_year", 2022),
        ("Báo cáo năm 2021", "2021", "year", 2021),
        (" QUÝ I/2022 ", "2022Q1", "quarter", 2022),
    ],
)
def test_written_forms(text, period_id, kind, year):
    period = parse_period(text, today=LATER)
    assert (period.id, period.kind, period.year) == (period_id, kind, year)
    assert (period.period_id, period.period_kind, period.period_year) == (period_id, kind, year)


@pytest.mark.parametrize(
    ("period_id", "start", "end", "due"),
    [  # spec §2's table, due 5 days after the window closes
        ("202203", dt.date(2022, 2, 15), dt.date(2022, 3, 14), dt.date(2022, 3, 19)),
        ("2022Q1", dt.date(2021, 12, 15), dt.date(2022, 3, 14), dt.date(2022, 3, 19)),
        ("2022S1", dt.date(2021, 12, 15), dt.date(2022, 6, 14), dt.date(2022, 6, 19)),
        ("2021", dt.date(2020, 12, 15), dt.date(2021, 12, 14), dt.date(2021, 12, 19)),
        ("202201", dt.date(2021, 12, 15), dt.date(2022, 1, 14), dt.date(2022, 1, 19)),
        ("2022S2", dt.date(2022, 6, 15), dt.date(2022, 12, 14), dt.date(2022, 12, 19)),
    ],
)
def test_windows_and_due_dates(period_id, start, end, due):
    period = period_from_id(period_id)
    assert (period.window_start, period.window_end, period.due_date()) == (start, end, due)


def test_grace_is_a_parameter():
    assert period_from_id("2021").due_date(grace_days=10) == dt.date(2021, 12, 24)
    assert period_from_id("2021").due_date(0) == dt.date(2021, 12, 14)


def test_labels_and_round_trip():
    for text, label in [("2021", "Năm 2021"), ("2022Q1", "Quý I/2022"), ("2022S1", "6 tháng đầu năm 2022"),
                        ("202203", "Tháng 3/2022")]:
        period = period_from_id(text)
        assert period.label_vi == label
        assert parse_period(label, today=LATER) == period


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Quý 5/2022", "nonexistent_period"),
        ("2022Q0", "nonexistent_period"),
        ("Tháng 13/2022", "nonexistent_period"),
        ("2022S3", "nonexistent_period"),
        ("Năm 2999", "future_period"),
        ("hôm qua", "bad_period"),
        ("", "missing_period"),
        (None, "missing_period"),
    ],
)
def test_errors(text, code):
    with pytest.raises(PeriodError) as info:
        parse_period(text, today=LATER)
    assert info.value.code == code
    assert info.value.message_vi and info.value.message_en


def test_future_is_relative_to_today():
    # 2022Q2's window opens on 15 March 2022.
    with pytest.raises(PeriodError):
        parse_period("Quý II/2022", today=dt.date(2022, 3, 14))
    assert parse_period("Quý II/2022", today=dt.date(2022, 3, 15)).id == "2022Q2"


def test_unreadable_message_is_vietnamese_with_examples():
    with pytest.raises(PeriodError) as info:
        parse_period("cuối kỳ", today=LATER)
    assert "Không đọc được kỳ báo cáo «cuối kỳ»" in info.value.message_vi
    assert "Quý I/2022" in info.value.message_vi


def test_today_is_the_offices_date_not_the_servers():
    # a report signed on 16/12 and ingested at 06:30 in Hà Tĩnh (23:30 UTC on 15/12) is not "future"
    early = dt.datetime(2021, 12, 15, 23, 30, tzinfo=dt.timezone.utc)
    assert local_today(early) == dt.date(2021, 12, 16)
    assert local_today(dt.datetime(2021, 12, 16, 16, 59, tzinfo=dt.timezone.utc)) == dt.date(2021, 12, 16)
    assert local_today(dt.datetime(2021, 12, 16, 17, 0, tzinfo=dt.timezone.utc)) == dt.date(2021, 12, 17)


def test_a_month_excel_turned_into_a_date():
    # a clerk types "03/2022" (or "2022-03") in Kỳ báo cáo; Excel stores 1 March 2022
    assert parse_period(dt.datetime(2022, 3, 1), today=dt.date(2026, 1, 1)).id == "202203"
    assert parse_period(dt.date(2022, 12, 1), today=dt.date(2026, 1, 1)).id == "202212"
    with pytest.raises(PeriodError):  # another day is a date, not a period
        parse_period(dt.datetime(2022, 3, 16), today=dt.date(2026, 1, 1))
