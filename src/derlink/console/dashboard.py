"""The dashboard: every flow with its state, its recent counts and trends, and flow control."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from derlink.common.errors import BusinessError
from derlink.console import views
from derlink.console.web import User, acting_user, console_of, current_user, redirect, render
from derlink.hub.model import InstanceStatus
from derlink.hub.service import Hub

router = APIRouter()

#: How long the dashboard waits for a part's health answer before showing it as not answering.
HEALTH_TIMEOUT_S = 2.0
OPEN_STATUSES = (
    InstanceStatus.RECEIVED.value,
    InstanceStatus.HELD.value,
    InstanceStatus.RUNNING.value,
)


def window_summary(counts: dict[str, int]) -> dict[str, int]:
    """One window's counts folded into what an operator scans for."""
    return {
        "total": sum(counts.values()),
        "completed": counts.get(InstanceStatus.COMPLETED.value, 0),
        "with_errors": counts.get(InstanceStatus.COMPLETED_WITH_ERRORS.value, 0),
        "faulted": counts.get(InstanceStatus.FAULTED.value, 0),
        "open": sum(counts.get(s, 0) for s in OPEN_STATUSES),
        "discarded": counts.get(InstanceStatus.DISCARDED.value, 0),
    }


def read_dashboard(hub: Hub, now: datetime) -> dict[str, Any]:
    """Everything the dashboard shows from the hub's own database, in one worker-thread call.

    Only index ranges are read: the time windows' counts, and the hospital from the status
    index; never a count of every instance there is.
    """
    store = hub.store
    last_hour = store.counts_since((now - timedelta(hours=1)).isoformat())
    last_day = store.counts_since((now - timedelta(days=1)).isoformat())
    buckets = views.hour_buckets(now)
    series = views.flow_series(store.hourly(f"{buckets[0]}:00:00"), buckets)
    last = store.last_received(list(hub.flows))
    in_hospital: dict[str, int] = {}
    for group in store.hospital_groups():
        in_hospital[group["flow"]] = in_hospital.get(group["flow"], 0) + group["instances"]
    flows = []
    for code, flow in hub.flows.items():
        trend = series.get(code, {"throughput": [0.0] * 24, "error_rate": [0.0] * 24})
        flows.append(
            {
                "code": code,
                "name": flow.spec.name,
                "source": flow.spec.source,
                "trigger": flow.spec.trigger,
                "schedule": hub.cron(code),
                "status": "paused" if hub.is_paused(code) else "active",
                "last_run": last.get(code),
                "last_hour": window_summary(last_hour.get(code, {})),
                "last_day": window_summary(last_day.get(code, {})),
                "throughput": views.sparkline(
                    trend["throughput"], label=f"{code} instances per hour"
                ),
                "error_rate": views.sparkline(
                    trend["error_rate"], label=f"{code} error rate", unit="%", ceiling=100.0
                ),
                "in_hospital": in_hospital.get(code, 0),
            }
        )
    return {"flows": flows, "hospital": sum(in_hospital.values())}


async def target_health(hub: Hub) -> dict[str, str]:
    try:
        return await asyncio.wait_for(hub.target_health(), HEALTH_TIMEOUT_S)
    except TimeoutError:
        return {"cpm": "no answer", "derms": "no answer"}


@router.get("/")
async def dashboard(request: Request, user: Annotated[User, Depends(current_user)]) -> Response:
    console = console_of(request)
    now = console.clock.now()
    data, health = await asyncio.gather(
        asyncio.to_thread(read_dashboard, console.hub, now), target_health(console.hub)
    )
    return render(
        request,
        "dashboard.html",
        {**data, "health": health, "now": now.isoformat(), "section": "dashboard"},
        user=user,
    )


Back = Annotated[str, Form(max_length=200)]


def _page(back: str) -> str:
    """The console page to return to after an action: a path of the console, else the dashboard."""
    return back if back.startswith("/") and not back.startswith("//") else "/"


@router.post("/flows/{code}/pause")
async def pause(
    request: Request, code: str, user: Annotated[User, Depends(acting_user)], back: Back = "/"
) -> Response:
    await console_of(request).hub.pause(code, user.client_id)
    return redirect(
        request, _page(back), f"{code} paused: new instances are kept and run on resume."
    )


@router.post("/flows/{code}/resume")
async def resume(
    request: Request, code: str, user: Annotated[User, Depends(acting_user)], back: Back = "/"
) -> Response:
    released = await console_of(request).hub.resume(code, user.client_id)
    return redirect(request, _page(back), f"{code} resumed; {released} held instance(s) released.")


@router.post("/flows/{code}/run-now")
async def run_now(
    request: Request, code: str, user: Annotated[User, Depends(acting_user)], back: Back = "/"
) -> Response:
    try:
        started = await console_of(request).hub.run_now(code, user.client_id)
    except BusinessError as exc:
        return redirect(request, _page(back), exc.message, "error")
    if not started:
        return redirect(request, _page(back), f"{code} ran: nothing to do.")
    names = ", ".join(r.instance_id for r in started[:5])
    more = f" and {len(started) - 5} more" if len(started) > 5 else ""
    return redirect(request, _page(back), f"{code} started: {names}{more}.")
