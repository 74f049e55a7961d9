"""The dashboard: every flow with its state, its recent counts and trends, and flow control."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from derlink.common.errors import BusinessError
from derlink.console import schedules, views
from derlink.console.web import (
    User,
    acting_user,
    ask,
    console_of,
    current_user,
    operating_user,
    redirect,
    render,
)
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


def window_summary(counts: dict[str, int], records: int) -> dict[str, int]:
    """One window's counts folded into what an operator scans for: its instances by outcome and
    the business records they carried."""
    return {
        "total": sum(counts.values()),
        "records": records,
        "completed": counts.get(InstanceStatus.COMPLETED.value, 0),
        "with_errors": counts.get(InstanceStatus.COMPLETED_WITH_ERRORS.value, 0),
        "faulted": counts.get(InstanceStatus.FAULTED.value, 0),
        "open": sum(counts.get(s, 0) for s in OPEN_STATUSES),
        "discarded": counts.get(InstanceStatus.DISCARDED.value, 0),
    }


def read_dashboard(hub: Hub, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """Everything the dashboard shows from the hub's own database, in one worker-thread call.

    Only ranges are read: the time windows' counts (and the records of their instances), and the
    hospital from the status index; never a count of every instance there is.
    """
    store = hub.store
    hour_ago, day_ago = (
        (now - timedelta(hours=1)).isoformat(),
        (now - timedelta(days=1)).isoformat(),
    )
    last_hour, last_day = store.counts_since(hour_ago), store.counts_since(day_ago)
    records_hour, records_day = store.records_since(hour_ago), store.records_since(day_ago)
    buckets = views.hour_buckets(now)
    hours = views.hour_labels(buckets, zone)
    series = views.flow_series(store.hourly(f"{buckets[0]}:00:00"), buckets)
    last = store.last_received(list(hub.flows))
    in_hospital: dict[str, int] = {}
    for group in store.hospital_groups():
        in_hospital[group["flow"]] = in_hospital.get(group["flow"], 0) + group["instances"]
    flows = []
    for code, flow in hub.flows.items():
        trend = series.get(code, {"throughput": [0.0] * 24, "error_rate": [0.0] * 24})
        cron = hub.cron(code)
        flows.append(
            {
                "code": code,
                "name": flow.spec.name,
                "source": flow.spec.source,
                "trigger": flow.spec.trigger,
                "schedule": cron,
                "schedule_words": schedules.in_words(cron) if cron else None,
                "status": "paused" if hub.is_paused(code) else "active",
                "last_run": last.get(code),
                "last_hour": window_summary(last_hour.get(code, {}), records_hour.get(code, 0)),
                "last_day": window_summary(last_day.get(code, {}), records_day.get(code, 0)),
                "trend": views.trend_chart(
                    trend["throughput"], trend["error_rate"], hours, label=code
                ),
                "in_hospital": in_hospital.get(code, 0),
            }
        )
    return {"flows": flows, "hospital": sum(in_hospital.values())}


async def target_health(hub: Hub) -> dict[str, str]:
    try:
        return await asyncio.wait_for(hub.target_health(), HEALTH_TIMEOUT_S)
    except TimeoutError:
        return dict.fromkeys(hub.targets.parts(), "no answer")


@router.get("/")
async def dashboard(request: Request, user: Annotated[User, Depends(current_user)]) -> Response:
    console = console_of(request)
    now = console.clock.now()
    data, health = await asyncio.gather(
        asyncio.to_thread(read_dashboard, console.hub, now, console.zone),
        target_health(console.hub),
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


@router.get("/flows/{code}/pause")
async def confirm_pause(
    request: Request, code: str, user: Annotated[User, Depends(operating_user)]
) -> Response:
    """Asks before pausing a flow, and says what pausing does."""
    flow = console_of(request).hub.flow(code)
    return ask(
        request,
        user,
        question=f"Pause {code}?",
        explanation=(
            f"{code} ({flow.spec.name}) stops starting instances; those already running finish.",
            "Its scheduled runs are skipped while it is paused."
            if flow.spec.trigger == "schedule"
            else "What arrives meanwhile is kept (Held) and runs when the flow is resumed.",
        ),
        action=f"/flows/{quote(code, safe='')}/pause",
        fields={"back": "/"},
        button=f"Pause {code}",
        back="/",
        section="dashboard",
    )


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
