"""The registry's use cases for the enrollment journey (docs/contracts/enrollment.md).

Each function is one transaction. What derms sends out — a MsgAck per enrollment sync, the
enrollment requests it originates, the answers to status checks — is written to the outbox in
the same transaction as the change that caused it, so nothing is sent that did not happen and
nothing that happened goes unsent; the publisher takes it to the hub along ``publisher_routes``.
Every inbound message is idempotent by its own identifier: a redelivery has no second effect.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from derlink.common.clock import Clock
from derlink.common.errors import NotFound
from derlink.contracts.acks import HeadEndRegistration
from derlink.derms.db import one_writer, outbox
from derlink.derms.registry import model
from derlink.derms.registry.model import DeviceKey, OriginationStatus
from derlink.derms.registry.tables import (
    enroll_inbox,
    head_end_systems,
    origination,
    registry_devices,
    registry_subscriptions,
    status_checks,
)
from derlink.platform.database import Database
from derlink.platform.outbox import Route, enqueue_many

ENR_ACK = "ENR-ACK"
ENR_REQ = "ENR-REQ"
DEV_STATUS_ACK = "DEV-STATUS-ACK"

#: The most records one transaction applies; the publishers send batches of the same size.
MAX_BATCH = 500

# PostgreSQL advisory-lock keys, one per kind of write (db.one_writer).
_REGISTRY_LOCK = 0x6465726D_0001
_ORIGINATION_LOCK = 0x6465726D_0002
_STATUS_CHECK_LOCK = 0x6465726D_0003


@dataclass(frozen=True, slots=True)
class Receipt:
    """How many records of a batch were new, and how many had been received before."""

    accepted: int
    duplicates: int


T = TypeVar("T")


def _existing(conn: Connection, column: sa.Column[Any], values: set[str]) -> set[str]:
    """Which of ``values`` the column holds already."""
    found: Iterable[Any] = conn.execute(sa.select(column).where(column.in_(values))).scalars()
    return {str(v) for v in found}


def _fresh(items: Iterable[T], key: Callable[[T], str], seen: Collection[str]) -> list[T]:
    """The items whose key was not seen before, the first of each key only."""
    taken = set(seen)
    fresh = []
    for item in items:
        k = key(item)
        if k not in taken:
            taken.add(k)
            fresh.append(item)
    return fresh


# --- Enrollment syncs (DERMS Enroll) -------------------------------------------------------


def receive_enrollments(
    *, db: Database, clock: Clock, batch_id: str, syncs: Sequence[model.EnrollSync]
) -> Receipt:
    """Apply a batch of enrollment syncs to the registry and queue one MsgAck per new record."""
    accepted = 0
    for start in range(0, len(syncs), MAX_BATCH):
        accepted += _receive_chunk(db, clock, batch_id, syncs[start : start + MAX_BATCH])
    return Receipt(accepted=accepted, duplicates=len(syncs) - accepted)


def _receive_chunk(
    db: Database, clock: Clock, batch_id: str, syncs: Sequence[model.EnrollSync]
) -> int:
    with db.begin() as conn:
        one_writer(conn, _REGISTRY_LOCK)
        seen = _existing(conn, enroll_inbox.c.dacs_message_id, {s.dacs_message_id for s in syncs})
        fresh = _fresh(syncs, lambda s: s.dacs_message_id, seen)
        if not fresh:
            return 0
        subscriptions, devices = _load_registry(conn, fresh)
        registry = model.RegistrySlice(subscriptions, devices)
        head_ends = _known_head_ends(conn, {d.head_end_system for s in fresh for d in s.devices})
        now = clock.now()
        results = [registry.apply(sync, head_ends=head_ends) for sync in fresh]
        _write_registry(
            conn,
            registry,
            known_subscriptions={s.subscription_id for s in subscriptions},
            known_devices={d.key for d in devices},
            now=now,
        )
        conn.execute(
            enroll_inbox.insert(),
            [
                {
                    "dacs_message_id": r.sync.dacs_message_id,
                    "batch_id": batch_id,
                    "subscription_id": r.sync.subscription_id,
                    "received_at": now.isoformat(),
                    "ack_type": "SUCCESS" if r.rejection is None else "ERROR",
                    "response_code": None if r.rejection is None else r.rejection.code,
                }
                for r in results
            ],
        )
        enqueue_many(
            conn,
            outbox,
            ENR_ACK,
            [(r.sync.dacs_message_id, model.msg_ack(r, at=now)) for r in results],
            clock,
        )
    return len(fresh)


def _load_registry(
    conn: Connection, syncs: Sequence[model.EnrollSync]
) -> tuple[list[model.Subscription], list[model.Device]]:
    """The entries the syncs name, the devices those hold, and every device the syncs name.

    Two device queries rather than one with OR, so that each uses its own index."""
    ids = {s.subscription_id for s in syncs}
    keys = {d.key for s in syncs for d in s.devices if d.head_end_system and d.nic_id}
    subs = registry_subscriptions.c
    subscriptions = [
        _subscription(row)
        for row in conn.execute(
            sa.select(registry_subscriptions).where(subs.subscription_id.in_(ids))
        )
    ]
    held = conn.execute(
        sa.select(registry_devices).where(registry_devices.c.subscription_id.in_(ids))
    )
    devices = {d.key: d for d in map(_device, held)}
    for device in _devices_by_key(conn, keys):
        devices.setdefault(device.key, device)
    return subscriptions, list(devices.values())


def _devices_by_key(conn: Connection, keys: set[DeviceKey]) -> list[model.Device]:
    """The registry devices with these keys, found by NIC id (the key index leads with it)."""
    if not keys:
        return []
    by_nic = conn.execute(
        sa.select(registry_devices).where(registry_devices.c.nic_id.in_({k[1] for k in keys}))
    )
    return [d for d in map(_device, by_nic) if d.key in keys]


def _known_head_ends(conn: Connection, codes: set[str]) -> frozenset[str]:
    if not codes:
        return frozenset()
    c = head_end_systems.c
    return frozenset(_existing(conn, c.code, codes))


def _write_registry(
    conn: Connection,
    registry: model.RegistrySlice,
    *,
    known_subscriptions: set[str],
    known_devices: set[DeviceKey],
    now: datetime,
) -> None:
    at = now.isoformat()
    entries = [_subscription_row(s, at) for s in registry.changed_subscriptions]
    _insert_or_update(
        conn,
        registry_subscriptions,
        [e for e in entries if e["subscription_id"] not in known_subscriptions],
        [e for e in entries if e["subscription_id"] in known_subscriptions],
        key=("subscription_id",),
    )
    rows = [_device_row(d, at) for d in registry.changed_devices]
    _insert_or_update(
        conn,
        registry_devices,
        [r for r in rows if (r["head_end_system"], r["nic_id"]) not in known_devices],
        [r for r in rows if (r["head_end_system"], r["nic_id"]) in known_devices],
        key=("head_end_system", "nic_id"),
    )


def _insert_or_update(
    conn: Connection,
    table: sa.Table,
    new: list[dict[str, Any]],
    known: list[dict[str, Any]],
    *,
    key: tuple[str, ...],
) -> None:
    """Insert the new rows and update the known ones by primary key, each as one executemany."""
    if new:
        conn.execute(table.insert(), new)
    if known:
        where = sa.and_(*(table.c[k] == sa.bindparam(f"key_{k}") for k in key))
        conn.execute(
            table.update().where(where),
            [
                {
                    **{f"key_{k}": row[k] for k in key},
                    **{c: v for c, v in row.items() if c not in key},
                }
                for row in known
            ],
        )


def _subscription(row: Row[Any]) -> model.Subscription:
    return model.Subscription(
        subscription_id=row.subscription_id,
        status=model.SubscriptionStatus(row.status),
        version=row.version,
        program_code=row.program_code,
        program_id=row.program_id,
        cis_account_id=row.cis_account_id,
        cis_service_point_id=row.cis_service_point_id,
        service_point_id=row.service_point_id,
        division=row.division,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        last_dacs_message_id=row.last_dacs_message_id,
    )


def _subscription_row(entry: model.Subscription, at: str) -> dict[str, Any]:
    return {
        "subscription_id": entry.subscription_id,
        "status": entry.status.value,
        "program_code": entry.program_code,
        "program_id": entry.program_id,
        "cis_account_id": entry.cis_account_id,
        "cis_service_point_id": entry.cis_service_point_id,
        "service_point_id": entry.service_point_id,
        "division": entry.division,
        "starts_at": entry.starts_at,
        "ends_at": entry.ends_at,
        "version": entry.version,
        "last_dacs_message_id": entry.last_dacs_message_id,
        "updated_at": at,
    }


def _device(row: Row[Any]) -> model.Device:
    return model.Device(
        head_end_system=row.head_end_system,
        nic_id=row.nic_id,
        device_id=row.device_id,
        subscription_id=row.subscription_id,
        status=model.DeviceStatus(row.status),
        registration=HeadEndRegistration(row.registration),
        device_type=row.device_type,
        specification=row.specification,
    )


def _device_row(device: model.Device, at: str) -> dict[str, Any]:
    return {
        "head_end_system": device.head_end_system,
        "nic_id": device.nic_id,
        "device_id": device.device_id,
        "subscription_id": device.subscription_id,
        "status": device.status.value,
        "registration": device.registration.value,
        "device_type": device.device_type,
        "specification": device.specification,
        "updated_at": at,
    }


# --- Originated enrollment requests (ENR-REQ) -----------------------------------------------


def originate_requests(
    *, db: Database, clock: Clock, requests: Sequence[Mapping[str, Any]]
) -> Receipt:
    """Store new enrollment requests as Pending and queue them for the hub's ENR-REQ."""
    o = origination.c
    with db.begin() as conn:
        one_writer(conn, _ORIGINATION_LOCK)
        seen = _existing(conn, o.message_id, {str(r["messageId"]) for r in requests})
        fresh = _fresh(requests, lambda r: str(r["messageId"]), seen)
        if fresh:
            at = clock.now().isoformat()
            conn.execute(
                origination.insert(),
                [
                    {
                        "message_id": r["messageId"],
                        "payload": orjson.dumps(r).decode(),
                        "status": OriginationStatus.PENDING.value,
                        "created_at": at,
                        "updated_at": at,
                    }
                    for r in fresh
                ],
            )
            enqueue_many(conn, outbox, ENR_REQ, [(r["messageId"], r) for r in fresh], clock)
    return Receipt(accepted=len(fresh), duplicates=len(requests) - len(fresh))


