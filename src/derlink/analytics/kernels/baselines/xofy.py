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

``XofYMethod`` is a rule as a baseline method (``methods.BaselineMethod``): for a group of
service points it builds the grid, cuts the prior days out of it (``windows.py``), marks each
service point's event days and runs the kernel — for a past event, or, without the adjustment,
for the expected load over a coming window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from derlink.analytics.kernels import sufficiency
from derlink.analytics.kernels.baselines.results import EventSavings, ExpectedLoad
from derlink.analytics.kernels.baselines.rules import (
    AdjustmentKind,
    DaySelection,
    Pick,
    XofYRule,
)
from derlink.analytics.kernels.baselines.windows import PriorDays, prior_days
from derlink.analytics.kernels.events import Event
from derlink.analytics.kernels.groups import Group, Population, event_day
from derlink.analytics.kernels.localtime import (
    US_PER_SECOND,
    DayType,
    day_types,
    delta_us,
    holiday_numbers,
    local_midnight_us,
)
from derlink.analytics.kernels.sufficiency import WarningLog

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


@dataclass(frozen=True)
class XofYMethod:
    """An X-of-Y rule as a baseline method (``methods.BaselineMethod``) over a group.

    A wrapper rather than methods of ``XofYRule`` itself: the rule is data read by this module
    (``rules.py`` sits below ``xofy.py``), and giving it methods that call this kernel would
    make the two import each other.
    """

    rule: XofYRule

    def event_baseline(
        self, group: Group, event: Event, population: Population, warnings: WarningLog
    ) -> EventSavings | None:
        """The group's baselines over a past event (never None: a service point without one
        has NaN and a ``too_few_days`` warning)."""
        return _event_savings(group, event, self.rule, population, warnings)

    def expected_load(
        self, group: Group, window: Event, population: Population, warnings: WarningLog
    ) -> ExpectedLoad | None:
        """Mean and spread of the most recent like days in the window's local slots, in kW.

        The rule's day selection without its day-of adjustment: there is no day-of data yet.
        """
        mean, sd, starts = _like_day_load(group, window, self.rule, population, warnings)
        hours = group.interval_s / 3600.0
        return ExpectedLoad(mean / hours, sd / hours, starts, group.interval_s)


def _event_savings(
    group: Group, event: Event, rule: XofYRule, population: Population, warnings: WarningLog
) -> EventSavings:
    """Each service point's baseline over the event, beside its actual load, with a warning for
    each shortfall. The grid runs from the first local midnight of the lookback (or the
    adjustment window's start, when earlier) to the event's end."""
    zone, interval = group.time_zone, group.interval_s
    step = interval * US_PER_SECOND
    days = rule.lookback_days
    first_day = event_day(event, zone) - days
    grid_start = local_midnight_us(zone, first_day)
    adjusting = rule.adjustment.kind is not AdjustmentKind.NONE
    adjust_start = event.start_us - delta_us(rule.adjustment.starts_before)
    adjust_end = event.start_us - delta_us(rule.adjustment.ends_before)
    if adjusting:
        grid_start = min(grid_start, adjust_start - (adjust_start - grid_start) % step)
    grid_end = event.end_us + (-(event.end_us - grid_start)) % step
    grid = group.grid(grid_start, grid_end, population.bounds, warnings)
    prior = prior_days(
        grid,
        time_zone=zone,
        event_start_us=event.start_us,
        event_end_us=event.end_us,
        days=days,
        adjust_start_us=adjust_start if adjusting else None,
        adjust_end_us=adjust_end if adjusting else None,
    )
    ids = group.sp_ids
    excluded = population.history.excluded_days(
        ids, group.programs, zone, prior.day_numbers, skip_event_id=event.event_id
    )
    holidays = holiday_numbers(population.holidays)
    types = day_types(prior.day_numbers, holidays, rule.day_types)
    event_type = DayType(int(day_types(np.asarray([prior.event_day]), holidays, rule.day_types)[0]))
    result = xofy_baseline(
        prior, rule, excluded=excluded, day_types=types, event_day_type=event_type
    )
    selection = rule.selection(event_type)
    none = result.days_used == 0
    warnings.add(
        sufficiency.TOO_FEW_DAYS,
        f"fewer than {selection.min_days} eligible like days: no {rule.name} baseline",
        ids[none],
        np.maximum(result.candidates[none], 0) + 1,
    )
    warnings.add(
        sufficiency.FEWER_DAYS_THAN_RULE,
        f"fewer than {selection.y_days} eligible like days: baseline from fewer",
        ids,
        np.where(~none & (result.candidates < selection.y_days), result.candidates, 0),
    )
    warnings.add(
        sufficiency.ADJUSTMENT_UNAVAILABLE,
        "no day-of adjustment: the adjustment window lacks data",
        ids[result.adjustment_missing],
    )
    warnings.add(
        sufficiency.ADJUSTMENT_CAPPED,
        "the day-of adjustment hit its cap",
        ids[result.adjustment_capped],
    )
    blank = np.isnan(prior.event_window)
    warnings.add(
        sufficiency.EVENT_DATA_MISSING,
        "event intervals without an actual reading (left blank)",
        ids,
        np.where(none, 0, blank.sum(axis=1)),
        sufficiency.first_instants(blank, prior.interval_starts_us),
    )
    return EventSavings(
        ids, zone, interval, prior.interval_starts_us, result.baseline, prior.event_window
    )


def _like_day_load(
    group: Group, window: Event, rule: XofYRule, population: Population, warnings: WarningLog
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int64]]:
    """(mean, sd) of the like days' kWh in the window's slots, and the intervals' starts."""
    zone, interval = group.time_zone, group.interval_s
    step = interval * US_PER_SECOND
    day = event_day(window, zone)
    start = local_midnight_us(zone, day - rule.lookback_days)
    # Only the days before the window's day are read: the window itself is still to come.
    end = local_midnight_us(zone, day)
    end += (-(end - start)) % step
    grid = group.grid(start, end, population.bounds, warnings)
    prior = prior_days(
        grid,
        time_zone=zone,
        event_start_us=window.start_us,
        event_end_us=window.end_us,
        days=rule.lookback_days,
        future=True,
    )
    holidays = holiday_numbers(population.holidays)
    types = day_types(prior.day_numbers, holidays, rule.day_types)
    wanted = DayType(int(day_types(np.asarray([day]), holidays, rule.day_types)[0]))
    selection = rule.selection(wanted)
    excluded = population.history.excluded_days(
        group.sp_ids, group.programs, zone, prior.day_numbers
    )
    like = (types == wanted)[None, :] & ~excluded & ~np.isnan(prior.window).any(axis=2)
    chosen = like & (np.cumsum(like, axis=1) <= selection.y_days)
    count = chosen.sum(axis=1)
    mask = chosen[:, :, None]
    total = np.where(mask, prior.window, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count[:, None] > 0, total / np.maximum(count, 1)[:, None], np.nan)
        square = np.where(mask, (prior.window - mean[:, None, :]) ** 2, 0.0).sum(axis=1)
        sd = np.sqrt(square / np.maximum(count - 1, 1)[:, None])
    mean[count < selection.min_days] = np.nan
    return mean, sd, prior.interval_starts_us
