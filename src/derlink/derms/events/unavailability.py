"""Customer unavailability from DERMS's side (UNAVAIL, docs/contracts/unavailability.md).

A customer says a device is unavailable from one time to another (added, edited or canceled in
cpm, each change a new version of the period); the hub delivers the periods here in
collections. For each record DERMS answers ``Stale`` for a version not newer than the one it
holds (a redelivery: no second effect), ``Rejected`` for a period that ends before it starts,
and otherwise keeps it:

- an **Active** period releases every Reserved reservation of the device, in a Scheduled stage,
  whose window it overlaps: ``Released`` for ``UNAVAILABLE``, outcome ``D1CN``; the stage is
  then reviewed against its target and backfilled like after an opt-out (review.py);
- stage generation and the reviews' backfills leave the device out of a stage an Active period
  overlaps from the program's minimum rest before the stage to its end (planning.py);
- a **Canceled** period (or one edited to a later window) releases nothing more and gives back
  nothing already released: a stage's devices are not taken back once another may stand in.

The audit trail of each event says, per stage, how many reservations an unavailability
released.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.common.clock import Clock
from derlink.derms.db import one_writer, stored_time
from derlink.derms.events import model, service
from derlink.derms.events.reservations import ReleaseReason, ReservationState, released
from derlink.derms.events.review import mark_due
from derlink.derms.events.tables import reservations, stages, unavailabilities
from derlink.derms.masterdata.model import Outcome, Rejection, Result, judge
from derlink.derms.masterdata.service import upsert
from derlink.platform.database import Database

#: The PostgreSQL advisory-lock key of unavailability: one batch at a time decides on versions.
_UNAVAILABILITY_LOCK = 0x6465726D_000B

#: A period that does not hold together (its end not after its start).
UNAVAILABILITY_INVALID = "DERMS-UNAVAILABILITY-INVALID"


class Status(StrEnum):
    ACTIVE = "ACTIVE"
    CANCELED = "CANCELED"


@dataclass(frozen=True, slots=True)
class Unavailability:
    """An UNAVAIL record: one version of a device's unavailability period."""

    dacs_message_id: str
    unavailability_id: str
    head_end_system: str
    nic_id: str
    start: datetime
    end: datetime
    status: Status
    reason: str
    version: int


def apply_unavailabilities(
    *, db: Database, clock: Clock, records: Sequence[Unavailability]
) -> list[Result]:
    """Keep each newer version of a period and release the reservations an Active one
    overlaps; one result per record, in order."""
    now = clock.now()
    at = stored_time(now)
    results: list[Result] = []
    counts: Counter[tuple[str, str]] = Counter()
    u = unavailabilities.c
    with db.begin() as conn:
        one_writer(conn, _UNAVAILABILITY_LOCK)
        for record in records:
            held = conn.execute(
                sa.select(u.version).where(u.unavailability_id == record.unavailability_id)
            ).scalar()
            result = judge(
                record.unavailability_id, record.version, held=held, problem=_problem(record)
            )
            results.append(result)
            if result.outcome is not Outcome.APPLIED:
                continue
            freed = _release(conn, record, now) if record.status is Status.ACTIVE else []
            counts.update(freed)
            values = {
                "unavailability_id": record.unavailability_id,
                "version": record.version,
                "message_id": record.dacs_message_id,
                "head_end_system": record.head_end_system,
                "nic_id": record.nic_id,
                "start_at": stored_time(record.start),
                "end_at": stored_time(record.end),
                "status": record.status.value,
                "reason": record.reason,
                "received_at": at,
                "released": len(freed),
            }
            upsert(conn, unavailabilities, values, known=held is not None,
                   key="unavailability_id")  # fmt: skip
        mark_due(conn, (stage_id for _, stage_id in counts), at)
        service.write_audit(
            conn,
            [
                model.Audit(event_id, now, model.SYSTEM, model.Action.UNAVAILABLE, None, None,
                            f"{count} device(s) unavailable (customer unavailability): their "
                            "reservations released, outcome D1CN", stage_id=stage_id)
                for (event_id, stage_id), count in sorted(counts.items())
            ],
        )  # fmt: skip
    return results


def _problem(record: Unavailability) -> Rejection | None:
    if record.end <= record.start:
        return Rejection(
            UNAVAILABILITY_INVALID,
            f"end {record.end.isoformat()} is not after start {record.start.isoformat()}",
        )
    return None


def _release(conn: Connection, record: Unavailability, now: datetime) -> list[tuple[str, str]]:
    """Release the device's Reserved reservations of Scheduled stages the period overlaps;
    their (event, stage) pairs."""
    r = reservations.c
    overlapping = (
        (r.head_end_system == record.head_end_system)
        & (r.nic_id == record.nic_id)
        & (r.state == ReservationState.RESERVED.value)
        & (r.start_at < stored_time(record.end))
        & (r.end_at > stored_time(record.start))
        & r.stage_id.in_(
            sa.select(stages.c.id).where(stages.c.state == model.StageState.SCHEDULED.value)
        )
    )
    found = [(str(e), str(s)) for e, s in conn.execute(
        sa.select(r.event_id, r.stage_id).where(overlapping)
    )]  # fmt: skip
    if found:
        conn.execute(
            reservations.update()
            .where(overlapping)
            .values(released(ReleaseReason.UNAVAILABLE, now))
        )
    return found


@dataclass(frozen=True, slots=True)
class UnavailabilityView:
    unavailability_id: str
    version: int
    head_end_system: str
    nic_id: str
    start: datetime
    end: datetime
    status: Status
    reason: str
    received_at: datetime
    released: int


def list_unavailabilities(
    *, db: Database, nic_id: str | None = None, head_end_system: str | None = None,
    limit: int = 100,
) -> list[UnavailabilityView]:  # fmt: skip
    """The periods DERMS holds, the latest start first; of one device when named."""
    u = unavailabilities.c
    query = sa.select(unavailabilities).order_by(u.start_at.desc(), u.unavailability_id)
    if nic_id:
        query = query.where(u.nic_id == nic_id)
    if head_end_system:
        query = query.where(u.head_end_system == head_end_system)
    with db.read() as conn:
        return [
            UnavailabilityView(
                r.unavailability_id, r.version, r.head_end_system, r.nic_id,
                datetime.fromisoformat(r.start_at), datetime.fromisoformat(r.end_at),
                Status(r.status), r.reason, datetime.fromisoformat(r.received_at), r.released,
            )
            for r in conn.execute(query.limit(limit))
        ]  # fmt: skip
