"""Reads of enrollments: one subscription in full, the subscriptions list (narrowed as the
console asks), and the reconciliation pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from derlink.common.errors import NotFound
from derlink.cpm.catalog.tables import persons
from derlink.cpm.enrollment import model as m
from derlink.cpm.enrollment.service.sync_requests import SyncRequestView, sync_requests_of
from derlink.cpm.enrollment.tables import devices, subscription_devices, subscriptions
from derlink.platform.database import Database


def device_rows(conn: Connection, enrollment_id: str) -> Sequence[Row[Any]]:
    """Every device the subscription holds or held, with its link status, in link order."""
    d, sd = devices, subscription_devices
    return conn.execute(
        sa.select(d, sd.c.status.label("link_status"))
        .select_from(sd.join(d, d.c.id == sd.c.device_id))
        .where(sd.c.subscription_id == enrollment_id)
        .order_by(sd.c.id)
    ).all()


@dataclass(frozen=True)
class DeviceView:
    device_id: str
    head_end_system: str
    nic_id: str
    device_type: str
    specification: str
    make: str
    model: str
    serial_no: str
    badge_no: str
    status: m.DeviceLinkStatus
    head_end_registration: str | None
    head_end_message: str | None


@dataclass(frozen=True)
class EnrollmentView:
    enrollment_id: str
    message_id: str | None
    drms_instance_id: str
    status: m.SubscriptionStatus
    program_code: str
    cis_account_id: str
    cis_person_id: str
    cis_premise_id: str
    cis_service_point_id: str
    division: str
    start_at: str
    end_at: str | None
    version: int
    devices: list[DeviceView]
    sync_requests: list[SyncRequestView]


def get_enrollment(*, db: Database, enrollment_id: str) -> EnrollmentView:
    """One subscription with its devices (REMOVED included) and its sync requests."""
    s = subscriptions
    with db.read() as conn:
        row = conn.execute(sa.select(s).where(s.c.id == enrollment_id)).first()
        if row is None:
            raise NotFound(f"no enrollment {enrollment_id}")
        held = device_rows(conn, enrollment_id)
        syncs = sync_requests_of(conn, enrollment_id)
    return EnrollmentView(
        enrollment_id=row.id,
        message_id=row.message_id,
        drms_instance_id=row.drms_instance_id,
        status=m.SubscriptionStatus(row.status),
        program_code=row.program_code,
        cis_account_id=row.cis_account_id,
        cis_person_id=row.cis_person_id,
        cis_premise_id=row.cis_premise_id,
        cis_service_point_id=row.cis_service_point_id,
        division=row.division,
        start_at=row.start_at,
        end_at=row.end_at,
        version=row.version,
        devices=[
            DeviceView(
                device_id=r.id,
                head_end_system=r.head_end_system,
                nic_id=r.nic_id,
                device_type=r.device_type,
                specification=r.specification,
                make=r.make,
                model=r.model,
                serial_no=r.serial_no,
                badge_no=r.badge_no,
                status=m.DeviceLinkStatus(r.link_status),
                head_end_registration=r.head_end_registration,
                head_end_message=r.head_end_message,
            )
            for r in held
        ],
        sync_requests=syncs,
    )


@dataclass(frozen=True)
class ReconciliationItem:
    subscription_id: str
    status: m.SubscriptionStatus
    program_code: str
    cis_service_point_id: str
    #: ``HEADEND!NIC`` of every device the subscription holds (ACTIVE links), sorted.
    devices: list[str]


@dataclass(frozen=True)
class SubscriptionFilter:
    """What the subscriptions list is narrowed to; an empty field narrows nothing."""

    status: m.SubscriptionStatus | None = None
    program_code: str = ""
    service_point_id: str = ""
    account_id: str = ""
    #: Part of the customer's name, any case.
    customer_name: str = ""
    #: Any id of the subscription: its own, its service point's, its account's, its
    #: customer's (CIS person id) or its enrollment request's message id.
    any_id: str = ""

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        s = subscriptions.c
        where: list[sa.ColumnElement[bool]] = []
        if self.status is not None:
            where.append(s.status == self.status.value)
        for column, value in (
            (s.program_code, self.program_code),
            (s.cis_service_point_id, self.service_point_id),
            (s.cis_account_id, self.account_id),
        ):
            if value:
                where.append(column == value)
        if self.customer_name:
            where.append(sa.func.lower(persons.c.name).contains(self.customer_name.lower()))
        if self.any_id:
            where.append(
                sa.or_(
                    *(
                        column == self.any_id
                        for column in (
                            s.id,
                            s.cis_service_point_id,
                            s.cis_account_id,
                            s.cis_person_id,
                            s.message_id,
                        )
                    )
                )
            )
        return where


@dataclass(frozen=True)
class SubscriptionItem:
    subscription_id: str
    status: m.SubscriptionStatus
    program_code: str
    cis_service_point_id: str
    cis_account_id: str
    customer_name: str
    #: ``HEADEND!NIC`` of every device the subscription holds (ACTIVE links), sorted.
    devices: list[str]


def subscription_page(
    *, db: Database, narrowed: SubscriptionFilter, after: str | None = None, limit: int = 50
) -> m.Page[SubscriptionItem]:
    """Subscriptions in id order, narrowed by status, program, service point, account,
    customer name or any of their ids, with their customer's name and active devices."""
    s = subscriptions.c
    query = (
        sa.select(
            s.id,
            s.status,
            s.program_code,
            s.cis_service_point_id,
            s.cis_account_id,
            persons.c.name,
        )
        .select_from(subscriptions.outerjoin(persons, persons.c.cis_person_id == s.cis_person_id))
        .where(*narrowed.conditions())
        .order_by(s.id)
        .limit(limit + 1)
    )
    if after:
        query = query.where(s.id > after)
    with db.read() as conn:
        rows = conn.execute(query).all()
        page = rows[:limit]
        held = _active_devices(conn, [r.id for r in page])
    items = [
        SubscriptionItem(
            r.id,
            m.SubscriptionStatus(r.status),
            r.program_code,
            r.cis_service_point_id,
            r.cis_account_id,
            r.name or "",
            sorted(held[r.id]),
        )
        for r in page
    ]
    return m.Page(items, page[-1].id if len(rows) > limit else None)