def mark_requests_sent(clock: Clock) -> Callable[[Connection, list[str]], None]:
    """The ENR-REQ route's ``on_sent``: the hub has the requests, so Pending turns Sent."""

    def on_sent(conn: Connection, message_ids: list[str]) -> None:
        o = origination.c
        conn.execute(
            origination.update()
            # An ack may have overtaken the publisher; a final status stays as it is.
            .where(o.message_id.in_(message_ids), o.status == OriginationStatus.PENDING.value)
            .values(status=OriginationStatus.SENT.value, updated_at=clock.now().isoformat())
        )

    return on_sent


def record_enrollment_request_ack(
    *, db: Database, clock: Clock, answers: Sequence[model.RequestAnswer]
) -> list[tuple[str, str]]:
    """Settle originated requests from the hub's collection MsgAck: (messageId, outcome) each."""
    o = origination.c
    outcomes: list[tuple[str, str]] = []
    with db.begin() as conn:
        one_writer(conn, _ORIGINATION_LOCK)
        status = {
            row.message_id: OriginationStatus(row.status)
            for row in conn.execute(
                sa.select(o.message_id, o.status).where(
                    o.message_id.in_({a.message_id for a in answers})
                )
            )
        }
        at = clock.now().isoformat()
        updates: list[dict[str, Any]] = []
        for answer in answers:
            current = status.get(answer.message_id)
            if current is None:
                outcomes.append((answer.message_id, "Unknown"))
                continue
            if model.is_final(current):
                outcomes.append((answer.message_id, "Duplicate"))
                continue
            settled = model.request_outcome(answer.response_code)
            status[answer.message_id] = settled
            accepted = settled is OriginationStatus.ACCEPTED
            updates.append(
                {
                    "key_message_id": answer.message_id,
                    "status": settled.value,
                    "enrollment_id": answer.value if accepted else None,
                    "response_code": answer.response_code,
                    "message": None if accepted else answer.value,
                    "updated_at": at,
                }
            )
            outcomes.append((answer.message_id, settled.value))
        if updates:
            conn.execute(
                origination.update().where(o.message_id == sa.bindparam("key_message_id")),
                updates,
            )
    return outcomes


