"""Instances: search by any business identifier, flow, status and time; one instance in full."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from derlink.console import views
from derlink.console.web import User, console_of, current_user, render
from derlink.hub.model import InstanceStatus, fault_guidance
from derlink.hub.service import Hub
from derlink.platform.logs import mask

router = APIRouter()

PAGE = 50
#: Records of an instance shown a page.
RECORDS_PAGE = 200

Text = Annotated[str, Query(max_length=200)]


def as_utc(value: str, field: str, problems: list[str], zone: ZoneInfo) -> str | None:
    """A ``datetime-local`` field, read in the utility's zone, as a stored-timestamp prefix
    (UTC), or None."""
    try:
        local = views.from_local(value, field, zone)
    except ValueError as exc:
        problems.append(str(exc))
        return None
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if local else None


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
    total = (0, 0)
    if not problems:
        rows, cursor, total = await asyncio.to_thread(
            read_page,
            hub,
            key=q.strip() or None,
            flow=flow or None,
            status=status or None,
            since=since_at,
            until=until_at,
            before=(before_at, before_id) if before_at and before_id else None,
        )
    return render(
        request,
        "instances.html",
        {
            "section": "instances",
            "rows": rows,
            "cursor": cursor,
            "total": {"instances": total[0], "records": total[1]},
            "paged": bool(before_at),
            "problems": problems,
            "form": {"q": q, "flow": flow, "status": status, "since": since, "until": until},
            "flows": sorted(hub.flows),
            "statuses": [s.value for s in InstanceStatus],
        },
        user=user,
        status_code=422 if problems else 200,
    )


def read_page(
    hub: Hub, *, before: tuple[str, str] | None, **search: str | None
) -> tuple[list[dict[str, Any]], tuple[str, str] | None, tuple[int, int]]:
    """One page of a search, each instance with its business summary; the next page's cursor;
    and how many instances (and records) the search matches in all."""
    rows, cursor = hub.store.search_page(**search, before=before, limit=PAGE)
    keys = hub.store.primary_keys([r["id"] for r in rows])
    for row in rows:
        row["summary"] = views.business_summary(row, keys.get(row["id"], []))
    return rows, cursor, hub.store.search_total(**search)


def read_records(hub: Hub, detail: dict[str, Any], page: int) -> dict[str, Any]:
    """One page of the instance's records, each with its identifiers, outcome and error."""
    flow = hub.flow(detail["flow"])
    records = detail["payload"].get(flow.spec.field) or []
    errors = (detail["outcome"] or {}).get("errors") or []
    start = (page - 1) * RECORDS_PAGE
    shown = records[start : start + RECORDS_PAGE]
    return {
        "rows": views.instance_records(shown, flow.keys, detail["status"], errors),
        "unmatched": views.unmatched_errors(records, flow.keys, errors),
        "page": page,
        "first": start + 1,
        "count": len(records),
        "more": start + RECORDS_PAGE < len(records),
        "noun": views.RECORD_NOUNS.get(detail["flow"], "record"),
    }


def guidance(hub: Hub, flow: str, category: str | None) -> str:
    """What to do about a fault of ``category`` in ``flow``: "" for no fault."""
    if not category:
        return ""
    spec = hub.flow(flow).spec
    return fault_guidance(category, spec.source, spec.target)


def read_instance(request: Request, instance_id: str, page: int = 1) -> dict[str, Any]:
    hub = console_of(request).hub
    store = hub.store
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
        "records": read_records(hub, detail, page),
        "guidance": guidance(hub, detail["flow"], detail["fault_category"]),
        "record_pages": {name: page for name, (page, _what) in views.RECORD_LINKS.items()},
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
    request: Request,
    instance_id: str,
    user: Annotated[User, Depends(current_user)],
    records: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    data = await asyncio.to_thread(read_instance, request, instance_id, records)
    return render(
        request,
        "instance.html",
        {**data, "section": "instances", "faulted": data["instance"]["status"] == "Faulted"},
        user=user,
    )


def masked_payload(request: Request, instance_id: str) -> str:
    """The whole received payload as indented JSON, secrets masked."""
    _flow, body, _runs = console_of(request).hub.store.payload(instance_id)
    return mask(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())


@router.get("/instances/{instance_id}/payload")
async def payload(
    request: Request, instance_id: str, user: Annotated[User, Depends(current_user)]
) -> Response:
    """The whole received payload, on a page of the console, secrets masked."""
    text = await asyncio.to_thread(masked_payload, request, instance_id)
    return render(
        request,
        "payload.html",
        {"section": "instances", "instance_id": instance_id, "payload": text},
        user=user,
    )


@router.get("/instances/{instance_id}/payload.json")
async def payload_json(
    request: Request, instance_id: str, _: Annotated[User, Depends(current_user)]
) -> Response:
    """The whole received payload as a JSON file, secrets masked."""
    text = await asyncio.to_thread(masked_payload, request, instance_id)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", instance_id)
    return Response(
        text,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{safe}.json"'},
    )
