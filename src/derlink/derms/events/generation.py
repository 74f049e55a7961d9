"""DERMS automatic stage generation: which devices an event calls, in which stages, to meet its
strategy's objective — the greedy planner (docs/stage-generation.md; optimiser.py refines it
with a linear programme when highspy is installed).

``plan_stages(request)`` takes a PlanRequest (stage_inputs.py: the event, its strategy, the
candidates with their forecasts, rules and busy periods) and returns a Plan (stage_plan.py).
A device takes at most one stage per event, so it is never in two overlapping stages and the
minimum rest between its stages of this event holds trivially.

Pure: no database, web, HTTP client or clock; the same request gives the same plan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

import numpy as np

from derlink.derms.events.stage_inputs import (
    KW_PER_MW,
    BoolArray,
    Busy,
    BusyKind,
    Calendar,
    Candidates,
    Costs,
    EventWindow,
    FloatArray,
    Forecasts,
    IndexArray,
    LoadReduction,
    Manual,
    ManualWindow,
    MaxDemandThreshold,
    MaximumReduction,
    Objective,
    PlanRequest,
    SnapBack,
    Strategy,
)
from derlink.derms.events.stage_plan import Exclusion, Note, Plan, Stage
from derlink.derms.events.stage_setup import (
    P10,
    P50,
    P90,
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

__all__ = [
    "Busy",
    "BusyKind",
    "Calendar",
    "Candidates",
    "Costs",
    "EventWindow",
    "Exclusion",
    "Forecasts",
    "LoadReduction",
    "Manual",
    "ManualWindow",
    "MaxDemandThreshold",
    "MaximumReduction",
    "Note",
    "Objective",
    "Plan",
    "PlanRequest",
    "SnapBack",
    "Stage",
    "Strategy",
    "TopUp",
    "assemble",
    "greedy",
    "plan_stages",
    "top_up",
]


def plan_stages(request: PlanRequest) -> Plan:
    """The greedy plan of ``request``."""
    setup = prepare(request)
    need = need_of(setup)
    picks, notes = greedy(setup, need)
    return assemble(setup, picks, need, notes, planner="greedy")


def greedy(setup: Setup, need: Need | None) -> tuple[list[Pick], list[Note]]:
    """The greedy's picks: filled to the need, or every eligible device in rotations."""
    if need is None:
        return rotations(setup), []
    return fill(setup, need)


def fill(setup: Setup, need: Need, given: Sequence[Pick] = ()) -> tuple[list[Pick], list[Note]]:
    """Stage windows in time order, the windows of several programs that coincide filled
    together: each takes the next devices in key order until their expected kW covers, in
    every interval of the window, what is left of the need × (1 + margin) — the need with
    the snap-back of the stages before, less what overlapping stages before already plan —
    but no more than keeps its own snap-back within the objective's limit where no later
    window will cover it. Per feeder, that need is split over the feeders in proportion to
    their eligible expected kW, and each feeder fills alone. ``given`` picks (the optimiser's)
    are planned already: the fill tops them up."""
    intervals, after = setup.grid.intervals, setup.snap_intervals
    margin = 1.0 + setup.request.strategy.margin
    planned = np.zeros((3, intervals + after))
    snapback = np.zeros(intervals + after)
    taken = np.zeros(int(setup.device.max(initial=-1)) + 1, bool)
    groups = [(k, list(g)) for k, g in groupby(setup.slots, key=lambda s: (s.first, s.end))]
    picks: list[Pick] = []
    notes: list[Note] = []

    def plan(chosen: Pick) -> None:
        planned[:, chosen.first : chosen.end] += chosen.kw
        back = setup.request.snapback.share * chosen.kw[P50, -1]
        snapback[chosen.end : chosen.end + after] += back
        taken[setup.device[chosen.rows]] = True
        picks.append(chosen)

    for planned_pick in given:
        plan(planned_pick)
    for (first, end), slots in groups:
        rows = np.concatenate([s.rows for s in slots])
        rows = setup.one_row_per_device(rows[~taken[setup.device[rows]]])
        left = need.curve(snapback)[first:end] * margin - planned[setup.fill, first:end]
        if rows.size == 0 or not (left > TOL_KW).any():
            continue
        later = _covered_later(groups, (first, end), intervals + after)
        cap = _snapback_cap(setup, need, planned[setup.fill], snapback, end, later)
        chosen, capped = _take(setup, rows, first, end, left, cap)
        for slot in slots:
            mine = chosen[setup.program[chosen] == slot.program]
            if mine.size:
                plan(pick(setup, slot.program, first, end, mine))
        if capped:
            span = f"{setup.grid.at(first).isoformat()}–{setup.grid.at(end).isoformat()}"
            notes.append(
                Note(
                    "snapback.capped",
                    f"the stages of {span} take fewer devices than the need asks, so that "
                    "their snap-back stays within the objective's limit",
                )
            )
    return picks, notes


