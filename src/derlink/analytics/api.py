"""analytics' HTTP API (``/analytics/api/v1``): the enrollment intake and what it stored.

Thin routes: each checks its scope (``analytics:write`` to run the intake, ``analytics:read``
for the reads), calls one function and answers a schema named by direction (``...Read`` goes
out). The reads are the small queries below; errors map to problem+json in platform/web.py.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from derlink.analytics.enrollment_rows import STATUSES
from derlink.analytics.intake import EnrollmentIntake, FileSummary
from derlink.analytics.tables import enrollment_files, subscriptions
from derlink.common.errors import NotFound
from derlink.platform.auth import Client
from derlink.platform.database import Database
from derlink.platform.web import require

Reader = Annotated[Client, Depends(require("analytics:read"))]
Writer = Annotated[Client, Depends(require("analytics:write"))]


# -- schemas --------------------------------------------------------------------------------


class HealthRead(BaseModel):
    status: str


class FileSummaryRead(BaseModel):
    name: str
    state: str
    rows: int
    accepted: int
    rejected: int
    ackFile: str | None
    renamedTo: str | None
    error: str | None


class IntakeRead(BaseModel):
    files: list[FileSummaryRead]


class EnrollmentFileRead(BaseModel):
    fileId: int
    name: str
    checksum: str | None
    size: int
    state: str
    rows: int
    accepted: int
    rejected: int
    ackFile: str | None
    renamedTo: str | None
    receivedAt: str
    finishedAt: str | None
    attempts: int
    error: str | None


class SubscriptionRead(BaseModel):
    subscriptionId: str
    syncRequestId: str
    programId: str
    programCode: str
    cisAccountId: str
    cisPersonId: str
    servicePointId: str
    cisServicePointId: str
    cisPremiseId: str
    division: str
    subscriptionType: str
    status: str
    startDateTimeISO: str
    endDateTimeISO: str | None
    version: int
    updatedAt: str
    sourceFile: str


class SubscriptionPage(BaseModel):
    items: list[SubscriptionRead]
    #: The ``after`` of the next page; None on the last one.
    next: str | None


# -- routes ---------------------------------------------------------------------------------


def create_router(*, db: Database, intake: EnrollmentIntake) -> APIRouter:
    """The routes of ``/analytics/api/v1``, bound to one database and intake."""
    router = APIRouter()

    @router.get("/health")
    async def health(_: Reader) -> HealthRead:
        return HealthRead(status="UP")

    @router.post("/enrollment-files/intake")
    async def run_intake(_: Writer) -> IntakeRead:
        """Take the enrollment files waiting in the object storage now."""
        return IntakeRead(files=[_summary_read(s) for s in await intake.run_once()])

    @router.get("/enrollment-files")
    async def list_enrollment_files(
        _: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[EnrollmentFileRead]:
        """The files taken, newest first."""
        return await run_in_threadpool(recent_files, db=db, limit=limit)

    @router.get("/subscriptions")
    async def list_subscriptions(
        _: Reader,
        after: str | None = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> SubscriptionPage:
        """Subscriptions in id order, one page after ``after``."""
        return await run_in_threadpool(subscription_page, db=db, after=after, limit=limit)

    @router.get("/subscriptions/counts")
    async def count_subscriptions(_: Reader) -> dict[str, int]:
        """Subscriptions by status (every status named, zero included)."""
        return await run_in_threadpool(subscription_counts, db=db)

    @router.get("/subscriptions/{subscription_id}")
    async def get_subscription(subscription_id: str, _: Reader) -> SubscriptionRead:
        return await run_in_threadpool(find_subscription, db=db, subscription_id=subscription_id)

    return router


def _summary_read(s: FileSummary) -> FileSummaryRead:
    return FileSummaryRead(
        name=s.name,
        state=str(s.state),
        rows=s.rows,
        accepted=s.accepted,
        rejected=s.rejected,
        ackFile=s.ack_file,
        renamedTo=s.renamed_to,
        error=s.error,
    )


# -- reads ----------------------------------------------------------------------------------


def recent_files(*, db: Database, limit: int) -> list[EnrollmentFileRead]:
    """The enrollment files taken, newest first."""
    f = enrollment_files
    with db.read() as conn:
        rows = conn.execute(sa.select(f).order_by(f.c.id.desc()).limit(limit)).all()
    return [
        EnrollmentFileRead(
            fileId=r.id,
            name=r.name,
            checksum=r.checksum,
            size=r.size,
            state=r.state,
            rows=r.rows,
            accepted=r.accepted,
            rejected=r.rejected,
            ackFile=r.ack_file,
            renamedTo=r.renamed_to,
            receivedAt=r.received_at,
            finishedAt=r.finished_at,
            attempts=r.attempts,
            error=r.error,
        )
        for r in rows
    ]


def find_subscription(*, db: Database, subscription_id: str) -> SubscriptionRead:
    """One subscription as analytics holds it; NotFound if it never came in an extract."""
    s = subscriptions
    with db.read() as conn:
        row = conn.execute(sa.select(s).where(s.c.subscription_id == subscription_id)).first()
    if row is None:
        raise NotFound(f"no subscription {subscription_id} in analytics")
    return _subscription_read(row._mapping)


def subscription_page(*, db: Database, after: str | None, limit: int) -> SubscriptionPage:
    """A keyset page: the ``limit`` subscriptions whose id follows ``after``."""
    s = subscriptions
    query = sa.select(s).order_by(s.c.subscription_id).limit(limit + 1)
    if after is not None:
        query = query.where(s.c.subscription_id > after)
    with db.read() as conn:
        rows = conn.execute(query).all()
    items = [_subscription_read(r._mapping) for r in rows[:limit]]
    return SubscriptionPage(
        items=items, next=items[-1].subscriptionId if len(rows) > limit else None
    )


def subscription_counts(*, db: Database) -> dict[str, int]:
    """Subscriptions by status, every status named."""
    s = subscriptions
    with db.read() as conn:
        found = conn.execute(sa.select(s.c.status, sa.func.count()).group_by(s.c.status))
        counts = {status: 0 for status in sorted(STATUSES)}
        counts.update({str(r[0]): int(r[1]) for r in found})
    return counts


def _subscription_read(row: Any) -> SubscriptionRead:
    return SubscriptionRead(
        subscriptionId=row["subscription_id"],
        syncRequestId=row["sync_request_id"],
        programId=row["program_id"],
        programCode=row["program_code"],
        cisAccountId=row["cis_account_id"],
        cisPersonId=row["cis_person_id"],
        servicePointId=row["service_point_id"],
        cisServicePointId=row["cis_service_point_id"],
        cisPremiseId=row["cis_premise_id"],
        division=row["division"],
        subscriptionType=row["subscription_type"],
        status=row["status"],
        startDateTimeISO=row["start_at"],
        endDateTimeISO=row["end_at"],
        version=row["version"],
        updatedAt=row["updated_at"],
        sourceFile=row["source_file"],
    )
