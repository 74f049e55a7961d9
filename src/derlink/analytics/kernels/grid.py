"""A batch of service points on one shared grid of UTC intervals: ``kwh[sp, column]``.

Baselines, kWh avoided, regressions and forecasts all start from this dense shape. Column ``c``
is the interval starting at ``start_us + c × interval``; a missing interval is NaN. Local
calendar facts are computed for the columns (a few thousand instants per time zone), never per
row, which is what keeps DST handling cheap and exact.

Building the grid is the hot path of a utility-scale run. The common case — every service
point of the batch read at the same regular instants — is a reshape of the batch's arrays with
no per-row arithmetic; service points with gaps, duplicates or stray timestamps take a general
path (a scatter with ``bincount``) and get their sufficiency warnings.

Bad readings are not averaged away: identical readings of one interval are one reading (and a
``duplicate`` warning); differing ones are an error for the service point (``conflicting_
duplicate``, naming the intervals), whose row is left empty. A reading above ``outlier_factor``
× the service point's ``outlier_percentile`` over the grid's window is an ``outlier``, read as
missing; a service point whose median reading is above ``wh_median_kwh_per_hour`` is flagged
as probably in Wh (``wh_not_kwh``). Both tests cost a few reductions per row: only rows that
could fail them are sorted.
"""

from __future__ import annotations

import dataclasses
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
    """What readings are believed (the settings ``DERLINK_ANALYTICS_*``, docs/configuration.md).

    - below ``min_kwh_per_hour`` × the interval's hours: out of range, read as missing
      (negative values by default: derlink settles delivered energy);
    - above ``outlier_factor`` × the service point's ``outlier_percentile``-th percentile of its
      readings in the window: an outlier, read as missing (no limit when that percentile is 0);
    - a median reading above ``wh_median_kwh_per_hour`` × the interval's hours: flagged as
      probably Wh rather than kWh (a median load of 100 kW is far above a home's or a small
      business's); the values are kept.
    """

    min_kwh_per_hour: float = 0.0
    outlier_factor: float = 10.0
    outlier_percentile: float = 95.0
    wh_median_kwh_per_hour: float = 100.0


