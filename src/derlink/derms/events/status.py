"""EVT-STATUS from DERMS's side (docs/contracts/event-status.md): every transition of a stage cpm
knows of goes to cpm through the outbox, in the transaction that made it, and cpm's answer,
acknowledged by the hub, is kept on the transition.

cpm knows of a stage from its Scheduled transition on (cpm creates its program event then), so
a stage canceled while still Planned is not sent: cpm never heard of it. A message's id is the
stage's id and the state it moved to, so the transition (kept once, ``stage_transitions``) and
its message are one to one, and a re-delivered acknowledgement finds what it answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.common.clock import Clock, FixedClock
from derlink.derms.db import one_writer, outbox, stored_time
from derlink.derms.events import model
from derlink.derms.events.tables import event_audit, stage_transitions, stages
from derlink.derms.masterdata.tables import programs as held_programs
from derlink.platform.database import Database
from derlink.platform.outbox import Route, enqueue_many

#: The flow that carries stage transitions to cpm, and where the hub takes its messages.
EVT_STATUS = "EVT-STATUS"
ROUTE = Route(EVT_STATUS, f"/api/v1/flows/{EVT_STATUS}/messages", "statuses")
#: The PostgreSQL advisory-lock key of acknowledgement writes (events are 7).
_ACK_LOCK = 0x6465726D_0008
#: The longest detail kept from an acknowledgement.
DETAIL_MAX = 2000


class Delivery(StrEnum):
    """Where a transition's message to cpm stands."""

    #: In the outbox or under way: the hub has not acknowledged it.
    PENDING = "Pending"
    #: cpm applied it (or already had it).
    DELIVERED = "Delivered"
    #: cpm refused it, or could not be reached; a resubmit in the hub may still deliver it.
    FAILED = "Failed"


#: The message-id suffix of each state a stage moves to.
_TOKEN = {
    model.StageState.SCHEDULED: "SCHEDULED",
    model.StageState.IN_PROGRESS: "IN_PROGRESS",
    model.StageState.COMPLETED: "COMPLETED",
    model.StageState.CANCELED: "CANCELED",
}


def message_id(stage_id: str, state: model.StageState) -> str:
    return f"{stage_id}.{_TOKEN[state]}"


def for_cpm(move: model.StageMove) -> bool:
    """Whether cpm is told of the move: every one but a Planned stage's cancel."""
    return move.from_state is not model.StageState.PLANNED or (
        move.to_state is model.StageState.SCHEDULED
    )


def enqueue(
    conn: Connection,
    event: model.Event,
    stages: Sequence[model.Stage],
    moves: Sequence[model.StageMove],
    at: datetime,
) -> list[str]:
    """Write the EVT-STATUS message of each of the moves cpm is told of into the outbox,
    stamped ``at`` (the action's time); the message ids."""
    moves = [m for m in moves if for_cpm(m)]
    if not moves:
        return []
    by_id = {s.id: s for s in stages}
    codes = {by_id[m.stage_id].program for m in moves}
    external = {
        row.code: row.external_id
        for row in conn.execute(
            sa.select(held_programs.c.code, held_programs.c.external_id).where(
                held_programs.c.code.in_(codes)
            )
        )
    }
    rows: list[tuple[str, Any]] = []
    for m in moves:
        stage = by_id[m.stage_id]
        key = message_id(stage.id, m.to_state)
        rows.append(
            (
                key,
                {
                    "messageId": key,
                    "eventId": event.id,
                    "stageId": stage.id,
                    "stageSeq": stage.seq,
                    "programCode": stage.program,
                    "programExternalId": external.get(stage.program) or "",
                    "eventType": event.event_type.value,
                    "status": m.to_state.value,
                    "previousStatus": m.from_state.value,
                    "statusDateTime": m.due.isoformat(),
                    "startDateTime": stage.start.isoformat(),
                    "endDateTime": stage.end.isoformat(),
                    "cancelReason": (event.reason or "")
                    if m.to_state is model.StageState.CANCELED
                    else "",
                },
            )
        )
    enqueue_many(conn, outbox, EVT_STATUS, rows, FixedClock(at))
    return [key for key, _ in rows]


