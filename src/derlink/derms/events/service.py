"""Events' use cases (docs/contracts/derms-events.md): strategy types and strategies kept,
events created, planned, submitted, approved, denied, scheduled and canceled, stages moved at
their times, and all of it read back with the audit trail.

Every action is one transaction that reads the event, lets the model decide, and writes the
event, its stages, their transitions and the audit lines together; writes of events go one at
a time (``one_writer``), so that the balance-authority sum and the conflict check see every
other event as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from derlink.common.clock import Clock
from derlink.common.errors import BusinessError, Conflict, NotFound
from derlink.common.ids import new_id
from derlink.derms.db import one_writer, stored_time
from derlink.derms.events import model, reservations, status
from derlink.derms.events.tables import (
    event_audit,
    event_plans,
    events,
    stage_devices,
    stage_transitions,
    stages,
    strategies,
    strategy_types,
)
from derlink.derms.masterdata.tables import programs as held_programs
from derlink.derms.network.service import in_force
from derlink.derms.network.tables import network_nodes
from derlink.platform.database import Database

# The PostgreSQL advisory-lock key of event writes (registry 1-3, master data 4, inputs 5-6).
_EVENTS_LOCK = 0x6465726D_0007


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _maybe_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


# --- Strategy types --------------------------------------------------------------------------


def put_strategy_type(*, db: Database, clock: Clock, kind: model.StrategyType) -> bool:
    """Create or replace a strategy type; True when it was new. Events created from it before
    keep the priority and check they were created with."""
    if not kind.name.strip():
        raise BusinessError("name is blank", code=model.STRATEGY_INVALID)
    at = stored_time(clock.now())
    row = {
        "code": kind.code,
        "name": kind.name,
        "priority": kind.priority,
        "ba_checked": kind.ba_checked,
        "updated_at": at,
    }
    with db.begin() as conn:
        one_writer(conn, _EVENTS_LOCK)
        known = conn.execute(
            sa.select(strategy_types.c.code).where(strategy_types.c.code == kind.code)
        ).first()
        if known:
            conn.execute(
                strategy_types.update().where(strategy_types.c.code == kind.code).values(row)
            )
        else:
            conn.execute(strategy_types.insert().values(created_at=at, **row))
    return known is None


def list_strategy_types(*, db: Database) -> list[model.StrategyType]:
    with db.read() as conn:
        rows = conn.execute(sa.select(strategy_types).order_by(strategy_types.c.code))
        return [_strategy_type(r) for r in rows]


def get_strategy_type(*, db: Database, code: str) -> model.StrategyType:
    with db.read() as conn:
        return _strategy_type_of(conn, code)


def _one(conn: Connection, key: sa.Column[str], value: str, what: str) -> Row[Any]:
    """The row of ``key``'s table whose ``key`` is ``value``; NotFound naming ``what``."""
    row = conn.execute(sa.select(key.table).where(key == value)).first()
    if row is None:
        raise NotFound(f"derms holds no {what}")
    return row


def _strategy_type_of(conn: Connection, code: str) -> model.StrategyType:
    return _strategy_type(_one(conn, strategy_types.c.code, code, f"strategy type {code!r}"))


def _strategy_type(row: Row[Any]) -> model.StrategyType:
    return model.StrategyType(
        code=row.code, name=row.name, priority=row.priority, ba_checked=row.ba_checked
    )


# --- Strategies ------------------------------------------------------------------------------


def create_strategy(*, db: Database, clock: Clock, draft: model.StrategyDraft) -> model.Strategy:
    """Keep a new strategy, Active."""
    at = clock.now()
    strategy = model.Strategy(new_id("ST-"), draft, model.StrategyState.ACTIVE, at, at)
    with db.begin() as conn:
        one_writer(conn, _EVENTS_LOCK)
        _check_strategy(conn, draft, at)
        conn.execute(strategies.insert().values(_strategy_row(strategy)))
    return strategy