@dataclass(frozen=True)
class UtcGrid:
    """kWh of N service points on UTC interval columns.

    ``kwh`` may be a read-only view of a batch holding more service points than the grid:
    ``row_index`` then says which of its rows are the grid's, and values below ``low`` or above
    the row's ``high`` (reported when the grid was built) read as NaN. Always read values
    through ``take`` or ``dense``, which apply both.
    """

    sp_ids: ObjectArray  # (N,)
    start_us: int  # UTC start of column 0
    interval_s: int
    kwh: KwhArray  # (rows, ≥ offset + U), float64 or float32; NaN where missing
    row_index: Int64Array | None = None
    low: float = -np.inf
    high: FloatArray | None = None  # (N,) each row's upper limit; None: no limit
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
            high = np.inf if self.high is None else self.high[:, None]
            with np.errstate(invalid="ignore"):
                values[(values < self.low) | (values > high)] = np.nan
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
    value after it), ``duplicate`` (identical readings of one interval, kept once),
    ``conflicting_duplicate`` (differing ones: the row is left empty), ``misaligned`` (readings
    off the interval grid, dropped), ``out_of_range`` and ``outlier`` (read as missing) and
    ``wh_not_kwh``; each names the first intervals behind it.
    """
    step = interval_s * US_PER_SECOND
    columns = max(0, (end_us - start_us) // step)
    if members is not None and 2 * len(members) < batch.size:
        batch, members = batch.select(members), None  # a small share: copy it first
    low = bounds.min_kwh_per_hour * interval_s / 3600.0
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
        first_us = start_us + skipped * step
        window = values[:, offset : offset + width]
        checked = _checked_rows(window, rows, _Checks(low, bounds, interval_s, first_us))
        _report(warnings, ids, checked, skipped, interval_s)
        return UtcGrid(
            ids,
            first_us,
            interval_s,
            values,
            members,
            low,
            checked.high,
            offset,
            width,
            checked.masks,
        )
    grid: FloatArray
    if placed is None:
        grid = np.full((batch.size, columns), np.nan)
        regular = np.zeros(batch.size, dtype=bool)
    else:  # a float64 grid of the window, the regular service points placed
        grid, regular = placed[0].astype(np.float64, copy=False), placed[1]
    irregular = np.flatnonzero(~regular)
    refused = np.zeros(batch.size, dtype=bool)
    if irregular.size:
        refused[
            _place_irregular(batch, irregular, grid, start_us, columns, interval_s, warnings)
        ] = True
    every = np.arange(batch.size, dtype=np.int64)
    checked = _checked_rows(grid, every, _Checks(low, bounds, interval_s, start_us))
    # A refused service point's empty row is its error's doing, not gaps of its own.
    _report(warnings, batch.sp_ids[~refused], checked.only(~refused), 0, interval_s)
    return UtcGrid(
        batch.sp_ids,
        start_us,
        interval_s,
        grid,
        None,
        low,
        checked.high,
        out_of_range=checked.masks,
    )


def _place_irregular(
    batch: IntervalBatch,
    irregular: Int64Array,
    grid: FloatArray,
    start_us: int,
    columns: int,
    interval_s: int,
    warnings: WarningLog,
) -> Int64Array:
    """Scatter the irregular service points' rows into ``grid`` and report what was odd;
    returns the rows refused (conflicting readings), left empty."""
    step = interval_s * US_PER_SECOND
    placed = _scatter(batch.select(irregular), grid, irregular, start_us, columns, step)
    ids = batch.sp_ids[irregular]
    column_starts = start_us + np.arange(columns, dtype=np.int64) * step
    identical = placed.duplicates & ~placed.conflicts
    warnings.add(
        sufficiency.DUPLICATE,
        "identical readings of one interval (kept once)",
        ids,
        np.maximum(placed.readings - 1, 0).sum(axis=1, where=identical),
        sufficiency.first_instants(identical, column_starts),
    )
    conflicted = placed.conflicts.any(axis=1)
    warnings.add(
        sufficiency.CONFLICTING_DUPLICATE,
        "differing readings of one interval: the service point is not computed",
        ids,
        placed.conflicts.sum(axis=1),
        sufficiency.first_instants(placed.conflicts, column_starts),
    )
    grid[irregular[conflicted]] = np.nan
    warnings.add(
        sufficiency.MISALIGNED,
        f"readings not on the {interval_s}-second interval grid (dropped)",
        ids,
        placed.misaligned,
        placed.first_misaligned,
    )
    refused: Int64Array = irregular[conflicted]
    return refused


@dataclass(frozen=True)
class _Checks:
    """What a grid's rows are checked against: the bounds, in kWh per interval."""

    low: float
    bounds: ValueBounds
    interval_s: int
    first_us: int  # UTC start of the rows' first column

    @property
    def wh_median(self) -> float:
        return self.bounds.wh_median_kwh_per_hour * self.interval_s / 3600.0

    def column_starts(self, columns: int) -> Int64Array:
        step = self.interval_s * US_PER_SECOND
        return self.first_us + np.arange(columns, dtype=np.int64) * step


@dataclass(frozen=True)
class _CheckedRows:
    """Per row of a grid: what is missing, and the readings not believed."""

    leading: Int64Array  # missing columns before the first reading
    missing: Int64Array
    first_gaps: Int64Array  # (N, k) instants of the first gaps
    below: Int64Array  # readings below the low bound
    first_below: Int64Array
    outliers: Int64Array
    first_outliers: Int64Array
    high: FloatArray | None  # each row's upper limit (None: no row has one)
    wh_medians: FloatArray  # the median of rows that look like Wh, else NaN

    def only(self, rows: npt.NDArray[np.bool_]) -> _CheckedRows:
        """The checks of the rows ``rows`` selects."""
        return _CheckedRows(
            self.leading[rows],
            self.missing[rows],
            self.first_gaps[rows],
            self.below[rows],
            self.first_below[rows],
            self.outliers[rows],
            self.first_outliers[rows],
            None if self.high is None else self.high[rows],
            self.wh_medians[rows],
        )

    @property
    def masks(self) -> bool:
        """Whether some value must be masked when read (below, or an outlier)."""
        return bool(self.below.any() or self.outliers.any())


