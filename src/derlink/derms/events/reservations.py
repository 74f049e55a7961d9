"""Reservations and EVT-RESERVE from DERMS's side (docs/contracts/event-reservations.md).

When a stage is Scheduled, DERMS reserves its planned devices, in the same transaction: each
device of the stage's plan that holds no live reservation (Reserved or Dispatched) overlapping
the stage's window gets one; a device another event holds is left out and the audit says how
many. When a stage is Canceled its live reservations are Released (``STAGE_CANCELED``).

Each stage's reserved devices travel as a file (the stage's first is seq 0), recorded Pending
with its reservations; the file writer (a loop of the part) writes it to the content server,
page by page, and then — in one transaction — marks it Sent and puts the EVT-RESERVE message
in the outbox. A crash between the two writes
the same file again: the name is the stage's and the seq's, the content the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.common.clock import Clock, FixedClock
from derlink.contracts.event_files import RESERVATION_HEADER, reservation_file_name
from derlink.derms.db import one_writer, outbox, stored_time
from derlink.derms.events import model
from derlink.derms.events.status import AckAnswer, failure_line
from derlink.derms.events.tables import (
    event_audit,
    events,
    reservation_files,
    reservations,
    stage_devices,
    stages,
)
from derlink.derms.masterdata.tables import programs as held_programs
from derlink.platform.database import Database
from derlink.platform.files import FileStore
from derlink.platform.intake.records import csv_text
from derlink.platform.outbox import Route, enqueue

#: The flow that carries reservation files to cpm; one file per hub instance.
EVT_RESERVE = "EVT-RESERVE"
ROUTE = Route(EVT_RESERVE, f"/api/v1/flows/{EVT_RESERVE}/messages", "reservations", batch_size=1)
#: Rows read per page while a file is written.
PAGE = 20_000
#: The PostgreSQL advisory-lock key of the file writer and of reservation acknowledgements.
_FILES_LOCK = 0x6465726D_0009
#: The longest detail kept from an acknowledgement.
DETAIL_MAX = 4000


class ReservationState(StrEnum):
    RESERVED = "Reserved"
    DISPATCHED = "Dispatched"
    CLOSED = "Closed"
    RELEASED = "Released"


#: The states in which a reservation holds its device.
LIVE = (ReservationState.RESERVED.value, ReservationState.DISPATCHED.value)


class ReleaseReason(StrEnum):
    OPT_OUT = "OPT_OUT"
    UNAVAILABLE = "UNAVAILABLE"
    STAGE_CANCELED = "STAGE_CANCELED"
    REPLACED = "REPLACED"


class Outcome(StrEnum):
    """A device's outcome of a stage (EVT-OUTCOME)."""

    SUCCESSFUL = "D1SP"
    NON_RESPONSIVE = "D1ND"
    IN_FLIGHT_OVERRIDE = "D1IO"
    ERROR = "D1ER"
    CANCELLED = "D1CN"


#: The releases whose device's outcome is known at once: D1CN (the stage was canceled, or the
#: customer is unavailable). An opt-out's is not: cpm holds the participation OptedOut.
CANCELLED_BY = frozenset({ReleaseReason.STAGE_CANCELED, ReleaseReason.UNAVAILABLE})


#: Where an outcome DERMS decided itself came from (a release's D1CN, a closing's D1ND).
DERMS_SOURCE = "DERMS"


class FileState(StrEnum):
    #: Recorded with its reservations; not written yet.
    PENDING = "Pending"
    #: Written to the content server; its EVT-RESERVE message in the outbox or under way.
    SENT = "Sent"
    ACKNOWLEDGED = "Acknowledged"
    FAILED = "Failed"


