"""Cutting the event's local slots out of prior days: clock-hour matching across DST."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from analytics_helpers import hourly_grid

from derlink.analytics.kernels.baselines.windows import prior_days
from derlink.analytics.kernels.grid import column_calendar
from derlink.analytics.kernels.localtime import day_number, to_us

LA = "America/Los_Angeles"


def at(day: date, hour: int) -> int:
    return to_us(datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(LA)))


def test_prior_days_are_matched_by_local_clock_hour_across_spring_forward():
    # 2026-03-08 is the spring-forward day: the days before it are PST, the event day PDT.
    grid = hourly_grid(LA, date(2026, 3, 1), 10, lambda n, d, h: d * 100 + h)
    event = date(2026, 3, 9)
    days = prior_days(
        grid, time_zone=LA, event_start_us=at(event, 17), event_end_us=at(event, 19), days=8
    )
    assert days.event_day == day_number(event)
    # prior day d is event day - 1 - d: day index 7 - d since the grid starts on March 1
    assert days.window[0, :, 0].tolist() == [(7 - d) * 100 + 17 for d in range(8)]
    assert days.window[0, :, 1].tolist() == [(7 - d) * 100 + 18 for d in range(8)]
    assert days.event_window.tolist() == [[817.0, 818.0]]


def test_the_skipped_hour_of_a_spring_forward_day_is_missing_on_that_day():
    grid = hourly_grid(LA, date(2026, 3, 1), 10, lambda n, d, h: 1.0)
    event = date(2026, 3, 9)
    days = prior_days(
        grid, time_zone=LA, event_start_us=at(event, 2), event_end_us=at(event, 3), days=3
    )
    assert np.isnan(days.window[0, 0, 0])  # March 8 has no 02:00
    assert days.window[0, 1, 0] == 1.0


def test_the_repeated_hour_of_a_fall_back_day_is_the_mean_of_its_two_readings():
    grid = hourly_grid(LA, date(2026, 10, 29), 5, lambda n, d, h: 10.0)
    day_of, slot_of = column_calendar(grid.start_us, grid.columns, 3600, LA)
    repeated = np.flatnonzero((day_of == day_number(date(2026, 11, 1))) & (slot_of == 1))
    assert len(repeated) == 2
    grid.kwh[0, repeated] = [1.0, 3.0]
    event = date(2026, 11, 2)
    days = prior_days(
        grid, time_zone=LA, event_start_us=at(event, 1), event_end_us=at(event, 2), days=2
    )
    assert days.window[0, 0, 0] == pytest.approx(2.0)


def test_an_event_over_the_repeated_hour_has_one_interval_per_utc_hour():
    grid = hourly_grid(LA, date(2026, 10, 29), 5, lambda n, d, h: float(h))
    event = date(2026, 11, 1)
    days = prior_days(
        grid, time_zone=LA, event_start_us=at(event, 0), event_end_us=at(event, 3), days=2
    )
    # 00:00 PDT, 01:00 PDT, 01:00 PST, 02:00 PST: four hours, the two 01:00 sharing a baseline
    assert days.event_window.tolist() == [[0.0, 1.0, 1.0, 2.0]]
    assert days.window[0, 0].tolist() == [0.0, 1.0, 1.0, 2.0]


def test_the_adjustment_window_is_cut_the_same_way():
    grid = hourly_grid(LA, date(2026, 7, 1), 10, lambda n, d, h: d * 100 + h)
    event = date(2026, 7, 9)
    days = prior_days(
        grid,
        time_zone=LA,
        event_start_us=at(event, 16),
        event_end_us=at(event, 18),
        days=2,
        adjust_start_us=at(event, 12),
        adjust_end_us=at(event, 15),
    )
    assert days.event_adjust.tolist() == [[812.0, 813.0, 814.0]]
    assert days.adjust[0, 0].tolist() == [712.0, 713.0, 714.0]


def test_a_grid_that_misses_the_event_is_refused():
    grid = hourly_grid(LA, date(2026, 7, 1), 2, lambda n, d, h: 1.0)
    with pytest.raises(ValueError, match="does not cover"):
        prior_days(
            grid,
            time_zone=LA,
            event_start_us=at(date(2026, 7, 9), 16),
            event_end_us=at(date(2026, 7, 9), 18),
            days=2,
        )


def test_a_window_still_to_come_reads_its_prior_days_and_has_no_actuals():
    grid = hourly_grid(LA, date(2026, 7, 1), 8, lambda n, d, h: d * 100 + h)
    coming = date(2026, 7, 9)  # the day after the grid's last day
    days = prior_days(
        grid,
        time_zone=LA,
        event_start_us=at(coming, 16),
        event_end_us=at(coming, 18),
        days=3,
        future=True,
    )
    assert days.window[0, :, 0].tolist() == [716.0, 616.0, 516.0]
    assert np.isnan(days.event_window).all()
