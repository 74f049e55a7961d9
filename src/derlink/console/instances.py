"""Instances: search by any business identifier, flow, status and time; one instance in full."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from derlink.console import views
from derlink.console.web import User, console_of, current_user, render
from derlink.hub.model import InstanceStatus
from derlink.platform.logs import mask

router = APIRouter()

PAGE = 50
_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")

Text = Annotated[str, Query(max_length=200)]


def as_utc(value: str, field: str, problems: list[str], zone: ZoneInfo) -> str | None:
    """A ``datetime-local`` field, read in the utility's zone, as a stored-timestamp prefix
    (UTC), or None."""
    value = value.strip()
    if not value:
        return None
    if not _LOCAL.match(value):
        problems.append(f"{field}: expected a date and time like 2026-07-01T18:00, not {value!r}")
        return None
    local = datetime.fromisoformat(value).replace(tzinfo=zone)
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


@router.get("/instances")
async def search(
    request: Request,
    user: Annotated[User, Depends(current_user)],
    q: Text = "",
    flow: Text = "",
    status: Text = "",
    since: Text = "",
    until: Text = "",
    before_at: Text = "",
    before_id: Text = "",
) -> Response:
    console = console_of(request)
    hub = console.hub
    problems: list[str] = []
    since_at = as_utc(since, "From", problems, console.zone)
    until_at = as_utc(until, "To", problems, console.zone)
    if flow and flow not in hub.flows:
        problems.append(f"Flow: no flow {flow!r}")
    if status and status not in {s.value for s in InstanceStatus}:
        problems.append(f"Status: no status {status!r}")
    rows: list[dict[str, Any]] = []
    cursor = None
    if not problems:
        rows, cursor = await asyncio.to_thread(
            hub.store.search_page,
            key=q.strip() or None,
            flow=flow or None,
            status=status or None,
            since=since_at,
            until=until_at,
            before=(before_at, before_id) if before_at and before_id else None,
            limit=PAGE,
        )
    return render(
        request,
        "instances.html",
        {
            "section": "instances",
            "rows": rows,
            "cursor": cursor,
            "paged": bool(before_at),
            "problems": problems,
            "form": {"q": q, "flow": flow, "status": status, "since": since, "until": until},
            "flows": sorted(hub.flows),
            "statuses": [s.value for s in InstanceStatus],
        },
        user=user,
        status_code=422 if problems else 200,
    )


def read_instance(request: Request, instance_id: str) -> dict[str, Any]:
    store = console_of(request).hub.store
    detail = store.detail(instance_id)
    events = views.timeline(detail["timeline"])
    payload, payload_notes = views.pretty(detail["payload"])
    outcome, outcome_notes = views.pretty(detail["outcome"]) if detail["outcome"] else ("", [])
    return {
        "instance": detail,
        "events": events,
        "retries": views.retries(events),
        "payload": payload,
        "payload_notes": payload_notes,
        "outcome": outcome,
        "outcome_notes": outcome_notes,
        "related": store.related(instance_id),
        "links": views.record_links(detail["keys"]),
        "final": detail["status"]
        in {
            InstanceStatus.COMPLETED.value,
            InstanceStatus.COMPLETED_WITH_ERRORS.value,
            InstanceStatus.DISCARDED.value,
            InstanceStatus.FAULTED.value,
        },
    }


@router.get("/instances/{instance_id}")
async def instance(
    request: Request, instance_id: str, user: Annotated[User, Depends(current_user)]
) -> Response:
    data = await asyncio.to_thread(read_instance, request, instance_id)
    return render(
        request,
        "instance.html",
        {**data, "section": "instances", "faulted": data["instance"]["status"] == "Faulted"},
        user=user,
    )


@router.get("/instances/{instance_id}/payload")
async def payload(
    request: Request, instance_id: str, _: Annotated[User, Depends(current_user)]
) -> Response:
    """The whole received payload as JSON, secrets masked."""
    _flow, body, _runs = await asyncio.to_thread(console_of(request).hub.store.payload, instance_id)
    text = mask(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", instance_id)
    return Response(
        text,
        media_type="application/json",
        headers={"Content-Disposition": f'inline; filename="{safe}.json"'},
    )
