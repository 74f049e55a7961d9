"""Subscriptions change by four commands: enroll, unenroll, add a device, replace a device.

Each command is one transaction that changes the subscription, creates its sync request (with
its first history row) and writes the EnrollSync into the outbox, so that a message leaves if
and only if its change was committed (contract: "transactional outbox"). Enroll is on the hot
path of the enrollment journey: a handful of indexed statements, built once at import (building
SQLAlchemy statements per call costs more than running them on SQLite).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from derlink.common.clock import Clock, parse_iso
from derlink.common.errors import BusinessError, Conflict, NotFound
from derlink.common.ids import new_id
from derlink.cpm.catalog.model import Program, ProgramStatus
from derlink.cpm.catalog.tables import accounts, persons, premises, programs, service_points
from derlink.cpm.db import outbox
from derlink.cpm.enrollment import model as m
from derlink.cpm.enrollment.service import reads
from derlink.cpm.enrollment.tables import (
    device_locations,
    devices,
    subscription_devices,
    subscriptions,
    sync_request_history,
    sync_requests,
)
from derlink.platform.database import Database
from derlink.platform.outbox import enqueue_many

SUBSCRIPTION_TYPE = "DR"

_OPEN_SUBSCRIPTIONS = sorted(st.value for st in m.OPEN_SUBSCRIPTIONS)
_ACTIVE = m.DeviceLinkStatus.ACTIVE.value

_SUBSCRIPTION_BY_MESSAGE = sa.select(subscriptions.c.id).where(
    subscriptions.c.message_id == sa.bindparam("message_id")
)
_PROGRAM_BY_CODE = sa.select(
    programs.c.id, programs.c.code, programs.c.status, programs.c.eligible_specifications
).where(programs.c.code == sa.bindparam("code"))
_ACCOUNT = (
    sa.select(accounts.c.cis_person_id, persons.c.id.label("contact_id"))
    .select_from(accounts.outerjoin(persons, persons.c.cis_person_id == accounts.c.cis_person_id))
    .where(accounts.c.cis_account_id == sa.bindparam("cis_account_id"))
)
_SERVICE_POINT = (
    sa.select(
        service_points.c.id,
        service_points.c.cis_service_point_id,
        service_points.c.cis_premise_id,
        service_points.c.division,
        premises.c.cis_account_id,
        premises.c.division.label("premise_division"),
        premises.c.time_zone,
        premises.c.address1,
        premises.c.city,
        premises.c.state,
        premises.c.postal,
        premises.c.country,
        premises.c.county,
    )
    .select_from(
        service_points.outerjoin(
            premises, premises.c.cis_premise_id == service_points.c.cis_premise_id
        )
    )
    .where(service_points.c.cis_service_point_id == sa.bindparam("cis_service_point_id"))
    # Enrollments at one service point queue here on PostgreSQL, so that the 10589 and
    # CPM-DUPLICATE-ENROLLMENT checks see the other's commit (SQLite serializes every writer).
    .with_for_update(of=service_points)
)
_OPEN_ENROLLMENT = (
    sa.select(subscriptions.c.id)
    .where(
        subscriptions.c.service_point_id == sa.bindparam("service_point_id"),
        subscriptions.c.program_id == sa.bindparam("program_id"),
        subscriptions.c.status.in_(_OPEN_SUBSCRIPTIONS),
        subscriptions.c.cis_account_id == sa.bindparam("cis_account_id"),
    )
    .limit(1)
)
_DEVICES_BY_KEY = (
    sa.select(devices.c.id, devices.c.head_end_system, devices.c.nic_id)
    .where(
        sa.tuple_(devices.c.head_end_system, devices.c.nic_id).in_(
            sa.bindparam("keys", expanding=True)
        )
    )
    # Lock the rows, then read their links: a concurrent enrollment of the same device waits
    # here and then sees the other's link (PostgreSQL, read committed).
    .with_for_update()
)
_KEYS_IN_USE = (
    sa.select(devices.c.head_end_system, devices.c.nic_id)
    .select_from(
        devices.join(subscription_devices, subscription_devices.c.device_id == devices.c.id).join(
            subscriptions, subscriptions.c.id == subscription_devices.c.subscription_id
        )
    )
    .where(
        devices.c.id.in_(sa.bindparam("device_ids", expanding=True)),
        subscription_devices.c.status == _ACTIVE,
        subscriptions.c.status.in_(_OPEN_SUBSCRIPTIONS),
    )
)
_REFRESH_DEVICE = (
    devices.update()
    .where(devices.c.id == sa.bindparam("b_id"))
    .values(
        {
            c: sa.bindparam(c)
            for c in (
                "device_type", "specification", "make", "model", "serial_no", "badge_no",
                "asset_id", "division", "updated_at",
            )
        }
    )
)  # fmt: skip
_INSERT_DEVICE = devices.insert()
_INSERT_SUBSCRIPTION = subscriptions.insert()
_INSERT_LINK = subscription_devices.insert()
_INSERT_LOCATION = device_locations.insert()
_INSERT_SYNC = sync_requests.insert()
_INSERT_HISTORY = sync_request_history.insert()


@dataclass(frozen=True)
class EnrollmentReceipt:
    enrollment_id: str
    status: m.SubscriptionStatus
    sync_request_id: str
    #: The device added, or the replacement device.
    device_id: str | None = None


# -- enroll ---------------------------------------------------------------------------------


def enroll(
    *, db: Database, clock: Clock, request: m.NewEnrollment, actor: str
) -> EnrollmentReceipt:
    """Create a Pending subscription, its devices and its ENROLL sync request."""
    try:
        return _enroll_once(db, clock, request, actor)
    except IntegrityError:
        # A concurrent request took the same messageId or device key first (PostgreSQL).
        # The checks, run again, now see its rows and answer 10589 or CPM-DEVICE-IN-USE.
        return _enroll_once(db, clock, request, actor)


def _enroll_once(
    db: Database, clock: Clock, request: m.NewEnrollment, actor: str
) -> EnrollmentReceipt:
    now = clock.now()
    loc = request.location
    with db.begin() as conn:
        # The service point first: it takes the lock that queues enrollments at one place, so
        # that a redelivery waiting behind its first delivery then finds it (10589).
        point = conn.execute(
            _SERVICE_POINT, {"cis_service_point_id": loc.cis_service_point_id}
        ).first()
        existing = conn.execute(
            _SUBSCRIPTION_BY_MESSAGE, {"message_id": request.message_id}
        ).scalar()
        if existing is not None:
            raise m.duplicate_enrollment_request(request.message_id, existing)
        program_row = conn.execute(_PROGRAM_BY_CODE, {"code": request.program_code}).first()
        account = conn.execute(_ACCOUNT, {"cis_account_id": request.cis_account_id}).first()
        has_open = (
            program_row is not None
            and point is not None
            and conn.execute(
                _OPEN_ENROLLMENT,
                {"service_point_id": point.id, "program_id": program_row.id,
                 "cis_account_id": request.cis_account_id},
            ).first() is not None
        )  # fmt: skip
        known, in_use = _devices_by_key(conn, [a.key for a in request.assets])
        m.check_enrollment(
            m.EnrollmentFacts(
                program_code=request.program_code,
                program=_program(program_row) if program_row is not None else None,
                cis_account_id=request.cis_account_id,
                account_known=account is not None,
                cis_service_point_id=loc.cis_service_point_id,
                service_point=(
                    m.ServicePoint(point.cis_service_point_id, point.cis_account_id or "")
                    if point is not None
                    else None
                ),
                assets=request.assets,
                has_open_enrollment=has_open,
                devices_in_use=in_use,
            )
        )
        assert program_row is not None and account is not None and point is not None
        start_at = request.start_at or now
        m.check_period(start_at, request.end_at)

        division = loc.division or point.division or point.premise_division or ""
        device_ids = _put_devices(conn, now, request.assets, known, division)
        snapshot = m.SubscriptionSnapshot(
            subscription_id=new_id("E-"),
            version=1,
            cis_account_id=request.cis_account_id,
            contact_id=account.contact_id or "",
            cis_person_id=account.cis_person_id,
            subscription_type=SUBSCRIPTION_TYPE,
            program_id=program_row.id,
            program_code=program_row.code,
            start_at=start_at,
            end_at=request.end_at,
            division=division,
            service_point_id=point.id,
            cis_premise_id=point.cis_premise_id,
            cis_service_point_id=point.cis_service_point_id,
        )
        stamp = now.isoformat()
        conn.execute(
            _INSERT_SUBSCRIPTION,
            {
                "id": snapshot.subscription_id,
                "message_id": request.message_id,
                "drms_instance_id": request.drms_instance_id,
                "program_id": snapshot.program_id,
                "program_code": snapshot.program_code,
                "contact_id": snapshot.contact_id,
                "cis_person_id": snapshot.cis_person_id,
                "cis_account_id": snapshot.cis_account_id,
                "service_point_id": snapshot.service_point_id,
                "cis_service_point_id": snapshot.cis_service_point_id,
                "cis_premise_id": snapshot.cis_premise_id,
                "division": division,
                "subscription_type": SUBSCRIPTION_TYPE,
                "status": m.SubscriptionStatus.PENDING.value,
                "installation_method": request.installation_method,
                "asset_ownership": request.asset_ownership,
                "start_at": snapshot.start_at.isoformat(),
                "end_at": snapshot.end_at.isoformat() if snapshot.end_at else None,
                "unenroll_reason": None,
                "version": 1,
                "created_at": stamp,
                "updated_at": stamp,
            },
        )
        conn.execute(
            _INSERT_LINK,
            [
                {"subscription_id": snapshot.subscription_id, "device_id": d,
                 "status": _ACTIVE, "added_at": stamp, "removed_at": None}
                for d in device_ids
            ],
        )  # fmt: skip
        conn.execute(
            _INSERT_LOCATION,
            {
                "id": new_id("DL-"),
                "subscription_id": snapshot.subscription_id,
                "location_id": loc.location_id,
                "service_point_id": point.id,
                "cis_service_point_id": point.cis_service_point_id,
                "cis_premise_id": point.cis_premise_id,
                "division": division,
                # The request's location first; the CIS premise fills what it left blank.
                "time_zone": loc.time_zone or point.time_zone or "",
                "address1": loc.address1 or point.address1 or "",
                "city": loc.city or point.city or "",
                "state": loc.state or point.state or "",
                "postal": loc.postal or point.postal or "",
                "country": loc.country or point.country or "",
                "county": loc.county or point.county or "",
                "created_at": stamp,
            },
        )
        device_snapshots = [
            _asset_snapshot(d, a, m.DeviceLinkStatus.ACTIVE)
            for d, a in zip(device_ids, request.assets, strict=True)
        ]
        sync_id = _create_sync(
            conn, stamp, clock, m.SyncType.ENROLL, snapshot, device_snapshots, actor=actor
        )
    return EnrollmentReceipt(snapshot.subscription_id, m.SubscriptionStatus.PENDING, sync_id)


def _program(row: Row[Any]) -> Program:
    return Program(
        code=row.code,
        status=ProgramStatus(row.status),
        eligible_specifications=frozenset(orjson.loads(row.eligible_specifications)),
    )


def _devices_by_key(
    conn: Connection, keys: Sequence[tuple[str, str]]
) -> tuple[dict[tuple[str, str], str], set[tuple[str, str]]]:
    """Known device ids by key, and the keys an open subscription holds."""
    if not keys:
        return {}, set()
    rows = conn.execute(_DEVICES_BY_KEY, {"keys": list(set(keys))}).all()
    known = {(r.head_end_system, r.nic_id): r.id for r in rows}
    if not known:
        return known, set()
    in_use = conn.execute(_KEYS_IN_USE, {"device_ids": list(known.values())}).all()
    return known, {(r.head_end_system, r.nic_id) for r in in_use}


def _put_devices(
    conn: Connection,
    now: datetime,
    assets: Sequence[m.Asset],
    known: dict[tuple[str, str], str],
    division: str,
) -> list[str]:
    """Insert new devices and refresh the description of known ones; their ids, in order."""
    stamp = now.isoformat()
    ids: list[str] = []
    new_rows: list[dict[str, Any]] = []
    refreshed: list[dict[str, Any]] = []
    for asset in assets:
        described = {
            "device_type": asset.device_type,
            "specification": asset.specification,
            "make": asset.make,
            "model": asset.model,
            "serial_no": asset.serial_no,
            "badge_no": asset.badge_no,
            "asset_id": asset.asset_id,
            "division": division,
            "updated_at": stamp,
        }
        device_id = known.get(asset.key)
        if device_id is None:
            device_id = new_id("D-")
            new_rows.append(
                {"id": device_id, "head_end_system": asset.head_end_system,
                 "nic_id": asset.nic_id, "created_at": stamp, **described}
            )  # fmt: skip
        else:
            refreshed.append({"b_id": device_id, **described})
        ids.append(device_id)
    if new_rows:
        conn.execute(_INSERT_DEVICE, new_rows)
    if refreshed:
        conn.execute(_REFRESH_DEVICE, refreshed)
    return ids


def _asset_snapshot(device_id: str, asset: m.Asset, status: m.DeviceLinkStatus) -> m.DeviceSnapshot:
    return m.DeviceSnapshot(
        device_id=device_id,
        device_type=asset.device_type,
        specification=asset.specification,
        make=asset.make,
        model=asset.model,
        head_end_system=asset.head_end_system,
        nic_id=asset.nic_id,
        serial_no=asset.serial_no,
        badge_no=asset.badge_no,
        status=status,
    )


def _create_sync(
    conn: Connection,
    stamp: str,
    clock: Clock,
    sync_type: m.SyncType,
    subscription: m.SubscriptionSnapshot,
    device_snapshots: Sequence[m.DeviceSnapshot],
    *,
    actor: str,
) -> str:
    """A Pending sync request, its first history row, and its EnrollSync in the outbox."""
    sync_id = new_id("SR-")
    conn.execute(
        _INSERT_SYNC,
        {
            "id": sync_id,
            "subscription_id": subscription.subscription_id,
            "sync_type": sync_type.value,
            "state": m.SyncState.PENDING.value,
            "version": subscription.version,
            "error_info": None,
            "created_at": stamp,
            "updated_at": stamp,
            "acknowledged_at": None,
        },
    )
    conn.execute(
        _INSERT_HISTORY,
        {
            "sync_request_id": sync_id,
            "from_state": None,
            "to_state": m.SyncState.PENDING.value,
            "at": stamp,
            "actor": actor,
            "note": sync_type.value,
        },
    )
    payload = m.build_enroll_sync(
        sync_request_id=sync_id,
        sync_type=sync_type,
        subscription=subscription,
        devices=device_snapshots,
    )
    enqueue_many(conn, outbox, m.ENR_SYNC, [(sync_id, payload)], clock)
    return sync_id


# -- changes to an Active enrollment --------------------------------------------------------


def unenroll(
    *,
    db: Database,
    clock: Clock,
    enrollment_id: str,
    reason: str,
    end_at: datetime | None,
    actor: str,
) -> EnrollmentReceipt:
    """End an Active enrollment: derms is told INACTIVE, and its ack makes it Inactive here."""
    now = clock.now()
    stamp = now.isoformat()
    with db.begin() as conn:
        row = _changeable_subscription(conn, enrollment_id)
        end = end_at or now
        version = row.version + 1
        conn.execute(
            subscriptions.update()
            .where(subscriptions.c.id == enrollment_id)
            .values(
                end_at=end.isoformat(), unenroll_reason=reason, version=version, updated_at=stamp
            )
        )
        sync_id = _create_sync(
            conn,
            stamp,
            clock,
            m.SyncType.UNENROLL,
            _snapshot(row, version=version, end_at=end),
            _device_snapshots(conn, enrollment_id),
            actor=actor,
        )
    return EnrollmentReceipt(enrollment_id, m.SubscriptionStatus(row.status), sync_id)


def add_device(
    *, db: Database, clock: Clock, enrollment_id: str, asset: m.Asset, actor: str
) -> EnrollmentReceipt:
    """Put one more device on an Active enrollment (ADD_DEVICE sync)."""
    now = clock.now()
    with db.begin() as conn:
        row = _changeable_subscription(conn, enrollment_id)
        device_id = _link_new_device(conn, now, row, asset)
        sync_id = _bump_and_sync(conn, now, clock, row, m.SyncType.ADD_DEVICE, actor=actor)
    return EnrollmentReceipt(enrollment_id, m.SubscriptionStatus(row.status), sync_id, device_id)


def replace_device(
    *,
    db: Database,
    clock: Clock,
    enrollment_id: str,
    device_id: str,
    asset: m.Asset,
    actor: str,
) -> EnrollmentReceipt:
    """Swap a device: the old one REMOVED, the new one ACTIVE (DEVICE_REPLACEMENT sync)."""
    now = clock.now()
    with db.begin() as conn:
        row = _changeable_subscription(conn, enrollment_id)
        active: Sequence[str] = (
            conn.execute(
                sa.select(subscription_devices.c.device_id).where(
                    subscription_devices.c.subscription_id == enrollment_id,
                    subscription_devices.c.status == _ACTIVE,
                )
            )
            .scalars()
            .all()
        )
        m.check_device_on_enrollment(enrollment_id, device_id, active)
        # The new device first, while the old one still counts as in use: a device cannot
        # replace itself.
        new_device_id = _link_new_device(conn, now, row, asset)
        conn.execute(
            subscription_devices.update()
            .where(
                subscription_devices.c.subscription_id == enrollment_id,
                subscription_devices.c.device_id == device_id,
                subscription_devices.c.status == _ACTIVE,
            )
            .values(status=m.DeviceLinkStatus.REMOVED.value, removed_at=now.isoformat())
        )
        sync_id = _bump_and_sync(conn, now, clock, row, m.SyncType.DEVICE_REPLACEMENT, actor=actor)
    return EnrollmentReceipt(
        enrollment_id, m.SubscriptionStatus(row.status), sync_id, new_device_id
    )


def _changeable_subscription(conn: Connection, enrollment_id: str) -> Row[Any]:
    row = conn.execute(
        sa.select(subscriptions).where(subscriptions.c.id == enrollment_id).with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"no enrollment {enrollment_id}")
    sr = sync_requests
    unenrolling = conn.execute(
        sa.select(sr.c.id)
        .where(
            sr.c.subscription_id == enrollment_id,
            sr.c.sync_type == m.SyncType.UNENROLL.value,
            # An UNENROLL that failed (Error) or was discarded leaves the enrollment changeable.
            sr.c.state.in_([st.value for st in (*m.OPEN_STATES, m.SyncState.SYNCHRONIZED)]),
        )
        .limit(1)
    ).first()
    m.check_changeable(
        enrollment_id,
        m.SubscriptionStatus(row.status),
        unenrollment_under_way=unenrolling is not None,
    )
    return row


def _link_new_device(conn: Connection, now: datetime, row: Row[Any], asset: m.Asset) -> str:
    program_row = conn.execute(_PROGRAM_BY_CODE, {"code": row.program_code}).one()
    known, in_use = _devices_by_key(conn, [asset.key])
    m.check_assets(_program(program_row), [asset], in_use)
    (device_id,) = _put_devices(conn, now, [asset], known, row.division)
    conn.execute(
        _INSERT_LINK,
        {"subscription_id": row.id, "device_id": device_id, "status": _ACTIVE,
         "added_at": now.isoformat(), "removed_at": None},
    )  # fmt: skip
    return device_id


def _bump_and_sync(
    conn: Connection,
    now: datetime,
    clock: Clock,
    row: Row[Any],
    sync_type: m.SyncType,
    *,
    actor: str,
) -> str:
    version = row.version + 1
    stamp = now.isoformat()
    conn.execute(
        subscriptions.update()
        .where(subscriptions.c.id == row.id)
        .values(version=version, updated_at=stamp)
    )
    return _create_sync(
        conn,
        stamp,
        clock,
        sync_type,
        _snapshot(row, version=version),
        _device_snapshots(conn, row.id),
        actor=actor,
    )


def _snapshot(
    row: Row[Any], *, version: int, end_at: datetime | None = None
) -> m.SubscriptionSnapshot:
    return m.SubscriptionSnapshot(
        subscription_id=row.id,
        version=version,
        cis_account_id=row.cis_account_id,
        contact_id=row.contact_id,
        cis_person_id=row.cis_person_id,
        subscription_type=row.subscription_type,
        program_id=row.program_id,
        program_code=row.program_code,
        start_at=parse_iso(row.start_at),
        end_at=end_at or (parse_iso(row.end_at) if row.end_at else None),
        division=row.division,
        service_point_id=row.service_point_id,
        cis_premise_id=row.cis_premise_id,
        cis_service_point_id=row.cis_service_point_id,
    )


def _device_snapshots(conn: Connection, enrollment_id: str) -> list[m.DeviceSnapshot]:
    """The whole device list, REMOVED included: derms deregisters those (state transfer)."""
    return [
        m.DeviceSnapshot(
            device_id=r.id,
            device_type=r.device_type,
            specification=r.specification,
            make=r.make,
            model=r.model,
            head_end_system=r.head_end_system,
            nic_id=r.nic_id,
            serial_no=r.serial_no,
            badge_no=r.badge_no,
            status=m.DeviceLinkStatus(r.link_status),
        )
        for r in reads.device_rows(conn, enrollment_id)
    ]


# -- enroll, a collection -------------------------------------------------------------------


@dataclass(frozen=True)
class EnrollmentOutcome:
    """What one request of a collection got: exactly what a single enroll call would answer."""

    message_id: str
    outcome: Literal["Created", "Exists", "Rejected"]
    enrollment_id: str | None = None
    sync_request_id: str | None = None
    code: str | None = None
    detail: str | None = None


def enroll_many(
    *,
    db: Database,
    clock: Clock,
    requests: Sequence[tuple[str, m.NewEnrollment | str]],
    actor: str,
) -> list[EnrollmentOutcome]:
    """Enroll each request on its own, as separate single-record enrolls; one never stops another.

    ``requests`` pairs each messageId with the request, or with the reason it could not be
    read (a record that would have been a 422 on its own is Rejected with ``CPM-INVALID``).
    """
    outcomes: list[EnrollmentOutcome] = []
    for message_id, request in requests:
        if isinstance(request, str):
            outcomes.append(
                EnrollmentOutcome(message_id, "Rejected", code=m.INVALID_REQUEST, detail=request)
            )
            continue
        try:
            receipt = enroll(db=db, clock=clock, request=request, actor=actor)
        except Conflict as exc:
            if exc.code != str(m.DUPLICATE_MESSAGE_NUMBER):
                raise
            outcomes.append(
                EnrollmentOutcome(
                    message_id,
                    "Exists",
                    code=exc.code,
                    detail=exc.message,
                    enrollment_id=str(exc.details["enrollmentId"]),
                )
            )
            continue
        except BusinessError as exc:
            outcomes.append(
                EnrollmentOutcome(message_id, "Rejected", code=exc.code, detail=exc.message)
            )
            continue
        outcomes.append(
            EnrollmentOutcome(
                message_id,
                "Created",
                enrollment_id=receipt.enrollment_id,
                sync_request_id=receipt.sync_request_id,
            )
        )
    return outcomes
