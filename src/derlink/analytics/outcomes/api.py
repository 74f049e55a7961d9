"""analytics' HTTP API (``/analytics/api/v1``): the outcome intake and what it stored.

Thin routes: each checks its scope (``analytics:write`` to run the intake, ``analytics:read``
for the reads), calls one function of ``service.py`` and answers a schema of ``schemas.py``
(``...Read`` goes out). Errors map to problem+json in platform/web.py.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from derlink.analytics import scopes
from derlink.analytics.intakes import file_fields
from derlink.analytics.outcomes import service
from derlink.analytics.outcomes.model import ID_MAX
from derlink.analytics.outcomes.schemas import (
    EventOutcomePage,
    EventOutcomeRead,
    OutcomeFileRead,
    OutcomeFileSummaryRead,
    OutcomeIntakeRead,
    OutcomeRefusalRead,
)
from derlink.platform.auth import Client
from derlink.platform.database import Database
from derlink.platform.intake.driver import FileIntake
from derlink.platform.web import JsonRoute, require

Reader = Annotated[Client, Depends(require(scopes.READ))]
Writer = Annotated[Client, Depends(require(scopes.WRITE))]
Id = Annotated[str | None, Query(max_length=ID_MAX)]
Outcome = Literal["D1SP", "D1ND", "D1IO", "D1ER", "D1CN"]
#: A page of outcomes: after the position the last page's ``next`` named.
After = Annotated[int | None, Query(ge=0, le=2**31 - 1)]


def create_router(*, db: Database, intake: FileIntake) -> APIRouter:
    """The outcome routes of ``/analytics/api/v1``, bound to one database and intake."""
    router = APIRouter(route_class=JsonRoute)

    @router.post("/outcome-files/intake")
    async def run_intake(_: Writer) -> OutcomeIntakeRead:
        """Take the outcome files waiting in the object storage now."""
        return OutcomeIntakeRead(
            files=[OutcomeFileSummaryRead.of(s) for s in await intake.run_once()]
        )

    @router.get("/outcome-files")
    async def list_outcome_files(
        _: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[OutcomeFileRead]:
        """The outcome files taken, newest first, each with its counts and first refusals."""
        found = await run_in_threadpool(service.recent_files, db=db, limit=limit)
        return [_file_read(f, refusals) for f, refusals in found]

    @router.get("/event-outcomes")
    async def list_event_outcomes(
        _: Reader,
        stageId: Id = None,
        eventId: Id = None,
        spId: Id = None,
        nicId: Id = None,
        outcome: Outcome | None = None,
        after: After = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> EventOutcomePage:
        """The devices' outcomes in stages, in the order analytics first took them, one page
        after ``after``; narrowed by stage, DERMS event, service point, NIC or outcome."""
        narrowed = service.OutcomeFilter(stageId, eventId, spId, nicId, outcome)
        rows, following = await run_in_threadpool(
            service.outcome_page, db=db, narrowed=narrowed, after=after, limit=limit
        )
        return EventOutcomePage(items=[_outcome_read(r) for r in rows], next=following)

    return router


def _file_read(r: Any, refusals: list[Any]) -> OutcomeFileRead:
    return OutcomeFileRead(
        **file_fields(r),
        refusals=[
            OutcomeRefusalRead(
                rowNumber=x["row_number"],
                recordId=x["record_id"],
                stageId=x["stage_id"],
                headEndSystem=x["head_end_system"],
                nicId=x["nic_id"],
                reasonCode=x["code"],
                reason=x["reason"],
            )
            for x in refusals
        ],
    )


def _outcome_read(r: Any) -> EventOutcomeRead:
    return EventOutcomeRead(
        stageId=r["stage_id"],
        eventId=r["event_id"],
        programId=r["program_id"],
        headEndSystem=r["head_end_system"],
        nicId=r["nic_id"],
        deviceId=r["device_id"],
        spId=r["sp_id"],
        outcome=r["outcome"],
        errorMessage=r["error_message"],
        participationStartTime=r["participation_start_at"],
        participationEndTime=r["participation_end_at"],
        measuredKw=r["measured_kw"],
        recordId=r["record_id"],
        sourceFile=r["file_name"],
        receivedAt=r["received_at"],
    )
