"""cpm's program events: its copy of each DERMS event stage (EVT-STATUS), listed by the ids
people search with (program, DERMS event, stage, state), each with its history of transitions
and its devices' participations (EVT-RESERVE), 50 a page, narrowed by NIC id, device or state;
and a participation's opt-out (OPT-OUT), here and on a subscription's event history.

Read through cpm's read API over the hub's connection; each row links to the program's page and
to the DERMS event and stage it copies, each participation to its device's subscription. A part
that does not answer is said on the page. An opt-out goes to cpm with the signed-in client's
own credentials (channel CSR), so that cpm checks that client's scope (``cpm:write``) and keeps
it as who asked; cpm's refusal (the cut-off, the state, the scope) is said on the page the form
was on.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from derlink.common.errors import Fault, NotFound
from derlink.console import views
from derlink.console.records import CPM_WRITE_SCOPE, Cursor, fetch, fetch_page
from derlink.console.web import (
    Refused,
    User,
    act_as_signed_in,
    console_of,
    current_user,
    holds,
    posting_user,
    records_page,
    redirect,
    render,
)

router = APIRouter()

LIST = "/api/v1/program-events"
#: DERMS's event and stage ids are up to 120 characters.
Identifier = Annotated[str, Query(max_length=120)]
STATES = ("Pending", "Scheduled", "In Progress", "Complete", "Canceled")
#: An event participation's states, in the order of its lifecycle.
PARTICIPATION_STATES = ("Reserved", "OptedOut", "Released", "OutcomeRecorded", "Settled")
CATEGORIES = {
    "X1DT": "device test",
    "X1EC": "economic",
    "X1EM": "emergency",
    "X1RE": "reliability",
}
#: The list's filters: form field → cpm's query parameter.
FILTERS = {
    "program": "program",
    "event": "eventExternalIdentifier",
    "stage": "externalIdentifier",
    "state": "state",
}


@router.get("/records/program-events")
async def program_events(
    request: Request,
    user: Annotated[User, Depends(current_user)],
    q: Identifier = "",
    program: Annotated[str, Query(max_length=80)] = "",
    event: Identifier = "",
    stage: Identifier = "",
    state: Annotated[str, Query(max_length=40)] = "",
    after: Cursor = "",
) -> Response:
    """cpm's program events, the latest start first, 50 a page, narrowed by program, DERMS
    event, stage and state; "Open" takes cpm's id, a stage id or a DERMS event id."""
    cpm = console_of(request).hub.targets.cpm
    if q.strip():
        return await _open(request, cpm, q.strip())
    given = {"program": program, "event": event, "stage": stage,
             "state": state if state in STATES else ""}  # fmt: skip
    filters = {name: value.strip() for name, value in given.items() if value.strip()}
    page = await fetch_page(
        cpm, LIST, "cpm", after, **{FILTERS[name]: value for name, value in filters.items()}
    )
    return render(
        request,
        "program_events.html",
        {
            "section": "records",
            **page,
            "filters": {name: filters.get(name, "") for name in FILTERS},
            "filter_query": urlencode(filters),
            "states": STATES,
            "categories": CATEGORIES,
        },
        user=user,
    )


async def _open(request: Request, cpm: Any, wanted: str) -> Response:
    """The program event ``wanted`` names (cpm's id, or its stage's), else the list of a DERMS
    event's program events."""
    for parameter in ("id", "externalIdentifier"):
        found = await _first(cpm, parameter, wanted)
        if found is not None:
            return redirect(request, f"/records/program-events/{quote(found['id'], safe='')}")
    if await _first(cpm, "eventExternalIdentifier", wanted) is not None:
        return redirect(request, f"/records/program-events?{urlencode({'event': wanted})}")
    raise NotFound(f"cpm holds no program event, stage or DERMS event {wanted!r}")


async def _first(cpm: Any, parameter: str, value: str) -> dict[str, Any] | None:
    """The first program event whose ``parameter`` is ``value``; None when there is none (or
    cpm refuses the value: an id longer than any it gives)."""
    page, problem = await fetch(cpm.get(LIST, {parameter: value, "limit": "1"}), "cpm")
    if problem.startswith("cpm did not answer"):
        raise Fault(problem)
    items: list[dict[str, Any]] = (page or {}).get("items", [])
    return items[0] if items else None


@router.get("/records/program-events/{program_event_id}")
async def program_event(
    request: Request,
    program_event_id: str,
    user: Annotated[User, Depends(current_user)],
    nic: Annotated[str, Query(max_length=100)] = "",
    device: Annotated[str, Query(max_length=40)] = "",
    state: Annotated[str, Query(max_length=40)] = "",
    after: Cursor = "",
) -> Response:
    """A program event's facts, links to its program and to the DERMS event and stage it
    copies, its history, and its participations, narrowed by NIC id, device id and state."""
    cpm = console_of(request).hub.targets.cpm
    path = f"{LIST}/{quote(program_event_id, safe='')}"
    given = {"nic": nic, "device": device,
             "state": state if state in PARTICIPATION_STATES else ""}  # fmt: skip
    filters = {name: value.strip() for name, value in given.items() if value.strip()}
    wanted = {"nic": "nicId", "device": "deviceId", "state": "state"}
    (found, problem), participations = await asyncio.gather(
        fetch(cpm.get(path), "cpm"),
        fetch_page(
            cpm,
            f"{path}/participations",
            "cpm",
            after,
            **{wanted[name]: value for name, value in filters.items()},
        ),
    )
    if found is None and problem == "not found":
        raise NotFound(f"cpm holds no program event {program_event_id!r}")
    return render(
        request,
        "program_event.html",
        {
            "section": "records",
            "program_event_id": program_event_id,
            "event": found,
            "problem": problem,
            "categories": CATEGORIES,
            "participations": participations,
            "filters": {name: filters.get(name, "") for name in wanted},
            "filter_query": urlencode(filters),
            "states": PARTICIPATION_STATES,
            "can_write": holds(console_of(request), user, CPM_WRITE_SCOPE),
        },
        user=user,
    )


#: Where an opt-out's answer is said when the form names no page of the console's records.
OPT_OUT_BACK = "/records/program-events"


@router.post("/records/participations/{participation_id}/opt-out")
async def opt_out(
    request: Request,
    participation_id: str,
    user: Annotated[User, Depends(posting_user)],
    reason: Annotated[str, Form(max_length=254)] = "",
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Opt a participation out of its program event as the signed-in client (channel CSR),
    then back to ``back`` (a page of the records) with what cpm did or why it refused."""
    console = console_of(request)
    page = records_page(back, OPT_OUT_BACK)
    path = f"/api/v1/participations/{quote(participation_id, safe='')}/opt-out"
    body = {"channel": "CSR", "reason": reason.strip()}
    try:
        done = await act_as_signed_in(console, user, console.hub.targets.cpm, "cpm", "POST",
                                      path, body)  # fmt: skip
    except Refused as exc:
        return redirect(request, page, f"cpm refused the opt-out: {exc.why}", "error")
    o = done["participation"]["optOut"]
    if done["outcome"] == "Unchanged":
        shown = views.in_zone(o["at"], console.zone)
        said = f"Participation {participation_id} was opted out already, {shown} by {o['by']}."
    else:
        said = (
            f"Participation {participation_id} is opted out; DERMS: {o['dermsSync']} "
            f"(version {o['version']})."
        )
    return redirect(request, page, said)