def _checked_rows(
    values: KwhArray, rows: Int64Array, checks: _Checks, block: int = 256
) -> _CheckedRows:
    """Gaps, low values, outliers and Wh-looking medians of ``values[rows]``, per row.

    Row minima, maxima and sums (NaN when the row has a gap) clear most rows in one pass over
    contiguous blocks of ``values`` (all its rows: cheaper than copying the chosen ones out).
    A row is sorted only when it could hold an outlier or a Wh median. The q-th percentile P
    is the r-th smallest of n readings, r = ⌈q n⌉: r readings are at most P and n − r at most
    the maximum M, so the mean m ≤ (q + 1/n) P + (1 − q) M, and P ≥ (m − (1 − q) M) / (q + 1/n).
    A row whose maximum is within ``outlier_factor`` × that bound has no outlier, and one
    whose maximum is below the Wh threshold no Wh median.
    """
    n, columns = len(rows), values.shape[1]
    nothing = np.full((n, sufficiency.DETAIL_EXAMPLES), sufficiency.NO_INSTANT, dtype=np.int64)
    zeros = np.zeros(n, dtype=np.int64)
    checked = _CheckedRows(
        zeros.copy(), zeros.copy(), nothing.copy(), zeros.copy(), nothing.copy(), zeros.copy(),
        nothing.copy(), None, np.full(n, np.nan),
    )  # fmt: skip
    if n == 0 or columns == 0:
        return checked
    lowest, highest, total = _row_reductions(values, block)
    lowest, highest, total = lowest[rows], highest[rows], total[rows]
    q = checks.bounds.outlier_percentile / 100.0
    with np.errstate(invalid="ignore"):
        holed = np.isnan(lowest)
        floor = (total / columns - (1.0 - q) * highest) / (q + 1.0 / columns)
        suspect = (
            holed
            | (lowest < checks.low)
            | (highest > checks.bounds.outlier_factor * floor)
            | (highest > checks.wh_median)
        )
    starts = checks.column_starts(columns)
    high = np.full(n, np.inf)
    chosen_rows = np.flatnonzero(suspect)
    for first in range(0, chosen_rows.size, block):
        chosen = chosen_rows[first : first + block]
        _check_block(values[rows[chosen]], chosen, checks, starts, checked, high)
    return dataclasses.replace(checked, high=high if np.isfinite(high).any() else None)


