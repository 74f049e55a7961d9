"""Stage generation as a linear programme over cohorts of like devices, solved by HiGHS's
simplex and turned back into devices by the greedy's key (docs/stage-generation.md).

A cohort groups the eligible devices of one feeder (when the strategy plans per feeder),
program, score band and forecast bin; x[g, w] is how many devices of cohort g take stage
window w, with the cohort's mean kW per interval and mean snap-back:

    minimise   Σ cost[g,w]·x[g,w] + penalty·Σ short[f,t]
    subject to, per feeder f (one for all unless per feeder) and interval t with a need,
               Σ_{w ∋ t} kw[g,w](t)·x[g,w]
                 − (1 + margin)·Σ_{t in w's snap-back} back[g,w]·x[g,w] + short[f,t]
                 ≥ (1 + margin)·share[f]·base(t)
               per interval u where the objective limits snap-back,
               Σ_{u in w's snap-back} back[g,w]·x[g,w] − Σ_{w ∋ u} kw[g,w](u)·x[g,w]
                 ≤ share[f]·limit(u)
               per cohort, Σ_w x[g,w] ≤ its devices; 0 ≤ x[g,w] ≤ its devices eligible for w.

cost is a device's rate·e + λ·fatigue + call cost (the greedy key's denominator) and the
penalty makes a kW short dearer than any device, so the shortfall is what the devices cannot
cover. Per feeder the programme falls apart into one independent block per feeder (each holds
its share of the need and of the limit), solved one after another within the one time limit.

Each window then takes, per cohort, the devices still free first in key order while their kW
stays within x × the cohort's mean kW, and the greedy tops up what that leaves short. Only the
objectives with a need are optimised; the others, and every case the programme cannot be
solved (highspy not installed, the time limit reached, no optimal solution), get the greedy
plan with a note saying why.

highspy is an optional dependency (the ``optimiser`` extra), imported when a plan is made.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from derlink.derms.events.generation import assemble, fill, greedy
from derlink.derms.events.stage_inputs import BoolArray, FloatArray, IndexArray, PlanRequest
from derlink.derms.events.stage_plan import Note, Plan
from derlink.derms.events.stage_setup import (
    P50,
    TOL_KW,
    Need,
    Pick,
    Setup,
    Slot,
    need_of,
    pick,
    prepare,
    within_segments,
)

#: Cohorts per feeder and program: the programme's size depends on these, not on the devices.
SCORE_BANDS = 4
FORECAST_BINS = 4


def optimise_stages(
    request: PlanRequest,
    *,
    time_limit_s: float = 10.0,
    score_bands: int = SCORE_BANDS,
    forecast_bins: int = FORECAST_BINS,
) -> Plan:
    """The optimised plan of ``request``, or its greedy plan with a note saying why not."""
    setup = prepare(request)
    need = need_of(setup)
    if need is None:
        why = "this objective takes every eligible device: nothing to optimise"
        return _greedy(setup, need, Note("optimiser.not_applicable", f"{why}; the greedy plan"))
    highspy = _highspy()
    if highspy is None:
        why = "highspy is not installed (the optimiser extra)"
        return _greedy(setup, need, Note("optimiser.unavailable", f"{why}; the greedy plan"))
    cohorts = _cohorts(setup, score_bands, forecast_bins)
    programme = _programme(setup, need, cohorts)
    solved = _solve(highspy, programme, time_limit_s)
    if isinstance(solved, Note):
        return _greedy(setup, need, solved)
    chosen = _devices(setup, cohorts, programme, solved)
    # A cohort's devices are not all its average: where the chosen fall short of the need,
    # the greedy tops them up from the devices left.
    picks, notes = fill(setup, need, given=chosen)
    added = sum(p.rows.size for p in picks) - sum(p.rows.size for p in chosen)
    if added:
        said = f"{added} devices added by the greedy where the cohorts' averages fell short"
        notes.insert(0, Note("optimiser.topped_up", said))
    return assemble(setup, picks, need, notes, planner="optimiser")


def _greedy(setup: Setup, need: Need | None, why: Note) -> Plan:
    picks, notes = greedy(setup, need)
    return assemble(setup, picks, need, [why, *notes], planner="greedy")


def _highspy() -> ModuleType | None:
    try:
        return importlib.import_module("highspy")
    except ImportError:
        return None


@dataclass(frozen=True, slots=True, eq=False)
class Cohorts:
    #: Per candidate: its cohort, -1 when eligible for no window.
    of_row: IndexArray
    #: Per cohort: its eligible devices, and its feeder's number.
    size: IndexArray
    feeder: IndexArray
    #: Per slot (setup.slots): the mean kW of each eligible row over the window (for ranking).
    mean_kw: tuple[FloatArray, ...]


def _cohorts(setup: Setup, score_bands: int, forecast_bins: int) -> Cohorts:
    """Eligible rows grouped by feeder × program × score band × forecast bin; the forecast
    bins are quantiles of the rows' typical kW (their mean over the windows they may take)."""
    n = setup.program.shape[0]
    total, count = np.zeros(n), np.zeros(n)
    means: list[FloatArray] = []
    for slot in setup.slots:
        mean = setup.supply.kw(slot.rows, slot.first, slot.end, setup.fill).mean(axis=1)
        means.append(mean)
        total[slot.rows] += mean
        count[slot.rows] += 1
    eligible = count > 0
    typical = total / np.maximum(count, 1)
    band = np.minimum((setup.supply.score * score_bands / 100.0).astype(np.intp), score_bands - 1)
    forecast_bin = np.zeros(n, np.intp)
    for p in range(len(setup.request.strategy.programs)):
        mine = eligible & (setup.program == p)
        if mine.any():
            edges = np.quantile(typical[mine], np.linspace(0, 1, forecast_bins + 1)[1:-1])
            forecast_bin[mine] = np.searchsorted(edges, typical[mine], side="right")
    key = ((setup.program * setup.feeders + setup.feeder) * score_bands + band) * forecast_bins
    key = key + forecast_bin
    of_row = np.full(n, -1, np.intp)
    kept, inverse = np.unique(key[eligible], return_inverse=True)
    of_row[eligible] = inverse
    feeder_of = (kept // (forecast_bins * score_bands)) % setup.feeders
    size = np.bincount(of_row[eligible], minlength=kept.shape[0])
    return Cohorts(of_row, size.astype(np.intp), feeder_of.astype(np.intp), tuple(means))


@dataclass(frozen=True, slots=True, eq=False)
class Programme:
    """The LP in HiGHS's column-wise form. It falls apart into independent blocks, one per
    feeder when planning per feeder (else one): every row and column belongs to one."""

    cost: FloatArray
    col_upper: FloatArray
    col_block: IndexArray
    row_lower: FloatArray
    row_upper: FloatArray
    row_block: IndexArray
    start: IndexArray
    index: IndexArray
    value: FloatArray
    #: Per column: a device's mean kW over its window (0 for a shortfall column).
    mean_kw: FloatArray
    #: Per slot: the cohorts of its columns, and its first column.
    slot_cohorts: tuple[IndexArray, ...]
    slot_column: tuple[int, ...]


class _Rows:
    """Numbers constraint rows as they are added, with their bounds and blocks."""

    def __init__(self) -> None:
        self.lower: list[FloatArray] = []
        self.upper: list[FloatArray] = []
        self.block: list[IndexArray] = []
        self.count = 0

    def add(self, lower: FloatArray, upper: FloatArray, block: IndexArray) -> IndexArray:
        ids = np.arange(self.count, self.count + lower.shape[0], dtype=np.intp)
        self.lower.append(lower)
        self.upper.append(upper)
        self.block.append(block)
        self.count += lower.shape[0]
        return ids


def _programme(setup: Setup, need: Need, cohorts: Cohorts) -> Programme:
    margin = 1.0 + setup.request.strategy.margin
    groups = cohorts.size.shape[0]
    rows = _Rows()
    # Per feeder with eligible kW: its share of the need, coverage rows for the intervals
    # with a need, and its share of the snap-back limit where the objective sets one.
    totals = np.zeros(setup.feeders)
    for slot, mean in zip(setup.slots, cohorts.mean_kw, strict=True):
        totals += np.bincount(setup.feeder[slot.rows], mean, setup.feeders)
    share = totals / totals.sum() if totals.sum() > 0 else totals
    feeders = np.flatnonzero(share > 0)
    portion = share[feeders][:, None]
    wanted = margin * portion * need.base[None, :]
    coverage = _feeder_rows(
        rows, feeders, need.active, wanted, np.full(wanted.shape, np.inf), setup.feeders
    )
    most = portion * need.limit[None, :]
    finite = np.isfinite(need.limit)
    limit = _feeder_rows(rows, feeders, finite, np.full(most.shape, -np.inf), most, setup.feeders)
    # Cohorts that several windows may take are held to their size.
    windows = np.zeros(groups, np.intp)
    for slot in setup.slots:
        windows[np.unique(cohorts.of_row[slot.rows])] += 1
    shared = np.flatnonzero(windows > 1)
    size_row = np.full(groups, -1, np.intp)
    size_row[shared] = rows.add(
        np.full(shared.size, -np.inf), cohorts.size[shared].astype(float), cohorts.feeder[shared]
    )
    columns = _Columns()
    for slot, mean in zip(setup.slots, cohorts.mean_kw, strict=True):
        columns.add_slot(setup, cohorts, slot, mean, (coverage, limit, size_row), margin)
    # One shortfall column per coverage row, dearer per kW than any device.
    row_block = np.concatenate([np.zeros(0, np.intp), *rows.block])
    cover_ids = coverage[coverage >= 0]
    useful = columns.kw > 1e-3
    penalty = 10.0 * max(1.0, float((columns.cost[useful] / columns.kw[useful]).max(initial=0.0)))
    columns.add_shortfall(cover_ids, row_block[cover_ids], penalty)
    col, row, value = (np.concatenate(part) for part in zip(*columns.entries, strict=True))
    order = np.lexsort((row, col))
    start = np.searchsorted(col[order], np.arange(columns.count + 1)).astype(np.intp)
    return Programme(
        cost=np.concatenate(columns.costs),
        col_upper=np.concatenate(columns.uppers),
        col_block=np.concatenate(columns.blocks),
        row_lower=np.concatenate([np.zeros(0), *rows.lower]),
        row_upper=np.concatenate([np.zeros(0), *rows.upper]),
        row_block=row_block,
        start=start,
        index=row[order],
        value=value[order],
        slot_cohorts=tuple(columns.slot_cohorts),
        slot_column=tuple(columns.slot_column),
        mean_kw=np.r_[columns.kw, np.zeros(cover_ids.size)],
    )


def _feeder_rows(
    rows: _Rows,
    feeders: IndexArray,
    at: BoolArray,
    lower: FloatArray,
    upper: FloatArray,
    n_feeders: int,
) -> npt.NDArray[np.intp]:
    """A row per feeder of ``feeders`` × interval where ``at``, bounded by ``lower`` and
    ``upper`` (feeders × intervals); the row ids as an (every feeder × interval) table, -1
    where there is no row."""
    table = np.full((n_feeders, at.shape[0]), -1, np.intp)
    columns = np.flatnonzero(at)
    ids = rows.add(
        lower[:, columns].ravel(), upper[:, columns].ravel(), np.repeat(feeders, columns.size)
    )
    table[np.ix_(feeders, columns)] = ids.reshape(feeders.size, columns.size)
    return table


class _Columns:
    """The columns as they are added: their entries, costs, bounds and blocks."""

    def __init__(self) -> None:
        self.entries: list[tuple[IndexArray, IndexArray, FloatArray]] = []
        self.costs: list[FloatArray] = []
        self.uppers: list[FloatArray] = []
        self.blocks: list[IndexArray] = []
        self.means: list[FloatArray] = []
        self.slot_cohorts: list[IndexArray] = []
        self.slot_column: list[int] = []
        self.count = 0

    @property
    def cost(self) -> FloatArray:
        return np.concatenate([np.zeros(0), *self.costs])

    @property
    def kw(self) -> FloatArray:
        return np.concatenate([np.zeros(0), *self.means])

    def add_slot(
        self,
        setup: Setup,
        cohorts: Cohorts,
        slot: Slot,
        mean: FloatArray,
        tables: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]],
        margin: float,
    ) -> None:
        """A column per cohort among the slot's rows: its mean kW per interval covers the
        window's coverage rows and lowers its limit rows; its mean snap-back raises the need
        of the coverage rows it lands on and the limit rows there."""
        coverage, limit, size_row = tables
        intervals = setup.grid.intervals
        groups = cohorts.size.shape[0]
        g = cohorts.of_row[slot.rows]
        n_g = np.bincount(g, minlength=groups)
        present = np.flatnonzero(n_g)
        per = n_g[present].astype(float)
        span = np.arange(slot.first, slot.end)
        expected = setup.supply.kw(slot.rows, slot.first, slot.end, setup.fill)
        sums = [np.bincount(g, expected[:, j], groups)[present] for j in range(span.size)]
        kw: FloatArray = np.stack(sums, 1).astype(np.float64) / per[:, None]
        last = setup.supply.kw(slot.rows, slot.end - 1, slot.end, P50)[:, 0]
        back = setup.request.snapback.share * np.bincount(g, last, groups)[present] / per
        costs = setup.request.costs
        cost = (
            setup.rate[slot.rows] * mean
            + costs.fatigue_weight * setup.fatigue[slot.rows]
            + costs.call_cost
        )
        feeder = cohorts.feeder[present]
        landing = np.arange(slot.end, slot.end + setup.snap_intervals)
        inside = landing[landing < intervals]
        parts: list[tuple[IndexArray, FloatArray]] = [
            (coverage[feeder][:, span], kw),
            (coverage[feeder][:, inside], np.repeat(-margin * back[:, None], inside.size, 1)),
            (limit[feeder][:, span], -kw),
            (limit[feeder][:, landing], np.repeat(back[:, None], landing.size, 1)),
            (size_row[present][:, None], np.ones((present.size, 1))),
        ]
        cols = self.count + np.arange(present.size, dtype=np.intp)
        for row_ids, values in parts:
            where = row_ids >= 0
            at = np.broadcast_to(cols[:, None], where.shape)[where]
            self.entries.append((at, row_ids[where], values[where]))
        self.costs.append(np.bincount(g, cost, groups)[present] / per)
        self.means.append(np.bincount(g, mean, groups)[present] / per)
        self.uppers.append(per)
        self.blocks.append(feeder)
        self.slot_cohorts.append(present)
        self.slot_column.append(self.count)
        self.count += present.size

    def add_shortfall(self, rows: IndexArray, blocks: IndexArray, penalty: float) -> None:
        cols = self.count + np.arange(rows.size, dtype=np.intp)
        self.entries.append((cols, rows, np.ones(rows.size)))
        self.costs.append(np.full(rows.size, penalty))
        self.uppers.append(np.full(rows.size, np.inf))
        self.blocks.append(blocks)
        self.count += rows.size


