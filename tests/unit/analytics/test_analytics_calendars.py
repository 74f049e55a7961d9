"""Holiday calendars for the baseline day types: NERC's, a country's, explicit dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from derlink.analytics.kernels.events import Event
from derlink.analytics.runs.calendars import UnknownHolidays, holiday_dates, years_of
from derlink.analytics.runs.population import RunInputs, read_population


def test_nerc_holidays_are_six_and_only_a_sunday_one_moves_to_monday():
    days = holiday_dates("nerc", [2027])
    assert sorted(days) == [
        date(2027, 1, 1),
        date(2027, 5, 31),
        date(2027, 7, 5),  # 4 July is a Sunday: observed on Monday
        date(2027, 9, 6),
        date(2027, 11, 25),
        date(2027, 12, 25),  # a Saturday: not moved
    ]


def test_a_saturday_independence_day_is_not_moved_by_nerc_but_is_by_the_us_calendar():
    assert date(2026, 7, 4) in holiday_dates("nerc", [2026])
    assert date(2026, 7, 3) not in holiday_dates("nerc", [2026])
    assert date(2026, 7, 3) in holiday_dates("US", [2026])  # the federal observance


def test_a_subdivision_calendar_and_explicit_dates_add_up():
    days = holiday_dates("US-CA, 2026-08-14", [2026])
    assert date(2026, 3, 31) in days  # Cesar Chavez Day, a California holiday
    assert date(2026, 8, 14) in days
    assert date(2026, 3, 31) not in holiday_dates("US", [2026])


@pytest.mark.parametrize("spec", ["Narnia", "US-ZZ", "2026-13-40", "nerc;US"])
def test_an_unknown_calendar_is_refused_with_what_is_accepted(spec):
    with pytest.raises(UnknownHolidays):
        holiday_dates(spec, [2026])


def test_a_run_expands_calendars_over_its_events_years_and_the_year_before():
    event = Event(
        "E1", "P", "", datetime(2027, 1, 20, 17, tzinfo=UTC), datetime(2027, 1, 20, 19, tzinfo=UTC)
    )
    assert years_of([event]) == [2026, 2027]
    population = read_population(RunInputs(holidays="nerc", time_zone="UTC"), [event])
    # The lookback before a January event reaches the previous Christmas.
    assert date(2026, 12, 25) in population.holidays
    assert date(2027, 1, 1) in population.holidays
