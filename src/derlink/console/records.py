"""Records of the parts: cpm's programs, subscriptions (with their devices' head-end
registration and their sync requests' state history), sync requests; the DERMS registry; and
the reconciliation report.

The console reads cpm and DERMS only through their read APIs, over the hub's connections to
them (the parts never share a database); a part that does not answer is shown as such.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from derlink.common.errors import BusinessFault, Fault, NotFound
from derlink.console.instances import read_page
from derlink.console.web import User, console_of, current_user, holds, redirect, render

router = APIRouter()

PAGE = 50
#: What opting a participation out, or changing a device's unavailability, asks of the
#: signed-in client (cpm checks it).
CPM_WRITE_SCOPE = "cpm:write"
#: Runs of the reconciliation its page lists.
HISTORY = 20
SYNC_STATES = ("Pending", "Awaiting Acknowledgement", "Synchronized", "Error", "Discarded")
T = TypeVar("T")
Cursor = Annotated[str, Query(max_length=120)]


async def fetch(call: Awaitable[T], part: str) -> tuple[T | None, str]:
    """A part's answer, or None and why not: "not found" or the part being unreachable."""
    try:
        return await call, ""
    except BusinessFault as exc:
        if exc.details.get("status") == 404:
            return None, "not found"
        return None, f"{part} refused: {exc.message}"
    except Fault as exc:
        return None, f"{part} did not answer: {exc.message}"


async def fetch_page(
    target: Any, path: str, part: str, after: str, **filters: str
) -> dict[str, Any]:
    """One keyset page of a part's list, as the context its page template takes."""
    params = {"limit": str(PAGE), **filters, **({"after": after} if after else {})}
    page, problem = await fetch(target.get(path, params), part)
    return {
        "items": (page or {}).get("items", []),
        "next": (page or {}).get("next"),
        "after": after,
        "problem": problem,
    }


@router.get("/records")
async def overview(request: Request, user: Annotated[User, Depends(current_user)]) -> Response:
    cpm = console_of(request).hub.targets.cpm
    (programs, programs_problem), (counts, counts_problem) = await asyncio.gather(
        fetch(cpm.get("/api/v1/programs"), "cpm"),
        fetch(cpm.get("/api/v1/sync-requests/counts"), "cpm"),
    )
    return render(
        request,
        "records.html",
        {
            "section": "records",
            "programs": programs or [],
            "counts": counts or {},
            "problem": programs_problem or counts_problem,
        },
        user=user,
    )


#: The filters of the subscription lists: form field → the parts' query parameter.
CPM_FILTERS = {
    "status": "status",
    "program": "programCode",
    "service_point": "servicePointId",
    "account": "accountId",
    "customer": "customerName",
}
#: Where each part lists its subscriptions.
LIST_PATHS = {"cpm": "/api/v1/subscriptions", "DERMS": "/api/v1/registry"}
SUBSCRIPTION_STATES = ("Pending", "Active", "Inactive")
REGISTRY_STATES = ("ACTIVE", "INACTIVE")
#: Subscriptions of a customer name looked up in cpm to narrow the DERMS registry.
NAMED_MOST = 200
Filter = Annotated[str, Query(max_length=80)]


@dataclass(frozen=True)
class ListQuery:
    """What a subscription list was asked for: "Open" with an id, or a page of those matching
    the filters (stripped, the empty ones left out)."""

    q: str
    filters: dict[str, str]
    after: str


def list_query(
    after: Cursor = "",
    q: Filter = "",
    status: Filter = "",
    program: Filter = "",
    service_point: Filter = "",
    account: Filter = "",
    customer: Filter = "",
) -> ListQuery:
    fields = {
        "status": status,
        "program": program,
        "service_point": service_point,
        "account": account,
        "customer": customer,
    }
    return ListQuery(q.strip(), {k: v.strip() for k, v in fields.items() if v.strip()}, after)


Asked = Annotated[ListQuery, Depends(list_query)]


async def subscription_list(
    request: Request,
    user: User,
    asked: ListQuery,
    *,
    target: Any,
    part: str,
    template: str,
    states: tuple[str, ...],
    read: Callable[[ListQuery], Awaitable[dict[str, Any]]],
) -> Response:
    """A list of subscriptions (cpm's or DERMS's): "Open" with any id opens the one it names
    (or lists those it names), else a page of those matching the filters."""
    if asked.q:
        page = await fetch_page(target, LIST_PATHS[part], part, "", id=asked.q)
        if len(page["items"]) == 1 and not page["next"]:
            only = quote(page["items"][0]["subscriptionId"], safe="")
            return redirect(request, f"/records/subscriptions/{only}")
    else:
        page = await read(asked)
    return render(
        request,
        template,
        {
            "section": "records",
            **page,
            "filters": {name: asked.filters.get(name, "") for name in CPM_FILTERS},
            "filter_query": urlencode(asked.filters),
            "states": states,
            "q": asked.q,
        },
        user=user,
    )