def _row_reductions(values: KwhArray, block: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Each row's minimum, maximum and sum (NaN for a row with a gap), block by block."""
    lowest = np.empty(values.shape[0], dtype=values.dtype)
    highest = np.empty(values.shape[0], dtype=values.dtype)
    total = np.empty(values.shape[0], dtype=np.float64)
    for first in range(0, values.shape[0], block):
        part = values[first : first + block]
        np.minimum.reduce(part, axis=1, out=lowest[first : first + block])
        np.maximum.reduce(part, axis=1, out=highest[first : first + block])
        np.add.reduce(part, axis=1, dtype=np.float64, out=total[first : first + block])
    return lowest.astype(np.float64), highest.astype(np.float64), total


def _check_block(
    raw: KwhArray,
    chosen: Int64Array,
    checks: _Checks,
    starts: Int64Array,
    checked: _CheckedRows,
    high: FloatArray,
) -> None:
    """Check some rows value by value, writing into ``checked`` and ``high`` at ``chosen``."""
    sub = raw.astype(np.float64)
    gaps = np.isnan(sub)
    has = ~gaps
    leading = np.where(has.any(axis=1), np.argmax(has, axis=1), sub.shape[1])
    checked.leading[chosen] = leading
    checked.missing[chosen] = np.count_nonzero(gaps, axis=1)
    inner_gaps = gaps & (np.arange(sub.shape[1])[None, :] >= leading[:, None])
    checked.first_gaps[chosen] = sufficiency.first_instants(inner_gaps, starts)
    with np.errstate(invalid="ignore"):
        below = sub < checks.low
    checked.below[chosen] = np.count_nonzero(below, axis=1)
    checked.first_below[chosen] = sufficiency.first_instants(below, starts)
    believed = np.where(below, np.nan, sub)
    ordered = np.sort(believed, axis=1)  # NaN last
    count = np.count_nonzero(~np.isnan(believed), axis=1)
    at = np.arange(len(chosen))
    q = checks.bounds.outlier_percentile / 100.0
    percentile = ordered[at, np.clip(np.ceil(q * count).astype(np.int64) - 1, 0, None)]
    median = ordered[at, np.maximum((count - 1) // 2, 0)]
    limit = np.where(
        (count > 0) & (percentile > 0), checks.bounds.outlier_factor * percentile, np.inf
    )
    high[chosen] = limit
    with np.errstate(invalid="ignore"):
        outliers = believed > limit[:, None]
        checked.wh_medians[chosen] = np.where(median > checks.wh_median, median, np.nan)
    checked.outliers[chosen] = np.count_nonzero(outliers, axis=1)
    checked.first_outliers[chosen] = sufficiency.first_instants(outliers, starts)


def _report(
    warnings: WarningLog,
    ids: ObjectArray,
    checked: _CheckedRows,
    skipped: int,
    interval_s: int,
) -> None:
    # Intervals before a service point's first reading are a short history, not a gap.
    warnings.add(
        sufficiency.SHORT_HISTORY,
        "intervals of the analysis window before the first reading",
        ids,
        checked.leading + skipped,
    )
    warnings.add(
        sufficiency.GAP,
        "intervals without a reading after the first one",
        ids,
        checked.missing - checked.leading,
        checked.first_gaps,
    )
    warnings.add(
        sufficiency.OUT_OF_RANGE,
        "negative interval values (read as missing)",
        ids,
        checked.below,
        checked.first_below,
    )
    warnings.add(
        sufficiency.OUTLIER,
        "readings far above the service point's own history (read as missing)",
        ids,
        checked.outliers,
        checked.first_outliers,
    )
    flagged = ~np.isnan(checked.wh_medians)
    hours = interval_s / 3600.0
    warnings.add(
        sufficiency.WH_NOT_KWH,
        "median reading implausibly large for kWh: probably watt-hours (kept as read)",
        ids[flagged],
        1,
        [f"median {m / hours:g} kWh per hour" for m in checked.wh_medians[flagged].tolist()],
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


@dataclass(frozen=True)
class _Scattered:
    """Per service point × column of a scatter: readings, duplicates and conflicts."""

    readings: Int64Array  # (N, C) readings on the grid, missing values included
    duplicates: npt.NDArray[np.bool_]  # (N, C) more than one reading
    conflicts: npt.NDArray[np.bool_]  # (N, C) readings whose values differ
    misaligned: Int64Array  # (N,) readings off the grid
    first_misaligned: Int64Array  # (N, k) their first instants


def _scatter(
    batch: IntervalBatch,
    grid: FloatArray,
    targets: Int64Array,
    start_us: int,
    columns: int,
    step: int,
) -> _Scattered:
    """The general path: place any rows; a cell read more than once takes its value when
    every reading of it agrees (missing values aside), and is a conflict otherwise."""
    n = batch.size
    row_sp = batch.row_sp()
    relative = batch.start_us - start_us
    aligned = relative % step == 0
    misaligned = np.bincount(row_sp[~aligned], minlength=n)
    column = relative // step
    inside = aligned & (column >= 0) & (column < columns)
    flat = row_sp[inside] * columns + column[inside]
    values = batch.kwh[inside].astype(np.float64)
    present = ~np.isnan(values)
    cells = n * columns
    readings = np.bincount(flat, minlength=cells)
    lowest = np.full(cells, np.inf)
    highest = np.full(cells, -np.inf)
    np.minimum.at(lowest, flat[present], values[present])
    np.maximum.at(highest, flat[present], values[present])
    valued = np.isfinite(lowest)
    grid[targets] = np.where(valued, lowest, np.nan).reshape(n, columns)
    return _Scattered(
        readings.reshape(n, columns),
        (readings > 1).reshape(n, columns),
        (valued & (highest != lowest)).reshape(n, columns),
        misaligned,
        _first_rows(row_sp[~aligned], batch.start_us[~aligned], n),
    )


def _first_rows(owners: Int64Array, instants: Int64Array, n: int) -> Int64Array:
    """(n, k): the first instants of each owner ``0 … n - 1`` (``owners`` sorted)."""
    out = np.full((n, sufficiency.DETAIL_EXAMPLES), sufficiency.NO_INSTANT, dtype=np.int64)
    if owners.size == 0:
        return out
    first_of_owner = np.searchsorted(owners, owners, side="left")
    rank = np.arange(owners.size) - first_of_owner
    shown = rank < sufficiency.DETAIL_EXAMPLES
    out[owners[shown], rank[shown]] = instants[shown]
    return out


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
