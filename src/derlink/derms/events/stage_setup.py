"""What both stage planners (the greedy of generation.py and the optimiser) start from: each
program's stage windows, which candidates are eligible for each, their expected reduction on
the planning grid, the ranking key, and the need (docs/stage-generation.md).

Pure: arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from derlink.derms.events.program_terms import Grid, Terms, program_terms, stage_windows
from derlink.derms.events.stage_inputs import (
    KW_PER_MW,
    BoolArray,
    BusyKind,
    FloatArray,
    IndexArray,
    LoadReduction,
    Manual,
    MaxDemandThreshold,
    PlanRequest,
    epoch_s,
)
from derlink.derms.events.stage_plan import Exclusion

#: Below this many kW a sum counts as met (float sums of a million values).
TOL_KW = 1e-6
P10, P50, P90 = 0, 1, 2


class Supply:
    """The candidates' expected reduction per planning interval: their service point's
    forecast, in the forecast interval holding the planning interval's start, split equally
    over its candidates in the program and scaled by the score (score/100). A negative
    forecast counts as 0 kW."""

    def __init__(self, request: PlanRequest, grid: Grid, program: IndexArray) -> None:
        c, f = request.candidates, request.forecasts
        self._fc = f
        self._row = _forecast_rows(request, program)
        self._grid_s = epoch_s(grid.start) + grid.step_s * np.arange(grid.intervals + 1)
        finite = np.isfinite(f.p10_kw) & np.isfinite(f.p50_kw) & np.isfinite(f.p90_kw)
        width = finite.shape[1]
        #: A forecast covers from its window's start to its first missing value.
        self._valid = np.where(finite.all(axis=1), width, np.argmin(finite, axis=1))
        score = np.asarray(c.score, np.float64)
        self.default_scored: BoolArray = np.isnan(score)
        #: Per candidate: its score, or the request's default when it has none.
        self.score: FloatArray = np.where(self.default_scored, request.default_score, score)
        self._factor = self.score / 100.0 / _sharing(self._row, program)
        self._quantiles = (f.p10_kw, f.p50_kw, f.p90_kw)

    def covers(self, rows: IndexArray, first: int, end: int) -> BoolArray:
        """Whether a forecast covers each row's every interval of [first, end)."""
        fr = self._row[rows]
        has = fr >= 0
        if not has.any():
            return has
        fr = np.where(has, fr, 0)
        start = self._fc.window_start_s[fr]
        step = self._fc.interval_s[fr]
        last = (self._grid_s[end - 1] - start) // step
        covered: BoolArray = has & (self._grid_s[first] >= start) & (last < self._valid[fr])
        return covered

    def kw(self, rows: IndexArray, first: int, end: int, quantile: int) -> FloatArray:
        """kW per row × interval of [first, end); the rows must be covered."""
        fr = self._row[rows]
        start = self._fc.window_start_s[fr][:, None]
        step = self._fc.interval_s[fr][:, None]
        column = (self._grid_s[None, first:end] - start) // step
        values = np.asarray(self._quantiles[quantile][fr[:, None], column], np.float64)
        kw: FloatArray = np.maximum(values, 0.0) * self._factor[rows][:, None]
        return kw


def _forecast_rows(request: PlanRequest, program: IndexArray) -> IndexArray:
    """Per candidate, the row of its service point's forecast (-1 when there is none)."""
    fc, c = request.forecasts.service_point, request.candidates.service_point
    codes = np.unique(np.concatenate([fc, c]), return_inverse=True)[1].astype(np.intp)
    fc_code, c_code = codes[: fc.shape[0]], codes[fc.shape[0] :]
    if np.bincount(fc_code).max(initial=0) > 1:
        raise ValueError("forecasts: a service point has two rows")
    row_of = np.full(int(codes.max(initial=-1)) + 1, -1, np.intp)
    row_of[fc_code] = np.arange(fc_code.shape[0])
    return row_of[c_code]


def _sharing(row: IndexArray, program: IndexArray) -> FloatArray:
    """Per candidate, how many candidates share its service point's forecast in its program."""
    key = row.astype(np.int64) * (int(program.max(initial=0)) + 2) + program + 1
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    shared: FloatArray = counts[inverse].astype(np.float64)
    return shared


@dataclass(frozen=True, slots=True, eq=False)
class Slot:
    """One stage window of one program, and the candidates eligible for it (ascending)."""

    program: int
    first: int
    end: int
    rows: IndexArray