@router.get("/records/subscriptions")
async def subscriptions(
    request: Request, user: Annotated[User, Depends(current_user)], asked: Asked
) -> Response:
    """cpm's subscriptions, narrowed by status, program, service point, account or customer
    name; "Open" takes any of their ids."""
    cpm = console_of(request).hub.targets.cpm

    async def read(asked: ListQuery) -> dict[str, Any]:
        params = {CPM_FILTERS[name]: value for name, value in asked.filters.items()}
        return await fetch_page(cpm, LIST_PATHS["cpm"], "cpm", asked.after, **params)

    return await subscription_list(
        request,
        user,
        asked,
        target=cpm,
        part="cpm",
        template="subscriptions.html",
        states=SUBSCRIPTION_STATES,
        read=read,
    )


async def _history(cpm: Any, sync: dict[str, Any]) -> dict[str, Any]:
    history, problem = await fetch(
        cpm.get(f"/api/v1/sync-requests/{sync['syncRequestId']}/history"), "cpm"
    )
    return {**sync, "history": history or [], "history_problem": problem}


@router.get("/records/subscriptions/{subscription_id}")
async def subscription(
    request: Request,
    subscription_id: str,
    user: Annotated[User, Depends(current_user)],
    device: Annotated[str, Query(max_length=40)] = "",
    after: Cursor = "",
) -> Response:
    """A subscription in cpm and in the DERMS registry, with its devices' event history in cpm
    (their participations, the newest reservation first; one device's with ``device``) and the
    unavailability periods of the device chosen (or of its only one)."""
    targets = console_of(request).hub.targets
    (enrollment, cpm_problem), (entry, derms_problem) = await asyncio.gather(
        fetch(targets.cpm.get(f"/api/v1/enrollments/{subscription_id}"), "cpm"),
        fetch(targets.derms.get(f"/api/v1/registry/{subscription_id}"), "DERMS"),
    )
    if enrollment is None and entry is None and cpm_problem == derms_problem == "not found":
        raise NotFound(f"neither cpm nor DERMS knows the subscription {subscription_id!r}")
    syncs: list[dict[str, Any]] = []
    events: dict[str, Any] = {"items": [], "next": None, "after": after, "problem": ""}
    device = device.strip()
    shown = _unavailable_device(enrollment, device)
    unavailable = _NO_PERIODS
    if enrollment:
        narrowed = {"subscriptionId": subscription_id, **({"deviceId": device} if device else {})}
        events, unavailable, *syncs = await asyncio.gather(
            fetch_page(targets.cpm, "/api/v1/participations", "cpm", after, **narrowed),
            _periods(targets.cpm, shown),
            *(_history(targets.cpm, s) for s in enrollment["syncRequests"]),
        )
    return render(
        request,
        "subscription.html",
        {
            "section": "records",
            "subscription_id": subscription_id,
            "enrollment": enrollment,
            "syncs": syncs,
            "cpm_problem": cpm_problem,
            "entry": entry,
            "derms_problem": derms_problem,
            "events": events,
            "device": device,
            "device_query": urlencode({"device": device} if device else {}),
            "can_write": holds(console_of(request), user, CPM_WRITE_SCOPE),
            "unavailable": {**unavailable, "device": shown},
        },
        user=user,
    )


_NO_PERIODS: dict[str, Any] = {"items": [], "next": None, "after": "", "problem": ""}


async def _periods(cpm: Any, device: str) -> dict[str, Any]:
    """A device's unavailability periods, the latest start first (none when no device)."""
    if not device:
        return _NO_PERIODS
    return await fetch_page(cpm, "/api/v1/unavailabilities", "cpm", "", deviceId=device)


def _unavailable_device(enrollment: dict[str, Any] | None, device: str) -> str:
    """The device of a subscription whose unavailability periods its page shows: the one
    chosen, or its only one; "" for none of its devices."""
    held = [d["deviceId"] for d in enrollment["devices"]] if enrollment else []
    if device:
        return device if device in held else ""
    return held[0] if len(held) == 1 else ""


@router.get("/records/sync-requests")
async def sync_requests(
    request: Request,
    user: Annotated[User, Depends(current_user)],
    state: Annotated[str, Query(max_length=40)] = "",
    after: Cursor = "",
    q: Filter = "",
) -> Response:
    """cpm's sync requests by state; "Open" takes a sync request id or an enrollment id."""
    cpm = console_of(request).hub.targets.cpm
    if q.strip():
        return await _open_sync(request, cpm, q.strip())
    state = state if state in SYNC_STATES else ""
    page = await fetch_page(
        cpm, "/api/v1/sync-requests", "cpm", after, **({"state": state} if state else {})
    )
    return render(
        request,
        "sync_requests.html",
        {"section": "records", **page, "state": state, "states": SYNC_STATES},
        user=user,
    )