def _active_devices(conn: Connection, subscription_ids: list[str]) -> dict[str, list[str]]:
    """``HEADEND!NIC`` of the devices each subscription holds (ACTIVE links)."""
    sd, d = subscription_devices, devices
    keys: dict[str, list[str]] = {i: [] for i in subscription_ids}
    if not subscription_ids:
        return keys
    links = conn.execute(
        sa.select(sd.c.subscription_id, d.c.head_end_system, d.c.nic_id)
        .select_from(sd.join(d, d.c.id == sd.c.device_id))
        .where(
            sd.c.subscription_id.in_(subscription_ids),
            sd.c.status == m.DeviceLinkStatus.ACTIVE.value,
        )
    )
    for link in links:
        keys[link.subscription_id].append(f"{link.head_end_system}!{link.nic_id}")
    return keys


def reconciliation_page(
    *, db: Database, after: str | None = None, limit: int = 500
) -> m.Page[ReconciliationItem]:
    """Subscriptions in id order with their active device keys, to compare cpm with derms."""
    s = subscriptions
    query = (
        sa.select(s.c.id, s.c.status, s.c.program_code, s.c.cis_service_point_id)
        .order_by(s.c.id)
        .limit(limit + 1)
    )
    if after:
        query = query.where(s.c.id > after)
    with db.read() as conn:
        rows = conn.execute(query).all()
        page = rows[:limit]
        keys = _active_devices(conn, [r.id for r in page])
    items = [
        ReconciliationItem(
            r.id,
            m.SubscriptionStatus(r.status),
            r.program_code,
            r.cis_service_point_id,
            sorted(keys[r.id]),
        )
        for r in page
    ]
    return m.Page(items, page[-1].id if len(rows) > limit else None)
