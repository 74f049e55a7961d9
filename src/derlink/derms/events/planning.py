"""Generate an event's stages (docs/stage-generation.md, docs/contracts/derms-events.md): read
what the planner needs from DERMS's database, run the pure planner, keep its stages with
their devices and the plan.

What is read, for the event's strategy:

- **candidates**: every ACTIVE device of an ACTIVE subscription in one of the strategy's
  programs (the registry), with its registration, its service point's feeder and whether the
  service point sits under the control zone on the event's day (the network model), and its
  score (DEV-SCORE; none → the default score, counted in the plan);
- **forecasts** of their service points (LRF);
- **the rules in force** of each program: the newest version received by now, in effect on the
  event's first day (in the utility's zone);
- **events used** in each program's current cycle: the other events, not canceled, a stage of
  which holds the device and starts in the cycle;
- **busy periods**: the stages of the other Scheduled and In Progress events (RESERVED).
  A New event has no participations yet, so no opt-outs; a Scheduled stage's review
  (review.py) plans its backfill from the same reads for the stage alone, with the devices
  opted out of the event left out;
- **unavailability**: the Active customer unavailability periods (UNAVAIL) near the window.
  Overrides used are not known to DERMS yet.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.common.clock import Clock
from derlink.common.errors import BusinessError, Conflict
from derlink.contracts.acks import HeadEndRegistration
from derlink.derms.events import generation as gen
from derlink.derms.events import model, service
from derlink.derms.events.optimiser import optimise_stages
from derlink.derms.events.stage_inputs import epoch_s
from derlink.derms.events.tables import events, stage_devices, stages, unavailabilities
from derlink.derms.inputs.tables import device_scores, forecasts
from derlink.derms.masterdata import service as masterdata
from derlink.derms.masterdata.model import CycleFrequency, Rule
from derlink.derms.network.service import in_force
from derlink.derms.network.tables import network_nodes, service_point_locations
from derlink.derms.registry.tables import registry_devices, registry_subscriptions
from derlink.platform.database import Database


@dataclass(frozen=True, slots=True)
class Ask:
    """What the operator gives a generation beyond the event and its strategy."""

    #: The planning interval, seconds; the event's window must be a whole number of them.
    step_s: int = 900
    #: MAX_DEMAND_THRESHOLD: the zone's load forecast, MW per interval from the event's start.
    zone_load_mw: tuple[float, ...] = ()
    #: MANUAL: the stage windows, and optionally the MW to stop at.
    windows: tuple[gen.ManualWindow, ...] = ()
    target_mw: float | None = None
    #: Plan with the optimiser (HiGHS), falling back to the greedy plan.
    optimise: bool = False
    time_limit_s: float = 10.0


@dataclass(frozen=True, slots=True)
class Generated:
    view: service.EventView
    plan: gen.Plan


def generate(
    *, db: Database, clock: Clock, event_id: str, ask: Ask, zone: ZoneInfo, actor: str
) -> Generated:
    """Plan the New event's stages and keep them (replacing an earlier plan)."""
    now = clock.now()
    held = service.get_event(db=db, event_id=event_id)
    event = held.event
    if event.state is not model.EventState.NEW:
        raise Conflict(
            f"event {event_id} is {event.state}: stages are generated only while it is New",
            code=model.EVENT_STATE,
        )
    strategy = service.get_strategy(db=db, strategy_id=event.strategy_id)
    day = event.window_start.astimezone(zone).date()
    rules = {
        code: masterdata.rules_in_force(db=db, code=code, planned_at=now, day=day).rules
        for code in event.programs
    }
    with db.read() as conn:
        request, columns = _request(
            conn,
            event,
            strategy,
            rules,
            window=_window(event, ask.step_s),
            objective=_objective(event.target, ask, event),
            programs=event.programs,
            day=day,
            zone=zone,
        )
    plan = (
        optimise_stages(request, time_limit_s=ask.time_limit_s)
        if ask.optimise
        else gen.plan_stages(request)
    )
    view = _keep(db, clock, event_id, plan, columns, actor)
    return Generated(view, plan)


@dataclass(frozen=True, slots=True)
class StageRequest:
    """What a Scheduled stage's review plans from: the planner's request for the stage's window
    and program alone, and the candidates' columns."""

    request: gen.PlanRequest
    columns: dict[str, np.ndarray[Any, Any]]
    #: The event's strategy (whether it is firm, whether it backfills).
    strategy: model.Strategy


