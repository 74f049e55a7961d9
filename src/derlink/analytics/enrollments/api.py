"""analytics' HTTP API (``/analytics/api/v1``): the enrollment intake and what it stored.

Thin routes: each checks its scope (``analytics:write`` to run the intake, ``analytics:read``
for the reads), calls one function of ``service.py`` and answers a schema of ``schemas.py``
(``...Read`` goes out). Errors map to problem+json in platform/web.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from derlink.analytics import scopes
from derlink.analytics.enrollments import service
from derlink.analytics.enrollments.schemas import (
    EnrollmentFileRead,
    FileSummaryRead,
    HealthRead,
    IntakeRead,
    SubscriptionPage,
    SubscriptionRead,
)
from derlink.analytics.intakes import file_fields
from derlink.platform.auth import Client
from derlink.platform.database import Database
from derlink.platform.intake.driver import FileIntake
from derlink.platform.openapi import answer_example
from derlink.platform.web import JsonRoute, require

Reader = Annotated[Client, Depends(require(scopes.READ))]
Writer = Annotated[Client, Depends(require(scopes.WRITE))]


def create_router(*, db: Database, intake: FileIntake) -> APIRouter:
    """The routes of ``/analytics/api/v1``, bound to one database and intake."""
    router = APIRouter(route_class=JsonRoute)

    @router.get("/health")
    async def health(_: Reader) -> HealthRead:
        return HealthRead(status="UP")

    @router.post("/enrollment-files/intake")
    async def run_intake(_: Writer) -> IntakeRead:
        """Take the enrollment files waiting in the object storage now."""
        return IntakeRead(files=[FileSummaryRead.of(s) for s in await intake.run_once()])

    @router.get("/enrollment-files")
    async def list_enrollment_files(
        _: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[EnrollmentFileRead]:
        """The files taken, newest first."""
        rows = await run_in_threadpool(service.recent_files, db=db, limit=limit)
        return [EnrollmentFileRead(**file_fields(r)) for r in rows]

    @router.get("/subscriptions")
    async def list_subscriptions(
        _: Reader,
        after: str | None = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> SubscriptionPage:
        """Subscriptions in id order, one page after ``after``."""
        rows, following = await run_in_threadpool(
            service.subscription_page, db=db, after=after, limit=limit
        )
        return SubscriptionPage(items=[_subscription_read(r) for r in rows], next=following)

    @router.get(
        "/subscriptions/counts",
        openapi_extra=answer_example({"Active": 19990, "Inactive": 10, "Pending": 0}),
    )
    async def count_subscriptions(_: Reader) -> dict[str, int]:
        """Subscriptions by status (every status named, zero included)."""
        return await run_in_threadpool(service.subscription_counts, db=db)

    @router.get("/subscriptions/{subscription_id}")
    async def get_subscription(subscription_id: str, _: Reader) -> SubscriptionRead:
        row = await run_in_threadpool(
            service.find_subscription, db=db, subscription_id=subscription_id
        )
        return _subscription_read(row)

    return router


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
