"""DERMS's strategies and events: lists filtered by the ids people search with, an event with
its stages, a chart of its expected kW against its objective, its approvals and audit trail,
and approve, deny and cancel for those allowed.

Reads go through the hub's connection to DERMS. Actions go to DERMS with the signed-in
client's own credentials (from the credential store the console signs in against), so that
DERMS checks that client's scopes and audits it as the actor: a client without
``derms:approve`` cannot approve here either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from derlink.common.errors import BusinessFault, ConfigurationError, Fault, NotFound
from derlink.console import views
from derlink.console.records import fetch
from derlink.console.web import (
    User,
    as_signed_in,
    console_of,
    current_user,
    posting_user,
    redirect,
    render,
)
from derlink.platform.http import Caller, HttpClient

router = APIRouter()
Filter = Annotated[str, Query(max_length=80)]

#: Event states, for the filter.
STATES = ("New", "Submitted", "Approved", "Denied", "Scheduled", "In Progress", "Completed",
          "Canceled")  # fmt: skip
#: What each action needs of the signed-in client, and the states it applies in.
ACTIONS = {
    "approve": ("derms:approve", ("Submitted",)),
    "ba-approve": ("derms:ba-approve", ("Submitted",)),
    "deny": ("derms:approve", ("Submitted",)),
    "schedule": ("derms:events", ("Approved",)),
    "cancel": ("derms:events", ("New", "Submitted", "Approved", "Scheduled", "In Progress")),
}


@router.get("/records/events")
async def events(
    request: Request,
    user: Annotated[User, Depends(current_user)],
    q: Filter = "",
    state: Filter = "",
    strategy: Filter = "",
    program: Filter = "",
    cursor: Annotated[str, Query(max_length=120)] = "",
) -> Response:
    """Events, the latest window first, filtered by state, strategy and program; "Open" takes
    an event id or a stage id."""
    derms = console_of(request).hub.targets.derms
    if q.strip():
        return await _open(request, derms, q.strip())
    params = {k: v for k, v in (("state", state), ("strategyId", strategy.strip()),
                                ("program", program.strip()), ("cursor", cursor)) if v}  # fmt: skip
    page, problem = await fetch(derms.get("/api/v1/events", {**params, "limit": "50"}), "DERMS")
    return render(
        request,
        "events.html",
        {
            "section": "records",
            "items": (page or {}).get("items", []),
            "next": (page or {}).get("next"),
            "cursor": cursor,
            "problem": problem,
            "states": STATES,
            "filters": {"state": state, "strategy": strategy, "program": program},
        },
        user=user,
    )


async def _open(request: Request, derms: Caller, wanted: str) -> Response:
    """The event ``wanted`` names, itself or as one of its stages."""
    found, problem = await fetch(derms.get(f"/api/v1/events/{quote(wanted, safe='')}"), "DERMS")
    if found is not None:
        return redirect(request, f"/records/events/{quote(wanted, safe='')}")
    stage, _ = await fetch(derms.get(f"/api/v1/stages/{quote(wanted, safe='')}"), "DERMS")
    if stage is not None:
        return redirect(request, f"/records/events/{quote(stage['eventId'], safe='')}")
    if problem != "not found":
        raise Fault(problem)
    raise NotFound(f"DERMS holds no event or stage {wanted!r}")


@dataclass(frozen=True)
class Grid:
    """Intervals of ``step_s`` seconds from ``first``, ``count`` of them."""

    first: datetime
    step_s: int
    count: int


def grid_of(event: dict[str, Any], plan: dict[str, Any] | None) -> Grid | None:
    """The chart's intervals: the generated plan's over the event's window; else the finest
    interval of the stages, from the first stage's start to the last one's end."""
    if plan is not None:
        first, step = datetime.fromisoformat(plan["start"]), int(plan["intervalSeconds"])
        span = datetime.fromisoformat(event["windowEnd"]) - first
        return Grid(first, step, max(1, int(span.total_seconds()) // step))
    stages = event["stages"]
    if not stages:
        return None
    step = min(int(s["intervalSeconds"]) for s in stages)
    first = min(datetime.fromisoformat(s["start"]) for s in stages)
    last = max(datetime.fromisoformat(s["end"]) for s in stages)
    return Grid(first, step, max(1, -(-int((last - first).total_seconds()) // step)))


def expected_series(event: dict[str, Any], grid: Grid, zone: ZoneInfo) -> list[dict[str, Any]]:
    """The event's expected kW per interval of ``grid``, summed over its stages not canceled
    (or all of them, for a canceled event): each interval's start, its label in the utility's
    zone, and P10, P50, P90."""
    stages = [s for s in event["stages"] if s["state"] != "Canceled"] or event["stages"]
    step = grid.step_s
    sums = [[0.0, 0.0, 0.0] for _ in range(grid.count)]
    for s in stages:
        start = datetime.fromisoformat(s["start"])
        own = int(s["intervalSeconds"])
        for i, band in enumerate(zip(s["p10Kw"], s["p50Kw"], s["p90Kw"], strict=True)):
            slot = int((start - grid.first).total_seconds() + i * own) // step
            for j in range(max(slot, 0), min(grid.count, slot + max(1, own // step))):
                for k in range(3):
                    sums[j][k] += band[k]
    rows = []
    for i, (lo, mid, hi) in enumerate(sums):
        at = grid.first + timedelta(seconds=i * step)
        rows.append(
            {
                "start": at.isoformat(),
                "label": at.astimezone(zone).strftime("%H:%M"),
                "p10": round(lo, 3),
                "p50": round(mid, 3),
                "p90": round(hi, 3),
            }
        )
    return rows


def objective_kw(
    target: dict[str, Any], plan: dict[str, Any] | None, count: int
) -> tuple[list[float] | None, str]:
    """The objective's line on the chart, kW per interval, and what it is: the generated
    plan's need (the objective with the snap-back of its stages); without a plan, the reduction
    a LOAD_REDUCTION asks for; else none (the need depends on the zone's load, or is "all")."""
    if plan is not None and target["objective"] != "MAXIMUM_REDUCTION":
        return [float(v) for v in plan["needKw"][:count]], describe(target) + ", with snap-back"
    if target["objective"] == "LOAD_REDUCTION" and target.get("mwPerHour") is not None:
        return [float(target["mwPerHour"]) * 1000] * count, describe(target)
    return None, describe(target)


def describe(target: dict[str, Any]) -> str:
    """The objective in words."""
    if target["objective"] == "LOAD_REDUCTION":
        return f"{target['mwPerHour']:g} MW asked for"
    descriptions = {
        "MAX_DEMAND_THRESHOLD": f"keep the zone's load under {target.get('maxDemandMw')} MW",
        "MAXIMUM_REDUCTION": "every eligible device",
        "MANUAL": "stages as the operator set them",
    }
    return descriptions.get(target["objective"], str(target["objective"]))


@router.get("/records/events/{event_id}")
async def event(
    request: Request, event_id: str, user: Annotated[User, Depends(current_user)]
) -> Response:
    console = console_of(request)
    derms = console.hub.targets.derms
    found, problem = await fetch(derms.get(f"/api/v1/events/{quote(event_id, safe='')}"), "DERMS")
    if found is None and problem == "not found":
        raise NotFound(f"DERMS holds no event {event_id!r}")
    trail, trail_problem = await fetch(
        derms.get(f"/api/v1/events/{quote(event_id, safe='')}/audit"), "DERMS"
    )
    plan, _ = await fetch(derms.get(f"/api/v1/events/{quote(event_id, safe='')}/plan"), "DERMS")
    moved, moved_problem = await fetch(
        derms.get(f"/api/v1/events/{quote(event_id, safe='')}/transitions"), "DERMS"
    )
    files, _ = await fetch(
        derms.get(f"/api/v1/events/{quote(event_id, safe='')}/reservation-files"), "DERMS"
    )
    outcome_files, _ = await fetch(
        derms.get("/api/v1/outcome-files", {"eventId": event_id}), "DERMS"
    )
    opted, _ = await fetch(
        derms.get(f"/api/v1/events/{quote(event_id, safe='')}/opt-outs"), "DERMS"
    )
    grid = grid_of(found, plan) if found else None
    rows = expected_series(found, grid, console.zone) if found and grid else []
    target_kw, target_label = (
        objective_kw(found["target"], plan, len(rows)) if found else (None, "")
    )
    chart = (
        views.forecast_chart(
            [r["label"] for r in rows],
            [r["p10"] for r in rows],
            [r["p50"] for r in rows],
            [r["p90"] for r in rows],
            target=target_kw,
        )
        if rows
        else None
    )
    allowed = _allowed(console, user, found)
    return render(
        request,
        "event.html",
        {
            "section": "records",
            "event_id": event_id,
            "event": found,
            "rows": rows,
            "chart": chart,
            "target_label": target_label,
            "plan": plan,
            "trail": trail or [],
            "transitions": moved or [],
            "files": files or [],
            "opt_outs": opted or [],
            "outcome_files": outcome_files or [],
            "problem": problem or trail_problem or moved_problem,
            "allowed": allowed,
        },
        user=user,
    )


def _allowed(console: Any, user: User, event: dict[str, Any] | None) -> list[str]:
    """The actions the signed-in client may take on the event as it is."""
    if event is None:
        return []
    try:
        scopes = console.credentials.client(user.client_id).scopes
    except ConfigurationError:
        return []
    found = []
    for action, (scope, states) in ACTIONS.items():
        if scope not in scopes or event["state"] not in states:
            continue
        if action == "ba-approve" and not (event["needsBaApproval"] and not event["baApprovedBy"]):
            continue
        if action == "approve" and event["approvedBy"]:
            continue
        found.append(action)
    return found


@router.post("/records/events/{event_id}/{action}")
async def act(
    request: Request,
    event_id: str,
    action: str,
    user: Annotated[User, Depends(posting_user)],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Approve, BA-approve, deny, schedule or cancel, as the signed-in client."""
    if action not in ACTIONS:
        raise NotFound(f"no action {action!r} on an event")
    if action in ("deny", "cancel") and not reason.strip():
        back = f"/records/events/{quote(event_id, safe='')}"
        return redirect(request, back, f"To {action} an event, say why.", "error")
    caller = _as_user(console_of(request), user)
    path = f"/api/v1/events/{quote(event_id, safe='')}/{action}"
    body = {"reason": reason.strip()} if action in ("deny", "cancel") else {}
    back = f"/records/events/{quote(event_id, safe='')}"
    try:
        done = await caller.post(path, body)
    except BusinessFault as exc:
        return redirect(request, back, f"DERMS refused: {exc.message}", "error")
    finally:
        await caller.close()
    shown = done.get("event", done)
    said = f"Event {event_id}: {shown['state']}."
    if done.get("preempted"):
        said += f" Preempted: {', '.join(done['preempted'])}."
    return redirect(request, back, said)


def _as_user(console: Any, user: User) -> HttpClient:
    """A connection to DERMS with the signed-in client's credentials."""
    return as_signed_in(console, user, console.hub.targets.derms, "DERMS")


@router.get("/records/strategies")
async def strategies(
    request: Request, user: Annotated[User, Depends(current_user)], state: Filter = ""
) -> Response:
    derms = console_of(request).hub.targets.derms
    params = {"state": state} if state else None
    found, problem = await fetch(derms.get("/api/v1/strategies", params), "DERMS")
    return render(
        request,
        "strategies.html",
        {"section": "records", "items": found or [], "problem": problem, "state": state},
        user=user,
    )


@router.get("/records/events/{event_id}/stages/{stage_id}")
async def stage(
    request: Request,
    event_id: str,
    stage_id: str,
    user: Annotated[User, Depends(current_user)],
    after: Annotated[str, Query(max_length=170)] = "",
) -> Response:
    """A stage's devices, 100 a page, each linked to its score, service point and feeder; once
    the stage is Scheduled, its reservations (each device's reservation state)."""
    derms = console_of(request).hub.targets.derms
    found, problem = await fetch(derms.get(f"/api/v1/stages/{quote(stage_id, safe='')}"), "DERMS")
    if found is None and problem == "not found":
        raise NotFound(f"DERMS holds no stage {stage_id!r}")
    params = {"limit": "100", **({"after": after} if after else {})}
    listed = "devices" if found is None or found["state"] == "Planned" else "reservations"
    page, page_problem = await fetch(
        derms.get(f"/api/v1/stages/{quote(stage_id, safe='')}/{listed}", params), "DERMS"
    )
    return render(
        request,
        "stage.html",
        {
            "section": "records",
            "event_id": event_id,
            "stage_id": stage_id,
            "stage": found,
            "items": (page or {}).get("items", []),
            "reserved": listed == "reservations",
            "next": (page or {}).get("next"),
            "after": after,
            "problem": problem or page_problem,
        },
        user=user,
    )