def origination_counts(*, db: Database) -> dict[str, int]:
    """How many originated requests are in each status (every status named, zeros included)."""
    o = origination.c
    with db.read() as conn:
        query = sa.select(o.status, sa.func.count().label("n")).group_by(o.status)
        found: dict[str, int] = {row.status: int(row.n) for row in conn.execute(query)}
    return {s.value: found.get(s.value, 0) for s in OriginationStatus}


# --- Device status checks (DEV-STATUS) ------------------------------------------------------


def receive_status_checks(
    *, db: Database, clock: Clock, batch_id: str, checks: Sequence[model.StatusCheck]
) -> Receipt:
    """Answer each new status check from the registry, through the hub's DEV-STATUS-ACK."""
    sc = status_checks.c
    with db.begin() as conn:
        one_writer(conn, _STATUS_CHECK_LOCK)
        seen = _existing(conn, sc.dacs_message_id, {c.dacs_message_id for c in checks})
        fresh = _fresh(checks, lambda c: c.dacs_message_id, seen)
        if fresh:
            devices = {d.key: d for d in _devices_by_key(conn, {c.key for c in fresh})}
            subs = registry_subscriptions.c
            subscriptions = {
                s.subscription_id: s
                for s in map(
                    _subscription,
                    conn.execute(
                        sa.select(registry_subscriptions).where(
                            subs.subscription_id.in_({d.subscription_id for d in devices.values()})
                        )
                    ),
                )
            }
            now = clock.now().isoformat()
            rows: list[dict[str, Any]] = []
            answers: list[tuple[str, Any]] = []
            for check in fresh:
                device = devices.get(check.key)
                answer = model.check_device_status(
                    check.key,
                    device=device,
                    subscription=None
                    if device is None
                    else subscriptions.get(device.subscription_id),
                )
                rows.append(
                    {
                        "dacs_message_id": check.dacs_message_id,
                        "batch_id": batch_id,
                        "head_end_system": check.head_end_system,
                        "nic_id": check.nic_id,
                        "status": answer.status.value,
                        "message": answer.message,
                        "received_at": now,
                    }
                )
                answers.append(
                    (
                        check.dacs_message_id,
                        {
                            "transactionId": check.dacs_message_id,
                            "status": answer.status.value,
                            "message": answer.message,
                        },
                    )
                )
            conn.execute(status_checks.insert(), rows)
            enqueue_many(conn, outbox, DEV_STATUS_ACK, answers, clock)
    return Receipt(accepted=len(fresh), duplicates=len(checks) - len(fresh))