def stage_request(
    *,
    db: Database,
    clock: Clock,
    stage: model.Stage,
    opted_out: frozenset[tuple[str, str]],
    zone: ZoneInfo,
) -> StageRequest:
    """The planner's request for one stage of an event: its program's candidates, their
    forecasts, the program's rules in force now (a change of rules applies to what is planned
    after it), the other events' reservations, and the ``opted_out`` devices."""
    event = service.get_event(db=db, event_id=stage.event_id).event
    strategy = service.get_strategy(db=db, strategy_id=event.strategy_id)
    day = stage.start.astimezone(zone).date()
    rules = {
        stage.program: masterdata.rules_in_force(
            db=db, code=stage.program, planned_at=clock.now(), day=day
        ).rules
    }
    window = gen.EventWindow(stage.start, stage.end, stage.step_s)
    # The stage's own window, as an operator's: the planner's slot of it is the stage.
    objective = gen.Manual((gen.ManualWindow(stage.program, stage.start, stage.end),), None)
    with db.read() as conn:
        request, columns = _request(
            conn,
            event,
            strategy,
            rules,
            window=window,
            objective=objective,
            programs=(stage.program,),
            day=day,
            zone=zone,
            opted_out=opted_out,
        )
    return StageRequest(request, columns, strategy)


def _request(
    conn: Connection,
    event: model.Event,
    strategy: model.Strategy,
    rules: Mapping[str, Sequence[Rule]],
    *,
    window: gen.EventWindow,
    objective: gen.Objective,
    programs: Sequence[str],
    day: date,
    zone: ZoneInfo,
    opted_out: frozenset[tuple[str, str]] = frozenset(),
) -> tuple[gen.PlanRequest, dict[str, np.ndarray[Any, Any]]]:
    """What the planner takes for ``window`` of the event, read in one transaction, and the
    candidates' columns; ``opted_out`` devices (head-end system, NIC id) opted out of it."""
    columns = _candidates(conn, programs, strategy.draft.control_zone, day)
    # Only the candidates the earlier rules leave need a forecast (NO_FORECAST is the last
    # rule checked).
    near = columns["service_point"][columns["in_zone"] & columns["registered"]]
    found = _forecasts(conn, np.unique(near))
    used = _events_used(conn, columns, rules, day, exclude=event.id)
    rest = max((r.min_rest_min for found in rules.values() for r in found), default=0)
    busy = _busy(conn, columns, window, rest, exclude=event.id, opted_out=opted_out)
    request = gen.PlanRequest(
        event=window,
        strategy=gen.Strategy(
            objective=objective,
            programs=tuple(programs),
            override_rules=strategy.draft.override_rules,
            per_feeder=strategy.draft.per_feeder,
            firm=strategy.draft.firm,
        ),
        candidates=gen.Candidates(
            device_id=columns["device_id"],
            head_end_system=columns["head_end_system"],
            nic_id=columns["nic_id"],
            service_point=columns["service_point"],
            program=columns["program"],
            feeder=columns["feeder"],
            in_zone=columns["in_zone"],
            registered=columns["registered"],
            events_used=used,
            overrides_used=np.zeros(used.shape[0], np.int64),
            score=columns["score"],
        ),
        forecasts=found,
        rules=rules,
        calendar=gen.Calendar(zone),
        busy=busy,
    )
    return request, columns


def _window(event: model.Event, step_s: int) -> gen.EventWindow:
    try:
        return gen.EventWindow(event.window_start, event.window_end, step_s)
    except ValueError as exc:
        raise BusinessError(str(exc), code=model.EVENT_INVALID) from None