def update_strategy(
    *, db: Database, clock: Clock, strategy_id: str, draft: model.StrategyDraft
) -> model.Strategy:
    """Replace an Active strategy's fields; its events keep what they were created with."""
    at = clock.now()
    with db.begin() as conn:
        one_writer(conn, _EVENTS_LOCK)
        held = _strategy_of(conn, strategy_id)
        if held.state is model.StrategyState.ARCHIVED:
            raise BusinessError(
                f"strategy {strategy_id} is Archived: it cannot change",
                code=model.STRATEGY_INVALID,
            )
        _check_strategy(conn, draft, at)
        done = model.Strategy(held.id, draft, held.state, held.created_at, at)
        row = _strategy_row(done)
        conn.execute(strategies.update().where(strategies.c.id == strategy_id).values(row))
    return done


def archive_strategy(*, db: Database, clock: Clock, strategy_id: str) -> model.Strategy:
    """Archive a strategy: no new event may come from it (archiving twice changes nothing)."""
    at = clock.now()
    with db.begin() as conn:
        one_writer(conn, _EVENTS_LOCK)
        held = _strategy_of(conn, strategy_id)
        if held.state is model.StrategyState.ARCHIVED:
            return held
        conn.execute(
            strategies.update()
            .where(strategies.c.id == strategy_id)
            .values(state=model.StrategyState.ARCHIVED.value, updated_at=stored_time(at))
        )
    return model.Strategy(held.id, held.draft, model.StrategyState.ARCHIVED, held.created_at, at)


def _check_strategy(conn: Connection, draft: model.StrategyDraft, at: datetime) -> None:
    """The draft is valid, its type and programs are known and its zone is a node in force."""
    problem = model.strategy_problem(draft)
    if problem:
        raise BusinessError(problem, code=model.STRATEGY_INVALID)
    try:
        _strategy_type_of(conn, draft.type_code)
    except NotFound:
        raise BusinessError(
            f"type {draft.type_code!r} is not a strategy type derms holds",
            code=model.STRATEGY_INVALID,
        ) from None
    known: set[str] = set(
        conn.execute(
            sa.select(held_programs.c.code).where(held_programs.c.code.in_(draft.programs))
        ).scalars()
    )
    unknown = [p for p in draft.programs if p not in known]
    if unknown:
        raise BusinessError(
            f"programs {', '.join(unknown)} are not programs derms holds (PROG-RULE brings them)",
            code=model.STRATEGY_INVALID,
        )
    day = at.date().isoformat()
    zone = conn.execute(
        sa.select(network_nodes.c.node_id).where(
            (network_nodes.c.node_id == draft.control_zone) & in_force(network_nodes, day)
        )
    ).first()
    if zone is None:
        raise BusinessError(
            f"controlZone {draft.control_zone!r} is not a network node in force on {day}",
            code=model.STRATEGY_INVALID,
        )


def list_strategies(
    *, db: Database, state: model.StrategyState | None = None
) -> list[model.Strategy]:
    query = sa.select(strategies).order_by(strategies.c.id)
    if state is not None:
        query = query.where(strategies.c.state == state.value)
    with db.read() as conn:
        return [_strategy(r) for r in conn.execute(query)]


def get_strategy(*, db: Database, strategy_id: str) -> model.Strategy:
    with db.read() as conn:
        return _strategy_of(conn, strategy_id)


def _strategy_of(conn: Connection, strategy_id: str) -> model.Strategy:
    return _strategy(_one(conn, strategies.c.id, strategy_id, f"strategy {strategy_id}"))


def _target_columns(t: model.Target) -> dict[str, Any]:
    return {
        "objective": t.objective.value,
        "max_demand_mw": t.max_demand_mw,
        "mw_per_hour": t.mw_per_hour,
        "max_increase_pct": t.max_increase_pct,
    }


def _target(row: Row[Any]) -> model.Target:
    return model.Target(
        objective=model.Objective(row.objective),
        max_demand_mw=row.max_demand_mw,
        mw_per_hour=row.mw_per_hour,
        max_increase_pct=row.max_increase_pct,
    )


