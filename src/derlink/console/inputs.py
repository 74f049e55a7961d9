"""DERMS's inputs: the device scores (DEV-SCORE) and the service points' load-reduction
forecasts (LRF), read through DERMS's read API over the hub's connection; a DERMS that does not
answer is said on the page.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from derlink.common.errors import Fault, NotFound
from derlink.console import views
from derlink.console.records import Cursor, fetch, fetch_page
from derlink.console.web import User, console_of, current_user, redirect, render

router = APIRouter()
Filter = Annotated[str, Query(max_length=80)]


@router.get("/records/scores")
async def scores(
    request: Request,
    user: Annotated[User, Depends(current_user)],
    after: Cursor = "",
    q: Filter = "",
    head_end: Filter = "",
    sp: Filter = "",
) -> Response:
    """A page of device scores by head-end system and NIC id; "Open" takes a NIC id (and its
    head-end system, or any DERMS knows) or a service point id (its forecast)."""
    derms = console_of(request).hub.targets.derms
    if sp.strip():
        return redirect(request, f"/records/forecasts/{quote(sp.strip(), safe='')}")
    if q.strip():
        return await _open_score(request, derms, head_end.strip(), q.strip())
    page = await fetch_page(derms, "/api/v1/device-scores", "DERMS", after)
    return render(request, "scores.html", {"section": "records", **page}, user=user)


async def _open_score(request: Request, derms: Any, head_end: str, nic: str) -> Response:
    """The score of the NIC ``nic`` under ``head_end``, else under any head-end system."""
    if head_end:
        systems = [head_end]
    else:
        known, problem = await fetch(derms.get("/api/v1/head-end-systems"), "DERMS")
        if known is None:
            raise Fault(problem)
        systems = [s["code"] for s in known.get("items", [])]
    found = await asyncio.gather(
        *(
            fetch(
                derms.get(f"/api/v1/device-scores/{quote(h, safe='')}/{quote(nic, safe='')}"),
                "DERMS",
            )
            for h in systems
        )
    )
    held = [h for h, (score, _why) in zip(systems, found, strict=True) if score is not None]
    if held:
        return redirect(request, f"/records/scores/{quote(held[0], safe='')}/{quote(nic, safe='')}")
    problems = {why for _score, why in found if why != "not found"}
    if problems:
        raise Fault(sorted(problems)[0])
    raise NotFound(f"DERMS holds no score of the NIC {nic!r}")


@router.get("/records/scores/{head_end}/{nic}")
async def score(
    request: Request, head_end: str, nic: str, user: Annotated[User, Depends(current_user)]
) -> Response:
    found, problem = await fetch(
        console_of(request).hub.targets.derms.get(
            f"/api/v1/device-scores/{quote(head_end, safe='')}/{quote(nic, safe='')}"
        ),
        "DERMS",
    )
    if found is None and problem == "not found":
        raise NotFound(f"DERMS holds no score of the NIC {nic!r} of {head_end!r}")
    return render(
        request,
        "score.html",
        {
            "section": "records",
            "head_end": head_end,
            "nic": nic,
            "score": found,
            "problem": problem,
        },
        user=user,
    )


def intervals(forecast: dict[str, Any], zone: ZoneInfo) -> list[dict[str, Any]]:
    """A forecast's intervals: each one's start (UTC, ISO, and its time in the utility's zone)
    and its P10, P50 and P90 kW."""
    start = views.moment(forecast["windowStartTime"]) or datetime.now(UTC)
    step = timedelta(seconds=int(forecast["intervalSeconds"]))
    starts = [start + i * step for i in range(len(forecast["p50Kw"]))]
    return [
        {
            "start": at.isoformat(),
            "label": at.astimezone(zone).strftime("%H:%M"),
            "p10": lo,
            "p50": mid,
            "p90": hi,
        }
        for at, lo, mid, hi in zip(
            starts, forecast["p10Kw"], forecast["p50Kw"], forecast["p90Kw"], strict=True
        )
    ]


@router.get("/records/forecasts/{sp_id}")
async def forecast(
    request: Request, sp_id: str, user: Annotated[User, Depends(current_user)]
) -> Response:
    """A service point's latest forecast: its intervals in a table and a chart."""
    console = console_of(request)
    found, problem = await fetch(
        console.hub.targets.derms.get(f"/api/v1/forecasts/{quote(sp_id, safe='')}"), "DERMS"
    )
    if found is None and problem == "not found":
        raise NotFound(f"DERMS holds no forecast of the service point {sp_id!r}")
    rows = intervals(found, console.zone) if found else []
    chart = (
        views.forecast_chart(
            [r["label"] for r in rows],
            [r["p10"] for r in rows],
            [r["p50"] for r in rows],
            [r["p90"] for r in rows],
        )
        if rows
        else None
    )
    return render(
        request,
        "forecast.html",
        {
            "section": "records",
            "sp_id": sp_id,
            "forecast": found,
            "rows": rows,
            "chart": chart,
            "problem": problem,
        },
        user=user,
    )
