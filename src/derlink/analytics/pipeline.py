"""File-to-file runs over a whole utility, one batch of service points at a time.

A run streams batches of whole service points (``measurements.iter_batches``), splits each batch
by time zone and interval length (the only two things a vectorized kernel cannot mix), runs the
kernel on each part and gathers the output rows and the warnings. Memory stays bounded by the
batch size, whatever the population.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from derlink.analytics import sufficiency
from derlink.analytics.baselines.regression import RegressionMethod, regression_event_baseline
from derlink.analytics.baselines.rules import AdjustmentKind, XofYRule
from derlink.analytics.baselines.windows import prior_days
from derlink.analytics.baselines.xofy import xofy_baseline
from derlink.analytics.events import Event
from derlink.analytics.groups import Group, Population, event_day, split_batch
from derlink.analytics.localtime import (
    US_PER_SECOND,
    DayType,
    day_types,
    delta_us,
    holiday_numbers,
    local_midnight_us,
)
from derlink.analytics.measurements import IntervalBatch
from derlink.analytics.settlement import EventSavings, kw_drop_frame, kwh_avoided_frame
from derlink.analytics.sufficiency import WarningLog

BaselineMethod = XofYRule | RegressionMethod
ObjectArray = npt.NDArray[np.object_]
Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SettlementRun:
    event: Event
    savings: list[EventSavings]
    warnings: WarningLog
    service_points: int = 0

    def kwh_avoided(self) -> pl.DataFrame:
        return kwh_avoided_frame(self.event, self.savings)

    def kw_drop(self) -> pl.DataFrame:
        return kw_drop_frame(self.event, self.savings)


def _participants_mask(
    batch: IntervalBatch, event: Event, population: Population, participants: frozenset[str] | None
) -> npt.NDArray[np.bool_]:
    if participants is not None:
        return np.asarray([sp in participants for sp in batch.sp_ids.tolist()], dtype=bool)
    _, programs, _ = population.service_points.lookup(batch.sp_ids)
    unknown = np.asarray([p is None for p in programs.tolist()], dtype=bool)
    return np.asarray(unknown | (programs == event.program_id), dtype=bool)


def settle_event(
    batches: Iterable[IntervalBatch],
    *,
    event: Event,
    method: BaselineMethod,
    population: Population,
    participants: frozenset[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> SettlementRun:
    """kWh avoided and kW drop of one event for every participating service point.

    Participants are ``participants`` when given, else the service points of the event's
    program (and those whose program is unknown).
    """
    warnings = WarningLog()
    savings: list[EventSavings] = []
    seen = 0
    for batch in batches:
        seen += batch.size
        keep = _participants_mask(batch, event, population, participants)
        for group in split_batch(batch, population.service_points, warnings, keep):
            if isinstance(method, XofYRule):
                part = _xofy_group(group, event, method, population, warnings)
            else:
                part = regression_event_baseline(group, event, method, population, warnings)
            if part is not None:
                savings.append(part)
        if progress is not None:
            progress(batch.size)
    return SettlementRun(event, savings, warnings, seen)


def _xofy_group(
    group: Group, event: Event, rule: XofYRule, population: Population, warnings: WarningLog
) -> EventSavings | None:
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
    missing_actual = np.isnan(prior.event_window).sum(axis=1)
    warnings.add(
        sufficiency.EVENT_DATA_MISSING,
        "event intervals without an actual reading (left blank)",
        ids,
        np.where(none, 0, missing_actual),
    )
    return EventSavings(
        ids, zone, interval, prior.interval_starts_us, result.baseline, prior.event_window
    )