def _covered_later(
    groups: Sequence[tuple[tuple[int, int], list[Slot]]], window: tuple[int, int], size: int
) -> BoolArray:
    """The intervals a window filled after ``window`` covers."""
    covered = np.zeros(size, bool)
    for (first, end), _ in groups:
        if (first, end) > window:
            covered[first:end] = True
    return covered


def _snapback_cap(
    setup: Setup,
    need: Need,
    planned: FloatArray,
    snapback: FloatArray,
    end: int,
    covered_later: BoolArray,
) -> float:
    """The most P50 kW a window ending at ``end`` may hold in its last interval: its snap-back
    added where no later window covers may not raise the net load (snap-back − planned)
    above the need's limit."""
    share, after = setup.request.snapback.share, setup.snap_intervals
    at = np.arange(end, end + after)
    at = at[~covered_later[at]]
    if share <= 0 or at.size == 0:
        return math.inf
    room = float((need.limit[at] + planned[at] - snapback[at]).min())
    return max(0.0, room) / share


def _take(
    setup: Setup, rows: IndexArray, first: int, end: int, left: FloatArray, cap: float
) -> tuple[IndexArray, bool]:
    """Of ``rows``, the prefix in key order (per feeder when asked) whose kW first covers
    ``left`` in every interval, within ``cap``; and whether the cap cut it."""
    expected = setup.supply.kw(rows, first, end, setup.fill)
    mean = expected.mean(axis=1)
    order = setup.ranking(rows, mean, by_feeder=setup.request.strategy.per_feeder)
    rows, expected, mean = rows[order], expected[order], mean[order]
    feeder = setup.feeder[rows]
    totals = np.bincount(feeder, weights=mean, minlength=setup.feeders)
    share = totals / totals.sum() if totals.sum() > 0 else np.zeros_like(totals)
    goal = share[feeder][:, None] * left[None, :]
    wanted = (within_segments(expected, feeder) < goal - TOL_KW).any(axis=1)
    if math.isinf(cap):
        return rows[wanted], False
    last = setup.supply.kw(rows, end - 1, end, P50)[:, 0]
    take = wanted & (within_segments(last, feeder) + last <= share[feeder] * cap + TOL_KW)
    return rows[take], bool((wanted & ~take).any())


def rotations(setup: Setup) -> list[Pick]:
    """Every eligible device, each program's split over its stage windows in about equal kW:
    window k takes the devices eligible for no later window, then the next in key order
    until it holds 1/(windows left) of the kW still to place (per feeder when asked)."""
    taken = np.zeros(int(setup.device.max(initial=-1)) + 1, bool)
    by_program: dict[int, list[Slot]] = {}
    for slot in setup.slots:
        by_program.setdefault(slot.program, []).append(slot)
    picks: list[Pick] = []
    for program in sorted(by_program, key=setup.code):
        slots = by_program[program]
        rows = np.unique(np.concatenate([s.rows for s in slots]))
        rows = setup.one_row_per_device(rows[~taken[setup.device[rows]]])
        placed = _rotate(setup, rows, slots)
        for slot, chosen in zip(slots, placed, strict=True):
            if chosen.size:
                picks.append(pick(setup, program, slot.first, slot.end, rows[chosen]))
        taken[setup.device[rows[np.concatenate(placed)]]] = True
    return picks


