"""A small world for the stage generation tests: programs with their rules, devices with their
forecasts, the random worlds of the property tests, and the invariants every plan keeps,
checked from the request alone (not from the planner's own bookkeeping)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import strategies as st

from derlink.derms.events.generation import (
    Busy,
    BusyKind,
    Calendar,
    Candidates,
    Costs,
    EventWindow,
    Forecasts,
    LoadReduction,
    Manual,
    ManualWindow,
    MaxDemandThreshold,
    MaximumReduction,
    Objective,
    Plan,
    PlanRequest,
    SnapBack,
    Strategy,
)
from derlink.derms.masterdata.model import Rule

TZ = ZoneInfo("America/Los_Angeles")
DAY = date(2026, 7, 15)  # a Wednesday
SATURDAY = date(2026, 7, 18)

RULE = Rule(
    rule_id="PR-1",
    effective_from=date(2026, 1, 1),
    effective_to=None,
    allow_event_days=("WEEKDAY",),
    window_start=time(12, 0),
    window_end=time(20, 0),
    min_event_duration_min=30,
    max_event_duration_min=120,
    max_events_per_cycle=10,
    cycle_frequency="SEASON",
    max_overrides_per_cycle=3,
    opt_out_cutoff_min=60,
    min_rest_min=60,
    overridable=False,
)


DAY_KINDS = [
    ("WEEKDAY", "WEEKEND", "HOLIDAY"),
    ("WEEKDAY",),
    ("WEEKDAY", "WEEKEND"),
    ("WEEKEND",),
]


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def rule(**change: Any) -> Rule:
    return replace(RULE, **change)


def candidates(n: int, **columns: Any) -> Candidates:
    """``n`` devices, one service point each, of BYOT, registered and in the zone, none used,
    scored 100; a column given (a list or one value for all) replaces its default."""
    ids = [f"D{i:03d}" for i in range(n)]
    values: dict[str, Any] = {
        "device_id": ids,
        "head_end_system": "HE",
        "nic_id": [f"NIC{i:03d}" for i in range(n)],
        "service_point": [f"SP{i:03d}" for i in range(n)],
        "program": "BYOT",
        "feeder": "F0",
        "in_zone": True,
        "registered": True,
        "events_used": 0,
        "overrides_used": 0,
        "score": 100.0,
    }
    values.update(columns)
    kinds = {"in_zone": bool, "registered": bool, "events_used": np.int64}
    kinds |= {"overrides_used": np.int64, "score": np.float64}
    arrays = {}
    for name, value in values.items():
        array = np.array(value if isinstance(value, list) else [value] * n, kinds.get(name, str))
        arrays[name] = array
    return Candidates(**arrays)


def forecasts(
    service_points: Sequence[str],
    kw: float | Sequence[float] | Sequence[Sequence[float]] = 1.0,
    *,
    start: datetime | None = None,
    interval_s: int = 3600,
    intervals: int = 24,
    band: float = 0.2,
) -> Forecasts:
    """A forecast per service point from ``start`` (local midnight): ``kw`` for every interval
    (one value for all, one per service point, or one row per service point); P10 and P90 are
    ``band`` below and above."""
    values = np.asarray(kw, np.float64)
    if values.ndim == 1:  # one value per service point
        values = values[:, None]
    p50 = np.array(np.broadcast_to(values, (len(service_points), intervals)))
    begins = int((start or at(0)).timestamp())
    return Forecasts(
        service_point=np.array(service_points, str),
        window_start_s=np.full(len(service_points), begins, np.int64),
        interval_s=np.full(len(service_points), interval_s, np.int64),
        p10_kw=p50 * (1 - band),
        p50_kw=p50.copy(),
        p90_kw=p50 * (1 + band),
    )


def request(
    objective: Objective,
    devices: Candidates,
    predicted: Forecasts | None = None,
    *,
    programs: tuple[str, ...] = ("BYOT",),
    rules: dict[str, list[Rule]] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    step_s: int = 900,
    busy: Busy | None = None,
    holidays: frozenset[date] = frozenset(),
    costs: Costs | None = None,
    snapback: SnapBack | None = None,
    default_score: float = 50.0,
    **flags: Any,
) -> PlanRequest:
    """An event of 14:00–18:00 on DAY unless told, the programs' rules RULE."""
    if predicted is None:
        predicted = forecasts(sorted(set(devices.service_point.tolist())))
    return PlanRequest(
        event=EventWindow(start or at(14), end or at(18), step_s),
        strategy=Strategy(objective, programs, **flags),
        candidates=devices,
        forecasts=predicted,
        rules=rules if rules is not None else {p: [RULE] for p in programs},
        calendar=Calendar(TZ, holidays),
        busy=busy or Busy.none(),
        costs=costs or Costs(),
        snapback=snapback or SnapBack(),
        default_score=default_score,
    )