def _quiet_solver(highspy: ModuleType) -> Any:
    """A HiGHS solver that writes nothing to the process's standard output (a server's): the
    package's ``Highs`` prints a banner when it is made, as it sets up its Python callbacks,
    which planning does not use; its core class does not."""
    core = getattr(getattr(highspy, "_core", None), "_Highs", None)
    solver = core() if core is not None else highspy.Highs()
    solver.setOptionValue("output_flag", False)
    return solver


def _solve(highspy: ModuleType, programme: Programme, time_limit_s: float) -> FloatArray | Note:
    """The columns' values at the optimum, block by block within one time limit, or a note
    saying why there are none."""
    solver = _quiet_solver(highspy)
    solver.setOptionValue("solver", "simplex")
    deadline = time.monotonic() + time_limit_s
    x = np.zeros(programme.cost.shape[0])
    col_order = np.argsort(programme.col_block, kind="stable")
    row_order = np.argsort(programme.row_block, kind="stable")
    blocks = int(max(programme.col_block.max(initial=-1), programme.row_block.max(initial=-1))) + 1
    col_edges = np.searchsorted(programme.col_block[col_order], np.arange(blocks + 1))
    row_edges = np.searchsorted(programme.row_block[row_order], np.arange(blocks + 1))
    local_row = np.empty(programme.row_block.shape[0], np.intp)
    local_row[row_order] = np.arange(row_order.shape[0]) - row_edges[programme.row_block[row_order]]
    for block in range(blocks):
        cols = col_order[col_edges[block] : col_edges[block + 1]]
        block_rows = row_order[row_edges[block] : row_edges[block + 1]]
        if cols.size == 0:
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            return _timed_out(time_limit_s)
        lp = _block_lp(highspy, programme, cols, block_rows, local_row)
        solver.setOptionValue("time_limit", left)
        solver.passModel(lp)
        solver.run()
        status = solver.getModelStatus()
        statuses = highspy.HighsModelStatus
        if status == statuses.kTimeLimit:
            return _timed_out(time_limit_s)
        if status in (statuses.kInfeasible, statuses.kUnboundedOrInfeasible):
            return Note("optimiser.infeasible", "the programme has no solution; the greedy plan")
        if status != statuses.kOptimal:
            said = solver.modelStatusToString(status)
            return Note("optimiser.not_solved", f"HiGHS ended with {said!r}; the greedy plan")
        x[cols] = solver.getSolution().col_value
    return x