def _rotate(setup: Setup, rows: IndexArray, slots: Sequence[Slot]) -> list[IndexArray]:
    """Positions of ``rows`` per slot."""
    eligible = np.stack([_members(rows, slot.rows) for slot in slots], axis=1)
    kw = np.zeros(eligible.shape)
    for k, slot in enumerate(slots):
        here = eligible[:, k]
        kw[here, k] = setup.supply.kw(rows[here], slot.first, slot.end, setup.fill).mean(axis=1)
    typical = kw.sum(axis=1) / np.maximum(eligible.sum(axis=1), 1)
    feeder = setup.feeder[rows]
    left = np.ones(rows.shape[0], bool)
    placed: list[IndexArray] = []
    for k in range(len(slots)):
        here = left & eligible[:, k]
        if k + 1 == len(slots):
            chosen = np.flatnonzero(here)
        else:
            later = eligible[:, k + 1 :].any(axis=1)
            must = here & ~later
            pool = left & (must | later)
            goal = np.bincount(feeder[pool], typical[pool], setup.feeders) / (len(slots) - k)
            held = np.bincount(feeder[must], kw[must, k], setup.feeders)
            optional = np.flatnonzero(here & later)
            by_feeder = setup.request.strategy.per_feeder
            optional = optional[setup.ranking(rows[optional], kw[optional, k], by_feeder=by_feeder)]
            f = feeder[optional]
            before = within_segments(kw[optional, k], f)
            chosen = np.concatenate(
                [np.flatnonzero(must), optional[held[f] + before < goal[f] - TOL_KW]]
            )
        left[chosen] = False
        placed.append(np.sort(chosen))
    return placed


def _members(rows: IndexArray, sorted_rows: IndexArray) -> BoolArray:
    """Whether each of ``rows`` is in ``sorted_rows`` (ascending)."""
    at = np.searchsorted(sorted_rows, rows)
    found = np.zeros(rows.shape[0], bool)
    inside = at < sorted_rows.shape[0]
    found[inside] = sorted_rows[at[inside]] == rows[inside]
    return found


def _merged(picks: Sequence[Pick]) -> list[Pick]:
    """``picks`` (in order) with those of one program and window made one."""
    merged: list[Pick] = []
    for (program, first, end), same in groupby(picks, key=lambda k: (k.program, k.first, k.end)):
        parts = list(same)
        if len(parts) == 1:
            merged.append(parts[0])
            continue
        rows = np.concatenate([part.rows for part in parts])
        order = np.argsort(rows, kind="stable")
        kw = np.sum([part.kw for part in parts], axis=0)
        merged.append(Pick(program, first, end, rows[order], kw))
    return merged


def assemble(
    setup: Setup, picks: Sequence[Pick], need: Need | None, notes: Sequence[Note], *, planner: str
) -> Plan:
    """The plan of ``picks``: stages numbered in time order, the curves, and the counts."""
    grid, request = setup.grid, setup.request
    intervals, after = grid.intervals, setup.snap_intervals
    share = request.snapback.share
    planned = np.zeros((3, intervals))
    snapback = np.zeros(intervals + after)
    stages: list[Stage] = []
    ordered = _merged(sorted(picks, key=lambda k: (k.first, k.end, setup.code(k.program))))
    for seq, chosen in enumerate(ordered, start=1):
        back = share * float(chosen.kw[P50, -1])
        planned[:, chosen.first : chosen.end] += chosen.kw
        snapback[chosen.end : chosen.end + after] += back
        stages.append(
            Stage(
                seq=seq,
                program=setup.code(chosen.program),
                start=grid.at(chosen.first),
                end=grid.at(chosen.end),
                devices=chosen.rows,
                p10_kw=chosen.kw[P10],
                p50_kw=chosen.kw[P50],
                p90_kw=chosen.kw[P90],
                snapback_kw=back,
            )
        )
    need_kw = need.curve(snapback) if need is not None else np.zeros(intervals)
    filled = planned[setup.fill]
    shortfall = np.maximum(need_kw - filled, 0.0)
    counts = np.bincount(setup.reason, minlength=len(Exclusion) + 1)
    exclusions = {e.name: int(counts[e]) for e in Exclusion}
    rows = np.concatenate([s.devices for s in stages]) if stages else np.zeros(0, np.intp)
    defaulted = int(setup.supply.default_scored[rows].sum())
    said = list(notes)
    if defaulted:
        said.append(
            Note(
                "score.default",
                f"{defaulted} planned devices have no score: planned with the default score "
                f"{request.default_score:g}",
            )
        )
    if shortfall.max(initial=0.0) > TOL_KW:
        said.append(
            Note(
                "need.shortfall",
                f"the plan falls short of the need by up to {shortfall.max():.1f} kW",
            )
        )
    if need is not None:
        over = float((snapback - np.r_[filled, np.zeros(after)] - need.limit).max(initial=0.0))
        if over > TOL_KW:
            said.append(
                Note(
                    "snapback.over_limit",
                    f"snap-back raises the net load {over:.1f} kW above the objective's limit",
                )
            )
    return Plan(
        start=grid.start,
        step_s=grid.step_s,
        stages=tuple(stages),
        need_kw=need_kw,
        planned_kw=filled,
        shortfall_kw=shortfall,
        snapback_kw=snapback,
        exclusions=exclusions,
        candidates=request.candidates.size,
        eligible_unused=request.candidates.size - rows.shape[0] - sum(exclusions.values()),
        default_score_devices=defaulted,
        peak_planned_mw=float(planned[P50].max(initial=0.0)) / KW_PER_MW,
        planner=planner,
        notes=tuple(said),
    )