async def _open_sync(request: Request, cpm: Any, q: str) -> Response:
    """The sync request ``q`` names, else the enrollment (with its sync requests)."""
    named = quote(q, safe="")
    history, problem = await fetch(cpm.get(f"/api/v1/sync-requests/{named}/history"), "cpm")
    if history is not None:
        return redirect(request, f"/records/sync-requests/{named}")
    enrollment, problem = await fetch(cpm.get(f"/api/v1/enrollments/{named}"), "cpm")
    if enrollment is not None:
        return redirect(request, f"/records/subscriptions/{named}")
    if problem != "not found":
        raise Fault(problem)
    raise NotFound(f"cpm has no sync request and no enrollment {q!r}")


@router.get("/records/sync-requests/{sync_request_id}")
async def sync_request(
    request: Request, sync_request_id: str, user: Annotated[User, Depends(current_user)]
) -> Response:
    console = console_of(request)
    history, problem = await fetch(
        console.hub.targets.cpm.get(f"/api/v1/sync-requests/{sync_request_id}/history"), "cpm"
    )
    if history is None and problem == "not found":
        raise NotFound(f"cpm has no sync request {sync_request_id!r}")
    carried, cursor, total = await asyncio.to_thread(
        read_page, console.hub, key=sync_request_id, before=None
    )
    return render(
        request,
        "sync_request.html",
        {
            "section": "records",
            "sync_request_id": sync_request_id,
            "history": history or [],
            "problem": problem,
            "instances": carried,
            "cursor": cursor,
            "total": {"instances": total[0], "records": total[1]},
        },
        user=user,
    )


@router.get("/records/registry")
async def registry(
    request: Request, user: Annotated[User, Depends(current_user)], asked: Asked
) -> Response:
    """The DERMS registry, narrowed as cpm's subscriptions are; a customer's name (which DERMS
    does not hold) is looked up in cpm first."""
    targets = console_of(request).hub.targets

    async def read(asked: ListQuery) -> dict[str, Any]:
        return await _registry_page(targets, asked.after, asked.filters)

    return await subscription_list(
        request,
        user,
        asked,
        target=targets.derms,
        part="DERMS",
        template="registry.html",
        states=REGISTRY_STATES,
        read=read,
    )


async def _registry_page(targets: Any, after: str, filters: dict[str, str]) -> dict[str, Any]:
    """A page of the DERMS registry, narrowed by ``filters``; a customer's name through the
    subscriptions cpm holds for it."""
    params = {CPM_FILTERS[n]: v for n, v in filters.items() if n != "customer"}
    if "customer" not in filters:
        return await fetch_page(targets.derms, LIST_PATHS["DERMS"], "DERMS", after, **params)
    named, problem = await _named(targets.cpm, filters["customer"])
    if not named:
        return {"items": [], "next": None, "after": after, "problem": problem}
    page = await fetch_page(
        targets.derms,
        LIST_PATHS["DERMS"],
        "DERMS",
        after,
        **params,
        subscriptionIds=",".join(named),
    )
    return {**page, "problem": page["problem"] or problem}


async def _named(cpm: Any, customer: str) -> tuple[list[str], str]:
    """The ids of the subscriptions cpm holds for customers whose name holds ``customer`` (the
    first ``NAMED_MOST``), and what to say of them: cpm not answering, or more than that."""
    found, problem = await fetch(
        cpm.get(LIST_PATHS["cpm"], {"customerName": customer, "limit": str(NAMED_MOST)}),
        "cpm",
    )
    if found is None:
        return [], problem
    more = (
        f"cpm holds more than {NAMED_MOST} subscriptions of customers named {customer!r}: "
        f"the registry is narrowed to the first {NAMED_MOST}"
        if found.get("next")
        else ""
    )
    return [i["subscriptionId"] for i in found["items"]], more


@router.get("/records/reconciliation")
async def reconciliation(
    request: Request, user: Annotated[User, Depends(current_user)]
) -> Response:
    """The reconciliation's history (every run of RECONCILE, whoever started it: its schedule,
    this page or ``derlink reconcile``) and the report of the latest finished run."""
    hub = console_of(request).hub

    def read() -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        runs = hub.reconciliation_runs(HISTORY)
        finished = next((r for r in runs if r["compared"] is not None), None)
        return runs, hub.reconciliation_run(finished["instanceId"]) if finished else None

    runs, report = await asyncio.to_thread(read)
    return render(
        request,
        "reconciliation.html",
        {"section": "records", "runs": runs, "report": report},
        user=user,
    )
