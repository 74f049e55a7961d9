"""A program's rules in force as the terms stage generation enforces, and the stage windows they
leave inside an event (docs/stage-generation.md).

A program may have several rules in force at once; a stage must satisfy every one of them, so
they combine to the strictest: the days all of them allow, the hours inside all of their
windows, the longest minimum duration, the shortest maximum, the fewest events per cycle and
the longest rest. A rule flagged ``overridable`` is left out when the event overrides rules.

Stage windows are found on the event's planning grid (interval ``k`` is ``[start + k·step,
start + (k+1)·step)``) and given as ``[first, end)`` interval indices. Pure: values in, values out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from derlink.derms.masterdata.model import DayKind, Rule

_KINDS = {kind.value: kind for kind in DayKind}


@dataclass(frozen=True, slots=True)
class Terms:
    """What a program's enforced rules allow; None (or 0) where no enforced rule limits it."""

    #: None: any day.
    days: frozenset[DayKind] | None
    #: Local start and end; None: any hour. Empty (start ≥ end) when the rules' windows miss.
    window: tuple[time, time] | None
    min_duration_s: int
    max_duration_s: int | None
    max_events: int | None
    #: Of the enforced rules that grant overrides (> 0), the fewest; None when none grants any.
    max_overrides: int | None
    rest_s: int
    #: The events per cycle the fatigue cost divides by: the fewest of every rule in force,
    #: enforced or not (at least 1). Fatigue is a preference, not a rule, so overriding the
    #: rules does not change it.
    fatigue_events: int


def program_terms(rules: Sequence[Rule], *, override_rules: bool) -> Terms | None:
    """The terms of a program whose rules in force are ``rules``; None when it has none."""
    if not rules:
        return None
    fatigue = max(1, min(r.max_events_per_cycle for r in rules))
    enforced = [r for r in rules if not (override_rules and r.overridable)]
    if not enforced:
        return Terms(None, None, 0, None, None, None, 0, fatigue)
    days = frozenset(DayKind)
    for rule in enforced:
        days &= {_KINDS[d] for d in rule.allow_event_days if d in _KINDS}
    granted = [r.max_overrides_per_cycle for r in enforced if r.max_overrides_per_cycle > 0]
    return Terms(
        days=days,
        window=(max(r.window_start for r in enforced), min(r.window_end for r in enforced)),
        min_duration_s=60 * max(r.min_event_duration_min for r in enforced),
        max_duration_s=60 * min(r.max_event_duration_min for r in enforced),
        max_events=min(r.max_events_per_cycle for r in enforced),
        max_overrides=min(granted) if granted else None,
        rest_s=60 * max(r.min_rest_min for r in enforced),
        fatigue_events=fatigue,
    )


def day_kind(day: date, holidays: frozenset[date]) -> DayKind:
    """A holiday is a HOLIDAY whatever its weekday; otherwise Saturday and Sunday are WEEKEND."""
    if day in holidays:
        return DayKind.HOLIDAY
    return DayKind.WEEKEND if day.weekday() >= 5 else DayKind.WEEKDAY


@dataclass(frozen=True, slots=True)
class Grid:
    """An event's planning grid: ``intervals`` intervals of ``step_s`` from ``start``."""

    start: datetime
    step_s: int
    intervals: int

    def index_at_or_after(self, moment: datetime) -> int:
        """The first interval starting at or after ``moment``, within [0, intervals]."""
        seconds = (moment - self.start).total_seconds()
        return min(max(0, -int(-seconds // self.step_s)), self.intervals)

    def index_at_or_before(self, moment: datetime) -> int:
        """The last interval boundary at or before ``moment``, within [0, intervals]."""
        seconds = (moment - self.start).total_seconds()
        return min(max(0, int(seconds // self.step_s)), self.intervals)

    def at(self, index: int) -> datetime:
        return self.start + timedelta(seconds=index * self.step_s)

    def span(self, start: datetime, end: datetime) -> tuple[int, int]:
        """The grid intervals wholly inside [start, end)."""
        return self.index_at_or_after(start), self.index_at_or_before(end)


@dataclass(frozen=True, slots=True)
class Windows:
    """The stage windows a program may take, in time order, and whether any day of the event
    was one the program allows (to tell a day not allowed from hours or durations that miss)."""

    stages: tuple[tuple[int, int], ...]
    day_allowed: bool


def stage_windows(
    terms: Terms,
    grid: Grid,
    *,
    tz: tzinfo,
    holidays: frozenset[date],
    within: Sequence[tuple[int, int]] | None = None,
) -> Windows:
    """The program's stage windows in the event: on each local day the program allows, its
    window clipped to the event (and to ``within``, the operator's windows of a manual event),
    cut into stages of the maximum duration from its start; a last piece shorter than the
    minimum duration is no stage."""
    allowed = list(_allowed_spans(terms, grid, tz, holidays))
    spans = [(a, b) for a, b, _ in allowed if b > a]
    if within is not None:
        spans = [(max(a, c), min(b, d)) for a, b in spans for c, d in sorted(within)]
        spans = [(a, b) for a, b in spans if b > a]
    longest = _intervals_down(terms.max_duration_s, grid.step_s)
    shortest = -(-terms.min_duration_s // grid.step_s)
    stages: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        size = b - a if longest is None else longest
        if size <= 0:
            continue
        stages += [(k, min(k + size, b)) for k in range(a, b, size)]
    stages = [(a, b) for a, b in stages if b - a >= max(1, shortest)]
    return Windows(tuple(stages), any(ok for _, _, ok in allowed))


def _allowed_spans(
    terms: Terms, grid: Grid, tz: tzinfo, holidays: frozenset[date]
) -> Iterator[tuple[int, int, bool]]:
    """Per local day the event touches: its window's grid span and whether the day is allowed
    (a day not allowed gives an empty span)."""
    if terms.window is None:  # no rule enforced: any day, any hour
        yield 0, grid.intervals, True
        return
    end = grid.at(grid.intervals)
    day = grid.start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    while day <= last:
        if terms.days is not None and day_kind(day, holidays) not in terms.days:
            yield 0, 0, False
        else:
            opens, closes = (datetime.combine(day, at, tzinfo=tz) for at in terms.window)
            yield (*grid.span(opens, closes), True)
        day += timedelta(days=1)


def _intervals_down(seconds: int | None, step_s: int) -> int | None:
    return None if seconds is None else seconds // step_s