def _strategy_row(s: model.Strategy) -> dict[str, Any]:
    d = s.draft
    return {
        "id": s.id,
        "name": d.name,
        "description": d.description,
        "control_zone": d.control_zone,
        "programs": orjson.dumps(list(d.programs)).decode(),
        "type_code": d.type_code,
        **_target_columns(d.target),
        "override_rules": d.override_rules,
        "per_feeder": d.per_feeder,
        "firm": d.firm,
        "backfill": d.backfill,
        "state": s.state.value,
        "created_at": stored_time(s.created_at),
        "updated_at": stored_time(s.updated_at),
    }


def _strategy(row: Row[Any]) -> model.Strategy:
    draft = model.StrategyDraft(
        name=row.name,
        description=row.description,
        control_zone=row.control_zone,
        programs=tuple(orjson.loads(row.programs)),
        type_code=row.type_code,
        target=_target(row),
        override_rules=row.override_rules,
        per_feeder=row.per_feeder,
        firm=row.firm,
        backfill=row.backfill,
    )
    return model.Strategy(
        row.id,
        draft,
        model.StrategyState(row.state),
        _time(row.created_at),
        _time(row.updated_at),
    )


# --- Events ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventView:
    """An event with its stages."""

    event: model.Event
    stages: tuple[model.Stage, ...]


@dataclass(frozen=True, slots=True)
class StagePlan:
    """A stage as planning gives it, before it has an id."""

    program: str
    start: datetime
    end: datetime
    step_s: int
    p10_kw: tuple[float, ...]
    p50_kw: tuple[float, ...]
    p90_kw: tuple[float, ...]
    device_count: int
    #: (head-end system, NIC id, device id, service point, feeder) of each device planned.
    devices: tuple[tuple[str, str, str, str, str], ...] = ()


def create_event(
    *,
    db: Database,
    clock: Clock,
    strategy_id: str,
    name: str,
    event_type: model.EventType,
    start: datetime,
    end: datetime,
    target: model.Target | None,
    actor: str,
) -> model.Event:
    """A New event from an Active strategy over [start, end), with the strategy's objective
    unless ``target`` gives the event its own."""
    problem = model.event_problem(start, end, name)
    if problem is None and target is not None:
        problem = target.problem()
    if problem:
        raise BusinessError(problem, code=model.EVENT_INVALID)
    at = clock.now()
    with db.begin() as conn:
        one_writer(conn, _EVENTS_LOCK)
        strategy = _strategy_of(conn, strategy_id)
        if strategy.state is model.StrategyState.ARCHIVED:
            raise BusinessError(
                f"strategy {strategy_id} is Archived: no new event may come from it",
                code=model.EVENT_INVALID,
            )
        kind = _strategy_type_of(conn, strategy.draft.type_code)
        event = model.Event(
            id=new_id("EV-"),
            name=name,
            strategy_id=strategy_id,
            event_type=event_type,
            target=target or strategy.draft.target,
            window_start=start.astimezone(UTC),
            window_end=end.astimezone(UTC),
            state=model.EventState.NEW,
            priority=kind.priority,
            ba_checked=kind.ba_checked,
            created_by=actor,
            created_at=at,
            programs=strategy.draft.programs,
        )
        conn.execute(events.insert().values(_event_row(event, at)))
        detail = f"from strategy {strategy_id}, {start.isoformat()}–{end.isoformat()}"
        line = model.Audit(event.id, at, actor, model.Action.CREATE, None, event.state, detail)
        write_audit(conn, [line])
    return event