def _objective(target: model.Target, ask: Ask, event: model.Event) -> gen.Objective:
    """The planner's objective from the event's target and what the operator gave."""
    kind = target.objective
    if kind is model.Objective.LOAD_REDUCTION:
        assert target.mw_per_hour is not None and target.max_increase_pct is not None
        return gen.LoadReduction(target.mw_per_hour, target.max_increase_pct)
    if kind is model.Objective.MAXIMUM_REDUCTION:
        return gen.MaximumReduction()
    if kind is model.Objective.MAX_DEMAND_THRESHOLD:
        assert target.max_demand_mw is not None
        steps = int((event.window_end - event.window_start).total_seconds()) // ask.step_s
        if len(ask.zone_load_mw) < steps:
            raise BusinessError(
                f"objective MAX_DEMAND_THRESHOLD needs the zone's load forecast: zoneLoadMw "
                f"with at least {steps} values (one per {ask.step_s} s interval of the event), "
                f"not {len(ask.zone_load_mw)}",
                code=model.EVENT_INVALID,
            )
        return gen.MaxDemandThreshold(target.max_demand_mw, np.array(ask.zone_load_mw, float))
    if not ask.windows:
        raise BusinessError(
            "objective MANUAL needs the stage windows (windows: program, start, end)",
            code=model.EVENT_INVALID,
        )
    outside = [w for w in ask.windows if w.program not in event.programs]
    if outside:
        raise BusinessError(
            f"window of program {outside[0].program}, which is not one of the event's "
            f"({', '.join(event.programs)})",
            code=model.EVENT_INVALID,
        )
    return gen.Manual(ask.windows, ask.target_mw)


# --- Reading ---------------------------------------------------------------------------------


def _candidates(
    conn: Connection, programs: Sequence[str], zone_node: str, on: date
) -> dict[str, np.ndarray[Any, Any]]:
    """The candidates' columns (see the module's documentation), read in one query and turned
    into columns whole (a million rows: a Python pass per row and column would be most of
    the generation's time)."""
    day = on.isoformat()
    d, s = registry_devices, registry_subscriptions
    loc = service_point_locations.alias("loc")
    tr = network_nodes.alias("tr")
    fd = network_nodes.alias("fd")
    sc = device_scores
    blank = sa.literal("")
    query = (
        sa.select(
            d.c.device_id,
            d.c.head_end_system,
            d.c.nic_id,
            s.c.cis_service_point_id,
            s.c.program_code,
            d.c.registration,
            sa.func.coalesce(loc.c.transformer_id, blank),
            sa.func.coalesce(tr.c.parent_id, blank),
            sa.func.coalesce(fd.c.parent_id, blank),
            sa.func.coalesce(sc.c.score, -1),
        )
        .select_from(
            d.join(s, s.c.subscription_id == d.c.subscription_id)
            .outerjoin(loc, (loc.c.sp_id == s.c.cis_service_point_id) & in_force(loc, day))
            .outerjoin(tr, (tr.c.node_id == loc.c.transformer_id) & in_force(tr, day))
            .outerjoin(fd, (fd.c.node_id == tr.c.parent_id) & in_force(fd, day))
            .outerjoin(
                sc, (sc.c.head_end_system == d.c.head_end_system) & (sc.c.nic_id == d.c.nic_id)
            )
        )
        .where(
            (d.c.status == "ACTIVE")
            & (s.c.status == "ACTIVE")
            & s.c.program_code.in_(list(programs))
        )
        .order_by(d.c.head_end_system, d.c.nic_id, s.c.program_code)
    )
    rows = conn.execute(query).all()
    cols: list[Any] = list(zip(*rows, strict=True)) if rows else [()] * 10
    text = [np.array(c, dtype=str) for c in cols[:9]]
    score = np.array(cols[9], dtype=float)
    transformer, feeder, substation = text[6], text[7], text[8]
    return {
        "device_id": text[0],
        "head_end_system": text[1],
        "nic_id": text[2],
        "service_point": text[3],
        "program": text[4],
        "registered": text[5] == HeadEndRegistration.REGISTERED.value,
        "feeder": feeder,
        "in_zone": (transformer == zone_node) | (feeder == zone_node) | (substation == zone_node),
        "score": np.where(score < 0, np.nan, score),
    }


#: Service points per query of their forecasts (bound parameters of one IN list).
FORECAST_CHUNK = 5000
#: How DERMS stores a forecast's intervals (inputs/service.py): these keys, in this order.
_P10, _P50, _P90, _END = '{"p10":[', '],"p50":[', '],"p90":[', "]}"


