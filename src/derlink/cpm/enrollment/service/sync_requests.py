"""Sync requests after they are created: the hub's acceptance, acknowledgements, discard, reads.

States and rules are model.py's (contract "Sync request states"); every transition writes a
history row. Acknowledgements come in collections of up to 500 on the hot path, so they are
applied set-based: one read, then one executemany per kind of change, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from derlink.common.clock import Clock
from derlink.common.errors import NotFound
from derlink.cpm.db import outbox
from derlink.cpm.enrollment import model as m
from derlink.cpm.enrollment.tables import (
    devices,
    subscription_devices,
    subscriptions,
    sync_request_history,
    sync_requests,
)
from derlink.platform.database import Database

#: The actor of the transitions cpm makes by itself (the hub accepted a message).
SYSTEM_ACTOR = "cpm"

_ACKED = (
    sa.select(
        sync_requests.c.id,
        sync_requests.c.state,
        sync_requests.c.sync_type,
        sync_requests.c.subscription_id,
        subscriptions.c.status.label("subscription_status"),
    )
    .select_from(
        sync_requests.join(subscriptions, subscriptions.c.id == sync_requests.c.subscription_id)
    )
    .where(sync_requests.c.id.in_(sa.bindparam("ids", expanding=True)))
    .with_for_update()
)
_TRANSITION = (
    sync_requests.update()
    .where(sync_requests.c.id == sa.bindparam("b_id"))
    .values(
        state=sa.bindparam("b_state"),
        error_info=sa.bindparam("b_error"),
        updated_at=sa.bindparam("b_at"),
        acknowledged_at=sa.bindparam("b_at"),
    )
)
# The devices each subscription holds or held: an ack may name only these.
_LINKED = sa.select(subscription_devices.c.subscription_id, subscription_devices.c.device_id).where(
    subscription_devices.c.subscription_id.in_(sa.bindparam("ids", expanding=True))
)
# Only a device the subscription holds (or held) takes the head-end's word.
_REGISTER = (
    devices.update()
    .where(
        devices.c.id == sa.bindparam("b_id"),
        sa.exists().where(
            subscription_devices.c.device_id == devices.c.id,
            subscription_devices.c.subscription_id == sa.bindparam("b_sub"),
        ),
    )
    .values(
        head_end_registration=sa.bindparam("b_reg"),
        head_end_message=sa.bindparam("b_msg"),
        updated_at=sa.bindparam("b_at"),
    )
)
_SET_STATUS = (
    subscriptions.update()
    .where(subscriptions.c.id.in_(sa.bindparam("ids", expanding=True)))
    .values(
        status=sa.bindparam("b_status"),
        version=subscriptions.c.version + 1,
        updated_at=sa.bindparam("b_at"),
    )
)
_INSERT_HISTORY = sync_request_history.insert()
# The hub's acceptance (model.state_when_sent), set-based: only what is still Pending moves;
# an ack that came first has made it final already.
_SENT_STATE = m.SyncState.AWAITING_ACKNOWLEDGEMENT
_STILL_PENDING = (
    sa.select(sync_requests.c.id)
    .where(
        sync_requests.c.id.in_(sa.bindparam("ids", expanding=True)),
        sync_requests.c.state == m.SyncState.PENDING.value,
    )
    .with_for_update()
)
_MARK_SENT = (
    sync_requests.update()
    .where(
        sync_requests.c.id.in_(sa.bindparam("ids", expanding=True)),
        sync_requests.c.state == m.SyncState.PENDING.value,
    )
    .values(state=_SENT_STATE.value, updated_at=sa.bindparam("b_at"))
)


@dataclass(frozen=True)
class AckResult:
    sync_request_id: str
    outcome: m.AckOutcome
    code: str | None = None
    detail: str | None = None


# -- acknowledgements -----------------------------------------------------------------------


def acknowledge_many(
    *, db: Database, clock: Clock, acks: Sequence[m.Acknowledgement], actor: str
) -> list[AckResult]:
    """Apply a collection of postAcknowledgements in one transaction; one result per ack."""
    if not acks:
        return []
    stamp = clock.now().isoformat()
    results: list[AckResult] = []
    transitions: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    registrations: list[dict[str, Any]] = []
    with db.begin() as conn:
        rows = conn.execute(_ACKED, {"ids": list({a.sync_request_id for a in acks})}).all()
        state = {r.id: m.SyncState(r.state) for r in rows}
        sync_of = {r.id: (m.SyncType(r.sync_type), r.subscription_id) for r in rows}
        before = {r.subscription_id: m.SubscriptionStatus(r.subscription_status) for r in rows}
        status = dict(before)
        linked = _linked_devices(conn, acks, sync_of)
        for ack in acks:
            sync_id = ack.sync_request_id
            subscription_of = sync_of[sync_id][1] if sync_id in sync_of else ""
            unheld = [
                reg.device_id
                for reg in ack.device_registrations
                if (subscription_of, reg.device_id) not in linked
            ]
            decision = m.decide_acknowledgement(
                state.get(sync_id),
                has_error=ack.has_error,
                enrollment_id=subscription_of,
                unheld_devices=list(dict.fromkeys(unheld)),
            )
            results.append(AckResult(sync_id, decision.outcome, decision.code, decision.detail))
            if decision.to_state is None:
                continue
            error = orjson.dumps(list(ack.exception_info)).decode() if ack.has_error else None
            transitions.append(
                {"b_id": sync_id, "b_state": decision.to_state.value, "b_error": error,
                 "b_at": stamp}
            )  # fmt: skip
            history.append(
                {"sync_request_id": sync_id, "from_state": state[sync_id].value,
                 "to_state": decision.to_state.value, "at": stamp, "actor": actor, "note": None}
            )  # fmt: skip
            # A second ack for the same id later in this collection finds it final: Duplicate.
            state[sync_id] = decision.to_state
            sync_type, subscription_id = sync_of[sync_id]
            new_status = m.subscription_status_after(
                sync_type, decision.to_state, status[subscription_id]
            )
            if new_status is not None:
                status[subscription_id] = new_status
            registrations.extend(
                {"b_id": reg.device_id, "b_sub": subscription_id,
                 "b_reg": reg.registration.value, "b_msg": reg.message, "b_at": stamp}
                for reg in ack.device_registrations
            )  # fmt: skip
        if transitions:
            conn.execute(_TRANSITION, transitions)
            conn.execute(_INSERT_HISTORY, history)
        if registrations:
            conn.execute(_REGISTER, registrations)
        for new_status in {st for k, st in status.items() if st is not before[k]}:
            ids = [k for k, st in status.items() if st is new_status and st is not before[k]]
            conn.execute(_SET_STATUS, {"ids": ids, "b_status": new_status.value, "b_at": stamp})
    return results


def _linked_devices(
    conn: Connection,
    acks: Sequence[m.Acknowledgement],
    sync_of: dict[str, tuple[m.SyncType, str]],
) -> set[tuple[str, str]]:
    """(subscription, device) of every device the subscriptions these acks name hold or held;
    read only for the acks that name devices."""
    named = {
        sync_of[a.sync_request_id][1]
        for a in acks
        if a.device_registrations and a.sync_request_id in sync_of
    }
    if not named:
        return set()
    return {(r.subscription_id, r.device_id) for r in conn.execute(_LINKED, {"ids": list(named)})}


def update_and_transition(
    *, db: Database, clock: Clock, ack: m.Acknowledgement, actor: str
) -> AckResult:
    """Apply one postAcknowledgement (Oracle's single-record update-and-transition)."""
    (result,) = acknowledge_many(db=db, clock=clock, acks=[ack], actor=actor)
    return result


# -- the hub accepted a batch ---------------------------------------------------------------


def enroll_sync_sent(conn: Connection, keys: list[str], *, clock: Clock) -> None:
    """The hub took these EnrollSyncs: Pending → Awaiting Acknowledgement, the others stay."""
    stamp = clock.now().isoformat()
    pending: Sequence[str] = conn.execute(_STILL_PENDING, {"ids": keys}).scalars().all()
    if not pending:
        return
    conn.execute(_MARK_SENT, {"ids": list(pending), "b_at": stamp})
    conn.execute(
        _INSERT_HISTORY,
        [
            {"sync_request_id": sync_id, "from_state": m.SyncState.PENDING.value,
             "to_state": _SENT_STATE.value, "at": stamp,
             "actor": SYSTEM_ACTOR, "note": "accepted by the hub"}
            for sync_id in pending
        ],
    )  # fmt: skip


def on_enroll_sync_sent(clock: Clock) -> Callable[[Connection, list[str]], None]:
    """The outbox Route's ``on_sent`` for ENR-SYNC."""

    def on_sent(conn: Connection, keys: list[str]) -> None:
        enroll_sync_sent(conn, keys, clock=clock)

    return on_sent


# -- operators ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncRequestView:
    sync_request_id: str
    enrollment_id: str
    sync_type: m.SyncType
    state: m.SyncState
    version: int
    error_info: list[Any] | None
    created_at: str
    updated_at: str
    acknowledged_at: str | None


def sync_view(row: Row[Any]) -> SyncRequestView:
    return SyncRequestView(
        sync_request_id=row.id,
        enrollment_id=row.subscription_id,
        sync_type=m.SyncType(row.sync_type),
        state=m.SyncState(row.state),
        version=row.version,
        error_info=orjson.loads(row.error_info) if row.error_info else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        acknowledged_at=row.acknowledged_at,
    )


def discard_sync_request(
    *, db: Database, clock: Clock, sync_request_id: str, actor: str, note: str = ""
) -> SyncRequestView:
    """Discard a sync request that is not Synchronized, recording who did it."""
    stamp = clock.now().isoformat()
    with db.begin() as conn:
        row = conn.execute(
            sa.select(sync_requests).where(sync_requests.c.id == sync_request_id).with_for_update()
        ).first()
        if row is None:
            raise NotFound(f"no sync request {sync_request_id}")
        to_state = m.state_when_discarded(sync_request_id, m.SyncState(row.state))
        if to_state is not None:
            conn.execute(
                sync_requests.update()
                .where(sync_requests.c.id == sync_request_id)
                .values(state=to_state.value, updated_at=stamp)
            )
            conn.execute(
                _INSERT_HISTORY,
                {"sync_request_id": sync_request_id, "from_state": row.state,
                 "to_state": to_state.value, "at": stamp, "actor": actor, "note": note or None},
            )  # fmt: skip
            # Withdraw the EnrollSync if the publisher has not claimed it yet.
            conn.execute(
                outbox.delete().where(
                    outbox.c.message_key == sync_request_id,
                    outbox.c.flow == m.ENR_SYNC,
                    outbox.c.batch_id.is_(None),
                )
            )
        row = conn.execute(
            sa.select(sync_requests).where(sync_requests.c.id == sync_request_id)
        ).one()
    return sync_view(row)


# -- readers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    from_state: str | None
    to_state: str
    at: str
    actor: str
    note: str | None


def history_of(*, db: Database, sync_request_id: str) -> list[HistoryEntry]:
    """Every transition of one sync request, oldest first."""
    h = sync_request_history
    with db.read() as conn:
        rows = conn.execute(
            sa.select(h).where(h.c.sync_request_id == sync_request_id).order_by(h.c.id)
        ).all()
    if not rows:
        raise NotFound(f"no sync request {sync_request_id}")
    return [HistoryEntry(r.from_state, r.to_state, r.at, r.actor, r.note) for r in rows]


def sync_request_counts(*, db: Database) -> dict[str, int]:
    """How many sync requests are in each state (every state listed, zeros included)."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(sync_requests.c.state, sa.func.count()).group_by(sync_requests.c.state)
        ).all()
    counts = {state.value: 0 for state in m.SyncState}
    counts.update({str(r[0]): int(r[1]) for r in rows})
    return counts


def list_sync_requests(
    *, db: Database, state: m.SyncState | None = None, after: str | None = None, limit: int = 100
) -> m.Page[SyncRequestView]:
    """A page of sync requests, oldest first, optionally in one state."""
    query = sa.select(sync_requests).order_by(sync_requests.c.id).limit(limit + 1)
    if state is not None:
        query = query.where(sync_requests.c.state == state.value)
    if after:
        query = query.where(sync_requests.c.id > after)
    with db.read() as conn:
        rows = conn.execute(query).all()
    items = [sync_view(r) for r in rows[:limit]]
    return m.Page(items, items[-1].sync_request_id if len(rows) > limit else None)


def sync_requests_of(conn: Connection, enrollment_id: str) -> list[SyncRequestView]:
    rows = conn.execute(
        sa.select(sync_requests)
        .where(sync_requests.c.subscription_id == enrollment_id)
        .order_by(sync_requests.c.id)
    ).all()
    return [sync_view(r) for r in rows]