def plan_event(
    *,
    db: Database,
    clock: Clock,
    event_id: str,
    plans: Sequence[StagePlan],
    actor: str,
    summary: Mapping[str, Any] | None = None,
    detail: str = "",
) -> EventView:
    """Give a New event its stages (Planned) with their devices, replacing any earlier plan;
    ``summary`` is the plan they came from (the need, shortfall, exclusions and notes)."""
    at = clock.now()
    with db.begin() as conn:
        one_writer(conn, _EVENTS_LOCK)
        event = _event_of(conn, event_id)
        planned = tuple(
            model.Stage(
                id=new_id("SG-"),
                event_id=event_id,
                seq=i + 1,
                program=p.program,
                start=p.start,
                end=p.end,
                state=model.StageState.PLANNED,
                step_s=p.step_s,
                p10_kw=p.p10_kw,
                p50_kw=p.p50_kw,
                p90_kw=p.p90_kw,
                device_count=p.device_count,
            )
            for i, p in enumerate(sorted(plans, key=lambda p: (p.start, p.program)))
        )
        change = model.plan(event, planned, at=at, actor=actor, detail=detail)
        conn.execute(stages.delete().where(stages.c.event_id == event_id))
        conn.execute(stage_devices.delete().where(stage_devices.c.event_id == event_id))
        conn.execute(event_plans.delete().where(event_plans.c.event_id == event_id))
        if planned:
            conn.execute(stages.insert(), [_stage_row(s) for s in planned])
        rows = [
            {
                "stage_id": stage.id,
                "event_id": event_id,
                "head_end_system": he,
                "nic_id": nic,
                "device_id": device,
                "sp_id": sp,
                "feeder_id": feeder,
                "program": stage.program,
            }
            for stage, p in zip(planned, sorted(plans, key=lambda p: (p.start, p.program)),
                                strict=True)
            for he, nic, device, sp, feeder in p.devices
        ]  # fmt: skip
        if rows:
            conn.execute(stage_devices.insert(), rows)
        if summary is not None:
            conn.execute(
                event_plans.insert().values(
                    event_id=event_id,
                    planned_at=stored_time(at),
                    planned_by=actor,
                    planner=str(summary.get("planner", "")),
                    start_at=stored_time(event.window_start),
                    step_s=int(summary.get("step_s", 0)),
                    detail=orjson.dumps(summary).decode(),
                )
            )
        _write(conn, change, at)
    return EventView(change.event, change.stages)


@dataclass(frozen=True, slots=True)
class HeldPlan:
    """The plan an event's stages came from, as kept."""

    planned_at: datetime
    planned_by: str
    detail: Mapping[str, Any]


def get_plan(*, db: Database, event_id: str) -> HeldPlan:
    with db.read() as conn:
        _event_of(conn, event_id)
        row = _one(conn, event_plans.c.event_id, event_id, f"generated plan of event {event_id}")
    return HeldPlan(_time(row.planned_at), row.planned_by, orjson.loads(row.detail))


def stage_device_page(
    *,
    db: Database,
    stage_id: str,
    after: tuple[str, str] | None,
    limit: int,
    table: sa.Table = stage_devices,
    state: str | None = None,
) -> tuple[list[Row[Any]], tuple[str, str] | None]:
    """A page of a stage's planned devices (or of ``table``, keyed the same way: its
    reservations, of one ``state``) by (head-end system, NIC id), and the next key."""
    d = table.c
    query = (
        sa.select(table)
        .where(d.stage_id == stage_id)
        .order_by(d.head_end_system, d.nic_id)
        .limit(limit + 1)
    )
    if state is not None:
        query = query.where(d.state == state)
    if after:
        query = query.where(sa.tuple_(d.head_end_system, d.nic_id) > sa.tuple_(*after))
    with db.read() as conn:
        _one(conn, stages.c.id, stage_id, f"stage {stage_id}")
        rows = list(conn.execute(query))
    page = rows[:limit]
    more = len(rows) > limit
    return page, ((page[-1].head_end_system, page[-1].nic_id) if more else None)