def dumped(plan: Plan) -> str:
    return json.dumps(plan.to_dict(), sort_keys=True)


# Random worlds for the property tests.


@st.composite
def rules_of(draw: st.DrawFn) -> list[Rule]:
    def one(i: int) -> Rule:
        opens = draw(st.sampled_from([12, 10, 14, 8]))
        shortest = draw(st.sampled_from([15, 30, 60]))
        return rule(
            rule_id=f"PR-{i}",
            allow_event_days=draw(st.sampled_from(DAY_KINDS)),
            window_start=time(opens),
            window_end=time(min(23, opens + draw(st.integers(4, 10)))),
            min_event_duration_min=shortest,
            max_event_duration_min=shortest + draw(st.sampled_from([60, 105, 180, 0, 30])),
            max_events_per_cycle=draw(st.sampled_from([5, 3, 1, 0])),
            max_overrides_per_cycle=draw(st.sampled_from([3, 0, 2, 1])),
            min_rest_min=draw(st.sampled_from([0, 30, 60, 120])),
            overridable=draw(st.booleans()),
        )

    return [one(i) for i in range(draw(st.sampled_from([1, 1, 1, 1, 1, 1, 2, 0])))]


@st.composite
def worlds(draw: st.DrawFn) -> PlanRequest:
    """A random request: up to 30 devices of programs A, B (and C, not the strategy's) sharing
    service points and sometimes device ids, partial forecasts, rules, busy periods, and any
    objective and flags."""
    n = draw(st.integers(1, 30))
    rows = st.lists
    points = draw(st.integers(1, n))
    day = draw(st.sampled_from([DAY, DAY, DAY, SATURDAY]))
    step = draw(st.sampled_from([900, 3600, 1800]))
    opens = at(draw(st.integers(9, 17)), draw(st.sampled_from([0, 30])), day)
    ends = opens + timedelta(hours=draw(st.integers(1, 8)))
    intervals = int((ends - opens).total_seconds()) // step
    score = draw(rows(st.one_of(st.floats(0, 100), st.just(math.nan)), min_size=n, max_size=n))
    devices = candidates(
        n,
        device_id=[f"D{k}" for k in draw(rows(st.integers(0, n + 3), min_size=n, max_size=n))],
        service_point=[
            f"SP{k}" for k in draw(rows(st.integers(0, points - 1), min_size=n, max_size=n))
        ],
        program=draw(
            rows(st.sampled_from(["A", "A", "A", "B", "B", "B", "C"]), min_size=n, max_size=n)
        ),
        feeder=draw(rows(st.sampled_from(["F0", "F1", "F2"]), min_size=n, max_size=n)),
        in_zone=draw(rows(st.sampled_from([True] * 7 + [False]), min_size=n, max_size=n)),
        registered=draw(rows(st.sampled_from([True] * 7 + [False]), min_size=n, max_size=n)),
        events_used=draw(rows(st.integers(0, 4), min_size=n, max_size=n)),
        overrides_used=draw(rows(st.integers(0, 3), min_size=n, max_size=n)),
        score=score,
    )
    predicted = draw(forecasts_of([f"SP{k}" for k in range(points)], opens))
    programs = ("A", "B")
    busy = draw(busy_of(n, opens, ends))
    objective = draw(objectives_of(programs, opens, ends, intervals))
    return PlanRequest(
        event=EventWindow(opens, ends, step),
        strategy=Strategy(
            objective,
            programs,
            override_rules=draw(st.booleans()),
            per_feeder=draw(st.booleans()),
            firm=draw(st.booleans()),
            margin=draw(st.sampled_from([0.0, 0.1])),
        ),
        candidates=devices,
        forecasts=predicted,
        rules={p: draw(rules_of()) for p in programs},
        calendar=Calendar(TZ, draw(st.sampled_from([frozenset()] * 4 + [frozenset({DAY})]))),
        busy=busy,
        costs=Costs(
            {"B": draw(st.sampled_from([0.5, 1.0, 2.0]))}, 1.0, draw(st.sampled_from([0.0, 1.0]))
        ),
        snapback=SnapBack(
            draw(st.sampled_from([0.0, 0.3, 0.5])), draw(st.sampled_from([0, 1800, 3600]))
        ),
        default_score=draw(st.sampled_from([0.0, 50.0])),
    )


