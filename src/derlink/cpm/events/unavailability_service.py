"""Customer unavailability's services (docs/contracts/unavailability.md, "cpm"): a customer, or
an agent for them, adds, edits or cancels a device's unavailability period; cpm tells DERMS
every version through the hub (UNAVAIL), sends one again on demand, and keeps DERMS's answers.

Each change writes the period and its UNAVAIL message to the outbox in one transaction, the
period's next version once. An edit or a cancel locks the period's row first (PostgreSQL; SQLite
lets one writer in at a time), so two changes of one period at once are versions one after the
other: the second sees the first's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from derlink.common.clock import Clock, iso_z
from derlink.common.errors import NotFound
from derlink.common.ids import new_id
from derlink.cpm.catalog.model import DermsSync
from derlink.cpm.catalog.service import MasterDataAck, Versioned, record_answers
from derlink.cpm.db import outbox
from derlink.cpm.enrollment.tables import devices
from derlink.cpm.errors import CpmConflict
from derlink.cpm.events import unavailability as u
from derlink.cpm.events.model import utc_text
from derlink.cpm.events.participation import DEVICE_UNKNOWN
from derlink.cpm.events.tables import customer_unavailabilities
from derlink.platform.database import Database
from derlink.platform.outbox import enqueue

cu = customer_unavailabilities

#: What DERMS holds of each period (UNAVAIL).
UNAVAILABILITIES = Versioned(cu, cu.c.id, cu.c.version, "no unavailability {!r}")
#: The sync states in which a period is sent again: DERMS refused it, or has not answered.
RESENDABLE = frozenset({DermsSync.ERROR.value, DermsSync.PENDING.value})


@dataclass(frozen=True)
class UnavailabilityView:
    unavailability_id: str
    device_id: str
    head_end_system: str
    nic_id: str
    #: In UTC (``model.utc_text``).
    start: str
    end: str
    reason: str
    status: u.UnavailabilityStatus
    #: The version cpm sent last (UNAVAIL).
    version: int
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    #: The version DERMS acknowledged last (0: none yet).
    derms_version: int
    #: Pending, Synchronized or Error: every version is sent.
    derms_sync: DermsSync
    #: DERMS's (or the hub's) code and message when it refused the version; "" otherwise.
    derms_detail: str


@dataclass(frozen=True)
class EditDone:
    """What an edit did, and the period as it now is."""

    outcome: u.EditOutcome
    unavailability: UnavailabilityView


def add_unavailability(
    *, db: Database, clock: Clock, device_id: str, period: u.Period, actor: str
) -> UnavailabilityView:
    """Add a device's unavailability period as ``actor`` asked (unavailability.check_new_period):
    Active, version 1, its UNAVAIL message written to the outbox in the same transaction. 404
    CPM-DEVICE-UNKNOWN for no such device; 422 CPM-UNAVAILABILITY-INVALID."""
    now = clock.now()
    u.check_new_period(period, now=now)
    with db.begin() as conn:
        device = conn.execute(
            sa.select(devices.c.head_end_system, devices.c.nic_id).where(devices.c.id == device_id)
        ).first()
        if device is None:
            raise NotFound(f"no device {device_id!r}", code=DEVICE_UNKNOWN)
        at = utc_text(now)
        unavailability_id = new_id("CU-")
        conn.execute(
            cu.insert().values(
                id=unavailability_id,
                device_id=device_id,
                head_end_system=device.head_end_system,
                nic_id=device.nic_id,
                start_at=utc_text(period.start),
                end_at=utc_text(period.end),
                reason=period.reason,
                status=u.UnavailabilityStatus.ACTIVE.value,
                version=0,
                created_at=at,
                created_by=actor,
                updated_at=at,
                updated_by=actor,
            )
        )
        return _send(conn, clock, unavailability_id)


def edit_unavailability(
    *, db: Database, clock: Clock, unavailability_id: str, change: u.PeriodChange, actor: str
) -> EditDone:
    """Edit an Active period (unavailability.decide_edit): ``Changed``, its next version and
    message written in one transaction; ``Unchanged`` for an edit that names what it holds
    already (no version, no message). 404 CPM-UNAVAILABILITY-UNKNOWN; 409
    CPM-UNAVAILABILITY-STATE for a Canceled one; 422 CPM-UNAVAILABILITY-INVALID."""
    with db.begin() as conn:
        row = _locked(conn, unavailability_id)
        held = u.Period(
            datetime.fromisoformat(row.start_at), datetime.fromisoformat(row.end_at), row.reason
        )
        outcome, edited = u.decide_edit(
            unavailability_id, u.UnavailabilityStatus(row.status), held, change
        )
        if outcome is u.EditOutcome.UNCHANGED:
            return EditDone(outcome, view(row))
        _change(conn, clock, unavailability_id, actor, start_at=utc_text(edited.start),
                end_at=utc_text(edited.end), reason=edited.reason)  # fmt: skip
        return EditDone(outcome, _send(conn, clock, unavailability_id))


def cancel_unavailability(
    *, db: Database, clock: Clock, unavailability_id: str, actor: str
) -> UnavailabilityView:
    """Cancel an Active period: Canceled, its next version and message written in one
    transaction. 404 CPM-UNAVAILABILITY-UNKNOWN; 409 CPM-UNAVAILABILITY-STATE for one Canceled
    already."""
    with db.begin() as conn:
        row = _locked(conn, unavailability_id)
        u.decide_cancel(unavailability_id, u.UnavailabilityStatus(row.status))
        _change(conn, clock, unavailability_id, actor,
                status=u.UnavailabilityStatus.CANCELED.value)  # fmt: skip
        return _send(conn, clock, unavailability_id)


def resend_unavailability(
    *, db: Database, clock: Clock, unavailability_id: str
) -> UnavailabilityView:
    """Send a period to DERMS again, as the next version (the period unchanged, Active or
    Canceled): after a refusal whose cause is fixed elsewhere, or a message DERMS never
    answered. 409 CPM-UNAVAILABILITY-STATE unless its DERMS sync is Error or Pending."""
    with db.begin() as conn:
        row = _locked(conn, unavailability_id)
        if row.derms_sync not in RESENDABLE:
            raise CpmConflict(
                f"unavailability {unavailability_id} is {row.derms_sync} at DERMS (version "
                f"{row.derms_version}): only a period DERMS refused (Error) or has not answered "
                "(Pending) is sent again",
                code=u.UNAVAILABILITY_STATE,
                unavailabilityStatus=row.status,
            )
        return _send(conn, clock, unavailability_id)


def acknowledge(*, db: Database, acks: Sequence[MasterDataAck]) -> list[dict[str, Any]]:
    """Record DERMS's answers to periods, one result each, in order, as opt-outs' are
    (catalog.service.record_answer): ``Applied``; ``Stale`` for a version older than the one
    cpm sent last (a success only raises the version DERMS is known to hold); ``Rejected`` for
    a period cpm does not hold."""
    return record_answers(db=db, kept=UNAVAILABILITIES, acks=acks)


# -- reads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnavailabilityFilter:
    """What a list of periods is narrowed by; "" or None: any."""

    device_id: str = ""
    nic_id: str = ""
    status: u.UnavailabilityStatus | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        return [
            column == wanted
            for column, wanted in (
                (cu.c.device_id, self.device_id),
                (cu.c.nic_id, self.nic_id),
                (cu.c.status, self.status.value if self.status else ""),
            )
            if wanted
        ]


@dataclass(frozen=True)
class Page:
    items: list[UnavailabilityView]
    #: Pass as ``after`` to read the next page (the last item's id); None on the last page.
    next: str | None


def get_unavailability(*, db: Database, unavailability_id: str) -> UnavailabilityView:
    """One period; 404 CPM-UNAVAILABILITY-UNKNOWN."""
    with db.read() as conn:
        return view(
            _found(conn, sa.select(cu).where(cu.c.id == unavailability_id), unavailability_id)
        )


def list_unavailabilities(
    *,
    db: Database,
    narrowed: UnavailabilityFilter,
    after: str | None = None,
    limit: int = 100,
) -> Page:
    """A page of periods, the latest start first, after the period ``after`` names (an id that
    names none reads nothing)."""
    order = (cu.c.start_at, cu.c.id)
    query = sa.select(cu).where(*narrowed.conditions())
    with db.read() as conn:
        if after:
            last = conn.execute(sa.select(*order).where(cu.c.id == after)).first()
            if last is None:
                return Page([], None)
            query = query.where(sa.tuple_(*order) < sa.tuple_(*last))
        rows = conn.execute(query.order_by(*(c.desc() for c in order)).limit(limit + 1)).all()
    items = [view(r) for r in rows[:limit]]
    return Page(items, items[-1].unavailability_id if len(rows) > limit else None)


def view(row: Row[Any]) -> UnavailabilityView:
    return UnavailabilityView(
        unavailability_id=row.id,
        device_id=row.device_id,
        head_end_system=row.head_end_system,
        nic_id=row.nic_id,
        start=row.start_at,
        end=row.end_at,
        reason=row.reason,
        status=u.UnavailabilityStatus(row.status),
        version=row.version,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        derms_version=row.derms_version,
        derms_sync=DermsSync(row.derms_sync),
        derms_detail=row.derms_detail,
    )


# -- writes ---------------------------------------------------------------------------------


def _found(conn: Connection, query: sa.Select[Any], unavailability_id: str) -> Row[Any]:
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no unavailability {unavailability_id!r}", code=u.UNAVAILABILITY_UNKNOWN)
    return row


def _locked(conn: Connection, unavailability_id: str) -> Row[Any]:
    """The period's row, locked for the transaction; 404 when there is none."""
    query = sa.select(cu).where(cu.c.id == unavailability_id).with_for_update()
    return _found(conn, query, unavailability_id)


