"""The devices' outcomes of their stages, from DERMS's side (docs/contracts/event-outcomes.md).

One place keeps them: each reservation's outcome columns. Whatever learns what a device did —
the head-end systems' outcome files (outcome_import.py), or the dispatch — records it through
``record_outcomes``, which holds the rules:

- the stage must have started (In Progress or Completed) and its outcomes not be closed;
- the device must hold a live (Reserved or Dispatched) reservation of it: a released one
  (opted out, unavailable, its stage canceled) takes no outcome;
- a later report of the same device replaces the earlier one until the outcomes are closed.

``close_stages`` closes a stage's outcomes once its outcome window has passed after its end
(``DERLINK_OUTCOME_WINDOW_MIN``), or at once when it was canceled: every live reservation
without an outcome becomes D1ND (no report came), and every live one Closed. The outcome file
writer (outcome_files.py) then carries the closed stages' outcomes to cpm and analytics.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.common.clock import Clock
from derlink.contracts.event_files import MAX_ERROR_MESSAGE, OUTCOMES
from derlink.derms.db import stored_time
from derlink.derms.events import model, service
from derlink.derms.events.reservations import (
    DERMS_SOURCE,
    LIVE,
    Outcome,
    ReservationState,
)
from derlink.derms.events.tables import reservations, stages
from derlink.platform.database import Database

#: Where a recorded outcome came from: a head-end system's outcome file.
HEAD_END_FILE = "HEAD_END_FILE"

#: The stage is unknown, or holds no reservation of the device.
RESERVATION_UNKNOWN = "DERMS-RESERVATION-UNKNOWN"
#: The device's reservation was released (opted out, unavailable, its stage canceled).
RESERVATION_RELEASED = "DERMS-RESERVATION-RELEASED"
#: The stage has not started: nothing has happened to report.
OUTCOME_EARLY = "DERMS-OUTCOME-EARLY"
#: The stage's outcomes were closed (and sent on).
OUTCOME_CLOSED = "DERMS-OUTCOME-CLOSED"
#: An outcome that does not hold together.
OUTCOME_INVALID = "DERMS-OUTCOME-INVALID"

#: Keys per query when a batch's reservations are read.
_CHUNK = 2000
_STARTED = (model.StageState.IN_PROGRESS.value, model.StageState.COMPLETED.value)
#: The reservation's columns an outcome sets.
_OUTCOME_COLUMNS = (
    "outcome",
    "error_message",
    "participation_start_at",
    "participation_end_at",
    "measured_kw",
    "outcome_at",
    "outcome_source",
    "updated_at",
)


@dataclass(frozen=True, slots=True)
class DeviceOutcome:
    """What one device did in one stage, as reported."""

    stage_id: str
    head_end_system: str
    nic_id: str
    outcome: str
    error_message: str = ""
    participation_start: datetime | None = None
    participation_end: datetime | None = None
    measured_kw: float | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.stage_id, self.head_end_system, self.nic_id)


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    reason: str


def outcome_problem(o: DeviceOutcome) -> Refusal | None:
    """What is wrong with an outcome on its own (before the reservation is looked at)."""
    if o.outcome not in OUTCOMES:
        return Refusal(
            OUTCOME_INVALID, f"outcome {o.outcome!r} is not one of {', '.join(OUTCOMES)}"
        )
    if len(o.error_message) > MAX_ERROR_MESSAGE:
        return Refusal(
            OUTCOME_INVALID,
            f"the error message has {len(o.error_message)} characters, more than "
            f"{MAX_ERROR_MESSAGE}",
        )
    start, end = o.participation_start, o.participation_end
    if start is not None and end is not None and end < start:
        return Refusal(
            OUTCOME_INVALID,
            f"the participation ends ({end.isoformat()}) before it starts ({start.isoformat()})",
        )
    if o.measured_kw is not None and not -1e9 < o.measured_kw < 1e9:
        return Refusal(OUTCOME_INVALID, f"the measured kW {o.measured_kw} is out of range")
    return None


def record_outcomes(
    conn: Connection, outcomes: Sequence[DeviceOutcome], *, source: str, at: datetime
) -> list[Refusal | None]:
    """Record each outcome on its device's reservation, in the caller's transaction; per
    outcome, None when recorded or why not (the module's rules)."""
    problems = [outcome_problem(o) for o in outcomes]
    wanted = [o for o, p in zip(outcomes, problems, strict=True) if p is None]
    held = _reservations(conn, wanted)
    states = _stage_states(conn, {o.stage_id for o in wanted})
    now = stored_time(at)
    writes: dict[tuple[str, str, str], dict[str, Any]] = {}
    decided: list[Refusal | None] = []
    for o, problem in zip(outcomes, problems, strict=True):
        if problem is None:
            problem = _placement(o, held.get(o.key), states.get(o.stage_id))
        decided.append(problem)
        if problem is None:
            # A device reported twice in one call: the later report stands.
            values = {
                "outcome": o.outcome, "error_message": o.error_message or None,
                "participation_start_at": _stored(o.participation_start),
                "participation_end_at": _stored(o.participation_end),
                "measured_kw": o.measured_kw, "outcome_at": now, "outcome_source": source,
                "updated_at": now,
            }  # fmt: skip
            writes[o.key] = {
                "s": o.stage_id, "h": o.head_end_system, "n": o.nic_id,
                **{f"v_{name}": value for name, value in values.items()},
            }  # fmt: skip
    if writes:
        r = reservations.c
        conn.execute(
            reservations.update()
            .where(
                r.stage_id == sa.bindparam("s"),
                r.head_end_system == sa.bindparam("h"),
                r.nic_id == sa.bindparam("n"),
            )
            .values({name: sa.bindparam(f"v_{name}") for name in _OUTCOME_COLUMNS}),
            list(writes.values()),
        )
    return decided


def _stored(moment: datetime | None) -> str | None:
    return None if moment is None else stored_time(moment)


def _placement(
    o: DeviceOutcome, reservation: str | None, stage: tuple[str, str | None] | None
) -> Refusal | None:
    if stage is None or reservation is None:
        where = f"stage {o.stage_id}" if stage is not None else f"no stage {o.stage_id}: it"
        return Refusal(
            RESERVATION_UNKNOWN,
            f"{where} holds no reservation of device {o.nic_id} of the head-end system "
            f"{o.head_end_system}",
        )
    state, closed = stage
    if closed is not None:
        return Refusal(
            OUTCOME_CLOSED,
            f"stage {o.stage_id}'s outcomes were closed at {closed}: they were sent on",
        )
    if state not in _STARTED:
        return Refusal(
            OUTCOME_EARLY, f"stage {o.stage_id} is {state}: it takes outcomes once it started"
        )
    if reservation not in LIVE:
        return Refusal(
            RESERVATION_RELEASED,
            f"device {o.nic_id}'s reservation of stage {o.stage_id} was released: it takes no "
            "outcome",
        )
    return None


def _reservations(
    conn: Connection, outcomes: Sequence[DeviceOutcome]
) -> dict[tuple[str, str, str], str]:
    """The state of each outcome's reservation that exists."""
    by_stage: dict[str, set[str]] = defaultdict(set)
    for o in outcomes:
        by_stage[o.stage_id].add(o.nic_id)
    r = reservations.c
    found: dict[tuple[str, str, str], str] = {}
    for stage_id, nics in by_stage.items():
        ordered = sorted(nics)
        for start in range(0, len(ordered), _CHUNK):
            rows = conn.execute(
                sa.select(r.head_end_system, r.nic_id, r.state).where(
                    r.stage_id == stage_id, r.nic_id.in_(ordered[start : start + _CHUNK])
                )
            )
            for he, nic, state in rows:
                found[(stage_id, str(he), str(nic))] = str(state)
    return found


def _stage_states(conn: Connection, ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    wanted = sorted(ids)
    found: dict[str, tuple[str, str | None]] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = conn.execute(
            sa.select(stages.c.id, stages.c.state, stages.c.outcomes_closed_at).where(
                stages.c.id.in_(wanted[start : start + _CHUNK])
            )
        )
        for stage_id, state, closed in rows:
            found[str(stage_id)] = (str(state), None if closed is None else str(closed))
    return found


# --- Closing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Closed:
    stage_id: str
    event_id: str
    #: The live reservations that had no outcome (now D1ND), and all those Closed.
    no_report: int
    closed: int


def close_stages(*, db: Database, clock: Clock, window: timedelta) -> list[Closed]:
    """Close the outcomes of every Completed stage whose end is ``window`` or more ago, and of
    every Canceled stage, that are not closed yet; each in its own transaction, the earliest
    end first."""
    now = clock.now()
    st = stages.c
    with db.read() as conn:
        due = conn.execute(
            sa.select(st.id, st.event_id)
            .where(
                st.outcomes_closed_at.is_(None),
                sa.or_(
                    (st.state == model.StageState.COMPLETED.value)
                    & (st.end_at <= stored_time(now - window)),
                    st.state == model.StageState.CANCELED.value,
                ),
            )
            .order_by(st.end_at, st.id)
        ).all()
    return [_close(db, now, row.id, row.event_id) for row in due]


def _close(db: Database, now: datetime, stage_id: str, event_id: str) -> Closed:
    at = stored_time(now)
    r = reservations.c
    live = (r.stage_id == stage_id) & r.state.in_(LIVE)
    with db.begin() as conn:
        closed_at = conn.execute(
            sa.select(stages.c.outcomes_closed_at).where(stages.c.id == stage_id).with_for_update()
        ).scalar()
        if closed_at is not None:  # another closer did it first
            return Closed(stage_id, event_id, 0, 0)
        silent = conn.execute(
            reservations.update()
            .where(live & r.outcome.is_(None))
            .values(
                outcome=Outcome.NON_RESPONSIVE.value,
                outcome_at=at,
                outcome_source=DERMS_SOURCE,
                updated_at=at,
            )
        ).rowcount
        closed = conn.execute(
            reservations.update()
            .where(live)
            .values(state=ReservationState.CLOSED.value, updated_at=at)
        ).rowcount
        conn.execute(stages.update().where(stages.c.id == stage_id).values(outcomes_closed_at=at))
        if closed:
            detail = f"outcomes closed: {closed} device(s)"
            if silent:
                detail += f", {silent} of them without a report (D1ND)"
            service.write_audit(
                conn,
                [model.Audit(event_id, now, model.SYSTEM, model.Action.OUTCOMES, None, None,
                             detail, stage_id=stage_id)],
            )  # fmt: skip
    return Closed(stage_id, event_id, int(silent or 0), int(closed or 0))
