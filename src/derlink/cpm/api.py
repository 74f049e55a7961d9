"""cpm's HTTP API (``/cpm/api/v1``): the health check and each feature's routes.

The features' routes keep the order they have in the OpenAPI document: the catalog, the
enrollments, the network locations, the device scores, then the program events.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Annotated

from fastapi import APIRouter, Depends

from derlink.common.clock import Clock
from derlink.cpm import scopes
from derlink.cpm.catalog import api as catalog_api
from derlink.cpm.enrollment import api as enrollment_api
from derlink.cpm.events import api as events_api
from derlink.cpm.network import api as network_api
from derlink.cpm.schemas import HealthRead
from derlink.cpm.scores import api as scores_api
from derlink.platform.auth import Client
from derlink.platform.database import Database
from derlink.platform.files import FileStore
from derlink.platform.intake.driver import FileIntake
from derlink.platform.web import JsonRoute, require

Reader = Annotated[Client, Depends(require(scopes.READ))]


def create_router(
    *,
    db: Database,
    clock: Clock,
    zone: tzinfo,
    store: FileStore,
    netloc: FileIntake,
    history: FileIntake,
) -> APIRouter:
    """Every route of ``/cpm/api/v1``, bound to one database, clock, the utility's ``zone`` and
    content server, the NET-LOC intake and ``history`` (the intake of participation-history
    files from the content server)."""
    router = APIRouter(route_class=JsonRoute)

    @router.get("/health")
    async def health(_: Reader) -> HealthRead:
        return HealthRead(status="UP")

    router.include_router(catalog_api.create_router(db=db, clock=clock))
    router.include_router(enrollment_api.create_router(db=db, clock=clock, store=store))
    router.include_router(network_api.create_router(db=db, intake=netloc))
    router.include_router(scores_api.create_router(db=db, clock=clock, store=store, intake=history))
    router.include_router(events_api.create_router(db=db, clock=clock, zone=zone))
    return router