def _change(
    conn: Connection, clock: Clock, unavailability_id: str, actor: str, **values: str
) -> None:
    conn.execute(
        cu.update()
        .where(cu.c.id == unavailability_id)
        .values(updated_at=utc_text(clock.now()), updated_by=actor, **values)
    )


def _send(conn: Connection, clock: Clock, unavailability_id: str) -> UnavailabilityView:
    """The period as its next version, written to the outbox for UNAVAIL in the caller's
    transaction (docs/contracts/unavailability.md); DERMS's sync Pending. The period as it now
    is."""
    conn.execute(
        cu.update()
        .where(cu.c.id == unavailability_id)
        .values(version=cu.c.version + 1, derms_sync=DermsSync.PENDING.value, derms_detail="")
    )
    row = conn.execute(sa.select(cu).where(cu.c.id == unavailability_id)).one()
    message_id = new_id("UAM-")
    payload = {
        "dacsMessageId": message_id,
        "unavailabilityId": row.id,
        "headEndSystem": row.head_end_system,
        "nicId": row.nic_id,
        "start": iso_z(datetime.fromisoformat(row.start_at)),
        "end": iso_z(datetime.fromisoformat(row.end_at)),
        "status": u.UnavailabilityStatus(row.status).wire,
        "reason": row.reason,
        "version": row.version,
    }
    enqueue(conn, outbox, flow=u.UNAVAIL, key=message_id, payload=payload, clock=clock)
    return view(row)