@dataclass(frozen=True, slots=True, eq=False)
class TopUp:
    """A Scheduled stage checked against its target (review.py): per planning interval, the
    target and what the devices it still holds are expected to reduce (the quantile the
    planner fills by); the candidates added to it and the expectation with them."""

    target_kw: FloatArray
    expected_kw: FloatArray
    #: Whether ``expected_kw`` falls below the target less the tolerance in some interval.
    short: bool
    #: Candidate rows added (ascending); empty when none was needed, allowed or left.
    added: IndexArray
    after_kw: FloatArray
    #: Why the stage could not be topped up to its target; "" when it was, or was not short.
    note: str


def top_up(
    setup: Setup,
    *,
    held: IndexArray,
    excluded: BoolArray,
    target: FloatArray,
    tolerance: float,
    backfill: bool,
) -> TopUp:
    """Check a stage planned over ``setup``'s whole window (one program) against ``target``:
    ``held`` are the candidate rows of the devices it still holds. When their expected kW falls
    below target × (1 − tolerance) in some interval and ``backfill`` is allowed, take the next
    devices in the planner's key order — eligible for the stage's window, not ``excluded``
    (per candidate: the event's devices already, the opted-out) and not a device it holds —
    until the target is covered again in every interval."""
    n = setup.grid.intervals
    if target.shape != (n,):
        raise ValueError(f"the target has {target.shape[0]} intervals, the stage {n}")
    held = np.sort(held)
    held = held[setup.supply.covers(held, 0, n)]
    expected = setup.supply.kw(held, 0, n, setup.fill).sum(axis=0) if held.size else np.zeros(n)
    short = bool((expected < target * (1.0 - tolerance) - TOL_KW).any())
    none = np.zeros(0, np.intp)
    if not short or not backfill:
        return TopUp(target, expected, short, none, expected, "")
    slot = next((s for s in setup.slots if (s.first, s.end) == (0, n)), None)
    if slot is None:
        why = "the program's rules in force allow no device for the stage's window"
        return TopUp(target, expected, short, none, expected, why)
    taken = np.zeros(int(setup.device.max(initial=-1)) + 1, bool)
    taken[setup.device[held]] = True
    taken[setup.device[np.flatnonzero(excluded)]] = True
    rows = setup.one_row_per_device(slot.rows[~taken[setup.device[slot.rows]]])
    if rows.size == 0:
        return TopUp(target, expected, short, none, expected, "no eligible device is left to add")
    chosen, _ = _take(setup, rows, 0, n, target - expected, math.inf)
    chosen = np.sort(chosen)
    after = expected + setup.supply.kw(chosen, 0, n, setup.fill).sum(axis=0)
    note = ""
    if (after < target - TOL_KW).any():
        note = "the eligible devices left fall short of the target"
    return TopUp(target, expected, short, chosen, after, note)
