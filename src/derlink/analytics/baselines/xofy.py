"""The X-of-Y baseline kernel: day selection, averaging and day-of adjustment for N at once.

Inputs are the ``PriorDays`` arrays of one event (N service points × D prior days × K event
intervals). Every step is an array operation over the whole population:

1. eligible days: same day type as the event day, within the lookback, not one of the service
   point's event days, and complete over the event window;
2. the Y most recent eligible days (a cumulative count along the day axis); optionally drop
   low-usage days and take the next older ones (PJM, NYISO);
3. X of the Y by the rule's pick (a stable sort of the days' mean event-window load, so ties go
   to the more recent day);
4. the per-interval mean of the chosen days;
5. the day-of adjustment from the adjustment window, capped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from derlink.analytics.baselines.rules import (
    AdjustmentKind,
    DaySelection,
    Pick,
    XofYRule,
)
from derlink.analytics.baselines.windows import PriorDays
from derlink.analytics.localtime import DayType

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class XofYResult:
    baseline: FloatArray  # (N, K) adjusted baseline kWh per event interval; NaN = no baseline
    unadjusted: FloatArray  # (N, K)
    candidates: IntArray  # (N,) eligible like days found, at most Y
    days_used: IntArray  # (N,) days averaged (0 when there were fewer than the minimum)
    adjustment: FloatArray  # (N,) ratio (multiplicative) or kWh per interval (additive); NaN
    adjustment_capped: BoolArray  # (N,)
    adjustment_missing: BoolArray  # (N,) an adjustment was due but its window lacked data


def _most_recent(eligible: BoolArray, count: int) -> BoolArray:
    """The first ``count`` eligible days of each row (day 0 is the most recent)."""
    recent: BoolArray = eligible & (np.cumsum(eligible, axis=1) <= count)
    return recent


def _choose(candidates: BoolArray, load: FloatArray, selection: DaySelection) -> BoolArray:
    if selection.pick is Pick.ALL:
        return candidates
    score = np.where(candidates, load, -np.inf)
    order = np.argsort(-score, axis=1, kind="stable")  # highest first; ties → more recent
    rank = np.empty_like(order)
    rows = np.arange(order.shape[0])[:, None]
    rank[rows, order] = np.arange(order.shape[1])[None, :]
    found = candidates.sum(axis=1)
    keep = selection.x_days
    chosen: BoolArray
    if selection.pick is Pick.HIGHEST:
        chosen = candidates & (rank < keep)
        return chosen
    # MIDDLE: drop half the surplus from the top (the larger half), the rest from the bottom.
    drop_high = np.maximum(found - keep + 1, 0) // 2
    chosen = candidates & (rank >= drop_high[:, None]) & (rank < (drop_high + keep)[:, None])
    return chosen


def _sum_over_intervals(values: FloatArray) -> FloatArray:
    """Sums over the last axis (the event's few intervals), one interval at a time.

    A reduction along a short last axis runs a tiny inner loop per (service point, day);
    adding whole (N, D) slices instead is several times faster.
    """
    total = values[..., 0].copy()
    for k in range(1, values.shape[-1]):
        total += values[..., k]
    return total


def _mean_over_days(values: FloatArray, chosen: BoolArray) -> FloatArray:
    """Mean over the chosen days of each (service point, interval); NaN when none has data."""
    present = ~np.isnan(values)
    weights = chosen[:, None, :].astype(np.float64)  # (N, 1, D): a batched product over days
    total = (weights @ np.where(present, values, 0.0))[:, 0, :]
    count = (weights @ present.astype(np.float64))[:, 0, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1.0), np.nan)


def xofy_baseline(
    prior: PriorDays,
    rule: XofYRule,
    *,
    excluded: BoolArray,
    day_types: npt.NDArray[np.int8],
    event_day_type: DayType,
) -> XofYResult:
    """The baseline of every service point of ``prior`` for one event under ``rule``.

    ``excluded`` (N, D) marks each service point's own event days (and any day excluded by the
    program); ``day_types`` (D,) is the type of each prior day, in the rule's scheme.
    """
    selection = rule.selection(event_day_type)
    window = prior.window
    n, days, _ = window.shape
    within = np.arange(days) < rule.lookback_days
    like = (day_types == event_day_type) & within
    total = _sum_over_intervals(window)  # NaN where a day lacks an interval
    complete = ~np.isnan(total)
    eligible = like[None, :] & ~excluded & complete
    with np.errstate(invalid="ignore"):
        load = np.where(eligible, total / window.shape[2], np.nan)
    candidates = _most_recent(eligible, selection.y_days)
    if rule.low_usage_fraction is not None:
        found = np.maximum(candidates.sum(axis=1), 1)
        average = np.where(candidates, load, 0.0).sum(axis=1) / found
        low = candidates & (load < rule.low_usage_fraction * average[:, None])
        if low.any():
            eligible = eligible & ~low
            candidates = _most_recent(eligible, selection.y_days)
    found = candidates.sum(axis=1)
    chosen = _choose(candidates, load, selection)
    enough = found >= selection.min_days
    chosen &= enough[:, None]
    used = chosen.sum(axis=1)
    unadjusted = _mean_over_days(window, chosen)

    adjustment = np.full(n, np.nan)
    capped = np.zeros(n, dtype=bool)
    missing = np.zeros(n, dtype=bool)
    baseline = unadjusted
    policy = rule.adjustment
    if policy.kind is not AdjustmentKind.NONE:
        window_base = _mean_over_days(prior.adjust, chosen)
        actual = prior.event_adjust
        available = (
            enough
            & (actual.shape[1] > 0)
            & ~np.isnan(window_base).any(axis=1)
            & ~np.isnan(actual).any(axis=1)
        )
        base_total = window_base.sum(axis=1)
        if policy.kind is AdjustmentKind.MULTIPLICATIVE:
            available &= base_total > 0
            with np.errstate(invalid="ignore", divide="ignore"):
                raw = actual.sum(axis=1) / np.where(available, base_total, 1.0)
            low = 1.0 - policy.cap_down if policy.cap_down is not None else -np.inf
            high = 1.0 + policy.cap_up if policy.cap_up is not None else np.inf
            factor = np.clip(raw, low, high)
            capped = available & (factor != raw)
            adjustment = np.where(available, factor, np.nan)
            baseline = np.where(available[:, None], unadjusted * factor[:, None], unadjusted)
        else:
            with np.errstate(invalid="ignore"):
                raw = (actual - window_base).mean(axis=1)
                mean_base = window_base.mean(axis=1)
            low_cap = -policy.cap_down * mean_base if policy.cap_down is not None else -np.inf
            high_cap = policy.cap_up * mean_base if policy.cap_up is not None else np.inf
            shift = np.clip(raw, low_cap, high_cap)
            capped = available & (shift != raw)
            adjustment = np.where(available, shift, np.nan)
            # A baseline below zero has no physical meaning: the shift stops at zero load.
            shifted = np.maximum(unadjusted + shift[:, None], 0.0)
            baseline = np.where(available[:, None], shifted, unadjusted)
        missing = enough & ~available
    return XofYResult(
        baseline=baseline,
        unadjusted=unadjusted,
        candidates=found.astype(np.int64),
        days_used=used.astype(np.int64),
        adjustment=adjustment,
        adjustment_capped=capped,
        adjustment_missing=missing,
    )
