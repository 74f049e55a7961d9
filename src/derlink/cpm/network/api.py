"""NET-LOC's routes of cpm's API: a service point's network locations (``cpm:read``) and the
intake run now (``cpm:admin``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from derlink.cpm import scopes
from derlink.cpm.network import schemas, service
from derlink.platform.auth import Client
from derlink.platform.database import Database
from derlink.platform.intake.driver import FileIntake
from derlink.platform.openapi import documented_error
from derlink.platform.web import JsonRoute, require

Reader = Annotated[Client, Depends(require(scopes.READ))]
Admin = Annotated[Client, Depends(require(scopes.ADMIN))]

_UNKNOWN_SP = documented_error(
    404, "cpm holds no such service point.", "cpm holds no service point SP-9", "DL-NOT-FOUND"
)


def create_router(*, db: Database, intake: FileIntake) -> APIRouter:
    """NET-LOC's routes of ``/cpm/api/v1``."""
    router = APIRouter(route_class=JsonRoute)

    @router.get("/service-points/{cisServicePointId}/network-locations", responses=_UNKNOWN_SP)
    async def network_locations(cisServicePointId: str, _: Reader) -> schemas.NetworkLocationsRead:
        """Every network location of a service point, oldest first (empty when DERMS has sent
        none)."""
        found = await run_in_threadpool(
            service.location_history, db=db, cis_service_point_id=cisServicePointId
        )
        return schemas.NetworkLocationsRead(
            cisServicePointId=cisServicePointId,
            locations=[
                schemas.NetworkLocationRead(
                    transformerId=v.value[0],
                    feederId=v.value[1],
                    substationId=v.value[2],
                    effectiveFrom=v.effective_from,
                    effectiveTo=v.effective_to,
                )
                for v in found
            ],
        )

    @router.post("/network-locations/intake")
    async def run_netloc_intake(_: Admin) -> schemas.NetLocIntakeRead:
        """Take the NET-LOC files waiting in cpm's object storage now."""
        return schemas.NetLocIntakeRead(
            files=[schemas.NetLocFileRead.of(s) for s in await intake.run_once()]
        )

    return router
