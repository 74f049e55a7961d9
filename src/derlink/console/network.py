"""DERMS's network model: the tree substation → feeder → transformer with the service points
under each node, a node's versions, and a service point's location history as DERMS and cpm
hold it.

Read through DERMS's and cpm's read APIs over the hub's connections; a part that does not
answer is said on the page.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from derlink.common.errors import NotFound
from derlink.console.records import fetch
from derlink.console.web import User, console_of, current_user, redirect, render

router = APIRouter()
Filter = Annotated[str, Query(max_length=80)]


def day_of(on: str) -> str:
    """``on`` when it is a day (YYYY-MM-DD), else "" (DERMS's today)."""
    try:
        return date.fromisoformat(on.strip()).isoformat()
    except ValueError:
        return ""


def narrowed(nodes: list[dict[str, Any]], node_id: str) -> list[dict[str, Any]]:
    """The branches of ``nodes`` that hold the node ``node_id``: its ancestors and all of it."""
    kept = []
    for n in nodes:
        if n["id"] == node_id:
            kept.append(n)
            continue
        children = narrowed(n.get("children", []), node_id)
        if children:
            kept.append({**n, "children": children})
    return kept


@router.get("/records/network")
async def network(
    request: Request,
    user: Annotated[User, Depends(current_user)],
    node: Filter = "",
    on: Filter = "",
    q: Filter = "",
) -> Response:
    """The network in force on a day, narrowed to the branches holding a node; "Open" takes a
    service point id and opens its location history."""
    if q.strip():
        return redirect(request, f"/records/network/service-points/{quote(q.strip(), safe='')}")
    day, node = day_of(on), node.strip()
    found, problem = await fetch(
        console_of(request).hub.targets.derms.get(
            "/api/v1/network/tree", {"on": day} if day else None
        ),
        "DERMS",
    )
    substations = (found or {}).get("substations", [])
    return render(
        request,
        "network.html",
        {
            "section": "records",
            "on": (found or {}).get("on", day),
            "node": node,
            "substations": narrowed(substations, node) if node else substations,
            "problem": problem,
        },
        user=user,
    )


@router.get("/records/network/nodes/{node_id}")
async def node_page(
    request: Request,
    node_id: str,
    user: Annotated[User, Depends(current_user)],
    on: Filter = "",
) -> Response:
    day = day_of(on)
    found, problem = await fetch(
        console_of(request).hub.targets.derms.get(
            f"/api/v1/network/nodes/{quote(node_id, safe='')}", {"on": day} if day else None
        ),
        "DERMS",
    )
    if found is None and problem == "not found":
        raise NotFound(f"DERMS's network model holds no node {node_id!r}")
    return render(
        request,
        "network_node.html",
        {"section": "records", "node_id": node_id, "node": found, "problem": problem},
        user=user,
    )


@router.get("/records/network/service-points/{sp_id}")
async def service_point(
    request: Request, sp_id: str, user: Annotated[User, Depends(current_user)]
) -> Response:
    """A service point's location history: DERMS's and cpm's effective-dated rows."""
    targets = console_of(request).hub.targets
    named = quote(sp_id, safe="")
    (held, derms_problem), (sent, cpm_problem) = await asyncio.gather(
        fetch(targets.derms.get(f"/api/v1/network/service-points/{named}/locations"), "DERMS"),
        fetch(targets.cpm.get(f"/api/v1/service-points/{named}/network-locations"), "cpm"),
    )
    if held is None and sent is None and derms_problem == cpm_problem == "not found":
        raise NotFound(f"neither DERMS nor cpm knows the service point {sp_id!r}")
    return render(
        request,
        "network_locations.html",
        {
            "section": "records",
            "sp_id": sp_id,
            "derms": (held or {}).get("versions", []),
            "derms_problem": "" if derms_problem == "not found" else derms_problem,
            "cpm": (sent or {}).get("locations", []),
            "cpm_problem": "" if cpm_problem == "not found" else cpm_problem,
        },
        user=user,
    )