def reserve(
    conn: Connection,
    stage: model.Stage,
    at: datetime,
    *,
    action: model.Action = model.Action.RESERVE,
    actor: str = model.SYSTEM,
) -> model.Audit:
    """Reserve the planned devices of a Scheduled stage that hold no reservation of it yet: all
    of them when it was just Scheduled (its first file, seq 0), the devices a backfill added
    later (the next seq, recordIds going on from the stage's last). The audit line that says
    how many, and how many another event holds."""
    r = reservations.c
    d = stage_devices.c
    start, end = stored_time(stage.start), stored_time(stage.end)
    now = stored_time(at)
    found = conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.max(r.file_seq) + 1, 0),
            sa.func.coalesce(sa.func.max(r.record_id), 0),
        ).where(r.stage_id == stage.id)
    ).one()
    seq, last = int(found[0]), int(found[1])
    held = (
        sa.select(r.nic_id)
        .where(
            r.nic_id == d.nic_id,
            r.head_end_system == d.head_end_system,
            r.state.in_(LIVE),
            r.start_at < end,
            r.end_at > start,
        )
        .exists()
    )
    mine = (
        sa.select(r.nic_id)
        .where(r.stage_id == stage.id, r.nic_id == d.nic_id, r.head_end_system == d.head_end_system)
        .exists()
    )
    planned = conn.execute(
        sa.select(sa.func.count()).select_from(stage_devices).where(d.stage_id == stage.id, ~mine)
    ).scalar_one()
    rows = sa.select(
        sa.literal(stage.id),
        d.head_end_system,
        d.nic_id,
        d.event_id,
        d.device_id,
        d.sp_id,
        d.feeder_id,
        d.program,
        sa.literal(start),
        sa.literal(end),
        sa.literal(ReservationState.RESERVED.value),
        sa.literal(seq),
        sa.literal(last) + sa.func.row_number().over(order_by=(d.head_end_system, d.nic_id)),
        sa.literal(now),
        sa.literal(now),
    ).where(d.stage_id == stage.id, ~held, ~mine)
    columns = ["stage_id", "head_end_system", "nic_id", "event_id", "device_id", "sp_id",
               "feeder_id", "program", "start_at", "end_at", "state", "file_seq", "record_id",
               "created_at", "updated_at"]  # fmt: skip
    conn.execute(reservations.insert().from_select(columns, rows))
    reserved = conn.execute(
        sa.select(sa.func.count())
        .select_from(reservations)
        .where(r.stage_id == stage.id, r.file_seq == seq)
    ).scalar_one()
    if reserved:
        conn.execute(
            reservation_files.insert().values(
                stage_id=stage.id,
                seq=seq,
                event_id=stage.event_id,
                file_name=reservation_file_name(stage.event_id, stage.id, seq),
                rows=reserved,
                state=FileState.PENDING.value,
                detail="",
                created_at=now,
            )
        )
    detail = f"{reserved} device(s) reserved"
    if seq:
        detail += f" (delta file seq {seq})" if reserved else ""
    if planned > reserved:
        detail += f"; {planned - reserved} held by another event at that time, left out"
    return model.Audit(stage.event_id, at, actor, action, None, None, detail, stage_id=stage.id)


def release(conn: Connection, stage_ids: Sequence[str], reason: ReleaseReason, at: datetime) -> int:
    """Release the live reservations of the stages; how many."""
    if not stage_ids:
        return 0
    r = reservations.c
    done = conn.execute(
        reservations.update()
        .where(r.stage_id.in_(list(stage_ids)), r.state.in_(LIVE))
        .values(released(reason, at))
    )
    return int(done.rowcount or 0)


def released(reason: ReleaseReason, at: datetime) -> dict[str, Any]:
    """A live reservation's columns once released for ``reason`` at ``at``."""
    cancelled = reason in CANCELLED_BY
    return {
        "state": ReservationState.RELEASED.value,
        "reason": reason.value,
        "outcome": Outcome.CANCELLED.value if cancelled else None,
        "outcome_at": stored_time(at) if cancelled else None,
        "outcome_source": DERMS_SOURCE if cancelled else None,
        "updated_at": stored_time(at),
    }


@dataclass(frozen=True, slots=True)
class Written:
    stage_id: str
    seq: int
    file_name: str
    rows: int


async def write_files(*, db: Database, clock: Clock, store: FileStore) -> list[Written]:
    """Write every Pending reservation file to the content server and send it (EVT-RESERVE);
    what was written. Run by the part's file writer; one writer at a time."""
    f = reservation_files.c
    with db.read() as conn:
        pending = list(
            conn.execute(
                sa.select(f.stage_id, f.seq, f.event_id, f.file_name, f.rows)
                .where(f.state == FileState.PENDING.value)
                .order_by(f.created_at, f.stage_id, f.seq)
            )
        )
    done: list[Written] = []
    for row in pending:
        size = await store.write(row.file_name, _file_text(db, row.stage_id, row.seq))
        sent = await asyncio.to_thread(_send, db, clock, row.stage_id, row.seq, size)
        if sent:
            done.append(Written(row.stage_id, row.seq, row.file_name, row.rows))
    return done


async def _file_text(db: Database, stage_id: str, seq: int) -> AsyncIterator[bytes]:
    yield csv_text([], header=RESERVATION_HEADER).encode()
    r = reservations.c
    after = 0
    while True:

        def read(after: int = after) -> list[Any]:
            with db.read() as conn:
                return list(
                    conn.execute(
                        sa.select(r.record_id, r.nic_id, r.head_end_system, r.start_at, r.end_at)
                        .where(r.stage_id == stage_id, r.file_seq == seq, r.record_id > after)
                        .order_by(r.record_id)
                        .limit(PAGE)
                    )
                )

        rows = await asyncio.to_thread(read)
        if not rows:
            return
        after = rows[-1][0]
        yield (await asyncio.to_thread(csv_text, [tuple(x) for x in rows])).encode()