def _timed_out(time_limit_s: float) -> Note:
    why = f"no optimal plan within the time limit of {time_limit_s:g} s"
    return Note("optimiser.time_limit", f"{why}; the greedy plan")


def _block_lp(
    highspy: ModuleType,
    programme: Programme,
    cols: IndexArray,
    rows: IndexArray,
    local_row: IndexArray,
) -> object:
    """One block's columns and rows as a HighsLp."""
    first, last = programme.start[cols], programme.start[cols + 1]
    counts = last - first
    starts = np.r_[0, np.cumsum(counts)]
    positions = np.repeat(first - starts[:-1], counts) + np.arange(starts[-1])
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = cols.size
    lp.num_row_ = rows.size
    lp.col_cost_ = programme.cost[cols]
    lp.col_lower_ = np.zeros(cols.size)
    lp.col_upper_ = np.minimum(programme.col_upper[cols], inf)
    lp.row_lower_ = np.maximum(programme.row_lower[rows], -inf)
    lp.row_upper_ = np.minimum(programme.row_upper[rows], inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = starts.astype(np.int32)
    lp.a_matrix_.index_ = local_row[programme.index[positions]].astype(np.int32)
    lp.a_matrix_.value_ = programme.value[positions]
    return lp


def _devices(setup: Setup, cohorts: Cohorts, programme: Programme, x: FloatArray) -> list[Pick]:
    """Each window, in time order, takes per cohort the devices still free, first in key
    order, while their mean kW stays within the programme's x × the cohort's mean kW (the
    greedy then tops up what this leaves short)."""
    taken = np.zeros(int(setup.device.max(initial=-1)) + 1, bool)
    groups = cohorts.size.shape[0]
    picks: list[Pick] = []
    for k, slot in enumerate(setup.slots):
        present = programme.slot_cohorts[k]
        columns = slice(programme.slot_column[k], programme.slot_column[k] + present.size)
        quota = np.zeros(groups)
        quota[present] = x[columns] * programme.mean_kw[columns]
        free = ~taken[setup.device[slot.rows]]
        rows = setup.one_row_per_device(slot.rows[free])
        mean = cohorts.mean_kw[k][np.searchsorted(slot.rows, rows)]
        g = cohorts.of_row[rows]
        wanted = quota[g] > TOL_KW
        rows, mean, g = rows[wanted], mean[wanted], g[wanted]
        order = np.lexsort((setup.id_rank[rows], -mean, -setup.key(rows, mean), g))
        rows, mean, g = rows[order], mean[order], g[order]
        chosen = rows[within_segments(mean, g) + mean <= quota[g] + TOL_KW]
        if chosen.size:
            picks.append(pick(setup, slot.program, slot.first, slot.end, chosen))
            taken[setup.device[chosen]] = True
    return picks
