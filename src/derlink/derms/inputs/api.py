"""DERMS's inputs' HTTP API (docs/contracts/derms-inputs.md): thin routes only, plain ``def``
(the blocking database calls run on FastAPI's worker threads)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from derlink.common.clock import Clock
from derlink.derms import scopes
from derlink.derms.inputs import model, schemas, service
from derlink.platform.database import Database
from derlink.platform.openapi import documented_error
from derlink.platform.web import JsonRoute, json_body_schema, parse_json_body, require

_UNKNOWN_DEVICE = documented_error(
    404,
    "derms holds no score of this device.",
    "derms holds no score of device ECOBEE-HE/NIC-1",
    "DL-NOT-FOUND",
)
_UNKNOWN_SERVICE_POINT = documented_error(
    404,
    "derms holds no forecast of this service point.",
    "derms holds no forecast of service point SP1",
    "DL-NOT-FOUND",
)
#: The separator of a device's cursor: ``<headEndSystem>!<nicId>``.
SEPARATOR = "!"


def _applied(applied: model.Applied) -> schemas.Applied:
    return schemas.Applied(applied=applied.applied, stale=applied.stale)


def _score(s: model.DeviceScore) -> schemas.DeviceScoreRead:
    return schemas.DeviceScoreRead(**schemas.DeviceScore.of(s).model_dump(), file=s.file)


def _forecast(f: model.Forecast) -> schemas.ForecastRead:
    return schemas.ForecastRead(**schemas.Forecast.of(f).model_dump(), file=f.file)


def create_router(*, db: Database, clock: Clock) -> APIRouter:
    """The inputs' routes of derms's API, bound to its database and clock."""
    router = APIRouter(route_class=JsonRoute)
    read = [Depends(require(scopes.READ))]
    write = [Depends(require(scopes.INPUTS))]

    # The hot paths of DEV-SCORE and LRF (collections of 5,000): the body is parsed and
    # validated in one pass by pydantic's JSON parser, not FastAPI's generic body handling.
    @router.post(
        "/device-scores",
        dependencies=write,
        response_model=schemas.Applied,
        openapi_extra=json_body_schema(
            schemas.DeviceScoreBatch,
            {
                "batchId": "hub-dev-score-000001",
                "file": schemas.FILE_EXAMPLE,
                "scores": [schemas.SCORE_EXAMPLE],
            },
        ),
    )
    async def receive_scores(request: Request) -> schemas.Applied:
        """DEV-SCORE: keep each score newer than the one held of its device."""
        body = await parse_json_body(schemas.DeviceScoreBatch, await request.body())
        scores = [s.to_domain(body.file) for s in body.scores]
        applied = await run_in_threadpool(service.apply_scores, db=db, clock=clock, scores=scores)
        return _applied(applied)

    @router.get("/device-scores", dependencies=read)
    def score_page(
        after: Annotated[str | None, Query(max_length=161, pattern=r"^[^!]+!.+$")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> schemas.DeviceScorePage:
        """A page of device scores by head-end system and NIC id; ``after`` is a page's
        ``next``, ``<headEndSystem>!<nicId>``."""
        head_end, _, nic = (after or "").partition(SEPARATOR)
        page, next_key = service.score_page(
            db=db, after=(head_end, nic) if after else None, limit=limit
        )
        return schemas.DeviceScorePage(
            items=[_score(s) for s in page],
            next=SEPARATOR.join(next_key) if next_key else None,
        )

    @router.get(
        "/device-scores/{head_end_system}/{nic_id}", dependencies=read, responses=_UNKNOWN_DEVICE
    )
    def device_score(head_end_system: str, nic_id: str) -> schemas.DeviceScoreRead:
        """The latest score of one device."""
        return _score(service.get_score(db=db, head_end_system=head_end_system, nic_id=nic_id))

    @router.post(
        "/forecasts",
        dependencies=write,
        response_model=schemas.Applied,
        openapi_extra=json_body_schema(
            schemas.ForecastBatch,
            {
                "batchId": "hub-lrf-000001",
                "file": "LRF_20260716T060000Z.csv",
                "forecasts": [schemas.FORECAST_EXAMPLE],
            },
        ),
    )
    async def receive_forecasts(request: Request) -> schemas.Applied:
        """LRF: keep each forecast newer than the one held of its service point, whole."""
        body = await parse_json_body(schemas.ForecastBatch, await request.body())
        items = [f.to_domain(body.file) for f in body.forecasts]
        applied = await run_in_threadpool(service.apply_forecasts, db=db, clock=clock, items=items)
        return _applied(applied)

    @router.get("/forecasts", dependencies=read)
    def forecast_page(
        after: Annotated[str | None, Query(max_length=80)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> schemas.ForecastPage:
        """A page of forecasts by service point."""
        page, next_sp = service.forecast_page(db=db, after=after, limit=limit)
        return schemas.ForecastPage(items=[_forecast(f) for f in page], next=next_sp)

    @router.get("/forecasts/{sp_id}", dependencies=read, responses=_UNKNOWN_SERVICE_POINT)
    def forecast(sp_id: str) -> schemas.ForecastRead:
        """The latest forecast of one service point."""
        return _forecast(service.get_forecast(db=db, sp_id=sp_id))

    return router
