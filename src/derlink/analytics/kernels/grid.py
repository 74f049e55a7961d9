"""A batch of service points on one shared grid of UTC intervals: ``kwh[sp, column]``.

Baselines, kWh avoided, regressions and forecasts all start from this dense shape. Column ``c``
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

from derlink.analytics.kernels import sufficiency
from derlink.analytics.kernels.intervals import IntervalBatch, KwhArray
from derlink.analytics.kernels.localtime import (
    SECONDS_PER_DAY,
    US_PER_SECOND,
    offset_table,
)
from derlink.analytics.kernels.sufficiency import WarningLog

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
    """kWh of N service points on UTC interval columns.

    ``kwh`` may be a read-only view of a batch holding more service points than the grid:
    ``row_index`` then says which of its rows are the grid's, and values outside [low, high]
    (reported when the grid was built) read as NaN. Always read values through ``take`` or
    ``dense``, which apply both.
    """

    sp_ids: ObjectArray  # (N,)
    start_us: int  # UTC start of column 0
    interval_s: int
    kwh: KwhArray  # (rows, ≥ offset + U), float64 or float32; NaN where missing
    row_index: Int64Array | None = None
    low: float = -np.inf
    high: float = np.inf
    # Column c of the grid is column offset + c of ``kwh``: the grid can be a window of a
    # wider, contiguous array without slicing it (gathers from a sliced view copy it first).
    offset: int = 0
    width: int | None = None
    out_of_range: bool = True  # False when no value lies outside [low, high]: nothing to mask

    @property
    def size(self) -> int:
        return len(self.sp_ids)

    @property
    def columns(self) -> int:
        return int(self.kwh.shape[1]) - self.offset if self.width is None else self.width

    def take(self, columns: Int64Array) -> FloatArray:
        """(N, *columns.shape) float64 values of the given columns (a copy, out of range NaN)."""
        flat = np.asarray(columns, dtype=np.int64).ravel() + self.offset
        picked = np.take(self.kwh, flat, axis=1)  # columns first: few of them, all rows
        if self.row_index is not None:
            picked = picked[self.row_index]
        values: FloatArray = picked.astype(np.float64, copy=False)  # kernels use float64
        if self.out_of_range:
            with np.errstate(invalid="ignore"):
                values[(values < self.low) | (values > self.high)] = np.nan
        return values.reshape(self.size, *np.shape(columns))

    def dense(self) -> FloatArray:
        """(N, U): every column."""
        return self.take(np.arange(self.columns, dtype=np.int64))


def detect_interval_seconds(batch: IntervalBatch, sample: int = 16) -> Int64Array:
    """Each service point's interval length, from its first ``sample + 1`` readings.

    The greatest common divisor of the steps between the (sorted) sampled instants, which holds
    whether or not the file was sorted; when a stray reading drags it below a minute, the
    median step instead. A service point with fewer than two distinct instants gets 0.
    """
    n = batch.size
    counts = batch.counts()
    take = np.minimum(counts, sample + 1)
    width = int(take.max()) if n else 0
    if width < 2:
        return np.zeros(n, dtype=np.int64)
    index = batch.offsets[:-1, None] + np.arange(width)[None, :]
    valid = np.arange(width)[None, :] < take[:, None]
    # Padding sorts last, so that the valid instants stay at the front of each row.
    padding = np.iinfo(np.int64).max
    stamps = np.where(valid, batch.start_us[np.minimum(index, batch.rows - 1)], padding)
    first_step = int(stamps[0, 1] - stamps[0, 0])
    if first_step > 0 and valid.all() and (np.diff(stamps, axis=1) == first_step).all():
        # The usual batch: every service point's sample already sorted, one step apart.
        return np.full(n, first_step // US_PER_SECOND, dtype=np.int64)
    stamps.sort(axis=1)
    steps = np.diff(stamps, axis=1) // US_PER_SECOND
    usable = (steps > 0) & valid[:, 1:]
    divisor = np.gcd.reduce(np.where(usable, steps, 0), axis=1)
    some = usable.any(axis=1)
    median = np.zeros(n)
    stray = some & (divisor < 60)  # only there is the median wanted
    if stray.any():
        median[stray] = np.nanmedian(np.where(usable[stray], steps[stray], np.nan), axis=1)
    result: Int64Array = np.where(divisor >= 60, divisor, median).astype(np.int64)
    result[~some] = 0
    return result


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
    members: Int64Array | None = None,
) -> UtcGrid:
    """Place a batch (one interval length) on the UTC grid [start_us, end_us).

    ``members`` restricts the grid to those service points of the batch. Records per service
    point: ``short_history`` (intervals before the first reading), ``gap`` (intervals without a
    value after it), ``duplicate`` (extra readings of one interval, averaged), ``misaligned``
    (readings off the interval grid, dropped) and ``out_of_range`` (read as missing).
    """
    step = interval_s * US_PER_SECOND
    columns = max(0, (end_us - start_us) // step)
    if members is not None and 2 * len(members) < batch.size:
        batch, members = batch.select(members), None  # a small share: copy it first
    hours = interval_s / 3600.0
    low, high = bounds.min_kwh_per_hour * hours, bounds.max_kwh_per_hour * hours
    placed = _regular_fast_path(batch, start_us, columns, step)
    if members is not None and (placed is None or not placed[1].all()):
        # Some service point of the batch is not regular: the members alone may all be.
        batch, members = batch.select(members), None
        placed = _regular_fast_path(batch, start_us, columns, step)
    if placed is not None and placed[1].all():
        # Every service point regular: the grid is (a view of) the batch's values.
        values, _, skipped, offset, width = placed
        rows = members if members is not None else np.arange(batch.size, dtype=np.int64)
        ids = batch.sp_ids[rows]
        window = values[:, offset : offset + width]
        stats = _row_stats(window, rows, low, high)
        _report(warnings, ids, stats, skipped, interval_s, low, high)
        return UtcGrid(
            ids,
            start_us + skipped * step,
            interval_s,
            values,
            members,
            low,
            high,
            offset,
            width,
            bool(stats[2].any()),
        )
    grid: FloatArray
    if placed is None:
        grid = np.full((batch.size, columns), np.nan)
        regular = np.zeros(batch.size, dtype=bool)
    else:  # a float64 grid of the window, the regular service points placed
        grid, regular = placed[0].astype(np.float64, copy=False), placed[1]
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
    every = np.arange(batch.size, dtype=np.int64)
    stats = _row_stats(grid, every, low, high)
    _report(warnings, batch.sp_ids, stats, 0, interval_s, low, high)
    return UtcGrid(
        batch.sp_ids, start_us, interval_s, grid, None, low, high, out_of_range=bool(stats[2].any())
    )


def _row_stats(
    values: KwhArray, rows: Int64Array, low: float, high: float, block: int = 256
) -> tuple[Int64Array, Int64Array, Int64Array]:
    """(leading missing, missing, out of range) of ``values[rows]``, per row.

    Row minima and maxima (NaN when the row has a gap) clear most rows in two passes over
    contiguous blocks of ``values`` (all its rows: cheaper than copying the chosen ones out);
    only rows with a gap or a bound crossed are then looked at value by value.
    """
    n = len(rows)
    columns = values.shape[1]
    leading = np.zeros(n, dtype=np.int64)
    missing = np.zeros(n, dtype=np.int64)
    outside = np.zeros(n, dtype=np.int64)
    if n == 0 or columns == 0:
        return leading, missing, outside
    lowest = np.empty(values.shape[0], dtype=values.dtype)
    highest = np.empty(values.shape[0], dtype=values.dtype)
    for first in range(0, values.shape[0], block):
        part = values[first : first + block]
        np.minimum.reduce(part, axis=1, out=lowest[first : first + block])
        np.maximum.reduce(part, axis=1, out=highest[first : first + block])
    lowest, highest = lowest[rows], highest[rows]
    with np.errstate(invalid="ignore"):
        holed = np.flatnonzero(np.isnan(lowest))
        suspect = np.flatnonzero(np.isnan(lowest) | (lowest < low) | (highest > high))
    for first in range(0, holed.size, block):
        chosen = holed[first : first + block]
        gaps = np.isnan(values[rows[chosen]])
        missing[chosen] = np.count_nonzero(gaps, axis=1)
        has = ~gaps
        leading[chosen] = np.where(has.any(axis=1), np.argmax(has, axis=1), columns)
    for first in range(0, suspect.size, block):
        chosen = suspect[first : first + block]
        sub = values[rows[chosen]]
        with np.errstate(invalid="ignore"):
            outside[chosen] = np.count_nonzero((sub < low) | (sub > high), axis=1)
    return leading, missing, outside


def _report(
    warnings: WarningLog,
    ids: ObjectArray,
    stats: tuple[Int64Array, Int64Array, Int64Array],
    skipped: int,
    interval_s: int,
    low: float,
    high: float,
) -> None:
    leading, missing, outside = stats
    # Intervals before a service point's first reading are a short history, not a gap.
    warnings.add(
        sufficiency.SHORT_HISTORY,
        "intervals of the analysis window before the first reading",
        ids,
        leading + skipped,
    )
    warnings.add(
        sufficiency.GAP, "intervals without a reading after the first one", ids, missing - leading
    )
    warnings.add(
        sufficiency.OUT_OF_RANGE,
        f"interval values outside [{low:g}, {high:g}] kWh (read as missing)",
        ids,
        outside,
    )


def _regular_fast_path(
    batch: IntervalBatch, start_us: int, columns: int, step: int
) -> tuple[KwhArray, npt.NDArray[np.bool_], int, int, int] | None:
    """Service points read at exactly the same regular, aligned instants: a reshape.

    Returns the values, the mask of service points placed, the number of leading columns
    left out, and the values' first column and width, or None when no service point
    qualifies. When every service point qualifies and
    the readings run to the window's end, the grid is a view of the batch that starts at the
    first reading (on a whole hour), so nothing is copied.
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
        regular = _rows_equal(batch.start_us.reshape(n, common), stamps)
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
    hour = 3600 * US_PER_SECOND
    skip = max(first_column, 0)
    if regular.all() and first_column + hi == columns and (skip * step) % hour == 0:
        return values, regular, skip, lo, hi - lo
    grid = np.full((n, columns), np.nan)
    if hi > lo:
        placed = np.flatnonzero(regular)
        grid[placed, first_column + lo : first_column + hi] = values[placed, lo:hi]
    return grid, regular, 0, 0, columns


def _rows_equal(
    stamps2d: Int64Array, stamps: Int64Array, block: int = 256
) -> npt.NDArray[np.bool_]:
    """Rows equal to ``stamps``, checked in blocks so that the temporaries stay in cache."""
    out = np.empty(stamps2d.shape[0], dtype=bool)
    for first in range(0, stamps2d.shape[0], block):
        part = stamps2d[first : first + block]
        out[first : first + block] = (part == stamps).all(axis=1)
    return out


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