def _send(db: Database, clock: Clock, stage_id: str, seq: int, size: int) -> bool:
    """Mark the written file Sent and put its EVT-RESERVE message in the outbox, at once; False
    when another writer did it first."""
    f = reservation_files.c
    now = clock.now()
    with db.begin() as conn:
        one_writer(conn, _FILES_LOCK)
        row = conn.execute(
            sa.select(reservation_files).where(f.stage_id == stage_id, f.seq == seq)
        ).one()
        if row.state != FileState.PENDING.value:
            return False
        stage = conn.execute(sa.select(stages).where(stages.c.id == stage_id)).one()
        event = conn.execute(sa.select(events).where(events.c.id == row.event_id)).one()
        external = conn.execute(
            sa.select(held_programs.c.external_id).where(held_programs.c.code == stage.program)
        ).scalar()
        key = message_id(stage_id, seq)
        enqueue(
            conn,
            outbox,
            flow=EVT_RESERVE,
            key=key,
            payload={
                "messageId": key,
                "eventId": row.event_id,
                "stageId": stage_id,
                "seq": seq,
                "programCode": stage.program,
                "programExternalId": external or "",
                "eventType": event.event_type,
                "eventStartDateTime": datetime.fromisoformat(stage.start_at).isoformat(),
                "eventEndDateTime": datetime.fromisoformat(stage.end_at).isoformat(),
                "fileName": row.file_name,
                "rows": row.rows,
                "size": size,
            },
            clock=FixedClock(now),
        )
        conn.execute(
            reservation_files.update()
            .where(f.stage_id == stage_id, f.seq == seq)
            .values(state=FileState.SENT.value, sent_at=stored_time(now))
        )
    return True


def message_id(stage_id: str, seq: int) -> str:
    return f"{stage_id}.R{seq:03d}"


def record_acks(
    *, db: Database, clock: Clock, answers: Sequence[AckAnswer]
) -> list[tuple[str, str]]:
    """Keep cpm's answer on each reservation file: (messageId, outcome) each, outcome
    Acknowledged, Failed, Duplicate (acknowledged already) or Unknown. A file cpm did not take
    whole goes into the event's audit trail."""
    f = reservation_files.c
    now = clock.now()
    at = stored_time(now)
    outcomes: list[tuple[str, str]] = []
    with db.begin() as conn:
        one_writer(conn, _FILES_LOCK)
        audit: list[dict[str, Any]] = []
        for answer in answers:
            stage_id, _, seq_text = answer.message_id.rpartition(".R")
            row = None
            if stage_id and seq_text.isdigit():
                row = conn.execute(
                    sa.select(reservation_files).where(
                        f.stage_id == stage_id, f.seq == int(seq_text)
                    )
                ).first()
            if row is None or row.state == FileState.PENDING.value:
                outcomes.append((answer.message_id, "Unknown"))
                continue
            if row.state == FileState.ACKNOWLEDGED.value:
                outcomes.append((answer.message_id, "Duplicate"))
                continue
            state = FileState.ACKNOWLEDGED if answer.ok else FileState.FAILED
            conn.execute(
                reservation_files.update()
                .where(f.stage_id == row.stage_id, f.seq == row.seq)
                .values(state=state.value, detail=answer.detail[:DETAIL_MAX], acked_at=at)
            )
            if not answer.ok:
                said = f"cpm did not take reservation file {row.file_name} whole: {answer.detail}"
                audit.append(failure_line(row, at, said))
            outcomes.append((answer.message_id, state.value))
        if audit:
            conn.execute(event_audit.insert(), audit)
    return outcomes


@dataclass(frozen=True, slots=True)
class FileView:
    stage_id: str
    seq: int
    file_name: str
    rows: int
    state: FileState
    detail: str
    created_at: datetime
    sent_at: datetime | None
    acked_at: datetime | None


def files_of(*, db: Database, event_id: str) -> list[FileView]:
    """The event's reservation files, by stage number and seq."""
    f = reservation_files.c
    with db.read() as conn:
        rows = conn.execute(
            sa.select(reservation_files)
            .join(stages, stages.c.id == f.stage_id)
            .where(f.event_id == event_id)
            .order_by(stages.c.seq, f.seq)
        )
        return [
            FileView(
                r.stage_id,
                r.seq,
                r.file_name,
                r.rows,
                FileState(r.state),
                r.detail,
                datetime.fromisoformat(r.created_at),
                datetime.fromisoformat(r.sent_at) if r.sent_at else None,
                datetime.fromisoformat(r.acked_at) if r.acked_at else None,
            )
            for r in rows
        ]