def submit_event(
    *, db: Database, clock: Clock, event_id: str, threshold_mw: float, actor: str
) -> model.Change:
    at = clock.now()
    with db.begin() as conn:
        one_writer(conn, _EVENTS_LOCK)
        event = _event_of(conn, event_id)
        others = [
            view.stages
            for view in _open_views(conn, exclude=event_id)
            if view.event.ba_checked and view.event.state is not model.EventState.NEW
        ]
        change = model.submit(
            event,
            _stages_of(conn, event_id),
            others=others,
            threshold_mw=threshold_mw,
            at=at,
            actor=actor,
        )
        _write(conn, change, at)
    return change


@dataclass(frozen=True, slots=True)
class Decided:
    """An approval's outcome: the event, and the events its scheduling preempted."""

    view: EventView
    preempted: tuple[str, ...]


def approve_event(*, db: Database, clock: Clock, event_id: str, ba: bool, actor: str) -> Decided:
    """Record an approval (``ba``: the balance authority's); once the event has every approval
    it needs it is Approved and scheduled at once (or left Approved when a conflict holds)."""
    at = clock.now()
    with db.begin() as conn:
        one_writer(conn, _EVENTS_LOCK)
        before = _event_of(conn, event_id)
        after = model.approve(before, ba=ba, at=at, actor=actor)
        line = model.approval_audit(before, after, ba=ba, at=at, actor=actor)
        held = _stages_of(conn, event_id)
        _write(conn, model.Change(after, held, (line,)), at)
        if after.state is not model.EventState.APPROVED:
            return Decided(EventView(after, held), ())
        return _schedule(conn, after, held, at=at, actor=actor)


def schedule_event(*, db: Database, clock: Clock, event_id: str, actor: str) -> Decided:
    """Try again to schedule an Approved event a conflict held back."""
    at = clock.now()
    with db.begin() as conn:
        one_writer(conn, _EVENTS_LOCK)
        event = _event_of(conn, event_id)
        return _schedule(conn, event, _stages_of(conn, event_id), at=at, actor=actor)


def _schedule(
    conn: Connection,
    event: model.Event,
    held: Sequence[model.Stage],
    *,
    at: datetime,
    actor: str,
) -> Decided:
    holding = [
        model.Holding(v.event, v.stages)
        for v in _open_views(conn, exclude=event.id)
        if v.event.state in model.HOLDING
    ]
    done = model.schedule(event, held, holding=holding, at=at, actor=actor)
    for change in done.preempted:
        _write(conn, change, at)
    _write(conn, done.change, at)
    view = EventView(done.change.event, done.change.stages)
    return Decided(view, tuple(c.event.id for c in done.preempted))


def deny_event(
    *, db: Database, clock: Clock, event_id: str, reason: str, actor: str
) -> model.Event:
    at = clock.now()
    with db.begin() as conn:
        one_writer(conn, _EVENTS_LOCK)
        change = model.deny(_event_of(conn, event_id), reason=reason, at=at, actor=actor)
        _write(conn, change, at)
    return change.event


def cancel_event(
    *, db: Database, clock: Clock, event_id: str, reason: str, actor: str
) -> EventView:
    at = clock.now()
    with db.begin() as conn:
        one_writer(conn, _EVENTS_LOCK)
        event = _event_of(conn, event_id)
        change = model.cancel(event, _stages_of(conn, event_id), reason=reason, at=at, actor=actor)
        _write(conn, change, at)
    return EventView(change.event, change.stages)


