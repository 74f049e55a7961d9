"""The network model's HTTP API (docs/contracts/network.md): thin routes only.

Reads need ``derms:read``; an operator's edit of a location, a model-export intake run and a
NET-LOC export run need ``derms:network``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from starlette.concurrency import run_in_threadpool

from derlink.common.clock import Clock
from derlink.common.effective import Version
from derlink.derms import scopes
from derlink.derms.db import EXT
from derlink.derms.network import schemas, service
from derlink.platform.auth import Client
from derlink.platform.database import Database
from derlink.platform.files import FileStore
from derlink.platform.intake.driver import FileIntake
from derlink.platform.openapi import body_example, documented_error
from derlink.platform.web import JsonRoute, require

Reader = Annotated[Client, Depends(require(scopes.READ))]
Operator = Annotated[Client, Depends(require(scopes.NETWORK))]
Day = Annotated[date | None, Query(description="The day (YYYY-MM-DD); today (UTC) when absent.")]

_UNKNOWN_NODE = documented_error(
    404,
    "The network model holds no such node.",
    "the network model holds no node T-9",
    "DL-NOT-FOUND",
)
_UNKNOWN_LOCATION = documented_error(
    404,
    "The network model holds no location of this service point.",
    "the network model holds no location of service point SP-9",
    "DL-NOT-FOUND",
)
_REFUSED_LOCATION = documented_error(
    422,
    "The model refuses the location: the transformer is unknown (NET-PARENT), the service "
    "point holds another transformer from that day (NET-CONFLICT) or a later version (NET-LATE).",
    "ParentId T-9 is not in the network model, not a TRANSFORMER",
    "NET-PARENT",
)


def _versions(versions: list[Version]) -> list[schemas.LocationVersion]:
    return [
        schemas.LocationVersion(
            transformerId=v.value[0], effectiveFrom=v.effective_from, effectiveTo=v.effective_to
        )
        for v in versions
    ]


def _tree(t: service.TreeNode) -> schemas.TreeNodeRead:
    return schemas.TreeNodeRead(
        id=t.node.node_id,
        kind=t.node.kind,
        name=t.node.name,
        servicePoints=t.service_points,
        children=[_tree(c) for c in t.children],
    )


def create_router(
    *, db: Database, clock: Clock, intake: FileIntake, content: FileStore
) -> APIRouter:
    """The network model's routes of derms's API."""
    router = APIRouter(route_class=JsonRoute, prefix="/network")

    def day(on: date | None) -> str:
        return (on or clock.now().date()).isoformat()

    @router.get("/tree")
    async def network_tree(_: Reader, on: Day = None) -> schemas.NetworkRead:
        """The network in force on a day: substations → feeders → transformers, each with the
        number of service points under it."""
        found = await run_in_threadpool(service.tree, db=db, on=day(on))
        return schemas.NetworkRead(on=day(on), substations=[_tree(t) for t in found])

    @router.get("/nodes/{nodeId}", responses=_UNKNOWN_NODE)
    async def network_node(nodeId: str, _: Reader, on: Day = None) -> schemas.NodeRead:
        """One substation, feeder or transformer: every version, and what is under it on a day."""
        view = await run_in_threadpool(service.node, db=db, node_id=nodeId, on=day(on))
        first = view.versions[0]
        return schemas.NodeRead(
            id=first.node_id,
            kind=first.kind,
            versions=[
                schemas.NodeVersion(
                    parentId=v.parent_id,
                    name=v.name,
                    effectiveFrom=v.effective_from,
                    effectiveTo=v.effective_to,
                )
                for v in view.versions
            ],
            on=day(on),
            inForce=_tree(view.in_force) if view.in_force else None,
        )

    @router.get("/service-points/{spId}/locations", responses=_UNKNOWN_LOCATION)
    async def location_history(spId: str, _: Reader) -> schemas.LocationHistoryRead:
        """Every version of a service point's location, oldest first."""
        found = await run_in_threadpool(service.location_history, db=db, sp_id=spId)
        return schemas.LocationHistoryRead(spId=spId, versions=_versions(found))

    @router.put(
        "/service-points/{spId}/location",
        responses=_REFUSED_LOCATION,
        openapi_extra=body_example(
            schemas.LocationWrite, {"transformerId": "T-0042", "effectiveFrom": "2026-07-01"}
        ),
    )
    async def set_location(
        spId: Annotated[str, Path(min_length=1, max_length=EXT)],
        body: schemas.LocationWrite,
        client: Operator,
    ) -> schemas.LocationChangeRead:
        """Place a service point under a transformer from a day on: a new version, the one
        before it closing on that day (the same transformer again changes nothing)."""
        outcome = await run_in_threadpool(
            service.set_location,
            db=db,
            clock=clock,
            sp_id=spId,
            transformer_id=body.transformerId,
            effective_from=body.effectiveFrom.isoformat(),
            actor=client.client_id,
        )
        found = await run_in_threadpool(service.location_history, db=db, sp_id=spId)
        return schemas.LocationChangeRead(
            spId=spId,
            outcome="unchanged" if outcome == "unchanged" else "inserted",
            versions=_versions(found),
        )

    @router.post("/model-files/intake")
    async def run_model_intake(_: Operator) -> schemas.ModelIntakeRead:
        """Take the model exports waiting in DERMS's model store now."""
        return schemas.ModelIntakeRead(
            files=[schemas.ModelFileRead.of(s) for s in await intake.run_once()]
        )

    @router.post("/exports")
    async def run_export(_: Operator) -> schemas.ExportRead:
        """Write the NET-LOC export now: every location in force today."""
        done = await service.write_netloc_export(db=db, clock=clock, store=content)
        return schemas.ExportRead(fileName=done.file_name, rows=done.rows, on=done.on)

    return router
