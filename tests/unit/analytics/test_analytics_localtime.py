"""Local days, slots and day types from UTC instants, across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from derlink.analytics.kernels.localtime import (
    DayType,
    DayTypeScheme,
    day_from_number,
    day_number,
    day_types,
    delta_us,
    from_us,
    holiday_numbers,
    local_midnight_us,
    offset_table,
    to_us,
)

LA = "America/Los_Angeles"


def hours_from(start: datetime, count: int) -> np.ndarray:
    return np.asarray([to_us(start + timedelta(hours=h)) for h in range(count)], dtype=np.int64)


def test_a_spring_forward_day_has_23_local_hours_and_no_2am():
    midnight = local_midnight_us(LA, day_number(date(2026, 3, 8)))
    stamps = midnight + np.arange(24, dtype=np.int64) * 3_600_000_000
    table = offset_table(LA, int(stamps[0]), int(stamps[-1]))
    days, seconds = table.days_and_seconds(stamps)
    on_the_day = days == day_number(date(2026, 3, 8))
    assert on_the_day.sum() == 23
    assert 2 not in (seconds[on_the_day] // 3600).tolist()


def test_a_fall_back_day_has_25_local_hours_with_1am_twice():
    midnight = local_midnight_us(LA, day_number(date(2026, 11, 1)))
    stamps = midnight + np.arange(26, dtype=np.int64) * 3_600_000_000
    table = offset_table(LA, int(stamps[0]), int(stamps[-1]))
    days, seconds = table.days_and_seconds(stamps)
    hours = (seconds[days == day_number(date(2026, 11, 1))] // 3600).tolist()
    assert len(hours) == 25
    assert hours.count(1) == 2


def test_offsets_follow_the_zone_on_both_sides_of_a_change():
    before = to_us(datetime(2026, 3, 8, 9, 59, tzinfo=UTC))
    after = to_us(datetime(2026, 3, 8, 10, 0, tzinfo=UTC))
    table = offset_table(LA, before, after)
    assert table.offsets(np.asarray([before, after])).tolist() == [-8 * 3600, -7 * 3600]


def test_a_half_hour_zone_keeps_its_offset():
    moment = to_us(datetime(2026, 7, 1, 0, 0, tzinfo=UTC))
    table = offset_table("Asia/Kolkata", moment, moment)
    assert table.offsets(np.asarray([moment])).tolist() == [19800]


def test_conversions_round_trip():
    moment = datetime(2026, 7, 15, 16, 0, tzinfo=ZoneInfo(LA))
    assert from_us(to_us(moment), LA) == moment
    assert day_from_number(day_number(date(2026, 7, 15))) == date(2026, 7, 15)
    assert delta_us(timedelta(hours=1, microseconds=5)) == 3_600_000_005


def test_holidays_are_weekend_days_in_the_two_type_scheme():
    days = np.asarray([day_number(date(2026, 7, d)) for d in (2, 3, 4, 5)])
    types = day_types(days, holiday_numbers([date(2026, 7, 3)]), DayTypeScheme.WEEKDAY_WEEKEND)
    assert types.tolist() == [
        DayType.WEEKDAY,  # Thursday
        DayType.WEEKEND_OR_HOLIDAY,  # Friday, observed Independence Day
        DayType.WEEKEND_OR_HOLIDAY,  # Saturday
        DayType.WEEKEND_OR_HOLIDAY,  # Sunday
    ]


def test_the_three_type_scheme_keeps_saturday_apart_and_joins_holidays_to_sunday():
    days = np.asarray([day_number(date(2026, 7, d)) for d in (3, 4, 5, 6)])
    types = day_types(
        days, holiday_numbers([date(2026, 7, 3)]), DayTypeScheme.WEEKDAY_SATURDAY_SUNDAY
    )
    assert types.tolist() == [
        DayType.SUNDAY_OR_HOLIDAY,
        DayType.SATURDAY,
        DayType.SUNDAY_OR_HOLIDAY,
        DayType.WEEKDAY,
    ]