@dataclass(frozen=True, slots=True, eq=False)
class Setup:
    request: PlanRequest
    grid: Grid
    #: Per candidate: the index of its program in the strategy's, -1 when not one of them.
    program: IndexArray
    terms: tuple[Terms | None, ...]
    #: In time order, then by program code.
    slots: tuple[Slot, ...]
    #: Per candidate: the Exclusion it is counted under, 0 when eligible for some slot.
    reason: npt.NDArray[np.int8]
    #: Per candidate: the rank of its device id (ties by position), and its device.
    id_rank: IndexArray
    device: IndexArray
    #: Whether a device has several rows.
    twins: bool
    #: Per candidate: its feeder's number (all 0 unless the strategy plans per feeder).
    feeder: IndexArray
    feeders: int
    supply: Supply
    #: Per candidate: its program's cost per kW, and its fatigue (events used / per cycle).
    rate: FloatArray
    fatigue: FloatArray
    #: The quantile filled and ranked by: P10 for a firm strategy, else P50.
    fill: int
    #: The planning intervals a snap-back lasts.
    snap_intervals: int

    def code(self, program: int) -> str:
        return self.request.strategy.programs[program]

    def key(self, rows: IndexArray, expected: FloatArray) -> FloatArray:
        """e / (rate·e + λ·fatigue + call), computed as 1 / (rate + (λ·fatigue + call) / e);
        0 for a device expected to reduce nothing. The call cost makes, of two devices alike
        but for e, the larger one cheaper per kW: a need is met with fewer devices."""
        costs = self.request.costs
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            extra = costs.fatigue_weight * self.fatigue[rows] + costs.call_cost
            key = 1.0 / (self.rate[rows] + extra / expected)
        return np.where(expected > 0, key, 0.0)

    def ranking(self, rows: IndexArray, expected: FloatArray, *, by_feeder: bool) -> IndexArray:
        """The order to take ``rows`` in: by key, then larger expected kW, then device id;
        grouped by feeder first when asked."""
        keys = [self.id_rank[rows], -expected, -self.key(rows, expected)]
        if by_feeder:
            keys.append(self.feeder[rows])
        return np.lexsort(keys).astype(np.intp)

    def one_row_per_device(self, rows: IndexArray) -> IndexArray:
        """``rows`` without a second row of a device (its lowest row is kept)."""
        if not self.twins or rows.size == 0:
            return rows
        ordered = rows[np.argsort(rows, kind="stable")]
        _, first = np.unique(self.device[ordered], return_index=True)
        return ordered[np.sort(first)]


