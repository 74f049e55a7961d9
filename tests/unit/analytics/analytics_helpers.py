"""Small builders for analytics unit tests: batches and grids from hand-written numbers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np

from derlink.analytics.kernels.grid import UtcGrid
from derlink.analytics.kernels.intervals import IntervalBatch
from derlink.analytics.kernels.localtime import day_number, local_midnight_us

HOUR_US = 3_600_000_000


def batch(rows: dict[str, Sequence[tuple[int, float]]]) -> IntervalBatch:
    """A batch from ``{sp_id: [(start_us, kwh), ...]}`` (rows kept in the given order)."""
    ids = list(rows)
    counts = [len(rows[i]) for i in ids]
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    starts = np.asarray([s for i in ids for s, _ in rows[i]], dtype=np.int64)
    kwh = np.asarray([v for i in ids for _, v in rows[i]], dtype=np.float64)
    return IntervalBatch(np.asarray(ids, dtype=object), offsets, starts, kwh)


def hourly_grid(
    time_zone: str, first_day: date, days: int, kwh_at, sp_ids: Sequence[str] = ("SP1",)
) -> UtcGrid:
    """An hourly grid from local midnight of ``first_day`` for ``days`` local days.

    ``kwh_at(sp_index, local_day_index, local_hour)`` gives each value.
    """
    from derlink.analytics.kernels.grid import column_calendar

    start = local_midnight_us(time_zone, day_number(first_day))
    end = local_midnight_us(time_zone, day_number(first_day) + days)
    columns = (end - start) // HOUR_US
    day_of, slot_of = column_calendar(start, columns, 3600, time_zone)
    first = day_number(first_day)
    values = np.asarray(
        [
            [kwh_at(n, int(d) - first, int(h)) for d, h in zip(day_of, slot_of, strict=True)]
            for n in range(len(sp_ids))
        ],
        dtype=np.float64,
    )
    return UtcGrid(np.asarray(sp_ids, dtype=object), start, 3600, values)
