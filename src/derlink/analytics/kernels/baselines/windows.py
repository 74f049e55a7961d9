"""The values an X-of-Y baseline needs, cut from a grid: the event's slots on prior days.

For one event and the service points of one time zone, the event window is a list of K grid
columns (UTC intervals) on the event day. Each interval has a local day offset and a local slot;
on each of the D candidate days before the event day the baseline uses the same local slots.
That is what "matching by clock hour" means, and it is what makes the baseline right across a
DST change: the 17:00 slot of a PDT event day matches the 17:00 slot of a PST prior day.

A local slot that a prior day lacks (the skipped hour of a spring-forward day) is NaN there, so
that day is not a complete like day for a window covering it; a slot that a fall-back day has
twice is the mean of its two readings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from derlink.analytics.kernels.grid import UtcGrid, column_calendar
from derlink.analytics.kernels.localtime import SECONDS_PER_DAY, US_PER_SECOND

Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PriorDays:
    """Event-window and adjustment-window values of N service points on D prior days.

    Day index 0 is the day before the event day; index d is d + 1 days before it.
    """

    event_day: int  # local day number of the event start
    day_numbers: Int64Array  # (D,)
    window: FloatArray  # (N, D, K) kWh in the event's local slots
    adjust: FloatArray  # (N, D, A) kWh in the adjustment window's local slots
    event_window: FloatArray  # (N, K) kWh on the event day, event intervals in UTC order
    event_adjust: FloatArray  # (N, A) kWh on the event day in the adjustment window
    interval_starts_us: Int64Array  # (K,) UTC start of each event interval


def _columns_between(grid: UtcGrid, start_us: int, end_us: int) -> Int64Array:
    step = grid.interval_s * US_PER_SECOND
    first = -((grid.start_us - start_us) // step)  # ceil: the first interval starting ≥ start
    last = -((grid.start_us - end_us) // step)
    return np.arange(first, last, dtype=np.int64)


def prior_days(
    grid: UtcGrid,
    *,
    time_zone: str,
    event_start_us: int,
    event_end_us: int,
    days: int,
    adjust_start_us: int | None = None,
    adjust_end_us: int | None = None,
    future: bool = False,
) -> PriorDays:
    """Cut the event's local slots on the ``days`` days before the event day out of ``grid``.

    The grid must cover the prior days and the adjustment window; with ``future`` the event
    window may lie beyond it (a forecast: its actual values are then NaN).
    """
    columns = _columns_between(grid, event_start_us, event_end_us)
    adjust_columns = (
        _columns_between(grid, adjust_start_us, adjust_end_us)
        if adjust_start_us is not None and adjust_end_us is not None
        else np.zeros(0, dtype=np.int64)
    )
    if columns.size == 0:
        raise ValueError("the event window holds no whole interval")
    needed = adjust_columns if future else np.concatenate((columns, adjust_columns))
    if needed.size and (needed.min() < 0 or needed.max() >= grid.columns):
        raise ValueError("the grid does not cover the event and adjustment windows")
    if future and columns.min() < 0:
        raise ValueError("the grid starts after the event window")
    # The calendar reaches as far as the event window, beyond the grid's last column if needed.
    reach = max(grid.columns, int(columns.max()) + 1)
    day_of, slot_of = column_calendar(grid.start_us, reach, grid.interval_s, time_zone)
    event_day = int(day_of[columns[0]])
    slots_per_day = SECONDS_PER_DAY // grid.interval_s
    first_day = int(day_of.min())
    span = int(day_of.max()) - first_day + 1
    key = (day_of[: grid.columns] - first_day) * slots_per_day + slot_of[: grid.columns]
    first_col = np.full(span * slots_per_day, -1, dtype=np.int64)
    second_col = np.full(span * slots_per_day, -1, dtype=np.int64)
    # The first and the last column of each (day, slot): they differ only for a slot that a
    # fall-back day has twice.
    keys, first_index = np.unique(key, return_index=True)
    first_col[keys] = first_index
    reversed_keys, reversed_index = np.unique(key[::-1], return_index=True)
    last_index = grid.columns - 1 - reversed_index
    repeated = last_index != first_col[reversed_keys]
    second_col[reversed_keys[repeated]] = last_index[repeated]

    prior = event_day - 1 - np.arange(days, dtype=np.int64)  # (D,)

    def lookup(cols: Int64Array) -> tuple[Int64Array, Int64Array]:
        day_offset = day_of[cols] - event_day  # (K,)
        cell_day = prior[:, None] + day_offset[None, :] - first_day  # (D, K)
        inside = (cell_day >= 0) & (cell_day < span)
        cell = np.where(inside, cell_day, 0) * slots_per_day + slot_of[cols][None, :]
        return (
            np.where(inside, first_col[cell], -1),
            np.where(inside, second_col[cell], -1),
        )

    # Every value the baseline needs comes out of the grid in one gather: the prior days'
    # window and adjustment slots, and the event day's own intervals. (A column gather touches
    # most cache lines of each row, so one gather instead of four is most of the cost saved.)
    window_one, window_two = lookup(columns)
    adjust_one, adjust_two = lookup(adjust_columns)
    inside = (columns >= 0) & (columns < grid.columns)
    parts = [window_one, adjust_one, np.where(inside, columns, -1), adjust_columns]
    sizes = [part.size for part in parts]
    wanted = np.concatenate([part.ravel() for part in parts])
    values = grid.take(np.maximum(wanted, 0))
    values[:, wanted < 0] = np.nan
    twos = np.concatenate((window_two.ravel(), adjust_two.ravel()))
    if (twos >= 0).any():
        # A fall-back day's repeated slot: the mean of its two readings.
        both = np.flatnonzero(twos >= 0)
        values[:, both] = (values[:, both] + grid.take(twos[both])) / 2.0
    n = grid.size
    split = np.cumsum(sizes)[:-1]
    window, adjust, event_window, event_adjust = np.split(values, split, axis=1)
    return PriorDays(
        event_day=event_day,
        day_numbers=prior,
        window=window.reshape(n, days, len(columns)),
        adjust=adjust.reshape(n, days, len(adjust_columns)),
        # Copies: the event's own values outlive this batch (in the run's savings), and a view
        # would keep the whole gathered block alive with them.
        event_window=event_window.copy(),
        event_adjust=event_adjust.copy(),
        interval_starts_us=grid.start_us + columns * grid.interval_s * US_PER_SECOND,
    )