def prepare(request: PlanRequest) -> Setup:
    """Every candidate's exclusion or eligible stage windows, and what ranking needs."""
    c, strategy = request.candidates, request.strategy
    grid = request.event.grid
    programs = strategy.programs
    program = np.full(c.size, -1, np.intp)
    for p, code in enumerate(programs):
        program[c.program == code] = p
    terms = tuple(
        program_terms(request.rules.get(code, ()), override_rules=strategy.override_rules)
        for code in programs
    )
    reason = np.zeros(c.size, np.int8)

    def exclude(mask: BoolArray, why: Exclusion) -> None:
        reason[(reason == 0) & mask] = why

    exclude(program < 0, Exclusion.NOT_IN_STRATEGY)
    exclude(~np.asarray(c.registered, bool), Exclusion.NOT_REGISTERED)
    exclude(~np.asarray(c.in_zone, bool), Exclusion.OUTSIDE_ZONE)
    windows: list[tuple[tuple[int, int], ...]] = []
    manual = _manual_spans(request, grid)
    for p, term in enumerate(terms):
        mine = program == p
        if term is None:
            exclude(mine, Exclusion.NO_RULES)
            windows.append(())
            continue
        found = stage_windows(
            term,
            grid,
            tz=request.calendar.tz,
            holidays=request.calendar.holidays,
            within=None if manual is None else manual.get(programs[p], []),
        )
        windows.append(found.stages)
        if not found.stages:
            exclude(
                mine, Exclusion.OUTSIDE_WINDOW if found.day_allowed else Exclusion.DAY_NOT_ALLOWED
            )
        if term.max_events is not None:
            exclude(mine & (c.events_used >= term.max_events), Exclusion.MAX_EVENTS)
        if term.max_overrides is not None:
            exclude(mine & (c.overrides_used >= term.max_overrides), Exclusion.MAX_OVERRIDES)
    opted = np.zeros(c.size, bool)
    opted[_candidates_of(request.busy.opted_out, c.size)] = True
    exclude(opted, Exclusion.OPTED_OUT)

    supply = Supply(request, grid, program)
    slots = _slots(request, grid, program, terms, windows, reason, supply)
    id_rank, device = _device_ranks(c.device_id)
    feeder = np.zeros(c.size, np.intp)
    if strategy.per_feeder and c.size:
        feeder = np.unique(c.feeder, return_inverse=True)[1].astype(np.intp)
    # The last entries serve the rows of no program (index -1); they are never planned.
    rates = np.array([request.costs.rate(code) for code in programs] + [1.0])
    fatigue_events = np.array([t.fatigue_events if t else 1 for t in terms] + [1], np.float64)
    step = grid.step_s
    return Setup(
        request=request,
        grid=grid,
        program=program,
        terms=terms,
        slots=slots,
        reason=reason,
        id_rank=id_rank,
        device=device,
        twins=bool(c.size) and int(device.max()) + 1 < c.size,
        feeder=feeder,
        feeders=int(feeder.max(initial=0)) + 1,
        supply=supply,
        rate=rates[program],
        fatigue=c.events_used / fatigue_events[program],
        fill=P10 if strategy.firm else P50,
        snap_intervals=-(-request.snapback.duration_s // step) if request.snapback.share else 0,
    )


def _manual_spans(request: PlanRequest, grid: Grid) -> dict[str, list[tuple[int, int]]] | None:
    objective = request.strategy.objective
    if not isinstance(objective, Manual):
        return None
    spans: dict[str, list[tuple[int, int]]] = {}
    for window in objective.windows:
        if window.program not in request.strategy.programs:
            raise ValueError(f"manual window of {window.program}, not one of the strategy's")
        spans.setdefault(window.program, []).append(grid.span(window.start, window.end))
    for program, own in spans.items():
        own.sort()
        if any(b > c for (_, b), (c, _) in pairwise(own)):
            raise ValueError(f"manual windows of {program} overlap")
    return spans


def _slots(
    request: PlanRequest,
    grid: Grid,
    program: IndexArray,
    terms: tuple[Terms | None, ...],
    windows: list[tuple[tuple[int, int], ...]],
    reason: npt.NDArray[np.int8],
    supply: Supply,
) -> tuple[Slot, ...]:
    """Each program's windows with their eligible rows; a row eligible for none is counted
    under the first per-window rule it fails."""
    busy = request.busy
    t0 = epoch_s(grid.start)
    busy_program = program[_candidates_of(busy.device, program.shape[0])]
    first_failed = np.full(program.shape[0], 127, np.int8)
    eligible = np.zeros(program.shape[0], bool)
    slots: list[Slot] = []
    for p, term in enumerate(terms):
        rows = np.flatnonzero((program == p) & (reason == 0))
        if term is None or rows.size == 0:
            continue
        mine = (busy_program == p) & (reason[busy.device] == 0)
        b_dev, b_start, b_end = busy.device[mine], busy.start_s[mine], busy.end_s[mine]
        b_kind = busy.kind[mine]
        for first, end in windows[p]:
            start_s, end_s = t0 + first * grid.step_s, t0 + end * grid.step_s
            # Another event's reservation keeps the minimum rest on both sides; the customer's
            # unavailability must end the minimum rest before the stage starts.
            after_rest = b_end > start_s - term.rest_s
            reserved = (b_kind == BusyKind.RESERVED) & after_rest & (b_start < end_s + term.rest_s)
            unavailable = (b_kind == BusyKind.UNAVAILABLE) & after_rest & (b_start < end_s)
            failed = np.zeros(rows.shape[0], np.int8)
            failed[~supply.covers(rows, first, end)] = Exclusion.NO_FORECAST
            failed[_marked(b_dev[reserved], rows, program.shape[0])] = Exclusion.RESERVED
            failed[_marked(b_dev[unavailable], rows, program.shape[0])] = Exclusion.UNAVAILABLE
            ok = failed == 0
            eligible[rows[ok]] = True
            first_failed[rows[~ok]] = np.minimum(first_failed[rows[~ok]], failed[~ok])
            slots.append(Slot(p, first, end, rows[ok]))
    # Every row still without a reason was checked in at least one window of its program.
    left = (reason == 0) & ~eligible
    reason[left] = first_failed[left]
    programs = request.strategy.programs
    return tuple(sorted(slots, key=lambda s: (s.first, s.end, programs[s.program])))


def _candidates_of(indices: IndexArray, n: int) -> IndexArray:
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise ValueError("busy: a device index is not a candidate")
    return indices


def _marked(devices: IndexArray, rows: IndexArray, n: int) -> BoolArray:
    """Per row of ``rows``: whether it is one of ``devices``."""
    mark = np.zeros(n, bool)
    mark[devices] = True
    return mark[rows]


def _device_ranks(device_id: npt.NDArray[np.generic]) -> tuple[IndexArray, IndexArray]:
    """Per row: the rank of its device id (ties by position) and its device's number."""
    n = device_id.shape[0]
    order = np.argsort(device_id, kind="stable")
    rank = np.empty(n, np.intp)
    rank[order] = np.arange(n)
    ids = device_id[order]
    new = np.ones(n, bool)
    new[1:] = ids[1:] != ids[:-1]
    device = np.empty(n, np.intp)
    device[order] = np.cumsum(new) - 1
    return rank, device


@dataclass(frozen=True, slots=True, eq=False)
class Need:
    """What a need-driven objective asks for per planning interval, given the snap-back."""

    #: kW before snap-back: the target, or L − M for a demand threshold (may be negative).
    base: FloatArray
    #: Intervals with a need (a manual target applies inside the operator's windows only).
    active: BoolArray
    #: Whether need = max(0, base + snap-back) (a demand threshold) rather than base + it.
    clipped: bool
    #: Per interval of the snap-back grid (the event's and the snap-back's after it): the most
    #: snap-back may raise the net load (snap-back − planned); inf where unlimited.
    limit: FloatArray

    def curve(self, snapback: FloatArray) -> FloatArray:
        value = self.base + snapback[: self.base.shape[0]]
        if self.clipped:
            value = np.maximum(value, 0.0)
        return np.where(self.active, value, 0.0)


def need_of(setup: Setup) -> Need | None:
    """The need of the strategy's objective; None for the ones that take every eligible device
    (maximum reduction, and a manual event without a target)."""
    objective = setup.request.strategy.objective
    intervals = setup.grid.intervals
    extended = intervals + setup.snap_intervals
    everywhere = np.ones(intervals, bool)
    if isinstance(objective, LoadReduction):
        mw = objective.mw * KW_PER_MW
        most = objective.max_increase_pct / 100.0 * mw
        return Need(np.full(intervals, mw), everywhere, False, np.full(extended, most))
    if isinstance(objective, MaxDemandThreshold):
        load = np.asarray(objective.zone_load_mw, np.float64) * KW_PER_MW
        threshold = objective.max_demand_mw * KW_PER_MW
        if load.shape[0] < intervals or not np.isfinite(load).all():
            raise ValueError("the zone load forecast must cover every interval of the event")
        # After the event, snap-back must not push the load above M. During it, the need
        # already holds the snap-back (a load above M is a shortfall); after it, where the
        # load is above M without any snap-back, it is the window that falls short.
        known = load[intervals:extended]
        limit = np.full(extended, np.inf)
        limit[intervals : intervals + known.shape[0]] = np.where(
            known <= threshold, threshold - known, np.inf
        )
        return Need(load[:intervals] - threshold, everywhere, True, limit)
    if isinstance(objective, Manual) and objective.target_mw is not None:
        active = np.zeros(intervals, bool)
        for window in objective.windows:
            first, end = setup.grid.span(window.start, window.end)
            active[first:end] = True
        wanted = np.full(intervals, objective.target_mw * KW_PER_MW)
        return Need(wanted, active, False, np.full(extended, np.inf))
    return None


def within_segments(values: FloatArray, segment: IndexArray) -> FloatArray:
    """Cumulative sums of ``values`` (rows, or rows × columns) restarting at each change of
    ``segment`` (sorted), exclusive of the row itself."""
    inclusive = np.cumsum(values, axis=0)
    exclusive = inclusive - values
    if segment.size:
        starts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
        position = np.cumsum(np.r_[True, segment[1:] != segment[:-1]]) - 1
        exclusive = exclusive - exclusive[starts][position]
    return exclusive


@dataclass(frozen=True, slots=True, eq=False)
class Pick:
    """Rows chosen for one program's window, and their kW per interval (P10, P50, P90)."""

    program: int
    first: int
    end: int
    rows: IndexArray
    kw: FloatArray


def pick(setup: Setup, program: int, first: int, end: int, rows: IndexArray) -> Pick:
    rows = np.sort(rows)
    kw = np.stack([setup.supply.kw(rows, first, end, q).sum(axis=0) for q in (P10, P50, P90)])
    return Pick(program, first, end, rows, kw)
