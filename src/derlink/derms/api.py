"""derms's HTTP API (``/derms/api/v1``): the health check and each feature's routes."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from derlink.common.clock import Clock
from derlink.derms import scopes
from derlink.derms.events import api as events_api
from derlink.derms.inputs import api as inputs_api
from derlink.derms.masterdata import api as masterdata_api
from derlink.derms.network import api as network_api
from derlink.derms.registry import api as registry_api
from derlink.platform.database import Database
from derlink.platform.files import FileStore
from derlink.platform.intake.driver import FileIntake
from derlink.platform.openapi import example_of
from derlink.platform.web import JSONResponse, JsonRoute, require


class HealthRead(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of({"status": "UP"}))

    status: Literal["UP", "DOWN"]


def create_router(
    *,
    db: Database,
    clock: Clock,
    intake: FileIntake,
    content: FileStore,
    ba_threshold_mw: float,
    notify_ba: events_api.Notify,
    zone: ZoneInfo,
    outcome_intake: FileIntake,
) -> APIRouter:
    """Every route of ``/derms/api/v1``, bound to derms's database and clock, the network
    model's intake, its content server, and the balance authority's threshold and
    notification."""
    router = APIRouter(route_class=JsonRoute)

    @router.get(
        "/health",
        dependencies=[Depends(require(scopes.READ))],
        response_model=HealthRead,
        responses={
            503: {
                "model": HealthRead,
                "description": "DOWN: the database does not answer.",
                "content": {"application/json": {"example": {"status": "DOWN"}}},
            }
        },
    )
    def health() -> Response:
        """UP when derms's database answers, DOWN (503) otherwise."""
        status = "UP" if db.answers() else "DOWN"
        return JSONResponse({"status": status}, status_code=200 if status == "UP" else 503)

    router.include_router(registry_api.create_router(db=db, clock=clock))
    router.include_router(masterdata_api.create_router(db=db, clock=clock))
    router.include_router(
        network_api.create_router(db=db, clock=clock, intake=intake, content=content)
    )
    router.include_router(inputs_api.create_router(db=db, clock=clock))
    router.include_router(
        events_api.create_router(
            db=db,
            clock=clock,
            ba_threshold_mw=ba_threshold_mw,
            notify_ba=notify_ba,
            zone=zone,
            outcome_intake=outcome_intake,
        )
    )
    return router