@st.composite
def forecasts_of(draw: st.DrawFn, points: list[str], opens: datetime) -> Forecasts:
    have = [p for p in points if draw(st.integers(0, 7)) > 0]
    width = 24
    p50 = np.array(
        draw(
            st.lists(
                st.lists(st.floats(-0.5, 4), min_size=width, max_size=width),
                min_size=len(have),
                max_size=len(have),
            )
        ),
        np.float64,
    ).reshape(len(have), width)
    for i in range(len(have)):
        if draw(st.integers(0, 4)) == 0:
            p50[i, draw(st.integers(0, width - 1)) :] = np.nan
    start = [
        int((opens + timedelta(minutes=30 * draw(st.integers(-8, 1)))).timestamp()) for _ in have
    ]
    return Forecasts(
        service_point=np.array(have, str),
        window_start_s=np.array(start, np.int64),
        interval_s=np.array([draw(st.sampled_from([900, 3600, 3600])) for _ in have], np.int64),
        p10_kw=p50 * 0.7,
        p50_kw=p50,
        p90_kw=p50 * 1.3,
    )


@st.composite
def busy_of(draw: st.DrawFn, n: int, opens: datetime, ends: datetime) -> Busy:
    periods = []
    for _ in range(draw(st.integers(0, n))):
        begins = opens + timedelta(minutes=15 * draw(st.integers(-12, 40)))
        lasts = timedelta(minutes=15 * draw(st.integers(1, 12)))
        kind = draw(st.sampled_from([BusyKind.RESERVED, BusyKind.UNAVAILABLE]))
        periods.append((draw(st.integers(0, n - 1)), begins, begins + lasts, kind))
    return Busy.of(periods, draw(st.lists(st.integers(0, n - 1), max_size=3)))


