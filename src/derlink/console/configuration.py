"""Lookups (value maps) and flow properties: view, edit with validation, and the audit trail.

A change takes effect without a restart: the lookup cache of this process is refreshed at
once (others within seconds, see ``hub/lookups.py``) and flow properties are read at each use.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from derlink.common.errors import BusinessError, NotFound
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
from derlink.hub.lookups import DEFAULT_LOOKUPS
from derlink.hub.notify import DEFAULT_PROPERTIES

router = APIRouter()


def read_configuration(request: Request) -> dict[str, Any]:
    console = console_of(request)
    values = console.lookups.all()
    tables = {name: dict(sorted(values.get(name, {}).items())) for name in sorted(DEFAULT_LOOKUPS)}
    set_properties = {(p["flow"], p["key"]): p for p in console.hub.flow_property_list()}
    scopes = ["*", *sorted(console.hub.flows)]
    properties = [
        {
            "flow": flow,
            "key": key,
            "value": set_properties[(flow, key)]["value"] if (flow, key) in set_properties else "",
            "set": (flow, key) in set_properties,
            "updated_by": set_properties.get((flow, key), {}).get("updated_by", ""),
            "default": default,
        }
        for flow in scopes
        for key, default in DEFAULT_PROPERTIES.items()
        if flow == "*" or (flow, key) in set_properties
    ]
    return {
        "tables": tables,
        "properties": properties,
        "property_keys": list(DEFAULT_PROPERTIES),
        "scopes": scopes,
        "history": console.hub.configuration_history(),
    }


@router.get("/configuration")
async def configuration(request: Request, user: Annotated[User, Depends(current_user)]) -> Response:
    data = await asyncio.to_thread(read_configuration, request)
    return render(request, "configuration.html", {**data, "section": "configuration"}, user=user)


@router.get("/configuration/lookups/remove")
async def confirm_removal(
    request: Request,
    user: Annotated[User, Depends(operating_user)],
    name: Annotated[str, Query(max_length=60)],
    key: Annotated[str, Query(max_length=200)],
) -> Response:
    """Asks before removing a value of a lookup, and says what removing it does."""
    values = await asyncio.to_thread(console_of(request).lookups.table, name)
    if key not in values:
        raise NotFound(f"{name} has no entry {key!r}")
    return ask(
        request,
        user,
        question=f"Remove {name} {key}?",
        explanation=(
            f"{name} maps {key} to {values[key]}. Once removed, the flows that translate {key} "
            f"through {name} no longer find it, until the entry is added again.",
            "The removal is kept in the audit trail.",
        ),
        action="/configuration/lookups",
        fields={"name": name, "key": key, "remove": "true"},
        button=f"Remove {name} {key}",
        back="/configuration",
        section="configuration",
    )


@router.post("/configuration/lookups")
async def set_lookup(
    request: Request,
    user: Annotated[User, Depends(acting_user)],
    name: Annotated[str, Form(max_length=60)],
    key: Annotated[str, Form(max_length=200)],
    value: Annotated[str, Form(max_length=400)] = "",
    remove: Annotated[bool, Form()] = False,
) -> Response:
    """Set one entry of a value map (or remove it); validated, audited, effective at once."""
    key, value = key.strip(), value.strip()
    if not remove and not value:
        return redirect(
            request,
            "/configuration",
            f"{name} {key}: a value is required (use Remove to delete the entry).",
            "error",
        )
    try:
        await asyncio.to_thread(
            console_of(request).lookups.set,
            name,
            key,
            None if remove else value,
            actor=user.client_id,
        )
    except BusinessError as exc:
        return redirect(request, "/configuration", exc.message, "error")
    done = f"{name} {key} removed." if remove else f"{name} {key} → {value} saved."
    return redirect(request, "/configuration", done)


@router.post("/configuration/properties")
async def set_property(
    request: Request,
    user: Annotated[User, Depends(acting_user)],
    flow: Annotated[str, Form(max_length=40)],
    key: Annotated[str, Form(max_length=80)],
    value: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Set a flow property (``*``: every flow); an empty value brings back the default."""
    try:
        await asyncio.to_thread(
            console_of(request).hub.set_flow_property, flow, key, value, user.client_id
        )
    except (BusinessError, NotFound) as exc:
        return redirect(request, "/configuration", exc.message, "error")
    done = f"{flow} {key} saved." if value.strip() else f"{flow} {key} back to its default."
    return redirect(request, "/configuration", done)
