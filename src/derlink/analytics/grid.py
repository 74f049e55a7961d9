"""A batch of service points on one shared grid of UTC intervals: ``kwh[sp, column]``.

Baselines, settlement, regressions and forecasts all start from this dense shape. Column ``c``
is the interval starting at ``start_us + c × interval``; a missing interval is NaN. Local
calendar facts are computed for the columns (a few thousand instants per time zone), never per
row, which is what keeps DST handling cheap and exact.

Building the grid is the hot path of a utility-scale run. The common case — every service
point of the batch read at the same regular instants — is a reshape of the batch's arrays with
no per-row arithmetic; service points with gaps, duplicates or stray timestamps take a general
path (a scatter with ``bincount``) and get their sufficiency warnings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from derlink.analytics import sufficiency
from derlink.analytics.localtime import (
    SECONDS_PER_DAY,
    US_PER_SECOND,
    offset_table,
)
from derlink.analytics.measurements import IntervalBatch
from derlink.analytics.sufficiency import WarningLog

Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class ValueBounds:
    """The plausible range of an interval's energy, as kWh per hour of interval.

    Values outside it are dropped and reported (``analytics.measurements.out_of_range``).
    Negative values are out of range by default: derlink settles delivered energy.
    """

    min_kwh_per_hour: float = 0.0
    max_kwh_per_hour: float = 1000.0


@dataclass(frozen=True)
class UtcGrid:
    sp_ids: ObjectArray  # (N,)
    start_us: int  # UTC start of column 0
    interval_s: int
    kwh: FloatArray  # (N, U), NaN where missing

    @property
    def columns(self) -> int:
        return int(self.kwh.shape[1])

    def column_starts(self) -> Int64Array:
        step = self.interval_s * US_PER_SECOND
        return self.start_us + np.arange(self.columns, dtype=np.int64) * step

    def column_of(self, instant_us: int) -> int:
        """The column of an instant on the grid (it must be aligned to the grid)."""
        step = self.interval_s * US_PER_SECOND
        offset = instant_us - self.start_us
        if offset % step:
            raise ValueError("instant is not aligned to the grid's intervals")
        return offset // step

    def rows(self, indices: npt.NDArray[np.int64]) -> UtcGrid:
        return UtcGrid(self.sp_ids[indices], self.start_us, self.interval_s, self.kwh[indices])


def detect_interval_seconds(batch: IntervalBatch, sample: int = 16) -> Int64Array:
    """Each service point's interval length: the median of its first positive steps.

    A service point with fewer than two readings gets 0 (unknown).
    """
    n = batch.size
    counts = batch.counts()
    take = np.minimum(counts, sample + 1)
    width = int(take.max()) if n else 0
    if width < 2:
        return np.zeros(n, dtype=np.int64)
    index = batch.offsets[:-1, None] + np.arange(width)[None, :]
    valid = np.arange(width)[None, :] < take[:, None]
    stamps = np.where(valid, batch.start_us[np.minimum(index, batch.rows - 1)], -1)
    steps = np.diff(stamps, axis=1).astype(np.float64)
    steps[~(valid[:, 1:]) | (steps <= 0)] = np.nan
    with np.errstate(all="ignore"):
        has = ~np.isnan(steps).all(axis=1)
        median = np.zeros(n)
        if has.any():
            median[has] = np.nanmedian(steps[has], axis=1)
    return (median // US_PER_SECOND).astype(np.int64)


def interval_supported(interval_s: Int64Array) -> npt.NDArray[np.bool_]:
    """Intervals that tile a day (so every local day has whole slots): 1 min … 1 day."""
    safe = np.where(interval_s > 0, interval_s, 1)
    supported: npt.NDArray[np.bool_] = (interval_s >= 60) & (SECONDS_PER_DAY % safe == 0)
    return supported


def build_grid(
    batch: IntervalBatch,
    *,
    start_us: int,
    end_us: int,
    interval_s: int,
    bounds: ValueBounds,
    warnings: WarningLog,
) -> UtcGrid:
    """Place a batch (one interval length) on the UTC grid [start_us, end_us).

    Records per service point: ``short_history`` (intervals before the first reading), ``gap``
    (intervals without a value after it),
    ``duplicate`` (extra readings of one interval, averaged), ``misaligned`` (readings off the
    interval grid, dropped) and ``out_of_range`` (dropped).
    """
    step = interval_s * US_PER_SECOND
    columns = max(0, (end_us - start_us) // step)
    n = batch.size
    placed = _regular_fast_path(batch, start_us, columns, step)
    grid: FloatArray
    if placed is None:
        grid = np.full((n, columns), np.nan)
        regular = np.zeros(n, dtype=bool)
    else:
        grid, regular = placed
    irregular = np.flatnonzero(~regular)
    if irregular.size:
        duplicates, misaligned = _scatter(
            batch.select(irregular), grid, irregular, start_us, columns, step
        )
        warnings.add(
            sufficiency.DUPLICATE,
            "readings of the same interval more than once (averaged)",
            batch.sp_ids[irregular],
            duplicates,
        )
        warnings.add(
            sufficiency.MISALIGNED,
            f"readings not on the {interval_s}-second interval grid (dropped)",
            batch.sp_ids[irregular],
            misaligned,
        )
    has = ~np.isnan(grid)
    # Intervals before a service point's first reading are a short history, not a gap.
    leading = np.where(has.any(axis=1), np.argmax(has, axis=1), columns)
    warnings.add(
        sufficiency.SHORT_HISTORY,
        "intervals of the analysis window before the first reading",
        batch.sp_ids,
        leading,
    )
    warnings.add(
        sufficiency.GAP,
        "intervals without a reading after the first one",
        batch.sp_ids,
        columns - has.sum(axis=1) - leading,
    )
    hours = interval_s / 3600.0
    low, high = bounds.min_kwh_per_hour * hours, bounds.max_kwh_per_hour * hours
    outside = (grid < low) | (grid > high)
    out_counts = outside.sum(axis=1)
    if out_counts.any():
        grid = np.where(outside, np.nan, grid)
        warnings.add(
            sufficiency.OUT_OF_RANGE,
            f"interval values outside [{low:g}, {high:g}] kWh (dropped)",
            batch.sp_ids,
            out_counts,
        )
    return UtcGrid(batch.sp_ids, start_us, interval_s, grid)


def _regular_fast_path(
    batch: IntervalBatch, start_us: int, columns: int, step: int
) -> tuple[FloatArray, npt.NDArray[np.bool_]] | None:
    """Service points read at exactly the same regular, aligned instants: a reshape.

    Returns the grid (a view of the batch when it covers the window exactly) and the mask of
    service points placed, or None when no service point qualifies.
    """
    n = batch.size
    counts = batch.counts()
    if n == 0 or batch.rows == 0:
        return None
    common = int(np.bincount(counts).argmax())
    if common < 2:
        return None
    reference = int(np.argmax(counts == common))
    first = int(batch.offsets[reference])
    stamps = batch.start_us[first : first + common]
    if (stamps[0] - start_us) % step or not (np.diff(stamps) == step).all():
        return None
    candidate = (
        (counts == common)
        & (batch.start_us[np.minimum(batch.offsets[:-1], batch.rows - 1)] == stamps[0])
        & (batch.start_us[np.maximum(batch.offsets[1:] - 1, 0)] == stamps[-1])
    )
    if candidate.all():
        values = batch.kwh.reshape(n, common)
        regular = (batch.start_us.reshape(n, common) == stamps).all(axis=1)
    else:
        chosen = np.flatnonzero(candidate)
        rows = (batch.offsets[chosen][:, None] + np.arange(common)[None, :]).ravel()
        regular = np.zeros(n, dtype=bool)
        regular[chosen] = (batch.start_us[rows].reshape(-1, common) == stamps).all(axis=1)
        values = np.full((n, common), np.nan)
        values[chosen] = batch.kwh[rows].reshape(-1, common)
    first_column = (int(stamps[0]) - start_us) // step
    lo = max(0, -first_column)
    hi = min(common, columns - first_column)
    if regular.all() and first_column + lo == 0 and first_column + hi == columns:
        return values[:, lo:hi], regular
    grid = np.full((n, columns), np.nan)
    if hi > lo:
        placed = np.flatnonzero(regular)
        grid[placed, first_column + lo : first_column + hi] = values[placed, lo:hi]
    return grid, regular


def _scatter(
    batch: IntervalBatch,
    grid: FloatArray,
    targets: Int64Array,
    start_us: int,
    columns: int,
    step: int,
) -> tuple[Int64Array, Int64Array]:
    """The general path: place any rows, averaging duplicates. Returns per-SP counts."""
    n = batch.size
    row_sp = batch.row_sp()
    relative = batch.start_us - start_us
    aligned = relative % step == 0
    misaligned = np.bincount(row_sp[~aligned], minlength=n)
    column = relative // step
    inside = aligned & (column >= 0) & (column < columns)
    flat = row_sp[inside] * columns + column[inside]
    values = batch.kwh[inside]
    present = ~np.isnan(values)
    cells = n * columns
    readings = np.bincount(flat, minlength=cells)
    sums = np.bincount(flat[present], weights=values[present], minlength=cells)
    valued = np.bincount(flat[present], minlength=cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valued > 0, sums / np.maximum(valued, 1), np.nan)
    grid[targets] = mean.reshape(n, columns)
    duplicates = np.maximum(readings - 1, 0).reshape(n, columns).sum(axis=1)
    return duplicates, misaligned


def column_calendar(
    grid_start_us: int, columns: int, interval_s: int, time_zone: str
) -> tuple[Int64Array, Int64Array]:
    """(local day number, local slot of day) of each grid column in ``time_zone``."""
    starts = grid_start_us + np.arange(columns, dtype=np.int64) * interval_s * US_PER_SECOND
    if columns == 0:
        return starts, starts
    table = offset_table(time_zone, int(starts[0]), int(starts[-1]))
    days, seconds = table.days_and_seconds(starts)
    return days, seconds // interval_s