@st.composite
def objectives_of(
    draw: st.DrawFn, programs: tuple[str, ...], opens: datetime, ends: datetime, intervals: int
) -> Objective:
    kind = draw(st.sampled_from(["LR", "MDT", "MAX", "MANUAL"]))
    if kind == "LR":
        return LoadReduction(draw(st.floats(0, 0.03)), draw(st.sampled_from([0.0, 20.0, 100.0])))
    if kind == "MDT":
        extra = draw(st.integers(0, 8))
        load = draw(
            st.lists(st.floats(0.99, 1.02), min_size=intervals + extra, max_size=intervals + extra)
        )
        return MaxDemandThreshold(1.0, np.array(load))
    if kind == "MAX":
        return MaximumReduction()
    windows = []
    hours = int((ends - opens).total_seconds() // 3600)
    for program in programs:
        if draw(st.sampled_from([True, True, False])):
            first = draw(st.integers(0, hours - 1))
            last = draw(st.integers(first + 1, hours))
            windows.append(
                ManualWindow(program, opens + timedelta(hours=first), opens + timedelta(hours=last))
            )
    target = draw(st.one_of(st.none(), st.floats(0, 0.02)))
    return Manual(tuple(windows), target)


# The invariants.


def check_invariants(req: PlanRequest, plan: Plan) -> None:
    """What every plan of every request keeps."""
    c = req.candidates
    step = req.event.step_s
    seen: dict[str, tuple[datetime, datetime]] = {}
    for stage in plan.stages:
        assert stage.start < stage.end
        assert req.event.start <= stage.start and stage.end <= req.event.end
        assert (stage.start - req.event.start).total_seconds() % step == 0
        assert (stage.end - req.event.start).total_seconds() % step == 0
        assert np.unique(stage.devices).size == stage.device_count
        for row in stage.devices.tolist():
            # One program per stage; every planned device passes every rule.
            assert c.program[row] == stage.program
            check_rules(req, row, stage.program, stage.start, stage.end)
            # A device takes at most one stage of the event, so never two that overlap.
            assert c.device_id[row] not in seen, f"{c.device_id[row]} is in two stages"
            seen[str(c.device_id[row])] = (stage.start, stage.end)
        assert np.allclose(stage.p50_kw, expected_kw(req, stage.devices, stage.start, stage.end))
    # The counts add up.
    assert plan.planned_devices + plan.excluded + plan.eligible_unused == c.size
    assert plan.eligible_unused >= 0
    assert list(plan.exclusions) == [
        "NOT_IN_STRATEGY", "NOT_REGISTERED", "OUTSIDE_ZONE", "NO_RULES", "DAY_NOT_ALLOWED",
        "OUTSIDE_WINDOW", "MAX_EVENTS", "MAX_OVERRIDES", "OPTED_OUT", "UNAVAILABLE",
        "RESERVED", "NO_FORECAST",
    ]  # fmt: skip
    # The need is met or the shortfall is reported, exactly.
    filled = np.zeros(plan.need_kw.shape[0])
    for stage in plan.stages:
        first = int((stage.start - req.event.start).total_seconds()) // step
        curve = stage.p10_kw if req.strategy.firm else stage.p50_kw
        filled[first : first + curve.shape[0]] += curve
    assert np.allclose(plan.planned_kw, filled)
    assert np.array_equal(plan.shortfall_kw, np.maximum(plan.need_kw - plan.planned_kw, 0.0))
    assert plan.max_shortfall_kw == plan.shortfall_kw.max(initial=0.0)
    if plan.max_shortfall_kw > 1e-6:
        assert "need.shortfall" in [n.code for n in plan.notes]


def check_rules(req: PlanRequest, row: int, program: str, start: datetime, end: datetime) -> None:
    """That candidate ``row`` may take ``program``'s stage [start, end), from the rules as
    the request states them."""
    c, busy = req.candidates, req.busy
    assert program in req.strategy.programs
    assert c.registered[row] and c.in_zone[row]
    in_force = list(req.rules.get(program, ()))
    assert in_force, "a program without rules in force"
    enforced = [r for r in in_force if not (req.strategy.override_rules and r.overridable)]
    opens, closes = start.astimezone(TZ), end.astimezone(TZ)
    kind = (
        "HOLIDAY"
        if opens.date() in req.calendar.holidays
        else ("WEEKEND" if opens.weekday() >= 5 else "WEEKDAY")
    )
    minutes = (end - start).total_seconds() / 60
    for r in enforced:
        assert kind in r.allow_event_days
        assert opens.date() == (closes - timedelta(microseconds=1)).date()
        assert r.window_start <= opens.time() and (closes.time() <= r.window_end)
        assert r.min_event_duration_min <= minutes <= r.max_event_duration_min
        assert c.events_used[row] < r.max_events_per_cycle
        if r.max_overrides_per_cycle > 0:
            assert c.overrides_used[row] < r.max_overrides_per_cycle
    rest = timedelta(minutes=max((r.min_rest_min for r in enforced), default=0))
    assert row not in busy.opted_out.tolist()
    for i in np.flatnonzero(busy.device == row).tolist():
        b_start = datetime.fromtimestamp(int(busy.start_s[i]), TZ)
        b_end = datetime.fromtimestamp(int(busy.end_s[i]), TZ)
        if busy.kind[i] == BusyKind.UNAVAILABLE:
            assert not (b_start < end and b_end > start - rest), "unavailable"
        else:
            assert not (b_start < end + rest and b_end > start - rest), "reserved"
    assert not np.isnan(expected_kw(req, np.array([row]), start, end)).any(), "no forecast"


def expected_kw(req: PlanRequest, rows: np.ndarray, start: datetime, end: datetime) -> np.ndarray:
    """The summed P50 kW of ``rows`` per planning interval of [start, end), from the forecast
    interval holding each planning interval's start, split over the service point's devices
    in the program and scaled by the score (NaN where no forecast covers)."""
    c, f = req.candidates, req.forecasts
    step = req.event.step_s
    total = np.zeros(int((end - start).total_seconds()) // step)
    for row in rows.tolist():
        sp, program = c.service_point[row], c.program[row]
        sharing = int(((c.service_point == sp) & (c.program == program)).sum())
        score = req.default_score if np.isnan(c.score[row]) else c.score[row]
        found = np.flatnonzero(f.service_point == sp)
        if found.size == 0:
            return np.full(total.shape, np.nan)
        i = int(found[0])
        finite = np.isfinite(f.p10_kw[i]) & np.isfinite(f.p50_kw[i]) & np.isfinite(f.p90_kw[i])
        # A forecast covers from its window's start up to its first missing value.
        valid = finite.size if finite.all() else int(np.argmin(finite))
        for k in range(total.shape[0]):
            moment = int(start.timestamp()) + k * step
            column = (moment - int(f.window_start_s[i])) // int(f.interval_s[i])
            if not 0 <= column < valid:
                return np.full(total.shape, np.nan)
            total[k] += max(float(f.p50_kw[i, column]), 0.0) * score / 100 / sharing
    return total
