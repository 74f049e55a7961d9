"""Device scores' HTTP API (docs/cpm-scores.md): run now, and the runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from derlink.common.clock import Clock
from derlink.cpm import scopes
from derlink.cpm.scores import model as m
from derlink.cpm.scores import service
from derlink.cpm.scores.schemas import ScoreRunRead
from derlink.platform.auth import Client
from derlink.platform.database import Database
from derlink.platform.files import FileStore
from derlink.platform.intake.driver import FileIntake
from derlink.platform.openapi import documented_error
from derlink.platform.web import JsonRoute, require

Reader = Annotated[Client, Depends(require(scopes.READ))]
Admin = Annotated[Client, Depends(require(scopes.ADMIN))]

RUNNING = documented_error(
    409,
    "A score run is running; one runs at a time.",
    "a score run is running (run SC-1); one runs at a time",
    m.RUNNING,
)
UNKNOWN = documented_error(404, "No such score run.", "no score run SC-1", m.UNKNOWN_RUN)


def _read(v: service.RunView) -> ScoreRunRead:
    return ScoreRunRead(
        runId=v.run_id,
        state=v.state,
        asOf=v.as_of,
        rows=v.rows,
        unscored=v.unscored,
        historyFiles=v.history_files,
        fileName=v.file_name,
        startedAt=v.started_at,
        finishedAt=v.finished_at,
        actor=v.actor,
        error=v.error,
    )


def create_router(*, db: Database, clock: Clock, store: FileStore, intake: FileIntake) -> APIRouter:
    router = APIRouter(route_class=JsonRoute)

    @router.post("/score-runs", status_code=201, responses=RUNNING)
    async def run_scores(client: Admin) -> ScoreRunRead:
        """Run now, to its end: take in the participation-history files waiting, score every
        device of an Active subscription and write the SDCSE file. 409 if one is running."""
        view = await service.run_scores(
            db=db, clock=clock, store=store, intake=intake, actor=client.client_id
        )
        return _read(view)

    @router.get("/score-runs")
    async def list_runs(
        _: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 50
    ) -> list[ScoreRunRead]:
        """The latest score runs, newest first."""
        return [_read(v) for v in await run_in_threadpool(service.list_runs, db=db, limit=limit)]

    @router.get("/score-runs/{run_id}", responses=UNKNOWN)
    async def get_run(run_id: str, _: Reader) -> ScoreRunRead:
        return _read(await run_in_threadpool(service.get_run, db=db, run_id=run_id))

    return router