# --- Registry reads --------------------------------------------------------------------------

#: A registry entry with the devices it holds.
Entry = tuple[model.Subscription, list[model.Device]]


@dataclass(frozen=True)
class RegistryFilter:
    """What a page of the registry is narrowed to; an empty field narrows nothing."""

    status: model.SubscriptionStatus | None = None
    program_code: str = ""
    service_point_id: str = ""
    account_id: str = ""
    #: The subscription's id, its service point's or its account's.
    any_id: str = ""
    subscription_ids: tuple[str, ...] = ()

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        subs = registry_subscriptions.c
        where: list[sa.ColumnElement[bool]] = []
        if self.status is not None:
            where.append(subs.status == self.status.value)
        for column, value in (
            (subs.program_code, self.program_code),
            (subs.cis_service_point_id, self.service_point_id),
            (subs.cis_account_id, self.account_id),
        ):
            if value:
                where.append(column == value)
        if self.any_id:
            ids = (subs.subscription_id, subs.cis_service_point_id, subs.cis_account_id)
            where.append(sa.or_(*(column == self.any_id for column in ids)))
        if self.subscription_ids:
            where.append(subs.subscription_id.in_(self.subscription_ids))
        return where


def registry_page(
    *, db: Database, after: str | None, limit: int, narrowed: RegistryFilter | None = None
) -> tuple[list[Entry], str | None]:
    """A page of registry entries by subscriptionId after ``after`` (narrowed as
    ``narrowed`` says), and the next cursor."""
    subs = registry_subscriptions.c
    query = (
        sa.select(registry_subscriptions)
        .where(*(narrowed or RegistryFilter()).conditions())
        .order_by(subs.subscription_id)
        .limit(limit + 1)
    )
    if after:
        query = query.where(subs.subscription_id > after)
    with db.read() as conn:
        found = [_subscription(row) for row in conn.execute(query)]
        page = found[:limit]
        held = _devices_of(conn, [s.subscription_id for s in page])
    next_cursor = page[-1].subscription_id if len(found) > limit else None
    return [(s, held.get(s.subscription_id, [])) for s in page], next_cursor


