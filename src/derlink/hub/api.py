"""The hub's HTTP API: intake for every flow, instances, the hospital, flows, lookups."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError

from derlink.common.errors import BusinessError
from derlink.hub import scopes
from derlink.hub.catalog import publishing_refusal
from derlink.hub.lookups import LookupStore
from derlink.hub.metrics import exposition
from derlink.hub.schemas import (
    Accepted,
    Discarded,
    FlowPaused,
    FlowRead,
    FlowResumed,
    FlowStarted,
    HubHealth,
    InstanceDetail,
    InstanceRead,
    LookupSet,
    LookupValue,
    Reconciliation,
    ReconciliationRun,
    ReconciliationRunDetail,
    Resubmitted,
    Selection,
    Stats,
)
from derlink.hub.service import Hub
from derlink.platform.auth import Client, Forbidden
from derlink.platform.logs import mask
from derlink.platform.openapi import (
    answer_example,
    body_example,
    carry,
    documented_error,
    inline_definitions,
    model_example,
)
from derlink.platform.web import JSONResponse, JsonRoute, require

# Module level: with postponed annotations FastAPI resolves these names in module globals.
Operator = Annotated[Client, Depends(require(scopes.OPERATE))]
Publisher = Annotated[Client, Depends(require(scopes.PUBLISH))]


#: The longest user name ``X-Derlink-User`` may carry (the audit's actor column holds 80).
USER_MAX = 40


def _actor(client: Client, request: Request) -> str:
    """Who did it, from the credentials: the client; with ``X-Derlink-User``, the user a client
    trusted to act for users (``hub:act-for-users``) names, as ``<user> via <client>``. From any
    other client the header is refused, never written into the audit trail."""
    named = request.headers.get("x-derlink-user")
    if named is None:
        return client.client_id
    if scopes.ACT_FOR_USERS not in client.scopes:
        raise Forbidden(
            f"client {client.client_id!r} may not name the user it acts for (X-Derlink-User): "
            f"that needs the scope {scopes.ACT_FOR_USERS}"
        )
    user = named.strip()
    if not user or len(user) > USER_MAX or not user.isprintable():
        raise BusinessError(
            f"X-Derlink-User must be 1 to {USER_MAX} printable characters",
            code="HUB-USER",
        )
    return f"{user} via {client.client_id}"


#: The errors of the hub's own routes, as their OpenAPI operations document them.
UNKNOWN_INSTANCE = documented_error(
    404, "A listed instance does not exist.", "no instance 'I-1'", "DL-NOT-FOUND"
)
UNKNOWN_RUN = documented_error(
    404,
    "No run of the reconciliation has this instance id.",
    "'I-1' is not a run of the reconciliation (RECONCILE)",
    "DL-NOT-FOUND",
)
PARTS_UNAVAILABLE = {
    **documented_error(
        502,
        "cpm or DERMS answered the comparison with an error.",
        "cpm answered 500 to GET /api/v1/reconciliation/subscriptions",
        "DL-BUSINESS-FAULT",
    ),
    **documented_error(
        503,
        "cpm or DERMS cannot be reached, or the database does not answer: try again shortly.",
        "cpm unreachable: connection refused",
        "DL-REMOTE",
    ),
}


def intake_body(hub: Hub) -> dict[str, Any]:
    """The OpenAPI request body of the intake: the batch of each flow that takes messages,
    with an example per flow."""
    flows = [f.spec for f in hub.flows.values() if f.spec.trigger == "message"]
    shapes: dict[str, dict[str, Any]] = {}
    for spec in flows:
        shapes.setdefault(spec.batch.__name__, inline_definitions(spec.batch))
    listed = "; ".join(f"{spec.code}: {spec.batch.__name__} ({spec.field})" for spec in flows)
    return {
        "requestBody": {
            "required": True,
            "description": f"The batch of the flow named in the path: {listed}.",
            "content": {
                "application/json": {
                    "schema": {"anyOf": list(shapes.values())},
                    "examples": {
                        spec.code: {
                            "summary": f"{spec.code}: {spec.name}",
                            **carry(model_example(spec.batch), "value"),
                        }
                        for spec in flows
                    },
                }
            },
        }
    }


SELECTION_EXAMPLE = body_example(
    Selection,
    {"all": True, "flow": "ENR-SYNC", "category": "remote", "note": "DERMS is back"},
)


def create_router(hub: Hub, lookups: LookupStore) -> APIRouter:
    router = APIRouter(route_class=JsonRoute)
    read = Depends(require(scopes.READ))

    @router.post(
        "/flows/{code}/messages",
        status_code=202,
        response_model=Accepted,
        openapi_extra=intake_body(hub),
    )
    async def receive(code: str, request: Request, client: Publisher) -> Any:
        """Accept one message (a batch of records) for a flow: persisted, then 202. The body
        is the flow's batch: ``{"batchId": …, "<field>": [records…]}``, by flow below."""
        flow = hub.flow(code)
        refusal = publishing_refusal(flow.spec, client.client_id)
        if refusal is not None:
            raise Forbidden(refusal, code="HUB-PUBLISH-SOURCE")
        body = await request.json()
        if not isinstance(body, dict):
            raise BusinessError(
                f"the body of {code} is a JSON object (a batch), not {type(body).__name__}",
                code="HUB-BATCH",
            )
        try:
            # On a worker thread: a batch of 5,000 records takes tens of milliseconds.
            batch = await asyncio.to_thread(flow.spec.batch.model_validate, body)
        except ValidationError as exc:
            # Same 422 shape as any other body error, field paths included.
            raise RequestValidationError(exc.errors()) from None
        received = await hub.accept(code, batch, client.client_id)
        return Accepted(
            instanceId=received.instance_id,
            status=received.status.value,
            records=len(body.get(flow.spec.field, [])),
            duplicate=received.duplicate,
        )

    @router.get("/flows", dependencies=[read], response_model=list[FlowRead])
    def flows() -> list[dict[str, Any]]:
        return hub.flow_list()

    @router.post("/flows/{code}/pause", response_model=FlowPaused)
    async def pause(code: str, request: Request, client: Operator) -> dict[str, str]:
        await hub.pause(code, _actor(client, request))
        return {"flow": code, "status": "paused"}

    @router.post("/flows/{code}/resume", response_model=FlowResumed)
    async def resume(code: str, request: Request, client: Operator) -> dict[str, Any]:
        released = await hub.resume(code, _actor(client, request))
        return {"flow": code, "status": "active", "released": released}

    @router.post("/flows/{code}/run-now", response_model=FlowStarted)
    async def run_now(code: str, request: Request, client: Operator) -> dict[str, Any]:
        started = await hub.run_now(code, _actor(client, request))
        return {
            "flow": code,
            "status": "started" if started else "nothing to do",
            # The first instance (a scheduled flow starts one; a file flow one per file).
            "instanceId": started[0].instance_id if started else None,
            "instances": [r.instance_id for r in started],
        }

    @router.get("/instances", dependencies=[read], response_model=list[InstanceRead])
    def instances(
        key: str | None = None,
        flow: str | None = None,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        return hub.store.search(
            key=key,
            flow=flow,
            status=status,
            since=since,
            until=until,
            limit=max(1, min(limit, 1000)),
        )

    @router.get("/instances/{instance_id}", dependencies=[read], response_model=InstanceDetail)
    def instance(instance_id: str) -> Response:
        detail = hub.store.detail(instance_id)
        # Payloads are shown masked: a secret that reached a message never reaches a screen.
        text = mask(orjson.dumps(detail).decode())
        return Response(text, media_type="application/json")

    @router.get("/hospital", dependencies=[read], response_model=list[InstanceRead])
    def hospital(
        flow: str | None = None, category: str | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        rows = hub.store.search(flow=flow, status="Faulted", limit=max(1, min(limit, 5000)))
        return [r for r in rows if category is None or r["fault_category"] == category]

    def _selected(selection: Selection) -> list[str]:
        if selection.ids and selection.all:
            raise BusinessError("give ids or all=true, not both", code="HUB-SELECTION")
        if selection.all:
            return hub.hospital_ids(flow=selection.flow, category=selection.category)
        if not selection.ids:
            raise BusinessError(
                "select instances: ids=[...] or all=true with a filter", code="HUB-SELECTION"
            )
        return selection.ids

    @router.post(
        "/hospital/resubmit",
        response_model=Resubmitted,
        responses=UNKNOWN_INSTANCE,
        openapi_extra=SELECTION_EXAMPLE,
    )
    async def resubmit(selection: Selection, request: Request, client: Operator) -> dict[str, Any]:
        done = await hub.resubmit(_selected(selection), _actor(client, request), selection.note)
        return {"resubmitted": done}

    @router.post(
        "/hospital/discard",
        response_model=Discarded,
        responses=UNKNOWN_INSTANCE,
        openapi_extra=SELECTION_EXAMPLE,
    )
    async def discard(selection: Selection, request: Request, client: Operator) -> dict[str, Any]:
        done = await hub.discard(_selected(selection), _actor(client, request), selection.note)
        return {"discarded": done}

    @router.get(
        "/lookups",
        dependencies=[read],
        openapi_extra=answer_example(
            {
                "AssetSpec": {"ECOBEE!SMARTTHERMOSTAT": "ECOBEE-ST"},
                "EventType": {"ECONOMIC": "X1EC", "EMERGENCY": "X1EM"},
            }
        ),
    )
    def lookup_tables() -> dict[str, dict[str, str]]:
        return lookups.all()

    @router.put(
        "/lookups/{name}/{key}",
        response_model=LookupSet,
        openapi_extra=body_example(LookupValue, {"value": "ECOBEE-ST"}),
    )
    def set_lookup(
        name: str, key: str, body: LookupValue, request: Request, client: Operator
    ) -> dict[str, Any]:
        lookups.set(name, key, body.value, actor=_actor(client, request))
        return {"name": name, "key": key, "value": body.value}

    @router.get("/health", dependencies=[read], response_model=HubHealth)
    async def health() -> Response:
        targets = await hub.target_health()
        status = "UP" if all(v == "UP" for v in targets.values()) else "DEGRADED"
        return JSONResponse({"status": status, "targets": targets})

    @router.get(
        "/reconciliation",
        dependencies=[read],
        response_model=Reconciliation,
        responses=PARTS_UNAVAILABLE,
    )
    async def reconciliation() -> dict[str, Any]:
        return await hub.reconcile()

    @router.get(
        "/reconciliation/runs",
        dependencies=[read],
        response_model=list[ReconciliationRun],
    )
    def reconciliation_runs(
        limit: Annotated[int, Query(ge=1, le=500)] = 20,
    ) -> list[dict[str, Any]]:
        """The reconciliation's history, newest first: every run of RECONCILE, whoever started
        it (its schedule, the console, ``derlink reconcile``)."""
        return hub.reconciliation_runs(limit)

    @router.post(
        "/reconciliation/runs",
        status_code=202,
        response_model=ReconciliationRun,
    )
    async def start_reconciliation(request: Request, client: Operator) -> dict[str, Any]:
        """Start a run of the reconciliation now; it runs in the background and joins the
        history. Follow it at ``GET /reconciliation/runs/{instanceId}``."""
        return await hub.start_reconciliation(_actor(client, request))

    @router.get(
        "/reconciliation/runs/{instance_id}",
        dependencies=[read],
        response_model=ReconciliationRunDetail,
        responses=UNKNOWN_RUN,
    )
    def reconciliation_run(instance_id: str) -> dict[str, Any]:
        """One run of the reconciliation, with its differences once it finished."""
        return hub.reconciliation_run(instance_id)

    @router.get(
        "/metrics",
        dependencies=[read],
        response_class=Response,
        responses={
            200: {
                "description": "The metrics in Prometheus' text format.",
                "content": {
                    "text/plain": {
                        "schema": {"type": "string"},
                        "example": (
                            'derlink_hub_instances{flow="ENR-SYNC",status="Completed"} 1843.0\n'
                        ),
                    }
                },
            }
        },
    )
    def metrics() -> Response:
        """Prometheus text format: instances by flow and status, hospital, refused records."""
        return Response(exposition(hub.store), media_type=CONTENT_TYPE_LATEST)

    @router.get("/stats", dependencies=[read], response_model=Stats)
    async def stats() -> dict[str, Any]:
        return await hub.stats()

    return router