def _forecasts(conn: Connection, wanted: np.ndarray[Any, Any]) -> gen.Forecasts:
    """The forecasts DERMS holds of the ``wanted`` service points (sorted, unique)."""
    f = forecasts.c
    query = sa.select(f.sp_id, f.window_start, f.interval_s, f.intervals)
    rows: list[Any] = []
    points = wanted.tolist()
    for start in range(0, len(points), FORECAST_CHUNK):
        chunk = points[start : start + FORECAST_CHUNK]
        rows += conn.execute(query.where(f.sp_id.in_(chunk))).all()
    cols: list[Any] = list(zip(*rows, strict=True)) if rows else [()] * 4
    # A file's forecasts share a few windows: each distinct start is converted once.
    starts = {at: epoch_s(datetime.fromisoformat(at)) for at in set(cols[1])}
    p10, p50, p90 = _interval_matrices(cols[3])
    return gen.Forecasts(
        service_point=np.array(cols[0], dtype=str),
        window_start_s=np.array([starts[at] for at in cols[1]], np.int64),
        interval_s=np.array(cols[2], np.int64),
        p10_kw=p10,
        p50_kw=p50,
        p90_kw=p90,
    )


def _interval_matrices(
    texts: Sequence[str],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """P10, P50 and P90 kW, one row per forecast (NaN-padded). The stored text is read
    straight into numbers when every forecast has as many intervals as the first: a million
    forecasts of 24 intervals are 72 million numbers, which as Python floats cost most of a
    generation's time; otherwise each is parsed as JSON."""
    count = len(texts)
    if count and all(t.startswith(_P10) and t.endswith(_END) for t in texts):
        commas = texts[0].count(",")
        if all(t.count(",") == commas for t in texts) and (commas + 1) % 3 == 0:
            # One CSV line of 3 × width numbers per forecast, parsed by polars in one go.
            body = "\n".join(texts).replace(_P10, "").replace(_P50, ",").replace(_P90, ",")
            body = body.replace(_END, "")
            width = (commas + 1) // 3
            names = [f"v{i}" for i in range(3 * width)]
            try:
                frame = pl.read_csv(
                    io.BytesIO(body.encode()),
                    has_header=False,
                    new_columns=names,
                    schema_overrides=dict.fromkeys(names, pl.Float64),
                )
            except pl.exceptions.PolarsError:
                frame = None
            if (
                frame is not None
                and frame.height == count
                and frame.null_count().sum_horizontal()[0] == 0
            ):
                grid = frame.to_numpy().reshape(count, 3, width)
                return grid[:, 0, :].copy(), grid[:, 1, :].copy(), grid[:, 2, :].copy()
    parsed = [orjson.loads(t) for t in texts]
    width = max((len(row["p50"]) for row in parsed), default=1)
    out = [np.full((count, width), np.nan) for _ in range(3)]
    for i, row in enumerate(parsed):
        for k, key in enumerate(("p10", "p50", "p90")):
            out[k][i, : len(row[key])] = row[key]
    return out[0], out[1], out[2]


def cycle_start(rule: Rule, day: date) -> date:
    """The first day of the cycle ``day`` falls in, under ``rule``'s cycle frequency."""
    frequency = rule.cycle_frequency
    if frequency == CycleFrequency.DAILY:
        return day
    if frequency == CycleFrequency.WEEKLY:
        return day - timedelta(days=day.weekday())
    if frequency == CycleFrequency.MONTHLY:
        return day.replace(day=1)
    if frequency == CycleFrequency.SEASON:
        return rule.effective_from
    return day.replace(month=1, day=1)


def _events_used(
    conn: Connection,
    columns: Mapping[str, np.ndarray[Any, Any]],
    rules: Mapping[str, Sequence[Rule]],
    day: date,
    *,
    exclude: str,
) -> np.ndarray[Any, Any]:
    """Per candidate, the other events (not canceled) with a stage holding the device in its
    program that starts in the program's current cycle."""
    starts = {
        p: min((cycle_start(r, day) for r in found), default=day) for p, found in rules.items()
    }
    since = min(starts.values(), default=day)
    sd, st = stage_devices, stages
    rows = conn.execute(
        sa.select(sd.c.head_end_system, sd.c.nic_id, sd.c.program, st.c.start_at, sd.c.event_id)
        .select_from(sd.join(st, st.c.id == sd.c.stage_id))
        .where(
            (st.c.state != model.StageState.CANCELED.value)
            & (
                st.c.start_at
                >= datetime(since.year, since.month, since.day, tzinfo=UTC).isoformat()
            )
            & (sd.c.event_id != exclude)
        )
    )
    counted: dict[tuple[str, str, str], set[str]] = {}
    for row in rows:
        he, nic, program = str(row.head_end_system), str(row.nic_id), str(row.program)
        if program in starts and datetime.fromisoformat(row.start_at).date() >= starts[program]:
            counted.setdefault((he, nic, program), set()).add(str(row.event_id))
    return np.array(
        [
            len(counted.get((he, nic, p), ()))
            for he, nic, p in zip(
                columns["head_end_system"], columns["nic_id"], columns["program"], strict=True
            )
        ],
        np.int64,
    )


def _busy(
    conn: Connection,
    columns: Mapping[str, np.ndarray[Any, Any]],
    window: gen.EventWindow,
    rest_min: int,
    *,
    exclude: str,
    opted_out: frozenset[tuple[str, str]] = frozenset(),
) -> gen.Busy:
    """The candidates' busy periods within ``rest_min`` minutes (the longest minimum rest of
    the programs' rules) of the window: the stages of the other Scheduled and In Progress events
    (RESERVED) and the Active customer unavailability periods (UNAVAILABLE); and the
    candidates among the ``opted_out`` devices."""
    margin = timedelta(minutes=rest_min)
    since = (window.start - margin).astimezone(UTC).isoformat()
    until = (window.end + margin).astimezone(UTC).isoformat()
    sd, st, ev, u = stage_devices, stages, events, unavailabilities
    rows = [
        (row.head_end_system, row.nic_id, row.start_at, row.end_at, gen.BusyKind.RESERVED)
        for row in conn.execute(
            sa.select(sd.c.head_end_system, sd.c.nic_id, st.c.start_at, st.c.end_at)
            .select_from(sd.join(st, st.c.id == sd.c.stage_id).join(ev, ev.c.id == st.c.event_id))
            .where(
                ev.c.state.in_([s.value for s in model.HOLDING])
                & (ev.c.id != exclude)
                & (st.c.state != model.StageState.CANCELED.value)
                & (st.c.end_at > since)
                & (st.c.start_at < until)
            )
        )
    ]
    rows += [
        (row.head_end_system, row.nic_id, row.start_at, row.end_at, gen.BusyKind.UNAVAILABLE)
        for row in conn.execute(
            sa.select(u.c.head_end_system, u.c.nic_id, u.c.start_at, u.c.end_at).where(
                (u.c.status == "ACTIVE") & (u.c.end_at > since) & (u.c.start_at < until)
            )
        )
    ]
    if not rows and not opted_out:
        return gen.Busy.none()
    index: dict[tuple[str, str], list[int]] = {}
    for i, key in enumerate(zip(columns["head_end_system"], columns["nic_id"], strict=True)):
        index.setdefault((str(key[0]), str(key[1])), []).append(i)
    periods = [
        (i, datetime.fromisoformat(start), datetime.fromisoformat(end), kind)
        for he, nic, start, end, kind in rows
        for i in index.get((str(he), str(nic)), ())
    ]
    return gen.Busy.of(periods, [i for key in opted_out for i in index.get(key, ())])


# --- Keeping ---------------------------------------------------------------------------------


def _keep(
    db: Database,
    clock: Clock,
    event_id: str,
    plan: gen.Plan,
    columns: Mapping[str, np.ndarray[Any, Any]],
    actor: str,
) -> service.EventView:
    plans = [
        service.StagePlan(
            program=s.program,
            start=s.start,
            end=s.end,
            step_s=plan.step_s,
            p10_kw=tuple(round(float(v), 3) for v in s.p10_kw),
            p50_kw=tuple(round(float(v), 3) for v in s.p50_kw),
            p90_kw=tuple(round(float(v), 3) for v in s.p90_kw),
            device_count=s.device_count,
            devices=tuple(
                (
                    str(columns["head_end_system"][i]),
                    str(columns["nic_id"][i]),
                    str(columns["device_id"][i]),
                    str(columns["service_point"][i]),
                    str(columns["feeder"][i]),
                )
                for i in s.devices.tolist()
            ),
        )
        for s in plan.stages
    ]
    summary = plan.to_dict()
    summary.pop("stages")
    detail = (
        f"{plan.planner}: {len(plan.stages)} stage(s), {plan.planned_devices} device(s) of "
        f"{plan.candidates} candidate(s), {plan.excluded} excluded"
        + (f", short by up to {plan.max_shortfall_kw:.1f} kW" if plan.max_shortfall_kw > 0 else "")
    )
    return service.plan_event(
        db=db,
        clock=clock,
        event_id=event_id,
        plans=plans,
        actor=actor,
        summary=summary,
        detail=detail,
    )