def advance_stages(*, db: Database, clock: Clock) -> list[model.StageMove]:
    """Move every stage whose start or end has come (In Progress, Completed), and the events
    that follow them; each transition once, recorded with its own time. Run on a schedule and
    at the start: what fell due while derms was down happens then, in order."""
    now = clock.now()
    due = stored_time(now)
    done: list[model.StageMove] = []
    with db.begin() as conn:
        one_writer(conn, _EVENTS_LOCK)
        s = stages.c
        open_ids: list[str] = list(
            conn.execute(
                sa.select(s.event_id)
                .where(
                    ((s.state == model.StageState.SCHEDULED.value) & (s.start_at <= due))
                    | ((s.state == model.StageState.IN_PROGRESS.value) & (s.end_at <= due))
                )
                .distinct()
            ).scalars()
        )
        for event_id in sorted(open_ids):
            event = _event_of(conn, event_id)
            held = _stages_of(conn, event_id)
            moves = model.advance(held, now)
            if not moves:
                continue
            moved = model.apply_moves(held, moves)
            state = model.follow_stages(event, moved)
            lines = [
                model.Audit(
                    event_id,
                    now,
                    model.SYSTEM,
                    model.Action.STAGE,
                    m.from_state,
                    m.to_state,
                    f"stage due {m.due.isoformat()}",
                    stage_id=m.stage_id,
                )
                for m in moves
            ]
            followed = event
            if state is not event.state:
                followed = replace(event, state=state)
                lines.append(
                    model.Audit(
                        event_id,
                        now,
                        model.SYSTEM,
                        model.Action.FOLLOW,
                        event.state,
                        state,
                        "follows its stages",
                    )
                )
            _write(conn, model.Change(followed, moved, tuple(lines), tuple(moves)), now)
            done.extend(moves)
    return done


def resend_transitions(*, db: Database, clock: Clock, event_id: str, actor: str) -> int:
    """Send cpm again every transition of the event's stages it did not take (Failed), once
    the cause is fixed (a lookup value, the program in cpm); how many went."""
    at = clock.now()
    with db.begin() as conn:
        one_writer(conn, _EVENTS_LOCK)
        event = _event_of(conn, event_id)
        moves = status.failed_moves(conn, event_id)
        status.enqueue(conn, event, _stages_of(conn, event_id), moves, at)
        line = model.Audit(event_id, at, actor, model.Action.RESEND, None, None,
                           f"{len(moves)} stage transition(s) sent to cpm again")  # fmt: skip
        write_audit(conn, [line])
    return len(moves)


def get_event(*, db: Database, event_id: str) -> EventView:
    with db.read() as conn:
        return EventView(_event_of(conn, event_id), _stages_of(conn, event_id))


def get_stage(*, db: Database, stage_id: str) -> model.Stage:
    with db.read() as conn:
        return _stage(_one(conn, stages.c.id, stage_id, f"stage {stage_id}"))


@dataclass(frozen=True, slots=True)
class EventQuery:
    """What a list of events is filtered by; None: any."""

    state: model.EventState | None = None
    strategy_id: str | None = None
    program: str | None = None
    #: Events whose window ends after ``starts_before``'s counterpart: overlapping [after, before).
    after: datetime | None = None
    before: datetime | None = None


def list_events(
    *, db: Database, query: EventQuery, cursor: str | None, limit: int
) -> tuple[list[model.Event], str | None]:
    """A page of events, newest window first (then id), and the cursor of the next page."""
    e = events.c
    select = sa.select(events).order_by(e.window_start.desc(), e.id.desc()).limit(limit + 1)
    if query.state is not None:
        select = select.where(e.state == query.state.value)
    if query.strategy_id is not None:
        select = select.where(e.strategy_id == query.strategy_id)
    if query.program is not None:
        select = select.where(e.programs.contains(orjson.dumps(query.program).decode()))
    if query.after is not None:
        select = select.where(e.window_end > stored_time(query.after))
    if query.before is not None:
        select = select.where(e.window_start < stored_time(query.before))
    if cursor:
        start, _, event_id = cursor.partition("!")
        select = select.where(sa.tuple_(e.window_start, e.id) < sa.tuple_(start, event_id))
    with db.read() as conn:
        rows = list(conn.execute(select))
    page = [_event(r) for r in rows[:limit]]
    more = len(rows) > limit
    return page, (f"{stored_time(page[-1].window_start)}!{page[-1].id}" if more else None)