def failed_moves(conn: Connection, event_id: str) -> list[model.StageMove]:
    """The event's transitions cpm did not take (Failed), in the order they were due, set back
    to Pending: what a resend sends again."""
    t = stage_transitions.c
    rows = list(
        conn.execute(
            sa.select(stage_transitions).where(
                t.event_id == event_id, t.cpm_status == Delivery.FAILED.value
            )
        )
    )
    for r in rows:
        conn.execute(
            stage_transitions.update()
            .where(t.stage_id == r.stage_id, t.to_state == r.to_state)
            .values(cpm_status=Delivery.PENDING.value)
        )
    return model.in_order(
        model.StageMove(r.stage_id, r.event_id, model.StageState(r.from_state),
                        model.StageState(r.to_state), datetime.fromisoformat(r.due_at))
        for r in rows
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class AckAnswer:
    """The hub's acknowledgement of one message of an event flow: SUCCESS, or the code of why
    not, with cpm's id or reason."""

    message_id: str
    response_code: str
    value: str

    @property
    def ok(self) -> bool:
        return self.response_code == "SUCCESS"

    @property
    def detail(self) -> str:
        """What is kept of it: the value, after the code when it failed."""
        return self.value if self.ok else f"{self.response_code}: {self.value}"


def failure_line(row: Any, at: str, said: str, to_state: str | None = None) -> dict[str, Any]:
    """The audit row of a message cpm did not take: ``row`` names its event and stage."""
    return {"event_id": row.event_id, "stage_id": row.stage_id, "at": at, "actor": "hub",
            "action": model.Action.CPM_FAILED.value, "from_state": None, "to_state": to_state,
            "detail": said}  # fmt: skip


def record_acks(
    *, db: Database, clock: Clock, answers: Sequence[AckAnswer]
) -> list[tuple[str, str]]:
    """Keep cpm's answer on each transition: (messageId, outcome) each, outcome Delivered,
    Failed, Duplicate (delivered already: a later answer changes nothing) or Unknown.

    A failure is written to the event's audit trail too, where the operator sees it.
    """
    t = stage_transitions.c
    now = clock.now()
    at = stored_time(now)
    outcomes: list[tuple[str, str]] = []
    with db.begin() as conn:
        one_writer(conn, _ACK_LOCK)
        keys = {a.message_id for a in answers}
        held = {
            message_id(r.stage_id, model.StageState(r.to_state)): r
            for r in conn.execute(
                sa.select(t.stage_id, t.to_state, t.event_id, t.cpm_status).where(
                    t.stage_id.in_({k.rpartition(".")[0] for k in keys})
                )
            )
        }
        audit: list[dict[str, Any]] = []
        for answer in answers:
            row = held.get(answer.message_id)
            if row is None or row.cpm_status is None:
                outcomes.append((answer.message_id, "Unknown"))
                continue
            if row.cpm_status == Delivery.DELIVERED.value:
                outcomes.append((answer.message_id, "Duplicate"))
                continue
            status = Delivery.DELIVERED if answer.ok else Delivery.FAILED
            conn.execute(
                stage_transitions.update()
                .where(t.stage_id == row.stage_id, t.to_state == row.to_state)
                .values(cpm_status=status.value, cpm_detail=answer.detail[:DETAIL_MAX], cpm_at=at)
            )
            if not answer.ok:
                said = f"cpm did not take the stage's move to {row.to_state}: {answer.detail}"
                audit.append(failure_line(row, at, said, row.to_state))
            outcomes.append((answer.message_id, status.value))
        if audit:
            conn.execute(event_audit.insert(), audit)
    return outcomes


@dataclass(frozen=True, slots=True)
class Transition:
    """One transition of a stage and where its message to cpm stands; ``cpm`` None: not sent
    (cpm never heard of the stage)."""

    move: model.StageMove
    recorded_at: datetime
    cpm: Delivery | None
    cpm_detail: str
    cpm_at: datetime | None


def transitions(*, db: Database, event_id: str) -> list[Transition]:
    """Every transition of the event's stages, in the order they were due (at one instant,
    ends first, then by stage number), each with where its message to cpm stands."""
    t = stage_transitions.c
    with db.read() as conn:
        rows = list(
            conn.execute(
                sa.select(stage_transitions, stages.c.seq)
                .join(stages, stages.c.id == t.stage_id)
                .where(t.event_id == event_id)
            )
        )
    found = [
        (
            r.seq,
            Transition(
                model.StageMove(
                    r.stage_id,
                    r.event_id,
                    model.StageState(r.from_state),
                    model.StageState(r.to_state),
                    datetime.fromisoformat(r.due_at),
                ),
                datetime.fromisoformat(r.recorded_at),
                Delivery(r.cpm_status) if r.cpm_status else None,
                r.cpm_detail or "",
                datetime.fromisoformat(r.cpm_at) if r.cpm_at else None,
            ),
        )
        for r in rows
    ]
    found.sort(key=lambda f: (*model.due_key(f[1].move)[:2], f[0]))
    return [f for _, f in found]
