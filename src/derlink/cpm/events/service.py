"""Program events' services: create one per DERMS stage, apply DERMS's lifecycle actions, read
them back (docs/contracts/program-events.md).

Both writes are idempotent and safe when the same message arrives twice at once. A stage's
program event is created once: its ``external_identifier`` is unique, so of two concurrent
creates one inserts and the other, refused by the constraint, compares itself with what the
first stored (``Exists`` or 409). A lifecycle action locks its event's row first (PostgreSQL;
SQLite lets one writer in at a time), so two actions on one event run one after the other and
the second sees the first's state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from derlink.common.clock import Clock
from derlink.common.errors import NotFound
from derlink.common.ids import new_id
from derlink.cpm.catalog.model import PROGRAM_INACTIVE, PROGRAM_UNKNOWN, ProgramStatus
from derlink.cpm.catalog.tables import programs
from derlink.cpm.errors import CpmBusinessError
from derlink.cpm.events import model as m
from derlink.cpm.events.participation import ParticipationState
from derlink.cpm.events.tables import event_participations, program_event_history, program_events
from derlink.platform.database import Database

pe, history = program_events, program_event_history


@dataclass(frozen=True)
class Transition:
    at: str
    action: str
    from_state: m.ProgramEventState | None
    to_state: m.ProgramEventState
    detail: str


@dataclass(frozen=True)
class ProgramEventView:
    program_event_id: str
    external_identifier: str
    event_external_identifier: str
    program_code: str
    program_external_identifier: str
    category: m.ProgramEventCategory
    start: str
    end: str
    state: m.ProgramEventState
    cancel_reason: str
    created_at: str
    updated_at: str
    #: Oldest first; empty where a read does not ask for it.
    history: tuple[Transition, ...] = ()
    #: Its participations' counts by state (the states it has); empty where a read does not
    #: ask for them.
    participations: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Done:
    """What a create or a lifecycle action did, and the program event as it now is."""

    outcome: m.CreateOutcome | m.LifecycleOutcome
    program_event: ProgramEventView


# -- create ---------------------------------------------------------------------------------


def create_program_event(*, db: Database, clock: Clock, event: m.NewProgramEvent) -> Done:
    """Create the program event of a DERMS stage: Pending, then at once Scheduled (X1SD), both
    in its history. The same stage again answers ``Exists``; with other content, a 409 naming
    what differs."""
    m.check_new_event(event)
    try:
        with db.begin() as conn:
            found = _by_stage(conn, event.external_identifier)
            if found is not None:
                return _existing(found, event)
            program_code = _program_for(conn, event.program_external_identifier)
            event_id = _insert(conn, clock, event, program_code)
    except IntegrityError:
        # Another delivery of the stage committed between our read and our insert.
        with db.read() as conn:
            found = _by_stage(conn, event.external_identifier)
        if found is None:
            raise
        return _existing(found, event)
    return Done(m.CreateOutcome.CREATED, get_program_event(db=db, program_event_id=event_id))


def _existing(row: Row[Any], event: m.NewProgramEvent) -> Done:
    stored = m.StoredEvent(
        row.event_external_identifier,
        row.program_external_identifier,
        m.ProgramEventCategory(row.category),
        row.start_at,
        row.end_at,
    )
    differ = m.differences(stored, event)
    if differ:
        raise m.conflict(event.external_identifier, differ)
    return Done(m.CreateOutcome.EXISTS, _view(row))


def _program_for(conn: Connection, named: str) -> str:
    """The code of the Active program DERMS names: by its external id, else by its code."""
    p = programs.c
    rows = conn.execute(
        sa.select(p.code, p.status).where(p.external_id == named).order_by(p.code)
    ).all()
    if not rows:
        rows = conn.execute(sa.select(p.code, p.status).where(p.code == named)).all()
    if not rows:
        raise CpmBusinessError(
            f"no program has the external id or the code {named!r}", code=PROGRAM_UNKNOWN
        )
    if len(rows) > 1:
        raise CpmBusinessError(
            f"programs {', '.join(r.code for r in rows)} share the external id {named!r}: it "
            "names no one program",
            code=m.PROGRAM_EVENT_INVALID,
        )
    (row,) = rows
    if row.status != ProgramStatus.ACTIVE.value:
        raise CpmBusinessError(
            f"program {row.code!r} is {row.status}, not Active", code=PROGRAM_INACTIVE
        )
    return str(row.code)


def _insert(conn: Connection, clock: Clock, event: m.NewProgramEvent, program_code: str) -> str:
    event_id = new_id("PE-")
    at = m.utc_text(clock.now())
    conn.execute(
        pe.insert().values(
            id=event_id,
            external_identifier=event.external_identifier,
            event_external_identifier=event.event_external_identifier,
            program_code=program_code,
            program_external_identifier=event.program_external_identifier,
            category=event.category.value,
            start_at=m.utc_text(event.start),
            end_at=m.utc_text(event.end),
            state=m.ProgramEventState.SCHEDULED.value,
            cancel_reason="",
            created_at=at,
            updated_at=at,
        )
    )
    # Created Pending, and scheduled at once: DERMS sends a stage when it is scheduled.
    _record(conn, event_id, at, m.CREATE, None, m.ProgramEventState.PENDING)
    _record(
        conn,
        event_id,
        at,
        m.LifecycleAction.SCHEDULE.value,
        m.ProgramEventState.PENDING,
        m.ProgramEventState.SCHEDULED,
    )
    return event_id


def _record(
    conn: Connection,
    event_id: str,
    at: str,
    action: str,
    from_state: m.ProgramEventState | None,
    to_state: m.ProgramEventState,
    detail: str = "",
) -> None:
    conn.execute(
        history.insert().values(
            program_event_id=event_id,
            at=at,
            action=action,
            from_state=from_state.value if from_state else None,
            to_state=to_state.value,
            detail=detail,
        )
    )


# -- lifecycle ------------------------------------------------------------------------------


def apply_action(
    *,
    db: Database,
    clock: Clock,
    external_identifier: str,
    event_external_identifier: str,
    action: m.LifecycleAction,
    cancel_reason: str = "",
) -> Done:
    """Apply a lifecycle action to the program event of a stage, by the monotone rule
    (model.decide): ``Applied`` with a history line, or ``Unchanged``."""
    reason = m.check_cancel_reason(action, cancel_reason)
    with db.begin() as conn:
        row = _by_stage(conn, external_identifier, lock=True)
        if row is None:
            raise _unknown(f"no program event for the stage {external_identifier!r}")
        if row.event_external_identifier != event_external_identifier:
            raise CpmBusinessError(
                f"program event {external_identifier} belongs to the event "
                f"{row.event_external_identifier}, not {event_external_identifier}",
                code=m.PROGRAM_EVENT_INVALID,
            )
        state = m.ProgramEventState(row.state)
        move = m.decide(external_identifier, state, action)
        if move.to_state is None:
            return Done(move.outcome, _view(row))
        at = m.utc_text(clock.now())
        changes: dict[str, Any] = {"state": move.to_state.value, "updated_at": at}
        if action is m.LifecycleAction.CANCEL:
            changes["cancel_reason"] = reason
        conn.execute(pe.update().where(pe.c.id == row.id).values(changes))
        _record(conn, row.id, at, action.value, state, move.to_state, reason)
        moved = _by_stage(conn, external_identifier)
    assert moved is not None  # the row is locked: nothing deleted it
    return Done(move.outcome, _view(moved))


def _unknown(detail: str) -> NotFound:
    return NotFound(detail, code=m.PROGRAM_EVENT_UNKNOWN)


# -- reads ----------------------------------------------------------------------------------


def _by_stage(conn: Connection, external_identifier: str, *, lock: bool = False) -> Row[Any] | None:
    query = sa.select(pe).where(pe.c.external_identifier == external_identifier)
    return conn.execute(query.with_for_update() if lock else query).first()


def get_program_event(*, db: Database, program_event_id: str) -> ProgramEventView:
    """One program event by cpm's id, with its history and its participations' counts."""
    ep = event_participations
    with db.read() as conn:
        row = conn.execute(sa.select(pe).where(pe.c.id == program_event_id)).first()
        if row is None:
            raise _unknown(f"no program event {program_event_id!r}")
        lines = conn.execute(
            sa.select(history)
            .where(history.c.program_event_id == program_event_id)
            .order_by(history.c.id)
        ).all()
        counted: dict[str, int] = {
            row.state: row.n
            for row in conn.execute(
                sa.select(ep.c.state, sa.func.count().label("n"))
                .where(ep.c.program_event_id == program_event_id)
                .group_by(ep.c.state)
            )
        }
    # In the lifecycle's order of the states.
    counts: dict[str, int] = {
        s.value: counted[s.value] for s in ParticipationState if s.value in counted
    }
    return replace(_view(row, tuple(_transition(h) for h in lines)), participations=counts)


@dataclass(frozen=True)
class ProgramEventFilter:
    """What a list of program events is narrowed by; "" or None: any."""

    program_code: str = ""
    event_external_identifier: str = ""
    external_identifier: str = ""
    state: m.ProgramEventState | None = None
    program_event_id: str = ""


@dataclass(frozen=True)
class Page:
    items: list[ProgramEventView]
    #: Pass as ``after`` to read the next page; None on the last one.
    next: str | None


def list_program_events(
    *, db: Database, narrowed: ProgramEventFilter, after: str | None = None, limit: int = 50
) -> Page:
    """A page of program events, the latest start first (then the latest id). ``after`` is
    the ``next`` of the page before: ``<start>!<id>`` of its last event."""
    query = sa.select(pe).order_by(pe.c.start_at.desc(), pe.c.id.desc()).limit(limit + 1)
    for column, wanted in (
        (pe.c.program_code, narrowed.program_code),
        (pe.c.event_external_identifier, narrowed.event_external_identifier),
        (pe.c.external_identifier, narrowed.external_identifier),
        (pe.c.state, narrowed.state.value if narrowed.state else ""),
        (pe.c.id, narrowed.program_event_id),
    ):
        if wanted:
            query = query.where(column == wanted)
    if after:
        start, _, last_id = after.rpartition("!")
        query = query.where(sa.tuple_(pe.c.start_at, pe.c.id) < sa.tuple_(start, last_id))
    with db.read() as conn:
        rows = conn.execute(query).all()
    items = [_view(r) for r in rows[:limit]]
    more = len(rows) > limit
    return Page(items, f"{items[-1].start}!{items[-1].program_event_id}" if more else None)


def _view(row: Row[Any], lines: tuple[Transition, ...] = ()) -> ProgramEventView:
    return ProgramEventView(
        program_event_id=row.id,
        external_identifier=row.external_identifier,
        event_external_identifier=row.event_external_identifier,
        program_code=row.program_code,
        program_external_identifier=row.program_external_identifier,
        category=m.ProgramEventCategory(row.category),
        start=row.start_at,
        end=row.end_at,
        state=m.ProgramEventState(row.state),
        cancel_reason=row.cancel_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        history=lines,
    )


def _transition(row: Row[Any]) -> Transition:
    return Transition(
        at=row.at,
        action=row.action,
        from_state=m.ProgramEventState(row.from_state) if row.from_state else None,
        to_state=m.ProgramEventState(row.to_state),
        detail=row.detail,
    )
