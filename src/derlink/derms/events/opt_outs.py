"""Opt-outs from DERMS's side (OPT-OUT, docs/contracts/opt-outs.md).

A customer, or a customer-service agent, opts a device out of a stage in cpm before the
program's cut-off; cpm sends the opt-out, keyed by its event participation and stamped with a
version, and the hub delivers it here in collections. For each record DERMS:

- answers ``Stale`` for a version not newer than the one it holds (a redelivery: no second
  effect), ``Rejected`` for a stage it does not hold, of another event, or that holds no
  reservation of the device;
- otherwise keeps the opt-out, releases the device's live reservation of the stage
  (``OPT_OUT``) and, when the stage is still Scheduled, marks it for review: the stage loop
  checks it against its target and backfills it (review.py).

The audit trail of each event says, per stage, how many opt-outs released a reservation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.common.clock import Clock
from derlink.derms.db import one_writer, stored_time
from derlink.derms.events import model, service
from derlink.derms.events.reservations import LIVE, ReleaseReason, ReservationState, released
from derlink.derms.events.review import mark_due
from derlink.derms.events.tables import opt_outs, reservations, stages
from derlink.derms.masterdata.model import Outcome, Rejection, Result, judge
from derlink.derms.masterdata.service import upsert
from derlink.platform.database import Database

#: The PostgreSQL advisory-lock key of opt-outs: one batch at a time decides on versions.
_OPT_OUT_LOCK = 0x6465726D_000A

#: A stage DERMS does not hold, or one of another event than the record names.
STAGE_UNKNOWN = "DERMS-STAGE-UNKNOWN"
#: The stage holds no reservation of the device.
RESERVATION_UNKNOWN = "DERMS-RESERVATION-UNKNOWN"


@dataclass(frozen=True, slots=True)
class OptOut:
    """An OPT-OUT record: a device opted out of a stage (cpm's program event)."""

    dacs_message_id: str
    participation_id: str
    event_id: str
    stage_id: str
    head_end_system: str
    nic_id: str
    opted_out_at: datetime
    channel: str
    version: int


def apply_opt_outs(*, db: Database, clock: Clock, records: Sequence[OptOut]) -> list[Result]:
    """Keep each newer opt-out and release its reservation; one result per record, in order
    (a participation named twice in a batch: its later versions are judged after the
    earlier)."""
    now = clock.now()
    at = stored_time(now)
    results: list[Result] = []
    released: Counter[tuple[str, str]] = Counter()
    with db.begin() as conn:
        one_writer(conn, _OPT_OUT_LOCK)
        for record in records:
            held = conn.execute(
                sa.select(opt_outs.c.version).where(
                    opt_outs.c.participation_id == record.participation_id
                )
            ).scalar()
            stage = conn.execute(
                sa.select(stages.c.event_id, stages.c.state).where(stages.c.id == record.stage_id)
            ).first()
            reservation = _reservation_state(conn, record) if stage is not None else None
            result = judge(
                record.participation_id,
                record.version,
                held=held,
                problem=_problem(record, stage, reservation),
            )
            results.append(result)
            if result.outcome is not Outcome.APPLIED:
                continue
            assert stage is not None and reservation is not None
            effect = reservation
            if reservation in LIVE:
                _release(conn, record, now)
                effect = ReservationState.RELEASED.value
                released[(record.event_id, record.stage_id)] += 1
            _keep(conn, record, effect, at, new=held is None)
        mark_due(conn, (stage_id for _, stage_id in released), at)
        service.write_audit(
            conn,
            [
                model.Audit(event_id, now, model.SYSTEM, model.Action.OPT_OUT, None, None,
                            f"{count} device(s) opted out in cpm: their reservations released",
                            stage_id=stage_id)
                for (event_id, stage_id), count in sorted(released.items())
            ],
        )  # fmt: skip
    return results


def _reservation_state(conn: Connection, record: OptOut) -> str | None:
    r = reservations.c
    found: str | None = conn.execute(
        sa.select(r.state).where(
            r.stage_id == record.stage_id,
            r.head_end_system == record.head_end_system,
            r.nic_id == record.nic_id,
        )
    ).scalar()
    return found


def _problem(record: OptOut, stage: Any, reservation: str | None) -> Rejection | None:
    """Why a record cannot be applied (its stage's row and its reservation's state given)."""
    if stage is None:
        return Rejection(STAGE_UNKNOWN, f"derms holds no stage {record.stage_id}")
    if stage.event_id != record.event_id:
        return Rejection(
            STAGE_UNKNOWN,
            f"stage {record.stage_id} belongs to event {stage.event_id}, not {record.event_id}",
        )
    if reservation is None:
        return Rejection(
            RESERVATION_UNKNOWN,
            f"stage {record.stage_id} holds no reservation of device {record.nic_id} of the "
            f"head-end system {record.head_end_system}",
        )
    return None


def _release(conn: Connection, record: OptOut, now: datetime) -> None:
    r = reservations.c
    conn.execute(
        reservations.update()
        .where(
            r.stage_id == record.stage_id,
            r.head_end_system == record.head_end_system,
            r.nic_id == record.nic_id,
            r.state.in_(LIVE),
        )
        .values(released(ReleaseReason.OPT_OUT, now))
    )


def _keep(conn: Connection, record: OptOut, effect: str, at: str, *, new: bool) -> None:
    row = {
        "participation_id": record.participation_id,
        "version": record.version,
        "message_id": record.dacs_message_id,
        "event_id": record.event_id,
        "stage_id": record.stage_id,
        "head_end_system": record.head_end_system,
        "nic_id": record.nic_id,
        "channel": record.channel,
        "opted_out_at": stored_time(record.opted_out_at),
        "received_at": at,
        "effect": effect,
    }
    upsert(conn, opt_outs, row, known=not new, key="participation_id")


@dataclass(frozen=True, slots=True)
class OptOutView:
    participation_id: str
    version: int
    stage_id: str
    head_end_system: str
    nic_id: str
    channel: str
    opted_out_at: datetime
    received_at: datetime
    effect: str


def opt_outs_of(*, db: Database, event_id: str) -> list[OptOutView]:
    """The event's opt-outs, by stage and device."""
    o = opt_outs.c
    with db.read() as conn:
        rows = conn.execute(
            sa.select(opt_outs)
            .where(o.event_id == event_id)
            .order_by(o.stage_id, o.head_end_system, o.nic_id)
        )
        return [
            OptOutView(
                r.participation_id,
                r.version,
                r.stage_id,
                r.head_end_system,
                r.nic_id,
                r.channel,
                datetime.fromisoformat(r.opted_out_at),
                datetime.fromisoformat(r.received_at),
                r.effect,
            )
            for r in rows
        ]
