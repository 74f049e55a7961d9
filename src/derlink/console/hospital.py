"""The error hospital: faulted instances by flow and fault category; resubmit or discard one,
a selection, or every instance matching a filter, after a confirmation, with a note.

Who did what is kept by the hub (``hospital_actions`` and the instance's timeline): the actor
is the signed-in client.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from derlink.common.errors import BusinessError, NotFound
from derlink.console.instances import guidance
from derlink.console.web import User, acting_user, console_of, current_user, redirect, render
from derlink.hub.model import InstanceStatus
from derlink.hub.service import Hub

router = APIRouter()

PAGE = 50
CATEGORIES = ("remote", "technical", "business")
#: Instances listed by name on the confirmation page; the count is always complete.
LISTED = 50

Action = Literal["resubmit", "discard"]
Filter = Annotated[str, Query(max_length=40)]


def _filters(hub: Hub, flow: str, category: str) -> tuple[str | None, str | None]:
    if flow and flow not in hub.flows:
        raise BusinessError(f"no flow {flow!r}", code="CONSOLE-FILTER")
    if category and category not in CATEGORIES:
        raise BusinessError(f"no fault category {category!r}", code="CONSOLE-FILTER")
    return flow or None, category or None


@router.get("/hospital")
async def hospital(
    request: Request,
    user: Annotated[User, Depends(current_user)],
    flow: Filter = "",
    category: Filter = "",
    q: Annotated[str, Query(max_length=200)] = "",
    before_at: Filter = "",
    before_id: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    hub = console_of(request).hub
    chosen_flow, chosen_category = _filters(hub, flow, category)
    key = q.strip() or None
    search = {
        "key": key,
        "status": InstanceStatus.FAULTED.value,
        "flow": chosen_flow,
        "category": chosen_category,
    }

    def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]], Any, int]:
        rows, cursor = hub.store.search_page(
            **search, before=(before_at, before_id) if before_at and before_id else None, limit=PAGE
        )
        matching, _records = hub.store.search_total(**search)
        return hub.store.hospital_groups(), rows, cursor, matching

    groups, rows, cursor, matching = await asyncio.to_thread(read)
    for group in groups:
        group["guidance"] = guidance(hub, group["flow"], group["fault_category"])
    return render(
        request,
        "hospital.html",
        {
            "section": "hospital",
            "groups": groups,
            "rows": rows,
            "cursor": cursor,
            "matching": matching,
            "total": sum(g["instances"] for g in groups),
            "filter": {"flow": flow, "category": category, "q": q.strip()},
            "flows": sorted(hub.flows),
            "categories": CATEGORIES,
        },
        user=user,
    )


def _chosen(hub: Hub, ids: list[str], every: bool, flow: str, category: str) -> list[str]:
    """The instances an action is about: those listed, or all matching the filter; only
    instances still in the hospital."""
    chosen_flow, chosen_category = _filters(hub, flow, category)
    if every:
        return hub.hospital_ids(flow=chosen_flow, category=chosen_category)
    return [i for i in dict.fromkeys(ids) if _in_hospital(hub, i)]


def _business_faults(hub: Hub, chosen: list[str], every: bool, flow: str, category: str) -> int:
    """How many of the chosen instances have a business fault, which a resubmit does not mend:
    for a filter, from the hospital's groups; for a selection, one by one."""
    if not every:
        return sum(1 for i in chosen if hub.store.fault_category(i) == "business")
    return sum(
        g["instances"]
        for g in hub.store.hospital_groups()
        if g["fault_category"] == "business"
        and category in ("", "business")
        and flow in ("", g["flow"])
    )


def _in_hospital(hub: Hub, instance_id: str) -> bool:
    try:
        return hub.store.status(instance_id) is InstanceStatus.FAULTED
    except NotFound:
        return False


@router.post("/hospital/confirm")
async def confirm(
    request: Request,
    user: Annotated[User, Depends(acting_user)],
    action: Annotated[Action, Form()],
    ids: Annotated[list[str] | None, Form(max_length=10_000)] = None,
    every: Annotated[bool, Form(alias="all")] = False,
    flow: Annotated[str, Form(max_length=40)] = "",
    category: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    hub = console_of(request).hub
    chosen = await asyncio.to_thread(_chosen, hub, ids or [], every, flow, category)
    if not chosen:
        return redirect(
            request,
            "/hospital",
            "Nothing to do: select instances still in the hospital, or a filter that matches some.",
            "error",
        )
    business = await asyncio.to_thread(_business_faults, hub, chosen, every, flow, category)
    return render(
        request,
        "hospital_confirm.html",
        {
            "section": "hospital",
            "action": action,
            "count": len(chosen),
            "listed": chosen[:LISTED],
            "ids": [] if every else chosen,
            "every": every,
            "filter": {"flow": flow, "category": category},
            "business": business,
        },
        user=user,
    )


@router.post("/hospital/apply")
async def apply(
    request: Request,
    user: Annotated[User, Depends(acting_user)],
    action: Annotated[Action, Form()],
    ids: Annotated[list[str] | None, Form(max_length=10_000)] = None,
    every: Annotated[bool, Form(alias="all")] = False,
    flow: Annotated[str, Form(max_length=40)] = "",
    category: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    hub = console_of(request).hub
    chosen = await asyncio.to_thread(_chosen, hub, ids or [], every, flow, category)
    if not chosen:
        return redirect(request, "/hospital", "Nothing left to do: already handled.", "error")
    if action == "resubmit":
        done = await hub.resubmit(chosen, user.client_id, note.strip())
        message = f"Resubmitted {len(done)} instance(s); they run again from the start."
    else:
        done = await hub.discard(chosen, user.client_id, note.strip())
        message = f"Discarded {len(done)} instance(s)."
    skipped = 0 if every else len(set(ids or [])) - len(done)
    if skipped:
        message += f" {skipped} were no longer in the hospital."
    return redirect(request, "/hospital", message)