def audit_trail(*, db: Database, event_id: str) -> list[model.Audit]:
    with db.read() as conn:
        _event_of(conn, event_id)
        rows = conn.execute(
            sa.select(event_audit)
            .where(event_audit.c.event_id == event_id)
            .order_by(event_audit.c.id)
        )
        return [
            model.Audit(
                event_id=r.event_id,
                at=_time(r.at),
                actor=r.actor,
                action=model.Action(r.action),
                from_state=r.from_state,
                to_state=r.to_state,
                detail=r.detail,
                stage_id=r.stage_id,
            )
            for r in rows
        ]


def stage_transitions_of(*, db: Database, event_id: str) -> list[model.StageMove]:
    """Every transition of the event's stages, in the order they were due."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(stage_transitions).where(stage_transitions.c.event_id == event_id)
        )
        return model.in_order(
            model.StageMove(
                r.stage_id,
                r.event_id,
                model.StageState(r.from_state),
                model.StageState(r.to_state),
                _time(r.due_at),
            )
            for r in rows
        )


# --- Rows ------------------------------------------------------------------------------------


def _open_views(conn: Connection, *, exclude: str) -> list[EventView]:
    open_states = [s.value for s in model.OPEN]
    rows = conn.execute(
        sa.select(events).where(events.c.state.in_(open_states) & (events.c.id != exclude))
    )
    found = [_event(r) for r in rows]
    by_event: dict[str, list[model.Stage]] = {e.id: [] for e in found}
    if found:
        for row in conn.execute(
            sa.select(stages)
            .where(stages.c.event_id.in_(list(by_event)))
            .order_by(stages.c.event_id, stages.c.seq)
        ):
            by_event[row.event_id].append(_stage(row))
    return [EventView(e, tuple(by_event[e.id])) for e in found]


def _event_of(conn: Connection, event_id: str) -> model.Event:
    return _event(_one(conn, events.c.id, event_id, f"event {event_id}"))


def _stages_of(conn: Connection, event_id: str) -> tuple[model.Stage, ...]:
    rows = conn.execute(
        sa.select(stages).where(stages.c.event_id == event_id).order_by(stages.c.seq)
    )
    return tuple(_stage(r) for r in rows)


def _write(conn: Connection, change: model.Change, at: datetime) -> None:
    """The event's row, its stages' states, their transitions (each one cpm is told of in the
    outbox too, EVT-STATUS) and the audit lines."""
    event = change.event
    conn.execute(
        events.update().where(events.c.id == event.id).values(_event_row(event, at, new=False))
    )
    for stage_id, state in {m.stage_id: m.to_state for m in change.moves}.items():
        conn.execute(stages.update().where(stages.c.id == stage_id).values(state=state.value))
    if change.moves:
        rows = [
            {
                "stage_id": m.stage_id,
                "to_state": m.to_state.value,
                "event_id": m.event_id,
                "from_state": m.from_state.value,
                "due_at": stored_time(m.due),
                "recorded_at": stored_time(at),
                "cpm_status": status.Delivery.PENDING.value if status.for_cpm(m) else None,
            }
            for m in change.moves
        ]
        taken = {
            (row.stage_id, row.to_state)
            for row in conn.execute(
                sa.select(stage_transitions.c.stage_id, stage_transitions.c.to_state).where(
                    stage_transitions.c.stage_id.in_({r["stage_id"] for r in rows})
                )
            )
        }
        repeated = [r for r in rows if (r["stage_id"], r["to_state"]) in taken]
        if repeated:
            # The state checks under the lock make this impossible; a repeat would be a defect.
            raise Conflict(
                f"stage {repeated[0]['stage_id']} was moved {repeated[0]['to_state']} already"
            )
        conn.execute(stage_transitions.insert(), rows)
        status.enqueue(conn, event, change.stages, change.moves, at)
    write_audit(conn, [*change.audit, *_hold_devices(conn, change, at)])


def _hold_devices(conn: Connection, change: model.Change, at: datetime) -> list[model.Audit]:
    """Reserve the devices of each stage the change Scheduled; release the live reservations
    of each stage it Canceled. The audit lines that say so."""
    by_id = {s.id: s for s in change.stages}
    lines: list[model.Audit] = []
    for m in change.moves:
        if m.to_state is model.StageState.SCHEDULED:
            lines.append(reservations.reserve(conn, by_id[m.stage_id], at))
        elif m.to_state is model.StageState.CANCELED:
            released = reservations.release(
                conn, [m.stage_id], reservations.ReleaseReason.STAGE_CANCELED, at
            )
            if released:
                lines.append(
                    model.Audit(
                        change.event.id,
                        at,
                        model.SYSTEM,
                        model.Action.RELEASE,
                        None,
                        None,
                        f"{released} reservation(s) released: the stage was canceled",
                        stage_id=m.stage_id,
                    )
                )
    return lines


def write_audit(conn: Connection, lines: Iterable[model.Audit]) -> None:
    rows = [
        {
            "event_id": a.event_id,
            "stage_id": a.stage_id,
            "at": stored_time(a.at),
            "actor": a.actor,
            "action": a.action.value,
            "from_state": a.from_state,
            "to_state": a.to_state,
            "detail": a.detail,
        }
        for a in lines
    ]
    if rows:
        conn.execute(event_audit.insert(), rows)


def _event_row(e: model.Event, at: datetime, *, new: bool = True) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": e.name,
        "event_type": e.event_type.value,
        **_target_columns(e.target),
        "programs": orjson.dumps(list(e.programs)).decode(),
        "window_start": stored_time(e.window_start),
        "window_end": stored_time(e.window_end),
        "state": e.state.value,
        "needs_ba": e.needs_ba,
        "approved_by": e.approved_by,
        "approved_at": stored_time(e.approved_at) if e.approved_at else None,
        "ba_approved_by": e.ba_approved_by,
        "ba_approved_at": stored_time(e.ba_approved_at) if e.ba_approved_at else None,
        "reason": e.reason,
        "updated_at": stored_time(at),
    }
    if new:
        row |= {
            "id": e.id,
            "strategy_id": e.strategy_id,
            "priority": e.priority,
            "ba_checked": e.ba_checked,
            "created_by": e.created_by,
            "created_at": stored_time(e.created_at),
        }
    return row


def _event(row: Row[Any]) -> model.Event:
    return model.Event(
        id=row.id,
        name=row.name,
        strategy_id=row.strategy_id,
        event_type=model.EventType(row.event_type),
        target=_target(row),
        window_start=_time(row.window_start),
        window_end=_time(row.window_end),
        state=model.EventState(row.state),
        priority=row.priority,
        ba_checked=row.ba_checked,
        created_by=row.created_by,
        created_at=_time(row.created_at),
        needs_ba=row.needs_ba,
        approved_by=row.approved_by,
        approved_at=_maybe_time(row.approved_at),
        ba_approved_by=row.ba_approved_by,
        ba_approved_at=_maybe_time(row.ba_approved_at),
        reason=row.reason,
        programs=tuple(orjson.loads(row.programs)),
    )


def _stage_row(s: model.Stage) -> dict[str, Any]:
    return {
        "id": s.id,
        "event_id": s.event_id,
        "seq": s.seq,
        "program": s.program,
        "start_at": stored_time(s.start),
        "end_at": stored_time(s.end),
        "state": s.state.value,
        "step_s": s.step_s,
        "expected_kw": orjson.dumps(
            {"p10": list(s.p10_kw), "p50": list(s.p50_kw), "p90": list(s.p90_kw)}
        ).decode(),
        "device_count": s.device_count,
    }


def _stage(row: Row[Any]) -> model.Stage:
    kw = orjson.loads(row.expected_kw)
    return model.Stage(
        id=row.id,
        event_id=row.event_id,
        seq=row.seq,
        program=row.program,
        start=_time(row.start_at),
        end=_time(row.end_at),
        state=model.StageState(row.state),
        step_s=row.step_s,
        p10_kw=tuple(kw["p10"]),
        p50_kw=tuple(kw["p50"]),
        p90_kw=tuple(kw["p90"]),
        device_count=row.device_count,
    )
