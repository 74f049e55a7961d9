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
  Customer unavailability, opt-outs and overrides used come with event participation; until
  then none is known, and the plan says so in a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.common.clock import Clock
from derlink.common.errors import BusinessError, Conflict
from derlink.contracts.acks import HeadEndRegistration
from derlink.derms.events import generation as gen
from derlink.derms.events import model, service
from derlink.derms.events.optimiser import optimise_stages
from derlink.derms.events.stage_inputs import epoch_s
from derlink.derms.events.tables import events, stage_devices, stages
from derlink.derms.inputs.tables import device_scores, forecasts
from derlink.derms.masterdata import service as masterdata
from derlink.derms.masterdata.model import CycleFrequency, Rule
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
        columns = _candidates(conn, event.programs, strategy.draft.control_zone, day)
        found = _forecasts(conn, set(columns["service_point"].tolist()))
        used = _events_used(conn, columns, rules, day, exclude=event_id)
        busy = _reserved(conn, columns, event, exclude=event_id)
    request = gen.PlanRequest(
        event=_window(event, ask.step_s),
        strategy=gen.Strategy(
            objective=_objective(event.target, ask, event),
            programs=event.programs,
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
    plan = (
        optimise_stages(request, time_limit_s=ask.time_limit_s)
        if ask.optimise
        else gen.plan_stages(request)
    )
    view = _keep(db, clock, event_id, plan, columns, actor)
    return Generated(view, plan)


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


def _in_force(table: sa.FromClause, day: str) -> sa.ColumnElement[bool]:
    c = table.c
    return sa.and_(c.effective_from <= day, sa.or_(c.effective_to.is_(None), c.effective_to > day))


def _candidates(
    conn: Connection, programs: Sequence[str], zone_node: str, on: date
) -> dict[str, np.ndarray[Any, Any]]:
    """The candidates' columns (see the module's documentation)."""
    day = on.isoformat()
    d, s = registry_devices, registry_subscriptions
    loc = service_point_locations.alias("loc")
    tr = network_nodes.alias("tr")
    fd = network_nodes.alias("fd")
    sc = device_scores
    query = (
        sa.select(
            d.c.device_id,
            d.c.head_end_system,
            d.c.nic_id,
            s.c.cis_service_point_id,
            s.c.program_code,
            d.c.registration,
            loc.c.transformer_id,
            tr.c.parent_id.label("feeder"),
            fd.c.parent_id.label("substation"),
            sc.c.score,
        )
        .select_from(
            d.join(s, s.c.subscription_id == d.c.subscription_id)
            .outerjoin(loc, (loc.c.sp_id == s.c.cis_service_point_id) & _in_force(loc, day))
            .outerjoin(tr, (tr.c.node_id == loc.c.transformer_id) & _in_force(tr, day))
            .outerjoin(fd, (fd.c.node_id == tr.c.parent_id) & _in_force(fd, day))
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
    text = [tuple(r[i] or "" for r in rows) for i in range(9)]
    return {
        "device_id": np.array(text[0], dtype=object),
        "head_end_system": np.array(text[1], dtype=object),
        "nic_id": np.array(text[2], dtype=object),
        "service_point": np.array(text[3], dtype=object),
        "program": np.array(text[4], dtype=object),
        "registered": np.array(
            [v == HeadEndRegistration.REGISTERED.value for v in text[5]], dtype=bool
        ),
        "feeder": np.array(text[7], dtype=object),
        "in_zone": np.array(
            [zone_node in (t, f, sub) for t, f, sub in zip(text[6], text[7], text[8], strict=True)],
            dtype=bool,
        ),
        "score": np.array([np.nan if r[9] is None else float(r[9]) for r in rows], float),
    }


def _forecasts(conn: Connection, wanted: set[str]) -> gen.Forecasts:
    """The forecasts DERMS holds of the ``wanted`` service points."""
    rows = [
        r
        for r in conn.execute(
            sa.select(
                forecasts.c.sp_id,
                forecasts.c.window_start,
                forecasts.c.interval_s,
                forecasts.c.intervals,
            )
        )
        if r.sp_id in wanted
    ]
    kw = [orjson.loads(r.intervals) for r in rows]
    width = max((len(k["p50"]) for k in kw), default=1)

    def matrix(key: str) -> np.ndarray[Any, Any]:
        out = np.full((len(rows), width), np.nan)
        for i, k in enumerate(kw):
            out[i, : len(k[key])] = k[key]
        return out

    return gen.Forecasts(
        service_point=np.array([r.sp_id for r in rows], dtype=object),
        window_start_s=np.array(
            [epoch_s(datetime.fromisoformat(r.window_start)) for r in rows], np.int64
        ),
        interval_s=np.array([r.interval_s for r in rows], np.int64),
        p10_kw=matrix("p10"),
        p50_kw=matrix("p50"),
        p90_kw=matrix("p90"),
    )


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


def _reserved(
    conn: Connection, columns: Mapping[str, np.ndarray[Any, Any]], event: model.Event, *,
    exclude: str,
) -> gen.Busy:  # fmt: skip
    """The stages of the other Scheduled and In Progress events near the event's window, as
    the candidates' busy periods."""
    index: dict[tuple[str, str], list[int]] = {}
    for i, key in enumerate(zip(columns["head_end_system"], columns["nic_id"], strict=True)):
        index.setdefault(key, []).append(i)
    margin = timedelta(days=1)  # beyond any program's minimum rest that matters here
    sd, st, ev = stage_devices, stages, events
    rows = conn.execute(
        sa.select(sd.c.head_end_system, sd.c.nic_id, st.c.start_at, st.c.end_at)
        .select_from(sd.join(st, st.c.id == sd.c.stage_id).join(ev, ev.c.id == st.c.event_id))
        .where(
            ev.c.state.in_([s.value for s in model.HOLDING])
            & (ev.c.id != exclude)
            & (st.c.state != model.StageState.CANCELED.value)
            & (st.c.end_at > (event.window_start - margin).astimezone(UTC).isoformat())
            & (st.c.start_at < (event.window_end + margin).astimezone(UTC).isoformat())
        )
    )
    periods = [
        (
            i,
            datetime.fromisoformat(row.start_at),
            datetime.fromisoformat(row.end_at),
            gen.BusyKind.RESERVED,
        )
        for row in rows
        for i in index.get((str(row.head_end_system), str(row.nic_id)), ())
    ]
    return gen.Busy.of(periods)


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