def registry_entry(*, db: Database, subscription_id: str) -> Entry:
    """One registry entry, with every device it holds."""
    subs = registry_subscriptions.c
    with db.read() as conn:
        row = conn.execute(
            sa.select(registry_subscriptions).where(subs.subscription_id == subscription_id)
        ).first()
        if row is None:
            raise NotFound(f"subscription {subscription_id} is not in the registry")
        held = _devices_of(conn, [subscription_id])
    return _subscription(row), held.get(subscription_id, [])


def _devices_of(conn: Connection, subscription_ids: list[str]) -> dict[str, list[model.Device]]:
    if not subscription_ids:
        return {}
    devs = registry_devices.c
    held: dict[str, list[model.Device]] = {}
    rows = conn.execute(
        sa.select(registry_devices)
        .where(devs.subscription_id.in_(subscription_ids))
        .order_by(devs.head_end_system, devs.nic_id)
    )
    for device in map(_device, rows):
        held.setdefault(device.subscription_id, []).append(device)
    return held


# --- Head-end systems ----------------------------------------------------------------------


def register_head_ends(*, db: Database, codes: Sequence[str]) -> list[str]:
    """Add the head-end systems derms serves; return the codes that were new."""
    c = head_end_systems.c
    with db.begin() as conn:
        one_writer(conn, _REGISTRY_LOCK)
        new = _fresh(codes, lambda code: code, _existing(conn, c.code, set(codes)))
        if new:
            conn.execute(head_end_systems.insert(), [{"code": k, "name": k} for k in new])
    return new


def list_head_ends(*, db: Database) -> list[tuple[str, str]]:
    """Every head-end system derms serves, as (code, name)."""
    c = head_end_systems.c
    with db.read() as conn:
        return [
            (row.code, row.name) for row in conn.execute(sa.select(c.code, c.name).order_by(c.code))
        ]


# --- Publishing to the hub -------------------------------------------------------------------


def publisher_routes(*, clock: Clock) -> list[Route]:
    """Where each outbox flow goes on the hub (hub base URL + path), and in which field."""
    return [
        Route(ENR_ACK, "/api/v1/flows/ENR-ACK/messages", "acks"),
        Route(
            ENR_REQ,
            "/api/v1/flows/ENR-REQ/messages",
            "requests",
            on_sent=mark_requests_sent(clock),
        ),
        Route(DEV_STATUS_ACK, "/api/v1/flows/DEV-STATUS-ACK/messages", "responses"),
    ]
